"""The token-protected order router, through FastAPI's TestClient."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # starlette >= 1.x prefers httpx2 for its test client; httpx works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from lasps.broker.api import make_router, router
from lasps.broker.guard import Guard
from lasps.broker.journal import Journal
from lasps.broker.manager import OrderManager
from lasps.broker.paper import PaperBroker

from .clocks import ManualClock
from .helpers import TODAY, kst, memory_prices

TOKEN = "s3cret-api-token-0123456789"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    prices = memory_prices()

    def factory(broker: str | None) -> OrderManager:
        clock = ManualClock(kst(TODAY, 10))
        pb = PaperBroker(tmp_path / "paper.sqlite", prices, clock)
        return OrderManager(pb, Journal(tmp_path / "journal.sqlite"), Guard(clock, prices, 1e8), clock=clock)

    app = FastAPI()
    app.include_router(make_router(factory, token=lambda: TOKEN))
    return TestClient(app)


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(("method", "path"), [("get", "/orders"), ("post", "/orders"), ("delete", "/orders/x"),
                                              ("post", "/orders/cancel-all"), ("post", "/orders/reconcile"),
                                              ("get", "/orders/positions")])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": TOKEN}])
def test_every_endpoint_needs_the_token(client: TestClient, method: str, path: str, headers: dict[str, str]) -> None:
    kw = {"json": {"code": "005380", "side": "buy", "qty": 1, "price": 250000}} if method == "post" else {}
    res = client.request(method.upper(), path, headers=headers, **kw)
    assert res.status_code == 401 and res.headers["www-authenticate"] == "Bearer"


def test_orders_through_the_api(client: TestClient, tmp_path: Path) -> None:
    res = client.post("/orders", headers=AUTH, json={"code": "005380", "side": "buy", "qty": 10, "price": 250000,
                                                     "client_order_id": "api-1"})
    assert res.status_code == 200, res.text
    assert res.json()["order"]["state"] == "ACKNOWLEDGED"
    bad = client.post("/orders", headers=AUTH, json={"code": "005380", "side": "buy", "qty": 10.5, "price": 250000,
                                                     "client_order_id": "api-2"})
    assert bad.status_code == 422 and "whole number" in bad.json()["error"]
    assert bad.json()["order"]["state"] == "REJECTED"
    again = client.post("/orders", headers=AUTH, json={"code": "005380", "side": "buy", "qty": 9, "price": 250000,
                                                       "client_order_id": "api-1"})
    assert again.status_code == 409
    listed = client.get("/orders", headers=AUTH).json()["orders"]
    assert [o["client_order_id"] for o in listed] == ["api-1", "api-2"]
    assert client.delete("/orders/nope", headers=AUTH).status_code == 404
    assert client.delete("/orders/api-1", headers=AUTH).json()["order"]["state"] == "CANCELLED"
    assert client.delete("/orders/api-1", headers=AUTH).status_code == 409
    assert client.post("/orders/cancel-all", headers=AUTH).json() == {"cancelled": [], "errors": []}
    pos = client.get("/orders/positions", headers=AUTH).json()
    assert pos == {"broker": "paper", "positions": [], "cash": 100_000_000.0}
    assert client.post("/orders/reconcile", headers=AUTH).json()["error"] is None


def test_default_router_uses_lasps_api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    app = FastAPI()
    app.include_router(router)
    c = TestClient(app)
    assert c.get("/orders", headers=AUTH).status_code == 503  # no token configured: API disabled
    monkeypatch.setenv("LASPS_API_TOKEN", TOKEN)
    assert c.get("/orders").status_code == 401
    assert c.get("/orders", headers={"Authorization": "Bearer nope"}).status_code == 401
