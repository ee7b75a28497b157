"""A small random :class:`Panel` for the alpha-engine tests (not a test module)."""

from __future__ import annotations

import numpy as np

from lasps.data.panel import Panel


def make_panel(T: int = 300, N: int = 24, seed: int = 0, *, groups: int = 4, with_value: bool = True,
               with_industry: bool = True, with_index: bool = True, gaps: bool = True) -> Panel:
    """``(T, N)`` random-walk panel with open/high/low/close/volume/value/market_cap.

    Continuous random values (so exact ties are rare), ``groups`` industry groups, a KOSPI-like index
    ``1001``. With ``gaps``: three codes list late (leading NaN), two have a 5-day halt, one has a
    single missing day — the rest are complete, so even 250-day windows have values.
    """
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0003, 0.01, T)
    ret = market[:, None] + rng.standard_t(4, size=(T, N)) * 0.02
    close = np.exp(np.cumsum(ret, axis=0)) * rng.uniform(1_000, 100_000, N)
    open_ = close * np.exp(rng.normal(0.0, 0.01, (T, N)))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.01, (T, N))))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.01, (T, N))))
    volume = np.round(np.exp(rng.normal(11.0, 1.0, (T, N))))
    vwap = low + (high - low) * rng.uniform(0.2, 0.8, (T, N))
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": volume,
              "value": vwap * volume, "market_cap": close * rng.uniform(1e6, 1e8, N)}
    if gaps:
        missing = np.zeros((T, N), dtype=bool)
        missing[: T // 3, 0] = True
        missing[: T // 2, 1] = True
        missing[: 10, 2] = True
        missing[T // 2: T // 2 + 5, 3] = True
        missing[T - 30: T - 25, 4] = True
        missing[T // 4, 5] = True
        for arr in fields.values():
            arr[missing] = np.nan
    if not with_value:
        del fields["value"]
    dates = np.datetime64("2020-01-02") + np.arange(T)
    codes = np.array([f"{100000 + 7 * i:06d}" for i in range(N)], dtype=object)
    industry = rng.integers(0, groups, N) if with_industry else np.full(N, -1)
    index = {"1001": 2500.0 * np.exp(np.cumsum(market + rng.normal(0, 0.002, T)))} if with_index else {}
    return Panel(dates=dates, codes=codes, fields=fields, industry=industry, index=index)


def perturb_after(panel: Panel, t: int, seed: int = 1) -> Panel:
    """A copy of ``panel`` whose every value after row ``t`` is changed (and some made NaN)."""
    rng = np.random.default_rng(seed)
    fields = {}
    for name, arr in panel.fields.items():
        new = arr.copy()
        tail = new[t + 1:]
        tail *= rng.uniform(0.5, 1.5, tail.shape)
        tail[rng.random(tail.shape) < 0.05] = np.nan
        fields[name] = new
    index = {}
    for code, arr in panel.index.items():
        new = arr.copy()
        new[t + 1:] *= rng.uniform(0.8, 1.2, len(new) - t - 1)
        index[code] = new
    return Panel(dates=panel.dates, codes=panel.codes, fields=fields, industry=panel.industry, index=index,
                 unavailable=dict(panel.unavailable))
