"""End-to-end backtests from the market store: what the ``lasps backtest`` commands call.

* :func:`run_backtest` — one strategy over one period (``lasps backtest run``);
* :func:`run_compare` — several strategies over the same period beside KOSPI (``… compare``);
* :func:`run_oos` — the work log's experiment as one call (``… oos``): choose the top-N variants by
  daily rank IC_IR on a selection period, then trade them on that period (in sample) and on another
  period (out of sample), side by side.

Every input is checked before any heavy work (unknown strategy or alpha, bad or inverted dates, dates
outside the stored data, capital <= 0, top-K larger than the universe, empty universe) and reported as
a :class:`~lasps.errors.LaspsError` saying what, where and how to fix it.

Load window: the panel starts early enough for the alphas' own lookback
(:func:`lasps.alpha.engine.alpha_lookback`), the adaptive strategy's IC window and the forward-return
horizon, so the first rebalance already has values. A ``topN:train|val|test|all`` selection loads the
whole stored history (the research splits are defined on it).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.alpha.catalogue import get_catalogue
from lasps.alpha.engine import alpha_lookback
from lasps.backtest.alphas import (
    PRIOR,
    AlphaRequest,
    AlphaSource,
    check_period,
    parse_alpha_request,
    parse_pool,
    period_mask,
    prior_period,
)
from lasps.backtest.market import SimMarket
from lasps.backtest.metrics import METRIC_KEYS, benchmark_metrics, compute_metrics
from lasps.backtest.outputs import backtests_dir, new_group_id, new_run_id, summary_record, write_run
from lasps.backtest.plots import equity_png
from lasps.backtest.robustness import robustness
from lasps.backtest.selection import VariantIC, masked_ic_ir, select_top
from lasps.backtest.simulator import DEFAULT_CAPITAL, SimConfig, SimResult, simulate
from lasps.backtest.strategies import STRATEGIES, AdaptiveConfig, build_targets, rebalance_rows
from lasps.backtest.stuck import stuck_positions
from lasps.data.panel import Panel
from lasps.data.panel_loader import load_panel
from lasps.data.store import StoreProvider, store_provider
from lasps.data.suspect import buyable_mask, suspect_note, suspect_summary
from lasps.dates import parse_optional_date
from lasps.errors import ConfigError, StoreError
from lasps.files import atomic_write_text
from lasps.krx.calendar import sessions
from lasps.krx.costs import CostModel
from lasps.research.timing import Timing
from lasps.research.variants import both_directions, split_variant

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunParams:
    """Parameters shared by the runs of one command.

    Attributes
    ----------
    top:
        K, names held (equal weight 1/K each).
    rebalance:
        Sessions between rebalances (also the IC horizon of selections).
    capital:
        Initial KRW.
    universe:
        Named universe (``default``, ``kospi``, ``kosdaq``, ``topN``, code list).
    pool:
        Candidate alphas for ``topN:`` selections (:func:`~lasps.backtest.alphas.parse_pool`).
    alpha_source:
        ``auto`` / ``store`` / ``compute``.
    adaptive:
        :class:`~lasps.backtest.strategies.AdaptiveConfig`.
    costs:
        :class:`~lasps.krx.costs.CostModel`.
    write:
        Write outputs (files + DuckDB).
    """

    top: int = 5
    rebalance: int = 5
    capital: float = DEFAULT_CAPITAL
    universe: str = "default"
    pool: str | None = None
    alpha_source: str = "auto"
    adaptive: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    costs: CostModel = field(default_factory=CostModel)
    write: bool = True

    def validate(self) -> None:
        if not (self.capital > 0 and math.isfinite(self.capital)):
            raise ConfigError(f"capital must be a positive amount of KRW, got {self.capital:g}",
                              where="--capital", fix="e.g. --capital 100000000 (100 million KRW)")
        if self.top < 1:
            raise ConfigError(f"--top must be >= 1, got {self.top}", where="--top", fix="e.g. --top 5")
        if self.rebalance < 1:
            raise ConfigError(f"--rebalance must be >= 1 session, got {self.rebalance}", where="--rebalance")


@dataclass
class RunOutput:
    """One simulated run."""

    run_id: str
    label: str
    strategy: str
    variants: tuple[str, ...]
    result: SimResult
    metrics: dict[str, Any]
    summary: dict[str, Any]
    path: Path | None
    notes: list[str] = field(default_factory=list)
    bench_metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompareOutput:
    """Several runs over the same sessions, plus the chart."""

    runs: list[RunOutput]
    png: Path | None
    directory: Path | None
    notes: list[str] = field(default_factory=list)


@dataclass
class OOSOutput:
    """In-sample and out-of-sample runs of one selection."""

    selected: tuple[str, ...]
    selection: pd.DataFrame
    in_sample: RunOutput
    out_of_sample: RunOutput
    png: Path | None
    directory: Path | None
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------- validation


def check_strategy(strategy: str) -> str:
    s = strategy.strip().lower()
    if s not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}", where="--strategy",
                          fix=f"choose one of {', '.join(STRATEGIES)}")
    return s


def parse_day(value: str | dt.date | None, option: str) -> np.datetime64 | None:
    """``YYYY-MM-DD`` (or a date) -> ``datetime64[D]`` via :func:`lasps.dates.parse_optional_date`;
    None stays None."""
    day = parse_optional_date(value, option=option)
    return None if day is None else np.datetime64(day, "D")


def stored_range(home: StoreProvider | Path) -> tuple[np.datetime64, np.datetime64]:
    """First and last stored price dates; :class:`StoreError` when the store is missing or empty."""
    provider = store_provider(home)
    with provider.store() as store:
        first, last = store.date_range()
    if first is None or last is None:
        raise StoreError("the market store holds no prices", where=str(provider.home),
                         fix="run `lasps data init --source synthetic` or `lasps data import PATH`")
    return np.datetime64(first, "D"), np.datetime64(last, "D")


def _missing_sessions(lo: np.datetime64, hi: np.datetime64) -> bool:
    """True when KRX traded on some day in ``[lo, hi]`` (a window edge beyond the data that is not just a
    weekend or holiday); spans longer than 10 days always count."""
    if hi < lo:
        return False
    return bool(hi - lo > np.timedelta64(10, "D") or len(sessions(lo, hi)) > 0)


def check_window(start: np.datetime64 | None, end: np.datetime64 | None, first: np.datetime64,
                 last: np.datetime64,
                 opt: tuple[str, str] = ("--start", "--end")) -> tuple[np.datetime64, np.datetime64]:
    """Default and validate a ``[start, end]`` window against the stored ``[first, last]``.

    Defaults: ``end`` = the last stored date, ``start`` = one year before ``end`` (not before ``first``).
    A window may reach beyond the data only over days without a KRX session (``--select-year 2023``
    on data starting 2023-01-02 is fine; 2023-01-01 is a holiday).
    """
    end = last if end is None else end
    start = max(first, end - np.timedelta64(365, "D")) if start is None else start
    if start > end:
        raise ConfigError(f"start {start} is after end {end}", where=f"{opt[0]}/{opt[1]}",
                          fix="swap the dates")
    if _missing_sessions(start, first - np.timedelta64(1, "D")) or _missing_sessions(last + np.timedelta64(1, "D"),
                                                                                       end):
        bad = opt[0] if start < first else opt[1]
        raise ConfigError(f"{start}..{end} is outside the stored data ({first}..{last})", where=bad,
                          fix=f"choose dates between {first} and {last}, or load more data "
                              "(`lasps data update`)")
    return start, end


def clip_to_stored(start: np.datetime64 | None, end: np.datetime64 | None, first: np.datetime64,
                   last: np.datetime64, what: str) -> tuple[np.datetime64 | None, np.datetime64 | None, list[str]]:
    """Clip a period that overlaps the stored data but runs past either end; say so in a note.

    ``backtest oos --trade-year 2021`` on data ending 2021-12-21 trades 2021-01-04..2021-12-21 and
    notes the clip; a period wholly outside the data is left for :func:`check_window` to refuse.
    """
    notes: list[str] = []
    if start is None or end is None or end < first or start > last:
        return start, end, notes
    if end > last:
        notes.append(f"the {what} period {start}..{end} was clipped to the last stored session {last}")
        end = last
    if start < first:
        notes.append(f"the {what} period {start}..{end} was clipped to the first stored session {first}")
        start = first
    return start, end, notes


def _pad_days(rows: int) -> int:
    return math.ceil(rows * 1.5) + 14


def _lookback_rows(names: Sequence[str], catalogue: Any) -> int:
    out = 0
    for n in names:
        try:
            out = max(out, alpha_lookback(catalogue[n]))
        except Exception:  # a lookback we cannot compute just means a generous pad
            out = max(out, 260)
    return out


def _delisted_dates(home: StoreProvider | Path, codes: np.ndarray) -> np.ndarray | None:
    """``(N,)`` delisting dates from ``stocks`` (NaT = listed); None when the store records none at all
    (then delistings are inferred from prices that stop, see :func:`~lasps.backtest.fills.delisting_rows`)."""
    with store_provider(home).store() as store:
        df = store.stock_table(("code", "delisted_date"))
    lookup = dict(zip(df["code"].astype(str), pd.to_datetime(df["delisted_date"]), strict=True))
    out = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[D]")
    for j, c in enumerate(codes):
        d = lookup.get(str(c))
        if d is not None and not pd.isna(d):
            out[j] = np.datetime64(d.date(), "D")
    return None if np.isnat(out).all() else out


# ------------------------------------------------------------------------------------------ context


@dataclass
class _Context:
    home: Path
    panel: Panel
    market: SimMarket
    catalogue: Any
    source: AlphaSource
    params: RunParams

    def rows(self, start: np.datetime64, end: np.datetime64) -> tuple[int, int]:
        lo, hi = self.market.row_range(start, end)
        if hi < lo:
            raise ConfigError(f"no sessions between {start} and {end}", where="--start/--end",
                              fix="choose a longer period")
        return lo, hi


def _catalogue(stores: StoreProvider) -> Any:
    """The workspace's catalogue (read once per workspace), or the home's for a bare path."""
    cat = getattr(stores, "catalogue", None)
    if cat is not None:
        return cat

    return get_catalogue(stores.home)


def _check_universe(panel: Panel, rows: np.ndarray, top: int, where: tuple[int, int]) -> None:
    sizes = panel.universe_mask[rows].sum(axis=1) if len(rows) else np.zeros(0, dtype=int)
    biggest = int(sizes.max()) if len(sizes) else 0
    d0, d1 = panel.dates[where[0]], panel.dates[where[1]]
    if biggest == 0:
        raise ConfigError(f"the universe is empty on every rebalance date between {d0} and {d1}",
                          where="--universe", fix="choose another universe or a later period (codes enter "
                          "the universe after `universe_min_history` sessions of history)")
    if top > biggest:
        raise ConfigError(f"--top {top} is larger than the universe ({biggest} codes at most between {d0} and {d1})",
                          where="--top", fix=f"use --top {biggest} or less, or a wider --universe")


def _prepare(stores: StoreProvider, params: RunParams, windows: list[tuple[np.datetime64, np.datetime64]],
             alpha_names: Sequence[str], full_history: bool, extra_start: np.datetime64 | None,
             progress: Progress | None, adaptive: bool) -> tuple[_Context, list[tuple[int, int]]]:

    home = stores.home
    catalogue = _catalogue(stores)
    first, _last = stored_range(stores)
    lb = _lookback_rows(alpha_names, catalogue) + params.rebalance + 2
    if adaptive:
        lb += params.adaptive.lookback + params.rebalance + 2
    earliest = min([w[0] for w in windows] + ([extra_start] if extra_start is not None else []))
    load_start = first if full_history else max(first, earliest - np.timedelta64(_pad_days(lb), "D"))
    load_end = max(w[1] for w in windows)
    panel = load_panel(start=str(load_start), end=str(load_end), universe=params.universe, home=home)
    market = SimMarket.from_panel(panel, params.costs, delisted=_delisted_dates(stores, panel.codes))
    row_windows = []
    keep: list[np.ndarray] = []
    for w in windows:
        lo, hi = market.row_range(*w)
        if hi < lo:
            raise ConfigError(f"no sessions between {w[0]} and {w[1]}", where="--start/--end",
                              fix="choose a longer period")
        rows = rebalance_rows(lo, hi, params.rebalance)
        _check_universe(panel, rows, params.top, (lo, hi))
        row_windows.append((lo, hi))
        keep.append(np.arange(rows[0], hi, dtype=np.int64))  # every row: the rebalance phases (robustness)
    source = AlphaSource(panel, home, catalogue, np.concatenate(keep), params.rebalance, params.alpha_source,
                         progress)
    return _Context(home, panel, market, catalogue, source, params), row_windows


def _simulate_run(ctx: _Context, strategy: str, variants: tuple[str, ...], window: tuple[int, int], *,
                  label: str, extra_params: dict[str, Any] | None = None,
                  notes: list[str] | None = None) -> RunOutput:
    p = ctx.params
    lo, hi = window
    rows = rebalance_rows(lo, hi, p.rebalance)
    bases = list(dict.fromkeys(split_variant(v)[0] for v in variants))
    need_ic = strategy == "adaptive"
    ctx.source.ensure(bases, need_ic=need_ic)
    vic = None
    if need_ic:
        vic = VariantIC(variants, ctx.source.variant_ic(variants),
                        Timing("open", p.rebalance).known_rows(ctx.panel.shape[0]),
                        p.rebalance)
    buyable = buyable_mask(ctx.panel, p.rebalance)  # halted / quarantined / crossing a suspect jump: not bought
    targets = build_targets(strategy, ctx.source.values, variants, buyable, rows, p.top,
                            vic=vic, adaptive_config=p.adaptive)
    result = simulate(ctx.market, targets, SimConfig(lo, hi, p.capital))
    metrics = compute_metrics(result)
    notes = list(notes or [])
    stuck = stuck_positions(ctx.market, result)
    if stuck.count:
        notes.append(f"{label}: {stuck.line()}")
    jumps = suspect_summary(ctx.panel)
    if jumps["count"]:
        notes.append(suspect_note(jumps))
    rob = robustness(ctx.market, strategy, ctx.source.values, variants, buyable, window, p.rebalance, p.top,
                     p.capital, vic=vic, adaptive_config=p.adaptive)
    notes.append(f"{label}: {rob.line()}")
    inactive = int((~targets.active).sum())
    if inactive:
        notes.append(f"{inactive} of {len(rows)} rebalances had no candidate (alpha warm-up or adaptive "
                     "history too short) and kept the book")
    if not np.isfinite(ctx.market.benchmark[lo:hi + 1]).any():
        notes.append("no KOSPI (1001) index in the store: benchmark and excess return are empty")
    params: dict[str, Any] = {
        "label": label, "variants": list(variants), "top": p.top, "rebalance": p.rebalance,
        "start": str(ctx.panel.dates[lo]), "end": str(ctx.panel.dates[hi]), "capital": p.capital,
        "universe": p.universe, "costs": p.costs.as_dict(),
        "alpha_origin": {b: ctx.source.origin.get(b, "?") for b in bases},
        "timing": "signal at close t, fill at open t+1",
    }
    if strategy == "adaptive":
        params["adaptive"] = {"lookback": p.adaptive.lookback, "n_select": p.adaptive.n_select,
                              "min_days": p.adaptive.min_days, "combine": p.adaptive.combine}
        params["adaptive_choices"] = [{"date": str(ctx.panel.dates[s]), "variants": list(c)}
                                      for s, c in zip(targets.signal_rows, targets.chosen, strict=True)]
    params.update(extra_params or {})
    run_id = new_run_id(strategy)
    bench = benchmark_metrics(result)
    summary = summary_record(run_id, strategy, params, metrics, result, notes, bench)
    summary["halted_at_end"] = stuck.as_dict()
    summary["suspect_jumps"] = jumps
    summary["robustness"] = rob.as_dict()
    path = write_run(ctx.home, summary, result) if p.write else None
    return RunOutput(run_id, label, strategy, variants, result, metrics, summary, path, notes, bench)


def _select(ctx: _Context, request: AlphaRequest, pool: list[str]) -> tuple[tuple[str, ...], pd.DataFrame, list[str]]:
    """Top-N variants of the pool by IC_IR over the request's period."""
    names = ctx.source.ensure(pool, need_ic=True, strict=False)
    notes = []
    if ctx.source.unavailable:
        skipped = sorted(n for n in pool if n in ctx.source.unavailable)
        if skipped:
            notes.append(f"{len(skipped)} pool alphas cannot be computed from this store and were skipped: "
                         + ", ".join(skipped[:10]) + (" …" if len(skipped) > 10 else ""))
    if not names:
        raise ConfigError("no alpha of the pool can be computed from this store", where="--pool",
                          fix="choose other alphas (`lasps alpha list`)")
    variants = list(both_directions(names))
    ic = ctx.source.variant_ic(variants)
    mask = period_mask(request.period, ctx.panel.dates, ctx.params.rebalance)
    if not mask.any():
        raise ConfigError(f"the selection period {request.period!r} has no signal days with a known outcome in "
                          f"the stored data ({ctx.panel.dates[0]}..{ctx.panel.dates[-1]})", where="--alphas",
                          fix="choose a period inside the stored data")
    ir = masked_ic_ir(ic, mask, ctx.params.rebalance)
    chosen = select_top(variants, ir, request.top_n)
    if not chosen:
        rows = np.flatnonzero(mask)
        raise ConfigError(
            f"no variant has a defined IC_IR over {request.period!r} ({ctx.panel.dates[rows[0]]}.."
            f"{ctx.panel.dates[rows[-1]]}, {len(rows)} signal days): too few days with an IC — the universe "
            "may not be formed yet (codes enter after `universe_min_history` sessions)", where="--alphas",
            fix=f"choose a later or longer selection period (stored data: {ctx.panel.dates[0]}.."
                f"{ctx.panel.dates[-1]}), e.g. topN:{str(ctx.panel.dates[-1])[:4]}")
    sel_rows = np.flatnonzero(mask)
    with np.errstate(invalid="ignore"):
        sel_ic = np.where(mask, ic, np.nan)
        n_ok = np.isfinite(sel_ic).sum(axis=1)
        ic_mean = np.where(n_ok > 0, np.nansum(sel_ic, axis=1) / np.maximum(n_ok, 1), np.nan)
    table = pd.DataFrame({"variant": variants, "ic_ir": ir, "ic_mean": ic_mean})
    table = table.set_index("variant").loc[list(chosen)].reset_index()
    notes.append(f"selected {len(chosen)} of {len(variants)} variants ({len(names)} alphas x 2 directions) "
                 f"by daily rank IC_IR over {request.period} ({ctx.panel.dates[sel_rows[0]]}.."
                 f"{ctx.panel.dates[sel_rows[-1]]}, {len(sel_rows)} signal days, purged)")
    return chosen, table, notes


def _in_sample_note(ctx: _Context, request: AlphaRequest, window: tuple[int, int]) -> list[str]:
    """A warning when a top-N selection used prices known only after the first trading decision."""
    mask = period_mask(request.period, ctx.panel.dates, ctx.params.rebalance)
    last_known = int(np.flatnonzero(mask).max()) + Timing("open", ctx.params.rebalance).lag
    if last_known > window[0] - 1:
        return ["IN-SAMPLE: the alphas were selected with prices from inside (or after the start of) the "
                "traded period; use `lasps backtest oos` for an out-of-sample figure"]
    return []


# ------------------------------------------------------------------------------------------ commands


def _alpha_plan(request: AlphaRequest, ctx_catalogue: Any, params: RunParams, home: Path) -> list[str]:
    if request.is_top:
        return parse_pool(params.pool, ctx_catalogue, home)
    return list(dict.fromkeys(split_variant(v)[0] for v in request.variants))


def _resolve_prior(request: AlphaRequest, start: np.datetime64, first: np.datetime64) -> AlphaRequest:
    """``topN:prior`` -> ``topN:<the year before start>``; an error when no data precedes ``start``."""
    if not (request.is_top and request.period.strip().lower() == PRIOR):
        return request
    period = prior_period(start)
    if start - np.timedelta64(30, "D") < first:
        raise ConfigError(f"topN:prior selects on the year before {start}, but the data start {first}",
                          where="--alphas", fix="choose a later --start, or another period (e.g. topN:2024)")
    return AlphaRequest(request.text, top_n=request.top_n, period=period)


def _selection_window(request: AlphaRequest) -> tuple[bool, np.datetime64 | None]:
    if not request.is_top:
        return False, None
    bounds = check_period(request.period)
    return (bounds is None), (None if bounds is None else bounds[0])


def run_backtest(home: StoreProvider | Path, strategy: str, alphas: str, start: str | None = None,
                 end: str | None = None, params: RunParams | None = None,
                 progress: Progress | None = None) -> RunOutput:
    """One strategy over ``[start, end]`` (see the module docstring)."""
    params = params or RunParams()
    strategy = check_strategy(strategy)
    params.validate()
    stores = store_provider(home)
    home = stores.home
    catalogue = _catalogue(stores)
    request = parse_alpha_request(alphas, catalogue)
    if strategy == "single" and not request.is_top and len(request.variants) != 1:
        raise ConfigError(f"the single strategy trades one variant, got {len(request.variants)}",
                          where="--alphas", fix="pass one alpha, or `lasps backtest compare --strategies single`")
    first, last = stored_range(stores)
    s, e = check_window(parse_day(start, "--start"), parse_day(end, "--end"), first, last)
    request = _resolve_prior(request, s, first)
    full, sel_start = _selection_window(request)
    names = _alpha_plan(request, catalogue, params, home)
    ctx, (window,) = _prepare(stores, params, [(s, e)], names, full, sel_start, progress,
                             strategy == "adaptive")
    notes: list[str] = []
    extra: dict[str, Any] = {"alphas": request.text}
    variants = request.variants
    if request.is_top:
        variants, table, sel_notes = _select(ctx, request, names)
        notes += sel_notes
        if strategy == "single":
            variants = variants[:1]
        extra["selection"] = table.to_dict(orient="records")
        notes += _in_sample_note(ctx, request, window)
    return _simulate_run(ctx, strategy, variants, window, label=strategy, extra_params=extra, notes=notes)


def run_compare(home: StoreProvider | Path, strategies: Sequence[str], alphas: str, start: str | None = None,
                end: str | None = None, params: RunParams | None = None,
                progress: Progress | None = None) -> CompareOutput:
    """Run each strategy over the same sessions (``single`` runs once per variant) and chart them."""
    params = params or RunParams()
    strats = [check_strategy(s) for s in strategies if s.strip()]
    if not strats:
        raise ConfigError("no strategies given", where="--strategies", fix="e.g. --strategies voting,ensemble,single")
    params.validate()
    stores = store_provider(home)
    home = stores.home
    catalogue = _catalogue(stores)
    request = parse_alpha_request(alphas, catalogue)
    first, last = stored_range(stores)
    s, e = check_window(parse_day(start, "--start"), parse_day(end, "--end"), first, last)
    request = _resolve_prior(request, s, first)
    full, sel_start = _selection_window(request)
    names = _alpha_plan(request, catalogue, params, home)
    ctx, (window,) = _prepare(stores, params, [(s, e)], names, full, sel_start, progress,
                             "adaptive" in strats)
    notes: list[str] = []
    variants = request.variants
    extra: dict[str, Any] = {"alphas": request.text}
    if request.is_top:
        variants, table, sel_notes = _select(ctx, request, names)
        notes += sel_notes + _in_sample_note(ctx, request, window)
        extra["selection"] = table.to_dict(orient="records")
    if "adaptive" in strats:  # one pass over the alphas for values and ICs
        ctx.source.ensure(list(dict.fromkeys(split_variant(v)[0] for v in variants)), need_ic=True)
    runs: list[RunOutput] = []
    for strat in dict.fromkeys(strats):
        if strat == "single":
            for v in variants:
                runs.append(_simulate_run(ctx, "single", (v,), window, label=v, extra_params=extra))
        else:
            runs.append(_simulate_run(ctx, strat, tuple(variants), window, label=strat, extra_params=extra))
    png = directory = None
    if params.write:
        directory, png = _write_group(ctx, "compare", runs, f"{s}..{e}")
    return CompareOutput(runs, png, directory, notes)


def run_oos(home: StoreProvider | Path, select_start: str, select_end: str, trade_start: str, trade_end: str,
            strategy: str = "voting", n_alphas: int = 10, params: RunParams | None = None,
            progress: Progress | None = None) -> OOSOutput:
    """Select the top ``n_alphas`` variants on the selection period, trade them in and out of sample."""
    params = params or RunParams()
    strategy = check_strategy(strategy)
    params.validate()
    if n_alphas < 1:
        raise ConfigError(f"--n-alphas must be >= 1, got {n_alphas}", where="--n-alphas")
    stores = store_provider(home)
    home = stores.home
    catalogue = _catalogue(stores)
    first, last = stored_range(stores)
    ss, se, clip_s = clip_to_stored(parse_day(select_start, "--select-start"), parse_day(select_end, "--select-end"),
                                    first, last, "selection")
    ts, te, clip_t = clip_to_stored(parse_day(trade_start, "--trade-start"), parse_day(trade_end, "--trade-end"),
                                    first, last, "trade")
    ss, se = check_window(ss, se, first, last, ("--select-start", "--select-end"))
    ts, te = check_window(ts, te, first, last, ("--trade-start", "--trade-end"))
    if ts <= se and te >= ss:
        raise ConfigError(f"the trade period {ts}..{te} overlaps the selection period {ss}..{se}",
                          where="--trade-start/--trade-end", fix="trade a period that does not overlap the selection")
    request = AlphaRequest(f"top{n_alphas}:{ss}..{se}", top_n=n_alphas, period=f"{ss}..{se}")
    pool = parse_pool(params.pool, catalogue, home)
    ctx, (w_is, w_oos) = _prepare(stores, params, [(ss, se), (ts, te)], pool, False, None, progress,
                                  strategy == "adaptive")
    chosen, table, notes = _select(ctx, request, pool)
    notes = clip_s + clip_t + notes
    if strategy == "single":
        chosen = chosen[:1]
    # realised IC_IR of the chosen variants over the trade period (what the selection promised vs got)
    trade_mask = period_mask(f"{ts}..{te}", ctx.panel.dates, params.rebalance)
    table["ic_ir_trade"] = masked_ic_ir(ctx.source.variant_ic(list(table["variant"])), trade_mask,
                                        params.rebalance)
    if ts < ss:
        notes.append("the trade period comes BEFORE the selection period (a backward test, like the work "
                     "log's 2025 selection applied to 2024)")
    extra = {"selection_period": f"{ss}..{se}", "trade_period": f"{ts}..{te}", "n_alphas": n_alphas,
             "selection": table.to_dict(orient="records")}
    ins = _simulate_run(ctx, strategy, chosen, w_is, label="in-sample",
                        extra_params={**extra, "role": "in-sample"}, notes=list(notes))
    oos = _simulate_run(ctx, strategy, chosen, w_oos, label="out-of-sample",
                        extra_params={**extra, "role": "out-of-sample"}, notes=list(notes))
    png = directory = None
    if params.write:
        directory, png = _write_group(ctx, "oos", [ins, oos], f"select {ss}..{se}, trade {ts}..{te}",
                                      selection=table)
    return OOSOutput(chosen, table, ins, oos, png, directory, notes)


def _write_group(ctx: _Context, kind: str, runs: list[RunOutput], title: str,
                 selection: pd.DataFrame | None = None) -> tuple[Path, Path]:
    """``backtests/<kind>-<id>/summary.csv`` (one row per run) and ``equity.png``."""
    directory = backtests_dir(ctx.home) / new_group_id(kind)
    rows = []
    windows: set[tuple[str, str]] = set()
    for r in runs:
        p = r.summary["parameters"]
        rows.append({"label": r.label, "run_id": r.run_id, "strategy": r.strategy, "start": p["start"],
                     "end": p["end"], **{k: r.metrics.get(k) for k in (*METRIC_KEYS, "benchmark_return")}})
    for r in runs:
        p = r.summary["parameters"]
        if (p["start"], p["end"]) not in windows:
            windows.add((p["start"], p["end"]))
            rows.append({"label": "KOSPI", "run_id": "", "strategy": "benchmark", "start": p["start"],
                         "end": p["end"], **{k: r.bench_metrics.get(k) for k in METRIC_KEYS}})
    atomic_write_text(directory / "summary.csv", pd.DataFrame(rows).to_csv(index=False))
    if selection is not None:
        atomic_write_text(directory / "selection.csv", selection.to_csv(index=False))
    curves = {r.label: (r.result.dates, r.result.total_value / r.result.capital) for r in runs}
    bench = None
    if kind == "compare" and runs:
        r0 = runs[0].result
        bench = (r0.dates, r0.benchmark / r0.capital)
    png = equity_png(directory / "equity.png", curves, f"LASPS backtest {kind}: {title}", bench)
    return directory, png


__all__ = ["CompareOutput", "OOSOutput", "RunOutput", "RunParams", "check_strategy", "check_window",
           "parse_day", "run_backtest", "run_compare", "run_oos", "stored_range"]
