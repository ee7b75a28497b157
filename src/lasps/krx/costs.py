"""Trading costs on KRX (DESIGN §5): commission, sell-side tax by settlement date, slippage.

* **Commission** (위탁수수료): a fraction of the traded value on every buy and sell (default 0.015 %).
* **Sell-side tax** (증권거래세 + 농어촌특별세 on KOSPI; 증권거래세 on KOSDAQ — the totals are equal): a
  fraction of the sale value, at the rate in force on the **settlement date**, which is two KRX sessions
  after the trade (T+2, :func:`settlement_dates`). Rates by settlement date (:data:`DEFAULT_TAX_SCHEDULE`)::

      before 2019-06-03          0.30 %
      2019-06-03 .. 2020-12-31   0.25 %
      2021-01-01 .. 2022-12-31   0.23 %
      2023                       0.20 %
      2024                       0.18 %
      2025                       0.15 %
      2026 onward                0.20 %

  So a sale on one of the last two sessions of a year settles in January and already pays the next
  year's rate (e.g. a sale on 2024-12-27 settles 2025-01-02: 0.15 %, not 0.18 %).
* **Slippage** (optional, bps): buys fill at ``open * (1 + s)``, sells at ``open * (1 - s)``.
* **Rounding**: with ``round_krw`` (default) commission and tax are truncated to whole won per fill, as
  brokers and the tax office do (원 미만 절사).

All amounts are KRW; rates are fractions (0.0015 = 0.15 %).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from lasps.errors import ConfigError
from lasps.krx.calendar import as_days, sessions

#: ``(first settlement date, rate)`` rows, ascending; a rate applies from its date until the next row.
DEFAULT_TAX_SCHEDULE: tuple[tuple[str, float], ...] = (
    ("1900-01-01", 0.0030),
    ("2019-06-03", 0.0025),
    ("2021-01-01", 0.0023),
    ("2023-01-01", 0.0020),
    ("2024-01-01", 0.0018),
    ("2025-01-01", 0.0015),
    ("2026-01-01", 0.0020),
)
#: Sessions between a trade and its settlement (T+2).
SETTLEMENT_LAG = 2
DEFAULT_COMMISSION = 0.00015


def settlement_dates(trade_dates: npt.ArrayLike, lag: int = SETTLEMENT_LAG) -> np.ndarray:
    """Settlement date (``datetime64[D]``) of trades on ``trade_dates``: the ``lag``-th KRX session after.

    Uses the XKRX calendar (:mod:`lasps.krx.calendar`); a trade date that is not a session counts from
    the session before it. Beyond the calendar's horizon weekdays are used (``numpy.busday_offset``).
    """
    d = np.atleast_1d(as_days(trade_dates))
    if d.size == 0:
        return d.copy()
    lo, hi = d.min(), d.max()
    cal = sessions(lo - np.timedelta64(10, "D"), hi + np.timedelta64(20 + 3 * lag, "D"))
    out = np.busday_offset(d, lag, roll="backward").astype("datetime64[D]")
    if len(cal):
        pos = np.searchsorted(cal, d, side="right") - 1 + lag
        ok = (pos < len(cal)) & (d >= cal[0])
        out[ok] = cal[pos[ok]]
    return out.reshape(np.shape(as_days(trade_dates)))


def rate_on(dates: npt.ArrayLike, schedule: tuple[tuple[str, float], ...] = DEFAULT_TAX_SCHEDULE) -> np.ndarray:
    """``float64`` rate of ``schedule`` in force on each of ``dates`` (the settlement dates)."""
    starts = np.array([s for s, _ in schedule], dtype="datetime64[D]")
    rates = np.array([r for _, r in schedule], dtype=np.float64)
    d = as_days(dates)
    idx = np.searchsorted(starts, d, side="right") - 1
    return np.where(idx >= 0, rates[np.maximum(idx, 0)], rates[0])


class CostSettings(Protocol):
    """The cost fields of :class:`lasps.config.Settings` (``lasps.toml`` / ``LASPS_COMMISSION`` …)."""

    commission: float
    slippage_bps: float
    tax_rate: float | None


@dataclass(frozen=True)
class CostModel:
    """Cost parameters of a simulation (all configurable; the defaults are DESIGN §5).

    Attributes
    ----------
    commission:
        Commission per side as a fraction of traded value (default 0.00015 = 0.015 %).
    slippage_bps:
        Adverse price move applied to every fill, in basis points of the open (default 0).
    tax_schedule:
        ``(first settlement date 'YYYY-MM-DD', rate)`` rows, ascending (default :data:`DEFAULT_TAX_SCHEDULE`).
    tax_rate:
        A flat sell-tax rate that replaces the schedule (default None = use the schedule).
    round_krw:
        Truncate commission and tax of each fill to whole KRW (default True).
    """

    commission: float = DEFAULT_COMMISSION
    slippage_bps: float = 0.0
    tax_schedule: tuple[tuple[str, float], ...] = DEFAULT_TAX_SCHEDULE
    tax_rate: float | None = None
    round_krw: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.commission) and 0.0 <= self.commission < 0.1):
            raise ConfigError(f"commission must be a fraction in [0, 0.1), got {self.commission!r}",
                              where="--commission", fix="e.g. --commission 0.00015 for 0.015 %")
        if not (math.isfinite(self.slippage_bps) and 0.0 <= self.slippage_bps < 1000.0):
            raise ConfigError(f"slippage must be in [0, 1000) bps, got {self.slippage_bps!r}",
                              where="--slippage-bps", fix="e.g. --slippage-bps 10")
        if self.tax_rate is not None and not (math.isfinite(self.tax_rate) and 0.0 <= self.tax_rate < 0.1):
            raise ConfigError(f"tax rate must be a fraction in [0, 0.1), got {self.tax_rate!r}",
                              where="--tax-rate", fix="e.g. --tax-rate 0.0018, or omit it to use the schedule")
        if not self.tax_schedule:
            raise ConfigError("the tax schedule is empty", where="tax_schedule")
        try:
            starts = np.array([s for s, _ in self.tax_schedule], dtype="datetime64[D]")
        except ValueError as exc:
            raise ConfigError(f"bad date in tax schedule {self.tax_schedule!r}", where="tax_schedule",
                              fix="use ('YYYY-MM-DD', rate) rows") from exc
        if np.any(np.diff(starts) <= np.timedelta64(0, "D")):
            raise ConfigError("tax schedule dates must be strictly ascending", where="tax_schedule")
        if any(not (0.0 <= r < 0.1) for _, r in self.tax_schedule):
            raise ConfigError("tax schedule rates must be fractions in [0, 0.1)", where="tax_schedule")

    @classmethod
    def from_settings(cls, settings: CostSettings, *, commission: float | None = None,
                      slippage_bps: float | None = None, tax_rate: float | None = None) -> CostModel:
        """The cost model configured in ``settings``; a non-None keyword (a command-line option) wins."""
        return cls(commission=settings.commission if commission is None else commission,
                   slippage_bps=settings.slippage_bps if slippage_bps is None else slippage_bps,
                   tax_rate=settings.tax_rate if tax_rate is None else tax_rate)

    @property
    def slippage(self) -> float:
        """Slippage as a fraction (``slippage_bps / 10_000``)."""
        return self.slippage_bps / 10_000.0

    def sell_tax_rates(self, trade_dates: npt.ArrayLike) -> np.ndarray:
        """``float64`` sell-tax rate for sales on ``trade_dates`` (by their T+2 settlement date)."""
        d = as_days(trade_dates)
        if self.tax_rate is not None:
            return np.full(d.shape, float(self.tax_rate))
        return rate_on(settlement_dates(d), self.tax_schedule)

    def _round(self, x: float) -> float:
        return float(math.floor(x + 1e-9)) if self.round_krw else float(x)

    def fee(self, value: float) -> float:
        """Commission (KRW) on a fill of ``value`` KRW."""
        return self._round(value * self.commission)

    def tax(self, value: float, trade_date: str | dt.date | np.datetime64) -> float:
        """Sell tax (KRW) on a sale of ``value`` KRW traded on ``trade_date``."""
        return self._round(value * float(self.sell_tax_rates(np.asarray([trade_date]))[0]))

    def as_dict(self) -> dict[str, object]:
        """Parameters for ``summary.json``."""
        return {"commission": self.commission, "slippage_bps": self.slippage_bps,
                "tax_rate": self.tax_rate if self.tax_rate is not None else "schedule",
                "round_krw": self.round_krw}


__all__ = ["DEFAULT_COMMISSION", "DEFAULT_TAX_SCHEDULE", "SETTLEMENT_LAG", "CostModel", "CostSettings", "rate_on",
           "settlement_dates"]
