"""SVG charts: well-formed, escaped, gaps and empty inputs handled."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from lasps.report.charts import Line, bar_chart, heatmap, line_chart, nice_ticks, price_chart, sparkline

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on malformed XML


def test_line_chart_draws_one_polyline_per_segment_and_escapes_labels() -> None:
    d = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-07-01"))
    v = np.linspace(1.0, 1.5, len(d))
    gap = v.copy()
    gap[50:60] = np.nan
    root = _parse(line_chart([Line("a <b> & c", d, v), Line("gappy", d, gap)], title="T <x>", ref=1.0, y_format="x",
                             shade=(d[10], d[40], "window")))
    lines = root.findall(f".//{SVG}polyline")
    assert len(lines) == 3  # one for the first series, two segments for the gappy one
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "a <b> & c" in texts and "T <x>" in texts  # escaped in the markup, intact when parsed


def test_empty_and_degenerate_inputs() -> None:
    root = _parse(line_chart([], title="nothing"))
    assert any("no data" in (t.text or "") for t in root.iter(f"{SVG}text"))
    one = np.array(["2025-01-02"], dtype="datetime64[D]")
    _parse(line_chart([Line("x", one, np.array([1.0]))], title="one point"))
    _parse(price_chart(one, np.array([np.nan]), np.array([np.nan]), title="no prices"))
    assert "<polyline" not in sparkline([np.nan, 1.0])
    assert "<polyline" in sparkline([1.0, 2.0, 1.5])


def test_heatmap_has_a_cell_per_pair() -> None:
    m = np.array([[1.0, -0.5, np.nan], [-0.5, 1.0, 0.2], [np.nan, 0.2, 1.0]])
    root = _parse(heatmap(["a", "b", "c"], m, title="corr"))
    cells = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(cells) == 9
    assert [c.find(f"{SVG}title").text for c in cells][1] == "a × b: -0.50"


def test_bar_chart_and_ticks() -> None:
    root = _parse(bar_chart(["x", "y"], np.array([0.3, -0.1]), title="bars"))
    assert len([r for r in root.iter(f"{SVG}rect")]) == 3  # background + 2 bars
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = nice_ticks(0.93, 1.87)
    step = ticks[1] - ticks[0]
    assert np.allclose(np.diff(ticks), 0.2)
    assert ticks[0] <= 0.93 < ticks[0] + step and ticks[-1] > 1.87 - step
