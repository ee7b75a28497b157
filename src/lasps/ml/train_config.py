"""Run configuration of ``lasps ml train`` (TOML, parsed with :mod:`tomllib`; no torch needed).

A run is described by one TOML file (examples in ``docs/examples/train_fusion.toml`` and
``train_patchtst.toml``; every key is optional except ``data.dir`` and ``run.dir``)::

    [run]            dir, seed, device ("auto" | "cpu" | "cuda" | "cuda:1"), deterministic, log_every,
                     save_every_steps, threads
    [data]           dir, batch_size, eval_batch_size, num_workers, balanced, max_train_batches,
                     max_eval_batches, pin_memory
    [model]          kind ("fusion" | "patchtst"), task ("classification" | "regression" | "multistep"),
                     use_chart, chart_channels, embed_dim, head_hidden, head_dropout, fusion_dropout
    [model.fusion]   d_model, layers, heads, d_ff, dropout              (LASPS fusion transformer)
    [model.patchtst] patch_len, stride, d_model, layers, heads, d_ff, dropout
    [optim]          weight_decay, betas, eps, grad_clip, accumulation_steps, amp, amp_dtype,
                     class_weights ("auto" | "none" | [w_sell, w_hold, w_buy]), label_smoothing,
                     loss ("mse" | "huber", regression tasks), huber_delta, warmup_frac, min_lr_ratio
    [early_stopping] patience, min_delta, restore_best
    [[phases]]       phase (1 | 2 | 3), epochs, lr   — one table per phase, run in the order given

Relative paths are resolved against the current working directory. Validation happens here, before
anything is loaded: a wrong key or value raises :class:`~lasps.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from lasps.errors import ConfigError

MODEL_KINDS: tuple[str, ...] = ("fusion", "patchtst")
TASKS: tuple[str, ...] = ("classification", "regression", "multistep")
PHASES: tuple[int, ...] = (1, 2, 3)

#: keys that may differ between a checkpoint's config and the config given to ``--resume``
#: (they change how the run executes, not what it computes; a moved dataset is recognised by the
#: fingerprint in its manifest).
RESUME_FREE_KEYS: frozenset[str] = frozenset({
    "run.device", "run.log_every", "run.save_every_steps", "run.threads", "run.dir", "data.dir",
    "data.num_workers", "data.pin_memory", "data.eval_batch_size",
})


@dataclass
class RunSection:
    """``[run]``: where the run lives and how it is seeded.

    ``save_every_steps`` (0 = off) also writes the checkpoint every k optimizer steps inside an epoch,
    so a shutdown loses at most k steps (the work log lost 6,300 of 9,537 batches of an epoch).
    ``threads`` (0 = torch's default) sets ``torch.set_num_threads`` for the run — on a busy or small
    CPU machine one thread per process is often several times faster than contended OpenMP threads.
    """

    dir: str = "runs/default"
    seed: int = 42
    device: str = "auto"
    deterministic: bool = True
    log_every: int = 50
    save_every_steps: int = 0
    threads: int = 0


@dataclass
class DataSection:
    """``[data]``: the dataset directory and batching.

    ``max_train_batches`` / ``max_eval_batches`` (0 = all) cap the batches per epoch — for smoke runs
    and tests; the sampled batches still change every epoch.
    """

    dir: str = ""
    batch_size: int = 64
    eval_batch_size: int = 256
    num_workers: int = 0
    balanced: bool = False
    max_train_batches: int = 0
    max_eval_batches: int = 0
    pin_memory: bool = True


@dataclass
class FusionParams:
    """The LASPS fusion model's time-series transformer (DESIGN §8)."""

    d_model: int = 128
    layers: int = 4
    heads: int = 4
    d_ff: int = 512
    dropout: float = 0.1


@dataclass
class PatchTSTParams:
    """PatchTST encoder (patches over time, one shared transformer applied to every channel)."""

    patch_len: int = 12
    stride: int = 6
    d_model: int = 64
    layers: int = 3
    heads: int = 4
    d_ff: int = 256
    dropout: float = 0.2


@dataclass
class ModelConfig:
    """``[model]``: architecture. ``use_chart=None`` means the kind's default (fusion: yes, PatchTST: no)."""

    kind: str = "fusion"
    task: str = "classification"
    use_chart: bool | None = None
    chart_channels: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    embed_dim: int = 128
    head_hidden: int = 64
    head_dropout: float = 0.1
    fusion_dropout: float = 0.1
    num_features: int = 28
    window: int = 60
    num_sectors: int = 13
    horizon: int = 5
    fusion: FusionParams = field(default_factory=FusionParams)
    patchtst: PatchTSTParams = field(default_factory=PatchTSTParams)

    @property
    def chart(self) -> bool:
        """Whether the model has a ChartCNN branch."""
        return self.kind == "fusion" if self.use_chart is None else bool(self.use_chart)

    @property
    def out_dim(self) -> int:
        """Head output size: 3 logits, 1 return, or ``horizon`` cumulative returns."""
        return {"classification": 3, "regression": 1, "multistep": self.horizon}[self.task]


@dataclass
class OptimSection:
    """``[optim]``: AdamW, loss, AMP, accumulation, LR schedule (linear warm-up then cosine)."""

    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    grad_clip: float = 1.0
    accumulation_steps: int = 1
    amp: bool = True
    amp_dtype: str = "float16"
    class_weights: Any = "auto"
    label_smoothing: float = 0.0
    loss: str = "mse"
    huber_delta: float = 0.05
    warmup_frac: float = 0.05
    min_lr_ratio: float = 0.01


@dataclass
class EarlyStopping:
    """``[early_stopping]`` on the validation loss, per phase; ``patience = 0`` disables it."""

    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True


@dataclass
class PhaseConfig:
    """One ``[[phases]]`` entry.

    Phase 1 trains backbone + common head; phase 2 copies the common head into the 13 sector heads and
    trains only them (backbone frozen); phase 3 fine-tunes backbone + sector heads (common head frozen)
    at a low learning rate.
    """

    phase: int = 1
    epochs: int = 1
    lr: float = 1e-4


def _default_phases() -> list[PhaseConfig]:
    return [PhaseConfig(1, 35, 1e-4), PhaseConfig(2, 10, 5e-4), PhaseConfig(3, 5, 1e-5)]


@dataclass
class TrainConfig:
    """A whole training run (see module docstring)."""

    run: RunSection = field(default_factory=RunSection)
    data: DataSection = field(default_factory=DataSection)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimSection = field(default_factory=OptimSection)
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    phases: list[PhaseConfig] = field(default_factory=_default_phases)

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build and validate from a nested dict (unknown keys raise :class:`ConfigError`)."""
        d = dict(d)
        phases_raw = d.pop("phases", None)
        cfg = _fill(cls, d, source, "")
        if phases_raw is not None:
            if not isinstance(phases_raw, list) or not phases_raw:
                raise ConfigError("[[phases]] must be a non-empty list of tables", where=source)
            cfg.phases = [_fill(PhaseConfig, p, source, f"phases[{i}].") for i, p in enumerate(phases_raw)]
        cfg.validate(source)
        return cfg

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        """Read ``path`` (TOML)."""
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {p} not found", where="--config",
                              fix="see docs/examples/train_fusion.toml") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"cannot parse {p}: {exc}", where=str(p)) from exc
        return cls.from_dict(raw, source=str(p))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self) -> str:
        """The config as TOML (written next to every run as ``config.toml``)."""
        return _to_toml(self.to_dict())

    # -- validation --------------------------------------------------------------------------------
    def validate(self, source: str = "config") -> None:
        m, o, dsec = self.model, self.optim, self.data

        def bad(key: str, msg: str, fix: str | None = None) -> ConfigError:
            return ConfigError(f"{key}: {msg}", where=source, fix=fix)

        if not self.run.dir:
            raise bad("run.dir", "is required")
        if not dsec.dir:
            raise bad("data.dir", "is required", "the dataset directory from `lasps ml dataset build --out DIR`")
        if m.kind not in MODEL_KINDS:
            raise bad("model.kind", f"unknown kind {m.kind!r}", f"use one of {', '.join(MODEL_KINDS)}")
        if m.task not in TASKS:
            raise bad("model.task", f"unknown task {m.task!r}", f"use one of {', '.join(TASKS)}")
        if m.use_chart is not None and not isinstance(m.use_chart, bool):
            raise bad("model.use_chart", f"must be true or false, got {m.use_chart!r}")
        if len(m.chart_channels) != 4 or any(int(c) < 1 for c in m.chart_channels):
            raise bad("model.chart_channels", f"needs 4 positive channel counts, got {m.chart_channels}")
        for key, v in (("data.batch_size", dsec.batch_size), ("data.eval_batch_size", dsec.eval_batch_size),
                       ("model.embed_dim", m.embed_dim), ("model.head_hidden", m.head_hidden),
                       ("optim.accumulation_steps", o.accumulation_steps), ("model.horizon", m.horizon),
                       ("run.log_every", self.run.log_every)):
            if int(v) < 1:
                raise bad(key, f"must be >= 1, got {v}")
        for key, v in (("data.num_workers", dsec.num_workers), ("data.max_train_batches", dsec.max_train_batches),
                       ("data.max_eval_batches", dsec.max_eval_batches),
                       ("run.save_every_steps", self.run.save_every_steps), ("run.threads", self.run.threads),
                       ("early_stopping.patience", self.early_stopping.patience)):
            if int(v) < 0:
                raise bad(key, f"must be >= 0, got {v}")
        for name, p in (("model.fusion", m.fusion), ("model.patchtst", m.patchtst)):
            if p.d_model % p.heads:
                raise bad(f"{name}.d_model", f"{p.d_model} is not divisible by heads={p.heads}")
            if not 0.0 <= p.dropout < 1.0:
                raise bad(f"{name}.dropout", f"must be in [0, 1), got {p.dropout}")
        pt = m.patchtst
        if pt.patch_len > m.window or pt.stride < 1:
            raise bad("model.patchtst", f"patch_len {pt.patch_len} / stride {pt.stride} do not fit a "
                                        f"{m.window}-row window")
        if not (isinstance(o.class_weights, str) and o.class_weights in ("auto", "none")) and not (
                isinstance(o.class_weights, list) and len(o.class_weights) == 3
                and all(isinstance(w, int | float) and w > 0 for w in o.class_weights)):
            raise bad("optim.class_weights", f"got {o.class_weights!r}",
                      'use "auto", "none" or [w_sell, w_hold, w_buy]')
        if o.loss not in ("mse", "huber"):
            raise bad("optim.loss", f"unknown loss {o.loss!r}", "use mse or huber")
        if o.amp_dtype not in ("float16", "bfloat16"):
            raise bad("optim.amp_dtype", f"got {o.amp_dtype!r}", "use float16 or bfloat16")
        if not 0.0 <= o.warmup_frac < 1.0:
            raise bad("optim.warmup_frac", f"must be in [0, 1), got {o.warmup_frac}")
        if not 0.0 <= o.min_lr_ratio <= 1.0:
            raise bad("optim.min_lr_ratio", f"must be in [0, 1], got {o.min_lr_ratio}")
        if len(o.betas) != 2:
            raise bad("optim.betas", f"needs two values, got {o.betas}")
        if not self.phases:
            raise bad("phases", "at least one [[phases]] table is required")
        for i, ph in enumerate(self.phases):
            if ph.phase not in PHASES:
                raise bad(f"phases[{i}].phase", f"must be 1, 2 or 3, got {ph.phase}")
            if ph.epochs < 1:
                raise bad(f"phases[{i}].epochs", f"must be >= 1, got {ph.epochs}")
            if not ph.lr > 0:
                raise bad(f"phases[{i}].lr", f"must be > 0, got {ph.lr}")
        if self.phases[0].phase != 1:
            raise bad("phases[0].phase", "training starts with phase 1 (backbone + common head)")

    # -- helpers -----------------------------------------------------------------------------------
    def diff(self, other: TrainConfig) -> list[str]:
        """Dotted keys whose values differ (ignoring :data:`RESUME_FREE_KEYS`)."""
        a, b = _flatten(self.to_dict()), _flatten(other.to_dict())
        keys = sorted(set(a) | set(b))
        return [k for k in keys if k not in RESUME_FREE_KEYS and a.get(k) != b.get(k)]


def _fill(cls: Any, raw: Any, source: str, prefix: str) -> Any:
    """Instantiate dataclass ``cls`` from dict ``raw`` recursively, rejecting unknown keys and wrong types."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table, got {raw!r}", where=source)
    obj = cls()
    known = {f.name: f for f in fields(cls)}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"unknown key {prefix}{key}", where=source,
                              fix=f"known keys here: {', '.join(sorted(known))}")
        cur = getattr(obj, key)
        if is_dataclass(cur):
            setattr(obj, key, _fill(type(cur), value, source, f"{prefix}{key}."))
            continue
        if isinstance(cur, bool) and not isinstance(value, bool):
            raise ConfigError(f"{prefix}{key} must be true or false, got {value!r}", where=source)
        int_field = isinstance(cur, int) and not isinstance(cur, bool)
        if int_field and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"{prefix}{key} must be an integer, got {value!r}", where=source)
        if isinstance(cur, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{prefix}{key} must be a number, got {value!r}", where=source)
            value = float(value)
        if isinstance(cur, str) and key != "class_weights" and not isinstance(value, str):
            raise ConfigError(f"{prefix}{key} must be a string, got {value!r}", where=source)
        if isinstance(cur, list) and not isinstance(value, list):
            raise ConfigError(f"{prefix}{key} must be a list, got {value!r}", where=source)
        setattr(obj, key, value)
    return obj


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def _to_toml(d: dict[str, Any]) -> str:
    """A minimal TOML writer for the config's shape (tables of scalars/lists, nested tables, phases)."""
    lines: list[str] = []

    def table(name: str, t: dict[str, Any]) -> None:
        scalars = {k: v for k, v in t.items() if not isinstance(v, dict) and v is not None}
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        lines.append("")
        for k, v in t.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)

    for name in ("run", "data", "model", "optim", "early_stopping"):
        table(name, d[name])
    for ph in d["phases"]:
        lines.append("[[phases]]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in ph.items())
        lines.append("")
    return "\n".join(lines)
