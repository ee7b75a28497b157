"""Which alphas a backtest trades, and where their values come from.

``--alphas`` forms (:func:`parse_alpha_request`):

* an explicit list of variants: ``1,4,44_rev``, ``alpha_001,alpha_044_rev``, user alpha names, ranges
  ``1-10`` (``1-10_rev`` for the reverses); ``_rev`` trades the reverse direction (-alpha);
* ``topN:PERIOD``: the N variants (both directions of every alpha of the **pool**) with the best daily
  rank IC_IR over ``PERIOD`` — ``prior`` (the year before the traded period: out of sample by
  construction; the CLI default), ``train``/``val``/``test``/``all`` (the research splits,
  :mod:`lasps.research.splits`, purged), a year ``2024``, or ``2024-01-01..2024-06-30``.

``--pool`` (:func:`parse_pool`): ``stored`` (every alpha with a file in ``$LASPS_HOME/alphas``),
``all`` (the whole catalogue), or a list with ranges ``1-20,44,alpha_101``.

Values (:class:`AlphaSource`): read from the alpha store (``lasps.alpha.store.read_alpha``) when a
stored file covers the panel's dates, otherwise computed with the engine
(:func:`lasps.alpha.engine.compile_alphas`, streamed). Each alpha is visited once; the source keeps only
its values at the rows the strategies need (:class:`RowSlice`) and, when asked, its daily rank IC, so
a pool of 101 alphas over a long panel never has to sit in memory at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lasps.alpha.catalogue import Catalogue, UnknownAlphaError
from lasps.data.panel import Panel
from lasps.errors import ConfigError, UnavailableError
from lasps.research.alpha_values import stored_or_computed
from lasps.research.forward import drop_suspect_crossings, forward_returns
from lasps.research.ic import rank_ic
from lasps.research.io import stored_alpha_names
from lasps.research.splits import SPLIT_NAMES, make_splits
from lasps.research.timing import Timing
from lasps.research.variants import REV_SUFFIX, split_variant

SOURCES: tuple[str, ...] = ("auto", "store", "compute")
_TOP_RE = re.compile(r"top(\d+):(.+)", re.IGNORECASE)


@dataclass(frozen=True)
class AlphaRequest:
    """A parsed ``--alphas`` value: explicit ``variants`` or ``top_n`` over ``period``."""

    text: str
    variants: tuple[str, ...] = ()
    top_n: int = 0
    period: str = ""

    @property
    def is_top(self) -> bool:
        return self.top_n > 0


def resolve_variant(token: str, catalogue: Catalogue) -> str:
    """``'44_rev'`` -> ``'alpha_044_rev'`` via the catalogue; raises :class:`UnknownAlphaError`."""
    tok = token.strip()
    base, sign = split_variant(tok)
    name = catalogue.resolve(base).name
    return name + (REV_SUFFIX if sign < 0 else "")


def parse_alpha_request(text: str, catalogue: Catalogue) -> AlphaRequest:
    """Parse ``--alphas`` (see the module docstring)."""
    raw = (text or "").strip()
    if not raw:
        raise ConfigError("no alphas given", where="--alphas", fix="e.g. --alphas 1,4,44_rev or --alphas top10:train")
    m = _TOP_RE.fullmatch(raw)
    if m:
        n, period = int(m.group(1)), m.group(2).strip()
        if n < 1:
            raise ConfigError(f"top-N selection needs N >= 1, got {raw!r}", where="--alphas", fix="e.g. top10:train")
        check_period(period)
        return AlphaRequest(raw, top_n=n, period=period)
    tokens: list[str] = []
    for t in (t.strip() for t in raw.split(",") if t.strip()):
        m = re.fullmatch(r"(\d+)-(\d+)(_rev)?", t)
        tokens += [f"{i}{m.group(3) or ''}" for i in range(int(m.group(1)), int(m.group(2)) + 1)] if m else [t]
    variants: list[str] = []
    for t in tokens:
        try:
            v = resolve_variant(t, catalogue)
        except UnknownAlphaError as exc:
            raise UnknownAlphaError(f"unknown alpha {t.strip()!r} in --alphas {raw!r}", where="--alphas",
                                    fix=exc.fix) from None
        if v not in variants:
            variants.append(v)
    return AlphaRequest(raw, variants=tuple(variants))


PRIOR = "prior"


def prior_period(start: np.datetime64, days: int = 365) -> str:
    """``START..END`` of the ``days`` calendar days before ``start`` (what ``topN:prior`` means)."""
    return f"{start - np.timedelta64(days, 'D')}..{start - np.timedelta64(1, 'D')}"


def check_period(period: str) -> tuple[np.datetime64, np.datetime64] | None:
    """Validate a selection period; return its ``(start, end)`` dates, or None for a split name or
    ``prior`` (resolved against the traded period by the caller, :func:`prior_period`)."""
    p = period.strip().lower()
    if p in SPLIT_NAMES or p == PRIOR:
        return None
    try:
        if re.fullmatch(r"\d{4}", p):
            return np.datetime64(f"{p}-01-01", "D"), np.datetime64(f"{p}-12-31", "D")
        if ".." in p:
            a, b = p.split("..", 1)
            lo, hi = np.datetime64(a.strip(), "D"), np.datetime64(b.strip(), "D")
            if lo > hi:
                raise ConfigError(f"selection period {period!r} starts after it ends", where="--alphas")
            return lo, hi
    except ValueError:
        pass
    raise ConfigError(f"unknown selection period {period!r}", where="--alphas",
                      fix="use prior, train, val, test, all, a year (2024) or START..END (2024-01-01..2024-06-30)")


def period_mask(period: str, dates: np.ndarray, horizon: int) -> np.ndarray:
    """``(T,)`` signal rows of a selection period whose forward return (next open, ``horizon``
    sessions) is known inside it — the research splits' purge applied to any period."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    T = len(dates)
    kr = Timing("open", horizon).known_rows(T)
    bounds = check_period(period)
    if bounds is None:
        return make_splits(dates, kr).masks[period.strip().lower()]
    lo = int(np.searchsorted(dates, bounds[0], side="left"))
    hi = int(np.searchsorted(dates, bounds[1], side="right")) - 1
    rows = np.arange(T)
    return (rows >= lo) & (rows <= hi) & (kr <= hi)


def parse_pool(text: str | None, catalogue: Catalogue, home: Path | str) -> list[str]:
    """Alpha names of ``--pool`` (see the module docstring); default ``stored``, or ``all`` when nothing
    is stored."""
    raw = (text or "stored").strip()
    if raw == "stored":
        names = [n for n in stored_alpha_names(home) if n in catalogue]
        return names or [n for n in catalogue if catalogue[n].kind != "user"]
    if raw == "all":
        return list(catalogue)
    out: list[str] = []
    for tok in (t.strip() for t in raw.split(",") if t.strip()):
        m = re.fullmatch(r"(\d+)-(\d+)", tok)
        keys: Iterable[str | int] = range(int(m.group(1)), int(m.group(2)) + 1) if m else [tok]
        for key in keys:
            try:
                name = catalogue.resolve(key).name
            except UnknownAlphaError as exc:
                raise UnknownAlphaError(f"unknown alpha {key!r} in --pool {raw!r}", where="--pool",
                                        fix=exc.fix) from None
            if name not in out:
                out.append(name)
    if not out:
        raise ConfigError(f"empty alpha pool {raw!r}", where="--pool", fix="e.g. --pool 1-101 or --pool stored")
    return out


class RowSlice:
    """A ``(T, N)`` alpha kept only at some rows; ``x[rows]`` works for stored rows only.

    ``rows`` are sorted row numbers, ``values`` their ``(len(rows), N)`` float64 values.
    """

    def __init__(self, rows: np.ndarray, values: np.ndarray, n_rows: int) -> None:
        self.rows = np.asarray(rows, dtype=np.int64)
        self.values = values
        self.shape = (n_rows, values.shape[1])

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        pos = np.searchsorted(self.rows, rows)
        pos = np.minimum(pos, max(len(self.rows) - 1, 0))
        if len(self.rows) == 0 or np.any(self.rows[pos] != rows):
            raise KeyError("alpha values were not kept for some requested rows")
        return self.values[pos]


class AlphaSource:
    """Alpha values (at ``keep_rows``) and daily rank ICs for one panel.

    Parameters
    ----------
    panel:
        The market panel (alphas are aligned to it).
    home:
        ``$LASPS_HOME`` (alpha store and user alphas).
    catalogue:
        Resolves names to formulas.
    keep_rows:
        Rows whose values strategies will read (the signal rows of every planned run).
    horizon:
        Forward-return horizon of the ICs (next-open entry).
    source:
        ``auto`` (stored when it covers the panel, else computed), ``store`` or ``compute``.
    progress:
        Called with each alpha's name when it is done.
    """

    def __init__(self, panel: Panel, home: Path | str, catalogue: Catalogue, keep_rows: np.ndarray,
                 horizon: int, source: str = "auto", progress: Callable[[str], None] | None = None) -> None:
        if source not in SOURCES:
            raise ConfigError(f"unknown alpha source {source!r}", where="--alpha-source",
                              fix=f"choose one of {', '.join(SOURCES)}")
        self.panel = panel
        self.home = Path(home)
        self.catalogue = catalogue
        self.keep_rows = np.unique(np.asarray(keep_rows, dtype=np.int64))
        self.horizon = int(horizon)
        self.source = source
        self.progress = progress
        self.values: dict[str, RowSlice] = {}
        self.ic: dict[str, np.ndarray] = {}
        self.unavailable: dict[str, str] = {}
        self.origin: dict[str, str] = {}
        self._fwd: np.ndarray | None = None

    def _forward(self) -> np.ndarray:
        if self._fwd is None:
            fwd = forward_returns(self.panel.field("open"), None, self.horizon, "open")
            self._fwd = drop_suspect_crossings(fwd, self.panel).values
        return self._fwd

    def _stored_covers(self, name: str) -> bool:
        from lasps.alpha.store import alpha_path, read_metadata

        meta = read_metadata(alpha_path(self.home, name))
        if not meta:
            return False
        d = self.panel.dates
        try:
            return (np.datetime64(meta["first_date"], "D") <= d[0]
                    and np.datetime64(meta["last_date"], "D") >= d[-1])
        except (KeyError, TypeError, ValueError):
            return False

    def _take(self, name: str, arr: np.ndarray, need_ic: bool) -> None:
        if need_ic and name not in self.ic:
            self.ic[name] = rank_ic(arr, self._forward(), self.panel.universe_mask)
        if name not in self.values:
            self.values[name] = RowSlice(self.keep_rows, np.ascontiguousarray(arr[self.keep_rows]),
                                         self.panel.shape[0])
        if self.progress is not None:
            self.progress(name)

    def ensure(self, names: Sequence[str], need_ic: bool = False, strict: bool = True) -> list[str]:
        """Load or compute ``names`` (alpha names, not variants); returns the ones available.

        ``strict`` raises :class:`UnavailableError` for an alpha the panel cannot provide (e.g. VWAP
        alphas without traded value); otherwise such alphas are recorded in :attr:`unavailable`.
        """
        todo = [n for n in dict.fromkeys(names)
                if n not in self.unavailable and (n not in self.values or (need_ic and n not in self.ic))]
        compute = [n for n in todo
                   if not (self.source == "store" or (self.source == "auto" and self._stored_covers(n)))]
        for name, arr in stored_or_computed(self.panel, todo, compute, home=self.home, catalogue=self.catalogue,
                                            unavailable=self.unavailable):
            self.origin[name] = "computed" if name in compute else "store"
            self._take(name, arr, need_ic)
            del arr
        missing = [n for n in names if n in self.unavailable]
        if strict and missing:
            reasons = "; ".join(f"{n}: {self.unavailable[n]}" for n in missing)
            raise UnavailableError(f"cannot compute {', '.join(missing)} from the stored data ({reasons})",
                                   where="--alphas", fix="choose alphas whose inputs the store provides "
                                   "(`lasps alpha list` shows each alpha's inputs)")
        return [n for n in dict.fromkeys(names) if n in self.values]

    def variant_ic(self, variants: Sequence[str]) -> np.ndarray:
        """``(V, T)`` daily rank IC of ``variants`` (their alphas must have been ensured with ICs)."""
        rows = []
        for v in variants:
            base, sign = split_variant(v)
            rows.append(sign * self.ic[base])
        return np.vstack(rows) if rows else np.zeros((0, self.panel.shape[0]))


__all__ = ["SOURCES", "AlphaRequest", "AlphaSource", "RowSlice", "check_period", "parse_alpha_request",
           "parse_pool", "period_mask", "prior_period", "resolve_variant", "stored_alpha_names"]
