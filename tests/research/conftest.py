"""Helpers for the research tests: random panels with planted signals, and a small stored market."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lasps.data.bundle import MarketBundle
from lasps.data.panel import Panel
from lasps.krx.calendar import sessions


def random_panel(T: int = 300, N: int = 40, seed: int = 0, start: str = "2022-01-03",
                 signal: float = 0.0) -> tuple[Panel, np.ndarray]:
    """A ``(T, N)`` Panel of random-walk prices and an alpha ``s`` with ``signal`` predictive strength.

    ``s[t]`` (known at the close of t) shifts the log open-to-open return from ``t+1`` to ``t+2`` by
    ``signal * s[t]``, so it predicts next-open-entry forward returns.
    """
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(T, N))
    step = rng.normal(0.0, 0.02, size=(T, N))
    step[2:] += signal * 0.02 * s[:-2]
    log_open = np.cumsum(step, axis=0) + np.log(1000.0)
    open_ = np.exp(log_open)
    close = open_ * np.exp(rng.normal(0.0, 0.005, size=(T, N)))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    dates = np.busday_offset(np.datetime64(start, "D"), np.arange(T), roll="forward")
    vol = np.exp(rng.normal(10, 0.5, size=(T, N)))
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": vol, "value": vol * close,
              "market_cap": close * 1e7, "shares": np.full((T, N), 1e7),
              "change_ratio": np.full((T, N), np.nan)}
    panel = Panel(dates=dates, codes=np.array([f"{i:06d}" for i in range(N)], dtype=object), fields=fields)
    return panel, s


def market_bundle(n_stocks: int = 30, n_days: int = 500, start: str = "2022-06-01", seed: int = 1) -> MarketBundle:
    """A small raw-price market (common stocks + one ETF) with consistent change ratios (no splits)."""
    rng = np.random.default_rng(seed)
    days = sessions(start, pd.Timestamp(start) + pd.Timedelta(days=int(n_days * 1.6) + 30))[:n_days]
    T = len(days)
    codes = [f"{100000 + 10 * i:06d}" for i in range(n_stocks)] + ["069500"]
    N = len(codes)
    close = np.round(np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0)) * 10000.0)
    open_ = np.round(close * np.exp(rng.normal(0, 0.004, (T, N))))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    vol = np.round(np.exp(rng.normal(10, 0.5, (T, N))))
    cr = np.zeros((T, N))
    cr[1:] = close[1:] / close[:-1] - 1.0
    rows = pd.DataFrame({
        "code": np.repeat(np.array(codes, dtype=object)[None, :], T, axis=0).ravel(),
        "date": np.repeat(pd.to_datetime(days).to_numpy(), N),
        "open": open_.ravel(), "high": high.ravel(), "low": low.ravel(), "close": close.ravel(),
        "volume": vol.ravel(), "value": (vol * close).ravel(), "market_cap": (close * 1e7).ravel(),
        "shares": np.full(T * N, 1e7), "change_ratio": cr.ravel(),
    })
    stocks = pd.DataFrame({
        "code": codes,
        "name": [f"종목{i}" for i in range(n_stocks)] + ["KODEX 200"],
        "market": ["KOSPI" if i % 2 else "KOSDAQ" for i in range(n_stocks)] + ["KOSPI"],
        "kind": ["stock"] * n_stocks + ["etf"],
        "sector_code": ["1013" if i % 2 else "2024" for i in range(n_stocks)] + [None],
        "sector_name": ["전기전자" if i % 2 else "제조" for i in range(n_stocks)] + [None],
        "sector_id": [0 if i % 2 else 11 for i in range(n_stocks)] + [None],
        "listed_date": [None] * N, "delisted_date": [None] * N, "price_basis": ["raw"] * N,
    })
    idx = pd.DataFrame({"index_code": "1001", "date": pd.to_datetime(days), "open": 2500.0, "high": 2510.0,
                        "low": 2490.0, "close": 2500.0 + np.arange(T), "volume": 1e8, "value": 1e12})
    return MarketBundle(source="test", stocks=stocks, prices=rows, index=idx)


def store_market(home: Path, bundle: MarketBundle, alphas: dict[str, object] | None = None) -> Panel:
    """Write ``bundle`` to ``home`` and store ``alphas`` (name -> callable(panel) -> (T, N))."""
    from lasps.alpha.store import write_alpha
    from lasps.data.panel_loader import load_panel
    from lasps.data.store import MarketStore

    with MarketStore(home) as store:
        store.write_bundle(bundle, kind="init", replace=True)
    panel = load_panel(home=home)
    for name, fn in (alphas or {}).items():
        write_alpha(home, name, fn(panel), panel, {"name": name, "test": True})  # type: ignore[operator]
    return panel


def peek_alpha(panel: Panel, noise: float = 1.0, seed: int = 0) -> np.ndarray:
    """An alpha that 'knows' the next-open 5-day forward return plus noise (tests the evaluator only)."""
    from lasps.research.forward import panel_forward_returns

    f = panel_forward_returns(panel, 5, "open").values
    rng = np.random.default_rng(seed)
    return f + noise * np.nanstd(f) * rng.normal(size=f.shape)


def noise_alpha(panel: Panel, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=panel.shape)


@pytest.fixture(scope="module")
def stored_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stored market 2022-06 … 2024-06 (fixed splits all populated) with three stored alphas."""
    h = tmp_path_factory.mktemp("stored") / "home"
    h.mkdir()
    store_market(h, market_bundle(), {
        "alpha_001": lambda p: peek_alpha(p, noise=3.0, seed=1),
        "alpha_002": lambda p: noise_alpha(p, seed=2),
        "alpha_003": lambda p: noise_alpha(p, seed=3),
    })
    return h
