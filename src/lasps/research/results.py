"""The one writer of an evaluation's results: ``lasps eval …`` and ``lasps daily`` both call it (DESIGN §4).

:func:`write_evaluation` writes, for one :class:`~lasps.research.evaluate.Evaluation`:

- files under ``$LASPS_HOME/research/`` (``<stem>_latest`` plus a timestamped copy, :mod:`lasps.research.io`):
  ``rank_latest.csv`` (one row per variant and split, :data:`~lasps.research.ranking.RANK_COLUMNS`),
  ``quantiles_latest.csv`` and ``ic_daily_latest.parquet`` (``date, variant, ic``; signal date);
- DuckDB rows, one transaction: ``eval_runs`` (the record of :func:`eval_run_record`), ``eval_results``,
  ``eval_quantiles``, ``eval_ic_daily`` (``known_date`` beside the signal date; latest run only) and any
  command-specific tables (``eval_walkforward`` …) given as ``extra_tables``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.data.store import StoreProvider, store_provider
from lasps.research import io as rio
from lasps.research.evaluate import Evaluation
from lasps.research.ranking import RankTable, rank_table


@dataclass(frozen=True)
class EvaluationFiles:
    """What :func:`write_evaluation` wrote."""

    run_id: str
    table: RankTable
    rank_path: Path
    quantiles_path: Path
    ic_path: Path


def eval_run_record(ev: Evaluation, command: str, params: dict[str, Any]) -> pd.DataFrame:
    """The one-row ``eval_runs`` frame of an evaluation (without ``run_id``): command, timing
    (``horizon``, ``entry``), buckets, counts, the evaluated span, the split note and ``params`` as JSON."""
    return pd.DataFrame([{
        "created_at": pd.Timestamp.now(), "command": command, "horizon": ev.config.horizon,
        "entry": ev.config.entry, "quantiles": ev.config.quantiles, "n_alphas": len(ev.alphas),
        "n_variants": ev.n_variants, "first_date": ev.dates[0], "last_date": ev.dates[-1],
        "split_note": ev.splits.note, "params": json.dumps(params, sort_keys=True, default=str),
    }])


def ic_daily_rows(ev: Evaluation) -> pd.DataFrame:
    """``date, known_date, variant, ic`` of every finite daily IC (the ``eval_ic_daily`` rows)."""
    vi, ti = np.nonzero(np.isfinite(ev.ic))
    return pd.DataFrame({"date": ev.dates[ti], "known_date": rio.known_dates(ev, ti),
                         "variant": np.asarray(ev.variants, dtype=object)[vi], "ic": ev.ic[vi, ti]})


def quantile_rows(table: RankTable) -> pd.DataFrame:
    """``variant, split, quantile, mean_return`` (long form of the rank table's quantile columns)."""
    q = table.quantiles.melt(id_vars=["variant", "split"], var_name="quantile", value_name="mean_return")
    q["quantile"] = q["quantile"].str[1:].astype(int)
    return q


def write_evaluation(stores: StoreProvider | Path | str, ev: Evaluation, *, command: str, params: dict[str, Any],
                     run_id: str | None = None, extra_tables: dict[str, pd.DataFrame] | None = None) -> EvaluationFiles:
    """Write the rank/quantile/IC files and the ``eval_*`` rows of ``ev`` (see the module docstring).

    ``stores`` is the workspace (or a home path); ``run_id`` defaults to a new
    :func:`~lasps.research.io.new_run_id`.
    """
    provider = store_provider(stores)
    home = provider.home
    run_id = run_id or rio.new_run_id()
    table = rank_table(ev)
    rank_path = rio.write_frame(home, "rank", table.frame, run_id)
    q_path = rio.write_frame(home, "quantiles", table.quantiles, run_id)
    ic_path = rio.write_frame(home, "ic_daily", rio.ic_daily_frame(ev), run_id, fmt="parquet")
    frames = {"eval_runs": eval_run_record(ev, command, params), "eval_results": table.frame,
              "eval_quantiles": quantile_rows(table), "eval_ic_daily": ic_daily_rows(ev)}
    frames.update(extra_tables or {})
    rio.write_tables(provider, frames, run_id)
    return EvaluationFiles(run_id, table, rank_path, q_path, ic_path)


__all__ = ["EvaluationFiles", "eval_run_record", "ic_daily_rows", "quantile_rows", "write_evaluation"]
