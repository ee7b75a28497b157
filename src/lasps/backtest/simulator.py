"""Portfolio simulation with KRX rules and costs (DESIGN §5).

``simulate(market, targets, config)`` runs one book over the sessions ``[start, end]``:

* starts with ``capital`` KRW in cash (default 100,000,000);
* rebalances at the open after each signal close (:class:`~lasps.backtest.strategies.Targets`), every
  ``k`` sessions, to **equal weight**: each of the K slots targets ``value at the open / K``; integer
  shares; sells (exits and trims) first, then buys in target order; slots whose code cannot be bought
  stay in cash until the next rebalance;
* fills at the open, subject to :mod:`lasps.backtest.fills` (no buy locked up, no sell locked down,
  nothing halted; unfilled sells are retried at every later open; delisted positions are sold at the
  last close, reason ``delisted``);
* costs from :class:`~lasps.krx.costs.CostModel` (commission both sides, sell tax by settlement
  date, optional slippage);
* marks positions at the last known close every session and checks the invariants every session
  (cash >= 0, fees >= 0, taxes >= 0; ``total = cash + positions`` by construction); a violation raises
  ``RuntimeError`` (a bug, not bad input).

The loop is one numba kernel (:mod:`lasps.backtest.kernel`) that visits only held codes. Open positions
are **not** liquidated at the end: the last total is marked at the close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lasps.backtest import kernel
from lasps.backtest.market import SimMarket
from lasps.backtest.strategies import Targets
from lasps.errors import ConfigError

DEFAULT_CAPITAL = 100_000_000.0


@dataclass(frozen=True)
class SimConfig:
    """Simulation window and sizing.

    Attributes
    ----------
    start_row, end_row:
        First and last session (rows of the market) of the simulation, inclusive.
    capital:
        Initial cash in KRW (> 0).
    """

    start_row: int
    end_row: int
    capital: float = DEFAULT_CAPITAL

    def __post_init__(self) -> None:
        if not (self.capital > 0 and np.isfinite(self.capital)):
            raise ConfigError(f"capital must be a positive amount of KRW, got {self.capital!r}",
                              where="--capital", fix="e.g. --capital 100000000")
        if self.start_row < 0 or self.end_row < self.start_row:
            raise ConfigError(f"empty simulation window: rows {self.start_row}..{self.end_row}",
                              where="--start/--end", fix="choose an end after the start")


@dataclass
class SimResult:
    """One simulation.

    Attributes
    ----------
    dates:
        ``(D,)`` sessions simulated.
    cash, positions_value, total_value:
        ``(D,)`` KRW at each close (``total = cash + positions``).
    fees, taxes, bought, sold:
        ``(D,)`` KRW paid / traded on each session.
    n_held:
        ``(D,)`` codes held at each close.
    benchmark:
        ``(D,)`` KOSPI scaled to ``capital`` at the close before the first session (NaN if unknown).
    trades:
        DataFrame ``date, code, side ('buy'/'sell'), qty, price, fee, tax, reason``.
    blocked:
        Counters of orders that could not fill (:data:`~lasps.backtest.kernel.BLOCKED`).
    final_qty:
        ``(N,)`` shares held at the end.
    capital:
        Initial cash.
    targets:
        The targets that were simulated.
    start_row:
        Market row of the first simulated session.
    """

    dates: np.ndarray
    cash: np.ndarray
    positions_value: np.ndarray
    total_value: np.ndarray
    fees: np.ndarray
    taxes: np.ndarray
    bought: np.ndarray
    sold: np.ndarray
    n_held: np.ndarray
    benchmark: np.ndarray
    trades: pd.DataFrame
    blocked: dict[str, int]
    final_qty: np.ndarray
    capital: float
    targets: Targets
    start_row: int = 0

    def daily_frame(self) -> pd.DataFrame:
        """``date, cash, positions_value, total_value, benchmark`` (the ``daily.csv`` layout)."""
        return pd.DataFrame({"date": pd.to_datetime(self.dates).strftime("%Y-%m-%d"), "cash": self.cash,
                             "positions_value": self.positions_value, "total_value": self.total_value,
                             "benchmark": self.benchmark})

    @property
    def returns(self) -> np.ndarray:
        """``(D,)`` daily simple returns of the book (the first against ``capital``)."""
        prev = np.concatenate([[self.capital], self.total_value[:-1]])
        return self.total_value / prev - 1.0


def _benchmark(market: SimMarket, start: int, end: int, capital: float) -> np.ndarray:
    idx = market.benchmark
    seg = idx[start:end + 1]
    base = idx[start - 1] if start >= 1 and np.isfinite(idx[start - 1]) else (seg[0] if len(seg) else np.nan)
    if not (np.isfinite(base) and base > 0):
        return np.full(end - start + 1, np.nan)
    return capital * seg / base


def simulate(market: SimMarket, targets: Targets, config: SimConfig) -> SimResult:
    """Simulate one book (see the module docstring). ``targets`` rows must index ``market``."""
    T, N = market.shape
    if config.end_row >= T:
        raise ConfigError(f"simulation end row {config.end_row} is outside the market ({T} sessions)",
                          where="--end")
    codes = np.ascontiguousarray(targets.codes, dtype=np.int64)
    if codes.ndim != 2 or codes.shape[0] != len(targets.signal_rows):
        raise ValueError(f"targets have shape {codes.shape} for {len(targets.signal_rows)} rebalances")
    if codes.size and codes.max() >= N:
        raise ValueError("target code index outside the market")
    k = max(targets.k, 1)
    fill_rows = np.ascontiguousarray(targets.fill_rows, dtype=np.int64)
    active = np.ascontiguousarray(targets.active, dtype=np.bool_)
    m = market.masks
    cap = 64 + 4 * len(fill_rows) * (k + 2) + 2 * (config.end_row - config.start_row + 1)
    costs = market.costs
    while True:
        out = kernel.simulate_kernel(
            market.open, market.close_ff, m.halted, m.locked_up, m.locked_down, market.delist_row,
            market.tax_rate, fill_rows, codes, active, int(config.start_row), int(config.end_row),
            float(config.capital), float(k), float(costs.commission), float(costs.slippage),
            bool(costs.round_krw), int(cap))
        (cash, pos, fee, tax, buy, sell, nheld, tr_row, tr_col, tr_side, tr_qty, tr_price, tr_fee, tr_tax,
         tr_reason, n, blocked, qty, status, bad) = out
        if status == kernel.OVERFLOW:
            cap = 2 * max(cap, n)
            continue
        break
    if status != kernel.OK:
        what = {kernel.NEGATIVE_CASH: "cash went negative",
                kernel.NEGATIVE_COST: "a fee, tax or position value went negative"}.get(int(status), "unknown")
        raise RuntimeError(f"simulation invariant violated on {market.dates[bad]}: {what}")
    n = int(n)
    dates = market.dates[config.start_row:config.end_row + 1]
    trades = pd.DataFrame({
        "date": pd.to_datetime(market.dates[tr_row[:n]]).strftime("%Y-%m-%d"),
        "code": market.codes[tr_col[:n]],
        "side": np.where(tr_side[:n] > 0, "buy", "sell"),
        "qty": tr_qty[:n],
        "price": tr_price[:n],
        "fee": tr_fee[:n],
        "tax": tr_tax[:n],
        "reason": np.asarray(kernel.REASONS, dtype=object)[tr_reason[:n].astype(np.int64)],
    })
    return SimResult(
        dates=dates, cash=cash, positions_value=pos, total_value=cash + pos, fees=fee, taxes=tax,
        bought=buy, sold=sell, n_held=nheld,
        benchmark=_benchmark(market, config.start_row, config.end_row, config.capital),
        trades=trades, blocked={name: int(c) for name, c in zip(kernel.BLOCKED, blocked, strict=True)},
        final_qty=qty, capital=float(config.capital), targets=targets,
        start_row=int(config.start_row),
    )


__all__ = ["DEFAULT_CAPITAL", "SimConfig", "SimResult", "simulate"]
