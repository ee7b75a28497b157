"""Concentration and robustness beside every strategy result (DESIGN §4, §5; issue 15).

A 5-name book out of ~2,000 names is a draw from the tails: its result depends on which names and on
which sessions the rebalances happen to fall. Beside every run, :func:`robustness` re-simulates the
**same rule** (same variants, strategy, costs, window, quarantine) twice over:

* **breadth** — the book widened to the top ``N`` for ``N`` in :data:`TOP_NS` (5, 20, 50);
* **phase** — the requested book with its rebalance calendar shifted by every offset ``0 … k − 1``
  sessions (``k`` = the rebalance period; the book holds cash until its first rebalance), reported as
  min / median / max total return over the ``k`` phases.

If the headline result is the signal, it survives both; if it is the draw, it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lasps.backtest.market import SimMarket
from lasps.backtest.metrics import compute_metrics
from lasps.backtest.simulator import SimConfig, simulate
from lasps.backtest.strategies import build_targets, rebalance_rows

TOP_NS: tuple[int, ...] = (5, 20, 50)


@dataclass(frozen=True)
class Robustness:
    """Total returns (0.1 = +10 %) of the same rule by book size and by rebalance phase."""

    top: int
    by_top: dict[int, float]
    phases: tuple[float, ...]

    @property
    def phase_min(self) -> float:
        return float(np.nanmin(self.phases)) if self.phases else float("nan")

    @property
    def phase_median(self) -> float:
        return float(np.nanmedian(self.phases)) if self.phases else float("nan")

    @property
    def phase_max(self) -> float:
        return float(np.nanmax(self.phases)) if self.phases else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """The ``summary.json`` ``robustness`` object."""
        return {"top_n_total_return": {str(n): r for n, r in self.by_top.items()},
                "phase_total_return": list(self.phases),
                "phase_min": self.phase_min, "phase_median": self.phase_median, "phase_max": self.phase_max,
                "what": f"same rule re-simulated: top N for N in {list(self.by_top)}; top {self.top} with the "
                        f"rebalance calendar shifted by 0..{len(self.phases) - 1} sessions"}

    def line(self) -> str:
        """One sentence for the console and the notes."""
        tops = " / ".join(f"{r:+.1%}" for r in self.by_top.values())
        return (f"robustness (same rule): top {'/'.join(str(n) for n in self.by_top)} → {tops}; top {self.top} "
                f"over {len(self.phases)} rebalance phases: min {self.phase_min:+.1%}, median "
                f"{self.phase_median:+.1%}, max {self.phase_max:+.1%}")


def _total_return(market: SimMarket, strategy: str, values: Any, variants: tuple[str, ...],
                  universe: np.ndarray, rows: np.ndarray, top: int, lo: int, hi: int, capital: float,
                  vic: Any, adaptive_config: Any) -> float:
    targets = build_targets(strategy, values, variants, universe, rows, top, vic=vic,
                            adaptive_config=adaptive_config)
    return float(compute_metrics(simulate(market, targets, SimConfig(lo, hi, capital)))["total_return"])


def robustness(market: SimMarket, strategy: str, values: Any, variants: tuple[str, ...], universe: np.ndarray,
               window: tuple[int, int], rebalance: int, top: int, capital: float, *, vic: Any = None,
               adaptive_config: Any = None, top_ns: tuple[int, ...] = TOP_NS) -> Robustness:
    """Re-simulate the rule for every ``top_ns`` and every rebalance phase (see the module docstring)."""
    lo, hi = window
    base = rebalance_rows(lo, hi, rebalance)
    by_top = {n: _total_return(market, strategy, values, variants, universe, base, n, lo, hi, capital, vic,
                               adaptive_config) for n in top_ns}
    phases = []
    for offset in range(rebalance):
        rows = base + offset
        rows = rows[rows < hi]
        phases.append(_total_return(market, strategy, values, variants, universe, rows, top, lo, hi, capital,
                                    vic, adaptive_config) if len(rows) else float("nan"))
    return Robustness(top, by_top, tuple(phases))
