"""Strategies: top-K, z-score ensemble, voting with rank tie-break, adaptive without look-ahead."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.backtest.selection import VariantIC, masked_ic_ir, select_top, trailing_ic_ir, variant_ic
from lasps.backtest.strategies import (
    AdaptiveConfig,
    build_targets,
    pct_rank_at,
    pct_rank_rows,
    rebalance_rows,
    topk_rows,
    zscore_rows,
)
from lasps.errors import ConfigError

NAN = np.nan


def test_rebalance_rows() -> None:
    # decide at the close before the first session, then every k sessions while the fill is inside
    assert rebalance_rows(10, 20, 5).tolist() == [9, 14, 19]
    assert rebalance_rows(0, 6, 3).tolist() == [0, 3]
    with pytest.raises(ConfigError):
        rebalance_rows(0, 5, 0)


def test_topk_ties_go_to_lower_index_and_pads() -> None:
    x = np.array([[1.0, 3.0, 3.0, NAN, 2.0], [NAN, NAN, 5.0, NAN, NAN]])
    assert topk_rows(x, 3).tolist() == [[1, 2, 4], [2, -1, -1]]
    assert topk_rows(x, 1).tolist() == [[1], [2]]


def test_single_masks_universe_and_reverses() -> None:
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    uni = np.array([[True, True, True, False]])
    alphas = {"alpha_001": a}
    t = build_targets("single", alphas, ["alpha_001"], uni, np.array([0]), 2)
    assert t.codes.tolist() == [[2, 1]]  # code 3 is outside the universe
    t = build_targets("single", alphas, ["alpha_001_rev"], uni, np.array([0]), 2)
    assert t.codes.tolist() == [[0, 1]]
    assert t.fill_rows.tolist() == [1]


def test_zscore_and_ensemble_by_hand() -> None:
    # a: [1, 2, 3] -> mean 2, std (ddof 0) sqrt(2/3): z = [-1.2247, 0, 1.2247]
    # b: [3, 1, 2] -> z = [1.2247, -1.2247, 0]; b_rev = [-1.2247, 1.2247, 0]
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[3.0, 1.0, 2.0]])
    np.testing.assert_allclose(zscore_rows(a), [[-1.224744871, 0.0, 1.224744871]])
    uni = np.ones((1, 3), dtype=bool)
    # mean(z_a, z_b_rev) = [-1.2247, 0.6124, 0.6124] -> tie between codes 1 and 2, lower index first
    t = build_targets("ensemble", {"a": a, "b": b}, ["a", "b_rev"], uni, np.array([0]), 2)
    assert t.codes.tolist() == [[1, 2]]
    # a constant alpha carries no information (NaN z) and drops out of the mean
    t = build_targets("ensemble", {"a": a, "c": np.ones((1, 3))}, ["a", "c"], uni, np.array([0]), 1)
    assert t.codes.tolist() == [[2]]


def test_voting_most_votes_then_summed_rank() -> None:
    # K = 2. v1 top2 = {3, 2}; v2 top2 = {0, 2}; v3 top2 = {3, 0}
    # votes: 0 -> 2, 2 -> 2, 3 -> 2, 1 -> 0. Summed pct ranks (rank / 4):
    #   code 0: 0.25 + 1.00 + 0.75 = 2.00;  code 2: 0.75 + 0.75 + 0.25 = 1.75;  code 3: 1.00 + 0.25 + 1.00 = 2.25
    v1 = np.array([[1.0, 2.0, 3.0, 4.0]])
    v2 = np.array([[4.0, 2.0, 3.0, 1.0]])
    v3 = np.array([[3.0, 2.0, 1.0, 4.0]])
    uni = np.ones((1, 4), dtype=bool)
    t = build_targets("voting", {"v1": v1, "v2": v2, "v3": v3}, ["v1", "v2", "v3"], uni, np.array([0]), 2)
    assert t.codes.tolist() == [[3, 0]]
    np.testing.assert_allclose(pct_rank_rows(np.array([[5.0, NAN, 5.0, 1.0]])), [[5 / 6, NAN, 5 / 6, 1 / 3]])


def test_no_candidates_is_inactive() -> None:
    a = np.array([[NAN, NAN], [1.0, 2.0]])
    t = build_targets("single", {"a": a}, ["a"], np.ones((2, 2), dtype=bool), np.array([0, 1]), 1)
    assert t.active.tolist() == [False, True]


def test_bad_strategy_inputs() -> None:
    uni = np.ones((1, 2), dtype=bool)
    with pytest.raises(ConfigError, match="unknown strategy"):
        build_targets("momentum", {"a": np.ones((1, 2))}, ["a"], uni, np.array([0]), 1)
    with pytest.raises(ConfigError, match="one variant"):
        build_targets("single", {"a": np.ones((1, 2))}, ["a", "a_rev"], uni, np.array([0]), 1)
    with pytest.raises(ConfigError, match="no values"):
        build_targets("voting", {"a": np.ones((1, 2))}, ["b"], uni, np.array([0]), 1)
    with pytest.raises(ConfigError):
        AdaptiveConfig(combine="median")


def _vic(ic: np.ndarray, h: int = 1) -> VariantIC:
    T = ic.shape[1]
    return VariantIC(tuple(f"v{i}" for i in range(ic.shape[0])), ic, np.arange(T) + h + 1, h)


def test_trailing_ic_ir_uses_only_known_ics() -> None:
    rng = np.random.default_rng(0)
    ic = rng.normal(0.02, 0.1, size=(3, 60))
    vic = _vic(ic, h=2)  # IC of row u known at u + 3
    rows = np.array([10, 30, 59])
    ir = trailing_ic_ir(vic, rows, lookback=8, min_days=4)
    # decision at s uses rows s-3-7 .. s-3
    for i, s in enumerate(rows):
        w = ic[:, s - 10:s - 2]
        np.testing.assert_allclose(ir[i], w.mean(axis=1) / w.std(axis=1, ddof=1))
    # changing ICs not yet known at s changes nothing
    ic2 = ic.copy()
    ic2[:, 28:] = 99.0
    np.testing.assert_allclose(trailing_ic_ir(_vic(ic2, h=2), rows[:2], 8, 4), ir[:2])
    # too little history -> NaN
    assert np.isnan(trailing_ic_ir(vic, np.array([4]), 8, 4)).all()


def test_adaptive_has_no_look_ahead() -> None:
    """Perturbing prices after a decision row never changes that decision."""
    rng = np.random.default_rng(1)
    T, N = 80, 12
    open_ = 1_000.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0))
    alphas = {f"a{i}": rng.normal(size=(T, N)) for i in range(4)}
    variants = [v for a in alphas for v in (a, a + "_rev")]
    uni = np.ones((T, N), dtype=bool)
    rows = rebalance_rows(30, T - 1, 5)
    cfg = AdaptiveConfig(lookback=15, n_select=2, min_days=5)
    base = build_targets("adaptive", alphas, variants, uni, rows, 3, vic=variant_ic(alphas, variants, open_, uni, 5),
                         adaptive_config=cfg)
    s = int(rows[4])
    future = open_.copy()
    future[s + 1:] *= rng.uniform(0.5, 1.5, size=(T - s - 1, N))
    moved = build_targets("adaptive", alphas, variants, uni, rows, 3,
                          vic=variant_ic(alphas, variants, future, uni, 5), adaptive_config=cfg)
    assert base.chosen[:5] == moved.chosen[:5]
    np.testing.assert_array_equal(base.codes[:5], moved.codes[:5])
    assert all(len(c) == 2 for c in base.chosen[1:])


def test_masked_ic_ir_and_select_top() -> None:
    ic = np.array([[0.1, 0.2, 0.3, NAN], [-0.1, -0.2, -0.3, 0.5]])
    mask = np.array([True, True, True, False])
    ir = masked_ic_ir(ic, mask, horizon=1)
    np.testing.assert_allclose(ir, [0.2 / 0.1, -0.2 / 0.1])
    assert select_top(["x", "y", "z"], np.array([1.0, NAN, 1.0]), 5) == ("x", "z")


def test_pct_rank_at_matches_full_ranking() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, size=(7, 30)).astype(float)
    x[rng.random(x.shape) < 0.2] = NAN
    cand = rng.integers(-1, 30, size=(7, 9))
    full = pct_rank_rows(x)
    got = pct_rank_at(x, cand)
    want = np.where(cand >= 0, np.take_along_axis(full, np.maximum(cand, 0), axis=1), NAN)
    np.testing.assert_allclose(got, want)
