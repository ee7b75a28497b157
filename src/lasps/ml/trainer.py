"""Three-phase training with exact resume, AMP on CUDA, gradient accumulation and DDP (needs torch).

``Trainer(TrainConfig).fit()`` runs the ``[[phases]]`` of the config in order (DESIGN §8)::

    phase 1  backbone + common head                                     (AdamW at phases[i].lr)
    phase 2  sector heads := common head, then only the sector heads     (backbone frozen, eval mode)
    phase 3  backbone + sector heads at a low LR, common head frozen

Within a phase: AdamW over the trainable parameters; LR = linear warm-up over ``warmup_frac`` of the
phase's optimizer steps, then cosine decay to ``min_lr_ratio · lr``; class-weighted cross-entropy
(weights ``n / (3 · n_c)`` from the train labels, or given); gradient accumulation over
``accumulation_steps`` batches; gradient clipping; validation after every epoch; early stopping on
the validation loss (``patience`` epochs without a ``min_delta`` improvement end the phase, and the
phase's best weights are restored).

Exact resume. After every epoch (and every ``save_every_steps`` optimizer steps) ``checkpoint.pt``
is rewritten atomically with everything the next step depends on: weights, optimizer, scheduler,
GradScaler, early-stopping state, history, and the RNG states of every rank. The order of the
training samples is a pure function of ``(seed, phase index, epoch)`` (``DistributedSampler``
seeded per epoch), and DataLoaders get their own generators, so they never draw from the global RNG.
Hence training 2 epochs, stopping, and resuming for 2 more gives bit-for-bit the weights of an
uninterrupted 4-epoch run on CPU (tested), also when stopped inside an epoch.

DDP. Under ``torchrun`` (``WORLD_SIZE > 1``) the process group is initialised (NCCL on CUDA, gloo on
CPU), every rank trains on its shard of each epoch's permutation, gradients are averaged by
``DistributedDataParallel`` (re-wrapped at each phase, as the trainable set changes), validation
sums are all-reduced, and only rank 0 writes files and prints. ``run.dir`` must be on a filesystem
all nodes see for multi-node resume.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor, nn
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from lasps.errors import ConfigError
from lasps.files import atomic_write_text, write_json
from lasps.ml import metrics
from lasps.ml.checkpoint import (
    CHECKPOINT_FILE,
    CHECKPOINT_FORMAT,
    FORMAT_VERSION,
    MODEL_FILE,
    atomic_save,
    load_file,
    rng_state,
    save_model,
    set_rng_state,
)
from lasps.ml.dataset import MLDataset
from lasps.ml.labels import CLASS_NAMES
from lasps.ml.models import SectorAwareModel, build_model
from lasps.ml.torch_data import WindowDataset, sector_weights
from lasps.ml.train_config import PhaseConfig, TrainConfig

HISTORY_FILE = "history.json"
CONFIG_FILE = "config.toml"


# ------------------------------------------------------------------------------------------------
# distributed helpers
# ------------------------------------------------------------------------------------------------
@dataclass
class DistInfo:
    """This process's place in a (possibly single-process) job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialized_here: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_pref: str = "auto") -> DistInfo:
    """Join the ``torchrun`` process group when ``WORLD_SIZE > 1`` (NCCL on CUDA, gloo otherwise)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist

    here = False
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and not device_pref.startswith("cpu")
        dist.init_process_group("nccl" if use_cuda else "gloo")
        here = True
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")), initialized_here=here)


def resolve_device(pref: str, info: DistInfo | None = None) -> torch.device:
    """``auto`` -> CUDA when available (``cuda:LOCAL_RANK`` under torchrun), else CPU."""
    info = info or DistInfo()
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "cpu"
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("run.device asks for CUDA but torch sees no GPU", where="run.device",
                              fix='use device = "auto" or "cpu"')
        dev = torch.device(f"cuda:{info.local_rank}") if pref == "cuda" and info.enabled else torch.device(pref)
        if dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(dev)
        return dev
    return torch.device("cpu")


def _all_gather_object(obj: Any, info: DistInfo) -> list[Any]:
    if not info.enabled:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def _barrier(info: DistInfo) -> None:
    if info.enabled:
        import torch.distributed as dist

        dist.barrier()


def _all_reduce_sum(t: Tensor, info: DistInfo) -> Tensor:
    if info.enabled:
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ------------------------------------------------------------------------------------------------
# data order
# ------------------------------------------------------------------------------------------------
class IndexSampler(Sampler[int]):
    """Yields a fixed list of dataset positions (one epoch's shard, possibly resumed mid-way)."""

    def __init__(self, indices: list[int]) -> None:
        self.indices = indices

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def epoch_indices(n: int, *, seed: int, epoch_key: int, rank: int = 0, world_size: int = 1,
                  weights: np.ndarray | None = None) -> list[int]:
    """This rank's positions for one epoch — a pure function of the arguments.

    Uniform: ``DistributedSampler(shuffle=True, seed=seed)`` at epoch ``epoch_key`` (a permutation
    padded to a multiple of ``world_size`` and strided over ranks). Weighted (sector-balanced): ``n``
    draws with replacement from ``weights`` by a generator seeded with ``seed + epoch_key``, strided
    the same way.
    """
    if weights is None:
        ds = _Sized(n)
        s: DistributedSampler[int] = DistributedSampler(ds, num_replicas=world_size, rank=rank, shuffle=True,
                                                         seed=seed, drop_last=False)  # type: ignore[arg-type]
        s.set_epoch(epoch_key)
        return list(s)
    g = torch.Generator()
    g.manual_seed(seed + epoch_key)
    idx = torch.multinomial(torch.as_tensor(weights, dtype=torch.double), n, replacement=True, generator=g).tolist()
    total = math.ceil(n / world_size) * world_size
    idx += idx[: total - len(idx)]
    return idx[rank:total:world_size]


class _Sized:
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def _loader(ds: WindowDataset, indices: list[int], batch_size: int, num_workers: int, pin: bool,
            seed: int) -> DataLoader:  # type: ignore[type-arg]
    g = torch.Generator()
    g.manual_seed(seed)  # DataLoader draws its base seed from this, never from the global RNG
    return DataLoader(ds, batch_size=batch_size, sampler=IndexSampler(indices), num_workers=num_workers,
                      pin_memory=pin, drop_last=False, generator=g, worker_init_fn=_seed_worker,
                      persistent_workers=False)


def _seed_worker(worker_id: int) -> None:
    np.random.seed(torch.initial_seed() % 2**32)


# ------------------------------------------------------------------------------------------------
# results and state
# ------------------------------------------------------------------------------------------------
@dataclass
class TrainState:
    """Where a run is: everything the checkpoint stores besides model/optimizer/scheduler/scaler."""

    phase_index: int = 0
    epoch: int = 0  # epochs finished in the current phase
    batch_in_epoch: int = 0  # batches finished in the current (unfinished) epoch
    global_step: int = 0
    phase_step: int = 0
    best_val: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    epoch_sums: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainState:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns."""

    run_dir: Path
    completed: bool
    state: TrainState
    model_path: Path | None
    resumed: bool
    device: str
    world_size: int

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.state.history


# ------------------------------------------------------------------------------------------------
# trainer
# ------------------------------------------------------------------------------------------------
class Trainer:
    """Runs a :class:`~lasps.ml.train_config.TrainConfig` (see module docstring).

    Parameters
    ----------
    config:
        The run configuration.
    console:
        Where rank 0 prints epoch lines and progress bars (default: a new Rich console on stderr).
    progress:
        Show a Rich progress bar per epoch.
    """

    def __init__(self, config: TrainConfig, *, console: Console | None = None, progress: bool = True) -> None:
        self.cfg = config
        self.console = console or Console(stderr=True)
        self.show_progress = progress
        self.run_dir = Path(config.run.dir)
        self.model: SectorAwareModel | None = None
        self.dist = DistInfo()
        self.device = torch.device("cpu")

    # -- public ------------------------------------------------------------------------------------
    def fit(self, *, resume: bool = False, overwrite: bool = False, stop_after_epochs: int | None = None,
            stop_after_steps: int | None = None) -> TrainResult:
        """Train (or continue) the run; returns when all phases are done or a stop limit is reached.

        ``resume``: continue from ``run_dir/checkpoint.pt`` (a fresh start when there is none).
        ``overwrite``: start over even though the run directory has a checkpoint.
        ``stop_after_epochs`` / ``stop_after_steps``: stop (after checkpointing) once this many epochs /
        optimizer steps have run in this call — time-boxed training, and how the resume tests interrupt.
        """
        cfg = self.cfg
        self.dist = init_distributed(cfg.run.device)
        prev_det = torch.are_deterministic_algorithms_enabled()
        prev_threads = torch.get_num_threads()
        if cfg.run.threads:
            torch.set_num_threads(cfg.run.threads)
        try:
            self.device = resolve_device(cfg.run.device, self.dist)
            if cfg.run.deterministic:
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
                torch.use_deterministic_algorithms(True, warn_only=True)
                if self.device.type == "cuda":
                    torch.backends.cudnn.deterministic = True
                    torch.backends.cudnn.benchmark = False
            return self._fit(resume, overwrite, stop_after_epochs, stop_after_steps)
        finally:
            torch.use_deterministic_algorithms(prev_det)
            torch.set_num_threads(prev_threads)
            if self.dist.initialized_here:
                import torch.distributed as dist

                dist.destroy_process_group()

    # -- setup -------------------------------------------------------------------------------------
    def _print(self, msg: str) -> None:
        if self.dist.is_main:
            self.console.print(msg, highlight=False)

    def _load_data(self) -> None:
        cfg = self.cfg
        root = Path(cfg.data.dir)
        self.data = MLDataset(root)
        charts = cfg.model.chart
        self.train_ds = WindowDataset(root, "train", charts=charts)
        self.val_ds = WindowDataset(root, "val", charts=charts)
        if len(self.train_ds) == 0:
            raise ConfigError(f"the train split of {root} is empty", where="data.dir",
                              fix="rebuild the dataset with a longer date range")
        if cfg.model.task == "multistep" and cfg.model.horizon != self.data.horizon:
            raise ConfigError(f"model.horizon = {cfg.model.horizon} but the dataset's horizon is "
                              f"{self.data.horizon}", where="model.horizon", fix=f"set horizon = {self.data.horizon}")
        if any(p.phase in (2, 3) for p in cfg.phases) and (self.train_ds.sector_ids < 0).any():
            raise ConfigError("the dataset has samples without a sector (sector_id -1); sector heads need 0..12",
                              where="data.dir", fix="rebuild without --keep-unmapped, or train phase 1 only")
        labels = self.data.manifest.get("labels", {})
        self.buy, self.sell = float(labels.get("buy", 0.03)), float(labels.get("sell", -0.03))
        train_labels = self.train_ds.labels
        cw = cfg.optim.class_weights
        if cw == "auto":
            w = metrics.balanced_class_weights(train_labels)
        elif cw == "none":
            w = np.ones(3)
        else:
            w = np.asarray(cw, dtype=np.float64)
        self.class_weights = torch.tensor(w, dtype=torch.float32, device=self.device)
        self.train_prior = metrics.class_prior(train_labels)
        self.balance_weights = sector_weights(self.train_ds.sector_ids) if cfg.data.balanced else None

    def _meta(self) -> dict[str, Any]:
        m = self.data.manifest
        return {
            "dataset": str(Path(self.cfg.data.dir).resolve()),
            "dataset_fingerprint": m.get("fingerprint"),
            "labels": m.get("labels", {}),
            "features": m.get("features", []),
            "window": m.get("window", 60),
            "universe": m.get("source", {}).get("universe", "default"),
            "class_weights": self.class_weights.cpu().tolist(),
            "train_prior": self.train_prior.tolist(),
            "world_size": self.dist.world_size,
        }

    def _batches_per_epoch(self) -> int:
        per_rank = math.ceil(len(self.train_ds) / self.dist.world_size)
        n = math.ceil(per_rank / self.cfg.data.batch_size)
        if self.cfg.data.max_train_batches:
            n = min(n, self.cfg.data.max_train_batches)
        return n

    def _steps_per_epoch(self) -> int:
        return math.ceil(self._batches_per_epoch() / self.cfg.optim.accumulation_steps)

    def _setup_phase(self, ph: PhaseConfig, fresh: bool) -> None:
        """Trainable set, (DDP wrapper), optimizer, scheduler and scaler for phase ``ph``."""
        assert self.model is not None
        cfg = self.cfg
        if fresh and ph.phase == 2:
            self.model.init_sector_heads_from_common()
        self.model.configure_phase(ph.phase)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.net: nn.Module = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DDP(self.model, device_ids=ids)
        o = cfg.optim
        self.optimizer = torch.optim.AdamW(self.params, lr=ph.lr, betas=(o.betas[0], o.betas[1]), eps=o.eps,
                                           weight_decay=o.weight_decay)
        total = ph.epochs * self._steps_per_epoch()
        warm = round(o.warmup_frac * total)
        floor = o.min_lr_ratio

        def lr_lambda(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            prog = min(1.0, (step - warm) / max(1, total - warm))
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * prog))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda)
        self.amp = bool(o.amp and self.device.type == "cuda")
        self.amp_dtype = torch.bfloat16 if o.amp_dtype == "bfloat16" else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp:
            return torch.autocast(device_type="cuda", dtype=self.amp_dtype)
        return contextlib.nullcontext()

    # -- checkpoints -------------------------------------------------------------------------------
    def _save_checkpoint(self, state: TrainState, with_optimizer: bool) -> None:
        assert self.model is not None
        rngs = _all_gather_object(rng_state(), self.dist)
        if self.dist.is_main:
            ph = self.cfg.phases[min(state.phase_index, len(self.cfg.phases) - 1)]
            obj = {
                "format": CHECKPOINT_FORMAT,
                "version": FORMAT_VERSION,
                "config": self.cfg.to_dict(),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict() if with_optimizer else None,
                "scheduler": self.scheduler.state_dict() if with_optimizer else None,
                "scaler": self.scaler.state_dict() if with_optimizer else None,
                "rng": rngs,
                "world_size": self.dist.world_size,
                "state": state.to_dict(),
                "routing_phase": self._routing_phase(state),
                "phase": ph.phase,
                "meta": self._meta(),
                "torch_version": str(torch.__version__),
            }
            atomic_save(obj, self.run_dir / CHECKPOINT_FILE)
            self._write_history(state)
        _barrier(self.dist)

    def _routing_phase(self, state: TrainState) -> int:
        """The head a model in this state predicts with (1 = common until a phase 2/3 has started)."""
        done = self.cfg.phases[: state.phase_index + (0 if state.epoch == 0 and state.batch_in_epoch == 0 else 1)]
        return max((p.phase for p in done), default=1)

    def _write_history(self, state: TrainState) -> None:
        write_json(self.run_dir / HISTORY_FILE, state.history, indent=1)

    def _restore_rng(self, rngs: list[dict[str, Any]], world: int) -> None:
        if world == self.dist.world_size and len(rngs) > self.dist.rank:
            set_rng_state(rngs[self.dist.rank])
        else:
            self._print(f"[yellow]checkpoint was written by {world} process(es), this run has "
                        f"{self.dist.world_size}: random streams are re-seeded (resume is not bit-exact)[/]")
            seed_everything(self.cfg.run.seed + 7919 * (self.dist.rank + 1))

    # -- main loop ---------------------------------------------------------------------------------
    def _fit(self, resume: bool, overwrite: bool, stop_epochs: int | None, stop_steps: int | None) -> TrainResult:
        cfg = self.cfg
        ckpt_path = self.run_dir / CHECKPOINT_FILE
        has_ckpt = ckpt_path.is_file()
        if has_ckpt and not resume and not overwrite:
            raise ConfigError(f"{self.run_dir} already holds a training checkpoint", where="run.dir",
                              fix="pass --resume to continue it, --overwrite to start over, or choose another run.dir")
        if overwrite and not resume and self.dist.is_main and self.run_dir.is_dir():
            for p in [ckpt_path, self.run_dir / MODEL_FILE, self.run_dir / HISTORY_FILE,
                      *self.run_dir.glob("phase*_best.pt")]:
                p.unlink(missing_ok=True)
        _barrier(self.dist)
        has_ckpt = has_ckpt and resume
        self._load_data()
        seed_everything(cfg.run.seed)
        self.model = build_model(cfg.model).to(self.device)
        seed_everything(cfg.run.seed + 7919 * self.dist.rank)  # per-rank dropout streams
        state = TrainState()
        ckpt: dict[str, Any] | None = None
        resumed = False
        if resume and has_ckpt:
            ckpt = load_file(ckpt_path, CHECKPOINT_FORMAT, map_location="cpu")
            saved = TrainConfig.from_dict(ckpt["config"], source=str(ckpt_path))
            diff = saved.diff(cfg)
            if diff:
                raise ConfigError(f"the config differs from the checkpoint's in {', '.join(diff)}",
                                  where=str(ckpt_path),
                                  fix="resume with the run's own config.toml, or start a new run.dir")
            fp_then = ckpt.get("meta", {}).get("dataset_fingerprint")
            fp_now = self.data.manifest.get("fingerprint")
            if fp_then and fp_now and fp_then != fp_now:
                raise ConfigError(f"{cfg.data.dir} is not the dataset this run was trained on (fingerprint "
                                  f"{fp_now[:12]}… vs {fp_then[:12]}…)", where="data.dir",
                                  fix="resume with the original dataset, or start a new run.dir")
            self.model.load_state_dict(ckpt["model"])
            state = TrainState.from_dict(ckpt["state"])
            resumed = True
            self._print(f"[bold]resuming[/] {escape(str(self.run_dir))} at phase {state.phase_index + 1}/"
                        f"{len(cfg.phases)}, epoch {state.epoch}, batch {state.batch_in_epoch} "
                        f"(step {state.global_step})")
        elif resume:
            self._print(f"[yellow]no checkpoint in {escape(str(self.run_dir))}: starting a new run[/]")
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run_dir / CONFIG_FILE, cfg.to_toml())
        _barrier(self.dist)
        self._print(f"[bold]{cfg.model.kind}[/] ({cfg.model.task}) {self._n_params():,} parameters on "
                    f"{self.device}{f' × {self.dist.world_size} ranks' if self.dist.enabled else ''}; "
                    f"train {len(self.train_ds):,} / val {len(self.val_ds):,} samples; class weights "
                    f"{[round(float(x), 3) for x in self.class_weights]}")

        epochs_run = 0
        steps_run = 0
        while state.phase_index < len(cfg.phases) and not state.finished:
            ph = cfg.phases[state.phase_index]
            fresh = ckpt is None or ckpt.get("optimizer") is None
            self._setup_phase(ph, fresh=fresh)
            if ckpt is not None:
                if not fresh:
                    self.optimizer.load_state_dict(ckpt["optimizer"])
                    self.scheduler.load_state_dict(ckpt["scheduler"])
                    self.scaler.load_state_dict(ckpt["scaler"])
                self._restore_rng(ckpt["rng"], int(ckpt.get("world_size", 1)))
                ckpt = None
            if state.epoch == 0 and state.batch_in_epoch == 0:
                self._print(f"[bold cyan]phase {ph.phase}[/] ({state.phase_index + 1}/{len(cfg.phases)}): "
                            f"{ph.epochs} epoch(s) at lr {ph.lr:g}, {self._steps_per_epoch()} optimizer step(s) "
                            f"per epoch, trainable {sum(p.numel() for p in self.params):,}")
            stop_phase = False
            while state.epoch < ph.epochs and not stop_phase:
                interrupted, n_steps = self._train_epoch(ph, state, stop_steps - steps_run if stop_steps else None)
                steps_run += n_steps
                if interrupted:
                    self._save_checkpoint(state, with_optimizer=True)
                    self._print(f"[yellow]stopped after {steps_run} step(s); resume with --resume[/]")
                    return self._result(False, state, resumed)
                stop_phase = self._end_epoch(ph, state)
                epochs_run += 1
                stop = (stop_epochs is not None and epochs_run >= stop_epochs) or (
                    stop_steps is not None and steps_run >= stop_steps)
                phase_over = stop_phase or state.epoch >= ph.epochs
                if phase_over:
                    self._finish_phase(ph, state)
                    self._save_checkpoint(state, with_optimizer=False)
                else:
                    self._save_checkpoint(state, with_optimizer=True)
                if stop and not state.finished:
                    self._print(f"[yellow]stopped after {epochs_run} epoch(s); resume with --resume[/]")
                    return self._result(False, state, resumed)
                if phase_over:
                    break
        state.finished = True
        model_path = self.run_dir / MODEL_FILE
        if self.dist.is_main:
            save_model(model_path, self.model, cfg.to_dict(), self._final_phase(), self._meta())
            self._write_history(state)
        _barrier(self.dist)
        self._print(f"[bold green]done[/]: {escape(str(model_path))} (predicts with the "
                    f"{'common head' if self._final_phase() == 1 else 'sector heads'})")
        return self._result(True, state, resumed, model_path)

    def _broadcast_model(self) -> None:
        """Copy rank 0's parameters and buffers to every rank (no-op in a single process)."""
        if not self.dist.enabled:
            return
        import torch.distributed as dist

        assert self.model is not None
        with torch.no_grad():
            for t in self.model.state_dict().values():
                dist.broadcast(t, src=0)

    def _final_phase(self) -> int:
        return max(p.phase for p in self.cfg.phases)

    def _result(self, done: bool, state: TrainState, resumed: bool, path: Path | None = None) -> TrainResult:
        return TrainResult(run_dir=self.run_dir, completed=done, state=state, model_path=path, resumed=resumed,
                           device=str(self.device), world_size=self.dist.world_size)

    def _n_params(self) -> int:
        assert self.model is not None
        return sum(p.numel() for p in self.model.parameters())

    def _finish_phase(self, ph: PhaseConfig, state: TrainState) -> None:
        """Restore the phase's best weights (if any) and move the state to the next phase."""
        assert self.model is not None
        best = self.run_dir / f"phase{state.phase_index + 1}_best.pt"
        if self.cfg.early_stopping.restore_best and state.best_val is not None:
            # rank 0 wrote the file; it loads it and every other rank receives the weights (a run.dir that
            # only rank 0's node can see still ends the phase with identical weights everywhere)
            if self.dist.is_main:
                self.model.load_state_dict(load_file(best, "lasps-ml-model", map_location="cpu")["model"])
            self._broadcast_model()
            self._print(f"phase {ph.phase}: restored the best epoch ({state.best_epoch}, val loss "
                        f"{state.best_val:.4f})")
        state.phase_index += 1
        state.epoch = 0
        state.batch_in_epoch = 0
        state.phase_step = 0
        state.best_val = None
        state.best_epoch = 0
        state.bad_epochs = 0
        state.epoch_sums = {}
        if state.phase_index >= len(self.cfg.phases):
            state.finished = True

    # -- one epoch -----------------------------------------------------------------------------------
    def _loss(self, out: Tensor, batch: dict[str, Tensor], train: bool) -> Tensor:
        task = self.cfg.model.task
        out = out.float()
        if task == "classification":
            if train:
                return F.cross_entropy(out, batch["label"], weight=self.class_weights,
                                       label_smoothing=self.cfg.optim.label_smoothing)
            return F.cross_entropy(out, batch["label"])
        target = batch["ret"].unsqueeze(1) if task == "regression" else batch["ret_multi"]
        if self.cfg.optim.loss == "huber":
            return F.huber_loss(out, target, delta=self.cfg.optim.huber_delta)
        return F.mse_loss(out, target)

    def _to_device(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        nb = self.device.type == "cuda"
        return {k: v.to(self.device, non_blocking=nb) for k, v in batch.items()}

    def _train_epoch(self, ph: PhaseConfig, state: TrainState, steps_left: int | None) -> tuple[bool, int]:
        """Train (the rest of) one epoch. Returns ``(interrupted, optimizer steps taken)``."""
        assert self.model is not None
        cfg = self.cfg
        bs, accum = cfg.data.batch_size, cfg.optim.accumulation_steps
        n_batches = self._batches_per_epoch()
        epoch_key = state.phase_index * 100_000 + state.epoch
        idx = epoch_indices(len(self.train_ds), seed=cfg.run.seed, epoch_key=epoch_key, rank=self.dist.rank,
                            world_size=self.dist.world_size, weights=self.balance_weights)[: n_batches * bs]
        start = state.batch_in_epoch
        loader = _loader(self.train_ds, idx[start * bs:], bs, cfg.data.num_workers,
                         cfg.data.pin_memory and self.device.type == "cuda", cfg.run.seed + epoch_key)
        if start == 0:
            state.epoch_sums = {"loss": 0.0, "n": 0.0, "seconds": 0.0}
        sums = state.epoch_sums
        self.model.train_for_phase(ph.phase)
        self.optimizer.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        steps = 0
        prog = self._progress(f"phase {ph.phase} epoch {state.epoch + 1}/{ph.epochs}", n_batches, start)
        with prog or contextlib.nullcontext():
            task = prog.tasks[0].id if prog is not None else None
            for b, batch in enumerate(loader, start=start):
                batch = self._to_device(batch)
                g0 = (b // accum) * accum
                group = min(accum, n_batches - g0)
                last_in_group = b == g0 + group - 1
                sync = contextlib.nullcontext() if last_in_group or not self.dist.enabled else self.net.no_sync()  # type: ignore[operator]
                with sync:
                    with self._autocast():
                        out = self.net(batch["ts"], batch.get("chart"), batch["sector"], ph.phase)
                    loss = self._loss(out, batch, train=True)
                    self.scaler.scale(loss / group).backward()
                k = int(batch["ts"].shape[0])
                sums["loss"] += float(loss.detach()) * k
                sums["n"] += k
                if last_in_group:
                    self._optimizer_step()
                    steps += 1
                    state.global_step += 1
                    state.phase_step += 1
                    state.batch_in_epoch = b + 1
                    if prog is not None and task is not None:
                        prog.update(task, completed=b + 1,
                                    description=f"phase {ph.phase} epoch {state.epoch + 1}/{ph.epochs} "
                                                f"loss {sums['loss'] / max(sums['n'], 1):.4f}")
                    if state.batch_in_epoch < n_batches:
                        sums["seconds"] += time.perf_counter() - t0
                        t0 = time.perf_counter()
                        if steps_left is not None and steps >= steps_left:
                            return True, steps
                        every = cfg.run.save_every_steps
                        if every and state.global_step % every == 0:
                            self._save_checkpoint(state, with_optimizer=True)
        sums["seconds"] += time.perf_counter() - t0
        return False, steps

    def _optimizer_step(self) -> None:
        clip = self.cfg.optim.grad_clip
        if clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.params, clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _progress(self, desc: str, total: int, done: int) -> Progress | None:
        if not (self.show_progress and self.dist.is_main):
            return None
        prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=self.console, transient=True)
        prog.add_task(desc, total=total, completed=done)
        return prog

    def _end_epoch(self, ph: PhaseConfig, state: TrainState) -> bool:
        """Validate, record history, early stopping; returns True when the phase should stop."""
        assert self.model is not None
        sums = state.epoch_sums
        val = self.validate(ph.phase)
        state.epoch += 1
        state.batch_in_epoch = 0
        es = self.cfg.early_stopping
        improved = False
        if val.get("loss") is not None and math.isfinite(val["loss"]):
            if state.best_val is None or val["loss"] < state.best_val - es.min_delta:
                state.best_val, state.best_epoch, state.bad_epochs = float(val["loss"]), state.epoch, 0
                improved = True
                if self.dist.is_main:
                    save_model(self.run_dir / f"phase{state.phase_index + 1}_best.pt", self.model,
                               self.cfg.to_dict(), ph.phase, self._meta())
                _barrier(self.dist)
            else:
                state.bad_epochs += 1
        n_seen = sums.get("n", 0.0) * self.dist.world_size
        secs = sums.get("seconds", 0.0)
        rec = {
            "phase": ph.phase, "phase_index": state.phase_index, "epoch": state.epoch,
            "global_step": state.global_step, "lr": float(self.scheduler.get_last_lr()[0]),
            "train_loss": sums["loss"] / max(sums["n"], 1.0), "val": val, "improved": improved,
            "samples": int(n_seen), "seconds": secs, "samples_per_s": n_seen / secs if secs > 0 else None,
        }
        state.history.append(rec)
        self._print(_epoch_line(rec, self.cfg.model.task))
        share = val.get("predicted_share")
        if share and max(share.values()) > metrics.MAX_CLASS_SHARE:
            top = max(share, key=lambda k: share[k])
            self._print(f"[bold red]warning: {share[top]:.1%} of validation predictions are {top} — the model "
                        f"is collapsing onto one class[/]")
        return bool(es.patience and state.bad_epochs >= es.patience)

    @torch.no_grad()
    def validate(self, phase: int) -> dict[str, Any]:
        """Validation loss (unweighted), accuracy, macro-F1 and predicted class shares (all-reduced).

        Regression tasks report MSE (or Huber) loss, prediction/target spread and the shares of the
        classes implied by thresholding the predicted return at the dataset's buy/sell thresholds.
        """
        assert self.model is not None
        if len(self.val_ds) == 0:
            return {}
        cfg = self.cfg
        idx = list(range(self.dist.rank, len(self.val_ds), self.dist.world_size))
        if cfg.data.max_eval_batches:
            idx = idx[: cfg.data.max_eval_batches * cfg.data.eval_batch_size]
        loader = _loader(self.val_ds, idx, cfg.data.eval_batch_size, cfg.data.num_workers,
                         cfg.data.pin_memory and self.device.type == "cuda", cfg.run.seed)
        was_training = self.model.training
        self.model.eval()
        # sums: loss, n, p, p², t, t², confusion (9)
        acc = torch.zeros(15, dtype=torch.float64, device=self.device)
        for batch in loader:
            batch = self._to_device(batch)
            with self._autocast():
                out = self.model(batch["ts"], batch.get("chart"), batch["sector"], phase)
            out = out.float()
            k = out.shape[0]
            acc[0] += float(self._loss(out, batch, train=False)) * k
            acc[1] += k
            if cfg.model.task == "classification":
                pred = out.argmax(1)
            else:
                p = out[:, -1].double()
                t = batch["ret"].double()
                acc[2] += p.sum()
                acc[3] += (p * p).sum()
                acc[4] += t.sum()
                acc[5] += (t * t).sum()
                pred = torch.ones_like(batch["label"])
                pred[p < self.sell] = 0
                pred[p > self.buy] = 2
            acc[6:] += torch.bincount(batch["label"] * 3 + pred, minlength=9).double()
        if was_training:
            self.model.train_for_phase(phase)
        acc = _all_reduce_sum(acc, self.dist).cpu()
        n = float(acc[1])
        if n == 0:
            return {}
        cm = acc[6:].numpy().reshape(3, 3)
        f1 = metrics.f1_from_confusion(cm)
        out_d: dict[str, Any] = {
            "loss": float(acc[0]) / n, "n": int(n), "accuracy": float(np.trace(cm) / n),
            "macro_f1": float(f1.mean()),
            "predicted_share": {CLASS_NAMES[i]: float(cm[:, i].sum() / n) for i in range(3)},
        }
        if cfg.model.task != "classification":
            pm, tm = float(acc[2]) / n, float(acc[4]) / n
            ps = math.sqrt(max(float(acc[3]) / n - pm * pm, 0.0))
            ts = math.sqrt(max(float(acc[5]) / n - tm * tm, 0.0))
            out_d.update(pred_std=ps, target_std=ts, spread_ratio=ps / ts if ts > 0 else None)
        return out_d


def _epoch_line(rec: dict[str, Any], task: str) -> str:
    v = rec["val"]
    parts = [f"phase {rec['phase']} epoch {rec['epoch']}", f"train {rec['train_loss']:.4f}"]
    if v:
        parts.append(f"val {v['loss']:.4f}" + (f" (ln3 {metrics.LN3:.4f})" if task == "classification" else ""))
        parts.append(f"acc {v['accuracy']:.3f} f1 {v['macro_f1']:.3f}")
        if "spread_ratio" in v and v["spread_ratio"] is not None:
            parts.append(f"spread {v['spread_ratio']:.3f}")
    parts.append(f"lr {rec['lr']:.2e}")
    if rec.get("samples_per_s"):
        parts.append(f"{rec['samples_per_s']:.0f} samples/s")
    line = " · ".join(parts)
    return line + (" [green]★[/]" if rec["improved"] else "")
