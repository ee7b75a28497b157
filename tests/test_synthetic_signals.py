"""``--signals none``: the null synthetic market (every planted strength 0, everything else equal)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lasps.cli.main import app
from lasps.data.sources.synthetic import SIGNAL_SETS, SyntheticConfig, config_for_signals, simulate_market
from lasps.errors import ConfigError

runner = CliRunner()


def test_none_zeroes_every_planted_strength_and_nothing_else() -> None:
    base = SyntheticConfig()
    none = config_for_signals("none")
    assert none.reversal_strength == none.divergence_strength == none.lowvol_strength == (0.0, 0.0)
    changed = {k for k in base.__dataclass_fields__ if getattr(base, k) != getattr(none, k)}
    assert changed == {"reversal_strength", "divergence_strength", "lowvol_strength"}
    assert config_for_signals("default") == base
    assert SIGNAL_SETS == ("default", "none")
    with pytest.raises(ConfigError) as exc:
        config_for_signals("weak")
    assert exc.value.where == "--signals"


def _reversal_ic(market) -> float:  # type: ignore[no-untyped-def]
    """Mean daily Spearman IC of -(C_t / C_{t-5} - 1) with the next session's return (eligible stocks)."""
    b = market.bundle
    st = b.stocks
    elig = st.loc[(st["kind"] == "stock") & st["market"].isin(["KOSPI", "KOSDAQ"]), "code"]
    p = b.prices[b.prices["code"].isin(elig)].sort_values(["code", "date"])
    p = p.assign(adj=(1 + p["change_ratio"]).groupby(p["code"]).cumprod())
    adj = p.pivot(index="date", columns="code", values="adj")
    ret = p.pivot(index="date", columns="code", values="change_ratio")
    sig = -(adj / adj.shift(5) - 1)
    fwd = ret.shift(-1)
    m = sig.notna() & fwd.notna()
    ic = sig.where(m).rank(axis=1).corrwith(fwd.where(m).rank(axis=1), axis=1, method="pearson")
    first_a = int(0.4 * len(adj))  # regime A: reversal strength +0.05 in the default market
    return float(ic.iloc[:first_a].mean())


def test_null_market_keeps_the_draws_and_removes_the_reversal_effect() -> None:
    default = simulate_market(150, 1.5, seed=11)
    null = simulate_market(150, 1.5, seed=11, config=config_for_signals("none"))
    # the same listings, halts and regimes: only the expected returns differ
    pd.testing.assert_frame_equal(default.bundle.stocks, null.bundle.stocks)
    pd.testing.assert_frame_equal(default.halts, null.halts)
    assert (default.regimes == null.regimes).all()
    assert not default.bundle.prices["close"].equals(null.bundle.prices["close"])
    assert _reversal_ic(default) > 0.03  # planted +0.05
    assert abs(_reversal_ic(null)) < 0.015  # nothing planted


def test_cli_init_signals(tmp_path: Path) -> None:
    home = tmp_path / "h"
    bad = runner.invoke(app, ["data", "init", "--stocks", "40", "--years", "0.5", "--signals", "weak"],
                        env={"LASPS_HOME": str(home)})
    assert bad.exit_code == 2
    assert "unknown signal set 'weak'" in bad.output and "--signals none" in bad.output
    assert not home.exists()  # nothing written
    ok = runner.invoke(app, ["data", "init", "--stocks", "40", "--years", "0.5", "--signals", "none"],
                       env={"LASPS_HOME": str(home)})
    assert ok.exit_code == 0, ok.output
    from lasps.data.store import MarketStore

    with MarketStore(home, read_only=True) as store:
        assert '"signals": "none"' in store.last_run("init")[1]
    again = runner.invoke(app, ["data", "init", "--stocks", "40", "--years", "0.5"],
                          env={"LASPS_HOME": str(home)})
    assert again.exit_code == 2 and "different load" in again.output  # a null store is not a default one
