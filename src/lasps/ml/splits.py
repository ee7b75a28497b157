"""Date splits of the dataset with a purge gap (DESIGN §8).

A sample dated t (features through the close of t) belongs to the split that contains date t:
train ``<= train_end`` < val ``<= val_end`` < test (defaults 2022-12-31 and 2023-12-31, the work
log's splits). Its label is completed by the price of row ``t + lag`` (``lag = h + 1`` with next-open
entry, ``h`` with close entry; see :mod:`lasps.ml.labels`). A train (val) sample whose label row falls
on or after the first session of the next split is **purged** (assigned to no split), so no label of
an earlier split uses a price of a later one — a gap of ``lag`` sessions before each boundary.

Fallback: when the fixed dates leave a split with fewer than ``min_dates`` distinct sample dates
(e.g. the synthetic market 2022-10..2026-10, whose first samples come after the 179-session warm-up,
or the real sample 2018–2021), the boundaries are put at 60 % / 80 % of the distinct sample dates
instead (the same fractions as :mod:`lasps.research.splits`), and :attr:`SplitResult.note` and the
dataset manifest say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lasps.dates import parse_date
from lasps.errors import ConfigError

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
PURGED = -1


@dataclass(frozen=True)
class SplitSpec:
    """Split boundaries (inclusive ``YYYY-MM-DD``), fallback fractions and the fewest dates per split."""

    train_end: str = "2022-12-31"
    val_end: str = "2023-12-31"
    fallback: tuple[float, float, float] = (0.6, 0.2, 0.2)
    min_dates: int = 5

    def __post_init__(self) -> None:
        a = np.datetime64(parse_date(self.train_end, option="--train-end"), "D")
        b = np.datetime64(parse_date(self.val_end, option="--val-end"), "D")
        if not a < b:
            raise ConfigError(f"train end {a} must be before val end {b}", where="--train-end/--val-end")
        if len(self.fallback) != 3 or any(f <= 0 for f in self.fallback):
            raise ConfigError(f"fallback fractions must be three positive numbers, got {self.fallback}")
        if self.min_dates < 1:
            raise ConfigError(f"min_dates must be >= 1, got {self.min_dates}")


@dataclass
class SplitResult:
    """Per-sample split codes and the boundaries in force.

    Attributes
    ----------
    split:
        ``(n,)`` int8: 0 train, 1 val, 2 test, -1 purged.
    train_end, val_end:
        Boundaries in force (``datetime64[D]``).
    mode:
        ``"dates"`` (the fixed boundaries) or ``"fraction"`` (the fallback).
    note:
        One line for the reader: which boundaries, why, the purge.
    purged:
        Samples purged before each boundary: ``{"train": k, "val": k}``.
    """

    split: np.ndarray
    train_end: np.datetime64
    val_end: np.datetime64
    mode: str
    note: str
    purged: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {name: int((self.split == i).sum()) for i, name in enumerate(SPLIT_NAMES)}


def _assign(sample_dates: np.ndarray, rows: np.ndarray, dates: np.ndarray, lag: int,
            train_end: np.datetime64, val_end: np.datetime64) -> tuple[np.ndarray, dict[str, int]]:
    split = np.full(len(rows), 2, dtype=np.int8)
    split[sample_dates <= val_end] = 1
    split[sample_dates <= train_end] = 0
    purged: dict[str, int] = {}
    for s, boundary in ((0, train_end), (1, val_end)):
        first_next = int(np.searchsorted(dates, boundary, side="right"))  # first row after the boundary
        cut = (split == s) & (rows + lag >= first_next)
        purged[SPLIT_NAMES[s]] = int(cut.sum())
        split[cut] = PURGED
    return split, purged


def _n_dates(sample_dates: np.ndarray, split: np.ndarray) -> list[int]:
    return [len(np.unique(sample_dates[split == s])) for s in range(3)]


def assign_splits(rows: np.ndarray, dates: np.ndarray, lag: int, spec: SplitSpec = SplitSpec()) -> SplitResult:
    """Assign samples at panel ``rows`` (dates ``dates[rows]``) to train/val/test with purging.

    Parameters
    ----------
    rows:
        ``(n,)`` panel row of each sample.
    dates:
        ``(T,)`` ``datetime64[D]`` panel dates, ascending.
    lag:
        Rows from a sample to the row that completes its label (:attr:`LabelSpec.lag`).
    """
    rows = np.asarray(rows, dtype=np.int64)
    dates = np.asarray(dates, dtype="datetime64[D]")
    sample_dates = dates[rows]
    te, ve = np.datetime64(spec.train_end, "D"), np.datetime64(spec.val_end, "D")
    split, purged = _assign(sample_dates, rows, dates, lag, te, ve)
    got = _n_dates(sample_dates, split)
    if min(got) >= spec.min_dates:
        note = (f"train <= {te} < val <= {ve} < test (fixed dates); samples whose label row (t+{lag}) "
                f"reaches the next split are purged")
        return SplitResult(split, te, ve, "dates", note, purged)
    uniq = np.unique(sample_dates)
    if len(uniq) < 3:
        raise ConfigError(f"only {len(uniq)} distinct sample dates: too little data for three splits",
                          where="--start/--end", fix="use a longer date range or a smaller --stride")
    f = np.asarray(spec.fallback, dtype=np.float64)
    cum = np.cumsum(f / f.sum())
    a = min(max(round(float(cum[0]) * len(uniq)), 1), len(uniq) - 2)
    b = min(max(round(float(cum[1]) * len(uniq)), a + 1), len(uniq) - 1)
    te2, ve2 = uniq[a - 1], uniq[b - 1]
    split, purged = _assign(sample_dates, rows, dates, lag, te2, ve2)
    got2 = _n_dates(sample_dates, split)
    if min(got2) < 1:
        raise ConfigError(
            f"too little data for three non-empty splits after purging (dates per split {got2})",
            where="--start/--end", fix="use a longer date range, a smaller --stride or a shorter --horizon")
    pct = "/".join(f"{round(100 * x / f.sum())}" for x in f)
    note = (f"fixed dates (train <= {te} < val <= {ve}) left a split with fewer than {spec.min_dates} sample "
            f"dates (got {got}); fell back to {pct} % of the {len(uniq)} sample dates: train <= {te2} < "
            f"val <= {ve2} < test; samples whose label row (t+{lag}) reaches the next split are purged")
    return SplitResult(split, te2, ve2, "fraction", note, purged)
