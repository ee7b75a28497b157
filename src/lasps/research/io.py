"""Reading alpha values for an evaluation, and writing its results (files + DuckDB tables).

Inputs: alpha values from the alpha store (``$LASPS_HOME/alphas/<name>.parquet``, written by ``lasps
alpha compute``; read with :func:`lasps.alpha.store.read_alpha`), one alpha at a time.

Files under ``$LASPS_HOME/research/`` (DESIGN §4), each written as ``<stem>_latest.<ext>`` and as a
timestamped copy ``<stem>_<run_id>.<ext>`` (``run_id`` = ``YYYYMMDD-HHMMSS-xxxx``, local time):

- ``rank_latest.csv`` — ``variant, split, n_days, coverage, ic_mean, ic_std, ic_ir, ic_t_nw, hit_rate,
  q_spread, ls_return, lo_return, turnover`` (see :mod:`lasps.research.ranking`);
- ``ic_daily_latest.parquet`` — ``date, variant, ic``: ``date`` is the **signal date**; the IC of that
  date becomes known ``h + 1`` sessions later with next-open entry (``h`` with close entry);
- ``quantiles_latest.csv``, ``walkforward_latest.csv``, ``walkforward_periods_latest.csv``,
  ``overfit_latest.json``, ``correlation_latest.csv``, ``clusters_latest.csv``, and the plots
  ``ic_latest.png/.html``, ``walkforward_latest.png/.html``.

DuckDB tables in ``$LASPS_HOME/lasps.duckdb`` (created here if missing; one writer at a time, so the
connection is opened only for the write, inside one transaction): ``eval_runs`` (one row per run),
``eval_results`` (rank rows per run), ``eval_quantiles``, ``eval_walkforward``, ``eval_wf_periods``,
``eval_selections``, ``eval_overfit``, ``eval_clusters`` keep every run (key ``run_id``);
``eval_ic_daily`` (``run_id, date, known_date, variant, ic``) keeps the latest run only.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lasps.alpha.catalogue import get_catalogue
from lasps.data.schema import RESEARCH_LATEST_ONLY
from lasps.data.store import StoreProvider, store_provider, with_store_retry
from lasps.errors import ConfigError, StoreError
from lasps.files import atomic_write, json_dumps

RESEARCH_DIR = "research"

LATEST_ONLY = RESEARCH_LATEST_ONLY


def new_run_id(now: dt.datetime | None = None) -> str:
    """``YYYYMMDD-HHMMSS-xxxx`` (local time plus 4 random hex digits)."""
    now = now or dt.datetime.now()
    return f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


def research_dir(home: Path | str) -> Path:
    """``$LASPS_HOME/research`` (created)."""
    d = Path(home) / RESEARCH_DIR
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {d}: {exc}", where=str(d), fix="check LASPS_HOME permissions") from exc
    return d


# ---------------------------------------------------------------------------------------- alphas


def stored_alpha_names(home: Path | str) -> list[str]:
    """Names of the alphas stored under ``$LASPS_HOME/alphas`` (sorted)."""
    from lasps.alpha.store import alphas_dir

    d = alphas_dir(home)
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.parquet") if not p.name.startswith("."))


_RANGE = re.compile(r"^(\d+)-(\d+)$")


def parse_alpha_keys(text: str | None) -> list[str]:
    """``"1,4,17"``, ``"1-10,alpha_201"`` -> keys (ranges of ids expanded); empty for None."""
    if text is None:
        return []
    keys: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        m = _RANGE.match(part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise ConfigError(f"empty alpha range {part!r}", where="--alphas", fix="write it low-high, e.g. 1-10")
            keys += [str(i) for i in range(lo, hi + 1)]
        else:
            keys.append(part)
    if not keys:
        raise ConfigError(f"--alphas {text!r} names no alpha", where="--alphas",
                          fix="give ids or names separated by commas, e.g. --alphas 1,4,17,alpha_201")
    return keys


def resolve_alpha_names(keys: Sequence[str], home: Path | str) -> list[str]:
    """Alpha names for ids/names (``44`` -> ``alpha_044``); a stored file of that name also counts."""
    stored = set(stored_alpha_names(home))
    cat = get_catalogue(home)
    out: list[str] = []
    for k in keys:
        if k in stored:
            name = k
        else:
            try:
                name = cat.resolve(int(k) if k.isdigit() else k).name
            except Exception as exc:  # UnknownAlphaError and friends
                raise ConfigError(f"unknown alpha {k!r}", where="--alphas",
                                  fix="see `lasps alpha list` for ids and names") from exc
        if name not in out:
            out.append(name)
    return out


def iter_stored_alphas(home: Path | str, panel, names: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:  # type: ignore[no-untyped-def]
    """Yield ``(name, (T, N) array)`` for each stored alpha, aligned to ``panel``, one at a time."""
    from lasps.alpha.store import read_alpha

    for name in names:
        yield name, read_alpha(home, name, panel)


def stale_alphas(home: Path | str, names: Sequence[str], last_date: np.datetime64) -> list[tuple[str, str]]:
    """Stored alphas whose recorded last date is before ``last_date``: ``[(name, their last date)]``."""
    from lasps.alpha.store import alpha_path, read_metadata

    out = []
    for name in names:
        meta = read_metadata(alpha_path(home, name)) or {}
        last = meta.get("last_date")
        if last and np.datetime64(last, "D") < np.datetime64(last_date, "D"):
            out.append((name, str(last)))
    return out


def missing_alphas_error(home: Path | str, names: Sequence[str] | None = None) -> StoreError:
    what = ("no alpha values are stored" if not names
            else f"alpha values not stored for: {', '.join(names[:10])}{' …' if len(names) > 10 else ''}")
    return StoreError(f"{what} under {Path(home) / 'alphas'}", where=str(Path(home) / "alphas"),
                      fix="run `lasps alpha compute` (or `lasps alpha compute --alphas 1,4,17`) first, "
                          "or leave out --no-compute to compute them on the fly")


# ----------------------------------------------------------------------------------------- files


def write_output(home: Path | str, stem: str, ext: str, run_id: str, write) -> Path:  # type: ignore[no-untyped-def]
    """Write ``research/<stem>_<run_id>.<ext>`` with ``write(path)`` and copy it to ``<stem>_latest``.

    Returns the ``_latest`` path. Both writes are atomic (temporary file + rename).
    """
    d = research_dir(home)
    stamped = d / f"{stem}_{run_id}.{ext}"
    latest = d / f"{stem}_latest.{ext}"
    atomic_write(stamped, write)
    atomic_write(latest, lambda p: shutil.copyfile(stamped, p))
    return latest


def write_frame(home: Path | str, stem: str, frame: pd.DataFrame, run_id: str, fmt: str = "csv") -> Path:
    if fmt == "csv":
        return write_output(home, stem, "csv", run_id, lambda p: frame.to_csv(p, index=False))
    return write_output(home, stem, "parquet", run_id, lambda p: frame.to_parquet(p, index=False))


def write_json(home: Path | str, stem: str, obj: object, run_id: str) -> Path:
    text = json_dumps(obj) + "\n"
    return write_output(home, stem, "json", run_id, lambda p: p.write_text(text, encoding="utf-8"))


def write_text(home: Path | str, stem: str, ext: str, text: str, run_id: str) -> Path:
    return write_output(home, stem, ext, run_id, lambda p: p.write_text(text, encoding="utf-8"))


def write_bytes(home: Path | str, stem: str, ext: str, data: bytes, run_id: str) -> Path:
    return write_output(home, stem, ext, run_id, lambda p: p.write_bytes(data))


def ic_daily_frame(ev) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """``date, variant, ic`` (finite ICs only; ``date`` = signal date) of an evaluation."""
    vi, ti = np.nonzero(np.isfinite(ev.ic))
    return pd.DataFrame({
        "date": pd.to_datetime(ev.dates[ti]).astype("datetime64[ns]"),
        "variant": np.asarray(ev.variants, dtype=object)[vi],
        "ic": ev.ic[vi, ti],
    })


def known_dates(ev, rows: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Dates at which the outcomes of signal ``rows`` are known (NaT past the panel's end)."""
    k = ev.fwd.known_row[rows]
    out = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = k < len(ev.dates)
    out[ok] = ev.dates[k[ok]]
    return out


# ---------------------------------------------------------------------------------------- DuckDB


def write_tables(home: StoreProvider | Path | str, frames: dict[str, pd.DataFrame], run_id: str) -> None:
    """Insert ``frames`` (table name -> rows, without ``run_id``) into the market store in one
    transaction (:meth:`~lasps.data.queries.StoreQueries.replace_run_rows`). Tables in
    :data:`LATEST_ONLY` are emptied first. Retries while another process holds the file lock."""
    provider = store_provider(home)

    def write() -> None:
        with provider.store(write=True) as store:
            store.replace_run_rows(frames, run_id, latest_only=LATEST_ONLY)

    with_store_retry(write)
