"""Incremental alpha computation for the daily pipeline: only the new sessions, with the history each
alpha needs.

The alpha store (:mod:`lasps.alpha.store`) keeps one Parquet file per alpha with a metadata record
(formula, conventions, first/last date …). For a run dated ``D`` each requested alpha is in one of
these states (:func:`plan_alphas`):

``current``
    its file already covers ``D`` (nothing to do);
``append``
    its file ends at ``L < D`` and was produced by the same formula and conventions for the same
    universe: only the sessions ``(L, D]`` are computed, on a panel that starts
    :func:`~lasps.alpha.engine.alpha_lookback` sessions before ``L``'s successor (the warm-up), and the
    new rows are **appended** to the file (:func:`append_alpha`, atomic). The values are identical to
    a full recomputation (every operator only looks back that far — tested);
``full``
    no file, another formula/conventions/universe, or an **adjustment event** (split, rights issue)
    dated in ``(L, D]``: the stored history is on the old adjustment basis, so the whole history is
    recomputed (DESIGN §3.4), exactly as ``lasps alpha compute --end D`` would;
``as_of``
    ``D`` is before the file's last date and an adjustment event lies in ``(D, L]``: the stored values
    were adjusted with a split that was not known at ``D``. They are not used; the evaluation computes
    such alphas on the fly from a panel that ends at ``D`` (nothing is written).

Alphas whose inputs the stored data cannot provide (e.g. ``vwap`` without traded value) are reported as
unavailable with the reason and never substituted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lasps.alpha import store as alpha_store
from lasps.alpha.catalogue import AlphaSpec, Catalogue
from lasps.alpha.conventions import DEFAULT, Conventions
from lasps.alpha.engine import alpha_lookback, alpha_unavailable_reason, compile_alphas, tune_allocator
from lasps.alpha.store import FORMAT_VERSION, METADATA_KEY, alpha_path, long_table, read_metadata, write_table_atomic
from lasps.data.panel import Panel
from lasps.data.panel_loader import load_panel
from lasps.data.store import StoreProvider, store_provider

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: Key of the extra record an appended file carries in its metadata.
INCREMENTAL_KEY = "incremental"


@dataclass
class AlphaPlan:
    """What :func:`compute_alphas` has to do for a date (see the module docstring)."""

    date: dt.date
    current: list[str] = field(default_factory=list)
    append: dict[str, dt.date] = field(default_factory=dict)
    full: dict[str, str] = field(default_factory=dict)
    as_of: list[str] = field(default_factory=list)


@dataclass
class ComputeReport:
    """What :func:`compute_alphas` did.

    Attributes
    ----------
    appended:
        Alpha -> number of new sessions appended.
    recomputed:
        Alpha -> why its whole history was recomputed.
    current:
        Alphas already up to date.
    as_of:
        Alphas whose stored values cannot be used for the date (computed on the fly by the evaluation).
    unavailable:
        Alpha -> reason (inputs missing from the stored data).
    warmup_rows:
        Warm-up sessions loaded before the first appended session (0 when nothing was appended).
    seconds:
        Wall time.
    """

    date: dt.date
    appended: dict[str, int] = field(default_factory=dict)
    recomputed: dict[str, str] = field(default_factory=dict)
    current: list[str] = field(default_factory=list)
    as_of: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    warmup_rows: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["date"] = self.date.isoformat()
        return d

    def line(self) -> str:
        """One line for logs and the CLI."""
        parts = []
        if self.appended:
            n = max(self.appended.values())
            parts.append(f"{len(self.appended)} appended ({n} new session{'s' if n != 1 else ''}, "
                         f"{self.warmup_rows} warm-up)")
        if self.recomputed:
            parts.append(f"{len(self.recomputed)} recomputed in full")
        if self.current:
            parts.append(f"{len(self.current)} already current")
        if self.as_of:
            parts.append(f"{len(self.as_of)} computed on the fly as of {self.date}")
        if self.unavailable:
            parts.append(f"{len(self.unavailable)} unavailable")
        return ", ".join(parts) or "nothing to compute"


# ------------------------------------------------------------------------------------------- planning


def _stored_dates(stores: StoreProvider) -> np.ndarray:
    with stores.store() as store:
        return store.sessions()


def _has_adjustments(stores: StoreProvider, after: dt.date, upto: dt.date) -> bool:
    """True when the store holds an adjustment event dated in ``(after, upto]``."""
    if upto <= after:
        return False
    with stores.store() as store:
        return store.adjustment_events(after, upto) > 0


def plan_alphas(home: StoreProvider | Path, specs: Sequence[AlphaSpec], date: dt.date, universe: str = "default",
                conventions: Conventions = DEFAULT) -> AlphaPlan:
    """Classify each alpha as current / append / full / as_of for ``date`` (see the module docstring)."""
    stores = store_provider(home)
    home = stores.home
    plan = AlphaPlan(date)
    conv = json.loads(json.dumps(dataclasses.asdict(conventions)))
    basis_cache: dict[tuple[dt.date, dt.date], bool] = {}

    def moved(a: dt.date, b: dt.date) -> bool:
        if (a, b) not in basis_cache:
            basis_cache[(a, b)] = _has_adjustments(stores, a, b)
        return basis_cache[(a, b)]

    for spec in specs:
        meta = read_metadata(alpha_path(home, spec.name))
        if meta is None:
            plan.full[spec.name] = "not stored yet"
            continue
        if meta.get("format") != FORMAT_VERSION:
            plan.full[spec.name] = f"stored in store format {meta.get('format')}, now {FORMAT_VERSION} (rewritten once)"
            continue
        if meta.get("formula") != spec.canonical:
            plan.full[spec.name] = "the formula changed since it was stored"
            continue
        if meta.get("conventions") != conv:
            plan.full[spec.name] = "stored with other conventions"
            continue
        if meta.get("universe", "default") != universe:
            plan.full[spec.name] = f"stored for universe {meta.get('universe', 'default')!r}"
            continue
        try:
            last = dt.date.fromisoformat(str(meta["last_date"]))
        except (KeyError, TypeError, ValueError):
            plan.full[spec.name] = "unreadable metadata"
            continue
        if last >= date:
            if last > date and moved(date, last):
                plan.as_of.append(spec.name)
            else:
                plan.current.append(spec.name)
        elif moved(last, date):
            plan.full[spec.name] = (f"an adjustment event (split, rights issue …) after {last} changed the "
                                    "price basis of the stored history")
        else:
            plan.append[spec.name] = last
    return plan


# ------------------------------------------------------------------------------------------ appending


def append_alpha(home: Path, name: str, values: np.ndarray, panel: Panel, rows: slice,
                 metadata: dict[str, Any]) -> Path:
    """Replace the stored rows of ``name`` from the first date of ``panel.dates[rows]`` on with
    ``values[rows]``, keeping the earlier rows; atomic (temporary file + fsync + ``os.replace``).

    The layout is the alpha store's (``date`` date32, ``code`` string, ``value`` float64, the store
    format's per-column codecs, sorted by date then code, metadata under
    :data:`lasps.alpha.store.METADATA_KEY`).
    """
    path = alpha_path(home, name)
    dates = panel.dates[rows]
    new = long_table(np.asarray(values, dtype=np.float64)[rows], dates, panel.codes)
    first = pa.scalar(dates[0].astype(object), type=pa.date32())
    old = pq.read_table(path, columns=["date", "code", "value"], filters=[("date", "<", first)],
                        read_dictionary=["code"])
    schema = new.schema
    table = pa.concat_tables([old.cast(schema), new]).replace_schema_metadata(
        {METADATA_KEY: json.dumps(metadata, sort_keys=True).encode()})
    return write_table_atomic(table, path)


# ------------------------------------------------------------------------------------------ computing


def _load(home: Path, start: np.datetime64 | None, end: dt.date, universe: str) -> Panel:
    return load_panel(start=None if start is None else str(start), end=end, universe=universe, home=home)


def compute_alphas(home: StoreProvider | Path, specs: Sequence[AlphaSpec], date: dt.date, *, universe: str = "default",
                   catalogue: Catalogue | None = None, conventions: Conventions = DEFAULT,
                   progress: Progress | None = None) -> ComputeReport:
    """Bring the stored alphas ``specs`` up to ``date`` (see the module docstring)."""

    t0 = time.perf_counter()
    stores = store_provider(home)
    home = stores.home
    report = ComputeReport(date)
    by_name = {s.name: s for s in specs}
    plan = plan_alphas(stores, specs, date, universe, conventions)
    report.current = list(plan.current)
    report.as_of = list(plan.as_of)
    stored = _stored_dates(stores)
    d_np = np.datetime64(date, "D")
    # availability on a short recent panel, so unavailable alphas never trigger a full history load
    todo = list(plan.full) + list(plan.append)
    if todo:
        recent_start = stored[max(0, int(np.searchsorted(stored, d_np, side="right")) - 30)]
        probe = _load(home, recent_start, date, universe)
        for name in todo:
            reason = alpha_unavailable_reason(by_name[name], probe, conventions)
            if reason:
                report.unavailable[name] = reason
                plan.full.pop(name, None)
                plan.append.pop(name, None)
        del probe
    if plan.full or plan.append:
        tune_allocator()

    if plan.full:
        names = list(plan.full)
        log.info("computing the full history of %d alpha(s) through %s", len(names), date)
        panel = _load(home, None, date, universe)
        fingerprint = alpha_store.panel_fingerprint(panel)
        program = compile_alphas([by_name[n] for n in names], panel, conventions, catalogue=catalogue)
        report.unavailable.update(program.unavailable)
        for name, values in program.run(panel):
            spec = by_name[name]
            meta = alpha_store.expected_metadata(name, spec.canonical, conventions, panel, None, fingerprint)
            if universe != "default":
                meta["universe"] = universe
            alpha_store.write_alpha(home, name, values, panel, meta)
            report.recomputed[name] = plan.full[name]
            if progress is not None:
                progress(name)
        del panel

    groups: dict[dt.date, list[str]] = {}
    for name, last in plan.append.items():
        groups.setdefault(last, []).append(name)
    for last, names in sorted(groups.items()):
        first_new = int(np.searchsorted(stored, np.datetime64(last, "D"), side="right"))
        end_row = int(np.searchsorted(stored, d_np, side="right"))
        n_new = end_row - first_new
        if n_new <= 0:  # pragma: no cover - plan_alphas only appends when last < date
            continue
        warm = max(alpha_lookback(by_name[n], conventions) for n in names)
        start_row = max(0, first_new - warm)
        report.warmup_rows = max(report.warmup_rows, first_new - start_row)
        log.info("appending %d session(s) %s..%s to %d alpha(s) (warm-up %d sessions)", n_new,
                 stored[first_new], stored[end_row - 1], len(names), first_new - start_row)
        panel = _load(home, stored[start_row], date, universe)
        rows = slice(int(np.searchsorted(panel.dates, stored[first_new])), None)
        program = compile_alphas([by_name[n] for n in names], panel, conventions, catalogue=catalogue)
        report.unavailable.update(program.unavailable)
        for name, values in program.run(panel):
            old = alpha_store.read_metadata(alpha_store.alpha_path(home, name)) or {}
            meta = dict(old)
            meta.update({
                "last_date": str(panel.dates[-1]),
                "n_dates": int(old.get("n_dates") or 0) + n_new,
                "n_codes": len(panel.codes),
                "codes_hash": alpha_store.codes_hash(panel.codes),
                "data": None,
                INCREMENTAL_KEY: {"appended_from": str(panel.dates[rows][0]), "sessions": n_new,
                                  "warmup_from": str(panel.dates[0]),
                                  "at": dt.datetime.now().isoformat(timespec="seconds")},
            })
            if universe != "default":
                meta["universe"] = universe
            append_alpha(home, name, values, panel, rows, meta)
            report.appended[name] = n_new
            if progress is not None:
                progress(name)
        del panel
    report.seconds = time.perf_counter() - t0
    return report


def stored_values_frame(home: Path, names: Sequence[str], date: dt.date) -> pd.DataFrame:
    """``alpha, code, value`` of the stored alphas ``names`` on ``date`` (diagnostics and tests)."""
    frames = []
    day = pa.scalar(np.datetime64(date, "D").astype(object), type=pa.date32())
    for name in names:
        t = pq.read_table(alpha_path(home, name), columns=["code", "value"], filters=[("date", "=", day)])
        f = t.to_pandas()
        f.insert(0, "alpha", name)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["alpha", "code", "value"])


__all__ = ["AlphaPlan", "ComputeReport", "append_alpha", "compute_alphas", "plan_alphas", "stored_values_frame"]
