"""Security classification and universe membership (DESIGN §2.4).

Classification decides *what a listing is* (common stock, preferred share, ETF, ETN, SPAC, REIT, …)
from its code and name. ETF codes are six digits like stocks (KODEX 200 is ``069500``), so
``code.isdigit()`` says nothing about ETF-ness — the work log's ETF leak. We classify by the source's
own security type when it gives one, else by issuer brand names and name patterns.

Membership is decided **point in time**: a code is in the universe on date t only using data known at
the close of t (listed, enough history, market-cap rank on that day), so there is no survivorship bias
by construction.
"""

from __future__ import annotations

import re

import numpy as np

from lasps.errors import ConfigError

#: ETF brand prefixes used by Korean asset managers.
ETF_BRANDS: tuple[str, ...] = (
    "KODEX", "TIGER", "KBSTAR", "RISE", "ARIRANG", "HANARO", "KOSEF", "ACE", "SOL", "KINDEX",
    "TIMEFOLIO", "PLUS", "KIWOOM", "FOCUS", "TREX", "SMART", "MASTER", "히어로즈", "마이티", "파워",
    "BNK", "WOORI", "UNICORN", "에셋플러스", "VITA", "TRUSTON", "KoAct", "DAISHIN343", "1Q", "HK",
    "마이다스", "네비게이터", "대신343", "TIME", "KCGI", "WON",
)
#: An ETF name is a brand followed by a space (``KODEX 200``); ``파워로직스`` or ``BNK금융지주`` are not.
ETF_NAME = re.compile(r"^(" + "|".join(re.escape(b.upper()) for b in ETF_BRANDS) + r")\s")
ETN_PATTERN = re.compile(r"ETN|\bETN\b|레버리지 ETN|인버스 ETN")
SPAC_PATTERN = re.compile(r"스팩|SPAC|기업인수목적")
REIT_PATTERN = re.compile(r"(?<!메)리츠|REIT|부동산투자회사|인프라투융자")  # not 메리츠(화재/증권)
PREFERRED_NAME = re.compile(r"(우|우B|우C|\d우B|\d우|\(전환\)|우\(전환\))$")
CODE_PATTERN = re.compile(r"^[0-9A-Z]{6}$")


def is_valid_code(code: object) -> bool:
    """A KRX short code: exactly 6 characters, digits or upper-case letters (e.g. ``005930``, ``0000H0``)."""
    return isinstance(code, str) and bool(CODE_PATTERN.match(code))


def classify_kind(code: str, name: str, security_type: str | None = None) -> str:
    """One of ``stock, preferred, etf, etn, spac, reit, other``.

    ``security_type`` is the source's own label when it has one (``"ETF"``, ``"ETN"``, ``"주권"`` …)
    and wins over name heuristics.
    """
    if security_type:
        st = security_type.upper()
        for key, kind in (("ETF", "etf"), ("ETN", "etn"), ("ELW", "other"), ("SPAC", "spac"),
                          ("REIT", "reit"), ("PREF", "preferred")):
            if key in st:
                return kind
    nm = (name or "").strip()
    upper = nm.upper()
    if ETN_PATTERN.search(upper):
        return "etn"
    if ETF_NAME.match(upper) and not SPAC_PATTERN.search(nm):
        return "etf"
    if SPAC_PATTERN.search(nm):
        return "spac"
    if REIT_PATTERN.search(nm):
        return "reit"
    if (code and code[-1] != "0") or PREFERRED_NAME.search(nm):
        return "preferred"
    return "stock"


def parse_universe(spec: str) -> tuple[str, object]:
    """Parse a universe spec: ``default``, ``all``, ``kospi``, ``kosdaq``, ``top100``, or ``005930,000660``."""
    s = spec.strip()
    low = s.lower()
    if low in {"default", "all", "kospi", "kosdaq"}:
        return low, None
    m = re.fullmatch(r"top(\d+)", low)
    if m and int(m.group(1)) > 0:
        return "top", int(m.group(1))
    codes = [c.strip() for c in s.split(",") if c.strip()]
    if codes and all(is_valid_code(c) for c in codes):
        return "codes", codes

    raise ConfigError(
        f"unknown universe {spec!r}",
        where="--universe",
        fix="use default, all, kospi, kosdaq, topN (e.g. top100) or a comma-separated list of 6-character codes",
    )


def static_filter(kinds: np.ndarray, markets: np.ndarray, codes: np.ndarray, kind: str,
                  arg: object) -> np.ndarray:
    """``(N,)`` bool: codes eligible by type/market (no time dimension).

    ``default`` = common stocks on KOSPI/KOSDAQ (no ETF/ETN/ELW, SPAC, preferred, REIT, KONEX).
    """
    common = (kinds == "stock") & np.isin(markets, ["KOSPI", "KOSDAQ"])
    if kind == "all":
        return np.ones(len(codes), dtype=bool)
    if kind in {"default", "top"}:
        return common
    if kind == "kospi":
        return common & (markets == "KOSPI")
    if kind == "kosdaq":
        return common & (markets == "KOSDAQ")
    if kind == "codes":
        return np.isin(codes, np.asarray(arg, dtype=object))
    raise ValueError(kind)  # pragma: no cover


def history_mask(close: np.ndarray, min_history: int, prior_counts: np.ndarray | None = None) -> np.ndarray:
    """``(T, N)`` bool: traded today and at least ``min_history`` trading days with a close so far.

    ``prior_counts`` (N,) adds sessions stored before the panel's first row. Uses only rows ≤ t for
    row t (a cumulative count), so it is point in time.
    """
    traded = np.isfinite(close)
    count = np.cumsum(traded, axis=0)
    if prior_counts is not None:
        count = count + prior_counts[None, :]
    return traded & (count >= min_history)


def top_n_mask(market_cap: np.ndarray, eligible: np.ndarray, n: int) -> np.ndarray:
    """``(T, N)`` bool: the ``n`` largest eligible codes by that day's market cap (ties by column order)."""
    cap = np.where(eligible & np.isfinite(market_cap), market_cap, -np.inf)
    order = np.argsort(-cap, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(cap.shape[0])[:, None]
    ranks[rows, order] = np.arange(cap.shape[1])[None, :]
    return (ranks < n) & np.isfinite(cap)
