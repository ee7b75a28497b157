"""The configured model's top-scored stocks for the daily report (DESIGN §6, §8; issue 15).

When ``model_checkpoint`` is set (``lasps.toml`` / ``LASPS_MODEL_CHECKPOINT``), the report lists the
model's top-scored stocks on the date beside the alpha picks. A checkpoint whose evaluation says
*collapsed* is still shown — the reader asked for it — but under a loud warning (the same text
``lasps ml predict --force`` prints); nothing is stored (``write=False``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lasps.ml.health import checkpoint_health
from lasps.report.data import ModelPicks


def model_picks(checkpoint: Path | str | None, home: Path, day: dt.date, n: int = 10) -> ModelPicks | None:
    """Predict ``day`` with ``checkpoint`` and keep the ``n`` best scores; None when none is configured."""
    if checkpoint is None or not str(checkpoint).strip():
        return None

    health = checkpoint_health(checkpoint)
    out = ModelPicks(str(checkpoint), collapsed=health.collapsed, warning=health.warning())
    try:
        from lasps.ml.predictor import predict_date

        res = predict_date(checkpoint, day, home, write=False, force=True)
    except Exception as exc:  # torch missing, a bad file, a date without windows: say so, keep the report
        out.error = f"{type(exc).__name__}: {exc}"
        return out
    frame = res.frame.sort_values("rank").head(n)
    out.rows = [{"rank": int(r.rank), "code": str(r.code), "name": str(r.name), "score": float(r.score),
                 "pred_class": None if r.pred_class is None else str(r.pred_class)}
                for r in frame.itertuples(index=False)]
    return out
