"""The ranking table: both directions derived from one pass, columns, counts, sorting."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.errors import ConfigError
from lasps.research.evaluate import EvalConfig, evaluate
from lasps.research.ranking import RANK_COLUMNS, rank_table
from tests.research.conftest import random_panel


@pytest.fixture(scope="module")
def table():
    panel, s = random_panel(T=300, N=50, seed=4, signal=0.7)
    rng = np.random.default_rng(1)
    ev = evaluate(panel, {"sig": s, "noise": rng.normal(size=panel.shape)}, EvalConfig(horizon=5))
    return ev, rank_table(ev)


def test_columns_counts_and_the_tried_line(table):
    _, rt = table
    assert list(rt.frame.columns) == list(RANK_COLUMNS)
    assert rt.n_variants == 4 and rt.n_alphas == 2
    assert rt.tried == "4 variants tried (2 alphas × 2 directions)"
    assert len(rt.frame) == 4 * 4
    assert set(rt.quantiles.columns) == {"variant", "split", *[f"q{i}" for i in range(1, 11)]}


def test_reverse_metrics_are_exact_mirrors(table):
    ev, rt = table
    f = rt.frame.set_index(["variant", "split"])
    for split in ("train", "val", "test", "all"):
        a, r = f.loc[("sig", split)], f.loc[("sig_rev", split)]
        assert r["ic_mean"] == pytest.approx(-a["ic_mean"])
        assert r["ic_ir"] == pytest.approx(-a["ic_ir"])
        assert r["ic_t_nw"] == pytest.approx(-a["ic_t_nw"])
        assert r["ic_std"] == pytest.approx(a["ic_std"])
        assert r["n_days"] == a["n_days"] and r["coverage"] == a["coverage"]
        rows = ev.splits.masks[split]
        ic = ev.ic[0, rows]
        ic = ic[np.isfinite(ic)]
        assert r["hit_rate"] == pytest.approx((ic < 0).mean())
        assert r["q_spread"] == pytest.approx(-a["q_spread"])       # continuous alpha: buckets mirror
    q = rt.quantiles.set_index(["variant", "split"])
    np.testing.assert_allclose(q.loc[("sig_rev", "all")].to_numpy(), q.loc[("sig", "all")].to_numpy()[::-1])


def test_top_sorts_and_validates(table):
    _, rt = table
    top = rt.top("all", by="ic_ir", n=2)
    assert list(top["variant"]) == ["sig", "noise"] or top.iloc[0]["variant"] == "sig"
    assert top["ic_ir"].is_monotonic_decreasing
    with pytest.raises(ConfigError):
        rt.top("holdout")
    with pytest.raises(ConfigError):
        rt.top("all", by="sortino")
    assert set(rt.market) == {"train", "val", "test", "all"}
