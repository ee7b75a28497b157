"""Fixtures of the mining tests: small stored synthetic markets (default, null, strong) built once."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numba
import pytest

from lasps.data.sources.synthetic import SyntheticConfig, config_for_signals, generate_synthetic
from lasps.data.store import MarketStore
from lasps.research.mining.run import mine, plan_mine
from lasps.research.mining.search import SearchConfig

MARKET = {"stocks": 150, "years": 3.0}
CFG = SearchConfig(trials=200, seed=1)  # = `lasps alpha mine --trials 200 --seed 1`


@pytest.fixture(autouse=True)
def one_numba_thread():
    """The tiny test panels are dominated by thread start-up on a shared 2-core machine."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def build_home(path: Path, seed: int, config: SyntheticConfig | None = None, **market: float) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    with MarketStore(path) as store:
        store.write_bundle(generate_synthetic(seed=seed, config=config, **{**MARKET, **market}), kind="init")
    return path


@pytest.fixture(scope="session")
def default_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_home(tmp_path_factory.mktemp("mine") / "default", seed=3)


@pytest.fixture(scope="session")
def strong_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A market whose low-volatility effect is planted strongly in both regimes (a positive control)."""
    cfg = replace(config_for_signals("none"), lowvol_strength=(0.1, 0.1))
    return build_home(tmp_path_factory.mktemp("mine") / "strong", seed=4, config=cfg)


@pytest.fixture(scope="session")
def default_run(default_home: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One uninterrupted run with :data:`CFG` on the default market (shared by several tests)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return mine(plan_mine(default_home, CFG))
    finally:
        numba.set_num_threads(before)


def copy_home(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
