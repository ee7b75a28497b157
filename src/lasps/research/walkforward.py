"""Walk-forward selection of variants, beside the in-sample illusion.

Procedure (the default way LASPS reports what a selection rule would have earned):

1. Decision rows ``s`` are every h-th session (``Evaluation.sample_rows``) from the first row whose
   trailing window is full, ``s >= lookback + lag - 1``, where ``lag`` is the forward-return delay
   (``h + 1`` for next-open entry).
2. At the close of ``s`` each variant is scored on the last ``lookback`` signal days **whose outcome is
   known by s**: signal rows ``t`` with ``known_row[t] = t + lag <= s``, i.e. ``t`` in
   ``[s - lag - lookback + 1, s - lag]``. Nothing dated later is read (the no-look-ahead test perturbs
   every price after s and checks the choice does not move). Scores: ``ic_ir`` (default), ``ic_mean``,
   ``hit_rate`` of the daily IC, or ``q_spread`` / ``ls_sharpe`` (mean, mean/std) of the daily
   top-minus-bottom spread. A variant needs ``min_days`` known values in the window.
3. The top ``K`` variants (ties by name order) are held until the next re-selection, every ``every``
   sessions (default h: re-selected at every rebalance; e.g. 21 ≈ monthly).
4. Portfolio at each decision row: the equal-weight mean of the selected variants' cross-sectional
   z-scored ranks (a reverse variant enters negated), cut into the same Q quantile buckets as the
   evaluation; **long-only** = the top bucket, **long-short** = top minus bottom bucket, entered per
   the evaluation's timing (next open by default) and held h sessions; equal weights, no costs. The
   period return of row s is known at ``known_row[s]``.

Beside it, with the same portfolio construction:

* ``in_sample`` — the top K chosen once on the **whole sample** and traded over the same span: the
  look-ahead illusion of the work log (+100 … +14,000 %);
* ``train_test`` — chosen once on the train split, traded on the test split;
* ``in_sample_test`` — chosen on the test split and traded on it (the illusion on the test span);
* ``walk_forward_test`` — the walk-forward periods that fall in the test split (compare with
  ``train_test``).

Parameter grids: :func:`walk_forward_grid` runs one :func:`walk_forward` per configuration (e.g.
lookback x top-K from :func:`grid_configs`) as tasks of a :mod:`lasps.scale` executor, with the
:class:`~lasps.research.evaluate.Evaluation` shipped once; :func:`grid_table` puts them side by side.
Choosing the best cell of that table is itself a selection with hindsight — report how many cells were
tried, as for variants.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lasps.errors import ConfigError
from lasps.research import kernels
from lasps.research.evaluate import Evaluation
from lasps.research.quantiles import PERIODS_PER_YEAR, compounded
from lasps.research.selection import prefix_sums, top_k, trailing_window, window_sum

if TYPE_CHECKING:
    from lasps.scale.base import Executor

WF_METRICS: tuple[str, ...] = ("ic_ir", "ic_mean", "hit_rate", "q_spread", "ls_sharpe")
APPROACHES: tuple[str, ...] = ("walk_forward", "in_sample", "walk_forward_test", "train_test", "in_sample_test")


@dataclass(frozen=True)
class WalkForwardConfig:
    """Parameters of the walk-forward selection (see the module docstring)."""

    top: int = 10
    lookback: int = 252
    metric: str = "ic_ir"
    every: int | None = None
    min_days: int | None = None

    def __post_init__(self) -> None:
        if self.top < 1:
            raise ConfigError(f"--top must be >= 1, got {self.top}", where="--top")
        if self.lookback < 2:
            raise ConfigError(f"--lookback must be >= 2 sessions, got {self.lookback}", where="--lookback")
        if self.metric not in WF_METRICS:
            raise ConfigError(f"unknown selection metric {self.metric!r}", where="--metric",
                              fix=f"choose from {list(WF_METRICS)}")
        if self.every is not None and self.every < 1:
            raise ConfigError(f"--every must be >= 1, got {self.every}", where="--every")

    def min_known(self) -> int:
        return int(self.min_days) if self.min_days is not None else max(2, self.lookback // 2)


@dataclass(frozen=True)
class Selection:
    """One walk-forward choice: made at the close of ``row`` from signal rows ``first..last``."""

    row: int
    first: int
    last: int
    variants: tuple[str, ...]
    scores: tuple[float, ...]


@dataclass
class ApproachResult:
    """Period returns of one way of choosing variants.

    ``rows`` ``(P,)`` are the decision (signal) rows; ``lo``/``ls``/``market`` the h-day returns of the
    long-only top bucket, the top-minus-bottom spread and the equal-weight universe for each period,
    known at ``known_row[rows]``; ``turnover`` the share of the long bucket replaced at each period.
    """

    name: str
    label: str
    rows: np.ndarray
    lo: np.ndarray
    ls: np.ndarray
    market: np.ndarray
    turnover: np.ndarray
    variants: tuple[str, ...] | None = None


@dataclass
class WalkForwardResult:
    """Walk-forward and comparison portfolios (see the module docstring)."""

    config: WalkForwardConfig
    horizon: int
    entry: str
    dates: np.ndarray
    known_row: np.ndarray
    approaches: dict[str, ApproachResult]
    selections: list[Selection]
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------- scoring


def _series(ev: Evaluation, metric: str) -> np.ndarray:
    return ev.ic if metric in ("ic_ir", "ic_mean", "hit_rate") else ev.long - ev.short


def _score(s1: np.ndarray, s2: np.ndarray, sp: np.ndarray, n: np.ndarray, metric: str) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        if metric in ("ic_mean", "q_spread"):
            return mean
        if metric == "hit_rate":
            return sp / n
        var = (s2 - n * mean * mean) / (n - 1)
        sd = np.sqrt(np.maximum(var, 0.0))
        return np.where(sd > 0, mean / sd, np.nan)


def scores_on_rows(ev: Evaluation, rows: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(V,)`` scores and counts of known values of every variant over the signal rows ``rows``."""
    x = _series(ev, metric)[:, rows]
    ok = np.isfinite(x)
    x0 = np.where(ok, x, 0.0)
    n = ok.sum(axis=1).astype(float)
    return _score(x0.sum(1), (x0 * x0).sum(1), (x0 > 0).sum(1), n, metric), n


def choose(ev: Evaluation, scores: np.ndarray, counts: np.ndarray, k: int, min_known: int) -> list[int]:
    """Indices of the top ``k`` variants by score (finite, ``counts >= min_known``; ties by index):
    :func:`lasps.research.selection.top_k`."""
    return top_k(scores, k, counts=counts, min_count=min_known)


# ------------------------------------------------------------------------------------ portfolios


def composite(ev: Evaluation, variants: list[int], sample_idx: np.ndarray) -> np.ndarray:
    """``(P, N)`` equal-weight mean of the variants' z-ranks at the given sample indices (NaN if none)."""
    P, N = len(sample_idx), len(ev.codes)
    tot = np.zeros((P, N))
    cnt = np.zeros((P, N))
    for v in variants:
        name, sign = ev.alphas[v // 2], (-1.0 if v % 2 else 1.0)
        z = ev.zranks[name][sample_idx].astype(np.float64)
        ok = np.isfinite(z)
        tot += np.where(ok, sign * z, 0.0)
        cnt += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def portfolio_returns(ev: Evaluation, comp: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """Long-only, long-short and turnover of a ``(P, N)`` composite formed at signal ``rows``."""
    P = len(rows)
    if P == 0:
        e = np.zeros(0)
        return e, e, e
    fwd = np.ascontiguousarray(ev.fwd.values[rows])
    mask = np.ascontiguousarray(ev.mask[rows])
    comp = np.ascontiguousarray(comp, dtype=np.float64)
    forder, fcount, franks = kernels.sort_rows(fwd, mask)
    zrow = np.full(P, -1, dtype=np.int64)
    zout = np.empty((0, comp.shape[1]), dtype=np.float32)
    res = kernels.evaluate_alpha(comp, fwd, mask, forder, fcount, franks, ev.config.quantiles,
                                 ev.config.min_names, zrow, zout)
    long_, short, in_top, has_top = res[5], res[6], res[7], res[8]
    turnover = kernels.long_turnover(in_top, has_top, 1)[0]
    return long_[0], long_[0] - short[0], turnover


def _fixed(ev: Evaluation, name: str, label: str, chosen: list[int], rows: np.ndarray) -> ApproachResult:
    sidx = rows // ev.config.every
    comp = composite(ev, chosen, sidx) if chosen else np.full((len(rows), len(ev.codes)), np.nan)
    lo, ls, turn = portfolio_returns(ev, comp, rows)
    return ApproachResult(name, label, rows, lo, ls, ev.market[rows], turn,
                          tuple(ev.variants[i] for i in chosen))


# ------------------------------------------------------------------------------------------ main


def walk_forward(ev: Evaluation, config: WalkForwardConfig | None = None) -> WalkForwardResult:
    """Run the walk-forward selection and its comparisons (see the module docstring)."""
    cfg = config or WalkForwardConfig()
    if ev.n_variants == 0:
        raise ConfigError("no alphas were evaluated", fix="compute alphas first: `lasps alpha compute`")
    h = ev.config.horizon
    lag = ev.fwd.lag
    T = len(ev.dates)
    known = ev.fwd.known_row
    every = cfg.every or h
    min_known = cfg.min_known()
    notes: list[str] = []
    if ev.config.every != h:
        notes.append(f"decision rows are every {ev.config.every} sessions but holdings last {h}: "
                     "periods overlap or leave gaps (evaluate with sample_every = horizon)")
    x = _series(ev, cfg.metric)
    ok = np.isfinite(x)
    x0 = np.where(ok, x, 0.0)

    c1, c2, cp, cn = (prefix_sums(a) for a in (x0, x0 * x0, (x0 > 0).astype(float), ok.astype(float)))

    samples = ev.sample_rows
    s0 = cfg.lookback + lag - 1
    tradable = samples[(known[samples] < T)]
    wf_rows = tradable[tradable >= s0]
    selections: list[Selection] = []
    chosen_by_row: list[list[int]] = []
    current: list[int] = []
    last_sel = -(10**9)
    for s in wf_rows:
        if s - last_sel >= every:
            lo_, hi_ = trailing_window(s, lag, cfg.lookback)  # signal rows known at the close of s
            lo, hi = int(lo_), int(hi_)
            n = window_sum(cn, lo, hi)
            sc = _score(window_sum(c1, lo, hi), window_sum(c2, lo, hi), window_sum(cp, lo, hi), n, cfg.metric)
            current = choose(ev, sc, n, cfg.top, min_known)
            selections.append(Selection(int(s), lo, hi, tuple(ev.variants[i] for i in current),
                                        tuple(float(sc[i]) for i in current)))
            last_sel = int(s)
        chosen_by_row.append(current)
    if len(wf_rows) == 0:
        notes.append(f"the sample ({T} sessions) is too short for a {cfg.lookback}-session lookback: "
                     "no walk-forward periods")

    # walk-forward portfolio: one composite row per decision row with that row's selection
    N = len(ev.codes)
    comp = np.full((len(wf_rows), N), np.nan)
    for p, (s, chosen) in enumerate(zip(wf_rows, chosen_by_row, strict=True)):
        if chosen:
            comp[p] = composite(ev, chosen, np.array([s // ev.config.every]))[0]
    lo_r, ls_r, turn = portfolio_returns(ev, comp, wf_rows)
    label_wf = f"walk-forward: top {cfg.top} by trailing {cfg.lookback}-day {cfg.metric}, re-chosen every {every}"
    wf = ApproachResult("walk_forward", label_wf, wf_rows, lo_r, ls_r, ev.market[wf_rows], turn)

    masks = ev.splits.masks
    K = cfg.top
    sc_all, n_all = scores_on_rows(ev, masks["all"], cfg.metric)
    ins = _fixed(ev, "in_sample", f"in-sample: top {K} chosen on the whole sample (look-ahead)",
                 choose(ev, sc_all, n_all, K, 1), wf_rows)
    test_rows = tradable[masks["test"][tradable]]
    sel_test = np.isin(wf_rows, test_rows)
    wf_test = ApproachResult("walk_forward_test", "walk-forward, test span only", wf_rows[sel_test],
                             lo_r[sel_test], ls_r[sel_test], ev.market[wf_rows[sel_test]], turn[sel_test])
    if len(test_rows) and not sel_test.any():
        notes.append("the walk-forward has not started by the end of the test span (lookback too long)")
    sc_tr, n_tr = scores_on_rows(ev, masks["train"], cfg.metric)
    trt = _fixed(ev, "train_test", f"top {K} chosen on train, traded on test",
                 choose(ev, sc_tr, n_tr, K, 1), wf_rows[sel_test] if sel_test.any() else test_rows)
    sc_te, n_te = scores_on_rows(ev, masks["test"], cfg.metric)
    ist = _fixed(ev, "in_sample_test", f"top {K} chosen on test, traded on test (look-ahead)",
                 choose(ev, sc_te, n_te, K, 1), trt.rows)
    approaches = {a.name: a for a in (wf, ins, wf_test, trt, ist)}
    summary = summarize(approaches, ev.dates, h, selections)
    return WalkForwardResult(cfg, h, ev.config.entry, ev.dates, known, approaches, selections, summary, notes)


def _sharpe(r: np.ndarray, horizon: int) -> float:
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return math.nan
    sd = r.std(ddof=1)
    return float(r.mean() / sd * math.sqrt(PERIODS_PER_YEAR / horizon)) if sd > 0 else math.nan


def _ann(r: np.ndarray, horizon: int) -> float:
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return math.nan
    tot = compounded(r)
    if tot <= -1:
        return -1.0
    return float((1 + tot) ** (PERIODS_PER_YEAR / (len(r) * horizon)) - 1)


def summarize(approaches: dict[str, ApproachResult], dates: np.ndarray, horizon: int,
              selections: list[Selection]) -> pd.DataFrame:
    """One row per approach: span, periods, total/annualised return and Sharpe of LO and LS, market."""
    recs = []
    for a in approaches.values():
        if a.variants is not None:
            chosen = ", ".join(a.variants) or "(none eligible)"
        else:
            distinct = {v for s in selections for v in s.variants}
            chosen = f"rolling: {len(selections)} selections, {len(distinct)} distinct variants"
        recs.append({
            "approach": a.name, "label": a.label,
            "first": str(dates[a.rows[0]]) if len(a.rows) else "",
            "last": str(dates[a.rows[-1]]) if len(a.rows) else "",
            "n_periods": int(np.isfinite(a.ls).sum()),
            "lo_total": compounded(a.lo), "lo_ann": _ann(a.lo, horizon), "lo_sharpe": _sharpe(a.lo, horizon),
            "ls_total": compounded(a.ls), "ls_ann": _ann(a.ls, horizon), "ls_sharpe": _sharpe(a.ls, horizon),
            "ls_hit": float((a.ls[np.isfinite(a.ls)] > 0).mean()) if np.isfinite(a.ls).any() else math.nan,
            "market_ann": _ann(a.market, horizon),
            "turnover": float(np.nanmean(a.turnover)) if np.isfinite(a.turnover).any() else math.nan,
            "variants": chosen,
        })
    return pd.DataFrame.from_records(recs)


# ------------------------------------------------------------------------------ parameter grids


def grid_configs(tops: Sequence[int], lookbacks: Sequence[int], metrics: Sequence[str] = ("ic_ir",),
                 every: int | None = None, min_days: int | None = None) -> list[WalkForwardConfig]:
    """Every combination of ``lookbacks x tops x metrics`` (in that nesting order), validated."""
    return [WalkForwardConfig(top=int(k), lookback=int(lb), metric=m, every=every, min_days=min_days)
            for lb, k, m in itertools.product(lookbacks, tops, metrics)]


def walk_forward_task(ev: Evaluation, cfg: WalkForwardConfig) -> WalkForwardResult:
    """Task body of :func:`walk_forward_grid` (module level, so workers import it by name)."""
    return walk_forward(ev, cfg)


def walk_forward_grid(ev: Evaluation, configs: Sequence[WalkForwardConfig], *,
                      executor: Executor | None = None) -> list[WalkForwardResult]:
    """:func:`walk_forward` for every configuration, in order; one executor task each.

    ``executor=None`` runs them here, one after another. Otherwise ``ev`` goes to the executor's shared
    storage once (its ``(T, N)`` forward returns and universe and the ``(T / h, N)`` z-ranks of every
    alpha — about 1.5 GB on the reference panel) and each task returns a small result. The results
    equal the sequential ones exactly.
    """
    if executor is None:
        return [walk_forward(ev, cfg) for cfg in configs]
    return list(executor.map(walk_forward_task, list(configs), shared=ev))


def grid_table(results: Sequence[WalkForwardResult]) -> pd.DataFrame:
    """One row per configuration: its parameters, the walk-forward and the in-sample long-short and
    long-only figures, and the in-sample minus walk-forward gap (annualised long-short)."""
    recs = []
    for r in results:
        s = r.summary.set_index("approach")
        wf, ins = s.loc["walk_forward"], s.loc["in_sample"]
        recs.append({
            "lookback": r.config.lookback, "top": r.config.top, "metric": r.config.metric,
            "every": r.config.every or r.horizon, "n_periods": int(wf["n_periods"]),
            "wf_ls_ann": wf["ls_ann"], "wf_ls_sharpe": wf["ls_sharpe"], "wf_lo_ann": wf["lo_ann"],
            "wf_lo_sharpe": wf["lo_sharpe"], "is_ls_ann": ins["ls_ann"], "gap_ls_ann": ins["ls_ann"] - wf["ls_ann"],
            "n_selections": len(r.selections),
        })
    return pd.DataFrame.from_records(recs)
