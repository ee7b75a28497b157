"""Cross-check with alphalens-reloaded (dev extra): same timing, same IC mean and quantile mean returns.

alphalens' forward return of date t is ``prices[t + h] / prices[t] - 1``; feeding it ``open`` shifted one
row up (``prices[t] = open[t + 1]``) gives exactly LASPS' next-open timing. alphalens forward-fills the
last price when the exit is missing (its last forward return is shorter than h), so the comparison uses
the dates where LASPS has a forward return.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lasps.research.evaluate import EvalConfig, evaluate
from lasps.research.quantiles import quantile_means
from tests.research.conftest import random_panel

al = pytest.importorskip("alphalens", reason="alphalens-reloaded is a dev-only cross-check")


@pytest.mark.parametrize("entry", ["open", "close"])
def test_ic_and_quantile_returns_match_alphalens(entry):
    T, N, Q, H = 80, 60, 5, 5
    panel, s = random_panel(T=T, N=N, seed=3, signal=1.0)
    dates = pd.DatetimeIndex(panel.dates)
    codes = list(panel.codes)
    factor = pd.DataFrame(s, index=dates, columns=codes).stack()
    factor.index.names = ["date", "asset"]
    if entry == "open":
        prices = pd.DataFrame(panel.open, index=dates, columns=codes).shift(-1)
    else:
        prices = pd.DataFrame(panel.close, index=dates, columns=codes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fd = al.utils.get_clean_factor_and_forward_returns(factor, prices, quantiles=Q, periods=(H,),
                                                           max_loss=1.0)
        al_ic = al.performance.factor_information_coefficient(fd).iloc[:, 0]
        al_q, _ = al.performance.mean_return_by_quantile(fd, by_date=True, demeaned=False)

    ev = evaluate(panel, {"s": s}, EvalConfig(horizon=H, entry=entry, quantiles=Q))
    ok = np.isfinite(ev.ic[0])
    common = dates[ok]
    al_ic = al_ic[al_ic.index.isin(common)]
    assert len(al_ic) == ok.sum()
    np.testing.assert_allclose(al_ic.to_numpy(), ev.ic[0][ok], atol=1e-12)
    assert al_ic.mean() == pytest.approx(np.nanmean(ev.ic[0]), abs=1e-12)
    al_q = al_q[al_q.index.get_level_values("date").isin(common)].groupby(level="factor_quantile").mean()
    np.testing.assert_allclose(al_q.iloc[:, 0].to_numpy(), quantile_means(ev.qmean[0], ok), atol=1e-12)
