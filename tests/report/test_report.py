"""The daily report: sections, numbers, warnings, and an HTML file that makes no network request."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.data.bundle import MarketBundle
from lasps.pipeline import outputs as out
from lasps.pipeline.daily import DailyConfig, run_daily
from tests.pipeline.fixtures import store_bundle, synthetic_bundle


class _Refs(HTMLParser):
    """Collects every URL-bearing attribute and the tags of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href", "srcset", "action", "poster", "data", "xlink:href") and v is not None:
                self.refs.append((tag, k, v))


def _external(refs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [r for r in refs if re.match(r"^\s*(https?:)?//", r[2], re.I)]


def test_html_report_is_self_contained(daily_run: tuple[Path, Any]) -> None:
    home, result = daily_run
    text = out.report_paths(home, result.date)[1].read_text(encoding="utf-8")
    p = _Refs()
    p.feed(text)
    assert _external(p.refs) == []
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text, re.I)
    # the charts: equity (long-only, long-short), IC over time, correlation heatmap, one price chart per pick
    assert p.tags.count("svg") >= 4 + len(result.picks)
    for title in ("Long-only top decile", "Long-short", "Daily rank IC", "Correlation of the selected variants"):
        assert title in text
    for code in result.picks["code"]:
        assert f"<td>{code}</td>" in text
    assert 'id="picks"' in text and 'id="contributions"' in text and 'id="walkforward"' in text


def test_markdown_report_sections_and_numbers(daily_run: tuple[Path, Any]) -> None:
    home, result = daily_run
    md = out.report_paths(home, result.date)[0].read_text(encoding="utf-8")
    for section in ("## Picks", "### Per-alpha contributions", "## Selected alphas", "## Walk-forward vs in sample",
                    "## Data coverage", "## Warnings", "## Method"):
        assert section in md
    picks = result.picks
    for r in picks.itertuples():
        assert f"| {r.rank} | {r.code} | {r.name} |" in md
        assert f"{r.close:,.0f}" in md
    for s in result.selection:
        assert f"| {s['rank']} | {s['variant']} |" in md
    assert "walk-forward (honest)" in md and "in sample (look-ahead)" in md
    assert "30 variants tried" in md  # 15 alphas x 2 directions, stated up front
    assert "IndClass.sector = industry = subindustry" in md


def test_ic_decay_table_and_chart(daily_run: tuple[Path, Any]) -> None:
    """Issue 15: IC by horizon 1 … 20 for the selected variants (a _rev variant's IC negated)."""
    home, result = daily_run
    md_path, html_path = out.report_paths(home, result.date)
    md = md_path.read_text(encoding="utf-8")
    assert "### IC decay" in md and "h=20" in md
    ev = json.loads((out.run_dir(home, result.date) / "evaluation.json").read_text())
    decay = ev["ic_decay"]
    assert decay["horizons"] == list(range(1, 21)) and decay["rows"] > 0
    for s in result.selection:
        vals = decay["ic"][s["alpha"]]
        assert len(vals) == 20
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {s['variant']} |") and "h=" not in ln
                    and ln.count("|") == 9)
        h1 = vals[0] * s["direction"]
        assert f"{h1:+.4f}" in line
    assert "IC decay: mean rank IC" in html_path.read_text(encoding="utf-8")


def _survivors_without_value(bundle: MarketBundle) -> MarketBundle:
    """What the real krx-2018-2021 sample looks like: survivors only, no traded value / market cap."""
    stocks = bundle.stocks[bundle.stocks["delisted_date"].isna()].reset_index(drop=True)
    last = bundle.prices["date"].max()
    alive_at_end = set(bundle.prices.loc[bundle.prices["date"] == last, "code"])
    stocks = stocks[stocks["code"].isin(alive_at_end)].reset_index(drop=True)
    prices = bundle.prices[bundle.prices["code"].isin(set(stocks["code"]))].copy()
    prices["value"] = np.nan
    flows = bundle.flows[bundle.flows["code"].isin(set(stocks["code"]))].copy()
    return MarketBundle(source="files", stocks=stocks, prices=prices, index=bundle.index.copy(), flows=flows,
                        unavailable={"value": "the source has no traded value (거래대금)"})


def test_warnings_name_survivorship_and_unavailable_alphas(tmp_path: Path) -> None:
    home = store_bundle(tmp_path / "home", _survivors_without_value(synthetic_bundle()))
    res = run_daily(home, DailyConfig(alphas="1,4,5,41,44", top_k=4, picks=3))
    md = out.report_paths(home, res.date)[0].read_text(encoding="utf-8")
    warnings = md.split("## Warnings")[1].split("## Method")[0]
    assert "Survivorship" in warnings
    assert re.search(r"2 alpha\(s\) unavailable.*alpha_005, alpha_041.*vwap", warnings), warnings
    assert "`value` is not in the stored data" in warnings
    sel = pd.read_csv(out.run_dir(home, res.date) / "rank_window.csv")
    assert not sel["variant"].str.startswith(("alpha_005", "alpha_041")).any()  # never substituted
