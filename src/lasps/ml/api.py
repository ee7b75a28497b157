"""FastAPI routes of the deep-learning track (mounted by the service; no torch needed).

``router`` (an :class:`fastapi.APIRouter`) serves:

* ``GET /predict?date=YYYY-MM-DD[&model=NAME][&limit=N]`` — the stored predictions of one model on one
  date, best score first (``date`` defaults to the latest date with predictions; ``model`` to the most
  recently written model on that date). 404 with a JSON ``detail`` when there are none.
* ``GET /sectors`` — the 13 LASPS sectors: id, name, number of stocks in the store, and the number
  of stocks without a sector.

The workspace comes from the :func:`get_home` dependency (settings: ``$LASPS_HOME``); tests and
the service may override it (``app.dependency_overrides[get_home] = lambda: path``) or build a router for
a fixed workspace (or home directory) with :func:`create_router`. The store is opened read-only for each
request through a :class:`~lasps.data.readthrough.ReadThrough`: while another process holds the DuckDB
write lock the last answer read is served (``"store_status": "busy"`` and its ``as_of`` time) instead of
failing; an answer never read before gets 503 with ``Retry-After``. :func:`warm` reads the usual answers at
service start.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query

from lasps.config import get_settings
from lasps.data.readthrough import Read, ReadThrough, StoreBusy
from lasps.data.sectors import NUM_SECTORS, SECTOR_NAMES
from lasps.data.store import StoreProvider, store_provider
from lasps.errors import LaspsError, StoreError
from lasps.files import json_safe
from lasps.ml.health import checkpoint_health

PREDICTIONS_TABLE = "predictions"  # created by lasps.ml.predictor (CREATE TABLE IF NOT EXISTS)
_FIELDS = ("code", "name", "sector_id", "sector_name", "p_sell", "p_hold", "p_buy", "score", "pred_class",
           "pred_return", "rank")


def get_home() -> Path:
    """``$LASPS_HOME`` from settings (a FastAPI dependency; override it to point elsewhere)."""
    return get_settings().home


_READERS: dict[Path, ReadThrough] = {}
_READERS_LOCK = threading.Lock()
BUSY_RETRY_AFTER_S = 2


def reader(home: StoreProvider | Path) -> ReadThrough:
    """The (process-wide) read-through reader of the store of ``home`` (a workspace or a home directory),
    one per resolved home directory."""
    key = Path(store_provider(home).home).resolve()
    with _READERS_LOCK:
        if key not in _READERS:
            _READERS[key] = ReadThrough(home if isinstance(home, StoreProvider) else key)
        return _READERS[key]


def _read(home: StoreProvider | Path, key: tuple[Any, ...], compute: Callable[[Any], Any]) -> Read[Any]:
    try:
        return reader(home).read(key, compute)
    except StoreBusy as exc:
        raise HTTPException(status_code=503, detail=f"{exc.what}; {exc.fix}",
                            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)}) from exc
    except LaspsError as exc:
        raise HTTPException(status_code=404, detail=f"no market store: {exc.what}") from exc


def _predictions(store: Any, date: dt.date | None, model: str | None) -> dict[str, Any]:
    """Every stored prediction of one (date, model) — what ``/predict`` shows (``limit`` is applied later)."""
    hint = "run `lasps ml predict --checkpoint RUN/model.pt --date D`"
    if not store.has_table(PREDICTIONS_TABLE):
        return {"missing": f"no predictions stored yet; {hint}"}
    if date is None:
        date = store.latest_prediction_date(model)
        if date is None:
            which = f" for model {model}" if model else ""
            return {"missing": f"no predictions stored{which}; {hint}"}
    models = store.prediction_models(date, model)
    if not models:
        return {"missing": f"no predictions for {date}{f' from model {model}' if model else ''}; {hint}"}
    chosen = model or models[0]
    rows, total = store.predictions(chosen, date, _FIELDS, None)
    preds = [{k: json_safe(v) for k, v in zip(_FIELDS, r[: len(_FIELDS)], strict=True)} for r in rows]
    task = rows[0][len(_FIELDS)] if rows else None
    created = rows[0][len(_FIELDS) + 1] if rows else None
    return {"date": json_safe(date), "model": chosen, "models": models, "task": task, "created_at": json_safe(created),
            "count": total, "predictions": preds, "checkpoint": store.prediction_checkpoint(chosen, date)}


def read_predictions(home: StoreProvider | Path, date: dt.date | None = None, model: str | None = None,
                     limit: int | None = None, force: bool = False) -> dict[str, Any]:
    """The payload of ``/predict`` (raises ``HTTPException(404)`` when nothing is stored, 503 while a writer
    holds the store and this answer was never read).

    Predictions of a checkpoint whose evaluation says *collapsed* are refused with 409 unless ``force``;
    forced, the payload's ``warning`` says so (:mod:`lasps.ml.health`).
    """
    got = _read(home, ("predict", date, model), lambda store: _predictions(store, date, model))
    payload = dict(got.value)
    if "missing" in payload:
        raise HTTPException(status_code=404, detail=payload["missing"])
    checkpoint = payload.pop("checkpoint", None)
    health = checkpoint_health(checkpoint) if checkpoint else None
    if health is not None and health.collapsed and not force:
        raise HTTPException(status_code=409, detail=f"model {payload['model']} is collapsed according to its "
                            f"evaluation ({health.report}): {'; '.join(health.reasons)}; add force=true to see its "
                            "predictions anyway")
    if limit:
        payload["predictions"] = payload["predictions"][: int(limit)]
    payload["collapsed"] = None if health is None else health.collapsed
    payload["warning"] = None if health is None else health.warning()
    return payload | got.meta()


def _sector_counts(store: Any) -> tuple[dict[int, int], int]:
    counts: dict[int, int] = {}
    unmapped = 0
    for sid, n in store.sector_counts():
        if sid is None or int(sid) < 0:
            unmapped += int(n)
        else:
            counts[int(sid)] = int(n)
    return counts, unmapped


def read_sectors(home: StoreProvider | Path) -> dict[str, Any]:
    """The payload of ``/sectors``: the 13 sectors with their stock counts (0 without a store). While a
    writer holds the store, the counts last read are served (``store_status`` "busy", ``as_of``)."""
    counts: dict[int, int] = {}
    unmapped = 0
    stored = True
    meta: dict[str, Any] = {}
    try:
        got = _read(home, ("sectors",), _sector_counts)
        counts, unmapped = got.value
        meta = got.meta()
    except HTTPException as exc:
        if exc.status_code == 503:
            raise
        stored = False
    except duckdb.Error:  # pragma: no cover - a store without the stocks table
        stored = False
    return {
        "count": NUM_SECTORS,
        "store": stored,
        "sectors": [{"id": i, "name": SECTOR_NAMES[i], "stocks": counts.get(i, 0)} for i in range(NUM_SECTORS)],
        "unmapped_stocks": unmapped,
    } | meta


def warm(home: StoreProvider | Path) -> None:
    """Read the sectors and the latest predictions once (so they can be served during a later write)."""
    for fn in (read_sectors, read_predictions):
        try:
            fn(home)
        except (HTTPException, StoreError, duckdb.Error):
            continue


def create_router(home_dep: Callable[[], StoreProvider | Path] = get_home) -> APIRouter:
    """A router whose workspace (or home directory) comes from ``home_dep`` (default :func:`get_home`)."""
    r = APIRouter(tags=["ml"])

    @r.get("/predict", summary="Stored model predictions for one date")
    def predict(date: Annotated[dt.date | None, Query(description="YYYY-MM-DD; default latest")] = None,
                model: Annotated[str | None, Query(description="model (run) name; default latest written")] = None,
                limit: Annotated[int | None, Query(ge=1, description="at most this many rows")] = None,
                force: Annotated[bool, Query(description="serve a collapsed model's predictions anyway")] = False,
                home: StoreProvider | Path = Depends(home_dep)) -> dict[str, Any]:
        return read_predictions(home, date, model, limit, force)

    @r.get("/sectors", summary="The 13 LASPS sectors with stock counts")
    def sectors(home: StoreProvider | Path = Depends(home_dep)) -> dict[str, Any]:
        return read_sectors(home)

    return r


router = create_router()
