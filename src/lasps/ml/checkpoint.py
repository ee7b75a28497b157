"""Checkpoints and model files, written atomically (needs torch).

Two kinds of files live in a run directory::

    checkpoint.pt      the full training state, rewritten after every epoch (and every
                       ``save_every_steps`` optimizer steps): model, optimizer, scheduler, GradScaler,
                       RNG states (python, numpy, torch CPU, every CUDA device — one set per DDP rank),
                       phase index, epoch, batches done in the current epoch, early-stopping state,
                       history, the run config. ``lasps ml train --resume`` continues from it exactly.
    model.pt           the finished model (weights + config + routing phase + label meta);
    phase{k}_best.pt   the best weights of phase k by validation loss (restored at the phase's end).
                       Model files are what ``lasps ml evaluate`` / ``predict`` read.

Atomicity (:func:`lasps.files.atomic_write`): the file is written to a temporary file beside it, fsync'ed,
renamed over ``NAME`` and the directory is fsync'ed — a crash leaves either the old or the new file, never a torn one
(the work log restarted from epoch files after a shutdown; ours cannot be half-written).

Every file loads with ``torch.load(weights_only=True)``: states hold only tensors and plain Python
values (the numpy RNG state is stored as a list), so loading never unpickles arbitrary objects.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lasps.errors import ConfigError
from lasps.files import atomic_write
from lasps.ml.models import build_model
from lasps.ml.train_config import TrainConfig

CHECKPOINT_FORMAT = "lasps-ml-checkpoint"
MODEL_FORMAT = "lasps-ml-model"
FORMAT_VERSION = 1
CHECKPOINT_FILE = "checkpoint.pt"
MODEL_FILE = "model.pt"


class CheckpointError(ConfigError):
    """A checkpoint or model file is missing, unreadable or of a foreign format (exit code 2)."""


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically (temp file, fsync, rename, fsync the directory)."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def load_file(path: str | Path, expect: str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint/model file (``weights_only``) and check its format tag is ``expect``."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p} does not exist", where=str(p),
                              fix="train first (`lasps ml train --config FILE`) or point at a run's model.pt")
    try:
        obj = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt files
        raise CheckpointError(f"cannot read {p}: {exc}", where=str(p)) from exc
    if not isinstance(obj, dict) or obj.get("format") != expect:
        raise CheckpointError(f"{p} is not a {expect} file", where=str(p),
                              fix="checkpoint.pt resumes training; model.pt / phase*_best.pt are model files")
    if int(obj.get("version", 0)) > FORMAT_VERSION:
        raise CheckpointError(f"{p} has version {obj.get('version')}, newer than this LASPS", where=str(p))
    return obj


# ------------------------------------------------------------------------------------------------
# RNG state
# ------------------------------------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """Python, numpy, torch CPU and (when present) every CUDA device's RNG state, as plain values."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [str(np_state[0]), np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state from :func:`rng_state`."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda][: torch.cuda.device_count()])


# ------------------------------------------------------------------------------------------------
# model files
# ------------------------------------------------------------------------------------------------
def model_payload(model: torch.nn.Module, config: dict[str, Any], phase: int, meta: dict[str, Any]) -> dict[str, Any]:
    """The content of a model file: CPU weights + the run config + the routing phase + ``meta``."""
    return {
        "format": MODEL_FORMAT,
        "version": FORMAT_VERSION,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "torch_version": str(torch.__version__),
        "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "config": config,
        "phase": int(phase),
        "meta": meta,
    }


def save_model(path: str | Path, model: torch.nn.Module, config: dict[str, Any], phase: int,
               meta: dict[str, Any] | None = None) -> Path:
    """Write a model file atomically (see module docstring)."""
    return atomic_save(model_payload(model, config, phase, meta or {}), path)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[Any, Any, dict[str, Any]]:
    """``(model in eval mode on device, TrainConfig, file dict)`` from a model file or a checkpoint."""
    p = Path(path)
    if p.is_dir():
        p = p / MODEL_FILE
    try:
        obj = load_file(p, MODEL_FORMAT)
    except CheckpointError:
        obj = load_file(p, CHECKPOINT_FORMAT)
        obj = {**obj, "phase": obj.get("routing_phase", obj.get("phase", 1)), "meta": obj.get("meta", {})}
    cfg = TrainConfig.from_dict(obj["config"], source=str(p))
    model = build_model(cfg.model)
    model.load_state_dict(obj["model"])
    model.to(device).eval()
    return model, cfg, obj
