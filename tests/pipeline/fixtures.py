"""Small stored markets shared by the pipeline, report and service tests (built once per test session).

The synthetic market (80 listings × 2 years, seed 11) is generated once; each helper copies a prepared
LASPS home into a fresh directory, so tests never share a home they write to. The alpha pool is kept
small (:data:`POOL`) so that a whole daily run takes a few seconds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from lasps.data.bundle import MarketBundle

POOL = "1-12,44,101,201"
MARKET = {"stocks": 80, "years": 2.0, "seed": 11}

_cache: dict[str, Any] = {}


def synthetic_bundle() -> MarketBundle:
    """The shared synthetic bundle (do not mutate: copy frames first)."""
    if "bundle" not in _cache:
        from lasps.data.sources.synthetic import generate_synthetic

        _cache["bundle"] = generate_synthetic(**MARKET)
    return _cache["bundle"]


def store_bundle(home: Path, bundle: MarketBundle) -> Path:
    """Write ``bundle`` into a new store at ``home`` (like ``lasps data init``)."""
    from lasps.data.store import MarketStore

    home.mkdir(parents=True, exist_ok=True)
    detail = json.dumps({"source": "synthetic", **MARKET, "end": "2026-10-30"}, sort_keys=True)
    with MarketStore(home) as store:
        store.write_bundle(bundle, kind="init", replace=True, detail=detail)
    return home


def copy_home(src: Path, dst: Path) -> Path:
    """A private copy of a prepared home."""
    shutil.copytree(src, dst)
    return dst


def base_home(factory: pytest.TempPathFactory) -> Path:
    """A home holding only the synthetic market (read it, or copy it before writing)."""
    if "base" not in _cache:
        _cache["base"] = store_bundle(factory.mktemp("base") / "home", synthetic_bundle())
    return _cache["base"]


def daily_home(factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A home after one `lasps daily` on its last session with :data:`POOL` (read only!)."""
    if "daily" not in _cache:
        from lasps.pipeline.daily import DailyConfig, run_daily

        home = copy_home(base_home(factory), factory.mktemp("daily") / "home")
        result = run_daily(home, DailyConfig(alphas=POOL))
        _cache["daily"] = (home, result)
    return _cache["daily"]


def service_home(factory: pytest.TempPathFactory) -> Path:
    """A copy of :func:`daily_home` with one stored backtest run (read only!)."""
    if "service" not in _cache:
        from lasps.backtest.runner import RunParams, run_backtest

        home = copy_home(daily_home(factory)[0], factory.mktemp("service") / "home")
        run_backtest(home, "voting", "1,4,44_rev", start="2026-04-01", end="2026-10-30",
                     params=RunParams(top=5, rebalance=5))
        _cache["service"] = home
    return _cache["service"]


def cli_app() -> Any:
    """A Typer app with the commands of this issue mounted as `lasps.cli.main` will mount them."""
    import typer

    from lasps.cli import daily_cmd, demo_cmd, serve_cmd

    app = typer.Typer()
    app.command("daily")(daily_cmd.daily)
    app.command("demo")(demo_cmd.demo)
    app.command("serve")(serve_cmd.serve)
    return app
