"""A small KRX-like :class:`Panel` for the compiled-vs-interpreter tests (not a test module).

What makes KRX data hard for an alpha engine, on purpose: prices are integers on the KRX tick grid
(``round_to_tick``), volumes are integers, value is integer KRW, so exact ties are everywhere; stocks
halt (NaN rows), lock at the daily limit (open = high = low = close = the limit price), trade flat for
days (a constant close), trade nothing (volume 0, so vwap is NaN), and list late (a few codes have only
a couple of weeks of history). Sector groups are given so that the IndNeutralize alphas run too.
"""

from __future__ import annotations

import numpy as np

from lasps.data.panel import Panel
from lasps.krx.rules import price_limits, round_to_tick


def make_krx_like_panel(T: int = 300, N: int = 20, seed: int = 0, *, sectors: int = 4) -> Panel:
    """``(T, N)`` KRX-like panel (open/high/low/close/volume/value/market_cap, index ``1001``).

    Dates are weekdays from 2022-06-01, so both the pre-2023 KOSPI/KOSDAQ tick tables and the unified
    2023 table are in force on some rows; codes alternate KOSPI/KOSDAQ. Per code (seeded): one or two
    halts of 1-8 rows (two codes in three; every third code never halts, so that 250-day windows have
    values), limit-up/limit-down locked days (~1 %), flat stretches of 3-12 rows at an unchanged close
    (~2 % of starts), zero-volume days (~1 %); the last 3 codes list 12, 20 and 40 rows before the end
    (NaN before). Same ``seed`` -> identical panel.
    """
    rng = np.random.default_rng(seed)
    dates = np.busday_offset(np.datetime64("2022-06-01"), np.arange(T), roll="forward")
    markets = np.array(["KOSPI" if j % 2 == 0 else "KOSDAQ" for j in range(N)], dtype=object)
    close = np.full((T, N), np.nan)
    open_, high, low = close.copy(), close.copy(), close.copy()
    volume = np.zeros((T, N))
    value = np.zeros((T, N))
    market = rng.normal(0.0003, 0.012, T)
    for j in range(N):
        mkt = markets[j]
        base_volume = float(np.exp(rng.normal(11.0, 1.2)))
        prev = float(round_to_tick(rng.choice([900.0, 4_000.0, 18_000.0, 45_000.0, 120_000.0, 600_000.0])
                                   * rng.uniform(0.8, 1.2), dates[0], mkt))
        flat_left = 0
        for t in range(T):
            d = dates[t]
            lo_lim, up_lim = (float(v) for v in price_limits(prev, d, mkt))
            u = rng.random()
            if flat_left > 0 or u < 0.02:  # flat: nothing moves
                flat_left = flat_left - 1 if flat_left > 0 else int(rng.integers(2, 12))
                c = o = h = lo = prev
            elif u < 0.03:  # locked at a limit all day
                c = o = h = lo = up_lim if rng.random() < 0.5 else lo_lim
            else:
                r = market[t] + 0.02 * rng.standard_t(4)
                c = min(up_lim, max(lo_lim, float(round_to_tick(prev * np.exp(r), d, mkt, "nearest"))))
                o = min(up_lim, max(lo_lim, float(round_to_tick(prev * np.exp(rng.normal(0, 0.008)), d, mkt,
                                                                "nearest"))))
                h = min(up_lim, float(round_to_tick(max(o, c) * np.exp(abs(rng.normal(0, 0.01))), d, mkt, "up")))
                lo = max(lo_lim, float(round_to_tick(min(o, c) * np.exp(-abs(rng.normal(0, 0.01))), d, mkt, "down")))
            vol = 0.0 if rng.random() < 0.01 else float(np.round(base_volume * np.exp(rng.normal(0, 0.6))))
            close[t, j], open_[t, j], high[t, j], low[t, j] = c, o, h, lo
            volume[t, j] = vol
            # traded value: integer KRW at an average price between low and high
            value[t, j] = float(np.round(vol * (lo + (h - lo) * rng.uniform(0.3, 0.7))))
            prev = c
    missing = np.zeros((T, N), dtype=bool)
    for j in range(N):
        if j % 3 == 2:  # every third code never halts, so that 250-day windows have values
            continue
        for _ in range(int(rng.integers(1, 3))):
            start = int(rng.integers(0, T - 8))
            missing[start: start + int(rng.integers(1, 9)), j] = True
    for j, rows in zip(range(N - 3, N), (12, 20, 40), strict=True):
        missing[: T - rows, j] = True
    shares = rng.integers(1_000_000, 200_000_000, N).astype(np.float64)
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": volume, "value": value,
              "market_cap": close * shares}
    for arr in fields.values():
        arr[missing] = np.nan
    codes = np.array([f"{100000 + 11 * j:06d}" for j in range(N)], dtype=object)
    index = {"1001": np.round(2500.0 * np.exp(np.cumsum(market)), 2)}
    industry = rng.integers(0, sectors, N)
    return Panel(dates=dates, codes=codes, fields=fields, industry=industry, index=index, markets=markets)
