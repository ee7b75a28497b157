"""Operator layer: shared test vectors, hand-computed cases, fast == reference, no look-ahead.

Panels are (T, N): rows = dates (oldest first), columns = codes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lasps.alpha.conventions import DEFAULT, PEERS, Conventions
from lasps.alpha.operators import FAST_OPS, LOOKBACK, WINDOWED_OPS, lookback
from lasps.alpha.reference_ops import REFERENCE_OPS

NAN = np.nan
CONVENTIONS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "conventions"
VECTORS_PATH = CONVENTIONS_DIR / "operator_vectors.json"
TIES_VECTORS_PATH = CONVENTIONS_DIR / "operator_vectors_ties.json"
REGISTRIES = {"fast": FAST_OPS, "reference": REFERENCE_OPS}
CANONICAL = [
    "rank", "delay", "delta", "correlation", "covariance", "scale", "signedpower", "decay_linear",
    "indneutralize", "ts_min", "ts_max", "ts_argmin", "ts_argmax", "ts_rank", "ts_sum", "product",
    "stddev", "abs", "log", "sign", "power", "min2", "max2", "lt", "le", "gt", "ge", "eq", "ne",
    "and_", "or_", "where", "add", "sub", "mul", "div", "neg",
]  # fmt: skip

# ------------------------------------------------------------------------------ (a) shared vectors
# JSON op name -> registry name (identity unless listed)
JSON_OP_NAMES = {"sum": "ts_sum", "min": "min2", "max": "max2"}


def _load_vectors(path: Path = VECTORS_PATH) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not path.is_file():
        return {}, []
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["inputs"], data["cases"]


VECTOR_INPUTS, VECTOR_CASES = _load_vectors()
TIES_INPUTS, TIES_CASES = _load_vectors(TIES_VECTORS_PATH)


def _arr(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[NAN if v is None else v for v in row] for row in rows], dtype=np.float64)


def _resolve(arg: Any) -> Any:
    """A case argument: an input name, ``X.C`` (column C of X in every column), or a number."""
    if not isinstance(arg, str):
        return arg
    if "." in arg:
        name, col = arg.split(".")
        m = _arr(VECTOR_INPUTS[name])
        column = m[:, ord(col) - ord("A")]
        return np.repeat(column[:, None], m.shape[1], axis=1)
    if arg == "G":  # group ids, identical on every date -> (N,) ints as the operators take them
        g = np.array(VECTOR_INPUTS[arg])
        assert (g == g[0]).all()
        return g[0].astype(np.int64)
    return _arr(VECTOR_INPUTS[arg])


def _case_id(i: int, case: dict[str, Any]) -> str:
    return f"{i:03d}-{case['op']}-" + "-".join(str(a) for a in case["args"])


@pytest.mark.skipif(not VECTOR_CASES, reason=f"{VECTORS_PATH} not found")
@pytest.mark.parametrize("registry", sorted(REGISTRIES))
@pytest.mark.parametrize("case", VECTOR_CASES, ids=[_case_id(i, c) for i, c in enumerate(VECTOR_CASES)])
def test_operator_vectors(case: dict[str, Any], registry: str) -> None:
    op = JSON_OP_NAMES.get(case["op"], case["op"])
    args = [_resolve(a) for a in case["args"]]
    if op == "signedpower":  # the vectors apply signedpower to (M - 3)
        args[0] = args[0] - 3.0
    got = REGISTRIES[registry][op](*args)
    np.testing.assert_allclose(got, _arr(case["expected"]), rtol=1e-9, atol=1e-9, equal_nan=True)


@pytest.mark.skipif(not TIES_CASES, reason=f"{TIES_VECTORS_PATH} not found")
@pytest.mark.parametrize("registry", sorted(REGISTRIES))
@pytest.mark.parametrize("case", TIES_CASES, ids=[_case_id(i, c) for i, c in enumerate(TIES_CASES)])
def test_tie_rule_vectors(case: dict[str, Any], registry: str) -> None:
    args = [_arr(TIES_INPUTS[a]) if isinstance(a, str) else a for a in case["args"]]
    got = REGISTRIES[registry][case["op"]](*args)
    np.testing.assert_allclose(got, _arr(case["expected"]), rtol=1e-9, atol=1e-9, equal_nan=True)


def test_tie_vectors_cover_the_four_tie_aware_operators() -> None:
    if not TIES_CASES:
        pytest.skip(f"{TIES_VECTORS_PATH} not found")
    assert {c["op"] for c in TIES_CASES} == {"rank", "ts_rank", "ts_argmax", "ts_argmin"}


def test_vectors_cover_181_cases() -> None:
    if not VECTOR_CASES:
        pytest.skip(f"{VECTORS_PATH} not found")
    assert len(VECTOR_CASES) == 181
    assert {JSON_OP_NAMES.get(c["op"], c["op"]) for c in VECTOR_CASES} <= set(FAST_OPS)


# ------------------------------------------------------------------------------------- registries
def test_registries_have_identical_canonical_keys() -> None:
    assert list(FAST_OPS) == CANONICAL
    assert set(REFERENCE_OPS) == set(FAST_OPS)
    assert set(LOOKBACK) == set(FAST_OPS)
    for name in FAST_OPS:
        assert FAST_OPS[name] is not REFERENCE_OPS[name]


def test_lookback() -> None:
    assert lookback("ts_sum", 10) == 9
    assert lookback("correlation", 6.00049) == 5
    assert lookback("delay", 3) == 3
    assert lookback("delta", 4.9) == 4
    assert lookback("delta", 4.9, Conventions(window_rule="round")) == 5
    assert lookback("rank") == 0
    assert lookback("add", None) == 0
    assert LOOKBACK["ts_rank"](0.3, DEFAULT) == 0  # window below 1 -> 1
    with pytest.raises(KeyError):
        lookback("no_such_op", 3)


def test_conventions_window_rules() -> None:
    floor, rnd = Conventions(), Conventions(window_rule="round")
    assert (floor.window(6.9), rnd.window(6.9)) == (6, 7)
    assert (floor.window(6.00049), rnd.window(6.00049)) == (6, 6)
    assert (floor.window(3.69741), rnd.window(3.69741)) == (3, 4)
    assert (floor.window(0.4), rnd.window(0.4), floor.window(-2)) == (1, 1, 1)
    assert floor.window(10) == 10
    with pytest.raises(ValueError):
        floor.window(float("nan"))
    with pytest.raises(ValueError):
        Conventions(window_rule="ceil")  # type: ignore[arg-type]


def test_conventions_tie_tolerance_and_peer_fields() -> None:
    assert DEFAULT.tie_tolerance == (1e-12, 1e-9)
    assert Conventions(ties="exact").tie_tolerance == (0.0, 0.0)
    for field, bad in [("ties", "fuzzy"), ("rank_scale", "percent"), ("arg_basis", "today"), ("ddof", 2),
                       ("decay_nan", "drop"), ("minmax_nan", "ignore"), ("power_negative", "complex"),
                       ("or_nan", "false")]:
        with pytest.raises(ValueError, match=field):
            Conventions(**{field: bad})
    peer = PEERS["alpha101v"]
    assert (peer.window_rule, peer.zero_variance_corr, peer.ties, peer.ddof) == ("floor", "nan", "exact", 0)


# ------------------------------------------------------------------------ (b) hand-computed cases
def _col(*values: float) -> np.ndarray:
    """A (T, 1) panel from one column of values."""
    return np.array(values, dtype=np.float64).reshape(-1, 1)


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
class TestHandComputed:
    def test_nan_in_window_poisons_only_windows_that_contain_it(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = _col(1, 2, NAN, 4, 5, 6)
        # d = 2: [-, 1+2, 2+NaN, NaN+4, 4+5, 5+6]
        np.testing.assert_array_equal(f["ts_sum"](x, 2), _col(NAN, 3, NAN, NAN, 9, 11))
        # ts_max d = 2: [-, max(1,2), NaN, NaN, max(4,5), max(5,6)]
        np.testing.assert_array_equal(f["ts_max"](x, 2), _col(NAN, 2, NAN, NAN, 5, 6))
        # delay 1 just moves the NaN down one row
        np.testing.assert_array_equal(f["delay"](x, 1), _col(NAN, 1, 2, NAN, 4, 5))
        # delta 1: [-, 2-1, NaN-2, 4-NaN, 5-4, 6-5]
        np.testing.assert_array_equal(f["delta"](x, 1), _col(NAN, 1, NAN, NAN, 1, 1))

    def test_rank_ties_and_nan(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = np.array([[3.0, 1.0, 3.0, NAN, 2.0]])
        # 4 valid cells sorted: 1 (1st), 2 (2nd), 3, 3 (3rd and 4th) -> 1/4, 2/4, (3+4)/2/4 = 0.875
        np.testing.assert_array_equal(f["rank"](x), [[0.875, 0.25, 0.875, NAN, 0.5]])
        # min: tied cells get 3/4; max: 4/4; first: column order -> 3/4 then 4/4
        np.testing.assert_array_equal(f["rank"](x, conv=Conventions(rank_ties="min")), [[0.75, 0.25, 0.75, NAN, 0.5]])
        np.testing.assert_array_equal(f["rank"](x, conv=Conventions(rank_ties="max")), [[1.0, 0.25, 1.0, NAN, 0.5]])
        np.testing.assert_array_equal(f["rank"](x, conv=Conventions(rank_ties="first")), [[0.75, 0.25, 1.0, NAN, 0.5]])
        # -0.0 == 0.0 is a tie: (1 + 2) / 2 / 3 = 0.5 each; 1.0 ranks 3/3
        np.testing.assert_array_equal(f["rank"](np.array([[-0.0, 1.0, 0.0]])), [[0.5, 1.0, 0.5]])
        # an all-NaN row stays NaN, a single valid cell ranks 1
        np.testing.assert_array_equal(f["rank"](np.array([[NAN, NAN], [NAN, -5.0]])), [[NAN, NAN], [NAN, 1.0]])

    def test_ts_rank_ties(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = _col(2, 1, 2, 2)
        # d = 3, row 2: window (2, 1, 2), today 2: one smaller, two equal -> (1 + (2+1)/2)/3 = 2.5/3
        # row 3: window (1, 2, 2), today 2: same -> 2.5/3
        np.testing.assert_allclose(f["ts_rank"](x, 3), _col(NAN, NAN, 2.5 / 3, 2.5 / 3), rtol=1e-15)
        # min ties: (1 + 1)/3; max ties: (1 + 2)/3
        np.testing.assert_allclose(
            f["ts_rank"](x, 3, conv=Conventions(rank_ties="min")), _col(NAN, NAN, 2 / 3, 2 / 3), rtol=1e-15
        )
        np.testing.assert_allclose(
            f["ts_rank"](x, 3, conv=Conventions(rank_ties="max")), _col(NAN, NAN, 1.0, 1.0), rtol=1e-15
        )

    def test_tie_groups_are_anchored_at_their_smallest_value(self, registry: str) -> None:
        f = REGISTRIES[registry]
        # tolerance near 1 is 1e-12 + 1e-9 * max(|a|, |b|) ~ 1.000000001e-9: 1 + 6e-10 ties with 1 (the
        # anchor), 1 + 1.2e-9 is within tolerance of 1 + 6e-10 but not of the anchor -> its own group
        x = np.array([[1.0 + 6e-10, 1.0, 1.0 + 1.2e-9, NAN]])
        np.testing.assert_array_equal(f["rank"](x), [[0.5, 0.5, 1.0, NAN]])  # (1+2)/2/3 for the pair
        exact = Conventions(ties="exact")
        np.testing.assert_array_equal(f["rank"](x, conv=exact), [[2 / 3, 1 / 3, 1.0, NAN]])
        col = x[0, :3].reshape(-1, 1)
        np.testing.assert_array_equal(f["ts_argmax"](col, 3), _col(NAN, NAN, 3))
        np.testing.assert_array_equal(f["ts_argmin"](col, 3), _col(NAN, NAN, 1))  # row 1 ties with the min
        np.testing.assert_array_equal(f["ts_argmin"](col, 3, conv=exact), _col(NAN, NAN, 2))
        np.testing.assert_array_equal(f["ts_rank"](col, 3), _col(NAN, NAN, 1.0))
        # today = 1 + 6e-10 ties with the anchor 1: average of ranks 1 and 2, over 3
        down = np.array([1.0 + 1.2e-9, 1.0, 1.0 + 6e-10]).reshape(-1, 1)
        np.testing.assert_array_equal(f["ts_rank"](down, 3), _col(NAN, NAN, 0.5))
        np.testing.assert_array_equal(f["ts_rank"](down, 3, conv=exact), _col(NAN, NAN, 2 / 3))
        # 1 + 1.2e-9 is not tied with 1, so it anchors the highest group, which 1 + 1.8e-9 joins: the
        # group's oldest row is the argmax
        up = np.array([1.0 + 1.2e-9, 1.0 + 1.8e-9, 1.0]).reshape(-1, 1)
        np.testing.assert_array_equal(f["ts_argmax"](up, 3), _col(NAN, NAN, 1))
        np.testing.assert_array_equal(f["ts_argmax"](up, 3, conv=exact), _col(NAN, NAN, 2))

    def test_peer_modes(self, registry: str) -> None:
        f = REGISTRIES[registry]
        brain = Conventions(rank_scale="zero_to_one", arg_basis="days_ago", ddof=0, decay_nan="zero")
        # rank (k - 1) / (n - 1): 4 values 3, 1, 3, 2 -> k = 3.5, 1, 3.5, 2 -> 2.5/3, 0, 2.5/3, 1/3
        x = np.array([[3.0, 1.0, 3.0, NAN, 2.0], [NAN, NAN, 7.0, NAN, NAN]])
        np.testing.assert_allclose(f["rank"](x, conv=brain), [[2.5 / 3, 0, 2.5 / 3, NAN, 1 / 3], [NAN] * 5],
                                   rtol=1e-15, equal_nan=True)  # one value: 0/0 -> NaN
        col = _col(1, 5, 3, 5, 2)
        # ts_rank d = 3 of today among [1, 5, 3] -> k = 2 -> 1/2; [5, 3, 5] -> 2.5 -> 0.75; [3, 5, 2] -> 0
        np.testing.assert_allclose(f["ts_rank"](col, 3, conv=brain), _col(NAN, NAN, 0.5, 0.75, 0.0), rtol=1e-15)
        # argmax days ago: [1, 5, 3] max 5 one day ago; [5, 3, 5] the first 5 two days ago
        np.testing.assert_array_equal(f["ts_argmax"](col, 3, conv=brain), _col(NAN, NAN, 1, 2, 1))
        np.testing.assert_array_equal(f["ts_argmin"](col, 3, conv=brain), _col(NAN, NAN, 2, 1, 0))
        # population std of [1, 5, 3]: mean 3, squares 4 + 4 + 0 = 8, / 3
        np.testing.assert_allclose(f["stddev"](col, 3, conv=brain)[2, 0], math.sqrt(8 / 3), rtol=1e-14)
        np.testing.assert_allclose(f["covariance"](col, col, 3, conv=brain)[2, 0], 8 / 3, rtol=1e-14)
        # sparse decay: [1, NaN, 3] with weights 1, 2, 3 -> (1 + 0 + 9) / 6; [NaN, NaN, NaN] -> NaN
        gap = _col(1, NAN, 3, NAN, NAN, NAN)
        np.testing.assert_allclose(f["decay_linear"](gap, 3, conv=brain),
                                   _col(NAN, NAN, 10 / 6, 6 / 6, 3 / 6, NAN), rtol=1e-14)
        np.testing.assert_array_equal(f["decay_linear"](gap, 3), _col(NAN, NAN, NAN, NAN, NAN, NAN))
        peer = PEERS["alpha101v"]
        a, b = np.array([[NAN, 1.0, 0.0, -8.0]]), np.array([[2.0, NAN, NAN, 1 / 3]])
        np.testing.assert_array_equal(f["min2"](a, b, conv=peer), [[2.0, 1.0, 0.0, -8.0]])
        np.testing.assert_array_equal(f["max2"](a, b), [[NAN, NAN, NAN, 1 / 3]])
        # |-8| ^ (1/3) = 2 under the peer rule, NaN by default; 1 ^ NaN = 1 (IEEE pow) either way
        np.testing.assert_allclose(f["power"](a, b, conv=peer), [[NAN, 1.0, NAN, 2.0]], rtol=1e-15)
        np.testing.assert_array_equal(f["power"](a, b), [[NAN, 1.0, NAN, NAN]])
        np.testing.assert_array_equal(f["or_"](a, b, conv=peer), [[1.0, 1.0, NAN, 1.0]])  # true || NaN = true
        np.testing.assert_array_equal(f["or_"](a, b), [[NAN, NAN, NAN, 1.0]])

    def test_argmin_argmax_first_occurrence_from_oldest(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = _col(5, 5, 1, 1)
        # d = 3, row 2: window (5, 5, 1): max first at position 1 (oldest); min at position 3 (today)
        # row 3: window (5, 1, 1): max at 1; min first at 2
        np.testing.assert_array_equal(f["ts_argmax"](x, 3), _col(NAN, NAN, 1, 1))
        np.testing.assert_array_equal(f["ts_argmin"](x, 3), _col(NAN, NAN, 3, 2))
        np.testing.assert_array_equal(f["ts_min"](x, 3), _col(NAN, NAN, 1, 1))

    def test_decay_linear_weights(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = _col(1, 2, 3, 10)
        # d = 3, row 2: (1*1 + 2*2 + 3*3) / (1+2+3) = 14/6; row 3: (1*2 + 2*3 + 3*10) / 6 = 38/6
        np.testing.assert_allclose(f["decay_linear"](x, 3), _col(NAN, NAN, 14 / 6, 38 / 6), rtol=1e-14)

    def test_stddev_and_product(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = _col(2, 4, 4, 4)
        # d = 2: std(2,4) = sqrt(((2-3)^2 + (4-3)^2) / 1) = sqrt(2); std(4,4) = 0 exactly
        np.testing.assert_allclose(f["stddev"](x, 2), _col(NAN, math.sqrt(2), 0, 0), rtol=1e-15)
        assert f["stddev"](x, 2)[3, 0] == 0.0
        # d = 1: ddof=1 std of a single value is undefined -> NaN everywhere
        assert np.isnan(f["stddev"](x, 1)).all()
        # product d = 3: 2*4*4 = 32, 4*4*4 = 64
        np.testing.assert_array_equal(f["product"](x, 3), _col(NAN, NAN, 32, 64))

    def test_constant_window_correlation(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = _col(1, 2, 3, 4, 6)
        y = _col(5, 5, 5, 7, 5)
        # d = 3, row 2: y window (5,5,5) is constant -> 0 by default, NaN under zero_variance_corr="nan"
        # row 3: x (2,3,4), y (5,5,7): dx (-1,0,1), dy (-2/3,-2/3,4/3): sum dx*dy = 2;
        #        sxx = 2, syy = 4/9+4/9+16/9 = 24/9 -> r = 2 / sqrt(2 * 24/9) = 0.8660254...
        # row 4: x (3,4,6), y (5,7,5): dx (-4/3,-1/3,5/3), dy (-2/3,4/3,-2/3): sum = (8-4-10)/9 = -6/9;
        #        sxx = (16+1+25)/9 = 42/9, syy = 24/9 -> r = -6/9 / sqrt(42*24/81) = -6/sqrt(1008)
        expected = _col(NAN, NAN, 0.0, 2 / math.sqrt(48 / 9), -6 / math.sqrt(1008))
        np.testing.assert_allclose(f["correlation"](x, y, 3), expected, rtol=1e-13)
        nan_mode = Conventions(zero_variance_corr="nan")
        expected[2, 0] = NAN
        np.testing.assert_allclose(f["correlation"](x, y, 3, conv=nan_mode), expected, rtol=1e-13)
        # covariance of a constant window is 0 (not NaN); row 3: 2 / (3-1) = 1
        np.testing.assert_allclose(f["covariance"](x, y, 3)[2:4], _col(0.0, 1.0), rtol=1e-13, atol=1e-15)
        # both windows constant, even at a large level -> 0
        big = _col(1e5, 1e5, 1e5)
        np.testing.assert_array_equal(f["correlation"](big, big, 3), _col(NAN, NAN, 0.0))

    def test_fractional_windows(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = _col(*range(1, 11))  # 1..10
        floor_, round_ = Conventions(), Conventions(window_rule="round")
        # 6.9 -> 6 (floor): first sum at row 5 = 1+..+6 = 21; row 9 = 5+..+10 = 45
        got = f["ts_sum"](x, 6.9)
        assert np.isnan(got[:5]).all() and got[5, 0] == 21 and got[9, 0] == 45
        # 6.9 -> 7 (round): first sum at row 6 = 1+..+7 = 28; row 9 = 4+..+10 = 49
        got = f["ts_sum"](x, 6.9, conv=round_)
        assert np.isnan(got[:6]).all() and got[6, 0] == 28 and got[9, 0] == 49
        # delay/delta follow the same rule: delay(x, 2.7) shifts 2 (floor) or 3 (round)
        assert f["delay"](x, 2.7, conv=floor_)[2, 0] == 1 and f["delay"](x, 2.7, conv=round_)[3, 0] == 1
        assert f["delta"](x, 2.7)[9, 0] == 2 and f["delta"](x, 2.7, conv=round_)[9, 0] == 3
        # a window below 1 becomes 1
        np.testing.assert_array_equal(f["ts_sum"](x, 0.5), x)
        np.testing.assert_array_equal(f["delay"](x, 0.2)[1:], x[:-1])

    def test_short_history(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = _col(1, 2, 3)
        # fewer rows than the window: nothing is ever complete
        for name in ("ts_sum", "ts_min", "ts_rank", "decay_linear", "stddev", "delay", "delta"):
            assert np.isnan(f[name](x, 5)).all(), name
        assert np.isnan(f["correlation"](x, x, 4)).all()
        # exactly d rows: only the last row is complete; std(1,2,3) = 1
        np.testing.assert_allclose(f["stddev"](x, 3), _col(NAN, NAN, 1.0), rtol=1e-15)

    def test_cross_sectional_nan_rules(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = np.array([[1.0, -3.0, NAN, 4.0], [0.0, 0.0, NAN, 0.0], [NAN, NAN, NAN, NAN]])
        # row 0: sum |x| = 1 + 3 + 4 = 8 -> x*2/8; rows 1-2: zero or all-NaN denominator -> NaN
        np.testing.assert_allclose(
            f["scale"](x, 2.0),
            [[0.25, -0.75, NAN, 1.0], [NAN] * 4, [NAN] * 4],
            rtol=1e-15,
        )
        g = np.array([0, 0, 0, -1])
        # group 0 row 0: mean of (1, -3) = -1 (NaN skipped) -> (2, -2, NaN); group -1 -> NaN
        np.testing.assert_allclose(f["indneutralize"](x, g), [[2.0, -2.0, NAN, NAN], [0.0, 0.0, NAN, NAN], [NAN] * 4])

    def test_elementwise_nan_rules(self, registry: str) -> None:
        f = REGISTRIES[registry]
        x = np.array([[1.0, NAN, -2.0, 0.0]])
        y = np.array([[0.0, 1.0, 2.0, 0.0]])
        np.testing.assert_array_equal(f["div"](x, y), [[NAN, NAN, -1.0, NAN]])  # 1/0, NaN/1, -2/2, 0/0
        np.testing.assert_array_equal(f["log"](x), [[0.0, NAN, NAN, NAN]])  # log 1, NaN, x<=0
        np.testing.assert_array_equal(f["lt"](x, y), [[0.0, NAN, 1.0, 0.0]])
        np.testing.assert_array_equal(f["eq"](x, y), [[0.0, NAN, 0.0, 1.0]])
        np.testing.assert_array_equal(f["and_"](x, y), [[0.0, NAN, 1.0, 0.0]])
        np.testing.assert_array_equal(f["or_"](x, y), [[1.0, NAN, 1.0, 0.0]])
        np.testing.assert_array_equal(f["where"](x, 7.0, y), [[7.0, NAN, 7.0, 0.0]])  # c=0 -> b
        # (-2)^0.5 and 0^-1 are not finite -> NaN; 2^2 = 4; scalar broadcast
        np.testing.assert_array_equal(f["power"](x, 0.5)[0, 2], NAN)
        np.testing.assert_array_equal(f["power"](np.array([[0.0, 2.0]]), np.array([[-1.0, 2.0]])), [[NAN, 4.0]])
        # signedpower(-2, 2) = -4; sign keeps NaN
        np.testing.assert_array_equal(f["signedpower"](x, 2.0), [[1.0, NAN, -4.0, 0.0]])
        np.testing.assert_array_equal(f["sign"](x), [[1.0, NAN, -1.0, 0.0]])
        np.testing.assert_array_equal(f["min2"](x, y), [[0.0, NAN, -2.0, 0.0]])
        np.testing.assert_array_equal(f["add"](x, 1.0), [[2.0, NAN, -1.0, 1.0]])
        np.testing.assert_array_equal(f["neg"](x), [[-1.0, NAN, 2.0, -0.0]])


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
@pytest.mark.parametrize("k", [5, 80])
def test_rank_orders_values_that_round_to_one_float32(registry: str, k: int) -> None:
    # 1 + i ulp (i = 0..k-1) all round to float32 1.0; shuffled, their exact ranks are (i + 1) / k.
    # k = 5 and k = 80 cover short and long runs of equal float32 keys in the fast kernel.
    i = np.random.default_rng(3).permutation(k)
    row = 1.0 + i * np.finfo(np.float64).eps
    got = REGISTRIES[registry]["rank"](row[None, :], conv=Conventions(ties="exact"))
    np.testing.assert_array_equal(got[0], (i + 1) / k)
    # tolerant ties: one group of k values -> all get the average rank (k + 1) / (2 k)
    np.testing.assert_array_equal(REGISTRIES[registry]["rank"](row[None, :])[0], np.full(k, (k + 1) / (2 * k)))


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
def test_rank_beyond_float32_range_and_signed_zeros(registry: str) -> None:
    # 1e300 and 1e299 both overflow float32, -1e-50 and -1e-60 both flush to -0.0, 1e-320 to +0.0.
    row = np.array([[1e300, -1e-50, 0.0, -0.0, 1e-320, -1e-60, 1e299, -1e300, NAN, 7.0, 7.0]])
    conv = Conventions(ties="exact", rank_ties="first")
    # sorted: -1e300, -1e-50, -1e-60, 0.0 (col 2), -0.0 (col 3), 1e-320, 7 (col 9), 7 (col 10), 1e299, 1e300
    expected = np.array([[10, 2, 4, 5, 6, 3, 9, 1, NAN, 7, 8]]) / 10.0
    np.testing.assert_array_equal(REGISTRIES[registry]["rank"](row, conv=conv), expected)


def test_indneutralize_sparse_and_time_varying_groups() -> None:
    x = np.array([[1.0, 2.0, 4.0, 8.0], [1.0, 2.0, 4.0, 8.0]])
    # raw codes as ids: {1e9: cols 0, 2}, {5: cols 1, 3}; row 0: 1-2.5, 2-5, 4-2.5, 8-5
    g = np.array([10**9, 5, 10**9, 5])
    np.testing.assert_array_equal(FAST_OPS["indneutralize"](x, g), [[-1.5, -3, 1.5, 3]] * 2)
    # (T, N) groups: on row 1 col 2 moves to group 5 -> {0} and {1, 2, 3}: 1-1, 2-14/3, 4-14/3, 8-14/3
    g2 = np.array([[0, 5, 0, 5], [0, 5, 5, 5]])
    expected = np.array([[-1.5, -3, 1.5, 3], [0.0, 2 - 14 / 3, 4 - 14 / 3, 8 - 14 / 3]])
    for f in (FAST_OPS, REFERENCE_OPS):
        np.testing.assert_allclose(f["indneutralize"](x, g2), expected, rtol=1e-15)


def test_time_series_ops_accept_a_1d_series() -> None:
    x = np.arange(1.0, 6.0)
    for name in WINDOWED_OPS:
        args = (x, x, 3) if name in ("correlation", "covariance") else (x, 3)
        got = FAST_OPS[name](*args)
        assert got.shape == (5,), name
        np.testing.assert_allclose(got, REFERENCE_OPS[name](*args), equal_nan=True, rtol=1e-12)


# -------------------------------------------------------------------- precision at price levels
@pytest.mark.parametrize("name", ["ts_sum", "stddev", "decay_linear", "correlation", "covariance"])
@pytest.mark.parametrize("d", [2, 5, 20, 61])
def test_moments_are_accurate_at_price_levels(name: str, d: int) -> None:
    """Prices ~1e5 with small moves: a naive sum(x^2) - sum(x)^2/d loses ~10 digits here."""
    rng = np.random.default_rng(d)
    x = 1e5 + np.cumsum(rng.standard_normal((400, 3)), axis=0)
    y = 2e5 + np.cumsum(rng.standard_normal((400, 3)), axis=0)
    args = (x, y, d) if name in ("correlation", "covariance") else (x, d)
    got, ref = FAST_OPS[name](*args), REFERENCE_OPS[name](*args)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = ~np.isnan(ref)
    # relative to the magnitude of what is summed, so near-zero results are not over-demanded
    mag = {"ts_sum": 1e5 * d, "stddev": 1.0, "decay_linear": 1e5, "correlation": 1.0, "covariance": 1.0}
    tol = 1e-11 * np.maximum(np.abs(ref[ok]), mag[name])
    assert (np.abs(got[ok] - ref[ok]) <= tol).all()


# ----------------------------------------------------------- (c) property tests: fast == reference
SIGNATURES: dict[str, tuple[str, ...]] = {
    # x, y: panels; c: panel of 0/1/NaN; d: window; a: exponent/scale; g: (N,) group ids
    **{name: ("x", "d") for name in WINDOWED_OPS if name not in ("correlation", "covariance")},
    "correlation": ("x", "y", "d"),
    "covariance": ("x", "y", "d"),
    "rank": ("x",),
    "scale": ("x", "a"),
    "signedpower": ("x", "a"),
    "indneutralize": ("x", "g"),
    **{name: ("x",) for name in ("abs", "log", "sign", "neg")},
    **{name: ("x", "y") for name in ("power", "min2", "max2", "lt", "le", "gt", "ge", "eq", "ne", "and_", "or_")},
    **{name: ("x", "y") for name in ("add", "sub", "mul", "div")},
    "where": ("c", "x", "y"),
}

CONVENTIONS = [
    DEFAULT,
    Conventions(window_rule="round", zero_variance_corr="nan", rank_ties="min"),
    Conventions(rank_ties="max"),
    Conventions(rank_ties="first"),
    Conventions(ties="exact"),
    Conventions(ties="exact", rank_ties="first"),
    PEERS["alpha101v"],
    Conventions(rank_scale="zero_to_one", arg_basis="days_ago", ddof=0, decay_nan="zero", rank_ties="min"),
]

# relative noise that makes near-ties: inside the tie tolerance (1e-15, 1e-12, 4e-10), just outside
# (2e-9, so chains of two noisy values straddle an anchor), and far outside (1e-6)
NEAR_TIE_NOISE = [0.0, 1e-15, -1e-15, 1e-12, 4e-10, -4e-10, 8e-10, 2e-9, -2e-9, 1e-6]


@st.composite
def panels(draw: st.DrawFn) -> dict[str, Any]:
    """Small panels with ties (values on a 0.5 grid), zeros and ~12% NaN, plus a window and numbers."""
    t = draw(st.integers(1, 24))
    n = draw(st.integers(1, 5))
    cell = st.one_of(
        st.integers(-6, 6).map(lambda k: k / 2.0),
        st.tuples(st.integers(-6, 6), st.sampled_from(NEAR_TIE_NOISE)).map(lambda kv: kv[0] / 2.0 * (1.0 + kv[1])),
        # magnitudes below 1e-100 are flushed to 0: their squares underflow to subnormals, where no
        # variance-based kernel (fast or reference) keeps 1e-9 relative precision; prices never go there
        st.floats(-50, 50, allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
            lambda v: 0.0 if abs(v) < 1e-100 else v
        ),
    )
    weights_cell = st.integers(0, 7).flatmap(lambda k: cell if k else st.just(NAN))

    def panel() -> np.ndarray:
        values = draw(st.lists(weights_cell, min_size=t * n, max_size=t * n))
        return np.array(values, dtype=np.float64).reshape(t, n)

    c = panel()
    c = np.where(np.isnan(c), NAN, (c > 0).astype(np.float64))
    return {
        "x": panel(),
        "y": panel(),
        "c": c,
        "d": draw(st.one_of(st.integers(1, 8), st.floats(0.2, 9.0))),
        "a": draw(st.sampled_from([0.5, 1.0, 2.0, 3.0, -1.0])),
        "g": np.array(draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n)), dtype=np.int64),
        "conv": draw(st.sampled_from(CONVENTIONS)),
    }


def _args(name: str, p: dict[str, Any]) -> list[Any]:
    return [p[k] for k in SIGNATURES[name]]


def test_signatures_cover_every_operator() -> None:
    assert set(SIGNATURES) == set(FAST_OPS)


def _check_fast_equals_reference(name: str, p: dict[str, Any]) -> None:
    args = _args(name, p)
    got = FAST_OPS[name](*args, conv=p["conv"])
    ref = REFERENCE_OPS[name](*args, conv=p["conv"])
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("name", sorted(WINDOWED_OPS))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=panels())
def test_fast_equals_reference_windowed(name: str, p: dict[str, Any]) -> None:
    _check_fast_equals_reference(name, p)


@pytest.mark.parametrize("name", sorted(set(FAST_OPS) - set(WINDOWED_OPS)))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=panels())
def test_fast_equals_reference_other(name: str, p: dict[str, Any]) -> None:
    _check_fast_equals_reference(name, p)


@settings(max_examples=50, deadline=None)
@given(p=panels())
def test_rank_in_unit_interval(p: dict[str, Any]) -> None:
    x = p["x"]
    conv = dataclasses.replace(p["conv"], rank_scale="one_over_n")  # zero_to_one: see test_peer_modes
    for f in (FAST_OPS["rank"], REFERENCE_OPS["rank"]):
        r = f(x, conv=conv)
        np.testing.assert_array_equal(np.isnan(r), np.isnan(x))  # NaN exactly where x is NaN
        valid = r[~np.isnan(r)]
        assert ((valid > 0) & (valid <= 1)).all()
        # the largest value of each row ranks exactly 1 unless ties are averaged / taken at the minimum
        if conv.rank_ties in ("max", "first"):
            for row in r:
                if not np.isnan(row).all():
                    assert np.nanmax(row) == 1.0


@settings(max_examples=60, deadline=None)
@given(p=panels())
def test_ts_rank_in_unit_interval(p: dict[str, Any]) -> None:
    r = FAST_OPS["ts_rank"](p["x"], p["d"], conv=p["conv"])
    valid = r[~np.isnan(r)]
    if p["conv"].rank_scale == "zero_to_one":
        assert ((valid >= 0) & (valid <= 1)).all()
    else:
        assert ((valid > 0) & (valid <= 1)).all()


# ------------------------------------------------------------------------------- (d) no look-ahead
@pytest.mark.parametrize("registry", sorted(REGISTRIES))
@pytest.mark.parametrize("name", sorted(FAST_OPS))
def test_no_look_ahead(name: str, registry: str) -> None:
    """Rewriting every row after t leaves rows <= t of every output bit-for-bit unchanged."""
    rng = np.random.default_rng(7)
    t_rows, n_cols = 40, 6
    p: dict[str, Any] = {
        "x": 100 + rng.standard_normal((t_rows, n_cols)),
        "y": rng.standard_normal((t_rows, n_cols)),
        "c": (rng.random((t_rows, n_cols)) < 0.5).astype(np.float64),
        "d": 5.5,
        "a": 2.0,
        "g": np.array([0, 1, 0, 1, 2, -1]),
    }
    p["x"][rng.random((t_rows, n_cols)) < 0.05] = NAN
    f = REGISTRIES[registry][name]
    base = f(*_args(name, p))
    for t in (4, 5, 17, 30):
        q = dict(p)
        for key in ("x", "y", "c"):
            future = p[key].copy()
            future[t + 1 :] = rng.standard_normal((t_rows - t - 1, n_cols)) * 1e3
            q[key] = future
        changed = f(*_args(name, q))
        np.testing.assert_array_equal(changed[: t + 1], base[: t + 1])
        # and the future rows do change for every operator (the perturbation is effective)
        assert not np.array_equal(changed[t + 1 :], base[t + 1 :], equal_nan=True)
