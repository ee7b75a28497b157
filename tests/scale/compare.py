"""Bit-for-bit comparisons of engine and research results (helpers, not a test module)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lasps.alpha.engine import AlphaSet
from lasps.research.evaluate import Evaluation
from lasps.research.walkforward import WalkForwardResult

EV_ARRAYS = ("ic", "long", "short", "turnover", "qmean", "n_alpha", "n_pairs", "market", "n_universe",
             "sample_rows")
APPROACH_ARRAYS = ("rows", "lo", "ls", "market", "turnover")


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bytes (NaN payloads included) — stricter than ``array_equal``."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_same_alphas(got: AlphaSet, want: AlphaSet) -> None:
    assert list(got) == list(want)
    assert got.unavailable == want.unavailable
    for name in want:
        assert same_bits(got[name], want[name]), name
        assert got[name].flags.writeable


def assert_same_evaluation(got: Evaluation, want: Evaluation) -> None:
    assert got.alphas == want.alphas and got.variants == want.variants
    assert got.unavailable == want.unavailable
    for f in EV_ARRAYS:
        assert same_bits(getattr(got, f), getattr(want, f)), f
    assert list(got.zranks) == list(want.zranks)
    for name in want.zranks:
        assert same_bits(got.zranks[name], want.zranks[name]), name


def assert_same_walk_forward(got: Sequence[WalkForwardResult], want: Sequence[WalkForwardResult]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.config == w.config
        assert g.selections == w.selections
        assert g.summary.equals(w.summary)
        assert list(g.approaches) == list(w.approaches)
        for name, a in w.approaches.items():
            for f in APPROACH_ARRAYS:
                assert same_bits(getattr(g.approaches[name], f), getattr(a, f)), (name, f)
