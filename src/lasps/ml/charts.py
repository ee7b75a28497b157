"""Candlestick + volume chart rasteriser: 224×224 RGB ``uint8`` images drawn straight into arrays.

No matplotlib, no PNG files in the hot path (DESIGN §8): a numba kernel paints each window's candles
into a preallocated ``(B, 224, 224, 3)`` array; the work log's 850k PNG files (and the filename
mismatch that silently fed black images to the model) are not needed — images are rendered on the
fly from the raw OHLCV window stored beside the features.

Layout (rows from the top, columns from the left; all in pixels of a 224×224 image)::

    rows   4 .. 163   price panel: candles of the window, y linear in price from the window's
                      highest high (row 4) to its lowest low (row 163)
    row    167        light-grey separator (200, 200, 200)
    rows 172 .. 219   volume panel: bars from row 219 up, height ∝ volume / window max volume
    background        white (255, 255, 255)

Candle i of an L-session window (oldest first) is centred on column ``int((i + 0.5) · 224 / L)``
(for L = 60: 1, 5, 9, 13, 16, …, 222); its body is ``2·half + 1`` columns wide with
``half = round(0.75 · 224 / L) // 2`` (3 columns for L = 60) and its wick one column (high to low).
A body or a bar is at least one pixel tall.

Colours — the **Korean convention** (KRX HTS/MTS): a rising candle (close > open) is **red**
(255, 0, 0), a falling one (close < open) **blue** (0, 0, 255), a flat one (close == open) black;
a volume bar takes the colour of its candle. (Western charts use the opposite green/red.)

Missing values: a candle with a non-finite or non-positive price is left blank (the dataset's windows
never contain one). Windows are drawn independently; the result is deterministic.

Speed: one image is a 150 KB fill plus ~60 short vertical runs; ``bench/ml_data_bench.py`` measures
images/s per core (target ≥ 2,000) beside mplfinance.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from numba import njit, prange

from lasps.files import atomic_write_bytes

SIZE = 224
PRICE_TOP, PRICE_BOTTOM = 4, 163
SEPARATOR_ROW = 167
VOL_TOP, VOL_BOTTOM = 172, 219
UP_COLOR = (255, 0, 0)
DOWN_COLOR = (0, 0, 255)
FLAT_COLOR = (0, 0, 0)
SEPARATOR_COLOR = (200, 200, 200)
BACKGROUND = 255


def candle_centers(length: int, size: int = SIZE) -> np.ndarray:
    """``(length,)`` int column of each candle's centre (see module docstring)."""
    return ((np.arange(length) + 0.5) * size / length).astype(np.int64)


def body_half_width(length: int, size: int = SIZE) -> int:
    """Body half-width in pixels (body = ``2·half + 1`` columns)."""
    return round(0.75 * size / length) // 2


@njit(cache=True)
def _draw(win, img, half):  # pragma: no cover - compiled
    L = win.shape[0]
    W = img.shape[1]
    flat = img.reshape(img.size)  # contiguous: one memset-like fill
    flat[:] = 255
    sep = flat[SEPARATOR_ROW * W * 3:(SEPARATOR_ROW + 1) * W * 3]
    sep[:] = 200
    hi = -np.inf
    lo = np.inf
    vmax = 0.0
    for i in range(L):
        o, h, lw, c, v = win[i, 0], win[i, 1], win[i, 2], win[i, 3], win[i, 4]
        if not (o > 0 and h > 0 and lw > 0 and c > 0):  # also False for NaN
            continue
        top = max(h, o, c)
        bot = min(lw, o, c)
        if top > hi:
            hi = top
        if bot < lo:
            lo = bot
        if v > vmax:
            vmax = v
    if hi == -np.inf:  # no drawable candle
        return
    span = hi - lo
    ph = PRICE_BOTTOM - PRICE_TOP
    vh = VOL_BOTTOM - VOL_TOP
    for i in range(L):
        o, h, lw, c, v = win[i, 0], win[i, 1], win[i, 2], win[i, 3], win[i, 4]
        if not (o > 0 and h > 0 and lw > 0 and c > 0):
            continue
        cx = int((i + 0.5) * W / L)
        if c > o:
            r, g, b = 255, 0, 0
        elif c < o:
            r, g, b = 0, 0, 255
        else:
            r, g, b = 0, 0, 0
        if span > 0:
            yh = PRICE_TOP + int(np.floor((hi - max(h, o, c)) / span * ph + 0.5))
            yl = PRICE_TOP + int(np.floor((hi - min(lw, o, c)) / span * ph + 0.5))
            yo = PRICE_TOP + int(np.floor((hi - o) / span * ph + 0.5))
            yc = PRICE_TOP + int(np.floor((hi - c) / span * ph + 0.5))
        else:
            yh = yl = yo = yc = PRICE_TOP + ph // 2
        for y in range(yh, yl + 1):  # wick
            img[y, cx, 0] = r
            img[y, cx, 1] = g
            img[y, cx, 2] = b
        y0 = min(yo, yc)
        y1 = max(yo, yc)
        x0 = max(cx - half, 0)
        x1 = min(cx + half, W - 1)
        for y in range(y0, y1 + 1):  # body
            for x in range(x0, x1 + 1):
                img[y, x, 0] = r
                img[y, x, 1] = g
                img[y, x, 2] = b
        if vmax > 0 and v > 0:
            hv = int(np.floor(v / vmax * vh + 0.5))
            if hv < 1:
                hv = 1
            for y in range(VOL_BOTTOM - hv, VOL_BOTTOM + 1):
                for x in range(x0, x1 + 1):
                    img[y, x, 0] = r
                    img[y, x, 1] = g
                    img[y, x, 2] = b


@njit(cache=True)
def _render_serial(wins, out, half):  # pragma: no cover - compiled
    for s in range(wins.shape[0]):
        _draw(wins[s], out[s], half)


@njit(cache=True, parallel=True)
def _render_parallel(wins, out, half):  # pragma: no cover - compiled
    for s in prange(wins.shape[0]):
        _draw(wins[s], out[s], half)


def render_charts(ohlcv: np.ndarray, out: np.ndarray | None = None, parallel: bool = False) -> np.ndarray:
    """Render candlestick + volume charts of many windows.

    Parameters
    ----------
    ohlcv:
        ``(B, L, 5)`` (or ``(L, 5)``) open, high, low, close (any price unit, e.g. adjusted KRW) and
        volume (shares) per session, oldest first. Any float dtype.
    out:
        Optional ``(B, 224, 224, 3)`` uint8 array to draw into.
    parallel:
        Spread the batch over numba threads. Keep False inside fork-started worker processes (e.g. a
        torch ``DataLoader``): GNU OpenMP is not fork-safe after a parallel kernel ran.

    Returns
    -------
    ``(B, 224, 224, 3)`` (or ``(224, 224, 3)``) uint8 RGB, rows top to bottom.
    """
    wins = np.ascontiguousarray(ohlcv, dtype=np.float64)
    single = wins.ndim == 2
    if single:
        wins = wins[None]
    if wins.ndim != 3 or wins.shape[2] != 5:
        raise ValueError(f"ohlcv must be (B, L, 5) or (L, 5), got {np.shape(ohlcv)}")
    B, L = wins.shape[0], wins.shape[1]
    if L < 1 or L > SIZE // 2:
        raise ValueError(f"window length must be 1..{SIZE // 2} sessions, got {L}")
    if out is None:
        out = np.empty((B, SIZE, SIZE, 3), dtype=np.uint8)
    elif out.shape != (B, SIZE, SIZE, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous uint8 of shape {(B, SIZE, SIZE, 3)}, got {out.dtype} {out.shape}")
    half = body_half_width(L)
    if parallel:
        _render_parallel(wins, out, half)
    else:
        _render_serial(wins, out, half)
    return out[0] if single else out


def render_chart(ohlcv: np.ndarray) -> np.ndarray:
    """One ``(L, 5)`` window -> ``(224, 224, 3)`` uint8 (see :func:`render_charts`)."""
    return render_charts(np.asarray(ohlcv)[None])[0]


def chart_grid(images: np.ndarray, ncols: int = 4, pad: int = 4, pad_value: int = 128) -> np.ndarray:
    """Tile ``(B, H, W, 3)`` images into one ``uint8`` grid image with ``pad`` pixels between them."""
    imgs = np.asarray(images, dtype=np.uint8)
    B, H, W, C = imgs.shape
    ncols = max(1, min(ncols, B))
    nrows = -(-B // ncols)
    grid = np.full((nrows * (H + pad) + pad, ncols * (W + pad) + pad, C), pad_value, dtype=np.uint8)
    for k in range(B):
        r, c = divmod(k, ncols)
        y, x = pad + r * (H + pad), pad + c * (W + pad)
        grid[y:y + H, x:x + W] = imgs[k]
    return grid


def encode_png(image: np.ndarray) -> bytes:
    """Encode an ``(H, W, 3)`` uint8 RGB array as PNG bytes (zlib only, no imaging library)."""
    img = np.ascontiguousarray(image, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) uint8, got {img.shape}")
    h, w, _ = img.shape
    raw = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    raw[:, 0] = 0  # filter type "None" on every scanline
    raw[:, 1:] = img.reshape(h, 3 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
            + chunk(b"IEND", b""))


def save_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an ``(H, W, 3)`` uint8 image to ``path`` as PNG; returns the path."""
    return atomic_write_bytes(path, encode_png(image))
