"""Scalar numba versions of the KRX tick and limit rules, for kernels that price one cell at a time.

Same arithmetic as the vectorised functions of :mod:`lasps.krx.rules` (the tests check them cell by
cell): a tick table is selected by its id (a row of :data:`lasps.krx.rules.TICK_BOUNDS`, see
:func:`lasps.krx.rules.tick_table_id`), and ``tb`` / ``tv`` are :data:`~lasps.krx.rules.TICK_BOUNDS` /
:data:`~lasps.krx.rules.TICK_VALUES` passed in as contiguous ``float64`` arrays (numba kernels take arrays,
not module globals). Prices are KRW; inputs must be finite and positive.

Kept apart from :mod:`lasps.krx.rules` so that importing the rules (the broker, the guard) does not import
numba.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_EPS = 1e-9  # in tick units, as in lasps.krx.rules


@numba.njit(cache=True)
def tick_nb(p: float, tid: int, tb: np.ndarray, tv: np.ndarray) -> float:  # pragma: no cover - numba
    """Tick (KRW) of price ``p`` in table ``tid`` (:func:`lasps.krx.rules.tick_size`)."""
    k = 0
    while p >= tb[tid, k]:
        k += 1
    return tv[tid, k]


@numba.njit(cache=True)
def round_nearest_nb(p: float, tid: int, tb: np.ndarray, tv: np.ndarray) -> float:  # pragma: no cover
    """``round_to_tick(p, mode="nearest")`` (half up)."""
    t = tick_nb(p, tid, tb, tv)
    return math.floor(p / t + 0.5) * t


@numba.njit(cache=True)
def round_down_nb(p: float, tid: int, tb: np.ndarray, tv: np.ndarray) -> float:  # pragma: no cover - numba
    """``round_to_tick(p, mode="down")``."""
    t = tick_nb(p, tid, tb, tv)
    return math.floor(p / t + _EPS) * t


@numba.njit(cache=True)
def round_up_nb(p: float, tid: int, tb: np.ndarray, tv: np.ndarray) -> float:  # pragma: no cover - numba
    """``round_to_tick(p, mode="up")``."""
    t = tick_nb(p, tid, tb, tv)
    return math.ceil(p / t - _EPS) * t


@numba.njit(cache=True)
def limits_nb(base: float, tid: int, pct: float, tb: np.ndarray,
              tv: np.ndarray) -> tuple[float, float]:  # pragma: no cover - numba
    """``(lower, upper)`` daily limits of ``base`` at ``pct`` percent (30 or 15), as
    :func:`lasps.krx.rules.price_limits`."""
    tk = tick_nb(base, tid, tb, tv)
    width = math.floor(base * pct / 100.0 / tk + _EPS) * tk
    return round_up_nb(base - width, tid, tb, tv), round_down_nb(base + width, tid, tb, tv)


__all__ = ["limits_nb", "round_down_nb", "round_nearest_nb", "round_up_nb", "tick_nb"]
