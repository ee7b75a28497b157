"""``SimMarket``: everything the simulator needs from a panel, computed once and shared by many runs.

Building it costs a few passes over the ``(T, N)`` panel (fill masks, forward-filled closes, tax
rates); every simulation afterwards only touches the cells of the codes it holds. Reuse one
``SimMarket`` for all strategies run on the same panel and cost model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasps.backtest.fills import FillMasks, delisting_rows, ffill_rows, fill_masks
from lasps.data.panel import Panel
from lasps.krx.costs import CostModel

BENCHMARK_INDEX = "1001"


@dataclass(frozen=True)
class SimMarket:
    """Precomputed market arrays (rows = sessions, columns = codes).

    Attributes
    ----------
    dates, codes:
        ``(T,)`` ``datetime64[D]`` sessions and ``(N,)`` codes.
    open:
        ``(T, N)`` fill prices (KRW), NaN where the code did not trade.
    close_ff:
        ``(T, N)`` last known close (KRW), forward-filled through halts: positions are marked at it.
    masks:
        :class:`~lasps.backtest.fills.FillMasks` (halted, locked up, locked down).
    delist_row:
        ``(N,)`` row of the last traded session of codes delisted inside the panel, else -1.
    tax_rate:
        ``(T,)`` sell-tax rate for a sale on each session (by its T+2 settlement date).
    universe:
        ``(T, N)`` bool universe membership known at each close (``panel.universe_mask``).
    benchmark:
        ``(T,)`` KOSPI (index 1001) close, or all NaN when the store has no index.
    costs:
        The :class:`~lasps.krx.costs.CostModel` the tax rates were computed with.
    """

    dates: np.ndarray
    codes: np.ndarray
    open: np.ndarray
    close_ff: np.ndarray
    masks: FillMasks
    delist_row: np.ndarray
    tax_rate: np.ndarray
    universe: np.ndarray
    benchmark: np.ndarray
    costs: CostModel

    @property
    def shape(self) -> tuple[int, int]:
        return self.open.shape  # type: ignore[return-value]

    @classmethod
    def from_arrays(cls, dates: np.ndarray, codes: np.ndarray, open_: np.ndarray, close: np.ndarray,
                    volume: np.ndarray | None = None, *, costs: CostModel | None = None,
                    universe: np.ndarray | None = None, benchmark: np.ndarray | None = None,
                    markets: np.ndarray | None = None, kinds: np.ndarray | None = None,
                    delisted: np.ndarray | None = None, delist_row: np.ndarray | None = None) -> SimMarket:
        """Build from plain arrays (tests, benchmarks). See :class:`SimMarket` for shapes.

        ``delisted`` (``(N,)`` dates, NaT = listed) or ``delist_row`` (``(N,)`` rows) give delistings;
        without either a code whose prices stop before the last row is treated as delisted.
        """
        costs = costs or CostModel()
        dates = np.asarray(dates, dtype="datetime64[D]")
        open_ = np.ascontiguousarray(open_, dtype=np.float64)
        close = np.ascontiguousarray(close, dtype=np.float64)
        T, N = open_.shape
        if close.shape != (T, N) or len(dates) != T or len(codes) != N:
            raise ValueError(f"inconsistent shapes: open {open_.shape}, close {close.shape}, "
                             f"{len(dates)} dates, {len(codes)} codes")
        masks = fill_masks(open_, close, volume, dates, markets, kinds)
        if delist_row is None:
            delist_row = delisting_rows(close, dates, delisted)
        bench = np.full(T, np.nan) if benchmark is None else np.asarray(benchmark, dtype=np.float64)
        uni = np.ones((T, N), dtype=bool) if universe is None else np.asarray(universe, dtype=bool)
        return cls(dates=dates, codes=np.asarray(codes, dtype=object), open=open_, close_ff=ffill_rows(close),
                   masks=masks, delist_row=np.asarray(delist_row, dtype=np.int64),
                   tax_rate=costs.sell_tax_rates(dates).astype(np.float64), universe=uni, benchmark=bench,
                   costs=costs)

    @classmethod
    def from_panel(cls, panel: Panel, costs: CostModel | None = None,
                   delisted: np.ndarray | None = None) -> SimMarket:
        """Build from a :class:`~lasps.data.panel.Panel` (``open``, ``close``, ``volume`` and index 1001).

        ``delisted``: ``(N,)`` delisting dates aligned to ``panel.codes`` (see
        :func:`~lasps.backtest.fills.delisting_rows`).
        """
        volume = panel.fields.get("volume")
        bench = panel.index.get(BENCHMARK_INDEX)
        return cls.from_arrays(panel.dates, panel.codes, panel.field("open"), panel.field("close"), volume,
                               costs=costs, universe=panel.universe_mask, benchmark=bench,
                               markets=panel.markets, kinds=panel.kinds, delisted=delisted)

    def row_range(self, start: np.datetime64 | str | None, end: np.datetime64 | str | None) -> tuple[int, int]:
        """``(first, last)`` rows of the sessions in ``[start, end]`` (inclusive)."""
        lo = 0 if start is None else int(np.searchsorted(self.dates, np.datetime64(start, "D"), side="left"))
        hi = len(self.dates) - 1 if end is None else \
            int(np.searchsorted(self.dates, np.datetime64(end, "D"), side="right")) - 1
        return lo, hi


__all__ = ["BENCHMARK_INDEX", "SimMarket"]
