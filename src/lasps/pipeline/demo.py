"""``lasps demo``: the whole loop on the built-in synthetic KRX market, offline, in a fresh home.

1. build the synthetic market (default 500 listings × 4 years, seed 7) into ``lasps_home/demo``;
2. run ``lasps daily`` on its last session (all 106 alphas computed and stored, evaluated in both
   directions, top 10 variants by trailing IC_IR, 5 voted picks, Markdown + HTML report, paper orders
   queued for the next session's opening auction);
3. run the work log's experiment with the backtester (``lasps backtest oos``): choose the top 10 variants
   on the year before the last ~200 sessions and trade them with KRX costs in sample and out of sample.

The synthetic market plants effects that switch sign between regimes (A on the first 40 % of sessions,
B on 40–60 %, A on 60–80 %, B on the last 20 %), so the variants chosen on the selection year (mostly A)
meet regime B in the traded period: the in-sample winners fail out of sample, as in the work log.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lasps.backtest.runner import RunParams, run_oos
from lasps.broker.clock import FixedClock
from lasps.errors import ConfigError
from lasps.krx.calendar import sessions
from lasps.krx.sessions import session_times
from lasps.pipeline.daily import DailyConfig, run_daily, stored_dates
from lasps.workspace import Workspace

MARKER = ".lasps-demo"

#: ``progress(stage, message)``: stage is ``market``, ``daily``, ``backtest`` or ``done``.
Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class DemoConfig:
    """Parameters of the demo (see the module docstring); ``alphas`` restricts the alpha pool (default all)."""

    home: Path = Path("lasps_home/demo")
    stocks: int = 500
    years: float = 4.0
    seed: int = 7
    top_k: int = 10
    picks: int = 5
    orders: bool = True
    trade_sessions: int = 200
    select_sessions: int = 250
    alphas: str | None = None

    def validate(self) -> None:
        if not 50 <= self.stocks <= 4000:
            raise ConfigError(f"--stocks must be in 50..4000, got {self.stocks}", where="--stocks")
        if not 2 <= self.years <= 12:
            raise ConfigError(f"--years must be in 2..12, got {self.years}", where="--years",
                              fix="the walk-forward needs 2+ years; 4 shows the planted regime switch")


@dataclass
class DemoResult:
    """What the demo produced."""

    home: Path
    timings: dict[str, float]
    listings: int
    price_rows: int
    first: str
    last: str
    daily: Any
    oos: Any
    oos_periods: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def prepare_home(home: Path) -> None:
    """Empty ``home`` if it is a previous demo home (it holds the marker file); refuse anything else."""
    home = Path(home)
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).is_file():
            raise ConfigError(f"{home} exists and is not a demo home (no {MARKER} file); the demo builds a fresh "
                              "market and would overwrite it", where="--home",
                              fix="choose another --home, e.g. lasps_home/demo, or empty that directory")
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by `lasps demo`; the whole directory is rebuilt on the next demo\n",
                               encoding="utf-8")


def build_market(ws: Workspace, stocks: int, years: float, seed: int) -> tuple[int, int]:
    """Generate the synthetic market and store it (as ``lasps data init --source synthetic`` does)."""
    from lasps.data.sources.synthetic import generate_synthetic

    end = "2026-10-30"
    args = json.dumps({"source": "synthetic", "stocks": stocks, "years": years, "seed": seed, "end": end},
                      sort_keys=True)
    bundle = generate_synthetic(stocks=stocks, years=years, seed=seed, end=end)
    with ws.store(write=True) as store:
        n = store.write_bundle(bundle, kind="init", replace=True, detail=args)
    return len(bundle.stocks), n


def next_open_clock(day: dt.date) -> Any:
    """A fixed clock at 08:31 KST of the session after ``day`` (paper orders queued for its opening auction)."""
    nxt = sessions(pd.Timestamp(day) + pd.Timedelta(days=1), pd.Timestamp(day) + pd.Timedelta(days=20))[0]
    return FixedClock(session_times(pd.Timestamp(nxt).date()).pre_open + dt.timedelta(minutes=1))


def run_demo(config: DemoConfig | None = None, progress: Progress | None = None,
             daily_progress: Callable[[str, str, str], None] | None = None) -> DemoResult:
    """Run the demo (see the module docstring); every output goes under ``config.home``."""
    cfg = config or DemoConfig()
    cfg.validate()
    home = Path(cfg.home)
    t_all = time.perf_counter()
    timings: dict[str, float] = {}

    def say(stage: str, msg: str) -> None:
        if progress is not None:
            progress(stage, msg)

    prepare_home(home)
    t0 = time.perf_counter()
    say("market", f"generating {cfg.stocks} listings × {cfg.years:g} years (seed {cfg.seed})")
    ws = Workspace.open(home)
    listings, rows = build_market(ws, cfg.stocks, cfg.years, cfg.seed)
    timings["market"] = time.perf_counter() - t0
    dates = stored_dates(ws)
    last = pd.Timestamp(dates[-1]).date()

    t0 = time.perf_counter()
    say("daily", f"lasps daily --date {last} --top-k {cfg.top_k} --picks {cfg.picks}"
                 + (" --orders paper" if cfg.orders else ""))
    daily = run_daily(ws, DailyConfig(date=last.isoformat(), top_k=cfg.top_k, picks=cfg.picks,
                                        orders="paper" if cfg.orders else None, alphas=cfg.alphas),
                      clock=next_open_clock(last) if cfg.orders else None, progress=daily_progress)
    timings["daily"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    n = len(dates)
    trade_start = dates[max(0, n - cfg.trade_sessions)]
    sel_end = dates[max(0, n - cfg.trade_sessions - 1)]
    sel_start = dates[max(0, n - cfg.trade_sessions - cfg.select_sessions)]
    periods = {"select": f"{sel_start} … {sel_end}", "trade": f"{trade_start} … {dates[-1]}"}
    say("backtest", f"lasps backtest oos --select {periods['select']} --trade {periods['trade']} (voting, top "
                    f"{cfg.top_k} variants, {cfg.picks} names, KRX costs)")
    oos = run_oos(home, str(sel_start), str(sel_end), str(trade_start), str(dates[-1]), strategy="voting",
                  n_alphas=cfg.top_k, params=RunParams(top=cfg.picks, rebalance=5, pool=cfg.alphas or "stored"))
    timings["backtest"] = time.perf_counter() - t0
    say("done", "")
    return DemoResult(home=home, timings=timings, listings=listings, price_rows=rows, first=str(dates[0]),
                      last=str(dates[-1]), daily=daily, oos=oos, oos_periods=periods,
                      seconds=time.perf_counter() - t_all)


def oos_rows(oos: Any) -> list[dict[str, Any]]:
    """In-sample / out-of-sample / KOSPI rows of an :class:`~lasps.backtest.runner.OOSOutput`."""
    rows = []
    for label, run in (("in sample (selection year)", oos.in_sample), ("out of sample (next period)",
                                                                       oos.out_of_sample)):
        m = run.metrics
        p = run.summary["parameters"]
        rows.append({"label": label, "span": f"{p['start']} … {p['end']}", **{k: m.get(k) for k in (
            "total_return", "annual_return", "sharpe", "max_drawdown", "excess_return")},
            "benchmark_return": m.get("benchmark_return")})
    return rows


__all__ = ["MARKER", "DemoConfig", "DemoResult", "build_market", "next_open_clock", "oos_rows", "prepare_home",
           "run_demo"]
