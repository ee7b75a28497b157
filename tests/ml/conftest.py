"""Fixtures of the ML tests: a small stored synthetic market and one dataset built from it (per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lasps.data.panel import Panel


@pytest.fixture(scope="session")
def ml_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LASPS home holding the synthetic market: 60 listings x 2 years (ends 2026-10-30), with flows."""
    from lasps.data.sources.synthetic import generate_synthetic
    from lasps.data.store import MarketStore

    home = tmp_path_factory.mktemp("ml_home")
    with MarketStore(home) as store:
        store.write_bundle(generate_synthetic(60, 2, 7))
    return home


@pytest.fixture(scope="session")
def ml_dataset(ml_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default dataset of ``ml_home`` (chunk size 512, so several chunks are written)."""
    from lasps.ml.builder import BuildConfig, build_dataset

    out = tmp_path_factory.mktemp("ml_ds") / "ds"
    build_dataset(out, BuildConfig(chunk_size=512), home=ml_home)
    return out


def toy_panel(T: int = 260, N: int = 3, seed: int = 0, flows: bool = True) -> Panel:
    """A random-walk ``(T, N)`` panel with OHLCV (and investor flows) on business days from 2024-01-01."""
    rng = np.random.default_rng(seed)
    close = 1000.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.01, (T, N)))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    vol = rng.integers(1000, 5000, (T, N)).astype(float)
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": vol}
    if flows:
        fields.update(foreign_net=rng.normal(0, 1e8, (T, N)), institution_net=rng.normal(0, 1e8, (T, N)),
                      individual_net=rng.normal(0, 1e8, (T, N)),
                      foreign_holding_ratio=rng.uniform(0.0, 0.5, (T, N)))
    dates = np.busday_offset(np.datetime64("2024-01-01"), np.arange(T), roll="forward")
    codes = np.array([f"{10 * (i + 1):06d}" for i in range(N)], dtype=object)
    return Panel(dates=dates, codes=codes, fields=fields)
