"""Incremental, resumable update of the market store from a live source (``lasps data update``).

:func:`update_store` fetches every KRX trading day after the last stored one up to the latest
**completed** session (calendar-aware: trading days only, never today before the close, never the
future) and writes each day in its own transaction as one chunk of the job ``update:<source>``
(``MarketStore.write_bundle(..., kind="update", job=..., chunk="YYYY-MM-DD")``):

- idempotent: a second run finds nothing to fetch and writes nothing;
- resumable: an interrupted run (network error, Ctrl-C, SIGKILL) leaves every finished day committed
  and the unfinished one untouched; the next run continues with that day — no duplicate, no gap;
- consistent: a code never mixes price bases — updating adjusted data with a raw source (or the
  reverse) is refused before anything is written.

Timing: pykrx needs 5 requests per day (plus 5 for investor flows) at ``settings.pykrx_delay_s``
seconds each, so a daily update takes a few seconds; a month of backfill a few minutes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lasps.config import Settings, ensure_home
from lasps.data.bundle import MarketBundle
from lasps.data.schema import FLOW_COLUMNS, INDEX_COLUMNS, STOCK_COLUMNS
from lasps.data.sources.base import INDEX_CODES, Source, SourceError
from lasps.data.sources.registry import get_source
from lasps.data.store import MarketStore
from lasps.data.validate import (
    is_missing,
    record_unmapped_sectors,
    unmapped_sectors,
    validate_bundle,
)
from lasps.dates import parse_date
from lasps.errors import StoreError, UnavailableError
from lasps.krx.calendar import sessions
from lasps.krx.sessions import latest_completed_session

log = logging.getLogger(__name__)

#: ``progress(done, total, day)`` is called after each committed day (``done`` counts from 1).
ProgressFn = Callable[[int, int, dt.date], None]


@dataclass
class UpdateReport:
    """What :func:`update_store` did.

    Attributes
    ----------
    source, job:
        Source name and the resumable job name (``update:<source>``).
    first, last:
        The window considered (first day after the stored data, or ``start``; the last completed
        session, or ``until``); ``None`` when there was nothing to consider.
    sessions:
        Trading days in the window.
    written:
        Days fetched and committed by this run (in order).
    skipped:
        Days of the window already committed by an earlier run of the job.
    price_rows, index_rows, flow_rows:
        Rows upserted by this run.
    notes:
        Remarks for the user (clamped ``until``, unavailable flows …).
    """

    source: str
    job: str
    first: dt.date | None = None
    last: dt.date | None = None
    sessions: list[dt.date] = field(default_factory=list)
    written: list[dt.date] = field(default_factory=list)
    skipped: list[dt.date] = field(default_factory=list)
    price_rows: int = 0
    index_rows: int = 0
    flow_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        """True when this run had nothing to fetch."""
        return not self.written

    def summary(self) -> str:
        """One line for the CLI."""
        if not self.written:
            return f"{self.source}: already up to date (through {self.last})" if self.last else \
                f"{self.source}: nothing to fetch"
        text = (f"{self.source}: stored {len(self.written)} trading days {self.written[0]} .. {self.written[-1]} "
                f"({self.price_rows:,} price rows, {self.index_rows:,} index rows, {self.flow_rows:,} flow rows)")
        if self.skipped:
            text += f"; {len(self.skipped)} days were already stored by an earlier run"
        return text

    def __str__(self) -> str:
        return self.summary()


def job_name(source_name: str) -> str:
    """The ``load_chunks`` job of updates from ``source_name``."""
    return f"update:{source_name}"


def update_store(home: Path, source_name: str, settings: Settings, until: dt.date | str | None = None,
                 progress: ProgressFn | None = None, *, start: dt.date | str | None = None,
                 source: Source | None = None, now: dt.datetime | None = None,
                 with_flows: bool = True) -> UpdateReport:
    """Bring the store at ``home`` up to date from ``source_name``.

    Parameters
    ----------
    home:
        ``$LASPS_HOME`` (the store must exist and hold prices unless ``start`` is given).
    source_name:
        Registry name (``pykrx``, ``fdr`` …), see :func:`~lasps.data.sources.registry.get_source`.
    settings:
        Settings (credentials, request pacing).
    until:
        Last day to fetch (default and maximum: the latest completed session at ``now``).
    progress:
        Called after each committed day as ``progress(done, total, day)``.
    start:
        First day to fetch instead of the day after the last stored one (backfill / re-fetch); days
        this job already committed are skipped.
    source:
        A ready source instance (tests inject one with a fake client); default ``get_source(...)``.
    now:
        Reference time for "latest completed session" (default: now, KST).
    with_flows:
        Also fetch investor flows where the source offers them.

    Raises
    ------
    StoreError
        The store is empty and no ``start`` was given, or the source's price basis differs from the
        stored codes'.
    SourceError, InputDataError
        A request failed after its retries or returned malformed data; the days before it are kept and
        the next run resumes there.
    """
    job = job_name(source_name)
    report = UpdateReport(source=source_name, job=job)
    latest = latest_completed_session(now)
    end = latest
    if until is not None:
        wanted = parse_date(until, option="--until")
        if wanted > latest:
            report.notes.append(f"until {wanted} is after the latest completed session {latest}; "
                                f"stopping at {latest}")
        end = min(wanted, latest)
    with MarketStore(ensure_home(Path(home))) as store:
        last_stored = store.last_price_date()
        if start is not None:
            begin = parse_date(start, option="--start")
        elif last_stored is None:
            raise StoreError(
                "the market store has no prices yet, so there is nothing to update from",
                where=str(store.path),
                fix="run `lasps data init` (or `lasps data import PATH`) first, or give --start YYYY-MM-DD "
                    "to fetch from that day",
            )
        else:
            begin = last_stored + dt.timedelta(days=1)
        report.first, report.last = begin, end
        window = [pd.Timestamp(d).date() for d in sessions(begin, end)] if begin <= end else []
        report.sessions = window
        done = store.done_chunks(job)
        todo = [d for d in window if d.isoformat() not in done]
        report.skipped = [d for d in window if d.isoformat() in done]
        if not todo:
            log.info("%s: store is up to date (last stored day %s)", source_name, last_stored)
            return report

        src = source if source is not None else get_source(source_name, settings)
        existing = _stored_stocks(store)
        _check_basis_upfront(existing, src, str(store.path))
        index = _prefetch_index(src, todo[0], todo[-1], report)
        batch: MarketBundle | None = None
        batch_flows: pd.DataFrame | None = None
        by_range = getattr(src, "fetch_mode", "by_range") == "by_range"
        if by_range:
            batch = src.daily(todo[0], todo[-1])
            batch_flows = _fetch_flows(src, todo[0], todo[-1], report) if with_flows else None
        new_stocks_cache: pd.DataFrame | None = None

        for i, day in enumerate(todo, start=1):
            if batch is not None:
                bundle = _slice_day(batch, day)
                flows = _slice_frame(batch_flows, day) if batch_flows is not None else None
            else:
                bundle = src.daily(day, day)
                flows = _fetch_flows(src, day, day, report) if with_flows else None
            if len(bundle.prices) == 0:
                raise SourceError(
                    f"{source_name}: no prices for the trading day {day}",
                    where=f"{source_name} {day}",
                    fix="the day may not be published yet; run the update again later (days before it "
                        "are stored)",
                )
            new_codes = set(bundle.stocks["code"]) - set(existing.index)
            if new_codes and new_stocks_cache is None and not by_range:
                try:
                    new_stocks_cache = src.stocks(day)
                except (UnavailableError, NotImplementedError):
                    new_stocks_cache = pd.DataFrame(columns=list(STOCK_COLUMNS))
            stocks = _merge_stocks(bundle.stocks, existing, new_stocks_cache)
            _check_basis(stocks, existing, src, str(store.path))
            day_index = _slice_frame(index, day)
            bundle = MarketBundle(
                source=source_name, stocks=stocks, prices=bundle.prices,
                index=day_index if day_index is not None else bundle.index,
                flows=flows if flows is not None else bundle.flows,
                unavailable=dict(bundle.unavailable),
            )
            checked = validate_bundle(bundle, f"{source_name} {day}")
            rows = store.write_bundle(checked, kind="update", job=job, chunk=day.isoformat())
            unmapped = unmapped_sectors(checked)
            if len(unmapped):
                record_unmapped_sectors(store.con, unmapped)
            existing = _remember(existing, checked.stocks)
            report.written.append(day)
            report.price_rows += rows
            report.index_rows += len(checked.index)
            report.flow_rows += len(checked.flows)
            log.info("%s: %s stored (%d price rows) [%d/%d]", source_name, day, rows, i, len(todo))
            if progress is not None:
                progress(i, len(todo), day)
    return report


# -- helpers -------------------------------------------------------------------------------------
def _stored_stocks(store: MarketStore) -> pd.DataFrame:
    frame = store.query_df(f"SELECT {', '.join(STOCK_COLUMNS)} FROM stocks")
    return frame.set_index("code", drop=False)


def _check_basis_upfront(existing: pd.DataFrame, src: Source, where: str) -> None:
    if len(existing) == 0:
        return
    bases = set(existing["price_basis"].astype(str))
    if src.price_basis not in bases:
        other = ", ".join(sorted(bases))
        raise StoreError(
            f"the store holds {other} prices, but the {src.name} source delivers {src.price_basis} prices; "
            "a code never mixes price bases",
            where=where,
            fix="update with a source of the same basis (pykrx: raw, fdr: adjusted), or build a new store "
                "for this source (`lasps data init` / `lasps data import`) under another --home",
        )


def _check_basis(stocks: pd.DataFrame, existing: pd.DataFrame, src: Source, where: str) -> None:
    if len(existing) == 0 or len(stocks) == 0:
        return
    stored = existing["price_basis"].reindex(stocks["code"]).to_numpy(dtype=object)
    clash = [(c, b) for c, b in zip(stocks["code"], stored, strict=True)
             if not is_missing(b) and b != src.price_basis]
    if clash:
        code, basis = clash[0]
        raise StoreError(
            f"{len(clash)} codes (e.g. {code}) are stored with {basis} prices, but {src.name} delivers "
            f"{src.price_basis} prices; a code never mixes price bases",
            where=where,
            fix="update with a source of the same basis (pykrx: raw, fdr: adjusted), or re-import these codes",
        )


def _merge_stocks(new: pd.DataFrame, existing: pd.DataFrame, listing: pd.DataFrame | None) -> pd.DataFrame:
    """Source rows with gaps filled from the store (sectors, listing dates) or a fresh listing.

    ``write_bundle`` replaces whole ``stocks`` rows, so a source that does not send sectors would
    otherwise wipe the sectors stored by ``data init``.
    """
    if len(new) == 0:
        return new
    out = new.reset_index(drop=True).copy()
    for col in STOCK_COLUMNS:
        if col not in out.columns:
            out[col] = None
    fallbacks = [f for f in (existing, listing.set_index("code", drop=False) if listing is not None and len(listing)
                             else None) if f is not None and len(f)]
    for col in ("name", "market", "sector_code", "sector_name", "sector_id", "listed_date", "delisted_date"):
        values = out[col].astype(object).to_numpy()
        for fb in fallbacks:
            if col not in fb.columns:
                continue
            alt = fb[col].reindex(out["code"]).astype(object).to_numpy()
            fill = np.array([is_missing(v) for v in values]) & np.array([not is_missing(v) for v in alt])
            values = np.where(fill, alt, values)
        out[col] = pd.Series(values, dtype=object)
    out["sector_id"] = pd.array([pd.NA if is_missing(v) else int(v) for v in out["sector_id"]], dtype="Int16")
    for col in ("listed_date", "delisted_date"):
        out[col] = pd.to_datetime(pd.Series(out[col], dtype=object), errors="coerce").astype("datetime64[us]")
    # a new kind follows the (possibly refreshed) name
    return out.loc[:, list(STOCK_COLUMNS)]


def _remember(existing: pd.DataFrame, stocks: pd.DataFrame) -> pd.DataFrame:
    if len(stocks) == 0:
        return existing
    fresh = stocks.set_index("code", drop=False)
    if len(existing) == 0:
        return fresh
    return pd.concat([existing[~existing.index.isin(fresh.index)], fresh])


def _prefetch_index(src: Source, first: dt.date, last: dt.date, report: UpdateReport) -> pd.DataFrame | None:
    frames = []
    for code in INDEX_CODES:
        try:
            frame = src.index(code, first, last)
        except (UnavailableError, NotImplementedError) as exc:
            report.notes.append(f"index {code} not updated: {exc}")
            continue
        if frame is not None and len(frame):
            frames.append(frame)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in INDEX_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def _fetch_flows(src: Source, first: dt.date, last: dt.date, report: UpdateReport) -> pd.DataFrame | None:
    try:
        return src.flows(first, last)
    except (UnavailableError, NotImplementedError) as exc:
        note = f"investor flows not updated: {exc.what if isinstance(exc, UnavailableError) else exc}"
        if note not in report.notes:
            report.notes.append(note)
        return None


def _slice_frame(frame: pd.DataFrame | None, day: dt.date) -> pd.DataFrame | None:
    if frame is None:
        return None
    if len(frame) == 0:
        return frame
    dates = pd.to_datetime(frame["date"]).dt.normalize()
    return frame[(dates == pd.Timestamp(day)).to_numpy()].reset_index(drop=True)


def _slice_day(batch: MarketBundle, day: dt.date) -> MarketBundle:
    prices = _slice_frame(batch.prices, day)
    assert prices is not None
    stocks = batch.stocks[batch.stocks["code"].isin(set(prices["code"]))].reset_index(drop=True)
    return MarketBundle(source=batch.source, stocks=stocks, prices=prices,
                        flows=pd.DataFrame({c: pd.Series(dtype=object) for c in FLOW_COLUMNS}),
                        unavailable=dict(batch.unavailable))
