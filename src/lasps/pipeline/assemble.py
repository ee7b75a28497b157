"""Assemble a :class:`~lasps.report.data.DailyReport` from the files one daily run wrote.

Everything comes from ``pipeline/D/`` (lasps.pipeline.outputs) except the price histories of the picks
(read from the market store, read-only, ending at D) and a few facts about the store (its date range,
its sources, whether it knows any delisted code).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.config import get_settings
from lasps.data.panel_loader import load_panel
from lasps.data.store import StoreProvider, store_provider
from lasps.errors import LaspsError
from lasps.pipeline import outputs as out
from lasps.pipeline.model_picks import model_picks
from lasps.report.data import AlphaRow, DailyReport, PickRow, PriceHistory, Series
from lasps.research.timing import Timing

PRICE_SESSIONS = 120


def _store_facts(stores: StoreProvider | Path) -> dict[str, Any]:
    """Stored range, listing count, sources, unavailable fields and survivorship indicators."""
    with store_provider(stores).store() as store:
        facts = store.market_facts()
        facts["last_run"] = store.latest_source_run()
        facts["unavailable_fields"] = store.unavailable_fields()
        facts["source_label"] = store.source_label()
    return facts


def _wealth(periods: pd.DataFrame, approach: str, column: str) -> Series:
    return Series(approach, *out.wealth(periods, approach, column))


def _prices(home: Path, day: dt.date, codes: Sequence[str], names: dict[str, str]) -> list[PriceHistory]:
    if not codes:
        return []
    start = day - dt.timedelta(days=int(PRICE_SESSIONS * 1.6) + 10)
    try:
        panel = load_panel(fields=["close", "volume"], start=start, end=day, universe=",".join(codes), home=home,
                           min_history=1)
    except LaspsError:
        return []
    col = {str(c): j for j, c in enumerate(panel.codes)}
    histories = []
    for code in codes:
        j = col.get(code)
        if j is None:
            continue
        histories.append(PriceHistory(code, names.get(code, ""), panel.dates[-PRICE_SESSIONS:],
                                      panel.close[-PRICE_SESSIONS:, j], panel.volume[-PRICE_SESSIONS:, j]))
    return histories


def selected_ic_decay(ev: dict[str, Any], selected: Sequence[tuple[str, str, int]]) -> dict[str, list[float | None]]:
    """Variant -> IC by horizon for the selected ``(variant, alpha, direction)``; a ``_rev`` is negated."""
    table = (ev.get("ic_decay") or {}).get("ic") or {}
    out: dict[str, list[float | None]] = {}
    for variant, alpha, direction in selected:
        if alpha in table:
            out[variant] = [None if v is None else float(direction) * v for v in table[alpha]]
    return out


def on_the_fly_warnings(ev: dict[str, Any], day: dt.date) -> list[str]:
    """Why alphas were computed on the fly: a later split (their stored values were rescaled), or in memory.

    Only ``adjusted_later`` alphas were adjusted with a split after ``day``; a dry run or a non-default
    universe computes every alpha in memory without any adjustment event (an older evaluation.json
    without ``adjusted_later`` is read as before).
    """
    fly = list(ev.get("on_the_fly") or [])
    later = ev.get("adjusted_later")
    later = fly if later is None and not ev.get("in_memory_reason") else list(later or [])
    out = []
    if later:
        out.append(f"{len(later)} alpha(s) were computed on the fly as of {day} (their stored values were "
                   "adjusted with a later split, so they were not used)")
    rest = [n for n in fly if n not in set(later)]
    if rest and ev.get("in_memory_reason"):
        out.append(f"{len(rest)} alpha(s) computed in memory as of {day} ({ev['in_memory_reason']})")
    return out


def universe_line(n_universe: int, ev: dict[str, Any], day: dt.date) -> str:
    """The report's universe line: what actually traded on ``day``, and what halts/quarantine left out."""
    sel = ev.get("selectability") or {}
    text = f"{n_universe:,} codes (listed, traded on {day}, ≥ min-history sessions"
    if sel.get("quarantine_days"):
        text += ", not quarantined by a suspect jump"
    text += ")"
    if sel.get("halted"):
        text += f"; {sel['halted']:,} halted that day (no trade, close carried over) are not selectable"
    return text


def selectability_warnings(ev: dict[str, Any], day: dt.date) -> list[str]:
    """Report warnings naming the suspect jumps (DESIGN 2.3): never silent, quarantine on or off."""
    jumps = ev.get("suspect_jumps") or {}
    sel = ev.get("selectability") or {}
    out: list[str] = []
    n = int(jumps.get("count") or 0)
    if not n:
        return out
    probable = int(jumps.get("probable_unadjusted_split_or_bonus") or 0)
    head = (f"Suspect price jumps: {n} in the evaluation panel (moves beyond the daily price limit that no "
            f"adjustment explains; {probable} probable unadjusted split/bonus issue(s)).")
    quarantined = list(sel.get("quarantined") or [])
    if sel.get("quarantine_days"):
        if quarantined:
            head += (f" Quarantined on {day} — not selectable for {sel['quarantine_days']} sessions after the jump, "
                     f"forward returns crossing it left out: " + "; ".join(quarantined) + ".")
        else:
            head += f" None is within {sel['quarantine_days']} sessions of {day}."
    else:
        head += (" The quarantine is OFF (suspect_quarantine = false): alphas, forward returns and picks use these "
                 "prices as they are. " + "; ".join(jumps.get("jumps") or []))
    out.append(head)
    return out


def build_report(stores: StoreProvider | Path, day: dt.date, directory: Path, config: Any, catalogue: Any, *,
                 orders: list[dict[str, Any]] | None = None,
                 extra_warnings: Sequence[str] = ()) -> DailyReport:
    """Read one run's outputs (``directory`` = ``pipeline/D``) into a :class:`DailyReport` (``stores``: the
    workspace, or its home)."""
    home = store_provider(stores).home
    ev = out.read_json(directory / "evaluation.json") or {}
    sel = out.read_json(directory / "selection.json") or {}
    picks_doc = out.read_json(directory / "picks.json") or {}
    signals = pd.read_parquet(directory / "signals.parquet")
    facts = _store_facts(stores)
    h = int(ev.get("horizon", config.horizon))

    universe = signals["in_universe"].to_numpy(dtype=bool)
    n_universe = int(universe.sum())
    alphas: list[AlphaRow] = []
    for r in sel.get("variants", []):
        col = r["alpha"]
        cov = float(np.isfinite(signals.loc[universe, col].to_numpy(dtype=float)).mean()) \
            if col in signals and n_universe else None
        alphas.append(AlphaRow(rank=r["rank"], variant=r["variant"], alpha=col, direction=r["direction"],
                               score=r["score"], description=r.get("description", ""), formula=r.get("formula", ""),
                               metrics=r["metrics"], times_chosen=r.get("times_chosen", 0), oos_ic=r.get("oos_ic"),
                               oos_days=r.get("oos_days", 0), coverage_today=cov))
    contributions = picks_doc.get("contributions", {})
    picks: list[PickRow] = []
    for p in picks_doc.get("picks", []):
        code = str(p["code"])
        contrib = {v: (c[0], bool(c[1])) for v, c in contributions.get(code, {}).items()}
        picks.append(PickRow(rank=int(p["rank"]), code=code, name=str(p.get("name") or ""),
                             market=str(p.get("market") or ""), sector=str(p.get("sector") or ""),
                             close=float(p.get("close") or np.nan), votes=int(p["votes"]),
                             rank_sum=float(p["rank_sum"]), nominated_by=list(p.get("nominated_by") or []),
                             contributions=contrib))

    wf_summary = pd.read_csv(directory / "wf_summary.csv").to_dict(orient="records")
    wf_summary = [r for r in wf_summary if r.get("approach") in ("walk_forward", "in_sample")]
    periods = pd.read_csv(directory / "wf_periods.csv", dtype={"known_date": str})
    equity = {a: _wealth(periods, a, "lo") for a in ("walk_forward", "in_sample")}
    equity["market"] = Series("market", *out.wealth(periods, "walk_forward", "market"))
    equity_ls = {a: _wealth(periods, a, "ls") for a in ("walk_forward", "in_sample")}

    variants = [a.variant for a in alphas]
    ic_frame = pd.read_parquet(directory / "ic_daily.parquet")
    ic_frame = ic_frame[ic_frame["variant"].isin(variants)]
    wide = ic_frame.pivot_table(index="date", columns="variant", values="ic").sort_index()
    ic_dates = pd.to_datetime(wide.index).to_numpy().astype("datetime64[D]")
    ic = {v: Series(v, ic_dates, wide[v].to_numpy(dtype=float)) for v in variants if v in wide.columns}

    correlation = None
    corr_path = directory / "correlation.csv"
    if corr_path.is_file() and alphas:
        cm = pd.read_csv(corr_path, index_col=0)
        names = [a.alpha for a in alphas if a.alpha in cm.index]
        keep = [a for a in alphas if a.alpha in cm.index]
        if names:
            m = cm.loc[names, names].to_numpy(dtype=float)
            sign = np.array([a.direction for a in keep], dtype=float)
            correlation = ([a.variant for a in keep], m * np.outer(sign, sign))

    names = {p.code: p.name for p in picks}
    prices = _prices(home, day, [p.code for p in picks], names)

    warnings = list(dict.fromkeys(extra_warnings))
    if facts["delisted"] == 0 and facts["stopped"] == 0:
        warnings.append("Survivorship: the store knows no delisted code (every code still trades at its end), so "
                        "the universe holds only survivors — e.g. the krx-2018-2021 sample lists only codes alive on "
                        "2021-12-20. Past returns and ICs are biased upwards; treat them as optimistic.")
    unavailable: dict[str, str] = dict(ev.get("unavailable") or {})
    if unavailable:
        reasons: dict[str, list[str]] = {}
        for name, why in unavailable.items():
            reasons.setdefault(why, []).append(name)
        for why, names_ in reasons.items():
            warnings.append(f"{len(names_)} alpha(s) unavailable, not evaluated and never substituted "
                            f"({', '.join(names_[:8])}{' …' if len(names_) > 8 else ''}): {why}")
    for field_name, why in sorted(facts["unavailable_fields"].items()):
        warnings.append(f"Field `{field_name}` is not in the stored data: {why}")
    warnings.extend(on_the_fly_warnings(ev, day))
    for note in ev.get("wf_notes") or []:
        warnings.append(f"Walk-forward: {note}")
    overfit = ev.get("overfit")
    if isinstance(overfit, dict) and overfit.get("error"):
        warnings.append(f"Overfitting statistics not available: {overfit['error']}")
        overfit = None
    if picks and len(picks) < config.picks:
        warnings.append(f"Only {len(picks)} codes were nominated (asked for {config.picks}).")
    warnings.extend(selectability_warnings(ev, day))

    last_run = facts["last_run"]
    coverage = {
        "data source": facts["source_label"],
        "stored sessions": f"{facts['first']} … {facts['last']} ({facts['n_codes']:,} listings in the store)",
        "last load": f"{last_run[1]} from {last_run[0]} at {last_run[2]:%Y-%m-%d %H:%M}" if last_run else "?",
        "evaluation panel": f"{ev.get('panel_first')} … {ev.get('panel_last')} "
                            f"({ev.get('sessions')} sessions × {ev.get('codes')} codes, universe `{config.universe}`)",
        "universe on the date": universe_line(n_universe, ev, day),
        "selection window": f"signal dates {ev.get('window_first')} … {ev.get('window_last')} "
                            f"({ev.get('window_rows')} sessions whose {h}-day outcome is known at the close of {day})",
        "alphas": f"{ev.get('n_alphas')} evaluated, {len(unavailable)} unavailable → "
                  f"{ev.get('n_variants')} variants tried (each alpha and its reverse)",
        "industry classification": "one KRX level (sector index code): IndClass.sector = industry = subindustry",
    }
    settings = {"top-K variants": config.top_k, "picks": config.picks, "selection metric": config.metric,
                "window (sessions)": config.window, "history (sessions)": config.history,
                "horizon (sessions)": h, "entry": "next open"}
    notes = [
        f"Signals use data through the close of {day}; a pick is bought at the next open. Research figures enter "
        f"at the next open and hold {h} sessions, so each signal's outcome is known {Timing('open', h).lag} "
        "sessions later.",
        "In sample = measured on the very window the variants were chosen on — that is how they were chosen, so it "
        "flatters them (the work log's +100 … +400 % tables). Walk-forward = the same rule re-applied every "
        f"{h} sessions with only the data known then and traded on the next period: the honest estimate.",
        "No costs in these research figures; `lasps backtest` simulates KRX commissions, taxes, limits and halts.",
        "Voting: each selected variant nominates its top codes; most votes win, ties by the summed percentile rank.",
    ]
    return DailyReport(
        date=day.isoformat(), generated_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        coverage=coverage, settings=settings, picks=picks, alphas=alphas, n_variants=int(ev.get("n_variants") or 0),
        n_alphas=int(ev.get("n_alphas") or 0), wf_summary=wf_summary, equity=equity, equity_ls=equity_ls, ic=ic,
        window=(str(ev.get("window_first")), str(ev.get("window_last"))), correlation=correlation, prices=prices,
        warnings=warnings, notes=notes, unavailable=unavailable, orders=orders, overfit=overfit, horizon=h,
        ic_decay=selected_ic_decay(ev, [(a.variant, a.alpha, a.direction) for a in alphas]),
        model_picks=model_picks(get_settings().model_checkpoint, home, day, max(10, config.picks)),
        ic_decay_span=((ev.get("ic_decay") or {}).get("first"), (ev.get("ic_decay") or {}).get("last"))
        if (ev.get("ic_decay") or {}).get("first") else None)


__all__ = ["build_report"]
