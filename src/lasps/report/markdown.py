"""The Markdown daily report (``reports/YYYY-MM-DD_alpha.md``), and the number formats shared with the HTML.

Sections: the picks with their votes, names, sectors, last close and per-alpha contributions; the selected
alphas with in-sample and walk-forward metrics and their IC decay (IC by horizon 1 … 20); the
walk-forward vs in-sample comparison of the selection rule; paper orders (when placed); data coverage; warnings; method.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from lasps.report.data import DailyReport

APPROACH_LABELS = {"walk_forward": "walk-forward (honest)", "in_sample": "in sample (look-ahead)"}


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def fmt_pct(x: Any, digits: int = 1, signed: bool = True) -> str:
    """0.1234 → ``+12.3%``; None/NaN → ``—``."""
    if not _finite(x):
        return "—"
    return f"{x:+.{digits}%}" if signed else f"{x:.{digits}%}"


def fmt_num(x: Any, digits: int = 3, signed: bool = False) -> str:
    """A plain number; None/NaN → ``—``."""
    if not _finite(x):
        return "—"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def fmt_krw(x: Any) -> str:
    """12345.0 → ``12,345``."""
    return "—" if not _finite(x) else f"{x:,.0f}"


def contribution_cell(pct: float | None, nominated: bool) -> str:
    """``✓ 0.98`` (nominated) or ``0.45``."""
    if pct is None or not _finite(pct):
        return "—"
    return f"✓ {pct:.2f}" if nominated else f"{pct:.2f}"


def _md(text: Any) -> str:
    """Escape the characters that would break a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    aligns = align or "l" * len(header)
    sep = ["---:" if a == "r" else ":---:" if a == "c" else "---" for a in aligns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
    return lines


def picks_rows(report: DailyReport) -> list[list[str]]:
    return [[str(p.rank), p.code, p.name, p.market, p.sector or "—", fmt_krw(p.close), str(p.votes),
             f"{p.rank_sum:.2f}", ", ".join(p.nominated_by) or "—"] for p in report.picks]


PICK_HEADER = ["#", "code", "name", "market", "sector", "last close (KRW)", "votes", "rank sum", "nominated by"]
ALPHA_HEADER = ["#", "variant", "IC mean", "IC_IR", "t (NW)", "hit rate", "L/S ann.", "long ann.", "turnover",
                "WF: chosen", "WF: IC after chosen", "coverage today"]


def alpha_rows(report: DailyReport) -> list[list[str]]:
    rows = []
    for a in report.alphas:
        m = a.metrics
        rows.append([str(a.rank), a.variant, fmt_num(m.get("ic_mean"), 4, True), fmt_num(m.get("ic_ir"), 3, True),
                     fmt_num(m.get("ic_t_nw"), 2, True), fmt_pct(m.get("hit_rate"), 0, False),
                     fmt_pct(m.get("ls_return")), fmt_pct(m.get("lo_return")), fmt_pct(m.get("turnover"), 0, False),
                     f"{a.times_chosen}×", fmt_num(a.oos_ic, 4, True) if a.oos_days else "—",
                     fmt_pct(a.coverage_today, 0, False)])
    return rows


WF_HEADER = ["approach", "periods", "span", "LO total", "LO ann.", "LO Sharpe", "L/S total", "L/S ann.",
             "L/S Sharpe", "market ann."]


def wf_rows(report: DailyReport) -> list[list[str]]:
    rows = []
    for r in report.wf_summary:
        rows.append([APPROACH_LABELS.get(str(r.get("approach")), str(r.get("approach"))),
                     str(int(r.get("n_periods") or 0)), f"{r.get('first', '')} … {r.get('last', '')}",
                     fmt_pct(r.get("lo_total")), fmt_pct(r.get("lo_ann")), fmt_num(r.get("lo_sharpe"), 2, True),
                     fmt_pct(r.get("ls_total")), fmt_pct(r.get("ls_ann")), fmt_num(r.get("ls_sharpe"), 2, True),
                     fmt_pct(r.get("market_ann"))])
    return rows


DECAY_SHOWN = (1, 2, 3, 5, 10, 15, 20)


def model_pick_lines(report: DailyReport) -> list[str]:
    """The configured model's top-scored stocks, under a loud banner when its evaluation says collapsed."""
    m = report.model_picks
    if m is None:
        return []
    lines = ["", f"### Model picks (`{m.checkpoint}`)", ""]
    if m.collapsed:
        lines += [f"> **⚠ {m.warning}**", ""]
    elif m.warning:
        lines += [f"> {m.warning}", ""]
    if m.error:
        return [*lines, f"_No model predictions: {m.error}_"]
    rows = [[str(r["rank"]), r["code"], r["name"], fmt_num(r["score"], 3, True), r["pred_class"] or "—"]
            for r in m.rows]
    return lines + _table(["rank", "code", "name", "score", "class"], rows, "rllrl")


def ic_decay_mean(report: DailyReport) -> list[float]:
    """Mean over the selected variants of the IC at each horizon 1 … 20 (NaN where none)."""
    rows = [[np.nan if v is None else v for v in vals] for vals in report.ic_decay.values()]
    if not rows:
        return []
    with warnings.catch_warnings():  # an all-NaN horizon is NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return [float(x) for x in np.nanmean(np.array(rows, dtype=float), axis=0)]


def ic_decay_lines(report: DailyReport) -> list[str]:
    """The IC-decay table: mean rank IC by holding horizon for each selected variant and their mean."""
    if not report.ic_decay:
        return []
    span = report.ic_decay_span
    head = ["variant", *[f"h={h}" for h in DECAY_SHOWN]]
    rows = [[v, *[fmt_num(vals[h - 1], 4, True) for h in DECAY_SHOWN]] for v, vals in report.ic_decay.items()]
    mean = ic_decay_mean(report)
    rows.append(["mean of the selected", *[fmt_num(mean[h - 1], 4, True) for h in DECAY_SHOWN]])
    lines = ["", "### IC decay", "",
             "Mean daily rank IC by holding horizon h (sessions, next-open entry"
             + (f"; signal dates {span[0]} … {span[1]}, every 5th session, the same dates for every h" if span else "")
             + "). A signal whose IC fades by h = 5 has to be traded faster than the 5-session rebalance.", ""]
    return lines + _table(head, rows, "l" + "r" * len(DECAY_SHOWN))


def overfit_line(report: DailyReport) -> str | None:
    o = report.overfit
    if not o:
        return None
    trials = f"{o.get('n_trials')} trials"
    if o.get("n_effective") is not None:
        trials += f" ({o.get('n_effective')} effective, {o.get('n_variants')} variants; mirrors counted once)"
    text = (f"Overfitting check over the evaluated history: the in-sample best of {trials} "
            f"({o.get('chosen')}, long-short Sharpe {fmt_num(o.get('sharpe_ann'), 2)}) has a deflated Sharpe "
            f"ratio of {fmt_num(o.get('dsr'), 2)}")
    if _finite(o.get("pbo")):
        text += f"; probability of backtest overfitting (CSCV) {fmt_pct(o.get('pbo'), 0, False)}"
    if o.get("verdict"):
        return text + f". Verdict: {o['verdict']}."
    return text + " — a DSR below 0.95 means the best in-sample Sharpe is what luck alone would give."


ORDER_HEADER = ["code", "side", "qty", "price", "state", "client order id", "reason"]


def order_rows(report: DailyReport) -> list[list[str]]:
    rows = []
    for o in report.orders or []:
        qty = o.get("qty")
        rows.append([str(o.get("code", "")), str(o.get("side", "")), f"{qty:,}" if isinstance(qty, int) else str(qty),
                     "market" if o.get("price") is None else fmt_krw(o.get("price")), str(o.get("state", "")),
                     str(o.get("client_order_id") or ""), str(o.get("reason") or "")])
    return rows


def lede(report: DailyReport) -> str:
    k = len(report.alphas)
    return (f"Picks for the session after {report.date} (signals at its close): {len(report.picks)} stocks voted by "
            f"{k} variants, chosen from {report.n_variants} tried ({report.n_alphas} alphas × 2 directions) by "
            f"their trailing {report.settings.get('window (sessions)')}-session "
            f"{report.settings.get('selection metric')} known at that close.")


def render_markdown(report: DailyReport) -> str:
    """The whole report as GitHub-flavoured Markdown."""
    L: list[str] = [f"# {report.title}", "", f"> {lede(report)}", ""]
    L += ["## Picks", ""]
    if report.picks:
        L += _table(PICK_HEADER, picks_rows(report), "rllllrrrl")
        variants = [a.variant for a in report.alphas]
        L += ["", "### Per-alpha contributions", "",
              "Percentile rank of each pick in each selected variant today (1.00 = the top of the universe); "
              f"✓ = in that variant's top {report.settings.get('picks')} (a vote).", ""]
        rows = [[p.code, p.name] + [contribution_cell(*p.contributions.get(v, (None, False))) for v in variants]
                for p in report.picks]
        L += _table(["code", "name", *variants], rows, "ll" + "r" * len(variants))
    else:
        L.append("_No picks: no code was nominated._")
    L += model_pick_lines(report)
    L += ["", "## Selected alphas", "",
          f"In sample = the selection window ({report.window[0]} … {report.window[1]}, signal dates); "
          f"WF = the walk-forward record of the same rule: how often the variant was chosen, and the mean daily "
          f"IC it delivered in the periods after being chosen (out of sample).", ""]
    L += _table(ALPHA_HEADER, alpha_rows(report), "rlrrrrrrrrrr")
    L += [""]
    for a in report.alphas:
        desc = f" — {a.description}" if a.description else ""
        sign = "−1 × " if a.direction < 0 else ""
        L.append(f"- **{a.variant}**{_md(desc)}: `{sign}{a.formula}`")
    L += ic_decay_lines(report)
    L += ["", "## Walk-forward vs in sample", "",
          f"The selection rule (top {len(report.alphas)} by trailing {report.settings.get('selection metric')}) "
          f"traded as an equal-weight composite: LO = long-only top decile, L/S = top minus bottom decile, "
          f"{report.horizon}-session holdings, no costs.", ""]
    L += _table(WF_HEADER, wf_rows(report), "lrlrrrrrrr")
    line = overfit_line(report)
    if line:
        L += ["", line]
    if report.orders is not None:
        L += ["", "## Paper orders", ""]
        L += _table(ORDER_HEADER, order_rows(report), "llrrlll") if report.orders else ["_No orders were needed._"]
    L += ["", "## Data coverage", ""]
    L += _table(["item", "value"], [[k, str(v)] for k, v in report.coverage.items()])
    L += ["", "## Warnings", ""]
    L += [f"- {w}" for w in report.warnings] or ["- none"]
    L += ["", "## Method", ""]
    L += [f"- {n}" for n in report.notes]
    L += ["- Settings: " + ", ".join(f"{k} {v}" for k, v in report.settings.items()),
          f"- Generated {report.generated_at} by `lasps daily`. The HTML version adds the charts.", ""]
    return "\n".join(L)


__all__ = ["ALPHA_HEADER", "PICK_HEADER", "WF_HEADER", "alpha_rows", "contribution_cell", "fmt_krw", "fmt_num",
           "fmt_pct", "lede", "order_rows", "overfit_line", "picks_rows", "render_markdown", "wf_rows"]
