"""Features against hand computation on tiny arrays; window normalisation uses only the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lasps.data.panel import Panel
from lasps.ml.features import (
    FEATURE_INDEX,
    FEATURE_NAMES,
    MIN_SESSIONS,
    NUM_FEATURES,
    WINDOW,
    compute_features,
    gather_windows,
    normalize_windows,
    temporal_features,
)
from tests.ml.conftest import toy_panel


def _panel_from_close(close: np.ndarray, high: np.ndarray | None = None, low: np.ndarray | None = None,
                      volume: np.ndarray | None = None) -> Panel:
    c = np.asarray(close, dtype=float).reshape(-1, 1)
    T = len(c)
    h = c * 1.0 if high is None else np.asarray(high, float).reshape(-1, 1)
    lo = c * 1.0 if low is None else np.asarray(low, float).reshape(-1, 1)
    v = np.full((T, 1), 100.0) if volume is None else np.asarray(volume, float).reshape(-1, 1)
    dates = np.busday_offset(np.datetime64("2024-01-01"), np.arange(T), roll="forward")
    return Panel(dates=dates, codes=np.array(["000010"], dtype=object),
                 fields={"open": c.copy(), "high": h, "low": lo, "close": c, "volume": v})


def test_feature_contract() -> None:
    assert NUM_FEATURES == 28 and len(FEATURE_NAMES) == 28
    assert FEATURE_NAMES[:5] == ("open", "high", "low", "close", "volume")
    assert FEATURE_NAMES[-3:] == ("weekday", "month", "day")
    assert MIN_SESSIONS == 179


def test_moving_averages_by_hand() -> None:
    close = 100.0 + np.arange(130.0)  # 100, 101, ...
    f = compute_features(_panel_from_close(close))
    ma5 = f.to_panel("ma5")[:, 0]
    assert np.isnan(ma5[:4]).all()
    assert ma5[4] == pytest.approx((100 + 101 + 102 + 103 + 104) / 5)
    np.testing.assert_allclose(ma5[4:], close[4:] - 2.0, rtol=0, atol=1e-9)
    ma120 = f.to_panel("ma120")[:, 0]
    assert np.isnan(ma120[:119]).all()
    assert ma120[119] == pytest.approx(close[:120].mean())
    assert ma120[129] == pytest.approx(close[10:130].mean())
    # Bollinger: ma20 ± 2 population std
    up, mid = f.to_panel("bb_upper")[:, 0], f.to_panel("bb_middle")[:, 0]
    w = close[30:50]
    assert mid[49] == pytest.approx(w.mean())
    assert up[49] == pytest.approx(w.mean() + 2 * w.std(ddof=0))


def test_rsi14_known_sequence() -> None:
    # +2, -1 alternating: after 14 changes avg gain = 14/14 = 1, avg loss = 7/14 = 0.5 -> RSI = 100 - 100/3
    steps = np.array([2.0, -1.0] * 10)
    close = np.concatenate([[100.0], 100.0 + np.cumsum(steps)])
    rsi = compute_features(_panel_from_close(close)).to_panel("rsi14")[:, 0]
    assert np.isnan(rsi[:14]).all()
    assert rsi[14] == pytest.approx(100.0 - 100.0 / 3.0)
    ag, al = (1.0 * 13 + 2.0) / 14, (0.5 * 13 + 0.0) / 14  # the 15th change is +2 (Wilder smoothing)
    assert rsi[15] == pytest.approx(100.0 - 100.0 / (1.0 + ag / al))
    up = compute_features(_panel_from_close(100.0 + np.arange(20.0))).to_panel("rsi14")[:, 0]
    assert up[14:] == pytest.approx(100.0)
    flat = compute_features(_panel_from_close(np.full(20, 100.0))).to_panel("rsi14")[:, 0]
    assert flat[14:] == pytest.approx(50.0)


def test_ema_macd_match_pandas() -> None:
    p = toy_panel(T=120, N=2, seed=3)
    f = compute_features(p)
    for j in range(2):
        s = pd.Series(p.fields["close"][:, j])
        e12 = s.ewm(span=12, adjust=False, min_periods=12).mean()
        np.testing.assert_allclose(f.to_panel("ema12")[:, j], e12, rtol=1e-12, equal_nan=True)
        macd = s.ewm(span=12, adjust=False).mean() - s.ewm(span=26, adjust=False).mean()
        macd[:25] = np.nan
        sig = macd.ewm(span=9, adjust=False, min_periods=9).mean()
        np.testing.assert_allclose(f.to_panel("macd")[:, j], macd, rtol=1e-10, equal_nan=True)
        np.testing.assert_allclose(f.to_panel("macd_signal")[:, j], sig, rtol=1e-10, equal_nan=True)
        np.testing.assert_allclose(f.to_panel("macd_hist")[:, j], macd - sig, rtol=1e-8, atol=1e-9,
                                   equal_nan=True)


def test_atr14_and_obv_by_hand() -> None:
    rng = np.random.default_rng(5)
    close = 100 + np.cumsum(rng.normal(0, 1, 40))
    high, low = close + rng.uniform(0.5, 2, 40), close - rng.uniform(0.5, 2, 40)
    vol = rng.integers(10, 100, 40).astype(float)
    f = compute_features(_panel_from_close(close, high, low, vol))
    tr = [high[0] - low[0]] + [max(high[k] - low[k], abs(high[k] - close[k - 1]), abs(low[k] - close[k - 1]))
                               for k in range(1, 40)]
    atr = [np.nan] * 13 + [np.mean(tr[:14])]
    for k in range(14, 40):
        atr.append((atr[-1] * 13 + tr[k]) / 14)
    np.testing.assert_allclose(f.to_panel("atr14")[:, 0], atr, rtol=1e-12, equal_nan=True)
    obv = np.concatenate([[0.0], np.cumsum(np.sign(np.diff(close)) * vol[1:])])
    np.testing.assert_allclose(f.to_panel("obv")[:, 0], obv)


def test_temporal_features() -> None:
    t = temporal_features(np.array(["2024-01-01", "2024-02-29", "2025-12-31"], dtype="datetime64[D]"))
    np.testing.assert_allclose(t[0], [0.0, 1 / 12, 1 / 31])  # Monday 1 Jan
    np.testing.assert_allclose(t[1], [3 / 5, 2 / 12, 29 / 31])  # Thursday 29 Feb
    np.testing.assert_allclose(t[2], [2 / 5, 1.0, 1.0])  # Wednesday 31 Dec


def test_halted_sessions_are_skipped_not_filled() -> None:
    p = toy_panel(T=80, N=1, seed=1, flows=False)
    halted = p.fields["close"].copy()
    for name in ("open", "high", "low", "close", "volume"):
        p.fields[name][30:33] = np.nan
    f = compute_features(p)
    assert len(f.rows) == 77 and not np.isin(f.rows, [30, 31, 32]).any()
    # the features equal those of the series with the halted rows removed
    keep = np.isfinite(p.fields["close"][:, 0])
    q = Panel(dates=p.dates[keep], codes=p.codes, fields={k: v[keep] for k, v in p.fields.items()})
    g = compute_features(q)
    np.testing.assert_allclose(f.values[:, :25], g.values[:, :25], equal_nan=True)
    assert np.isfinite(halted).all()


def test_features_are_causal() -> None:
    p = toy_panel(T=200, N=2, seed=2)
    f = compute_features(p)
    q = toy_panel(T=200, N=2, seed=2)
    for name in q.fields:
        q.fields[name][150:] *= 1.7  # perturb the future
    g = compute_features(q)
    m = f.rows < 150
    np.testing.assert_array_equal(f.values[m], g.values[m])


def test_flows_missing_are_zero_with_mask() -> None:
    p = toy_panel(T=60, N=2, seed=4, flows=False)
    f = compute_features(p)
    assert not f.has_flows and not f.flow_ok.any()
    assert (f.values[:, FEATURE_INDEX["foreign_net"]:FEATURE_INDEX["foreign_holding_ratio"] + 1] == 0).all()
    q = toy_panel(T=60, N=2, seed=4)
    q.fields["institution_net"][10, 0] = np.nan
    g = compute_features(q)
    cell = g.cell_index()[10, 0]
    assert not g.flow_ok[cell] and g.flow_ok.sum() == len(g.flow_ok) - 1
    assert g.values[cell, FEATURE_INDEX["foreign_net"]] == 0.0
    i = g.cell_index()[11, 0]
    assert g.values[i, FEATURE_INDEX["foreign_inst_flow"]] == pytest.approx(
        q.fields["foreign_net"][11, 0] + q.fields["institution_net"][11, 0])


def test_complete_windows_need_179_sessions() -> None:
    f = compute_features(toy_panel(T=200, N=1, seed=6))
    assert np.flatnonzero(f.complete)[0] == MIN_SESSIONS - 1


def test_normalisation_by_hand_and_window_only() -> None:
    f = compute_features(toy_panel(T=260, N=2, seed=7))
    ends = np.flatnonzero(f.complete)[[0, 17, -1]]
    win, raw, fmask = gather_windows(f, ends)
    assert win.shape == (3, WINDOW, NUM_FEATURES) and win.dtype == np.float32
    assert raw.shape == (3, WINDOW, 5) and fmask.tolist() == [1, 1, 1]
    for s, g in enumerate(ends):
        src = f.values[g - WINDOW + 1:g + 1]
        np.testing.assert_array_equal(win[s], normalize_windows(src))
        np.testing.assert_array_equal(raw[s], src[:, :5].astype(np.float32))
        c = src[-1, FEATURE_INDEX["close"]]
        i = FEATURE_INDEX
        np.testing.assert_allclose(win[s][:, i["ma20"]], src[:, i["ma20"]] / c - 1, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(win[s][:, i["macd"]], src[:, i["macd"]] / c, rtol=1e-5, atol=1e-7)
        vol = src[:, i["volume"]]
        np.testing.assert_allclose(win[s][:, i["volume"]], vol / vol.mean() - 1, rtol=1e-5, atol=1e-6)
        obv = src[:, i["obv"]]
        np.testing.assert_allclose(win[s][:, i["obv"]], (obv - obv[0]) / vol.sum(), rtol=1e-5, atol=1e-6)
        fl = src[:, i["foreign_net"]]
        np.testing.assert_allclose(win[s][:, i["foreign_net"]], fl / np.abs(fl).mean(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(win[s][:, i["rsi14"]], src[:, i["rsi14"]] / 100, rtol=1e-6)
        assert win[s][-1, i["close"]] == 0.0
    # only the window matters: scramble everything outside one window
    g = int(ends[1])
    before = win[1].copy()
    f.values[: g - WINDOW + 1] = np.random.default_rng(0).normal(size=f.values[: g - WINDOW + 1].shape)
    f.values[g + 1:] = 123.0
    np.testing.assert_array_equal(gather_windows(f, np.array([g]))[0][0], before)
    # and a constant price level factor (a split adjustment) leaves the window unchanged
    src = f.values[g - WINDOW + 1:g + 1].copy()
    scaled = src.copy()
    for name in ("open", "high", "low", "close", "ma5", "ma20", "ma60", "ma120", "ema12", "ema26", "macd",
                 "macd_signal", "macd_hist", "bb_upper", "bb_middle", "bb_lower", "atr14"):
        scaled[:, FEATURE_INDEX[name]] *= 0.5
    for name in ("volume", "obv"):
        scaled[:, FEATURE_INDEX[name]] *= 2.0
    np.testing.assert_allclose(normalize_windows(scaled), normalize_windows(src), rtol=1e-6, atol=1e-6)
