"""The LASPS service (DESIGN §9): a JSON API, the dashboard and the token-protected order endpoints.

``create_app(home)`` builds a FastAPI application over one ``$LASPS_HOME``; ``lasps serve`` runs it with
uvicorn on 127.0.0.1:8000 by default. OpenAPI: ``/openapi.json``, interactive docs: ``/docs``.

==========================================  =================================================================
``GET /health``                             service, version, home, store status (``ok``/``busy``/``missing``)
``GET /api/alphas`` ``[?kind=paper]``        the alpha catalogue (101 paper + custom + user alphas)
``GET /api/alphas/{name}``                  one alpha (``alpha_044``, ``44`` or a user name)
``GET /api/picks/latest``                   the newest daily picks with contributions
``GET /api/picks/{date}``                   picks of one date (``YYYY-MM-DD``)
``GET /api/pipeline`` / ``…/{date}``        daily runs and their step journals
``GET /api/rankings``                       ``research/rank_latest.csv`` (``?split=&by=&top=&variant=``)
``GET /api/backtests`` / ``…/{run_id}``     backtest runs (``summary.json``); ``…/{run_id}/daily``: equity
``GET /api/reports``                        daily reports; ``GET /reports/{file}`` serves one
``/api/orders…``                            lasps.broker.api (``Authorization: Bearer $LASPS_API_TOKEN``)
``GET /`` ``/picks`` ``/rankings`` …        the dashboard (server-rendered HTML with inline SVG charts)
==========================================  =================================================================

Errors are JSON ``{"error": message, "status": code, "detail": …}``: 404 for what does not exist (with
what does), 422 for malformed input (a bad date, an unknown split or metric). Reads never block on the
DuckDB store (:mod:`lasps.service.data`), so the service keeps answering while ``lasps daily`` writes.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lasps import __version__
from lasps.broker.api import make_router
from lasps.broker.factory import open_manager
from lasps.dates import parse_date
from lasps.errors import ConfigError, LaspsError
from lasps.files import json_safe
from lasps.ml.api import create_router as ml_router  # no torch needed: reads stored predictions
from lasps.ml.api import warm as warm_ml
from lasps.pipeline import outputs as out
from lasps.service.data import StoreProbe, backtest_dir, backtest_runs, latest_backtest, read_csv
from lasps.service.pages import pages_router
from lasps.workspace import Workspace, as_workspace

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
SPLITS = Literal["train", "val", "test", "all"]
RANK_METRICS = Literal["ic_mean", "ic_ir", "ic_t_nw", "hit_rate", "q_spread", "ls_return", "lo_return", "turnover",
                       "coverage", "n_days", "ic_std"]
API_PREFIXES = ("/api", "/health", "/openapi.json", "/docs", "/redoc", "/reports/")

DESCRIPTION = """LASPS — Korean-equity quant research and trading workstation.

Read-only JSON over one `$LASPS_HOME` (picks, rankings, backtests, reports, the alpha catalogue) plus the
order endpoints of `lasps.broker.api` under `/api/orders`, which need `Authorization: Bearer <LASPS_API_TOKEN>`.
Errors: `{"error": message, "status": code, "detail": ...}`."""


def parse_day(value: str) -> dt.date:
    """``YYYY-MM-DD`` → date, else a 422 naming the value."""
    try:
        return parse_date(value, option="date")
    except ConfigError:
        raise HTTPException(422, f"invalid date {value!r}: use an existing calendar date YYYY-MM-DD") from None


def _alpha_dict(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "id": spec.id, "kind": spec.kind, "formula": spec.formula,
            "canonical": spec.canonical, "inputs": list(spec.inputs), "delay": spec.delay,
            "needs_industry": spec.needs_industry, "description": spec.description}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if any(path.startswith(p) for p in API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def api_router(ws: Workspace, probe: StoreProbe) -> APIRouter:
    """The read-only JSON endpoints over the workspace ``ws`` (its result files; the store only through
    ``probe``)."""
    home = ws.home
    r = APIRouter()

    @r.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Service status; ``store.status`` is ``busy`` while another process writes the DuckDB store."""
        return {"status": "ok", "service": "lasps", "version": __version__, "home": str(home),
                "time": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "store": probe.get(),
                "latest_picks": out.latest_date(home), "latest_backtest": latest_backtest(home)}

    @r.get("/api/alphas", tags=["alphas"])
    def alphas(kind: Annotated[Literal["paper", "custom", "user"] | None, Query(
            description="Only this kind: paper (1–101), custom (201–205) or user.")] = None) -> dict[str, Any]:
        """The alpha catalogue."""
        cat = ws.reload_catalogue()  # read per request: `lasps alpha add` shows without a restart
        items = [_alpha_dict(s) for s in cat.values() if kind is None or s.kind == kind]
        return {"count": len(items), "alphas": items}

    @r.get("/api/alphas/{name}", tags=["alphas"])
    def alpha(name: str) -> dict[str, Any]:
        """One alpha by name or id (``alpha_044``, ``44``, a user name)."""
        cat = ws.reload_catalogue()  # read per request: `lasps alpha add` shows without a restart
        try:
            spec = cat.resolve(int(name) if name.isdigit() else name)
        except LaspsError:
            raise HTTPException(404, f"unknown alpha {name!r}: see /api/alphas for the catalogue") from None
        return _alpha_dict(spec)

    def _picks(day: str | None) -> dict[str, Any]:
        doc = out.read_picks(home, day)
        if doc is None:
            dates = [d for d in out.run_dates(home) if (out.run_dir(home, d) / "picks.json").is_file()]
            if day is None:
                raise HTTPException(404, "no daily picks yet: run `lasps daily` (or `lasps demo`)")
            raise HTTPException(404, f"no picks for {day}; dates with picks: {', '.join(dates[:10]) or 'none'}")
        sel = out.read_json(out.run_dir(home, doc["date"]) / "selection.json") or {}
        md, html = out.report_paths(home, doc["date"])
        return json_safe(doc | {"selection": sel.get("variants", []), "metric": sel.get("metric"),
                            "window": sel.get("window"),
                            "report": {"md": f"/reports/{md.name}" if md.is_file() else None,
                                       "html": f"/reports/{html.name}" if html.is_file() else None}})

    @r.get("/api/picks/latest", tags=["picks"])
    def picks_latest() -> dict[str, Any]:
        """The newest complete daily picks (``pipeline/latest``)."""
        return _picks(None)

    @r.get("/api/picks/{date}", tags=["picks"])
    def picks_on(date: Annotated[str, PathParam(pattern=DATE_PATTERN, description="YYYY-MM-DD")]) -> dict[str, Any]:
        """The picks of one date."""
        return _picks(parse_day(date).isoformat())

    @r.get("/api/pipeline", tags=["pipeline"])
    def pipeline_runs() -> dict[str, Any]:
        """Dates with a daily run and the status of each step."""
        runs = []
        for d in out.run_dates(home):
            st = out.read_state(home, d) or {}
            runs.append({"date": d, "runs": st.get("runs"),
                         "steps": {k: v.get("status") for k, v in (st.get("steps") or {}).items()}})
        return {"latest": out.latest_date(home), "runs": runs}

    @r.get("/api/pipeline/{date}", tags=["pipeline"])
    def pipeline_state(date: Annotated[str, PathParam(pattern=DATE_PATTERN)]) -> dict[str, Any]:
        """The step journal (``state.json``) of one date."""
        day = parse_day(date).isoformat()
        st = out.read_state(home, day)
        if st is None:
            raise HTTPException(404, f"no daily run for {day}")
        return json_safe(st)

    @r.get("/api/rankings", tags=["research"])
    def rankings(split: Annotated[SPLITS, Query(description="train, val, test or all")] = "all",
                 by: Annotated[RANK_METRICS, Query(description="sort column")] = "ic_ir",
                 top: Annotated[int, Query(ge=1, le=5000)] = 20,
                 ascending: bool = False,
                 variant: Annotated[str | None, Query(description="only variants containing this text")] = None,
                 ) -> dict[str, Any]:
        """Variants ranked by a metric (``research/rank_latest.csv``: both directions of every alpha)."""
        path = home / "research" / "rank_latest.csv"
        frame = read_csv(path)
        if frame is None:
            raise HTTPException(404, "no ranking yet: run `lasps daily` or `lasps eval rank`")
        n_variants = int(frame["variant"].nunique())
        sub = frame[frame["split"] == split]
        if variant:
            sub = sub[sub["variant"].str.contains(re.escape(variant), case=False)]
        sub = sub.sort_values(by, ascending=ascending, na_position="last", kind="mergesort").head(top)
        stamp = dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone().isoformat(timespec="seconds")
        return json_safe({"split": split, "by": by, "n_variants": n_variants, "updated": stamp,
                      "rows": sub.to_dict(orient="records")})

    @r.get("/api/backtests", tags=["backtests"])
    def backtests(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """Stored backtest runs, newest first."""
        runs = backtest_runs(home)
        return json_safe({"latest": latest_backtest(home), "count": len(runs), "runs": runs[:limit]})

    def _run(run_id: str) -> Path:
        d = backtest_dir(home, run_id)
        if d is None:
            raise HTTPException(404, f"no backtest run {run_id!r}: see /api/backtests")
        return d

    @r.get("/api/backtests/{run_id}", tags=["backtests"])
    def backtest(run_id: str) -> dict[str, Any]:
        """One run's ``summary.json``."""
        return json_safe(out.read_json(_run(run_id) / "summary.json") or {})

    @r.get("/api/backtests/{run_id}/daily", tags=["backtests"])
    def backtest_daily(run_id: str) -> dict[str, Any]:
        """One run's daily equity (``daily.csv``: date, cash, positions_value, total_value, benchmark)."""
        frame = read_csv(_run(run_id) / "daily.csv")
        rows = [] if frame is None else frame.to_dict(orient="records")
        return json_safe({"run_id": run_id, "rows": rows})

    @r.get("/api/reports", tags=["reports"])
    def reports() -> dict[str, Any]:
        """Daily reports, newest first, with their URLs."""
        items = [e | {"md_url": f"/reports/{e['md']}" if e["md"] else None,
                      "html_url": f"/reports/{e['html']}" if e["html"] else None} for e in out.list_reports(home)]
        return {"count": len(items), "reports": items}

    @r.get("/reports/{name}", tags=["reports"], response_model=None)
    def report_file(name: str) -> FileResponse:
        """Serve one report file (``YYYY-MM-DD_alpha.md`` or ``.html``)."""
        m = out.REPORT_RE.match(name)
        path = out.reports_dir(home) / name
        if not m or not path.is_file():
            raise HTTPException(404, f"no report {name!r}: see /api/reports")
        media = "text/html; charset=utf-8" if m.group(2) == "html" else "text/markdown; charset=utf-8"
        return FileResponse(path, media_type=media)

    return r


def _order_router(ws: Workspace) -> APIRouter:
    """``lasps.broker.api``'s router, its managers opened in this app's workspace (the bearer-token check in
    place)."""
    def factory(broker: str | None) -> Any:
        return open_manager(broker, home=ws.home)

    return make_router(manager_factory=factory)


def create_app(home: Workspace | Path | str | None = None, *, order_router: APIRouter | None = None) -> FastAPI:
    """The service for one workspace (or home directory; default: settings). ``order_router`` replaces the
    broker router (tests pass one with a fake manager factory). The store is opened read-only per request
    through the workspace (:class:`~lasps.service.data.StoreProbe`), never held: the daily pipeline can write."""

    ws = as_workspace(home)
    app = FastAPI(title="LASPS", version=__version__, description=DESCRIPTION,
                  openapi_tags=[{"name": n} for n in ("service", "picks", "research", "backtests", "reports",
                                                       "alphas", "pipeline", "orders", "ml", "dashboard")])
    app.state.home = ws.home
    app.state.workspace = ws
    probe = StoreProbe(ws)
    app.state.probe = probe
    app.include_router(api_router(ws, probe))
    app.include_router(order_router or _order_router(ws), prefix="/api")

    app.include_router(ml_router(lambda: ws), prefix="/api")
    warm_ml(ws)  # remembered answers keep /api/sectors and /api/predict answering under a writer
    app.include_router(pages_router(ws, probe))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such page or endpoint: {request.url.path} (see /docs)"
        message = str(detail.get("error") or detail) if isinstance(detail, dict) else str(detail)
        if _wants_html(request):
            from lasps.service.pages import error_page

            return HTMLResponse(error_page(exc.status_code, message), status_code=exc.status_code)
        return JSONResponse({"error": message, "status": exc.status_code, "detail": jsonable_encoder(detail)},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors())
        parts = []
        for e in errors:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path", "body"))
            parts.append(f"{loc or 'request'}: {e.get('msg')} (got {e.get('input')!r})")
        return JSONResponse({"error": "invalid request: " + "; ".join(parts), "status": 422, "detail": errors},
                            status_code=422)

    return app


__all__ = ["create_app", "parse_day"]
