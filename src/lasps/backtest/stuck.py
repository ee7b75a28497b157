"""Positions stuck in halted stocks at the end of a backtest (DESIGN §5).

A stock that stops trading while held is marked at its last close (``SimMarket.close_ff``) for as long
as the halt lasts. When the halt runs to the end of the simulation the book's final value holds a price
nobody could trade at — on the krx-2018-2021 sample three such positions were 64 % of one run's final
book. :func:`stuck_positions` reports them (count, share of the final value, sessions held halted) and
the alternative of valuing them at zero, so a reader sees how much of the result rests on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasps.backtest.market import SimMarket
from lasps.backtest.simulator import SimResult


@dataclass(frozen=True)
class StuckPosition:
    """One position in a code halted on the last simulated session."""

    code: str
    qty: int
    value: float          #: KRW at the last known close
    share: float          #: of the final total value (0.25 = 25 %)
    halted_sessions: int  #: consecutive halted sessions up to and including the last one
    since: str            #: first session of that halt (ISO date)


@dataclass(frozen=True)
class StuckReport:
    """All stuck positions of a run and the final value / total return with them valued at zero."""

    positions: tuple[StuckPosition, ...]
    final_value: float
    final_value_at_zero: float
    total_return: float
    total_return_at_zero: float

    @property
    def count(self) -> int:
        return len(self.positions)

    @property
    def share(self) -> float:
        return sum(p.share for p in self.positions)

    def as_dict(self) -> dict[str, object]:
        """The ``summary.json`` ``halted_at_end`` object."""
        return {
            "count": self.count, "share_of_final_value": self.share,
            "final_value": self.final_value, "final_value_at_zero": self.final_value_at_zero,
            "total_return": self.total_return, "total_return_at_zero": self.total_return_at_zero,
            "positions": [{"code": p.code, "qty": p.qty, "value": p.value, "share": p.share,
                           "halted_sessions": p.halted_sessions, "halted_since": p.since}
                          for p in self.positions],
        }

    def line(self) -> str:
        """One sentence for the console and the notes (empty when nothing is stuck)."""
        if not self.count:
            return ""
        worst = max(p.halted_sessions for p in self.positions)
        codes = ", ".join(f"{p.code} {p.share:.1%} ({p.halted_sessions} sessions)" for p in self.positions)
        return (f"{self.count} position(s) halted at the end, {self.share:.1%} of the final value, held halted up "
                f"to {worst} sessions and marked at their last close: {codes}. Valued at zero the total return "
                f"would be {self.total_return_at_zero:+.1%} instead of {self.total_return:+.1%}")


def stuck_positions(market: SimMarket, result: SimResult) -> StuckReport:
    """Positions held at the end of ``result`` in codes halted on its last session."""
    end = result.start_row + len(result.dates) - 1
    halted = np.asarray(market.masks.halted, dtype=bool)
    total = float(result.total_value[-1]) if len(result.total_value) else float(result.capital)
    held = np.flatnonzero(np.asarray(result.final_qty) > 0)
    out: list[StuckPosition] = []
    for j in held:
        if not halted[end, j]:
            continue
        run = 0
        while end - run >= result.start_row and halted[end - run, j]:
            run += 1
        qty = int(result.final_qty[j])
        value = float(qty * market.close_ff[end, j])
        out.append(StuckPosition(str(market.codes[j]), qty, value, value / total if total else float("nan"),
                                 run, str(market.dates[end - run + 1])))
    out.sort(key=lambda p: -p.value)
    at_zero = total - sum(p.value for p in out)
    cap = float(result.capital)
    return StuckReport(tuple(out), total, at_zero, total / cap - 1.0, at_zero / cap - 1.0)
