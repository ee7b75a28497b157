"""Slow, obviously-correct reference implementations of every operator (DESIGN.md §3.2).

Written independently of :mod:`lasps.alpha.operators` (no shared code beyond :class:`Conventions`):
explicit Python loops over dates, codes and window rows, numpy only on one small window at a time.
Use them to cross-check the fast kernels on small panels; they are far too slow for real panels.

Same registry keys and call signatures as ``operators.FAST_OPS``: panels are (T, N) float64 arrays
(time-series operators also take a (T,) series), numbers are Python numbers, keyword ``conv``.
Row ``t`` of a time-series result uses rows ``t-d+1 .. t`` (``delay``/``delta``: ``t-d`` and ``t``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from lasps.alpha.conventions import DEFAULT, Conventions

__all__ = ["REFERENCE_OPS"]

NAN = float("nan")


def _as_2d(x: Any) -> np.ndarray:
    a = np.array(x, dtype=np.float64)
    return a.reshape(-1, 1) if a.ndim == 1 else a


def _back(out: np.ndarray, like: Any) -> np.ndarray:
    return out.reshape(-1) if np.ndim(like) == 1 else out


def _rolling(x: Any, d: float, conv: Conventions, f: Callable[[np.ndarray], float]) -> np.ndarray:
    """Apply ``f`` to every complete, NaN-free window of each column; NaN elsewhere."""
    a = _as_2d(x)
    n = conv.window(d)
    T, N = a.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        for t in range(n - 1, T):
            win = a[t - n + 1 : t + 1, j]
            if not np.isnan(win).any():
                out[t, j] = f(win)
    return _back(out, x)


def _rolling2(x: Any, y: Any, d: float, conv: Conventions, f: Callable[[np.ndarray, np.ndarray], float]) -> np.ndarray:
    a, b = _as_2d(x), _as_2d(y)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    n = conv.window(d)
    T, N = a.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        for t in range(n - 1, T):
            wa = a[t - n + 1 : t + 1, j]
            wb = b[t - n + 1 : t + 1, j]
            if not (np.isnan(wa).any() or np.isnan(wb).any()):
                out[t, j] = f(wa, wb)
    return _back(out, x)


# ------------------------------------------------------------------------------------ cross-section
def _tie_groups(values: list[float], conv: Conventions) -> list[int]:
    """Tie-group number of each value (0 = smallest group), in the order of ``values``.

    Walks the values in sorted order; a value joins the current group when it is within the tie
    tolerance of the group's anchor (its smallest member), else it anchors a new group.
    """
    atol, rtol = conv.tie_tolerance
    groups = [0] * len(values)
    group, anchor = -1, NAN
    for i in sorted(range(len(values)), key=lambda k: values[k]):
        v = values[i]
        if group < 0 or not (v == anchor or v - anchor <= atol + rtol * max(math.fabs(v), math.fabs(anchor))):
            group, anchor = group + 1, v
        groups[i] = group
    return groups


def _rank_in_groups(groups: list[int], pos: int, ties: str) -> float:
    """1-based rank of member ``pos`` given every member's tie group (``first``: by position)."""
    g = groups[pos]
    less = sum(1 for h in groups if h < g)
    same = sum(1 for h in groups if h == g)
    if ties == "average":
        return less + (same + 1) / 2.0
    if ties == "min":
        return less + 1
    if ties == "max":
        return less + same
    return less + sum(1 for h in groups[: pos + 1] if h == g)  # first: ties ordered by position


def rank(x: np.ndarray, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Percentile rank per row by counting tie groups: (#in lower groups + tie share) / #non-NaN."""
    a = _as_2d(x)
    out = np.full(a.shape, NAN)
    for t in range(a.shape[0]):
        row = a[t]
        valid = [j for j in range(row.size) if not math.isnan(row[j])]
        groups = _tie_groups([float(row[j]) for j in valid], conv)
        for pos, j in enumerate(valid):
            out[t, j] = _scaled(_rank_in_groups(groups, pos, conv.rank_ties), len(valid), conv)
    return out


def _scaled(k: float, n: int, conv: Conventions) -> float:
    """1-based rank k of n values as k / n, or (k - 1) / (n - 1) (NaN for n = 1) with zero_to_one."""
    if conv.rank_scale == "one_over_n":
        return k / n
    return (k - 1) / (n - 1) if n > 1 else NAN


def scale(x: np.ndarray, a: float = 1.0, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """x * a / sum(|x|) per row over non-NaN cells; zero or empty sum -> NaN row."""
    p = _as_2d(x)
    out = np.full(p.shape, NAN)
    for t in range(p.shape[0]):
        total = 0.0
        for v in p[t]:
            if not math.isnan(v):
                total += math.fabs(v)
        if total == 0.0:
            continue
        for j, v in enumerate(p[t]):
            out[t, j] = v * a / total
    return out


def indneutralize(x: np.ndarray, groups: np.ndarray, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """x minus the mean of its group's non-NaN cells per row; group < 0 (unknown) -> NaN."""
    p = _as_2d(x)
    g = np.asarray(groups, dtype=np.float64)
    if g.ndim == 1:
        g = np.tile(g, (p.shape[0], 1))
    out = np.full(p.shape, NAN)
    for t in range(p.shape[0]):
        members: dict[int, list[float]] = {}
        for j in range(p.shape[1]):
            gid, v = g[t, j], p[t, j]
            if not math.isnan(gid) and gid >= 0 and not math.isnan(v):
                members.setdefault(int(gid), []).append(v)
        for j in range(p.shape[1]):
            gid, v = g[t, j], p[t, j]
            if not math.isnan(gid) and gid >= 0 and not math.isnan(v):
                vals = members[int(gid)]
                out[t, j] = v - sum(vals) / len(vals)
    return out


# ------------------------------------------------------------------------------------- time series
def delay(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """out[t] = x[t - d]."""
    a = _as_2d(x)
    n = conv.window(d)
    out = np.full(a.shape, NAN)
    for t in range(n, a.shape[0]):
        out[t] = a[t - n]
    return _back(out, x)


def delta(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """out[t] = x[t] - x[t - d]."""
    a = _as_2d(x)
    n = conv.window(d)
    out = np.full(a.shape, NAN)
    for t in range(n, a.shape[0]):
        out[t] = a[t] - a[t - n]
    return _back(out, x)


def ts_sum(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Sum of the window, added one value at a time (math.fsum: correctly rounded)."""
    return _rolling(x, d, conv, lambda w: math.fsum(w))


def product(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Product of the window."""
    return _rolling(x, d, conv, lambda w: math.prod(w))


def stddev(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Two-pass standard deviation of the window, dividing by (size - conv.ddof); NaN if that is 0."""

    def f(w: np.ndarray) -> float:
        if w.size - conv.ddof < 1:
            return NAN
        mean = math.fsum(w) / w.size
        return math.sqrt(math.fsum((v - mean) ** 2 for v in w) / (w.size - conv.ddof))

    return _rolling(x, d, conv, f)


def decay_linear(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """sum(w_i x_i) / sum(w_i) with w = 1 (oldest) .. d (today).

    ``conv.decay_nan="zero"``: a NaN adds nothing (its weight stays in the denominator); a window
    without any value is NaN.
    """

    def f(w: np.ndarray) -> float:
        weights = range(1, w.size + 1)
        return math.fsum(wi * v for wi, v in zip(weights, w, strict=True)) / sum(weights)

    if conv.decay_nan == "nan":
        return _rolling(x, d, conv, f)
    a = _as_2d(x)
    n = conv.window(d)
    out = np.full(a.shape, NAN)
    for j in range(a.shape[1]):
        for t in range(n - 1, a.shape[0]):
            win = a[t - n + 1 : t + 1, j]
            if not np.isnan(win).all():
                out[t, j] = f(np.where(np.isnan(win), 0.0, win))
    return _back(out, x)


def covariance(x: np.ndarray, y: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Two-pass covariance of the two windows, dividing by (size - conv.ddof).

    One-row windows are NaN under either ddof (what the peers' pandas ``rolling.cov`` gives).
    """

    def f(a: np.ndarray, b: np.ndarray) -> float:
        if a.size < 2:
            return NAN
        ma, mb = math.fsum(a) / a.size, math.fsum(b) / b.size
        return math.fsum((u - ma) * (v - mb) for u, v in zip(a, b, strict=True)) / (a.size - conv.ddof)

    return _rolling2(x, y, d, conv, f)


def correlation(x: np.ndarray, y: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Pearson correlation of the two windows, clipped; zero-variance window -> 0 (or NaN)."""

    def flat(w: np.ndarray) -> bool:
        mean = math.fsum(w) / w.size
        pop_var = math.fsum((v - mean) ** 2 for v in w) / w.size
        return pop_var <= 1e-12 * (math.fsum(v * v for v in w) / w.size)

    def f(a: np.ndarray, b: np.ndarray) -> float:
        if flat(a) or flat(b):
            return 0.0 if conv.zero_variance_corr == "zero" else NAN
        ma, mb = math.fsum(a) / a.size, math.fsum(b) / b.size
        sab = math.fsum((u - ma) * (v - mb) for u, v in zip(a, b, strict=True))
        saa = math.fsum((u - ma) ** 2 for u in a)
        sbb = math.fsum((v - mb) ** 2 for v in b)
        return min(1.0, max(-1.0, sab / math.sqrt(saa * sbb)))

    return _rolling2(x, y, d, conv, f)


def ts_min(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Smallest value of the window."""
    return _rolling(x, d, conv, lambda w: float(min(w)))


def ts_max(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Largest value of the window."""
    return _rolling(x, d, conv, lambda w: float(max(w)))


def _first_in_group(w: np.ndarray, conv: Conventions, lowest: bool) -> float:
    """1-based position (1 = oldest row) of the first value in the lowest (or highest) tie group."""
    groups = _tie_groups([float(v) for v in w], conv)
    target = 0 if lowest else max(groups)
    position = groups.index(target) + 1
    return float(w.size - position if conv.arg_basis == "days_ago" else position)


def ts_argmin(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """1-based position (from the oldest row) of the first value tied (conv.ties) with the minimum."""
    return _rolling(x, d, conv, lambda w: _first_in_group(w, conv, lowest=True))


def ts_argmax(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """1-based position (from the oldest row) of the first value in the window's highest tie group."""
    return _rolling(x, d, conv, lambda w: _first_in_group(w, conv, lowest=False))


def ts_rank(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rank of the last value among the window's tie groups (conv.rank_ties) / window size.

    ``first`` equals ``max`` here: today is the latest of its ties.
    """
    ties = "max" if conv.rank_ties == "first" else conv.rank_ties
    return _rolling(x, d, conv, lambda w: _scaled(_rank_in_groups(_tie_groups([float(v) for v in w], conv),
                                                                  w.size - 1, ties), w.size, conv))


# -------------------------------------------------------------------------------------- elementwise
def _each(f: Callable[..., float], *args: Any) -> np.ndarray:
    """Apply the scalar function ``f`` cell by cell over the broadcast operands."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args))
    out = np.empty(arrays[0].shape)
    for idx in np.ndindex(out.shape):
        out[idx] = f(*(float(a[idx]) for a in arrays))
    return out


def _nan_in(*vals: float) -> bool:
    return any(math.isnan(v) for v in vals)


def _finite(v: float) -> float:
    return v if math.isfinite(v) else NAN


def _abs(x: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
    return _each(math.fabs, x)


def _log(x: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
    return _each(lambda v: math.log(v) if v > 0 else NAN, x)


def _sign(x: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
    return _each(lambda v: NAN if math.isnan(v) else (v > 0) - (v < 0), x)


def _neg(x: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
    return _each(lambda v: -v, x)


def _pow(base: float, exp: float) -> float:
    """C ``pow`` semantics (math.pow); domain errors and overflow -> NaN, non-finite -> NaN."""
    try:
        return _finite(math.pow(base, exp))
    except (ValueError, OverflowError, ZeroDivisionError):
        return NAN


def signedpower(x: Any, a: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """sign(x) * |x| ** a, non-finite -> NaN."""

    def f(v: float, e: float) -> float:
        if _nan_in(v, e):
            return NAN
        return _finite(((v > 0) - (v < 0)) * _pow(math.fabs(v), e))

    return _each(f, x, a)


def power(x: Any, y: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """x ** y, non-finite (or complex) results -> NaN; ``power_negative="abs"``: |x| ** y for x < 0
    and a non-integer y."""

    def f(a: float, b: float) -> float:
        if conv.power_negative == "abs" and a < 0 and math.isfinite(b) and b != math.floor(b):
            a = -a
        return _pow(a, b)

    return _each(f, x, y)


def _minmax(pick: Callable[[float, float], float]) -> Callable[..., np.ndarray]:
    def op(x: Any, y: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
        def f(a: float, b: float) -> float:
            if math.isnan(a) or math.isnan(b):
                if conv.minmax_nan == "propagate":
                    return NAN
                return b if math.isnan(a) else a
            return pick(a, b)

        return _each(f, x, y)

    return op


def or_(x: Any, y: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """x || y as 1.0/0.0; NaN if an operand is NaN, unless ``or_nan="kleene"`` and the other is true."""

    def f(a: float, b: float) -> float:
        if _nan_in(a, b):
            known_true = (not math.isnan(a) and a != 0) or (not math.isnan(b) and b != 0)
            return 1.0 if conv.or_nan == "kleene" and known_true else NAN
        return float(a != 0 or b != 0)

    return _each(f, x, y)


def _binary(f: Callable[[float, float], float]) -> Callable[..., np.ndarray]:
    def op(x: Any, y: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
        return _each(lambda a, b: NAN if _nan_in(a, b) else f(a, b), x, y)

    return op


def _div(a: float, b: float) -> float:
    if b == 0:
        return NAN
    try:
        return _finite(a / b)
    except OverflowError:
        return NAN


def where(c: Any, a: Any, b: Any, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """c ? a : b, NaN where c is NaN."""
    return _each(lambda cv, av, bv: NAN if math.isnan(cv) else (av if cv != 0 else bv), c, a, b)


REFERENCE_OPS: dict[str, Callable[..., np.ndarray]] = {
    "rank": rank,
    "delay": delay,
    "delta": delta,
    "correlation": correlation,
    "covariance": covariance,
    "scale": scale,
    "signedpower": signedpower,
    "decay_linear": decay_linear,
    "indneutralize": indneutralize,
    "ts_min": ts_min,
    "ts_max": ts_max,
    "ts_argmin": ts_argmin,
    "ts_argmax": ts_argmax,
    "ts_rank": ts_rank,
    "ts_sum": ts_sum,
    "product": product,
    "stddev": stddev,
    "abs": _abs,
    "log": _log,
    "sign": _sign,
    "power": power,
    "min2": _minmax(lambda a, b: a if a <= b else b),
    "max2": _minmax(lambda a, b: a if a >= b else b),
    "lt": _binary(lambda a, b: float(a < b)),
    "le": _binary(lambda a, b: float(a <= b)),
    "gt": _binary(lambda a, b: float(a > b)),
    "ge": _binary(lambda a, b: float(a >= b)),
    "eq": _binary(lambda a, b: float(a == b)),
    "ne": _binary(lambda a, b: float(a != b)),
    "and_": _binary(lambda a, b: float(a != 0 and b != 0)),
    "or_": or_,
    "where": where,
    "add": _binary(lambda a, b: a + b),
    "sub": _binary(lambda a, b: a - b),
    "mul": _binary(lambda a, b: a * b),
    "div": _binary(_div),
    "neg": _neg,
}
"""Operator name -> slow reference implementation. Same keys as ``operators.FAST_OPS``."""
