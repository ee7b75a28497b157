"""Fixtures for the backtest tests: a small random KRX-like market stored in a temporary LASPS home."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lasps.data.bundle import MarketBundle
from lasps.krx.calendar import sessions
from lasps.krx.rules import price_limits, round_to_tick

DELISTED_CODE = "000120"
HALTED_CODE = "000130"


def make_market_bundle(n_stocks: int = 14, n_days: int = 260, start: str = "2023-01-02",
                       seed: int = 0) -> MarketBundle:
    """``n_stocks`` common stocks (half KOSPI, half KOSDAQ) over ``n_days`` sessions.

    Random-walk closes on the tick grid inside the daily limits; opens near the previous close; one
    stock (:data:`DELISTED_CODE`) is delisted two thirds of the way through, one (:data:`HALTED_CODE`)
    is halted (no rows) for 5 sessions in the middle; KOSPI index 1001 is their mean.
    """
    rng = np.random.default_rng(seed)
    days = sessions(start, pd.Timestamp(start) + pd.Timedelta(days=int(n_days * 1.6) + 30))[:n_days]
    codes = [f"{100 + 10 * i:06d}" for i in range(n_stocks)]
    markets = ["KOSPI" if i % 2 == 0 else "KOSDAQ" for i in range(n_stocks)]
    rows = []
    closes = np.full((n_days, n_stocks), np.nan)
    delist_at = int(n_days * 2 / 3)
    for j, code in enumerate(codes):
        px = float(round_to_tick(rng.uniform(3_000, 60_000), days[0], markets[j]))
        for t, d in enumerate(days):
            if code == DELISTED_CODE and t > delist_at:
                break
            if code == HALTED_CODE and n_days // 2 <= t < n_days // 2 + 5:
                continue
            lo, hi = price_limits(px, d, markets[j])
            close = float(np.clip(round_to_tick(px * np.exp(rng.normal(0.0005, 0.025)), d, markets[j], "nearest"),
                                  lo, hi))
            opn = float(np.clip(round_to_tick(px * np.exp(rng.normal(0, 0.01)), d, markets[j], "nearest"), lo, hi))
            high = max(opn, close) * 1.01
            low = min(opn, close) * 0.99
            vol = float(rng.integers(1_000, 100_000))
            rows.append((code, d, opn, high, low, close, vol, vol * (opn + close) / 2, close * 1e7, 1e7,
                         close / px - 1.0))
            closes[t, j] = close
            px = close
    prices = pd.DataFrame(rows, columns=["code", "date", "open", "high", "low", "close", "volume", "value",
                                         "market_cap", "shares", "change_ratio"])
    prices["date"] = pd.to_datetime(prices["date"])
    stocks = pd.DataFrame({
        "code": codes, "name": [f"테스트{i}" for i in range(n_stocks)], "market": markets,
        "kind": ["stock"] * n_stocks, "sector_code": ["1013"] * n_stocks, "sector_name": ["전기전자"] * n_stocks,
        "sector_id": [0] * n_stocks, "listed_date": [None] * n_stocks,
        "delisted_date": [pd.Timestamp(days[delist_at + 1]) if c == DELISTED_CODE else None for c in codes],
        "price_basis": ["raw"] * n_stocks,
    })
    level = 2500.0 * np.nanmean(closes / closes[0], axis=1)
    idx = pd.DataFrame({"index_code": "1001", "date": pd.to_datetime(days), "open": level, "high": level,
                        "low": level, "close": level, "volume": 1e8, "value": 1e12})
    return MarketBundle(source="test", stocks=stocks, prices=prices, index=idx)


@pytest.fixture(scope="session")
def market_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LASPS home with :func:`make_market_bundle` stored (shared by the CLI tests; do not modify)."""
    from lasps.data.store import MarketStore

    home = tmp_path_factory.mktemp("bt") / "home"
    home.mkdir()
    with MarketStore(home) as store:
        store.write_bundle(make_market_bundle(), kind="init", replace=True)
    return home
