"""The dashboard: server-rendered HTML pages with inline SVG charts (no JavaScript, no external assets).

=================  =====================================================================================
``/``              overview: store status, the latest picks, walk-forward vs in-sample equity, latest backtest
``/picks``         the picks of a date (``?date=``) with votes, contributions and the selected variants
``/rankings``      ``research/rank_latest.csv`` by split and metric, with a bar chart of the top variants
``/backtests``     stored backtest runs with equity sparklines; ``/backtests/{run_id}``: one run vs KOSPI
``/reports``       the daily reports (links to the self-contained HTML and the Markdown)
=================  =====================================================================================

Templates are Jinja2 (autoescaped) kept in this module; every value shown comes from the files the
pipeline, the research commands and the backtester write (:mod:`lasps.service.data`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse
from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup

from lasps import __version__
from lasps.pipeline import outputs as out
from lasps.report.charts import Line, bar_chart, line_chart, sparkline
from lasps.report.html import CSS
from lasps.report.markdown import fmt_krw, fmt_num, fmt_pct
from lasps.service.data import StoreProbe, backtest_dir, backtest_runs, latest_backtest, read_csv
from lasps.workspace import Workspace

NAV = (("/", "Overview"), ("/picks", "Picks"), ("/rankings", "Rankings"), ("/backtests", "Backtests"),
       ("/reports", "Reports"), ("/docs", "API"))

EXTRA_CSS = """
header.top{background:#1d2330;color:#fff}
header.top .in{max-width:1180px;margin:0 auto;padding:10px 28px;display:flex;gap:22px;align-items:center}
header.top a{color:#cfd6e4;text-decoration:none;font-size:14px}
header.top a.on,header.top a:hover{color:#fff}
header.top .brand{font-weight:700;color:#fff;margin-right:10px;letter-spacing:.5px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.tile{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.tile .k{color:var(--muted);font-size:12px}.tile .v{font-size:18px;font-weight:600;margin-top:2px}
a{color:var(--accent)}
.pill{display:inline-block;padding:2px 9px;margin:0 4px 4px 0;border-radius:12px;border:1px solid var(--line);
background:#fff;font-size:12px;text-decoration:none}
.pill.on{background:var(--accent);color:#fff;border-color:var(--accent)}
.ok{color:#0b6b2f}.busy{color:#8a5a00}.bad{color:#b3261e}
"""

TEMPLATES = {
    "base.html": """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
<title>{{ title }} · LASPS</title>
<style>{{ css }}</style></head><body>
<header class="top"><div class="in"><span class="brand">LASPS</span>
{% for href, label in nav %}
<a href="{{ href }}" class="{{ 'on' if href == active else '' }}">{{ label }}</a>
{% endfor %}
</div></header><main><h1>{{ title }}</h1>{% if lede %}<p class="lede">{{ lede }}</p>{% endif %}
{% block body %}{% endblock %}
<footer>LASPS {{ version }} · home {{ home }} · read-only dashboard; orders via the token-protected API.</footer>
</main></body></html>""",
    "overview.html": """{% extends "base.html" %}{% block body %}
<div class="tiles">
<div class="tile"><div class="k">market store</div>
<div class="v {{ store_class }}">{{ store.status }}</div><div class="small">{{ store_note }}</div></div>
<div class="tile"><div class="k">latest picks</div><div class="v">{{ picks.date if picks else '—' }}</div>
<div class="small">{{ picks_note }}</div></div>
<div class="tile"><div class="k">latest report</div><div class="v">
{% if report %}<a href="/reports/{{ report.html }}">{{ report.date }}</a>{% else %}—{% endif %}</div>
<div class="small">{% if report and report.md %}<a href="/reports/{{ report.md }}">markdown</a>{% endif %}</div>
</div>
<div class="tile"><div class="k">latest backtest</div><div class="v">
{% if bt %}<a href="/backtests/{{ bt.run_id }}">{{ bt.label or bt.strategy }}</a>{% else %}—{% endif %}</div>
<div class="small">{{ bt_line }}</div></div>
</div>
<h2>Latest picks{% if picks %} — {{ picks.date }}{% endif %}</h2>
{% if picks %}<div class="card">{{ picks_table }}</div>
{% else %}<p class="small">No daily picks yet: run <code>lasps daily</code> or <code>lasps demo</code>.</p>{% endif %}
<h2>Walk-forward vs in sample</h2>
<div class="card">{{ wf_chart }}</div>
<h2>Latest backtest</h2>
<div class="card">{{ bt_chart }}</div>
{% endblock %}""",
    "picks.html": """{% extends "base.html" %}{% block body %}
<p>{% for d in dates %}
<a class="pill {{ 'on' if d == date else '' }}" href="/picks?date={{ d }}">{{ d }}</a>
{% endfor %}</p>
{% if doc %}
<p class="small">Universe {{ doc.universe }} codes · {{ doc.variants|length }} variants voted, each nominating
its top {{ doc.n_picks }}
{% if report %} · <a href="/reports/{{ report }}">full report with charts</a>{% endif %}</p>
<div class="card">{{ picks_table }}</div>
<h2>Per-alpha contributions</h2>
<p class="small">Percentile rank of each pick in each variant on the date; ✓ = a vote.</p>
<div class="card">{{ contrib_table }}</div>
<h2>Selected variants</h2>
<div class="card">{{ sel_table }}</div>
{% else %}<p class="small">No picks for this date.</p>{% endif %}
{% endblock %}""",
    "rankings.html": """{% extends "base.html" %}{% block body %}
<p>split: {% for s in splits %}
<a class="pill {{ 'on' if s == split else '' }}" href="/rankings?split={{ s }}&by={{ by }}">{{ s }}</a>
{% endfor %} &nbsp; sort: {% for m in metrics %}
<a class="pill {{ 'on' if m == by else '' }}" href="/rankings?split={{ split }}&by={{ m }}">{{ m }}</a>
{% endfor %}</p>
{% if table %}<div class="card">{{ chart }}</div><div class="card">{{ table }}</div>
{% else %}<p class="small">No ranking yet: run <code>lasps daily</code> or <code>lasps eval rank</code>.</p>
{% endif %}
{% endblock %}""",
    "backtests.html": """{% extends "base.html" %}{% block body %}
{% if table %}<div class="card">{{ table }}</div>
{% else %}<p class="small">No backtests yet: <code>lasps backtest run</code>.</p>{% endif %}
{% endblock %}""",
    "backtest.html": """{% extends "base.html" %}{% block body %}
<div class="card">{{ chart }}</div><div class="card">{{ table }}</div>
{% if notes %}<div class="warn"><ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul></div>{% endif %}
{% endblock %}""",
    "reports.html": """{% extends "base.html" %}{% block body %}
{% if reports %}<div class="card"><table id="reports">
<thead><tr><th>date</th><th>HTML</th><th>Markdown</th></tr></thead><tbody>
{% for r in reports %}<tr><td>{{ r.date }}</td>
<td>{% if r.html %}<a href="/reports/{{ r.html }}">{{ r.html }}</a>{% endif %}</td>
<td>{% if r.md %}<a href="/reports/{{ r.md }}">{{ r.md }}</a>{% endif %}</td></tr>{% endfor %}
</tbody></table></div>
{% else %}<p class="small">No reports yet: run <code>lasps daily</code>.</p>{% endif %}
{% endblock %}""",
    "error.html": """{% extends "base.html" %}{% block body %}<div class="warn">{{ message }}</div>{% endblock %}""",
}

_env = Environment(loader=DictLoader(TEMPLATES), autoescape=select_autoescape(default=True, default_for_string=True))


def render(name: str, home: Path | None, active: str, title: str, lede: str = "", **ctx: Any) -> str:
    """Render a dashboard template inside the common layout."""
    return _env.get_template(name).render(css=Markup(CSS + EXTRA_CSS), nav=NAV, active=active, title=title, lede=lede,
                                          version=__version__, home=str(home or ""), **ctx)


def error_page(status: int, message: str) -> str:
    """A dashboard page for an HTTP error."""
    return render("error.html", None, "", f"{status}", message=message)


def _table(header: list[str], rows: list[list[Any]], *, table_id: str = "", right: set[int] | None = None) -> Markup:
    """An HTML table; cells may be :class:`Markup` (inserted as is) or text (escaped)."""
    right = right or set()
    tid = f' id="{html.escape(table_id)}"' if table_id else ""
    head = "".join(f'<th class="{"r" if i in right else ""}">{html.escape(h)}</th>' for i, h in enumerate(header))
    body = []
    for r in rows:
        cells = "".join(
            f'<td class="{"r" if i in right else ""}">{c if isinstance(c, Markup) else html.escape(str(c))}</td>'
            for i, c in enumerate(r))
        body.append(f"<tr>{cells}</tr>")
    return Markup(f'<table{tid}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def picks_table(doc: dict[str, Any]) -> Markup:
    rows = [[p["rank"], p["code"], p.get("name") or "", p.get("market") or "", p.get("sector") or "—",
             fmt_krw(p.get("close")), p["votes"], f"{p['rank_sum']:.2f}", ", ".join(p.get("nominated_by") or [])]
            for p in doc.get("picks", [])]
    return _table(["#", "code", "name", "market", "sector", "last close", "votes", "rank sum", "nominated by"], rows,
                  table_id="picks", right={0, 5, 6, 7})


def _wf_chart(home: Path, day: str | None) -> Markup:
    periods = out.read_wf_periods(home, day) if day else None
    if periods is None:
        return Markup(line_chart([], title="Walk-forward vs in sample (no daily run yet)"))
    lines = [Line("walk-forward (honest)", *out.wealth(periods, "walk_forward", "lo"), "#1f77b4"),
             Line("in sample (look-ahead)", *out.wealth(periods, "in_sample", "lo"), "#d62728", dash="5 3"),
             Line("equal-weight universe", *out.wealth(periods, "walk_forward", "market"), "#7f7f7f", dash="2 2")]
    return Markup(line_chart(lines, title=f"Selection rule of {day}: long-only top decile, growth of 1 (no costs)",
                             y_format="x", ref=1.0, y_label="wealth"))


def _equity(home: Path, run_id: str) -> tuple[Markup, dict[str, Any]]:
    d = backtest_dir(home, run_id)
    summary = out.read_json(d / "summary.json") if d else None
    daily = read_csv(d / "daily.csv") if d else None
    if summary is None or daily is None or daily.empty:
        return Markup(line_chart([], title="no equity")), summary or {}
    dates = pd.to_datetime(daily["date"]).to_numpy().astype("datetime64[D]")
    tv = daily["total_value"].to_numpy(dtype=float)
    lines = [Line(f"{summary.get('strategy')} ({run_id})", dates, tv / tv[0], "#1f77b4")]
    bench = pd.to_numeric(daily.get("benchmark"), errors="coerce").to_numpy(dtype=float) \
        if "benchmark" in daily else np.array([])
    if len(bench) and np.isfinite(bench).any():
        b0 = bench[np.isfinite(bench)][0]
        lines.append(Line("KOSPI", dates, bench / b0, "#7f7f7f", dash="3 3"))
    return Markup(line_chart(lines, title=f"Equity, growth of 1 — {summary.get('strategy')} "
                                          f"{(summary.get('parameters') or {}).get('start')} … "
                                          f"{(summary.get('parameters') or {}).get('end')} (KRX costs)",
                             y_format="x", ref=1.0, y_label="wealth")), summary


def pages_router(ws: Workspace, probe: StoreProbe) -> APIRouter:
    """The dashboard pages over the workspace ``ws`` (its result files; the store only through ``probe``)."""
    home = ws.home
    r = APIRouter(tags=["dashboard"], include_in_schema=False)

    @r.get("/", response_class=HTMLResponse)
    def overview() -> str:
        store = probe.get()
        picks = out.read_picks(home)
        reports = out.list_reports(home)
        runs = backtest_runs(home)
        latest = latest_backtest(home)
        bt = next((x for x in runs if x["run_id"] == latest), runs[0] if runs else None)
        bt_chart, _ = _equity(home, bt["run_id"]) if bt else (Markup(line_chart([], title="no backtest yet")), {})
        note = (f"{store.get('first_date')} … {store.get('last_date')}, {store.get('codes')} codes"
                if store.get("status") == "ok" else store.get("note") or store.get("fix") or store.get("error") or "")
        klass = {"ok": "ok", "busy": "busy"}.get(store.get("status", ""), "bad")
        bt_line = (f"total {fmt_pct(bt.get('total_return'))}, Sharpe {fmt_num(bt.get('sharpe'), 2)}" if bt else "")
        return render("overview.html", home, "/", "Overview",
                      "Today's picks, how the selection rule did honestly (walk-forward) vs with look-ahead "
                      "(in sample), and the latest backtest.",
                      store=store, store_note=note, store_class=klass, picks=picks,
                      picks_note=(f"{len(picks['picks'])} names, {len(picks['variants'])} variants" if picks
                                  else "run lasps daily"),
                      picks_table=picks_table(picks) if picks else "", report=reports[0] if reports else None,
                      bt=bt, bt_line=bt_line, wf_chart=_wf_chart(home, picks["date"] if picks else None),
                      bt_chart=bt_chart)

    @r.get("/picks", response_class=HTMLResponse)
    def picks_page(date: str | None = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$")) -> str:
        dates = [d for d in out.run_dates(home) if (out.run_dir(home, d) / "picks.json").is_file()]
        day = date or out.latest_date(home) or (dates[0] if dates else None)
        doc = out.read_picks(home, day) if day else None
        if date and doc is None:
            raise HTTPException(404, f"no picks for {date}")
        ctx: dict[str, Any] = {"dates": dates, "date": day, "doc": doc}
        if doc:
            variants = doc.get("variants", [])
            rows = []
            for p in doc.get("picks", []):
                c = (doc.get("contributions") or {}).get(p["code"], {})
                cells: list[Any] = [p["code"], p.get("name") or ""]
                for v in variants:
                    pct, nom = (c.get(v) or [None, False])
                    txt = "—" if pct is None else (f"✓ {pct:.2f}" if nom else f"{pct:.2f}")
                    cells.append(Markup(f'<span class="nom">{html.escape(txt)}</span>') if nom else txt)
                rows.append(cells)
            ctx["contrib_table"] = _table(["code", "name", *variants], rows, table_id="contributions",
                                          right=set(range(2, 2 + len(variants))))
            sel = out.read_json(out.run_dir(home, day) / "selection.json") or {}
            srows = [[s["rank"], s["variant"], fmt_num(s["metrics"].get("ic_mean"), 4, True),
                      fmt_num(s["metrics"].get("ic_ir"), 3, True), fmt_pct(s["metrics"].get("ls_return")),
                      f"{s.get('times_chosen', 0)}×", fmt_num(s.get("oos_ic"), 4, True) if s.get("oos_days") else "—",
                      s.get("description", "")] for s in sel.get("variants", [])]
            ctx["sel_table"] = _table(["#", "variant", "IC mean (IS)", "IC_IR (IS)", "L/S ann. (IS)", "WF chosen",
                                       "WF IC after", "what it measures"], srows, table_id="selection",
                                      right={0, 2, 3, 4, 5, 6})
            ctx["picks_table"] = picks_table(doc)
            html_report = out.report_paths(home, day)[1]
            ctx["report"] = html_report.name if html_report.is_file() else None
        return render("picks.html", home, "/picks", f"Picks — {day}" if day else "Picks",
                      "Voting: each selected variant nominates its top codes; most votes win, ties by summed rank.",
                      **ctx)

    @r.get("/rankings", response_class=HTMLResponse)
    def rankings_page(split: str = "all", by: str = "ic_ir", top: int = Query(30, ge=1, le=500)) -> str:
        splits = ["train", "val", "test", "all"]
        metrics = ["ic_ir", "ic_mean", "ic_t_nw", "hit_rate", "q_spread", "ls_return", "lo_return"]
        if split not in splits or by not in metrics:
            raise HTTPException(422, f"unknown split {split!r} or metric {by!r}: splits {splits}, metrics {metrics}")
        frame = read_csv(home / "research" / "rank_latest.csv")
        table = chart = None
        lede = "Every alpha in both directions (x and x_rev). Picking the top of this table is the in-sample choice."
        if frame is not None:
            n = frame["variant"].nunique()
            lede = f"{n} variants tried (each alpha and its reverse); split {split}, sorted by {by}. " + lede
            sub = frame[frame["split"] == split].sort_values(by, ascending=False, na_position="last",
                                                             kind="mergesort").head(top)
            rows = [[i + 1, r.variant, int(r.n_days), fmt_num(r.ic_mean, 4, True), fmt_num(r.ic_ir, 3, True),
                     fmt_num(r.ic_t_nw, 2, True), fmt_pct(r.hit_rate, 0, False), fmt_pct(r.ls_return),
                     fmt_pct(r.lo_return), fmt_pct(r.turnover, 0, False)] for i, r in enumerate(sub.itertuples())]
            table = _table(["#", "variant", "days", "IC mean", "IC_IR", "t (NW)", "hit", "L/S ann.", "long ann.",
                            "turnover"], rows, table_id="rankings", right={0, 2, 3, 4, 5, 6, 7, 8, 9})
            chart = Markup(bar_chart([str(v) for v in sub["variant"].head(20)],
                                     sub[by].head(20).to_numpy(dtype=float), title=f"Top 20 by {by} ({split})"))
        return render("rankings.html", home, "/rankings", "Rankings", lede, splits=splits, metrics=metrics,
                      split=split, by=by, table=table, chart=chart)

    @r.get("/backtests", response_class=HTMLResponse)
    def backtests_page() -> str:
        runs = backtest_runs(home)
        rows = []
        for x in runs[:200]:
            d = backtest_dir(home, x["run_id"])
            daily = read_csv(d / "daily.csv", usecols=["total_value"]) if d else None
            spark = Markup(sparkline(daily["total_value"].to_numpy(dtype=float))) if daily is not None else ""
            rows.append([Markup(f'<a href="/backtests/{html.escape(x["run_id"])}">{html.escape(x["run_id"])}</a>'),
                         x.get("strategy") or "", x.get("label") or "", f"{x.get('start')} … {x.get('end')}",
                         fmt_pct(x.get("total_return")), fmt_num(x.get("sharpe"), 2, True),
                         fmt_pct(x.get("max_drawdown")), fmt_pct(x.get("excess_return")), spark])
        table = _table(["run", "strategy", "label", "period", "total", "Sharpe", "max DD", "vs KOSPI", "equity"],
                       rows, table_id="backtests", right={4, 5, 6, 7}) if rows else None
        return render("backtests.html", home, "/backtests", "Backtests",
                      "Simulations with KRX rules and costs (commission, sell tax by settlement date, limits, halts).",
                      table=table)

    @r.get("/backtests/{run_id}", response_class=HTMLResponse)
    def backtest_page(run_id: str) -> str:
        if backtest_dir(home, run_id) is None:
            raise HTTPException(404, f"no backtest run {run_id!r}")
        chart, s = _equity(home, run_id)
        keys = ("total_return", "annual_return", "volatility", "sharpe", "max_drawdown", "win_rate", "profit_factor",
                "turnover", "fees", "taxes", "excess_return", "benchmark_return", "final_value", "n_trades")
        pct = {"total_return", "annual_return", "volatility", "max_drawdown", "win_rate", "excess_return",
               "benchmark_return"}
        rows = [[k, fmt_pct(s.get(k)) if k in pct else (fmt_krw(s.get(k)) if k in ("fees", "taxes", "final_value")
                                                         else fmt_num(s.get(k), 2))] for k in keys]
        p = s.get("parameters") or {}
        rows += [["variants", ", ".join(p.get("variants") or [])], ["top / rebalance", f"{p.get('top')} / "
                                                                                      f"{p.get('rebalance')}"]]
        return render("backtest.html", home, "/backtests", f"Backtest {run_id}", f"{s.get('strategy')} "
                      f"{p.get('start')} … {p.get('end')}", chart=chart,
                      table=_table(["metric", "value"], rows, table_id="metrics", right={1}),
                      notes=s.get("notes") or [])

    @r.get("/reports", response_class=HTMLResponse)
    def reports_page() -> str:
        return render("reports.html", home, "/reports", "Reports",
                      "Daily reports: self-contained HTML (charts inline) and Markdown.",
                      reports=out.list_reports(home))

    return r


__all__ = ["error_page", "pages_router", "picks_table", "render"]
