"""Every GET route keeps answering — with the same status and the same data — while a real second process
holds the DuckDB write lock (issue 16: ``/api/sectors`` and ``/api/predict`` used to fail then)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from starlette.routing import Route

from lasps.data.store import MarketStore
from lasps.ml.predictor import store_predictions
from lasps.service.app import create_app
from lasps.service.data import STORE_CACHE_S
from tests.pipeline.fixtures import copy_home

HOLDER = r"""
import sys, time
from lasps.data.store import MarketStore
with MarketStore(sys.argv[1]) as store:  # the write lock, held until stdin closes (like `lasps data update`)
    store.con.execute("SELECT 1")
    print("locked", flush=True)
    sys.stdin.read()
"""
#: The dashboard's pages (server-rendered, not in the OpenAPI schema).
PAGES = ("/", "/picks", "/rankings", "/backtests", "/backtests/{run_id}", "/reports")
#: Fields that say where an answer came from (they differ by design while the store is busy).
PROVENANCE = ("store_status", "as_of", "store")


def _predictions(home: Path) -> None:
    with MarketStore(home, read_only=True) as store:
        codes = [r[0] for r in store.con.execute("SELECT code FROM stocks ORDER BY code LIMIT 3").fetchall()]
        day = store.con.execute("SELECT max(date) FROM daily_prices").fetchone()[0]
    frame = pd.DataFrame({"model": "m1", "date": pd.Timestamp(day), "code": codes, "name": None, "sector_id": 0,
                          "sector_name": None, "p_sell": 0.2, "p_hold": 0.3, "p_buy": 0.5, "score": [0.9, 0.5, 0.1],
                          "pred_class": "buy", "pred_return": 0.01, "rank": [1, 2, 3], "task": "classification",
                          "checkpoint": "ck", "created_at": pd.Timestamp("2026-10-30 18:00")})
    assert store_predictions(frame, home) == 3


def _urls(client: TestClient, app: Any) -> list[str]:
    """Every GET route, with path parameters filled from the listing endpoints."""
    values = {"date": "2026-10-30", "name": client.get("/api/alphas").json()["alphas"][0]["name"],
              "run_id": client.get("/api/backtests").json()["runs"][0]["run_id"]}
    paths = [p for p, ops in app.openapi()["paths"].items() if "get" in ops]
    paths += [r.path for r in app.routes if isinstance(r, Route) and "GET" in (r.methods or ())]
    paths += list(PAGES)
    urls = []
    for path in paths:
        if path == "/reports/{name}":
            path = "/reports/2026-10-30_alpha.html"  # written by the daily run of the fixture
        urls.append(re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path))
    return sorted(set(urls))


def _strip(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _strip(v) for k, v in body.items() if k not in PROVENANCE}
    return body


def _answer(client: TestClient, url: str) -> tuple[int, Any]:
    resp = client.get(url)
    kind = resp.headers.get("content-type", "")
    return resp.status_code, (_strip(resp.json()) if kind.startswith("application/json") else len(resp.content) > 0)


def test_every_route_answers_the_same_under_a_writer(service_home: Path, tmp_path: Path) -> None:
    home = copy_home(service_home, tmp_path / "home")
    _predictions(home)
    app = create_app(home)
    client = TestClient(app)
    urls = _urls(client, app)
    assert {"/api/sectors", "/api/predict", "/api/picks/latest", "/health", "/picks"} <= set(urls)
    assert len(urls) >= 25
    before = {u: _answer(client, u) for u in urls if u != "/health"}
    assert before["/api/predict"][0] == 200 and before["/api/sectors"][0] == 200
    assert client.get("/api/sectors").json()["store"] is True

    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(home)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        time.sleep(STORE_CACHE_S + 0.2)  # /health caches its probe for STORE_CACHE_S seconds
        assert client.get("/health").json()["store"]["status"] == "busy"
        during = {u: _answer(client, u) for u in before}
        sectors = client.get("/api/sectors").json()
        predict = client.get("/api/predict", params={"limit": 2}).json()
        never_read = client.get("/api/predict", params={"model": "m2"})
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0
    changed = {u: (before[u], during[u]) for u in before if during[u] != before[u]}
    assert changed == {}, changed
    assert sectors["store"] is True and sectors["store_status"] == "busy" and sum(
        s["stocks"] for s in sectors["sectors"]) + sectors["unmapped_stocks"] > 0
    assert predict["store_status"] == "busy" and [p["rank"] for p in predict["predictions"]] == [1, 2]
    assert predict["count"] == 3
    # an answer never read before cannot come from memory: 503 with Retry-After, not a 404 or a zero count
    assert never_read.status_code == 503 and never_read.headers["retry-after"] == "2"
    assert "being written by another process" in never_read.json()["error"]
    after = client.get("/api/sectors").json()
    assert after["store_status"] == "ok"
