"""FastAPI routes of the deep-learning track (mounted by the service; no torch needed).

``router`` (an :class:`fastapi.APIRouter`) serves:

* ``GET /predict?date=YYYY-MM-DD[&model=NAME][&limit=N]`` — the stored predictions of one model on one
  date, best score first (``date`` defaults to the latest date with predictions; ``model`` to the most
  recently written model on that date). 404 with a JSON ``detail`` when there are none.
* ``GET /sectors`` — the 13 LASPS sectors: id, name, number of stocks in the store, and the number
  of stocks without a sector.

The home directory comes from the :func:`get_home` dependency (settings: ``$LASPS_HOME``); tests and
the service may override it (``app.dependency_overrides[get_home] = lambda: path``) or build a router for
a fixed home with :func:`create_router`. The store is opened read-only for each request.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query

from lasps.data.sectors import NUM_SECTORS, SECTOR_NAMES
from lasps.errors import LaspsError
from lasps.ml.health import checkpoint_health

PREDICTIONS_TABLE = "predictions"  # created by lasps.ml.predictor (CREATE TABLE IF NOT EXISTS)
_FIELDS = ("code", "name", "sector_id", "sector_name", "p_sell", "p_hold", "p_buy", "score", "pred_class",
           "pred_return", "rank")


def get_home() -> Path:
    """``$LASPS_HOME`` from settings (a FastAPI dependency; override it to point elsewhere)."""
    from lasps.config import get_settings

    return get_settings().home


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return v


def _open(home: Path) -> Any:
    from lasps.data.store import MarketStore

    try:
        return MarketStore(home, read_only=True)
    except LaspsError as exc:
        raise HTTPException(status_code=404, detail=f"no market store: {exc.what}") from exc


def _has_table(con: Any, name: str) -> bool:
    row = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()
    return bool(row and row[0])


def read_predictions(home: Path, date: dt.date | None = None, model: str | None = None,
                     limit: int | None = None, force: bool = False) -> dict[str, Any]:
    """The payload of ``/predict`` (raises ``HTTPException(404)`` when nothing is stored).

    Predictions of a checkpoint whose evaluation says *collapsed* are refused with 409 unless ``force``;
    forced, the payload's ``warning`` says so (:mod:`lasps.ml.health`).
    """
    hint = "run `lasps ml predict --checkpoint RUN/model.pt --date D`"
    with _open(home) as store:
        con = store.con
        if not _has_table(con, PREDICTIONS_TABLE):
            raise HTTPException(status_code=404, detail=f"no predictions stored yet; {hint}")
        where, params = [], []
        if model is not None:
            where.append("model = ?")
            params.append(model)
        if date is None:
            cond = f"WHERE {' AND '.join(where)}" if where else ""
            row = con.execute(f"SELECT max(date) FROM {PREDICTIONS_TABLE} {cond}", params).fetchone()
            if not row or row[0] is None:
                which = f" for model {model}" if model else ""
                raise HTTPException(status_code=404, detail=f"no predictions stored{which}; {hint}")
            date = row[0]
        where.append("date = ?")
        params.append(date)
        cond = " AND ".join(where)
        models = [r[0] for r in con.execute(
            f"SELECT model FROM {PREDICTIONS_TABLE} WHERE {cond} GROUP BY model ORDER BY max(created_at) DESC, model",
            params).fetchall()]
        if not models:
            raise HTTPException(status_code=404, detail=f"no predictions for {date}"
                                f"{f' from model {model}' if model else ''}; {hint}")
        chosen = model or models[0]
        sql = (f"SELECT {', '.join(_FIELDS)}, task, created_at FROM {PREDICTIONS_TABLE} WHERE model = ? AND date = ? "
               "ORDER BY rank, code")
        ck_row = con.execute(f"SELECT any_value(checkpoint) FROM {PREDICTIONS_TABLE} WHERE model = ? AND date = ?",
                             [chosen, date]).fetchone()
        health = checkpoint_health(ck_row[0]) if ck_row and ck_row[0] else None
        if health is not None and health.collapsed and not force:
            raise HTTPException(status_code=409, detail=f"model {chosen} is collapsed according to its evaluation "
                                f"({health.report}): {'; '.join(health.reasons)}; add force=true to see its "
                                "predictions anyway")
        rows = con.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), [chosen, date]).fetchall()
        total_row = con.execute(f"SELECT count(*) FROM {PREDICTIONS_TABLE} WHERE model = ? AND date = ?",
                                [chosen, date]).fetchone()
    preds = [{k: _clean(v) for k, v in zip(_FIELDS, r[: len(_FIELDS)], strict=True)} for r in rows]
    task = rows[0][len(_FIELDS)] if rows else None
    created = rows[0][len(_FIELDS) + 1] if rows else None
    return {"date": _clean(date), "model": chosen, "models": models, "task": task, "created_at": _clean(created),
            "count": int(total_row[0]) if total_row else len(preds),
            "collapsed": None if health is None else health.collapsed,
            "warning": None if health is None else health.warning(), "predictions": preds}


def read_sectors(home: Path) -> dict[str, Any]:
    """The payload of ``/sectors``: the 13 sectors with their stock counts (0 without a store)."""
    counts: dict[int, int] = {}
    unmapped = 0
    stored = True
    try:
        with _open(home) as store:
            for sid, n in store.con.execute(
                    "SELECT sector_id, count(*) FROM stocks GROUP BY sector_id").fetchall():
                if sid is None or int(sid) < 0:
                    unmapped += int(n)
                else:
                    counts[int(sid)] = int(n)
    except HTTPException:
        stored = False
    except duckdb.Error:  # pragma: no cover - a store without the stocks table
        stored = False
    return {
        "count": NUM_SECTORS,
        "store": stored,
        "sectors": [{"id": i, "name": SECTOR_NAMES[i], "stocks": counts.get(i, 0)} for i in range(NUM_SECTORS)],
        "unmapped_stocks": unmapped,
    }


def create_router(home_dep: Callable[[], Path] = get_home) -> APIRouter:
    """A router whose home comes from ``home_dep`` (default :func:`get_home`)."""
    r = APIRouter(tags=["ml"])

    @r.get("/predict", summary="Stored model predictions for one date")
    def predict(date: Annotated[dt.date | None, Query(description="YYYY-MM-DD; default latest")] = None,
                model: Annotated[str | None, Query(description="model (run) name; default latest written")] = None,
                limit: Annotated[int | None, Query(ge=1, description="at most this many rows")] = None,
                force: Annotated[bool, Query(description="serve a collapsed model's predictions anyway")] = False,
                home: Path = Depends(home_dep)) -> dict[str, Any]:
        return read_predictions(home, date, model, limit, force)

    @r.get("/sectors", summary="The 13 LASPS sectors with stock counts")
    def sectors(home: Path = Depends(home_dep)) -> dict[str, Any]:
        return read_sectors(home)

    return r


router = create_router()
