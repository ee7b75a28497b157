"""Parallel elementwise kernels: bit-identical to FAST_OPS, operator by operator and through the engine."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.alpha import elementwise
from lasps.alpha.catalogue import CUSTOM_IDS
from lasps.alpha.engine import compile_alphas
from lasps.alpha.operators import FAST_OPS

from .synthetic_panel import make_panel

SHAPE = (37, 29)


def awkward(seed: int) -> np.ndarray:
    """Values with NaN, ±inf, ±0, ties, tiny and huge magnitudes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=SHAPE) * 10.0 ** rng.integers(-3, 4, SHAPE)
    picks = rng.random(SHAPE)
    x[picks < 0.05] = np.nan
    x[(picks >= 0.05) & (picks < 0.08)] = 0.0
    x[(picks >= 0.08) & (picks < 0.10)] = -0.0
    x[(picks >= 0.10) & (picks < 0.11)] = np.inf
    x[(picks >= 0.11) & (picks < 0.12)] = -np.inf
    x[(picks >= 0.12) & (picks < 0.20)] = 1.0  # ties
    return x


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, NaN at the same places, and the same sign of every zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a) & (a == 0), np.signbit(b) & (b == 0)))


@pytest.mark.parametrize("op", sorted(elementwise.OPS - {"neg", "where"}))
@pytest.mark.parametrize("form", ["array-array", "array-number", "number-array"])
def test_binary_ops_match_fast_ops(op: str, form: str) -> None:
    x, y = awkward(1), awkward(2)
    y[::3, ::4] = x[::3, ::4]  # equal pairs
    for number in (0.0, -0.0, 1.0, -2.5, 1e300):
        args = {"array-array": [x, y], "array-number": [x, number], "number-array": [number, y]}[form]
        got = elementwise.apply(op, list(args), SHAPE)
        assert got is not None
        with np.errstate(all="ignore"):  # inf - inf and friends, as in the engine
            expected = FAST_OPS[op](*args)
        assert same_bits(got, expected), (op, form, number)


def test_neg_where_and_out_aliasing() -> None:
    x, c, b = awkward(3), awkward(4), awkward(5)
    c[c == 1.0] = 0.0
    assert same_bits(elementwise.apply("neg", [x], SHAPE), FAST_OPS["neg"](x))
    for args in ([c, x, b], [c, 2.0, b], [c, x, -0.0], [c, 1, 0]):
        assert same_bits(elementwise.apply("where", list(args), SHAPE), FAST_OPS["where"](*args))
    expected = FAST_OPS["div"](x, b)
    buf = x.copy()
    out = elementwise.apply("div", [buf, b], SHAPE, out=buf)  # the result overwrites its own operand
    assert out is buf and same_bits(buf, expected)


def test_calls_it_does_not_handle_fall_back() -> None:
    x = awkward(6)
    assert elementwise.apply("power", [x, 2.0], SHAPE) is None  # not one of its operators
    assert elementwise.apply("add", [x[:, :5], 1.0], SHAPE) is None  # another shape
    assert elementwise.apply("add", [x.astype(np.float32), 1.0], SHAPE) is None
    assert elementwise.apply("add", [np.asfortranarray(x), 1.0], SHAPE) is None
    assert elementwise.apply("add", [1.0, 2.0], SHAPE) is None  # numbers only: folded at compile time


def test_engine_results_are_bit_identical_to_the_numpy_path() -> None:
    panel = make_panel(T=260, N=30, seed=9)
    ids = list(range(1, 102)) + list(CUSTOM_IDS)
    program = compile_alphas(ids, panel)
    fast = dict(program.run(panel))  # parallel elementwise kernels (ops is FAST_OPS)
    numpy_path = dict(program.run(panel, ops=dict(FAST_OPS)))  # a copy of the registry: the numpy kernels
    assert fast.keys() == numpy_path.keys() and len(fast) == len(ids)
    for name in fast:
        assert same_bits(fast[name], numpy_path[name]), name
