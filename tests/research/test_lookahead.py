"""No look-ahead: perturb every price (and signal) after row t0 and show that nothing known by t0 moves.

Dating rule under test: a value computed from the forward return of signal row t is known at
``known_row[t]`` (t + 1 + h for next-open entry); a walk-forward decision at the close of s only reads
values with known_row <= s.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lasps.data.panel import Panel
from lasps.research.evaluate import EvalConfig, evaluate
from lasps.research.walkforward import WalkForwardConfig, walk_forward
from tests.research.conftest import random_panel

H = 5
T, N = 240, 40


def reversal(panel: Panel) -> np.ndarray:
    c = panel.close
    out = np.full(c.shape, np.nan)
    out[5:] = -(c[5:] / c[:-5] - 1)
    return out


def perturbed(panel: Panel, s: np.ndarray, t0: int, seed: int) -> tuple[Panel, np.ndarray]:
    rng = np.random.default_rng(seed)
    fields = {k: v.copy() for k, v in panel.fields.items()}
    shock = np.exp(rng.normal(0, 0.3, size=(T - t0 - 1, N)))
    for k in ("open", "high", "low", "close"):
        fields[k][t0 + 1:] *= shock
    fields["volume"][t0 + 1:] *= rng.uniform(0.2, 5.0, size=(T - t0 - 1, N))
    fields["value"] = fields["volume"] * fields["close"]
    p2 = copy.copy(panel)
    p2.fields = fields
    p2._derived = {}
    s2 = s.copy()
    s2[t0 + 1:] = rng.normal(size=(T - t0 - 1, N))
    return p2, s2


@pytest.fixture(scope="module")
def base():
    panel, s = random_panel(T=T, N=N, seed=7, signal=1.0)
    return panel, s


def run(panel: Panel, s: np.ndarray):
    alphas = {"planted": s, "reversal": reversal(panel), "noise": np.random.default_rng(0).normal(size=(T, N))}
    ev = evaluate(panel, alphas, EvalConfig(horizon=H))
    wf = walk_forward(ev, WalkForwardConfig(top=2, lookback=60, min_days=20))
    return ev, wf


def check_known_by(ev1, wf1, ev2, wf2, t0: int) -> None:
    kr = ev1.fwd.known_row
    known = kr <= t0
    # forward returns and every per-date statistic dated by a known signal row are identical
    np.testing.assert_array_equal(ev1.fwd.values[known], ev2.fwd.values[known])
    for attr in ("ic", "long", "short", "turnover", "qmean"):
        np.testing.assert_array_equal(getattr(ev1, attr)[:, known], getattr(ev2, attr)[:, known], err_msg=attr)
    # signals (z-ranks at sampled rows) up to t0 are identical
    rows = ev1.sample_rows <= t0
    for a in ev1.alphas:
        np.testing.assert_array_equal(ev1.zranks[a][rows], ev2.zranks[a][rows], err_msg=a)
    # walk-forward choices made at or before t0, and period returns known by t0
    sel1 = [(s.row, s.variants, s.scores) for s in wf1.selections if s.row <= t0]
    sel2 = [(s.row, s.variants, s.scores) for s in wf2.selections if s.row <= t0]
    assert sel1 == sel2
    a1, a2 = wf1.approaches["walk_forward"], wf2.approaches["walk_forward"]
    k = kr[a1.rows] <= t0
    np.testing.assert_array_equal(a1.ls[k], a2.ls[k])
    np.testing.assert_array_equal(a1.lo[k], a2.lo[k])


def test_perturbing_the_future_changes_nothing_known(base):
    panel, s = base
    t0 = 150
    ev1, wf1 = run(panel, s)
    p2, s2 = perturbed(panel, s, t0, seed=1)
    ev2, wf2 = run(p2, s2)
    check_known_by(ev1, wf1, ev2, wf2, t0)
    # ... while values dated <= t0 but known later do change: that is why they carry a known date
    t = t0 - 2
    assert ev1.fwd.known_row[t] > t0
    assert not np.allclose(ev1.ic[:, t], ev2.ic[:, t])
    assert any(s.row <= t0 for s in wf1.selections)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t0=st.integers(min_value=80, max_value=T - 10), seed=st.integers(0, 10_000))
def test_no_lookahead_property(base, t0, seed):
    panel, s = base
    ev1, wf1 = run(panel, s)
    p2, s2 = perturbed(panel, s, t0, seed)
    ev2, wf2 = run(p2, s2)
    check_known_by(ev1, wf1, ev2, wf2, t0)


def test_adversarial_future_cannot_reach_earlier_choices(base):
    """After t0 the market rewards the 'noise' alpha perfectly (IC = 1 for every signal row whose exit is
    after t0). A selection that peeked even one session ahead would pick it before its time."""
    panel, _ = base
    t0 = 150
    cfg = WalkForwardConfig(top=1, lookback=10, metric="ic_mean", min_days=5)
    noise = np.random.default_rng(0).normal(size=(T, N))
    other = np.random.default_rng(1).normal(size=(T, N))

    def evaluate_with(p: Panel):
        alphas = {"other": other, "reversal": reversal(p), "noise": noise}
        ev = evaluate(p, alphas, EvalConfig(horizon=H))
        return ev, walk_forward(ev, cfg)

    ev1, wf1 = evaluate_with(panel)
    fields = {k: v.copy() for k, v in panel.fields.items()}
    o = fields["open"]
    for r in range(t0 + 1, T):      # exit of signal row r - 1 - H, entry at row r - H
        o[r] = o[r - H] * np.exp(0.05 * noise[r - 1 - H])
    p2 = copy.copy(panel)
    p2.fields = fields
    p2._derived = {}
    ev2, wf2 = evaluate_with(p2)
    lag = ev1.fwd.lag
    assert np.allclose(ev2.ic[ev2.variants.index("noise"), t0 - H:T - lag], 1.0)
    check_known_by(ev1, wf1, ev2, wf2, t0)
    # the perturbation is strong: once the outcomes are known, the choice does move to 'noise'
    later = [sel.variants for sel in wf2.selections if sel.row >= t0 + lag + 5]
    assert later and all(v == ("noise",) for v in later)


def test_walkforward_window_ends_at_the_last_known_signal(base):
    panel, s = base
    ev, wf = run(panel, s)
    lag = ev.fwd.lag
    for sel in wf.selections:
        assert sel.last == sel.row - lag                   # known_row[last] == row
        assert ev.fwd.known_row[sel.last] == sel.row
        assert sel.last - sel.first + 1 <= 60


def test_engine_alphas_do_not_see_the_future(base):
    engine = pytest.importorskip("lasps.alpha.engine")
    panel, s = base
    t0 = 120
    p2, _ = perturbed(panel, s, t0, seed=3)
    names = [1, 12, 101]
    a1 = engine.compute(panel, names)
    a2 = engine.compute(p2, names)
    for name in a1:
        np.testing.assert_array_equal(a1[name][: t0 + 1], a2[name][: t0 + 1], err_msg=name)
