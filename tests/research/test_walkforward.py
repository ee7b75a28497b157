"""Walk-forward selection: portfolio construction, comparisons, regime change, configuration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lasps.errors import ConfigError
from lasps.research.evaluate import EvalConfig, evaluate
from lasps.research.walkforward import APPROACHES, WalkForwardConfig, walk_forward
from tests.research.conftest import random_panel

T, N = 400, 60


@pytest.fixture(scope="module")
def regime():
    """'good' predicts returns in the first 60 % of the sample and is useless after; 'late' the opposite."""
    panel, s = random_panel(T=T, N=N, seed=11, signal=0.0)
    rng = np.random.default_rng(5)
    late = rng.normal(size=(T, N))
    # rebuild opens so that s predicts the next-open returns early, 'late' predicts them late
    step = rng.normal(0, 0.02, size=(T, N))
    cut = int(0.6 * T)
    step[2:cut] += 0.6 * 0.02 * s[: cut - 2]
    step[cut:] += 0.6 * 0.02 * late[cut - 2: T - 2]
    panel.fields["open"] = np.exp(np.cumsum(step, axis=0) + np.log(1000.0))
    alphas = {"good": s, "late": late, **{f"noise{i}": rng.normal(size=(T, N)) for i in range(4)}}
    ev = evaluate(panel, alphas, EvalConfig(horizon=5))
    return ev


def test_one_variant_composite_reproduces_its_own_buckets(regime):
    ev = regime
    wf = walk_forward(ev, WalkForwardConfig(top=1, lookback=60))
    a = wf.approaches["walk_forward"]
    for row, lo, ls in zip(a.rows, a.lo, a.ls, strict=True):
        chosen = [s for s in wf.selections if s.row <= row][-1].variants
        v = ev.index(chosen[0])
        assert lo == pytest.approx(ev.long[v, row], nan_ok=True)
        assert ls == pytest.approx(ev.long[v, row] - ev.short[v, row], nan_ok=True)


def test_summary_has_every_approach_and_flags_the_illusion(regime):
    wf = walk_forward(regime, WalkForwardConfig(top=1, lookback=60))
    assert list(wf.summary["approach"]) == list(APPROACHES)
    s = wf.summary.set_index("approach")
    assert "look-ahead" in s.loc["in_sample", "label"] and "look-ahead" in s.loc["in_sample_test", "label"]
    # the test span is the same for train->test, in-sample-on-test and the walk-forward's test part
    assert s.loc["train_test", "first"] == s.loc["walk_forward_test", "first"] == s.loc["in_sample_test", "first"]
    # train (early) favours 'good'; the walk-forward follows the regime to 'late'
    assert wf.approaches["train_test"].variants == ("good",)
    last = wf.selections[-1].variants
    assert last == ("late",)
    # choosing on the test span itself picks what worked there: the illusion beats the honest choice
    assert wf.approaches["in_sample_test"].variants == ("late",)
    assert s.loc["in_sample_test", "ls_ann"] > s.loc["train_test", "ls_ann"]


def test_selections_follow_the_trailing_window(regime):
    ev = regime
    wf = walk_forward(ev, WalkForwardConfig(top=2, lookback=60, every=20))
    rows = [s.row for s in wf.selections]
    assert all(b - a >= 20 for a, b in itertools.pairwise(rows))
    assert all(len(s.variants) == 2 for s in wf.selections)
    assert wf.selections[0].row >= 60 + ev.fwd.lag - 1


def test_too_short_sample_is_reported(regime):
    wf = walk_forward(regime, WalkForwardConfig(top=1, lookback=2000))
    assert len(wf.approaches["walk_forward"].rows) == 0
    assert any("too short" in n for n in wf.notes)


@pytest.mark.parametrize("kwargs", [{"top": 0}, {"lookback": 1}, {"metric": "sortino"}, {"every": 0}])
def test_bad_config(kwargs):
    with pytest.raises(ConfigError):
        WalkForwardConfig(**kwargs)
