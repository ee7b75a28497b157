"""Is a checkpoint collapsed? Read from its evaluation report, and refuse to predict with it (issue 15).

``lasps ml evaluate`` writes ``eval_{split}.json`` beside the checkpoint with ``collapsed`` and
``collapse_reasons`` (:mod:`lasps.ml.evaluation`): one class predicted for almost every sample, or
embeddings that are all nearly the same vector. A collapsed model's "top-scored stocks" are noise, so
``lasps ml predict`` and ``/api/predict`` refuse it unless forced (``--force`` / ``force=true``), and say
so in every answer they give with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lasps.errors import ConfigError

SPLIT_ORDER = ("test", "val", "train")


@dataclass(frozen=True)
class CheckpointHealth:
    """``collapsed`` is None when no evaluation report was found (never evaluated: stated, not refused)."""

    checkpoint: str
    collapsed: bool | None
    reasons: tuple[str, ...] = ()
    report: str | None = None

    def warning(self) -> str | None:
        """The sentence every answer with this model carries (None when not collapsed)."""
        if self.collapsed:
            return (f"COLLAPSED MODEL: its evaluation ({self.report}) says collapsed — {'; '.join(self.reasons)}. "
                    "Its scores do not rank stocks; predictions shown only because they were forced.")
        if self.collapsed is None:
            return f"model {self.checkpoint} has no evaluation report: run `lasps ml evaluate` before trusting it"
        return None


def checkpoint_health(checkpoint: str | Path) -> CheckpointHealth:
    """The collapse verdict of the first ``eval_{test,val,train}.json`` in the checkpoint's directory."""
    ck = Path(checkpoint)
    run_dir = ck if ck.is_dir() else ck.parent
    for split in SPLIT_ORDER:
        path = run_dir / f"eval_{split}.json"
        if path.is_file():
            try:
                rep = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            return CheckpointHealth(str(ck), bool(rep.get("collapsed")), tuple(rep.get("collapse_reasons") or ()),
                                    str(path))
    return CheckpointHealth(str(ck), None)


def refuse_collapsed(health: CheckpointHealth, force: bool, where: str = "--checkpoint") -> None:
    """Raise :class:`ConfigError` (exit 2) for a collapsed checkpoint unless ``force``."""
    if health.collapsed and not force:
        raise ConfigError(
            f"the model {health.checkpoint} is collapsed according to its evaluation ({health.report}): "
            + "; ".join(health.reasons), where=where,
            fix="retrain it (see `lasps ml analyze`), or pass --force to predict anyway (every answer says so)")
