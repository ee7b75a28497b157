"""``lasps alpha mine`` end to end: validate, split off the holdout, search, judge, write, register.

Holdout wall (enforced here, tested by perturbing the holdout): the store's sessions are counted, the
last ``holdout`` share becomes the holdout, and the **search panel is loaded from the store with
``end`` = the last session before the holdout** — so not even the split adjustment of a holdout-period
split (which rescales earlier adjusted prices) reaches the search. The full panel is loaded only after
:func:`~lasps.research.mining.search.run_search` has returned its frozen shortlist, for
:func:`~lasps.research.mining.holdout.judge_shortlist`.

Outputs under ``$LASPS_HOME/mining/<run_id>/``: ``shortlist.csv`` (:data:`SHORTLIST_COLUMNS`),
``run.json``, ``correlation.csv`` (the shortlist's pairwise correlations) and, while the search runs,
``checkpoint.json`` / ``checkpoint.npz``; ``mining/latest`` is a text file holding the newest finished
run id. Nothing is written before every input has been validated.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.alpha.catalogue import register_user_alpha
from lasps.data.panel import Panel
from lasps.data.panel_loader import load_panel
from lasps.errors import ConfigError, StoreError
from lasps.files import atomic_write_text, write_json
from lasps.research.mining.grammar import DEFAULT_OPERATORS, TERMINALS, Grammar, parse_operators
from lasps.research.mining.holdout import DSR_THRESHOLD, Judgment, judge_shortlist, oriented
from lasps.research.mining.search import CHECKPOINT_JSON, SearchConfig, SearchResult, SearchState, run_search

__all__ = ["MIN_HOLDOUT_SESSIONS", "SHORTLIST_COLUMNS", "MinePlan", "MineResult", "latest_run_id", "mine",
           "mining_dir", "plan_mine"]

SHORTLIST_COLUMNS: tuple[str, ...] = (
    "formula", "trials", "train_ic", "train_ic_ir", "valid_ic", "holdout_ic", "holdout_ic_t", "dsr",
    "passed", "max_corr_paper", "nearest_paper",
)
MIN_HOLDOUT_SESSIONS = 60
MIN_TRAIN_SESSIONS = 60
LOOKBACK_PER_WINDOW = 3  # max lookback of a formula = 3 x the max window
PANEL_FIELDS = ("open", "high", "low", "close", "volume", "value", "market_cap")
LATEST = "latest"


def mining_dir(home: Path | str) -> Path:
    return Path(home) / "mining"


def latest_run_id(home: Path | str) -> str | None:
    """The run id in ``mining/latest`` (None when no run finished)."""
    p = mining_dir(home) / LATEST
    return p.read_text(encoding="utf-8").strip() or None if p.is_file() else None


@dataclass(frozen=True)
class MinePlan:
    """A validated request: the grammar, the search config and where the holdout starts."""

    home: Path
    config: SearchConfig
    grammar: Grammar
    holdout: float
    alpha: float
    universe: str
    dates: np.ndarray  # every stored session of the universe
    holdout_start: int  # first holdout row in ``dates``
    notes: tuple[str, ...]

    @property
    def search_end(self) -> np.datetime64:
        return self.dates[self.holdout_start - 1]


def _load(home: Path, end: object = None, universe: str = "default") -> Panel:

    return load_panel(list(PANEL_FIELDS), end=end, universe=universe, home=home)


def plan_mine(home: Path | str, config: SearchConfig, holdout: float = 0.2, operators: str | None = None,
              alpha: float = 0.05, universe: str = "default", panel: Panel | None = None) -> MinePlan:
    """Validate every input (exit code 2 via :class:`~lasps.errors.LaspsError` on bad ones, before
    anything is written) and fix the spans. ``panel`` (the full panel) may be passed to skip a load."""
    home = Path(home)
    if config.trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {config.trials}", where="--trials",
                          fix="give the number of formulas to evaluate, e.g. --trials 2000")
    if not 0 < holdout < 1:
        raise ConfigError(f"--holdout must be a share of the dates in (0, 1), got {holdout}", where="--holdout",
                          fix="e.g. --holdout 0.2 keeps the last 20 % of the sessions for the holdout")
    if not 0 < alpha < 0.5:
        raise ConfigError(f"the test level must be in (0, 0.5), got {alpha}", where="--alpha",
                          fix="e.g. --alpha 0.05")
    ops = parse_operators(operators) if operators is not None else (config.operators or DEFAULT_OPERATORS)
    full = panel if panel is not None else _load(home, universe=universe)
    T = full.shape[0]
    notes: list[str] = []
    for need in ("open", "close", "volume"):
        reason = full.unavailable_reason(need)
        if reason:
            raise StoreError(f"mining needs {need}: {reason}", where=str(home),
                             fix="import prices with open, close and volume (`lasps data import`)")
    terminals = [t for t in TERMINALS if t != "vwap" or full.has("vwap")]
    if "vwap" not in terminals:
        notes.append("vwap left out of the search: the store has no traded value")
    if "indneutralize" in ops and not (np.asarray(full.industry) >= 0).any():
        raise StoreError("--operators includes indneutralize but the store has no industry classification",
                         where="--operators", fix="drop indneutralize or import sector codes")
    holdout_rows = math.ceil(T * holdout)
    if holdout_rows < MIN_HOLDOUT_SESSIONS:
        raise ConfigError(
            f"--holdout {holdout} leaves {holdout_rows} holdout sessions of {T}; at least "
            f"{MIN_HOLDOUT_SESSIONS} are needed", where="--holdout",
            fix=f"use a larger --holdout (>= {MIN_HOLDOUT_SESSIONS / max(T, 1):.2f}) or a longer history")
    start = T - holdout_rows
    max_lookback = LOOKBACK_PER_WINDOW * config.max_window
    train_rows = round(start * config.train_share) - max_lookback - config.horizon - 1
    if train_rows < MIN_TRAIN_SESSIONS:
        raise ConfigError(
            f"--max-window {config.max_window} (lookback up to {max_lookback} sessions) leaves {train_rows} "
            f"training sessions of the {start} before the holdout; at least {MIN_TRAIN_SESSIONS} are needed",
            where="--max-window", fix="use a smaller --max-window or --holdout, or a longer history")
    grammar = Grammar(ops, tuple(terminals), config.max_depth, config.max_window, max_lookback)
    cfg = replace(config, operators=ops, terminals=tuple(terminals))
    return MinePlan(home, cfg, grammar, holdout, alpha, universe, full.dates.copy(), start, tuple(notes))


@dataclass(frozen=True)
class MineResult:
    run_id: str
    directory: Path
    shortlist: pd.DataFrame
    run: dict[str, Any]
    registered: tuple[str, ...]


def _new_run_id(root: Path, seed: int) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    rid, k = f"{stamp}-s{seed}", 1
    while (root / rid).exists():
        k += 1
        rid = f"{stamp}-s{seed}-{k}"
    return rid


def _spans_doc(plan: MinePlan) -> dict[str, Any]:
    d = plan.dates
    return {"sessions": len(d), "first_date": str(d[0]), "search_end_date": str(plan.search_end),
            "holdout_start_date": str(d[plan.holdout_start]), "last_date": str(d[-1]),
            "holdout_sessions": len(d) - plan.holdout_start, "holdout_share": plan.holdout}


def find_resumable(plan: MinePlan) -> tuple[str, SearchState] | None:
    """The newest unfinished run (checkpoint, no ``run.json``) started with the same options and data."""
    root = mining_dir(plan.home)
    if not root.is_dir():
        return None
    for d in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True):
        if not (d / CHECKPOINT_JSON).is_file() or (d / "run.json").exists():
            continue
        state, doc = SearchState.load(d)
        if doc["config"] != plan.config.to_json() or doc.get("plan") != _spans_doc(plan):
            diff = sorted(k for k in doc["config"] if doc["config"][k] != plan.config.to_json().get(k))
            raise ConfigError(
                f"the unfinished mining run {d.name} was started with other options ({', '.join(diff) or 'data'})",
                where="--resume", fix="repeat the original options, or run without --resume to start afresh")
        return d.name, state
    return None


def _fmt(x: float) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.6g}"


def _shortlist_frame(result: SearchResult, judgment: Judgment) -> pd.DataFrame:
    rows = []
    n = result.n_trials
    for i, h in zip(result.shortlist, judgment.rows, strict=True):
        t = result.state.trials[i]
        rows.append({
            "formula": h.formula, "trials": n, "train_ic": _fmt(t.train_ic), "train_ic_ir": _fmt(t.train_ic_ir),
            "valid_ic": _fmt(t.valid_ic), "holdout_ic": _fmt(h.holdout_ic), "holdout_ic_t": _fmt(h.holdout_ic_t),
            "dsr": _fmt(h.dsr), "passed": "true" if h.passed else "false",
            "max_corr_paper": _fmt(h.max_corr_paper), "nearest_paper": h.nearest_paper,
        })
    return pd.DataFrame(rows, columns=list(SHORTLIST_COLUMNS))


METHOD = {
    "search": "typed genetic programming: ramped random trees, subtree crossover (50 %), subtree/point "
              "mutation (40 %), fresh trees (10 %), tournament size 3; canonical-form dedup; near-duplicates "
              "by fingerprint value correlation",
    "fitness": "|IC_IR| of the daily rank IC on the training rows minus penalty x (nodes - 1)",
    "early_stopping": "best validation IC of the shortlist-size fittest; stop after `patience` generations "
                      "without improvement",
    "effective_trials": "Li-Ji (2005) from the eigenvalues of the correlation matrix of every trial's daily "
                        "training IC series",
    "pass_rule": "holdout_ic > 0 and holdout_ic_t (Newey-West, lag h-1) >= one-sided Sidak threshold over "
                 f"M_eff tests and DSR (holdout IC at non-overlapping rows, M_eff trials) >= {DSR_THRESHOLD}",
}


def mine(plan: MinePlan, resume: bool = False, register: bool = False,
         progress: Callable[[int, int, SearchState], None] | None = None,
         full_panel: Panel | None = None) -> MineResult:
    """Run the search on the search panel, judge the frozen shortlist on the holdout, write the outputs."""
    t0 = time.perf_counter()
    root = mining_dir(plan.home)
    state: SearchState | None = None
    run_id = None
    if resume:
        found = find_resumable(plan)
        if found is None:
            raise ConfigError("there is no unfinished mining run to resume", where="--resume",
                              fix="run `lasps alpha mine` without --resume")
        run_id, state = found
    search_panel = _load(plan.home, end=pd.Timestamp(plan.search_end).date(), universe=plan.universe)
    if len(search_panel.dates) != plan.holdout_start:  # pragma: no cover - the store changed meanwhile
        raise StoreError("the store changed while mining", where=str(plan.home), fix="run again")
    if run_id is None:
        run_id = _new_run_id(root, plan.config.seed)
    directory = root / run_id
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / "plan.json", json.dumps({"plan": _spans_doc(plan)}, indent=2) + "\n")

    result = run_search(search_panel, plan.grammar, plan.config, checkpoint_dir=directory, resume=state,
                        progress=progress, extra={"plan": _spans_doc(plan)})
    del search_panel
    # ---- the shortlist is frozen: only now is the full panel (with the holdout) read
    full = full_panel if full_panel is not None else _load(plan.home, universe=plan.universe)
    formulas = [oriented(result.state.trials[i].formula, result.state.trials[i].direction)
                for i in result.shortlist]
    judgment = judge_shortlist(full, plan.holdout_start, formulas, result.state.ic_train, plan.config.horizon,
                               plan.config.entry, plan.alpha, plan.config.min_names)
    frame = _shortlist_frame(result, judgment)
    registered = _register(plan, run_id, result, judgment) if register else ()
    wall = time.perf_counter() - t0
    run = {
        "run_id": run_id, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": plan.config.seed, "budget": plan.config.trials, "trials": result.n_trials,
        "generations": result.state.generation, "stopped": result.state.stopped,
        "spans": {**_spans_doc(plan), **{f"search_{k}": v for k, v in result.spans.items()}},
        "wall_seconds": round(wall, 3), "universe": plan.universe,
        "method": {**METHOD, "m_eff": judgment.m_eff, "alpha": plan.alpha, "t_threshold": judgment.t_threshold,
                   "dsr_threshold": DSR_THRESHOLD, "paper_alphas_correlated": judgment.paper_used},
        "config": plan.config.to_json(), "shortlisted": len(frame),
        "passed": int((frame["passed"] == "true").sum()) if len(frame) else 0,
        "registered": list(registered), "notes": list(plan.notes),
    }
    corr = pd.DataFrame(judgment.corr, index=formulas, columns=formulas)
    atomic_write_text(directory / "correlation.csv", corr.to_csv(float_format="%.4f"))
    atomic_write_text(directory / "shortlist.csv", frame.to_csv(index=False))
    write_json(directory / "run.json", run)
    atomic_write_text(root / LATEST, run_id + "\n")
    return MineResult(run_id, directory, frame, run, registered)


def _register(plan: MinePlan, run_id: str, result: SearchResult, judgment: Judgment) -> tuple[str, ...]:

    stem = "mined_" + "".join(ch for ch in run_id.lower() if ch.isalnum())[:24]
    names = []
    for k, (i, h) in enumerate(zip(result.shortlist, judgment.rows, strict=True), start=1):
        if not h.passed:
            continue
        t = result.state.trials[i]
        name = f"{stem}_{k}"
        provenance = {
            "source": "lasps alpha mine", "run_id": run_id, "seed": plan.config.seed, "trials": result.n_trials,
            "m_eff": round(judgment.m_eff, 3), "t_threshold": round(judgment.t_threshold, 4),
            "train_ic": t.train_ic, "valid_ic": t.valid_ic, "holdout_ic": h.holdout_ic,
            "holdout_ic_t": h.holdout_ic_t, "dsr": h.dsr,
        }
        desc = (f"mined (run {run_id}, {result.n_trials} trials): holdout IC {h.holdout_ic:.4f}, "
                f"t {h.holdout_ic_t:.2f} >= {judgment.t_threshold:.2f}, DSR {h.dsr:.3f}")
        register_user_alpha(name, h.formula, plan.home, desc, replace=True, provenance=provenance)
        names.append(name)
    return tuple(names)
