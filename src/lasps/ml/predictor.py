"""Daily predictions from a trained model (``lasps ml predict``; needs torch).

``predict_date(model_file, date, home)``:

1. loads the market panel up to ``date`` (``lookback`` sessions of history, default 429 = the 179
   sessions a complete window needs + 250 so EMA seeds have decayed below float32 precision) with the
   same universe the dataset was built with;
2. computes the 28 features and the normalised ``(60, 28)`` windows ending at ``date`` with the
   **dataset builder's code** (:func:`lasps.ml.features.compute_features` / ``gather_windows``) and,
   for chart models, renders the charts from the same raw OHLCV (:func:`lasps.ml.charts.render_charts`);
   a code is predicted when it is in the universe that day, has a complete window and a mapped sector;
3. runs the model with the head it was trained for (common head after phase 1, sector heads after 2/3);
4. writes one row per code to the DuckDB table ``predictions`` in ``$LASPS_HOME/lasps.duckdb`` (the
   model's rows for that date are replaced in one transaction) and to
   ``$LASPS_HOME/predictions/{model}/{date}.parquet``.

Columns: ``model, date, code, name, sector_id, sector_name, p_sell, p_hold, p_buy, score, pred_class,
pred_return, rank, task, checkpoint, created_at``. ``score`` = P(BUY) − P(SELL) for classification
models, the predicted h-day return for regression / multi-step models (probabilities NULL); ``rank``
1 = highest score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from lasps.config import get_settings
from lasps.data.panel import FLOW_FIELDS
from lasps.data.panel_loader import load_panel
from lasps.data.schema import PREDICTION_COLUMNS
from lasps.data.sectors import SECTOR_NAMES
from lasps.data.store import StoreProvider, store_provider
from lasps.dates import parse_optional_date
from lasps.errors import ConfigError, StoreError
from lasps.files import atomic_write
from lasps.ml.charts import render_charts
from lasps.ml.checkpoint import load_model
from lasps.ml.evaluation import scores_from_outputs
from lasps.ml.features import MIN_SESSIONS, WINDOW, compute_features, gather_windows
from lasps.ml.health import checkpoint_health, refuse_collapsed
from lasps.ml.labels import CLASS_NAMES
from lasps.ml.metrics import classes_from_returns
from lasps.ml.trainer import resolve_device

PREDICTIONS_TABLE = "predictions"  # schema: lasps.data.schema.PREDICTIONS_DDL
COLUMNS: tuple[str, ...] = PREDICTION_COLUMNS
DEFAULT_LOOKBACK = MIN_SESSIONS + 250


@dataclass
class InferenceWindows:
    """Model inputs for every predictable code on one date (row k of each array = ``codes[k]``).

    ``windows`` ``(n, 60, 28)`` float32 normalised; ``ohlcv`` ``(n, 60, 5)`` float32 raw (for charts);
    ``dropped`` counts codes left out per reason.
    """

    date: dt.date
    codes: np.ndarray
    names: np.ndarray
    sector_ids: np.ndarray
    windows: np.ndarray
    ohlcv: np.ndarray
    flow_mask: np.ndarray
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass
class PredictionResult:
    """What :func:`predict_date` returns."""

    frame: pd.DataFrame
    model: str
    date: dt.date
    parquet: Path | None
    dropped: dict[str, int]
    warning: str | None = None  #: the collapse / not-evaluated warning every answer carries


def _history_start(home: Path, date: dt.date | None, sessions: int) -> tuple[dt.date, dt.date]:
    """``(first, last)``: the stored session ``sessions - 1`` sessions before ``date`` and the last stored
    session on or before ``date`` (the latest stored date when ``date`` is None)."""
    with store_provider(home).store() as store:
        hi = date or dt.date(2999, 12, 31)
        dates = store.sessions_upto(hi, sessions)
        last_stored = store.last_price_date()
    if not dates:
        raise StoreError(f"no prices stored on or before {hi}", where="--date",
                         fix=f"the store ends {last_stored}" if last_stored else "load data first")
    return dates[-1], dates[0]


def build_windows(date: str | dt.date | None, home: str | Path | None = None, *, universe: str = "default",
                  lookback: int = DEFAULT_LOOKBACK, min_history: int | None = None) -> InferenceWindows:
    """The normalised windows ending at ``date`` (default: the last stored session) for every predictable code."""
    home_p = Path(home) if home is not None else get_settings().home
    want = parse_optional_date(date, option="--date")
    if lookback < MIN_SESSIONS:
        raise ConfigError(f"lookback {lookback} is shorter than the {MIN_SESSIONS} sessions a window needs",
                          where="--lookback")
    first, last = _history_start(home_p, want, lookback)
    if want is not None and last != want:
        raise StoreError(f"{want} is not a stored trading session (the last one before it is {last})", where="--date",
                         fix=f"use --date {last}, or update the store (`lasps data update`)")
    panel = load_panel(["open", "high", "low", "close", "volume", *FLOW_FIELDS], start=first, end=last,
                       universe=universe, home=home_p, min_history=min_history)
    t = panel.date_index(np.datetime64(last, "D"))
    feats = compute_features(panel)
    cell = feats.cell_index()[t]
    N = len(panel.codes)
    traded = cell >= 0
    complete = np.zeros(N, dtype=bool)
    complete[traded] = feats.complete[cell[traded]]
    universe_ok = np.asarray(panel.universe_mask[t], dtype=bool)
    sectors = np.asarray(panel.sector_ids, dtype=np.int64)
    keep = traded & universe_ok & complete & (sectors >= 0)
    dropped = {
        "not_traded": int((~traded).sum()),
        "not_in_universe": int((traded & ~universe_ok).sum()),
        "incomplete_window": int((traded & universe_ok & ~complete).sum()),
        "unmapped_sector": int((traded & universe_ok & complete & (sectors < 0)).sum()),
    }
    idx = np.flatnonzero(keep)
    win, raw, fmask = gather_windows(feats, cell[idx], WINDOW, with_raw=True)
    names = panel.names if panel.names is not None else np.asarray([""] * N, dtype=object)
    return InferenceWindows(date=last, codes=np.asarray(panel.codes, dtype=object)[idx],
                            names=np.asarray(names, dtype=object)[idx], sector_ids=sectors[idx], windows=win,
                            ohlcv=raw, flow_mask=fmask, dropped=dropped)


@torch.no_grad()
def run_model(model: Any, phase: int, windows: np.ndarray, sectors: np.ndarray, ohlcv: np.ndarray | None = None, *,
              device: torch.device | str = "cpu", batch_size: int = 256) -> np.ndarray:
    """``(n, out_dim)`` float32 raw model outputs for ``windows (n, 60, 28)`` (charts rendered from ``ohlcv``)."""
    device = torch.device(device)
    model.eval()
    outs = []
    for a in range(0, len(windows), batch_size):
        ts = torch.from_numpy(np.ascontiguousarray(windows[a:a + batch_size], dtype=np.float32)).to(device)
        sec = torch.from_numpy(np.asarray(sectors[a:a + batch_size], dtype=np.int64)).to(device)
        chart = None
        if model.uses_chart:
            if ohlcv is None:
                raise ValueError("this model needs charts: pass ohlcv")
            img = render_charts(np.ascontiguousarray(ohlcv[a:a + batch_size]))  # (b, 224, 224, 3) uint8
            chart = torch.from_numpy(np.ascontiguousarray(img.transpose(0, 3, 1, 2))).to(device)
        outs.append(model(ts, chart, sec, phase).float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, model.out_dim), dtype=np.float32)


def predictions_frame(out: np.ndarray, w: InferenceWindows, task: str, model_name: str, checkpoint: str,
                      buy: float = 0.03, sell: float = -0.03) -> pd.DataFrame:
    """One row per code (see module docstring) from raw outputs ``out (n, out_dim)``."""
    n = len(w.codes)
    probs, score = scores_from_outputs(out, task)
    if probs is not None:
        cls = probs.argmax(axis=1)
        p_sell, p_hold, p_buy = probs[:, 0], probs[:, 1], probs[:, 2]
        pred_ret = np.full(n, np.nan)
    else:
        cls = classes_from_returns(score, buy, sell)
        p_sell = p_hold = p_buy = np.full(n, np.nan)
        pred_ret = score
    order = np.argsort(-score, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    now = pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0))
    frame = pd.DataFrame({
        "model": model_name, "date": pd.Timestamp(w.date), "code": w.codes.astype(str), "name": w.names.astype(str),
        "sector_id": w.sector_ids.astype(np.int32), "sector_name": [SECTOR_NAMES[s] for s in w.sector_ids],
        "p_sell": p_sell, "p_hold": p_hold, "p_buy": p_buy, "score": score.astype(np.float64),
        "pred_class": np.asarray(CLASS_NAMES, dtype=object)[cls] if n else np.zeros(0, dtype=object),
        "pred_return": pred_ret, "rank": rank.astype(np.int32), "task": task, "checkpoint": checkpoint,
        "created_at": now,
    }, columns=list(COLUMNS))
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)


def store_predictions(frame: pd.DataFrame, home: StoreProvider | str | Path) -> int:
    """Replace the (model, date) rows of ``frame`` in ``predictions`` in one transaction; returns rows written."""
    if frame.empty:
        return 0
    with store_provider(home).store(write=True) as store:
        store.replace_predictions(frame, COLUMNS)
    return len(frame)


def predict_date(checkpoint: str | Path, date: str | dt.date | None = None, home: str | Path | None = None, *,
                 model_name: str | None = None, device: str = "auto", batch_size: int = 256,
                 lookback: int = DEFAULT_LOOKBACK, universe: str | None = None, write: bool = True,
                 parquet_dir: str | Path | None = None, force: bool = False) -> PredictionResult:
    """Predict every code on ``date`` (default: the last stored session); see module docstring.

    A checkpoint whose evaluation says *collapsed* is refused unless ``force`` (:mod:`lasps.ml.health`).
    """
    health = checkpoint_health(checkpoint)
    refuse_collapsed(health, force)

    home_p = Path(home) if home is not None else get_settings().home
    dev = resolve_device(device)
    ck = Path(checkpoint)
    model, cfg, obj = load_model(ck, dev)
    meta = obj.get("meta", {})
    name = model_name or (ck.name if ck.is_dir() else ck.parent.name) or "model"
    w = build_windows(date, home_p, universe=universe or meta.get("universe", "default"), lookback=lookback)
    out = run_model(model, int(obj.get("phase", 1)), w.windows, w.sector_ids, w.ohlcv if model.uses_chart else None,
                    device=dev, batch_size=batch_size)
    labels = meta.get("labels", {})
    frame = predictions_frame(out, w, cfg.model.task, name, str(ck), float(labels.get("buy", 0.03)),
                              float(labels.get("sell", -0.03)))
    parquet: Path | None = None
    if write:
        store_predictions(frame, home_p)
        pdir = Path(parquet_dir) if parquet_dir is not None else home_p / "predictions" / name
        pdir.mkdir(parents=True, exist_ok=True)
        parquet = pdir / f"{w.date.isoformat()}.parquet"
        atomic_write(parquet, lambda tmp: frame.to_parquet(tmp, index=False))
    return PredictionResult(frame=frame, model=name, date=w.date, parquet=parquet, dropped=w.dropped,
                            warning=health.warning())
