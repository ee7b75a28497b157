"""Daily reports: Markdown and self-contained HTML with inline SVG charts (DESIGN §6).

:mod:`~lasps.report.data` (what a report shows), :mod:`~lasps.report.markdown`, :mod:`~lasps.report.html`,
:mod:`~lasps.report.charts` (SVG, also used by the dashboard). The pipeline fills a
:class:`~lasps.report.data.DailyReport`; rendering computes nothing but formats.
"""

from __future__ import annotations

from lasps.report.data import AlphaRow, DailyReport, PickRow, PriceHistory, Series
from lasps.report.html import render_html
from lasps.report.markdown import render_markdown

__all__ = ["AlphaRow", "DailyReport", "PickRow", "PriceHistory", "Series", "render_html", "render_markdown"]
