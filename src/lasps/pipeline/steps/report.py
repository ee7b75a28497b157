"""Step ``report``: ``reports/D_alpha.md`` and ``.html`` from the run's files (:mod:`lasps.report`)."""

from __future__ import annotations

import logging
from typing import Any

from lasps.files import atomic_write_text
from lasps.pipeline import outputs as out
from lasps.pipeline.assemble import build_report
from lasps.pipeline.context import StepContext
from lasps.report.html import render_html
from lasps.report.markdown import render_markdown

log = logging.getLogger("lasps.pipeline")


def run(ctx: StepContext) -> tuple[dict[str, Any], bool]:
    orders = out.read_json(ctx.file("orders.json"))
    report = build_report(ctx.ws, ctx.date, ctx.directory, ctx.config, ctx.catalogue,
                          orders=orders.get("orders") if isinstance(orders, dict) else None,
                          extra_warnings=ctx.warnings)
    md = render_markdown(report)
    html = render_html(report)
    ctx.cache["markdown"] = md
    ctx.cache["report"] = report
    if ctx.config.dry_run:
        return {"note": "dry run: report not written"}, True
    md_path, html_path = out.report_paths(ctx.home, ctx.date)
    atomic_write_text(md_path, md)
    atomic_write_text(html_path, html)
    log.info("report: %s, %s", md_path, html_path)
    return {"markdown": str(md_path), "html": str(html_path), "warnings": len(report.warnings),
            "line": f"{md_path.name} and .html"}, False
