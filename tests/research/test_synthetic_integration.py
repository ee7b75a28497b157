"""End to end on the built-in synthetic market: the planted, regime-dependent reversal is found by
``eval rank``, fades out of sample, and choosing with hindsight looks better than the walk-forward."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.research.test_cli_eval import invoke

synthetic = pytest.importorskip("lasps.data.sources.synthetic")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synth_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lasps.alpha.store import write_alpha
    from lasps.data.panel_loader import load_panel
    from lasps.data.store import MarketStore

    home = tmp_path_factory.mktemp("synth") / "home"
    home.mkdir()
    bundle = synthetic.generate_synthetic(stocks=300, years=4, seed=5)
    with MarketStore(home) as store:
        store.write_bundle(bundle, kind="init", replace=True)
    panel = load_panel(home=home)
    c = panel.close
    planted = np.full(c.shape, np.nan)
    planted[5:] = -(c[5:] / c[:-5] - 1)         # the synthetic market's planted 5-day reversal
    write_alpha(home, "planted_reversal", planted, panel, {"name": "planted_reversal"})
    rng = np.random.default_rng(0)
    for i in range(6):
        write_alpha(home, f"noise_{i}", rng.normal(size=c.shape), panel, {"name": f"noise_{i}"})
    return home


def test_rank_finds_the_planted_signal_and_it_fades_out_of_sample(synth_home):
    result = invoke(synth_home, "rank", "--split", "all", "--top", "5")
    assert result.exit_code == 0, result.output
    assert "14 variants tried (7 alphas × 2 directions)" in result.output
    assert "60/20/20" in result.output          # the synthetic market starts in late 2022
    rank = pd.read_csv(synth_home / "research" / "rank_latest.csv").set_index(["variant", "split"])
    all_ = rank.xs("all", level="split").sort_values("ic_ir", ascending=False)
    assert all_.index[0] == "planted_reversal"
    assert all_.loc["planted_reversal", "ic_t_nw"] > 3
    train = rank.xs("train", level="split").sort_values("ic_ir", ascending=False)
    assert train.index[0] == "planted_reversal"
    # the regime turns at the end of the sample: the in-sample winner does worse out of sample
    assert rank.loc[("planted_reversal", "test"), "ic_mean"] < rank.loc[("planted_reversal", "train"), "ic_mean"]


def test_walkforward_shows_the_in_sample_gap(synth_home):
    result = invoke(synth_home, "walkforward", "--top", "1", "--metric", "ls_sharpe")
    assert result.exit_code == 0, result.output
    assert "in-sample minus walk-forward" in result.output
    s = pd.read_csv(synth_home / "research" / "walkforward_latest.csv").set_index("approach")
    assert s.loc["in_sample", "ls_ann"] > s.loc["walk_forward", "ls_ann"]
    assert s.loc["in_sample_test", "ls_ann"] > s.loc["walk_forward_test", "ls_ann"]
    assert s.loc["in_sample_test", "ls_ann"] > s.loc["train_test", "ls_ann"]
