"""One severity rule for prices outside the day's ``[low, high]`` range (DESIGN §2.7).

Adjusted (수정주가) files round each price separately after scaling, so an open or close can sit a few
KRW outside ``[low, high]``. On an **adjusted**-basis code a row outside the range by at most
:data:`ROUNDING_LIMIT` (1 %) of its price, or by at most :data:`ROUNDING_KRW` (2 KRW, which is more than
1 % only below 200 KRW), is *rounding*: a ``note`` (the import counts it, ``lasps data
check`` lists it, the panel widens high/low on load — :func:`lasps.data.panel_loader.repair_adjusted_rounding`).
Within 1 KRW it is not reported at all. Anything else — beyond both, or on a raw-basis code, where prices
are as traded and must be consistent — is an ``error``.
"""

from __future__ import annotations

import numpy as np

ROUNDING_LIMIT = 0.01
ROUNDING_KRW = 2.0
ROUNDING_KRW_SILENT = 1.0


def outside_krw(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """KRW by which open or close (or low vs high) lies outside ``[low, high]``; 0 inside, NaN unknown."""
    o, h, lo, c = (np.asarray(a, dtype=np.float64) for a in (open_, high, low, close))
    with np.errstate(invalid="ignore"):
        parts = [np.fmax(c - h, lo - c), np.fmax(o - h, lo - o), lo - h]
        out = np.fmax(np.fmax(parts[0], parts[1]), parts[2])
        out = np.where(np.isfinite(h) & np.isfinite(lo), np.fmax(out, 0.0), np.nan)
    return out


def outside_severity(excess_krw: np.ndarray, price: np.ndarray, adjusted: np.ndarray) -> np.ndarray:
    """Per row: ``''`` (consistent, or ≤ 1 KRW on an adjusted code), ``'note'`` (rounding) or ``'error'``."""
    excess = np.nan_to_num(np.asarray(excess_krw, dtype=np.float64), nan=0.0)
    adjusted = np.asarray(adjusted, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = excess / np.abs(np.asarray(price, dtype=np.float64))
    out = np.full(excess.shape, "", dtype=object)
    silent = adjusted & (excess <= ROUNDING_KRW_SILENT)
    rounding = adjusted & ~silent & ((frac <= ROUNDING_LIMIT) | (excess <= ROUNDING_KRW))
    out[(excess > 0) & ~silent] = "error"
    out[rounding & (excess > 0)] = "note"
    return out
