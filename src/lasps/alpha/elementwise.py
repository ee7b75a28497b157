"""Parallel elementwise kernels for the engine: the same values as :data:`~lasps.alpha.operators.FAST_OPS`,
on both cores.

``FAST_OPS``' elementwise operators are numpy ufunc chains: one thread, and several passes over
memory (``x / y`` then a finiteness mask then a masked store; a comparison, a cast, two ``isnan`` masks
and a ``where``). The 101 paper alphas hold ~420 such nodes on ``(T, N)`` panels (mul 151, sub 68,
add 57, div 55, lt 30, where 16 ...). The kernels here do each in one pass, parallel over rows, and
give **bit-identical** results (the same IEEE operation per cell; no fast-math):

=========  ============================================================================
``add``    ``x + y``          ``sub`` ``x - y``        ``mul`` ``x * y``      ``neg`` ``-x``
``div``    ``x / y``, non-finite -> NaN (``operators.div``)
``lt`` …   ``lt le gt ge eq ne``: 1.0 / 0.0, NaN where an operand is NaN (``operators._compare``)
``where``  ``c != 0 ? a : b``, NaN where ``c`` is NaN (``operators.where``)
=========  ============================================================================

:func:`apply` takes the engine's operands (``(T, N)`` float64 arrays or Python numbers) and returns None
when it does not handle the call (another operator, another shape or dtype), so the engine falls back
to ``FAST_OPS``. ``out`` may be one of the operands (the engine passes a buffer nobody needs later).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

__all__ = ["OPS", "apply"]

_ADD, _SUB, _MUL, _DIV, _LT, _LE, _GT, _GE, _EQ, _NE = range(10)
_BINARY = {"add": _ADD, "sub": _SUB, "mul": _MUL, "div": _DIV, "lt": _LT, "le": _LE, "gt": _GT, "ge": _GE,
           "eq": _EQ, "ne": _NE}
OPS: frozenset[str] = frozenset({*_BINARY, "neg", "where"})
"""Operator names :func:`apply` handles."""


@njit(cache=True, inline="always", error_model="numpy")
def _binop(code: int, a: float, b: float) -> float:  # pragma: no cover - numba
    if code == _ADD:
        return a + b
    if code == _SUB:
        return a - b
    if code == _MUL:
        return a * b
    if code == _DIV:
        if b == 0.0:
            return np.nan  # x / 0 is ±inf or NaN: non-finite -> NaN
        r = a / b
        return r if np.isfinite(r) else np.nan
    if np.isnan(a) or np.isnan(b):
        return np.nan
    if code == _LT:
        return 1.0 if a < b else 0.0
    if code == _LE:
        return 1.0 if a <= b else 0.0
    if code == _GT:
        return 1.0 if a > b else 0.0
    if code == _GE:
        return 1.0 if a >= b else 0.0
    if code == _EQ:
        return 1.0 if a == b else 0.0
    return 1.0 if a != b else 0.0


@njit(cache=True, parallel=True, error_model="numpy")
def _binary_aa(code: int, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    T, N = out.shape
    for t in prange(T):
        for j in range(N):
            out[t, j] = _binop(code, x[t, j], y[t, j])


@njit(cache=True, parallel=True, error_model="numpy")
def _binary_as(code: int, x: np.ndarray, y: float, out: np.ndarray) -> None:  # pragma: no cover
    T, N = out.shape
    for t in prange(T):
        for j in range(N):
            out[t, j] = _binop(code, x[t, j], y)


@njit(cache=True, parallel=True, error_model="numpy")
def _binary_sa(code: int, x: float, y: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    T, N = out.shape
    for t in prange(T):
        for j in range(N):
            out[t, j] = _binop(code, x, y[t, j])


@njit(cache=True, parallel=True, error_model="numpy")
def _neg(x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    T, N = out.shape
    for t in prange(T):
        for j in range(N):
            out[t, j] = -x[t, j]


@njit(cache=True, parallel=True, error_model="numpy")
def _where(c: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """``a``/``b`` are (T, N) or (1, 1) (a broadcast number)."""
    T, N = out.shape
    sa = a.shape[0] == 1
    sb = b.shape[0] == 1
    for t in prange(T):
        for j in range(N):
            cv = c[t, j]
            if np.isnan(cv):
                out[t, j] = np.nan
            elif cv != 0.0:
                out[t, j] = a[0, 0] if sa else a[t, j]
            else:
                out[t, j] = b[0, 0] if sb else b[t, j]


def _panel(v: Any, shape: tuple[int, int]) -> bool:
    return (isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == shape
            and v.flags.c_contiguous)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def apply(op: str, args: list[Any], shape: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray | None:
    """Evaluate elementwise ``op`` on ``args`` in parallel, or return None when not handled here.

    ``shape`` is the panel's ``(T, N)``; every array operand must be a C-contiguous float64 array of
    that shape, every other operand a number. ``out`` (same kind of array) receives the result, else a
    new array is returned.
    """
    if op not in OPS:
        return None
    if not any(_panel(a, shape) for a in args):
        return None
    if not all(_panel(a, shape) or _number(a) for a in args):
        return None
    if out is None:
        out = np.empty(shape, dtype=np.float64)
    if op == "neg":
        _neg(args[0], out)
    elif op == "where":
        c, a, b = args
        if not isinstance(c, np.ndarray):
            return None
        _where(c, _as_2d(a), _as_2d(b), out)
    else:
        x, y = args
        code = _BINARY[op]
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            _binary_aa(code, x, y, out)
        elif isinstance(x, np.ndarray):
            _binary_as(code, x, float(y), out)
        else:
            _binary_sa(code, float(x), y, out)
    return out


def _as_2d(v: Any) -> np.ndarray:
    return v if isinstance(v, np.ndarray) else np.full((1, 1), float(v))

