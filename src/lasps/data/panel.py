"""``Panel``: the one in-memory view of the market every module works on (DESIGN §0, §2).

Every field is a dense ``float64`` array of shape ``(T, N)``: ``T`` trading dates (oldest first, axis 0)
by ``N`` codes (axis 1). A cell is NaN where the code did not trade or the value is unknown. Values in
row ``t`` are known at the **close of date t**. Prices are adjusted on load (DESIGN §2.3) so a series
never jumps at a split; volume is adjusted inversely. ``value`` (KRW) and ``market_cap`` (KRW) are not
adjusted (they are invariant to splits).

Derived fields (computed on first access, cached):

- ``vwap`` = value / volume (KRW per share, adjusted like prices); NaN where volume is 0 or value is
  unavailable — never approximated by close.
- ``returns`` = close-to-close simple return of the adjusted close (NaN on the first day or after a gap
  in the code's own history).
- ``cap`` = ``market_cap``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lasps.errors import UnavailableError

BASE_FIELDS: tuple[str, ...] = (
    "open", "high", "low", "close", "volume", "value", "market_cap", "shares", "change_ratio",
)
FLOW_FIELDS: tuple[str, ...] = (
    "foreign_net", "institution_net", "individual_net", "foreign_holding_ratio",
)
DERIVED_FIELDS: dict[str, tuple[str, ...]] = {
    "vwap": ("value", "volume"),
    "returns": ("close",),
    "cap": ("market_cap",),
}


@dataclass
class Panel:
    """Dense market panel.

    Attributes
    ----------
    dates:
        ``(T,)`` ``datetime64[D]`` trading dates, ascending.
    codes:
        ``(N,)`` 6-character KRX codes (``str`` objects).
    fields:
        Field name -> ``(T, N)`` float64 array (see :data:`BASE_FIELDS`, :data:`FLOW_FIELDS`).
    names, markets, kinds:
        ``(N,)`` metadata per code.
    sector_ids:
        ``(N,)`` int, the 13 LASPS sectors (0..12) for the deep-learning track; -1 = unmapped.
    industry:
        ``(N,)`` int group ids of the fine-grained KRX sector (``stocks.sector_code``, or the sector name
        where no code exists) used by ``IndNeutralize``; -1 = unknown. ``industry_labels[g]`` names group g.
    index:
        Index code (``'1001'`` KOSPI, ``'2001'`` KOSDAQ) -> ``(T,)`` index close aligned to ``dates``.
    universe_mask:
        ``(T, N)`` bool, True where the code is in the requested universe at that date (point in time).
    unavailable:
        Field name -> reason, for fields the stored source could not provide (e.g. ``value``).
    suspect:
        ``(T, N)`` bool suspect price jumps (:mod:`lasps.data.suspect`); all False when not detected.
    traded:
        ``(T, N)`` bool: the code traded that day (not halted); ``universe_mask`` already requires it.
    quarantine_days:
        Sessions after a suspect jump during which ``universe_mask`` excludes the code (0 = off).
    ohlc_repaired:
        Adjusted-basis rows whose high/low were widened on load to take in a rounded open/close.
    """

    dates: np.ndarray
    codes: np.ndarray
    fields: dict[str, np.ndarray]
    names: np.ndarray | None = None
    markets: np.ndarray | None = None
    kinds: np.ndarray | None = None
    sector_ids: np.ndarray | None = None
    industry: np.ndarray | None = None
    industry_labels: tuple[str, ...] = ()
    index: dict[str, np.ndarray] = field(default_factory=dict)
    universe_mask: np.ndarray | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    suspect: np.ndarray | None = None
    traded: np.ndarray | None = None
    quarantine_days: int = 0
    ohlc_repaired: int = 0
    _derived: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.dates = np.asarray(self.dates, dtype="datetime64[D]")
        self.codes = np.asarray(self.codes, dtype=object)
        shape = self.shape
        for name, arr in self.fields.items():
            if arr.shape != shape:
                raise ValueError(f"field {name!r} has shape {arr.shape}, expected {shape}")
        n = shape[1]
        if self.industry is None:
            self.industry = np.full(n, -1, dtype=np.int64)
        if self.sector_ids is None:
            self.sector_ids = np.full(n, -1, dtype=np.int64)
        if self.universe_mask is None:
            self.universe_mask = np.ones(shape, dtype=bool)
        if self.suspect is None:
            self.suspect = np.zeros(shape, dtype=bool)

    @property
    def shape(self) -> tuple[int, int]:
        """``(T, N)``."""
        return (len(self.dates), len(self.codes))

    def has(self, name: str) -> bool:
        """True if ``name`` (base, flow or derived) can be produced from this panel."""
        try:
            self._check_available(name)
        except UnavailableError:
            return False
        return True

    def unavailable_reason(self, name: str) -> str | None:
        """Why ``name`` cannot be produced, or None when it can."""
        try:
            self._check_available(name)
        except UnavailableError as exc:
            return exc.what
        return None

    def _check_available(self, name: str) -> None:
        needs = DERIVED_FIELDS.get(name, (name,))
        for base in needs:
            if base in self.unavailable:
                raise UnavailableError(f"{name} needs {base}, which is unavailable: {self.unavailable[base]}")
            if base not in self.fields:
                raise UnavailableError(f"{name} needs {base}, which was not loaded into this panel")

    def field(self, name: str) -> np.ndarray:
        """Return the ``(T, N)`` array of a base, flow or derived field (see module docstring)."""
        self._check_available(name)
        if name in self.fields:
            return self.fields[name]
        if name not in self._derived:
            self._derived[name] = self._derive(name)
        return self._derived[name]

    def frame(self, name: str) -> pd.DataFrame:
        """A field as a *dates × codes* DataFrame (index ``date``: ``datetime64``, columns ``code``: str);
        the values are the panel's own array (no copy)."""
        return pd.DataFrame(self.field(name), index=pd.DatetimeIndex(self.dates, name="date"),
                            columns=pd.Index([str(c) for c in self.codes], name="code"), copy=False)

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_") or name in {"fields", "unavailable"}:
            raise AttributeError(name)
        fields = self.__dict__.get("fields", {})
        if name in fields or name in DERIVED_FIELDS:
            return self.field(name)
        raise AttributeError(f"Panel has no field {name!r}; loaded fields: {sorted(fields)}")

    def _derive(self, name: str) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            if name == "vwap":
                vol = self.fields["volume"]
                out = self.fields["value"] / vol
                out[~(vol > 0)] = np.nan
                return out
            if name == "returns":
                close = self.fields["close"]
                out = np.full_like(close, np.nan)
                out[1:] = close[1:] / close[:-1] - 1.0
                out[~np.isfinite(out)] = np.nan
                return out
            if name == "cap":
                return self.fields["market_cap"]
        raise KeyError(name)  # pragma: no cover

    def index_close(self, code: str = "1001") -> np.ndarray:
        """``(T,)`` close of index ``code`` aligned to :attr:`dates` (NaN where not stored)."""
        if code not in self.index:
            raise UnavailableError(
                f"index {code} is not in the store",
                fix="load index prices (`lasps data init` or `lasps data update`)",
            )
        return self.index[code]

    def date_index(self, date: str | np.datetime64) -> int:
        """Row of ``date`` in :attr:`dates`; raises ``KeyError`` if it is not a stored trading date."""
        d = np.datetime64(date, "D")
        i = int(np.searchsorted(self.dates, d))
        if i >= len(self.dates) or self.dates[i] != d:
            raise KeyError(f"{d} is not a trading date in this panel")
        return i
