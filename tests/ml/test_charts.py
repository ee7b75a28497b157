"""Chart rasteriser: shape, dtype, candle positions, Korean colours, volume bars, determinism, mplfinance."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from lasps.ml.charts import (
    PRICE_BOTTOM,
    PRICE_TOP,
    SIZE,
    VOL_BOTTOM,
    VOL_TOP,
    body_half_width,
    candle_centers,
    chart_grid,
    encode_png,
    render_chart,
    render_charts,
)


def _window(L: int = 60, seed: int = 3) -> np.ndarray:
    """Random-walk OHLCV with no doji: every candle is clearly up or down."""
    rng = np.random.default_rng(seed)
    close = 1000 * np.exp(np.cumsum(rng.normal(0, 0.03, L)))
    open_ = close * np.exp(rng.choice([-1, 1], L) * rng.uniform(0.01, 0.03, L))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    vol = rng.lognormal(10, 0.5, L)
    return np.stack([open_, high, low, close, vol], axis=1)


def _is_up(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return (r > 150) & (g < 120) & (b < 120)


def _is_down(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return (b > 150) & (r < 120) & (g < 120)


def test_shape_dtype_batch_and_determinism() -> None:
    w = np.stack([_window(seed=s) for s in range(5)])
    imgs = render_charts(w)
    assert imgs.shape == (5, SIZE, SIZE, 3) and imgs.dtype == np.uint8
    np.testing.assert_array_equal(imgs, render_charts(w))
    np.testing.assert_array_equal(imgs, render_charts(w.astype(np.float32), parallel=True))
    np.testing.assert_array_equal(imgs[2], render_chart(w[2]))
    out = np.zeros((5, SIZE, SIZE, 3), dtype=np.uint8)
    assert render_charts(w, out=out) is out
    with pytest.raises(ValueError):
        render_charts(np.zeros((3, 60, 4)))


def test_candle_positions_and_korean_colours() -> None:
    w = _window()
    img = render_chart(w)
    cx = candle_centers(60)
    assert cx[0] == 1 and cx[-1] == 222 and (np.diff(cx) >= 3).all()
    assert body_half_width(60) == 1
    up = w[:, 3] > w[:, 0]
    price = img[PRICE_TOP:PRICE_BOTTOM + 1]
    for i, x in enumerate(cx):
        col = price[:, x]
        assert (_is_up(col).any() if up[i] else _is_down(col).any()), i
        assert not (_is_down(col).any() if up[i] else _is_up(col).any()), i
    # the highest high touches the top row, the lowest low the bottom row of the price panel
    i_hi, i_lo = int(np.argmax(w[:, 1])), int(np.argmin(w[:, 2]))
    assert (price[0, cx[i_hi]] != 255).any() and (price[-1, cx[i_lo]] != 255).any()
    # background white; nothing drawn between candles' bodies outside their columns
    assert (img[0] == 255).all()


def test_relative_heights_follow_prices() -> None:
    w = _window(seed=8)
    img = render_chart(w)
    price = img[PRICE_TOP:PRICE_BOTTOM + 1]
    cx = candle_centers(60)
    tops = np.array([np.flatnonzero((price[:, x] != 255).any(axis=1))[0] for x in cx])
    # row of each candle's high, linear in price from the window max (row 0) to the window min
    hi, lo = w[:, 1].max(), w[:, 2].min()
    want = np.round((hi - w[:, 1]) / (hi - lo) * (PRICE_BOTTOM - PRICE_TOP))
    np.testing.assert_allclose(tops, want, atol=1)


def test_volume_bars() -> None:
    w = _window(seed=11)
    w[10, 4] = 0.0
    img = render_chart(w)
    vol = img[VOL_TOP:VOL_BOTTOM + 1]
    cx = candle_centers(60)
    heights = np.array([(vol[:, x] != 255).any(axis=1).sum() for x in cx])
    want = np.floor(w[:, 4] / w[:, 4].max() * (VOL_BOTTOM - VOL_TOP) + 0.5) + 1
    want[10] = 0
    np.testing.assert_array_equal(heights, want)
    up = w[:, 3] > w[:, 0]
    bottom = vol[-1]
    assert all(_is_up(bottom[x]) if up[i] else _is_down(bottom[x]) for i, x in enumerate(cx) if i != 10)


def test_doji_nan_and_constant_windows() -> None:
    w = _window(seed=2)
    w[5, 3] = w[5, 0]  # flat candle -> black
    w[7, :] = np.nan  # missing session -> blank column
    img = render_chart(w)
    cx = candle_centers(60)
    col5 = img[PRICE_TOP:PRICE_BOTTOM + 1, cx[5]]
    assert ((col5 == 0).all(axis=1)).any()
    assert (img[PRICE_TOP:PRICE_BOTTOM + 1, cx[7]] == 255).all()
    const = np.tile([100.0, 100.0, 100.0, 100.0, 5.0], (60, 1))
    img = render_chart(const)
    assert (img[PRICE_TOP:PRICE_BOTTOM + 1] != 255).any()
    blank = render_chart(np.full((60, 5), np.nan))
    assert (blank[PRICE_TOP:PRICE_BOTTOM + 1] == 255).all()


def test_png_encoder_and_grid() -> None:
    imgs = render_charts(np.stack([_window(seed=s) for s in range(3)]))
    grid = chart_grid(imgs, ncols=2, pad=4)
    assert grid.shape == (2 * (SIZE + 4) + 4, 2 * (SIZE + 4) + 4, 3)
    data = encode_png(grid)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # decode the single IDAT chunk back (filter type 0 on each scanline)
    i = data.index(b"IDAT")
    length = int.from_bytes(data[i - 4:i], "big")
    raw = np.frombuffer(zlib.decompress(data[i + 4:i + 4 + length]), dtype=np.uint8)
    raw = raw.reshape(grid.shape[0], 1 + 3 * grid.shape[1])
    assert (raw[:, 0] == 0).all()
    np.testing.assert_array_equal(raw[:, 1:].reshape(grid.shape), grid)


def _coarse(img: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """(up/down per candle, normalised vertical centre per candle) read back from an image."""
    colored = _is_up(img) | _is_down(img)
    cols = np.flatnonzero(colored.any(axis=0))
    rows = np.flatnonzero(colored.any(axis=1))
    x0, x1 = cols[0], cols[-1]
    y0, y1 = rows[0], rows[-1]
    ups, ys = [], []
    for i in range(L):
        a = round(float(x0 + i * (x1 - x0) / (L - 1)))  # candle i's expected column
        strip = slice(a, a + 1)
        if not colored[:, strip].any():  # fell into the gap between two bodies: look one column either side
            strip = slice(max(a - 1, 0), a + 2)
        n_up, n_down = _is_up(img[:, strip]).sum(), _is_down(img[:, strip]).sum()
        ups.append(n_up > n_down)
        r = np.flatnonzero(colored[:, strip].any(axis=1))
        ys.append(((r.min() + r.max()) / 2 - y0) / (y1 - y0) if len(r) else np.nan)
    return np.array(ups), np.array(ys)


def test_matches_mplfinance_coarsely() -> None:
    mpf = pytest.importorskip("mplfinance")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    w = _window(seed=21)
    df = pd.DataFrame(w, columns=["Open", "High", "Low", "Close", "Volume"],
                      index=pd.bdate_range("2024-01-01", periods=len(w)))
    mc = mpf.make_marketcolors(up="red", down="blue", edge="inherit", wick="inherit", volume="inherit")
    style = mpf.make_mpf_style(marketcolors=mc, facecolor="white", edgecolor="white", figcolor="white",
                               gridstyle="")
    fig, _ = mpf.plot(df, type="candle", style=style, volume=False, axisoff=True, figsize=(2.24, 2.24),
                      returnfig=True, tight_layout=True, scale_padding=0.0)
    fig.set_dpi(100)
    fig.canvas.draw()
    theirs = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    mine = render_chart(w)[PRICE_TOP:PRICE_BOTTOM + 1]
    truth = w[:, 3] > w[:, 0]
    up_m, y_m = _coarse(mine, 60)
    up_t, y_t = _coarse(theirs, 60)
    assert (up_m == truth).mean() >= 0.95  # body colours (Korean convention) read back where expected
    assert (up_t == truth).mean() >= 0.95  # mplfinance with up="red", down="blue"
    assert (up_m == up_t).mean() >= 0.95  # candle x-positions line up
    ok = np.isfinite(y_m) & np.isfinite(y_t)
    assert np.corrcoef(y_m[ok], y_t[ok])[0, 1] > 0.99  # relative heights agree
    assert np.nanmean(np.abs(y_m - y_t)) < 0.02
