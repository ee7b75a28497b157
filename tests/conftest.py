"""Shared fixtures: tiny hand-made markets, temporary LASPS homes, the real-sample location."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings

from lasps.data.bundle import MarketBundle
from lasps.krx.calendar import sessions

# CI runs derandomised property tests, so a red build is reproducible; locally they explore freely.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REAL_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "krx-2018-2021"


def make_bundle(n_days: int = 80, start: str = "2024-01-02", split_day: int | None = 40,
                split_ratio: float = 0.5) -> MarketBundle:
    """Three common stocks + one ETF over ``n_days`` sessions with hand-checkable prices.

    ``A00000``-style codes are avoided: codes are '005930' (KOSPI 전기전자), '035420' (KOSPI IT 서비스),
    '091990' (KOSDAQ 제조), and the ETF '069500' (KODEX 200). Stock 005930 closes at 1000 + 10·t
    (raw); if ``split_day`` is given, a 1:2 split on that day halves the raw price from then on, and the
    exchange's change ratio is computed against the adjusted base (so the store can derive it).
    """
    days = sessions(start, pd.Timestamp(start) + pd.Timedelta(days=n_days * 2))[:n_days]
    rows = []
    for code, base in (("005930", 1000.0), ("035420", 2000.0), ("091990", 500.0), ("069500", 30000.0)):
        prev_raw = None
        for t, d in enumerate(days):
            adj_close = base + 10.0 * t
            raw = adj_close
            if code == "005930" and split_day is not None and t >= split_day:
                raw = adj_close * split_ratio
            if prev_raw is None:
                cr = 0.0
            elif code == "005930" and t == split_day:
                cr = raw / (prev_raw * split_ratio) - 1.0
            else:
                cr = raw / prev_raw - 1.0
            rows.append((code, d, raw, raw * 1.01, raw * 0.99, raw, 1000.0 + t, raw * (1000.0 + t),
                         raw * 1e6, 1e6, cr))
            prev_raw = raw
    prices = pd.DataFrame(rows, columns=["code", "date", "open", "high", "low", "close", "volume", "value",
                                         "market_cap", "shares", "change_ratio"])
    prices["date"] = pd.to_datetime(prices["date"])
    stocks = pd.DataFrame({
        "code": ["005930", "035420", "091990", "069500"],
        "name": ["삼성전자", "NAVER", "테스트제조", "KODEX 200"],
        "market": ["KOSPI", "KOSPI", "KOSDAQ", "KOSPI"],
        "kind": ["stock", "stock", "stock", "etf"],
        "sector_code": ["1013", "1046", "2024", None],
        "sector_name": ["전기전자", "IT 서비스", "제조", None],
        "sector_id": [0, 2, 11, None],
        "listed_date": [None] * 4,
        "delisted_date": [None] * 4,
        "price_basis": ["raw"] * 4,
    })
    idx = pd.DataFrame({"index_code": "1001", "date": pd.to_datetime(days), "open": 2500.0, "high": 2510.0,
                        "low": 2490.0, "close": 2500.0 + np.arange(n_days), "volume": 1e8, "value": 1e12})
    return MarketBundle(source="test", stocks=stocks, prices=prices, index=idx)


@pytest.fixture
def tiny_bundle() -> MarketBundle:
    return make_bundle()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


# -- stored synthetic markets shared by the pipeline, report and service tests (built once per session)
@pytest.fixture(scope="session")
def base_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.pipeline import fixtures

    return fixtures.base_home(tmp_path_factory)


@pytest.fixture(scope="session")
def daily_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from tests.pipeline import fixtures

    return fixtures.daily_home(tmp_path_factory)


@pytest.fixture
def fresh_home(base_home: Path, tmp_path: Path) -> Path:
    """A private copy of the stored synthetic market."""
    from tests.pipeline import fixtures

    return fixtures.copy_home(base_home, tmp_path / "home")


@pytest.fixture(scope="session")
def real_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real krx-2018-2021 sample imported once per test session (skips when the sample is absent)."""
    if not (REAL_SAMPLE / "prices.parquet").is_file():
        pytest.skip(f"real sample not present at {REAL_SAMPLE}")
    from lasps.data.sources.files import read_import
    from lasps.data.store import MarketStore
    from lasps.data.validate import validate_bundle

    home = tmp_path_factory.mktemp("real_sample") / "home"
    home.mkdir()
    bundle = validate_bundle(read_import(REAL_SAMPLE).bundle, str(REAL_SAMPLE))
    with MarketStore(home) as store:
        store.write_bundle(bundle, kind="import", detail=str(REAL_SAMPLE))
    return home
