"""Compiled engine == plain interpreter for every catalogue alpha on KRX-like panels (DESIGN §3.2, Ties).

The panels (:mod:`tests.alpha.krx_like_panel`) carry what real KRX data has and random floats do not:
tick prices, integer volumes and value, halts, limit-locked days, flat stretches, zero-volume days and
codes with a few weeks of history. There ties are everywhere, so float noise that breaks a tie the
formula has (a 2-day correlation a few ulps from 1, a windowed sum of identical windows differing in the
last bit) changes ``rank``/``ts_rank`` outputs wholesale. Nothing is wrapped or snapped here: the fast
kernels through the compiled DAG must agree with ``REFERENCE_OPS`` through the AST walk on at least
99.99 % of the cells of every alpha (relative tolerance 1e-9, absolute 1e-12 for values near zero,
NaN == NaN), over all seeds together.
"""

from __future__ import annotations

import numpy as np
import pytest

from lasps.alpha.catalogue import get_catalogue
from lasps.alpha.engine import AlphaSet, compute, interpret
from lasps.data.panel import Panel

from .krx_like_panel import make_krx_like_panel

CATALOGUE = get_catalogue()
NAMES = list(CATALOGUE)
SEEDS = (0, 1, 2)
MIN_AGREEMENT = 0.9999
RTOL, ATOL = 1e-9, 1e-12


@pytest.fixture(scope="module")
def runs() -> list[tuple[int, Panel, AlphaSet]]:
    out = []
    for seed in SEEDS:
        panel = make_krx_like_panel(T=300, N=20, seed=seed)
        out.append((seed, panel, compute(panel, NAMES)))
    return out


def test_catalogue_has_the_106_alphas() -> None:
    assert len(NAMES) == 106


def test_panel_is_krx_like() -> None:
    p = make_krx_like_panel(T=300, N=20, seed=0)
    close, volume = p.field("close"), p.field("volume")
    ok = np.isfinite(close)
    assert np.array_equal(close[ok], np.round(close[ok]))  # integer KRW on ticks
    assert np.array_equal(volume[ok], np.round(volume[ok]))
    assert (volume[ok] == 0).any()  # zero-volume days
    halted = (~ok[:, :-3]).any(axis=0)
    assert halted.sum() >= 10 and not halted.all()  # two codes in three halt at some point
    listed = ok[:, -3:].sum(axis=0)
    assert (listed > 0).all() and (listed <= [12, 20, 40]).all()  # short histories
    flat = (np.diff(close, axis=0) == 0).sum()
    assert flat > 0.02 * ok.sum()  # flat stretches and locked days
    assert np.array_equal(make_krx_like_panel(T=300, N=20, seed=0).field("close"), close, equal_nan=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_compiled_equals_interpreter_on_krx_like_panels(name: str, runs: list[tuple[int, Panel, AlphaSet]]) -> None:
    spec = CATALOGUE[name]
    cells = agree = finite = 0
    first: str | None = None
    for seed, panel, result in runs:
        assert name in result, f"{name} unavailable on the KRX-like panel: {result.unavailable.get(name)}"
        got, ref = result[name], interpret(panel, spec)
        ok = np.isclose(got, ref, rtol=RTOL, atol=ATOL, equal_nan=True)
        cells += ok.size
        agree += int(ok.sum())
        finite += int(np.isfinite(ref).sum())
        if first is None and not ok.all():
            t, j = (int(v) for v in np.argwhere(~ok)[0])
            first = (f"seed {seed}, date {panel.dates[t]}, code {panel.codes[j]}: compiled {got[t, j]!r}, "
                     f"interpreter {ref[t, j]!r}")
    assert finite > 0, f"{name} is NaN everywhere on the KRX-like panels: the comparison would be vacuous"
    assert agree >= MIN_AGREEMENT * cells, (
        f"{name}: compiled == interpreter on {agree / cells:.4%} of {cells} cells (< {MIN_AGREEMENT:.2%}); "
        f"first difference at {first}"
    )
