"""``mine`` end to end on small stored synthetic markets: planted signals found, the holdout wall, outputs,
determinism, registration, and the multiple-testing guard on null markets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lasps.alpha.catalogue import AlphaSpec, get_catalogue, user_alphas_path
from lasps.alpha.engine import compute
from lasps.data.panel_loader import load_panel
from lasps.data.sources.synthetic import config_for_signals, generate_synthetic
from lasps.data.store import MarketStore
from lasps.research.mining.run import SHORTLIST_COLUMNS, latest_run_id, mine, plan_mine
from lasps.research.mining.search import SearchConfig
from tests.mining.conftest import CFG, MARKET, build_home


def _run(home: Path, cfg: SearchConfig = CFG, **kw):  # type: ignore[no-untyped-def]
    return mine(plan_mine(home, cfg), **kw)


def _planted(panel) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """The generator's signals at the close of t, recomputed with pandas from the panel (split-adjusted
    close C and volume V, close-to-close return R; docs/synthetic-market.md)."""
    C = pd.DataFrame(panel.close)
    V = pd.DataFrame(panel.volume)
    R = C / C.shift(1) - 1
    return {
        "reversal": -(C / C.shift(5) - 1),
        "divergence": -C.rolling(10).corr(V),
        "lowvol": -R.rolling(20).std(ddof=1),
    }


def _mean_spearman(x: pd.DataFrame, y: pd.DataFrame, mask: np.ndarray) -> float:
    m = x.notna() & y.notna() & mask
    xr, yr = x.where(m).rank(axis=1), y.where(m).rank(axis=1)
    ic = xr.corrwith(yr, axis=1)
    return float(ic[m.sum(axis=1) >= 20].mean())


def test_default_market_shortlist_holds_a_planted_signal(default_home: Path, default_run) -> None:  # type: ignore[no-untyped-def]
    res = default_run
    frame = res.shortlist
    assert list(frame.columns) == list(SHORTLIST_COLUMNS)
    assert len(frame) >= 3 and (frame["trials"] == res.run["trials"]).all()
    assert res.run["trials"] == CFG.trials  # every evaluated formula is counted
    panel = load_panel(["open", "high", "low", "close", "volume", "value", "market_cap"], home=default_home)
    planted = _planted(panel)
    specs = [AlphaSpec.build(f"s{i}", f, id=None, kind="user") for i, f in enumerate(frame["formula"])]
    values = compute(panel, specs)
    best = {}
    for spec in specs:
        v = pd.DataFrame(values[spec.name])
        best[spec.formula] = max((_mean_spearman(v, p, panel.universe_mask), name) for name, p in planted.items())
    top = max(best.values())
    assert top[0] >= 0.7, best


def test_holdout_is_never_read_by_the_search(default_home: Path, default_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Rewrite every price of the holdout sessions (random rescaling that the store reads as splits,
    which back-adjust earlier prices if the search saw them): the search's choices are unchanged."""
    plan = plan_mine(default_home, CFG)
    cut = pd.Timestamp(plan.dates[plan.holdout_start])
    bundle = generate_synthetic(seed=3, **MARKET)
    p = bundle.prices.copy()
    late = p["date"] >= cut
    rng = np.random.default_rng(0)
    factor = np.exp(rng.normal(0, 0.3, late.sum()))
    for col in ("open", "high", "low", "close"):
        p.loc[late, col] = (p.loc[late, col] * factor).round()
    p.loc[late, "volume"] = (p.loc[late, "volume"] * rng.uniform(0.2, 5, late.sum())).round()
    p.loc[late, "value"] = p.loc[late, "close"] * p.loc[late, "volume"]
    bundle.prices = p
    other = tmp_path / "perturbed"
    other.mkdir()
    with MarketStore(other) as store:
        store.write_bundle(bundle, kind="init")
        assert store.scalar("SELECT count(*) FROM adjustments") > 0
    a = default_run
    b = _run(other)
    ra = pd.read_csv(a.directory / "shortlist.csv")
    rb = pd.read_csv(b.directory / "shortlist.csv")
    search_cols = ["formula", "trials", "train_ic", "train_ic_ir", "valid_ic"]
    pd.testing.assert_frame_equal(ra[search_cols], rb[search_cols])
    ca = json.loads((a.directory / "checkpoint.json").read_text())
    cb = json.loads((b.directory / "checkpoint.json").read_text())
    assert ca["trials"] == cb["trials"]  # every trial and its statistics
    assert not ra["holdout_ic"].equals(rb["holdout_ic"])  # the perturbation was real: the holdout differs


def test_outputs(default_home: Path, default_run) -> None:  # type: ignore[no-untyped-def]
    b = default_run
    assert latest_run_id(default_home) == b.run_id
    run = json.loads((b.directory / "run.json").read_text())
    assert run["seed"] == 1 and run["budget"] == CFG.trials and run["trials"] == CFG.trials
    assert {"m_eff", "t_threshold", "effective_trials", "pass_rule"} <= set(run["method"])
    assert 1 <= run["method"]["m_eff"] <= CFG.trials
    assert run["spans"]["holdout_sessions"] >= 60 and run["wall_seconds"] > 0
    corr = pd.read_csv(b.directory / "correlation.csv", index_col=0)
    assert corr.shape == (len(b.shortlist), len(b.shortlist))
    np.testing.assert_allclose(np.diag(corr.to_numpy()), 1.0, atol=1e-3)


def test_strong_signal_passes_and_registers_with_provenance(strong_home: Path) -> None:
    res = _run(strong_home, register=True)
    passed = res.shortlist[res.shortlist["passed"] == "true"]
    assert len(passed) >= 1, res.shortlist.to_string()
    assert res.registered and res.run["registered"] == list(res.registered)
    entries = json.loads(user_alphas_path(strong_home).read_text())["alphas"]
    entry = entries[res.registered[0]]
    assert entry["provenance"]["run_id"] == res.run_id
    assert entry["provenance"]["trials"] == res.run["trials"]
    assert entry["formula"] in set(passed["formula"])
    assert res.registered[0] in get_catalogue(strong_home)
    t = passed["holdout_ic_t"].astype(float)
    assert (t >= res.run["method"]["t_threshold"]).all() and (passed["dsr"].astype(float) >= 0.95).all()


@pytest.mark.slow
def test_null_markets_pass_nothing(tmp_path: Path) -> None:
    """Five null markets (every planted strength 0): no shortlisted formula passes."""
    cfg = SearchConfig(trials=150, seed=1)
    for seed in range(1, 6):
        home = build_home(tmp_path / f"null{seed}", seed=seed, config=config_for_signals("none"),
                          stocks=120, years=2.5)
        res = _run(home, cfg)
        assert (res.shortlist["passed"] == "false").all(), (seed, res.shortlist.to_string())
        assert res.run["passed"] == 0 and res.run["trials"] == cfg.trials
