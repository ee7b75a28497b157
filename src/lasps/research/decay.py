"""IC decay: the mean daily rank IC of an alpha by holding horizon (DESIGN §6, issue 15).

For horizon ``h`` (sessions) the forward return of signal row ``t`` is the next-open-entry return
``open[t + 1 + h] / open[t + 1] − 1`` (DESIGN §4), NaN where it crosses a suspect jump
(:func:`lasps.research.forward.drop_suspect_crossings`). The IC decay of an alpha is, for each ``h`` in
``1 … H``, the mean over the sampled signal rows of the daily rank IC against that return. The rows are
chosen by the caller so that every horizon's outcome is known (``t + 1 + H`` inside the panel) — the
same rows for every horizon, so the curve compares like with like.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from lasps.research.forward import drop_suspect_crossings, forward_returns
from lasps.research.ic import rank_ic

MAX_HORIZON = 20


def decay_rows(T: int, window: int, max_horizon: int = MAX_HORIZON, step: int = 5) -> np.ndarray:
    """Signal rows (every ``step``-th) of the last ``window`` rows whose ``max_horizon`` outcome is known."""
    hi = T - 2 - max_horizon
    lo = max(0, hi - window + 1)
    return np.arange(hi, lo - 1, -step, dtype=np.int64)[::-1] if hi >= 0 else np.zeros(0, dtype=np.int64)


class ICDecay:
    """Forward returns for horizons ``1 … H`` at fixed rows, then each alpha's mean IC by horizon."""

    def __init__(self, panel, rows: np.ndarray, max_horizon: int = MAX_HORIZON) -> None:  # type: ignore[no-untyped-def]
        self.rows = np.asarray(rows, dtype=np.int64)
        self.horizons = np.arange(1, max_horizon + 1)
        open_ = panel.field("open")
        self.universe = np.asarray(panel.universe_mask, dtype=bool)[self.rows]
        self.fwd = [drop_suspect_crossings(forward_returns(open_, None, int(h), "open"), panel).values[self.rows]
                    for h in self.horizons]

    def of(self, values: np.ndarray) -> np.ndarray:
        """``(H,)`` mean daily rank IC of ``(T, N)`` ``values`` at each horizon (NaN where no IC)."""
        x = np.asarray(values, dtype=np.float64)[self.rows]
        out = np.full(len(self.horizons), np.nan)
        for i, f in enumerate(self.fwd):
            ic = rank_ic(x, f, self.universe)
            if np.isfinite(ic).any():
                out[i] = float(np.nanmean(ic))
        return out

    def tap(self, stream: Iterable[tuple[str, np.ndarray]], into: dict[str, list[float]]):  # type: ignore[no-untyped-def]
        """Pass ``(name, values)`` through unchanged, recording each alpha's decay in ``into``."""
        for name, values in stream:
            into[name] = [None if not np.isfinite(v) else float(v) for v in self.of(values)]
            yield name, values
