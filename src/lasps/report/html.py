"""The HTML daily report (``reports/YYYY-MM-DD_alpha.html``): the Markdown report's tables plus charts.

One self-contained file: CSS inline, charts as inline SVG (:mod:`lasps.report.charts`), no scripts, no
external fonts, images or style sheets — it opens offline and makes no network request (tested by parsing
every ``src``/``href``). Charts: walk-forward vs in-sample equity (long-only and long-short), the daily IC
of the selected variants over time, their correlation heatmap, and a price chart per pick.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from lasps.report.charts import Line, bar_chart, heatmap, line_chart, price_chart
from lasps.report.data import DailyReport
from lasps.report.markdown import (
    ALPHA_HEADER,
    ORDER_HEADER,
    PICK_HEADER,
    WF_HEADER,
    alpha_rows,
    contribution_cell,
    ic_decay_mean,
    lede,
    order_rows,
    overfit_line,
    picks_rows,
    wf_rows,
)
from lasps.research.timing import Timing

IC_ROLLING = 21

CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--accent:#1f5fbf;--warn:#8a5a00;--warnbg:#fff7e0}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:var(--fg);font:14px/1.5 system-ui,-apple-system,'Segoe UI','Noto Sans KR',
'Malgun Gothic',sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 8px}
.lede{color:var(--muted);margin:0 0 18px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:12px 0;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{background:#fafbfc;font-weight:600;color:#333}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}
tr:hover td{background:#f8fafd}
.pos{color:#0b6b2f}.neg{color:#b3261e}.nom{font-weight:600;color:var(--accent)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
.warn{background:var(--warnbg);border:1px solid #f0d58c;color:var(--warn);border-radius:8px;padding:10px 14px}
.warn li{margin:4px 0}
code{font-size:12px;background:#f2f4f7;padding:1px 4px;border-radius:4px;white-space:pre-wrap;word-break:break-all}
.kv td:first-child{color:var(--muted);width:220px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;background:#e8f0fe;color:var(--accent);font-size:12px}
.small{font-size:12px;color:var(--muted)}
footer{margin-top:28px;color:var(--muted);font-size:12px}
svg.lasps-chart{display:block;height:auto}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cls(cell: str) -> str:
    if cell.startswith("+") and cell != "+0.0%":
        return "r pos"
    if cell.startswith("-") and cell != "—":
        return "r neg"
    return "r"


def table_html(header: list[str], rows: list[list[str]], align: str, *, table_id: str = "",
               signed: bool = False) -> str:
    """A plain HTML table; ``align`` has one ``l``/``r`` per column; ``signed`` colours +/− numbers."""
    tid = f' id="{_e(table_id)}"' if table_id else ""
    head = "".join(f'<th class="{"r" if a == "r" else ""}">{_e(h)}</th>' for h, a in zip(header, align, strict=False))
    body = []
    for r in rows:
        cells = []
        for c, a in zip(r, align, strict=False):
            cls = (_cls(c) if signed else "r") if a == "r" else ""
            cells.append(f'<td class="{cls}">{_e(c)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table{tid}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _rolling(values: np.ndarray, window: int) -> np.ndarray:
    return pd.Series(values).rolling(window, min_periods=max(2, window // 2)).mean().to_numpy()


def charts_equity(report: DailyReport) -> tuple[str, str]:
    """Long-only and long-short wealth of walk-forward vs in-sample (and the equal-weight market)."""
    styles = {"walk_forward": ("walk-forward (honest)", "#1f77b4", None),
              "in_sample": ("in sample (look-ahead)", "#d62728", "5 3"),
              "market": ("equal-weight universe", "#7f7f7f", "2 2")}
    lo = [Line(styles[k][0], s.dates, s.values, styles[k][1], dash=styles[k][2]) for k, s in report.equity.items()
          if k in styles]
    ls = [Line(styles[k][0], s.dates, s.values, styles[k][1], dash=styles[k][2])
          for k, s in report.equity_ls.items() if k in styles]
    h = report.horizon
    a = line_chart(lo, title=f"Long-only top decile, growth of 1 ({h}-session periods, no costs)", y_format="x",
                   ref=1.0, y_label="wealth")
    b = line_chart(ls, title="Long-short (top minus bottom decile), growth of 1", y_format="x", ref=1.0,
                   y_label="wealth")
    return a, b


def chart_ic(report: DailyReport) -> str:
    """Rolling mean of the daily rank IC of the selected variants, the selection window shaded."""
    lines: list[Line] = []
    stack = []
    for i, (v, s) in enumerate(report.ic.items()):
        r = _rolling(s.values, IC_ROLLING)
        stack.append(s.values)
        if i < 8:
            lines.append(Line(v, s.dates, r, width=1.1))
    if stack:
        first = next(iter(report.ic.values()))
        mean = np.nanmean(np.vstack(stack), axis=0) if len(stack) > 1 else stack[0]
        lines.insert(0, Line("mean of the selected", first.dates, _rolling(mean, IC_ROLLING), "#111111", width=2.6))
    shade = None
    if report.window[0] not in ("", "None"):
        shade = (np.datetime64(report.window[0]), np.datetime64(report.window[1]), "selection window")
    return line_chart(lines, title=f"Daily rank IC by signal date ({IC_ROLLING}-session mean; known "
                                   f"{Timing('open', report.horizon).lag} sessions later)", y_format="num", ref=0.0,
                      shade=shade, height=320, y_label="rank IC")


def render_html(report: DailyReport) -> str:
    """The whole report as one self-contained HTML document."""
    P: list[str] = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                    '<meta name="viewport" content="width=device-width,initial-scale=1">',
                    f"<title>{_e(report.title)}</title><style>{CSS}</style></head><body><main>",
                    f"<h1>{_e(report.title)}</h1>", f'<p class="lede">{_e(lede(report))}</p>']
    if report.warnings:
        P.append('<div class="warn"><strong>Read before use</strong><ul>'
                 + "".join(f"<li>{_e(w)}</li>" for w in report.warnings[:3]) + "</ul>"
                 + (f'<span class="small">{len(report.warnings) - 3} more below.</span>' if len(report.warnings) > 3
                    else "") + "</div>")
    # picks
    P.append("<h2>Picks</h2>")
    if report.picks:
        P.append('<div class="card">' + table_html(PICK_HEADER, picks_rows(report), "rllllrrrl", table_id="picks")
                 + "</div>")
        variants = [a.variant for a in report.alphas]
        head = "".join(f'<th class="r">{_e(v)}</th>' for v in variants)
        rows = []
        for p in report.picks:
            cells = []
            for v in variants:
                pct, nom = p.contributions.get(v, (None, False))
                cells.append(f'<td class="r{" nom" if nom else ""}">{_e(contribution_cell(pct, nom))}</td>')
            rows.append(f"<tr><td>{_e(p.code)}</td><td>{_e(p.name)}</td>{''.join(cells)}</tr>")
        P.append("<h3>Per-alpha contributions</h3>"
                 f'<p class="small">Percentile rank of each pick in each selected variant today; ✓ = in that '
                 f"variant's top {_e(report.settings.get('picks'))} (a vote).</p>"
                 f'<div class="card"><table id="contributions"><thead><tr><th>code</th><th>name</th>{head}</tr>'
                 f"</thead><tbody>{''.join(rows)}</tbody></table></div>")
        if report.prices:
            P.append('<h3>Price charts</h3><div class="grid">')
            for ph in report.prices:
                P.append('<div class="card">' + price_chart(ph.dates, ph.close, ph.volume,
                                                            title=f"{ph.code} {ph.name}".strip(),
                                                            mark=np.datetime64(report.date)) + "</div>")
            P.append("</div>")
    else:
        P.append('<p class="small">No picks: no code was nominated.</p>')
    m = report.model_picks
    if m is not None:
        P.append(f"<h3>Model picks ({_e(m.checkpoint)})</h3>")
        if m.warning:
            P.append(f'<div class="warn"><strong>{_e(m.warning)}</strong></div>')
        if m.error:
            P.append(f'<p class="small">No model predictions: {_e(m.error)}</p>')
        else:
            model_rows = [[str(r["rank"]), r["code"], r["name"], f"{r['score']:+.3f}", r["pred_class"] or "—"]
                          for r in m.rows]
            P.append('<div class="card">' + table_html(["rank", "code", "name", "score", "class"], model_rows,
                                                        "rllrl", table_id="model-picks") + "</div>")
    # alphas
    P.append("<h2>Selected alphas</h2>")
    P.append(f'<p class="small">In sample = the selection window {_e(report.window[0])} … {_e(report.window[1])} '
             "(signal dates). WF = the walk-forward record of the same rule: times chosen and the mean daily IC "
             "delivered in the periods after being chosen (out of sample).</p>")
    P.append('<div class="card">' + table_html(ALPHA_HEADER, alpha_rows(report), "rlrrrrrrrrrr", table_id="alphas",
                                                signed=True) + "</div>")
    P.append('<div class="card"><table class="kv"><tbody>')
    for a in report.alphas:
        sign = "−1 × " if a.direction < 0 else ""
        P.append(f"<tr><td>{_e(a.variant)}</td><td>{_e(a.description)}<br><code>{_e(sign + a.formula)}</code>"
                 "</td></tr>")
    P.append("</tbody></table></div>")
    P.append('<div class="card">' + chart_ic(report) + "</div>")
    decay = ic_decay_mean(report)
    if decay:
        P.append('<div class="card">' + bar_chart([f"h={h}" for h in range(1, len(decay) + 1)], np.array(decay),
                                                  title="IC decay: mean rank IC of the selected variants by holding "
                                                        "horizon (sessions)") + "</div>")
    if report.correlation is not None and len(report.correlation[0]) > 1:
        labels, m = report.correlation
        P.append('<div class="card">' + heatmap(labels, m, title="Correlation of the selected variants (mean daily "
                                                                 "rank correlation, sign-adjusted)") + "</div>")
    # walk-forward
    P.append("<h2>Walk-forward vs in sample</h2>")
    P.append(f'<p class="small">The selection rule traded as an equal-weight composite of the chosen variants '
             f"(LO = long-only top decile, L/S = top minus bottom decile), {report.horizon}-session holdings, no "
             "costs. The in-sample line chooses once with the whole "
             "history — knowledge nobody had at the time.</p>")
    P.append('<div class="card">' + table_html(WF_HEADER, wf_rows(report), "lrlrrrrrrr", table_id="walkforward",
                                                signed=True) + "</div>")
    line = overfit_line(report)
    if line:
        P.append(f'<p class="small">{_e(line)}</p>')
    eq_lo, eq_ls = charts_equity(report)
    P.append(f'<div class="card">{eq_lo}</div><div class="card">{eq_ls}</div>')
    if report.orders is not None:
        P.append("<h2>Paper orders</h2>")
        P.append('<div class="card">' + (table_html(ORDER_HEADER, order_rows(report), "llrrlll", table_id="orders")
                                         if report.orders else '<p class="small">No orders were needed.</p>')
                 + "</div>")
    P.append("<h2>Data coverage</h2>")
    P.append('<div class="card"><table class="kv"><tbody>' + "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in report.coverage.items()) + "</tbody></table></div>")
    P.append("<h2>Warnings</h2>")
    P.append('<div class="warn"><ul>' + ("".join(f"<li>{_e(w)}</li>" for w in report.warnings) or "<li>none</li>")
             + "</ul></div>")
    P.append("<h2>Method</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in report.notes)
             + "<li>Settings: " + _e(", ".join(f"{k} {v}" for k, v in report.settings.items())) + "</li></ul>")
    P.append(f"<footer>Generated {_e(report.generated_at)} by <code>lasps daily</code>.</footer>")
    P.append("</main></body></html>")
    return "\n".join(P)


__all__ = ["CSS", "chart_ic", "charts_equity", "render_html", "table_html"]
