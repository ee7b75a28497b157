"""The JSON API: every endpoint, its 404/422 errors, the OpenAPI spec and the token-protected orders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lasps.service.app import create_app


@pytest.fixture(scope="module")
def client(service_home: Path) -> TestClient:
    return TestClient(create_app(service_home))


def _err(resp: Any, status: int, text: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == status and text in body["error"], body


def test_health(client: TestClient, service_home: Path) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["home"] == str(service_home)
    assert body["store"]["status"] == "ok" and body["store"]["last_date"] == "2026-10-30"
    assert body["latest_picks"] == "2026-10-30" and body["latest_backtest"]


def test_alphas(client: TestClient) -> None:
    body = client.get("/api/alphas").json()
    assert body["count"] == 106 and body["alphas"][0]["name"] == "alpha_001"
    assert client.get("/api/alphas?kind=custom").json()["count"] == 5
    assert client.get("/api/alphas/44").json()["name"] == "alpha_044"
    _err(client.get("/api/alphas/alpha_999"), 404, "unknown alpha")
    _err(client.get("/api/alphas?kind=magic"), 422, "kind")


def test_picks(client: TestClient, daily_run: tuple[Path, Any]) -> None:
    body = client.get("/api/picks/latest").json()
    assert body["date"] == "2026-10-30"
    assert [p["code"] for p in body["picks"]] == list(daily_run[1].picks["code"])
    assert len(body["variants"]) == 10 and body["selection"][0]["rank"] == 1
    assert set(body["contributions"]) == {p["code"] for p in body["picks"]}
    assert body["report"]["html"] == "/reports/2026-10-30_alpha.html"
    assert client.get("/api/picks/2026-10-30").json()["date"] == "2026-10-30"
    _err(client.get("/api/picks/2026-10-29"), 404, "no picks for 2026-10-29; dates with picks: 2026-10-30")
    _err(client.get("/api/picks/2026-02-30"), 422, "invalid date '2026-02-30'")
    _err(client.get("/api/picks/yesterday"), 422, "date")


def test_pipeline_state(client: TestClient) -> None:
    runs = client.get("/api/pipeline").json()
    assert runs["latest"] == "2026-10-30" and runs["runs"][0]["steps"]["report"] == "done"
    assert client.get("/api/pipeline/2026-10-30").json()["steps"]["evaluate"]["status"] == "done"
    _err(client.get("/api/pipeline/2020-01-02"), 404, "no daily run")


def test_rankings(client: TestClient) -> None:
    body = client.get("/api/rankings", params={"split": "all", "by": "ic_ir", "top": 5}).json()
    assert body["n_variants"] == 30 and len(body["rows"]) == 5
    irs = [r["ic_ir"] for r in body["rows"]]
    assert irs == sorted(irs, reverse=True)
    rev = client.get("/api/rankings", params={"variant": "_rev", "top": 100}).json()
    assert rev["rows"] and all(r["variant"].endswith("_rev") for r in rev["rows"])
    _err(client.get("/api/rankings?split=future"), 422, "split")
    _err(client.get("/api/rankings?by=magic"), 422, "by")
    _err(client.get("/api/rankings?top=0"), 422, "top")


def test_backtests(client: TestClient) -> None:
    body = client.get("/api/backtests").json()
    assert body["count"] == 1 and body["latest"] == body["runs"][0]["run_id"]
    run_id = body["latest"]
    summary = client.get(f"/api/backtests/{run_id}").json()
    assert summary["strategy"] == "voting" and "sharpe" in summary
    daily = client.get(f"/api/backtests/{run_id}/daily").json()["rows"]
    assert daily and {"date", "total_value", "benchmark"} <= set(daily[0])
    _err(client.get("/api/backtests/nope"), 404, "no backtest run 'nope'")
    _err(client.get("/api/backtests/..%2F..%2Fetc"), 404, "no")


def test_reports(client: TestClient) -> None:
    body = client.get("/api/reports").json()
    assert body["reports"][0]["html_url"] == "/reports/2026-10-30_alpha.html"
    html = client.get("/reports/2026-10-30_alpha.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    md = client.get("/reports/2026-10-30_alpha.md")
    assert md.status_code == 200 and md.text.startswith("# LASPS daily alpha report")
    _err(client.get("/reports/2026-10-29_alpha.md"), 404, "no report")
    _err(client.get("/reports/lasps.duckdb"), 404, "no report")


def test_unknown_path_and_openapi(client: TestClient) -> None:
    _err(client.get("/api/nothing"), 404, "no such page or endpoint")
    page = client.get("/nothing", headers={"accept": "text/html"})
    assert page.status_code == 404 and "<html" in page.text
    spec = client.get("/openapi.json").json()
    for path in ("/health", "/api/picks/latest", "/api/rankings", "/api/backtests", "/api/reports",
                 "/api/orders", "/api/orders/positions"):
        assert path in spec["paths"], path


def test_orders_need_the_bearer_token(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LASPS_API_TOKEN", raising=False)
    _err(client.get("/api/orders"), 503, "order API disabled")
    monkeypatch.setenv("LASPS_API_TOKEN", "s3cret-token")
    monkeypatch.setenv("LASPS_CLOCK", "2026-11-02T10:00:00+09:00")
    _err(client.get("/api/orders"), 401, "missing or invalid bearer token")
    _err(client.get("/api/orders", headers={"Authorization": "Bearer wrong"}), 401, "invalid bearer token")
    ok = client.get("/api/orders/positions", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and ok.json()["broker"] == "paper"


def test_ml_endpoints_are_mounted(client: TestClient) -> None:
    sectors = client.get("/api/sectors")
    assert sectors.status_code == 200
    body = sectors.json()
    items = body if isinstance(body, list) else body.get("sectors", [])
    assert len(items) == 13
    missing = client.get("/api/predict", params={"date": "2024-01-02"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")
