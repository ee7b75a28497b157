"""Train / validation / test splits by date, purged at the boundaries.

A signal row ``t`` belongs to a split when both its date **and** the date at which its outcome is known
(``known_row[t]``, see :mod:`lasps.research.forward`) fall inside that split; signals whose holding
period crosses a boundary belong to no split (a purge of ``h + 1`` sessions with ``entry="open"``), so
no train statistic uses a price of the validation or test period. ``all`` is every signal row whose
outcome is known inside the panel.

Defaults: train ``<= 2022-12-31``, val ``2023``, test ``>= 2024-01-01`` (the work log's splits). When
those fixed dates leave a split empty on the loaded data — fewer than ``min_days`` (20) usable signal
days, e.g. the synthetic market 2022-10..2026-10 whose first months have no universe yet, or the real
sample 2018–2021 — the splits fall back to 60 / 20 / 20 % of the usable signal days, by date, and
:attr:`Splits.note` says so; every output prints that note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lasps.dates import parse_date
from lasps.errors import ConfigError

SPLITS: tuple[str, ...] = ("train", "val", "test")
ALL = "all"
SPLIT_NAMES: tuple[str, ...] = (*SPLITS, ALL)


@dataclass(frozen=True)
class SplitSpec:
    """Where the splits end (inclusive dates, ``YYYY-MM-DD``), the fallback fractions, and the fewest
    usable signal days (``min_days``) below which a split counts as empty."""

    train_end: str = "2022-12-31"
    val_end: str = "2023-12-31"
    fallback: tuple[float, float, float] = (0.6, 0.2, 0.2)
    min_days: int = 20

    def __post_init__(self) -> None:
        a = np.datetime64(parse_date(self.train_end, option="--train-end"), "D")
        b = np.datetime64(parse_date(self.val_end, option="--val-end"), "D")
        if not a < b:
            raise ConfigError(f"train end {a} must be before val end {b}", where="--train-end/--val-end")
        if len(self.fallback) != 3 or any(f <= 0 for f in self.fallback):
            raise ConfigError(f"fallback fractions must be three positive numbers, got {self.fallback}")
        if self.min_days < 1:
            raise ConfigError(f"min_days must be >= 1, got {self.min_days}")


@dataclass(frozen=True)
class Splits:
    """Signal-row masks per split.

    Attributes
    ----------
    masks:
        Split name (``train``, ``val``, ``test``, ``all``) -> ``(T,)`` bool over signal rows (purged).
    train_end, val_end:
        The boundaries in force (``datetime64[D]``): train ``<= train_end < `` val ``<= val_end <`` test.
    fallback:
        True when the fixed dates left a split empty and 60/20/20 by date was used instead.
    note:
        One line for the reader (which boundaries, why, the purge).
    """

    masks: dict[str, np.ndarray]
    train_end: np.datetime64
    val_end: np.datetime64
    fallback: bool
    note: str

    def bounds(self, dates: np.ndarray, name: str) -> tuple[np.datetime64, np.datetime64] | None:
        """First and last signal date of split ``name`` (None when empty)."""
        rows = np.flatnonzero(self.masks[name])
        if len(rows) == 0:
            return None
        return dates[rows[0]], dates[rows[-1]]

    def describe(self, dates: np.ndarray) -> str:
        parts = []
        for name in SPLITS:
            b = self.bounds(dates, name)
            parts.append(f"{name} {b[0]}..{b[1]} ({int(self.masks[name].sum())} signal days)" if b
                         else f"{name} empty")
        return "; ".join(parts)


def _masks(dates: np.ndarray, known_row: np.ndarray, train_end: np.datetime64,
           val_end: np.datetime64, usable: np.ndarray) -> dict[str, np.ndarray]:
    T = len(dates)
    ok = (known_row < T) & usable
    kd = dates[np.minimum(known_row, T - 1)]

    def label(d: np.ndarray) -> np.ndarray:
        return np.where(d <= train_end, 0, np.where(d <= val_end, 1, 2))

    same = ok & (label(dates) == label(kd))
    lab = label(dates)
    out = {name: same & (lab == i) for i, name in enumerate(SPLITS)}
    out[ALL] = ok.copy()
    return out


def make_splits(dates: np.ndarray, known_row: np.ndarray, spec: SplitSpec | None = None,
                usable: np.ndarray | None = None) -> Splits:
    """Purged train/val/test masks over signal rows (see the module docstring).

    Parameters
    ----------
    dates:
        ``(T,)`` ``datetime64[D]`` session dates.
    known_row:
        ``(T,)`` row at which the outcome of signal row t is known (:func:`~lasps.research.forward.known_rows`).
    spec:
        Boundaries, fallback fractions and the minimum split size (default :class:`SplitSpec`).
    usable:
        ``(T,)`` bool, signal rows with data (e.g. enough universe names with a forward return); default
        all. A split with fewer than ``spec.min_days`` usable rows counts as empty, and the fallback
        fractions are taken over the usable rows' dates.
    """
    spec = spec or SplitSpec()
    dates = np.asarray(dates, dtype="datetime64[D]")
    T = len(dates)
    usable = np.ones(T, dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    train_end, val_end = np.datetime64(spec.train_end, "D"), np.datetime64(spec.val_end, "D")
    masks = _masks(dates, known_row, train_end, val_end, usable)
    small = [n for n in SPLITS if masks[n].sum() < spec.min_days]
    purge = int(known_row[0]) if T else 0
    purge_note = f"signals whose outcome crosses a boundary are purged ({purge} sessions)"
    if not small:
        note = f"splits: train <= {train_end}, val <= {val_end}, test after; {purge_note}"
        return Splits(masks, train_end, val_end, False, note)
    rows = np.flatnonzero(usable & (known_row < T))
    if len(rows) == 0:
        return Splits(masks, train_end, val_end, True,
                      "no signal day with data and a known outcome: every split is empty")
    f = np.asarray(spec.fallback, dtype=float)
    f = f / f.sum()
    n = len(rows)
    i1 = min(n - 1, max(0, math.ceil(f[0] * n) - 1))
    i2 = min(n - 1, max(i1, math.ceil((f[0] + f[1]) * n) - 1))
    fb_train, fb_val = dates[rows[i1]], dates[rows[i2]]
    masks = _masks(dates, known_row, fb_train, fb_val, usable)
    pct = "/".join(f"{round(100 * x):d}" for x in f)
    span = f"{dates[rows[0]]}..{dates[rows[-1]]}"
    note = (f"fixed split dates (train <= {train_end}, val <= {val_end}) leave {', '.join(small)} "
            f"with fewer than {spec.min_days} usable signal days on data {span}; using {pct} by date "
            f"instead: train <= {fb_train}, val <= {fb_val}, test after; {purge_note}")
    still = [n for n in SPLITS if not masks[n].any()]
    if still:
        note += f" — still empty: {', '.join(still)} (too few sessions)"
    return Splits(masks, fb_train, fb_val, True, note)
