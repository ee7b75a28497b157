"""`lasps daily` end to end on a small synthetic market: outputs, idempotence, resume, honesty, orders."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lasps.data.bundle import MarketBundle
from lasps.data.store import MarketStore
from lasps.errors import LaspsError
from lasps.krx.calendar import KST
from lasps.pipeline import outputs as out
from lasps.pipeline.daily import STEPS, DailyConfig, orders_clock, run_daily, vote
from tests import crashpoints
from tests.pipeline.fixtures import POOL, copy_home, store_bundle, synthetic_bundle


def _steps(home: Path, day: str) -> dict[str, dict[str, Any]]:
    return json.loads((out.run_dir(home, day) / "state.json").read_text())["steps"]


def test_daily_writes_every_output(daily_run: tuple[Path, Any]) -> None:
    home, result = daily_run
    day = result.date.isoformat()
    assert day == "2026-10-30"  # the last stored session of the synthetic market
    steps = _steps(home, day)
    assert [s for s in STEPS if steps[s]["status"] == "done"] == ["compute", "evaluate", "select", "picks", "report"]
    assert steps["update"]["status"] == "skipped"  # synthetic = offline
    assert steps["orders"]["status"] == "skipped"
    d = out.run_dir(home, day)
    for name in ("evaluation.json", "rank_window.csv", "ic_daily.parquet", "wf_summary.csv", "wf_periods.csv",
                 "correlation.csv", "signals.parquet", "selection.json", "picks.csv", "picks.json", "daily.log"):
        assert (d / name).is_file(), name
    assert out.latest_date(home) == day
    # picks: 5 codes from the universe on the date, each nominated by >= 1 selected variant
    picks = result.picks
    assert len(picks) == 5 and picks["code"].is_unique
    signals = pd.read_parquet(d / "signals.parquet").set_index("code")
    assert signals.loc[picks["code"], "in_universe"].all()
    assert (picks["votes"] >= 1).all() and list(picks["rank"]) == [1, 2, 3, 4, 5]
    assert picks["votes"].is_monotonic_decreasing
    variants = [s["variant"] for s in result.selection]
    assert len(variants) == 10 and len(set(variants)) == 10
    assert all(set(n.split(",")) <= set(variants) for n in picks["nominated_by"])
    # research files and DuckDB rows for other tools
    rank = pd.read_csv(home / "research" / "rank_latest.csv")
    assert rank["variant"].nunique() == 2 * json.loads((d / "evaluation.json").read_text())["n_alphas"]
    with MarketStore(home, read_only=True) as store:
        rows = store.query_df("SELECT * FROM picks WHERE date = ?", [result.date])
    assert list(rows.sort_values("rank")["code"]) == list(picks["code"])
    md, html = out.report_paths(home, day)
    assert md.is_file() and html.is_file()


def test_selection_uses_the_research_choice(daily_run: tuple[Path, Any]) -> None:
    """The select step equals lasps.research.walkforward.choose on the same window (ties by variant order)."""
    from lasps.data.panel_loader import load_panel
    from lasps.research.evaluate import EvalConfig, evaluate
    from lasps.research.io import iter_stored_alphas
    from lasps.research.walkforward import WalkForwardConfig, choose, scores_on_rows

    home, result = daily_run
    ev_meta = json.loads((out.run_dir(home, result.date) / "evaluation.json").read_text())
    panel = load_panel(start=ev_meta["panel_first"], end=result.date, home=home)
    names = sorted({s["alpha"] for s in result.selection} | {"alpha_001", "alpha_002", "alpha_003"})
    ev = evaluate(panel, iter_stored_alphas(home, panel, names), EvalConfig())
    T = len(panel.dates)
    hi = T - 1 - ev.fwd.lag
    rows = np.zeros(T, dtype=bool)
    rows[hi - 251:hi + 1] = True
    sc, n = scores_on_rows(ev, rows, "ic_ir")
    chosen = [ev.variants[i] for i in choose(ev, sc, n, 10, WalkForwardConfig().min_known())]
    assert chosen == [s["variant"] for s in result.selection]


def test_second_run_skips_every_step(daily_run: tuple[Path, Any], tmp_path: Path) -> None:
    home = copy_home(daily_run[0], tmp_path / "home")
    before = _steps(home, "2026-10-30")
    again = run_daily(home, DailyConfig(alphas=POOL))
    after = _steps(home, "2026-10-30")
    for s in STEPS:
        assert after[s]["finished"] == before[s]["finished"], s  # nothing re-ran
    pd.testing.assert_frame_equal(again.picks, daily_run[1].picks)


def test_changed_parameter_reruns_later_steps_only(daily_run: tuple[Path, Any], tmp_path: Path) -> None:
    home = copy_home(daily_run[0], tmp_path / "home")
    before = _steps(home, "2026-10-30")
    res = run_daily(home, DailyConfig(alphas=POOL, picks=3))
    after = _steps(home, "2026-10-30")
    assert after["evaluate"]["finished"] == before["evaluate"]["finished"]
    assert after["select"]["finished"] == before["select"]["finished"]
    assert after["picks"]["attempts"] == 2 and after["report"]["attempts"] == 2
    assert len(res.picks) == 3


def test_resume_after_sigkill(daily_run: tuple[Path, Any], fresh_home: Path) -> None:
    """A run killed right after `evaluate` resumes at `select` and ends with the same picks."""
    env = dict(os.environ, LASPS_HOME=str(fresh_home))
    proc = subprocess.run(crashpoints.command("daily-after:evaluate", "lasps.cli.daily_cmd", "--alphas", POOL,
                                              "--quiet"), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    steps = _steps(fresh_home, "2026-10-30")
    assert steps["evaluate"]["status"] == "done" and steps["select"]["status"] == "pending"
    assert not (out.run_dir(fresh_home, "2026-10-30") / "picks.csv").exists()
    evaluated_at = steps["evaluate"]["finished"]
    result = run_daily(fresh_home, DailyConfig(alphas=POOL))
    steps = _steps(fresh_home, "2026-10-30")
    assert steps["evaluate"]["finished"] == evaluated_at  # not evaluated again
    assert all(steps[s]["status"] in ("done", "skipped") for s in STEPS)
    pd.testing.assert_frame_equal(result.picks, daily_run[1].picks)


def test_a_running_step_left_by_a_dead_process_is_rerun(daily_run: tuple[Path, Any], tmp_path: Path) -> None:
    home = copy_home(daily_run[0], tmp_path / "home")
    state = out.run_dir(home, "2026-10-30") / "state.json"
    doc = json.loads(state.read_text())
    doc["steps"]["report"]["status"] = "running"
    state.write_text(json.dumps(doc))
    (out.run_dir(home, "2026-10-30") / ".lock").write_text("999999999@" + os.uname().nodename)  # a dead owner
    md = out.report_paths(home, "2026-10-30")[0]
    md.unlink()
    run_daily(home, DailyConfig(alphas=POOL))
    assert md.is_file() and _steps(home, "2026-10-30")["report"]["status"] == "done"


def _truncate(bundle: MarketBundle, last: str) -> MarketBundle:
    cut = pd.Timestamp(last)
    return MarketBundle(source=bundle.source, stocks=bundle.stocks.copy(),
                        prices=bundle.prices[bundle.prices["date"] <= cut].copy(),
                        index=bundle.index[pd.to_datetime(bundle.index["date"]) <= cut].copy(),
                        flows=bundle.flows[pd.to_datetime(bundle.flows["date"]) <= cut].copy(),
                        unavailable=dict(bundle.unavailable))


def test_no_look_ahead_prices_after_the_date_change_nothing(base_home: Path, tmp_path: Path) -> None:
    """Picks and selection for D are the same whether or not the store holds the sessions after D."""
    day = "2026-08-31"
    full = copy_home(base_home, tmp_path / "full")
    cut = store_bundle(tmp_path / "cut", _truncate(synthetic_bundle(), day))
    cfg = DailyConfig(date=day, alphas="1,4,12,44,101")
    a = run_daily(full, cfg)
    b = run_daily(cut, cfg)
    assert [s["variant"] for s in a.selection] == [s["variant"] for s in b.selection]
    pd.testing.assert_frame_equal(a.picks, b.picks)
    sa = pd.read_parquet(out.run_dir(full, day) / "signals.parquet")
    sb = pd.read_parquet(out.run_dir(cut, day) / "signals.parquet")
    pd.testing.assert_frame_equal(sa, sb)


def test_dry_run_writes_nothing(fresh_home: Path) -> None:
    before = sorted(p.relative_to(fresh_home) for p in fresh_home.rglob("*"))
    mtime = (fresh_home / "lasps.duckdb").stat().st_mtime_ns
    res = run_daily(fresh_home, DailyConfig(alphas="1,4,44", dry_run=True, top_k=4, picks=3, orders="paper"))
    assert sorted(p.relative_to(fresh_home) for p in fresh_home.rglob("*")) == before
    assert (fresh_home / "lasps.duckdb").stat().st_mtime_ns == mtime
    assert res.dry_run and len(res.picks) == 3 and res.report_md is None
    assert res.orders and all(o["state"] == "planned" for o in res.orders)
    assert "# LASPS daily alpha report" in res.markdown
    # issue 15: a dry run computes in memory; no alpha was "adjusted with a later split"
    assert not any("later split" in w for w in res.warnings), res.warnings
    assert any("computed in memory" in w and "dry run" in w for w in res.warnings)


def test_other_universe_leaves_the_alpha_store_alone(daily_run: tuple[Path, Any], tmp_path: Path) -> None:
    home = copy_home(daily_run[0], tmp_path / "home")
    stamps = {p.name: p.stat().st_mtime_ns for p in (home / "alphas").glob("*.parquet")}
    res = run_daily(home, DailyConfig(alphas="1,4,44", universe="kospi", top_k=3, picks=2, force=True))
    assert {p.name: p.stat().st_mtime_ns for p in (home / "alphas").glob("*.parquet")} == stamps
    assert set(res.picks["market"]) == {"KOSPI"}
    assert _steps(home, "2026-10-30")["compute"]["status"] == "skipped"


class BundleSource:
    """A fake live source serving the sessions of a bundle (what pykrx would return), by date range."""

    name = "fakekrx"
    price_basis = "raw"
    fetch_mode = "by_range"

    def __init__(self, bundle: MarketBundle) -> None:
        self.bundle = bundle
        self.requests: list[tuple[dt.date, dt.date]] = []

    @staticmethod
    def _between(frame: pd.DataFrame, a: dt.date, b: dt.date) -> pd.DataFrame:
        d = pd.to_datetime(frame["date"])
        return frame[(d >= pd.Timestamp(a)) & (d <= pd.Timestamp(b))].reset_index(drop=True)

    def stocks(self, date: dt.date) -> pd.DataFrame:
        return self.bundle.stocks.copy()

    def daily(self, date_from: dt.date, date_to: dt.date, codes: Any = None) -> MarketBundle:
        self.requests.append((date_from, date_to))
        prices = self._between(self.bundle.prices, date_from, date_to)
        stocks = self.bundle.stocks[self.bundle.stocks["code"].isin(set(prices["code"]))].reset_index(drop=True)
        return MarketBundle(source=self.name, stocks=stocks, prices=prices, unavailable=dict(self.bundle.unavailable))

    def index(self, code: str, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
        idx = self.bundle.index
        return self._between(idx[idx["index_code"] == code], date_from, date_to)

    def flows(self, date_from: dt.date, date_to: dt.date, codes: Any = None) -> pd.DataFrame:
        return self._between(self.bundle.flows, date_from, date_to)


def test_update_then_incremental_compute(base_home: Path, tmp_path: Path) -> None:
    """The real daily flow: yesterday's store + alphas, a live source with new sessions → fetch, append."""
    from lasps.pipeline.alphas import compute_alphas

    bundle = synthetic_bundle()
    home = store_bundle(tmp_path / "home", _truncate(bundle, "2026-10-23"))
    cfg = DailyConfig(alphas="1,4,44,101")
    first = run_daily(home, cfg)
    assert first.date == dt.date(2026, 10, 23)
    src = BundleSource(bundle)
    now = dt.datetime(2026, 10, 30, 18, 0, tzinfo=KST)  # after Friday's close
    second = run_daily(home, cfg, source=src, now=now)
    assert second.date == dt.date(2026, 10, 30)
    steps = _steps(home, "2026-10-30")
    assert steps["update"]["status"] == "done" and steps["update"]["summary"]["fetched"] == 5
    comp = steps["compute"]["summary"]
    assert comp["appended"] == {"alpha_001": 5, "alpha_004": 5, "alpha_044": 5, "alpha_101": 5}
    assert comp["recomputed"] == {} and comp["warmup_rows"] > 0
    # the appended values equal a full recomputation on the complete store
    ref = copy_home(base_home, tmp_path / "ref")
    from lasps.alpha.catalogue import get_catalogue

    cat = get_catalogue(ref)
    compute_alphas(ref, [cat[n] for n in ("alpha_001", "alpha_004", "alpha_044", "alpha_101")],
                   dt.date(2026, 10, 30), catalogue=cat)
    for name in ("alpha_001", "alpha_004", "alpha_044", "alpha_101"):
        a = pd.read_parquet(home / "alphas" / f"{name}.parquet").sort_values(["date", "code"]).reset_index(drop=True)
        b = pd.read_parquet(ref / "alphas" / f"{name}.parquet").sort_values(["date", "code"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=1e-12)


def test_paper_orders_are_placed_once(daily_run: tuple[Path, Any], tmp_path: Path) -> None:
    from lasps.broker.journal import Journal
    from lasps.pipeline.demo import next_open_clock

    home = copy_home(daily_run[0], tmp_path / "home")
    clock = next_open_clock(dt.date(2026, 10, 30))
    res = run_daily(home, DailyConfig(alphas=POOL, orders="paper"), clock=clock)
    assert res.orders is not None and len(res.orders) == len(res.picks)
    assert {o["state"] for o in res.orders} <= {"ACKNOWLEDGED", "PENDING", "SENT", "FILLED"}
    assert {o["code"] for o in res.orders} == set(res.picks["code"])
    assert "## Paper orders" in out.report_paths(home, "2026-10-30")[0].read_text()
    # a forced re-run re-places the same client order ids: the journal does not duplicate them
    run_daily(home, DailyConfig(alphas=POOL, orders="paper", force=True), clock=clock)
    with Journal.for_home(home) as journal:
        orders = journal.orders()
    assert sorted(o.client_order_id for o in orders) == sorted(o["client_order_id"] for o in res.orders)


def test_orders_clock() -> None:
    from lasps.broker.clock import FixedClock

    day = dt.date(2026, 10, 30)  # Friday; next session Monday 2026-11-02
    c = orders_clock(day, now=dt.datetime(2026, 10, 30, 18, 0, tzinfo=KST))
    assert isinstance(c, FixedClock) and c.now() == dt.datetime(2026, 11, 2, 8, 31, tzinfo=KST)
    with pytest.raises(LaspsError, match="is over"):
        orders_clock(day, now=dt.datetime(2026, 11, 25, 10, 0, tzinfo=KST))


def test_vote_counts_and_breaks_ties_by_rank_sum() -> None:
    signals = pd.DataFrame({
        "code": ["A", "B", "C", "D", "E"], "in_universe": [True, True, True, True, False],
        "a1": [5.0, 4.0, 3.0, 1.0, 9.0],     # top 2: A, B (E is outside the universe)
        "a2": [1.0, 5.0, 4.0, 3.0, 9.0],     # top 2: B, C
        "a3": [2.0, 1.0, 3.0, 4.0, np.nan],  # reversed below: top 2 of -a3 = B, A
    })
    picks, contrib = vote(signals, ["a1", "a2", "a3_rev"], 2)
    assert list(picks["code"]) == ["B", "A"]  # B: 3 votes, A: 2 votes
    assert list(picks["votes"]) == [3, 2]
    assert contrib["B"]["a2"] == [1.0, True]
    assert "E" not in contrib
