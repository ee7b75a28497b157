"""The embedded synthetic KRX market (DESIGN §2.6; full description in ``docs/synthetic-market.md``).

:func:`generate_synthetic` builds a :class:`~lasps.data.bundle.MarketBundle` (raw prices, ``price_basis
= 'raw'``) that behaves like KOSPI/KOSDAQ closely enough to exercise every LASPS module offline:

- listings of every kind (common stocks on KOSPI/KOSDAQ/KONEX over all 13 LASPS sectors, preferred
  shares, ETFs, ETNs, SPACs, REITs), IPOs and delistings inside the period, trading halts (missing
  rows), splits and reverse splits (raw jumps; ``change_ratio`` is quoted against the exchange's
  adjusted base price, so the store derives the adjustment exactly as DESIGN §2.3 describes);
- log returns from a factor model: a market factor with GARCH(1,1) volatility and Student-t shocks,
  one factor per KRX sector index code, a KOSDAQ style factor and Student-t idiosyncratic noise whose
  scale follows the market volatility;
- every price on the KRX tick grid and inside the daily limit band of its base price
  (:mod:`lasps.krx.rules`); OHLC consistent; VWAP in [low, high]; value = VWAP · volume;
  lognormal, autocorrelated volume that rises with |return|; shares and market cap; investor flows;
  cap-weighted KOSPI (1001) and KOSDAQ (2001) indices;
- **planted, regime-dependent signals** (see :class:`SyntheticConfig` and :func:`regime_labels`):

  ========== ============================================= ====================== =================
  name        signal at the close of day t                  strength in regime A   in regime B
  ========== ============================================= ====================== =================
  reversal    ``-(C_t / C_{t-5} - 1)``                      +0.05                  -0.025 (reverses)
  divergence  ``-corr(C, V, 10)`` over rows t-9..t          0 (absent)             +0.05
  lowvol      ``-std(R, 20)`` over rows t-19..t (ddof 1)    +0.015                 +0.015
  ========== ============================================= ====================== =================

  C is the split-adjusted close, V the split-adjusted volume, R the close-to-close return. Each
  signal is z-scored across the eligible common stocks (KOSPI/KOSDAQ, kind ``stock``) trading that
  day, clipped to ±3 (missing → 0), and ``strength · σ_i · h_{t+1} · z`` is added to the stock's log
  return of day t+1 (σ_i its idiosyncratic daily volatility, h the volatility-clustering multiplier).
  The measured daily rank IC with the next-day return is ≈ strength (reversal, divergence; divergence
  keeps ~+0.01 in A through its 0.16 correlation with reversal; lowvol measures ~0.025 because
  volatility drag adds ~0.01 to rank IC — see the docs). Regimes are blocks of the
  session range: A on [0, 40 %), B on [40 %, 60 %), A on [60 %, 80 %), B on [80 %, 100 %] — so a
  signal chosen on the first 80 % (mostly A) meets regime B out of sample.

Everything is deterministic: the same arguments give identical tables (``numpy.random.Generator``
over ``PCG64`` streams spawned from ``seed``; numba kernels without fast-math; no wall-clock input).
The simulation is one numba pass over the ``(T, N)`` grid in chunks of sessions, with the random
inputs of each chunk drawn from numpy; 4,000 listings × 12 years take ~7 s and 1.5 GiB on 2 cores
(``bench/synthetic_bench.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numba
import numpy as np
import pandas as pd
import pyarrow as pa

from lasps.data.bundle import MarketBundle
from lasps.data.schema import FLOW_COLUMNS, INDEX_COLUMNS, PRICE_COLUMNS, STOCK_COLUMNS
from lasps.data.sectors import KRX_SECTOR_INDEX, NUM_SECTORS
from lasps.dates import parse_date
from lasps.errors import ConfigError
from lasps.krx import rules as krx_rules
from lasps.krx.calendar import sessions
from lasps.krx.rules_nb import limits_nb, round_down_nb, round_nearest_nb, round_up_nb

TRADING_DAYS = 252
MIN_STOCKS = 30
MAX_STOCKS = 8_000  #: the ETF/SPAC/REIT name templates run out beyond this

#: Relative frequency of each KOSPI sector index among KOSPI common stocks (counts from the work log's
#: pykrx snapshot, 2026; ``1021`` keeps the non-bank/broker/insurer financials and holding companies).
KOSPI_SECTOR_WEIGHTS: dict[str, float] = {
    "1005": 37, "1006": 29, "1007": 19, "1008": 103, "1009": 49, "1010": 21, "1011": 61, "1012": 31,
    "1013": 68, "1014": 8, "1015": 60, "1016": 63, "1017": 10, "1018": 29, "1019": 24, "1020": 5,
    "1021": 70, "1022": 10, "1024": 18, "1025": 12, "1026": 34, "1027": 8, "1045": 26, "1046": 26,
    "1047": 13,
}
#: Relative frequency of each KOSDAQ sector index among KOSDAQ (and KONEX) common stocks: 제조 (2024)
#: holds ~2/3 of KOSDAQ, as in the work log's pykrx snapshot (1,115 of ~1,700).
KOSDAQ_SECTOR_WEIGHTS: dict[str, float] = {
    "2024": 1115, "2012": 140, "2027": 101, "2026": 28, "2031": 30, "2152": 40, "2066": 35, "2072": 40,
    "2070": 25, "2068": 15, "2065": 20, "2056": 12, "2029": 10, "2075": 15, "2151": 5, "2037": 12,
    "2074": 10, "2058": 8, "2062": 5, "2063": 10, "2067": 6, "2077": 30, "2153": 3,
}

#: Fine sector codes with one return factor each (every KRX sector index code LASPS knows).
FACTOR_CODES: tuple[str, ...] = tuple(sorted(KRX_SECTOR_INDEX))


@dataclass(frozen=True)
class SyntheticConfig:
    """Every parameter of the generative model. Units: returns and volatilities are per session
    (``daily``) or per year (``annual``, converted with 252 sessions); prices KRW.

    The defaults give a market whose planted signals have daily rank IC of about 0.02–0.05.
    """

    # -- composition (fractions of all listings; the rest are common stocks) ------------------------
    frac_preferred: float = 0.04  #: preferred shares (code = parent's with last digit 5, name + '우')
    frac_etf: float = 0.045  #: ETFs (KODEX/TIGER/… names, six-digit codes like stocks)
    frac_etn: float = 0.01  #: ETNs (names end in 'ETN')
    frac_spac: float = 0.025  #: SPACs (names contain '스팩'), listed 1.5–3 years, then delisted
    frac_reit: float = 0.01  #: REITs (names end in '리츠')
    frac_konex: float = 0.01  #: share of common stocks on KONEX (excluded from the default universe)
    frac_kospi: float = 0.35  #: share of the remaining common stocks on KOSPI (rest KOSDAQ)

    # -- life cycle -----------------------------------------------------------------------------------
    frac_ipo: float = 0.22  #: common stocks whose listing day falls inside the period
    delist_rate_annual: float = 0.025  #: delisting hazard of common stocks (independent of returns)
    halt_rate_annual: float = 0.04  #: trading-halt events per listing-year (not ETF/ETN)
    halt_log_mean: float = 1.0  #: halt length ~ 1 + floor(lognormal(halt_log_mean, halt_log_sd)) sessions
    halt_log_sd: float = 1.0
    halt_max_days: int = 120
    split_rate_annual: float = 0.02  #: random (forward) splits per stock-year at prices >= split_min_price
    split_min_price: float = 20_000.0
    split_high_price: float = 400_000.0  #: above this close a split is likely ...
    split_high_prob: float = 0.01  #: ... with this extra daily probability
    reverse_low_price: float = 1_000.0  #: below this close a 10:1 reverse split is likely ...
    reverse_low_prob: float = 0.003  #: ... with this daily probability (at most once per listing)

    # -- market factor: GARCH(1,1), Student-t shocks, slow reversion of the log level to its trend ----
    market_drift_annual: float = 0.05
    market_vol_annual: float = 0.18  #: unconditional volatility
    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    market_t_dof: float = 5.0
    market_half_life_years: float = 1.0  #: keeps index levels realistic; a (weak) market-timing effect
    vol_cluster_share: float = 0.6  #: h_t = (1 - share) + share · σ_m,t / σ̄_m scales all other noise

    # -- cross-section --------------------------------------------------------------------------------
    beta_mean: float = 1.0  #: market beta ~ N(mean, sd) clipped to [0.2, 2.2]
    beta_sd: float = 0.3
    sector_loading_sd: float = 0.25  #: sector-factor loading ~ N(1, sd) clipped to [0.3, 1.8]
    kosdaq_loading_sd: float = 0.3  #: KOSDAQ-factor loading of KOSDAQ/KONEX stocks ~ N(1, sd), [0.2, 2.0]
    sector_vol_annual: float = 0.12  #: one factor per KRX sector index code
    kosdaq_vol_annual: float = 0.09  #: KOSDAQ style factor (loading ~ N(1, 0.3) for KOSDAQ stocks)
    factor_t_dof: float = 5.0
    idio_vol_kospi_annual: float = 0.30  #: median idiosyncratic volatility
    idio_vol_kosdaq_annual: float = 0.45
    idio_vol_dispersion: float = 0.35  #: log-sd of idiosyncratic volatility across stocks
    idio_vol_cap_slope: float = 0.2  #: log idio vol falls by this per log-sd of market cap above median
    idio_vol_bounds_annual: tuple[float, float] = (0.12, 0.9)
    idio_t_dof: float = 4.0  #: Student-t degrees of freedom of idiosyncratic shocks (fat tails)

    # -- price and size -------------------------------------------------------------------------------
    price_median: float = 9_000.0  #: initial / offer price, lognormal
    price_log_sd: float = 1.0
    price_min: float = 1_000.0
    price_max: float = 400_000.0
    cap_median_kospi: float = 4e11  #: market cap, lognormal (KRW)
    cap_median_kosdaq: float = 1.2e11
    cap_log_sd_kospi: float = 1.4
    cap_log_sd_kosdaq: float = 1.0
    konex_cap_log_discount: float = 1.5  #: KONEX caps are exp(-discount) times the KOSDAQ draw
    ipo_pop_mean: float = 0.2  #: listing-day open = offer · exp(N(mean, sd)), within 90–200 % of offer
    ipo_pop_sd: float = 0.3

    # -- intraday shape and volume --------------------------------------------------------------------
    gap_share: float = 0.35  #: open = base · exp(gap_share · r + gap_sd · s · z)
    gap_sd: float = 0.25
    range_scale: float = 0.35  #: high = max(open, close) · exp(range_scale · s · Exp(1)), low likewise
    turnover_kospi: float = 0.003  #: median daily turnover (volume / shares)
    turnover_kosdaq: float = 0.01
    turnover_log_sd: float = 0.7
    turnover_cap_slope: float = 0.2  #: log turnover falls by this per log-unit of cap above the median
    volume_ar: float = 0.7  #: AR(1) coefficient of log-volume shocks
    volume_sd: float = 0.45
    volume_abs_return: float = 0.35  #: log-volume rises by this per unit of |r| / s (capped at 6)

    # -- investor flows (fractions of the day's value) -------------------------------------------------
    flow_foreign_beta: float = 0.06  #: foreign_net / value = beta · tanh(r / s) + sd · z
    flow_foreign_sd: float = 0.08
    flow_inst_beta: float = 0.03
    flow_inst_sd: float = 0.06
    flow_other_sd: float = 0.02  #: other corporations; individual = -(foreign + institution + other)

    # -- indices --------------------------------------------------------------------------------------
    kospi_median_level: float = 2_500.0  #: index base chosen so that the median close is this
    kosdaq_median_level: float = 850.0

    # -- planted signals and regimes (see module docstring) -------------------------------------------
    regime_breaks: tuple[float, ...] = (0.4, 0.6, 0.8)  #: fractions of the sessions where regimes switch
    first_regime: str = "A"
    reversal_lookback: int = 5
    reversal_strength: tuple[float, float] = (0.05, -0.025)  #: (regime A, regime B)
    divergence_window: int = 10
    divergence_strength: tuple[float, float] = (0.0, 0.05)
    lowvol_window: int = 20
    lowvol_strength: tuple[float, float] = (0.015, 0.015)
    signal_clip: float = 3.0

    chunk_sessions: int = 128  #: sessions simulated per numba call (bounds the memory of random inputs)


@dataclass
class SyntheticMarket:
    """A generated market and its ground truth (for tests, demos and docs).

    Attributes
    ----------
    bundle:
        The tables handed to the store.
    dates:
        ``(T,)`` ``datetime64[D]`` sessions.
    regimes:
        ``(T,)`` regime label (``'A'``/``'B'``) of each session; the planted effect realised in the
        return of session t uses the strengths of ``regimes[t]``.
    splits:
        One row per planted split / reverse split: ``code, date, share_multiplier`` (new shares per
        old share: 2, 5, 10 or 0.1), ``prev_close``, ``base_price`` (the exchange's adjusted base,
        on tick), ``ratio = base_price / prev_close`` (what the store derives).
    halts:
        One row per halt: ``code, start, end`` (first and last halted session), ``sessions``.
    config:
        The parameters used.
    """

    bundle: MarketBundle
    dates: np.ndarray
    regimes: np.ndarray
    splits: pd.DataFrame
    halts: pd.DataFrame
    config: SyntheticConfig = field(default_factory=SyntheticConfig)


#: Names accepted by ``lasps data init --signals``: ``default`` plants the effects of :class:`SyntheticConfig`,
#: ``none`` sets every planted strength to 0 and changes nothing else (a null market for formula mining).
SIGNAL_SETS: tuple[str, ...] = ("default", "none")


def config_for_signals(signals: str, base: SyntheticConfig | None = None) -> SyntheticConfig:
    """``base`` (default :class:`SyntheticConfig`) with the planted signals of ``signals`` (see
    :data:`SIGNAL_SETS`). ``none`` zeroes the reversal, divergence and low-volatility strengths in both
    regimes; every random stream is drawn exactly as before, so the same seed gives the same market
    except for the planted effects (and what follows from them: prices, splits at price thresholds)."""
    cfg = base or SyntheticConfig()
    if signals == "default":
        return cfg
    if signals == "none":
        return replace(cfg, reversal_strength=(0.0, 0.0), divergence_strength=(0.0, 0.0),
                       lowvol_strength=(0.0, 0.0))
    raise ConfigError(f"unknown signal set {signals!r}", where="--signals",
                      fix="use --signals default (planted effects) or --signals none (null market)")


def regime_labels(n_sessions: int, config: SyntheticConfig | None = None) -> np.ndarray:
    """``(n_sessions,)`` regime labels: session t is in block ``k = #{b in regime_breaks : b <= t / n}``;
    even blocks get ``first_regime``, odd blocks the other one."""
    cfg = config or SyntheticConfig()
    other = "B" if cfg.first_regime == "A" else "A"
    u = np.arange(n_sessions) / max(n_sessions, 1)
    block = np.searchsorted(np.asarray(cfg.regime_breaks, dtype=np.float64), u, side="right")
    return np.where(block % 2 == 0, cfg.first_regime, other)


def generate_synthetic(stocks: int, years: float, seed: int, end: str = "2026-10-30",
                       config: SyntheticConfig | None = None) -> MarketBundle:
    """Generate the synthetic KRX market: ``stocks`` listings over the sessions of the ``years`` before
    ``end`` (inclusive). Returns the bundle (``source='synthetic'``); see :func:`simulate_market` for
    the ground truth (planted splits, halts, regimes)."""
    return simulate_market(stocks, years, seed, end, config).bundle


# ==================================================================================================
# listings
# ==================================================================================================
_NAME_HEAD = (
    "대한", "한국", "동양", "삼화", "세진", "우진", "태영", "한일", "대성", "신영", "경동", "동원", "한솔",
    "국제", "성신", "영풍", "서울", "부산", "대림", "일진", "극동", "삼영", "화승", "조광", "동일", "한양",
    "금호", "대창", "세원", "코리아", "아이", "제이", "케이", "디와이", "티에스", "씨엔", "유니", "나노",
    "광명", "진흥", "삼천리", "동국", "한신", "신성", "율촌", "대호", "청호", "남해", "서해", "백산", "오성",
    "태광", "한빛", "푸른", "새한", "상신", "영진", "동화", "삼익", "한미",
)
_NAME_MID = ("", "글로벌", "씨앤", "디지털", "그린", "메디", "엔", "알앤디", "뉴", "첨단", "오토", "에코",
             "퓨처", "넥스트", "원")
_NAME_TAIL: dict[int, tuple[str, ...]] = {
    0: ("전자", "반도체", "디스플레이", "일렉트릭", "정보통신"),
    1: ("금융지주", "증권", "캐피탈", "생명", "화재"),
    2: ("엔터", "소프트", "게임즈", "미디어", "교육"),
    3: ("제약", "바이오", "팜", "바이오로직스", "약품"),
    4: ("유통", "상사", "리테일", "홈쇼핑", "백화점"),
    5: ("철강", "금속", "스틸", "특수강", "알루미늄"),
    6: ("기계", "중공업", "정밀", "엔지니어링", "로보틱스"),
    7: ("화학", "케미칼", "소재", "페인트", "화성"),
    8: ("건설", "개발", "이앤씨", "건영", "토건"),
    9: ("식품", "제과", "푸드", "음료", "제당"),
    10: ("해운", "물류", "모터스", "항공", "조선"),
    11: ("산업", "테크", "이노텍", "머티리얼즈", "공업"),
    12: ("섬유", "제지", "통신", "가스", "글라스"),
}
_ETF_BRANDS = ("KODEX", "TIGER", "KBSTAR", "ARIRANG", "HANARO", "KOSEF", "ACE", "SOL")
#: ETF themes: (name, leverage on the market factor, sector factor code or None, KOSDAQ factor loading)
_ETF_THEMES: tuple[tuple[str, float, str | None, float], ...] = (
    ("200", 1.0, None, 0.0), ("레버리지", 2.0, None, 0.0), ("인버스", -1.0, None, 0.0),
    ("200선물인버스2X", -2.0, None, 0.0), ("코스닥150", 1.0, None, 1.0), ("코스닥150레버리지", 2.0, None, 2.0),
    ("반도체", 1.0, "1013", 0.0), ("2차전지산업", 1.0, "1008", 0.0), ("은행", 1.0, "1022", 0.0),
    ("헬스케어", 1.0, "1009", 0.0), ("건설", 1.0, "1018", 0.0), ("자동차", 1.0, "1015", 0.0),
    ("철강", 1.0, "1011", 0.0), ("미디어컨텐츠", 1.0, "1026", 0.0), ("기계장비", 1.0, "1012", 0.0),
    ("필수소비재", 1.0, "1005", 0.0), ("증권", 1.0, "1024", 0.0),
)
_ETF_VARIANTS = ("", " TR", " 액티브")
_ETN_ISSUERS = ("신한", "삼성", "미래에셋", "KB", "NH", "한투", "메리츠", "QV", "하나", "대신")
_ETN_UNDERLYING = ("WTI원유", "천연가스", "금", "은", "구리", "미국S&P500", "나스닥100", "달러", "엔화",
                   "중국CSI300")
_ETN_LEVERAGE = (("", 1.0), ("레버리지 ", 2.0), ("인버스 ", 1.0), ("인버스 2X ", 2.0))
_SPAC_SPONSORS = ("하나금융", "미래에셋비전", "NH", "삼성", "키움", "유진", "교보", "신한", "대신밸런스",
                  "IBKS", "한국투자", "DB금융", "SK", "케이비제", "하이", "유안타")
_REIT_NAMES = ("신한알파", "롯데", "이지스밸류", "SK", "ESR켄달스퀘어", "제이알글로벌", "코람코라이프인프라",
               "KB스타", "마스턴프리미어", "NH올원", "삼성FN", "한화", "디앤디플랫폼", "미래에셋글로벌",
               "신한서부티엔디")


@dataclass
class _Listings:
    """Per-listing arrays, all ``(N,)`` and sorted by code."""

    code: np.ndarray
    name: np.ndarray
    market: np.ndarray
    kind: np.ndarray
    sector_code: np.ndarray  # object, None for non-stocks
    sector_name: np.ndarray
    sector_id: np.ndarray  # int, -1 for non-stocks
    listed_date: np.ndarray  # datetime64[D]
    delisted_date: np.ndarray  # datetime64[D], NaT if listed at the end
    first: np.ndarray  # int64 first session index with a row
    last: np.ndarray  # int64 last session index with a row
    ipo: np.ndarray  # bool, listing day inside the period
    p_start: np.ndarray  # offer price (IPO) or previous close before the period, KRW on tick
    shares: np.ndarray  # float64 listed shares at the first row
    beta: np.ndarray
    fsec: np.ndarray  # int64 sector-factor column or -1
    secload: np.ndarray
    kqload: np.ndarray
    sig: np.ndarray  # idiosyncratic daily vol
    vs: np.ndarray  # total daily vol scale
    tab_old: np.ndarray  # int64 tick table id before 2023-01-25
    etp: np.ndarray  # bool, ETF/ETN tick
    eligible: np.ndarray  # bool, receives the planted signals
    index_member: np.ndarray  # int64 0 = KOSPI, 1 = KOSDAQ, -1 = none
    log_turn: np.ndarray
    split_ok: np.ndarray  # bool
    fh0: np.ndarray  # initial foreign holding ratio


def _counts(n: int, cfg: SyntheticConfig) -> dict[str, int]:
    out = {k: max(1, round(n * f)) for k, f in (
        ("preferred", cfg.frac_preferred), ("etf", cfg.frac_etf), ("etn", cfg.frac_etn),
        ("spac", cfg.frac_spac), ("reit", cfg.frac_reit))}
    out["stock"] = n - sum(out.values())
    return out


def _common_names(rng: np.random.Generator, sector_ids: np.ndarray) -> np.ndarray:
    """Unique company names per LASPS sector (head + middle + sector-typical tail)."""
    names = np.empty(len(sector_ids), dtype=object)
    seen: set[str] = set()
    for sid in range(NUM_SECTORS):
        space = []
        for h in _NAME_HEAD:
            for m in _NAME_MID:
                for t in _NAME_TAIL[sid]:
                    nm = h + m + t
                    if nm not in seen:
                        seen.add(nm)
                        space.append(nm)
        idx = np.flatnonzero(sector_ids == sid)
        if len(idx) > len(space):
            raise ConfigError(f"too many stocks in sector {sid} for the synthetic name space ({len(space)})",
                              where="--stocks", fix="use at most ~20,000 listings")
        pick = rng.choice(len(space), size=len(idx), replace=False)
        names[idx] = [space[k] for k in pick]
    return names


def _build_listings(n: int, dates: np.ndarray, cfg: SyntheticConfig, rng: np.random.Generator) -> _Listings:
    T = len(dates)
    cnt = _counts(n, cfg)
    n_stock = cnt["stock"]
    kinds = np.array(["stock"] * n_stock + ["preferred"] * cnt["preferred"] + ["etf"] * cnt["etf"]
                     + ["etn"] * cnt["etn"] + ["spac"] * cnt["spac"] + ["reit"] * cnt["reit"], dtype=object)
    s_idx = np.arange(n_stock)
    market = np.empty(n, dtype=object)
    market[:] = "KOSPI"
    n_konex = round(n_stock * cfg.frac_konex)
    n_kospi = round((n_stock - n_konex) * cfg.frac_kospi)
    mk_perm = rng.permutation(n_stock)
    market[s_idx[mk_perm[n_kospi:]]] = "KOSDAQ"
    market[s_idx[mk_perm[n_stock - n_konex:]]] = "KONEX"

    # sectors of common stocks (fine KRX code), then force all 13 LASPS sectors to be present
    sector_code = np.full(n, None, dtype=object)
    for mkt, table in (("KOSPI", KOSPI_SECTOR_WEIGHTS), ("KOSDAQ", KOSDAQ_SECTOR_WEIGHTS)):
        sel = s_idx[(market[:n_stock] == mkt) | ((mkt == "KOSDAQ") & (market[:n_stock] == "KONEX"))]
        codes_ = np.array(list(table), dtype=object)
        w = np.array(list(table.values()), dtype=np.float64)
        sector_code[sel] = codes_[rng.choice(len(codes_), size=len(sel), p=w / w.sum())]
    main = s_idx[market[:n_stock] != "KONEX"]
    sid_of = {c: KRX_SECTOR_INDEX[c][1] for c in KRX_SECTOR_INDEX}
    for sid in range(NUM_SECTORS):
        have = np.array([sid_of[c] for c in sector_code[main]])
        if (have == sid).any():
            continue
        counts = np.bincount(have, minlength=NUM_SECTORS)
        donor = main[np.flatnonzero(have == int(np.argmax(counts)))[0]]
        table = KOSPI_SECTOR_WEIGHTS if market[donor] == "KOSPI" else KOSDAQ_SECTOR_WEIGHTS
        sector_code[donor] = max((c for c in table if sid_of[c] == sid), key=lambda c: table[c])
    sector_id = np.full(n, -1, dtype=np.int64)
    sector_id[:n_stock] = [sid_of[c] for c in sector_code[:n_stock]]
    sector_name = np.full(n, None, dtype=object)
    sector_name[:n_stock] = [KRX_SECTOR_INDEX[c][0] for c in sector_code[:n_stock]]

    # model parameters, common stocks first
    is_kq = np.array([m != "KOSPI" for m in market])
    log_cap = np.where(is_kq, np.log(cfg.cap_median_kosdaq) + cfg.cap_log_sd_kosdaq * rng.standard_normal(n),
                       np.log(cfg.cap_median_kospi) + cfg.cap_log_sd_kospi * rng.standard_normal(n))
    log_cap[market == "KONEX"] -= cfg.konex_cap_log_discount
    price = np.exp(np.log(cfg.price_median) + cfg.price_log_sd * rng.standard_normal(n))
    price = np.clip(price, cfg.price_min, cfg.price_max)
    d_sig = 1.0 / math.sqrt(TRADING_DAYS)
    sig = np.where(is_kq, cfg.idio_vol_kosdaq_annual, cfg.idio_vol_kospi_annual) * d_sig
    cap_dev = log_cap - np.where(is_kq, np.log(cfg.cap_median_kosdaq), np.log(cfg.cap_median_kospi))
    cap_z = cap_dev / np.where(is_kq, cfg.cap_log_sd_kosdaq, cfg.cap_log_sd_kospi)
    sig = sig * np.exp(cfg.idio_vol_dispersion * rng.standard_normal(n)
                       - cfg.idio_vol_cap_slope * np.clip(cap_z, -3, 3))
    sig = np.clip(sig, cfg.idio_vol_bounds_annual[0] * d_sig, cfg.idio_vol_bounds_annual[1] * d_sig)
    beta = np.clip(cfg.beta_mean + cfg.beta_sd * rng.standard_normal(n), 0.2, 2.2)
    secload = np.clip(1.0 + cfg.sector_loading_sd * rng.standard_normal(n), 0.3, 1.8)
    kqload = np.where(is_kq, np.clip(1.0 + cfg.kosdaq_loading_sd * rng.standard_normal(n), 0.2, 2.0), 0.0)
    fpos = {c: k for k, c in enumerate(FACTOR_CODES)}
    fsec = np.array([fpos[c] if c is not None else -1 for c in sector_code], dtype=np.int64)
    turn = np.where(is_kq, cfg.turnover_kosdaq, cfg.turnover_kospi)
    log_turn = (np.log(turn) + cfg.turnover_log_sd * rng.standard_normal(n)
                - cfg.turnover_cap_slope * np.clip(cap_dev, -3, 3))
    fh0 = np.clip(0.02 + 0.3 / (1 + np.exp(-(log_cap - np.log(2e12)))) + 0.03 * rng.standard_normal(n), 0, 0.6)
    name = np.empty(n, dtype=object)
    name[:n_stock] = _common_names(rng, sector_id[:n_stock])

    # life cycle of common stocks
    first = np.zeros(n, dtype=np.int64)
    last = np.full(n, T - 1, dtype=np.int64)
    ipo = np.zeros(n, dtype=bool)
    ipo_draw = rng.random(n)
    ipo_day = rng.integers(1, max(2, T - 20), size=n)
    delist_u = rng.random(n)
    delist_pos = rng.random(n)
    stock_like = kinds == "stock"
    ipo[:n_stock] = ipo_draw[:n_stock] < cfg.frac_ipo
    first[ipo & stock_like] = ipo_day[ipo & stock_like]
    life_years = (T - first) / TRADING_DAYS
    delist = stock_like & (delist_u < 1 - np.exp(-cfg.delist_rate_annual * life_years)) & (T - first > 80)
    span = np.maximum(T - 2 - (first + 60), 1)
    last[delist] = (first + 60 + np.floor(delist_pos * span)).astype(np.int64)[delist]

    # listed date before the period for the others: 0.5 .. 30 years earlier
    listed_before = dates[0] - (180 + np.floor(rng.random(n) * 30 * 365)).astype("timedelta64[D]")

    # ---- preferred shares: parents among KOSPI/KOSDAQ common stocks listed at the start
    pref = np.flatnonzero(kinds == "preferred")
    cand = s_idx[(market[:n_stock] != "KONEX") & ~ipo[:n_stock]]
    wts = np.where(market[cand] == "KOSPI", 3.0, 1.0)
    parents = rng.choice(cand, size=len(pref), replace=False, p=wts / wts.sum())
    market[pref] = market[parents]
    first[pref] = first[parents]
    last[pref] = last[parents]
    price[pref] = price[parents] * (0.45 + 0.4 * rng.random(len(pref)))
    beta[pref] = 0.7 * beta[parents]
    secload[pref] = 0.7 * secload[parents]
    kqload[pref] = 0.7 * kqload[parents]
    fsec[pref] = fsec[parents]
    sig[pref] = sig[parents]
    log_cap[pref] = log_cap[parents] + np.log(0.02 + 0.1 * rng.random(len(pref)))
    log_turn[pref] = log_turn[parents] - 0.7
    name[pref] = [nm + "우" for nm in name[parents]]

    # ---- ETFs
    etf = np.flatnonzero(kinds == "etf")
    combos = [(b, th, v) for v in _ETF_VARIANTS for th in _ETF_THEMES for b in _ETF_BRANDS]
    pick = rng.choice(len(combos), size=len(etf), replace=False)
    for k, j in zip(etf, pick, strict=True):
        brand, (theme, lev, fcode, kq), var = combos[j]
        name[k] = f"{brand} {theme}{var}"
        beta[k] = lev
        fsec[k] = fpos[fcode] if fcode else -1
        secload[k] = lev if fcode else 0.0
        kqload[k] = kq
    sig[etf] = 0.0008
    price[etf] = np.exp(rng.uniform(np.log(5_000), np.log(40_000), len(etf)))
    log_cap[etf] = rng.uniform(np.log(5e9), np.log(3e12), len(etf))
    log_turn[etf] = np.log(0.03) + 0.8 * rng.standard_normal(len(etf))
    ipo[etf] = rng.random(len(etf)) < 0.4
    first[etf] = np.where(ipo[etf], ipo_day[etf], 0)
    fh0[etf] = 0.0

    # ---- ETNs (own commodity/FX risk: idiosyncratic only)
    etn = np.flatnonzero(kinds == "etn")
    combos_n = [(i, u, lv) for lv in _ETN_LEVERAGE for u in _ETN_UNDERLYING for i in _ETN_ISSUERS]
    pick = rng.choice(len(combos_n), size=len(etn), replace=False)
    for k, j in zip(etn, pick, strict=True):
        issuer, und, (lvname, lev) = combos_n[j]
        name[k] = f"{issuer} {lvname}{und} 선물 ETN"
        sig[k] = 0.016 * lev
    beta[etn] = 0.0
    fsec[etn] = -1
    secload[etn] = 0.0
    kqload[etn] = 0.0
    price[etn] = np.exp(rng.uniform(np.log(5_000), np.log(20_000), len(etn)))
    log_cap[etn] = rng.uniform(np.log(5e9), np.log(2e11), len(etn))
    log_turn[etn] = np.log(0.01) + 0.8 * rng.standard_normal(len(etn))
    ipo[etn] = rng.random(len(etn)) < 0.5
    first[etn] = np.where(ipo[etn], ipo_day[etn], 0)
    etn_mat = rng.random(len(etn)) < 0.3
    last[etn[etn_mat]] = np.maximum(first[etn[etn_mat]] + 60, T - 1 - (rng.random(etn_mat.sum()) * T / 2).astype(int))
    last[etn] = np.minimum(last[etn], T - 1)
    fh0[etn] = 0.0

    # ---- SPACs: 2,000 KRW, almost no risk, 1.5-3 years of life
    spac = np.flatnonzero(kinds == "spac")
    names_s = [f"{sp}스팩{k}호" for k in range(1, 40) for sp in _SPAC_SPONSORS]
    pick = rng.choice(len(names_s), size=len(spac), replace=False)
    name[spac] = [names_s[j] for j in pick]
    market[spac] = "KOSDAQ"
    pre = rng.random(len(spac)) < 0.3
    life = (rng.uniform(1.5, 3.0, len(spac)) * TRADING_DAYS).astype(np.int64)
    elapsed = (rng.uniform(0.05, 0.9, len(spac)) * life).astype(np.int64)  # sessions before the period
    first[spac] = np.where(pre, 0, ipo_day[spac])
    ipo[spac] = ~pre
    listed_before[spac] = dates[0] - np.round(elapsed * 365.25 / TRADING_DAYS).astype("timedelta64[D]")
    end_s = np.where(pre, life - elapsed, first[spac] + life)
    last[spac] = np.minimum(np.maximum(end_s, first[spac] + 20), T - 1)
    price[spac] = np.where(pre, rng.uniform(2_000, 2_400, len(spac)), 2_000.0)
    beta[spac], fsec[spac], secload[spac], kqload[spac], sig[spac] = 0.05, -1, 0.0, 0.0, 0.006
    log_cap[spac] = rng.uniform(np.log(1e10), np.log(3e10), len(spac))
    log_turn[spac] = np.log(0.002) + 0.8 * rng.standard_normal(len(spac))

    # ---- REITs
    reit = np.flatnonzero(kinds == "reit")
    names_r = [f"{r}{suffix}리츠" for suffix in ("", "제2호", "제3호", "제4호") for r in _REIT_NAMES]
    pick = rng.choice(len(names_r), size=len(reit), replace=False)
    name[reit] = [names_r[j] for j in pick]
    ipo[reit] = rng.random(len(reit)) < 0.5
    first[reit] = np.where(ipo[reit], ipo_day[reit], 0)
    price[reit] = np.where(ipo[reit], 5_000.0, rng.uniform(3_000, 7_000, len(reit)))
    beta[reit], fsec[reit], secload[reit], kqload[reit], sig[reit] = 0.3, -1, 0.0, 0.0, 0.010
    log_cap[reit] = rng.uniform(np.log(1e11), np.log(1.5e12), len(reit))
    log_turn[reit] = np.log(0.002) + 0.6 * rng.standard_normal(len(reit))

    # codes: a unique 5-digit stem + '0'; preferred shares reuse the parent's stem + '5'
    stems = rng.choice(np.arange(100, 99_999), size=n, replace=False)
    code = np.array([f"{s:05d}0" for s in stems], dtype=object)
    code[pref] = [c[:5] + "5" for c in code[parents]]

    # offer / start prices on tick (at the first row's date), shares from the market cap
    p_start = np.asarray(krx_rules.round_to_tick(price, dates[first], market.astype(str), "nearest", kind=kinds))
    shares = np.maximum(np.round(np.exp(log_cap) / p_start, -2), 10_000.0)
    shares[spac] = np.round(np.exp(log_cap[spac]) / 2_000.0, -3)

    tab_old = np.where(market == "KOSPI", krx_rules.TABLE_KOSPI_OLD, krx_rules.TABLE_KOSDAQ_OLD).astype(np.int64)
    etp_mask = np.isin(kinds, ("etf", "etn"))
    eligible = (kinds == "stock") & np.isin(market, ("KOSPI", "KOSDAQ"))
    index_member = np.where((market == "KOSPI") & np.isin(kinds, ("stock", "preferred")), 0,
                            np.where((market == "KOSDAQ") & (kinds == "stock"), 1, -1)).astype(np.int64)
    split_ok = np.isin(kinds, ("stock", "preferred"))
    s_m = cfg.market_vol_annual * d_sig
    s_s = cfg.sector_vol_annual * d_sig
    s_k = cfg.kosdaq_vol_annual * d_sig
    vs = np.sqrt(sig**2 + (beta * s_m) ** 2 + (np.where(fsec >= 0, secload, 0) * s_s) ** 2 + (kqload * s_k) ** 2)

    listed_date = np.where(ipo, dates[first], listed_before).astype("datetime64[D]")
    delisted_date = np.where(last < T - 1, dates[np.minimum(last + 1, T - 1)], np.datetime64("NaT"))

    sel = np.argsort(code.astype(str), kind="stable")
    return _Listings(
        code=code[sel], name=name[sel], market=market[sel], kind=kinds[sel], sector_code=sector_code[sel],
        sector_name=sector_name[sel], sector_id=sector_id[sel], listed_date=listed_date[sel],
        delisted_date=delisted_date.astype("datetime64[D]")[sel], first=first[sel], last=last[sel],
        ipo=ipo[sel], p_start=p_start[sel], shares=shares[sel], beta=beta[sel], fsec=fsec[sel],
        secload=secload[sel], kqload=kqload[sel], sig=sig[sel], vs=vs[sel], tab_old=tab_old[sel],
        etp=etp_mask[sel], eligible=eligible[sel], index_member=index_member[sel], log_turn=log_turn[sel],
        split_ok=split_ok[sel], fh0=fh0[sel],
    )


# ==================================================================================================
# factors, halts
# ==================================================================================================
def _std_t(rng: np.random.Generator, dof: float, size: tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance (float64)."""
    z = rng.standard_normal(size)
    chi2 = 2.0 * rng.standard_gamma(dof / 2.0, size)
    return z / np.sqrt(chi2 / dof) * math.sqrt((dof - 2.0) / dof)


def _factors(T: int, cfg: SyntheticConfig, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Market factor ``m (T,)``, vol multiplier ``h (T,)``, sector factors ``(T, F)``, KOSDAQ factor ``(T,)``."""
    d = 1.0 / math.sqrt(TRADING_DAYS)
    s_bar = cfg.market_vol_annual * d
    omega = s_bar**2 * (1.0 - cfg.garch_alpha - cfg.garch_beta)
    e = _std_t(rng, cfg.market_t_dof, (T,))
    mu = cfg.market_drift_annual / TRADING_DAYS
    kappa = math.log(2.0) / (cfg.market_half_life_years * TRADING_DAYS)
    m = np.empty(T)
    sig_t = np.empty(T)
    var = s_bar**2
    level = 0.0
    for t in range(T):
        sig_t[t] = math.sqrt(var)
        m[t] = mu - kappa * (level - mu * t) + sig_t[t] * e[t]
        level += m[t]
        var = omega + cfg.garch_alpha * (sig_t[t] * e[t]) ** 2 + cfg.garch_beta * var
    h = (1.0 - cfg.vol_cluster_share) + cfg.vol_cluster_share * sig_t / s_bar
    secf = cfg.sector_vol_annual * d * h[:, None] * _std_t(rng, cfg.factor_t_dof, (T, len(FACTOR_CODES)))
    kqf = cfg.kosdaq_vol_annual * d * h * _std_t(rng, cfg.factor_t_dof, (T,))
    return m, h, np.ascontiguousarray(secf), kqf


def _halts(lst: _Listings, T: int, cfg: SyntheticConfig, rng: np.random.Generator
           ) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """``(T, N)`` bool halt mask and the events ``(i, start, end)`` (inclusive), strictly inside
    each listing's first..last rows and never overlapping."""
    N = len(lst.code)
    halted = np.zeros((T, N), dtype=bool)
    events: list[tuple[int, int, int]] = []
    can = ~lst.etp
    years = (lst.last - lst.first + 1) / TRADING_DAYS
    n_ev = rng.poisson(cfg.halt_rate_annual * years)
    for i in np.flatnonzero(can & (n_ev > 0) & (lst.last - lst.first > 10)):
        for _ in range(int(n_ev[i])):
            length = 1 + int(np.floor(np.exp(cfg.halt_log_mean + cfg.halt_log_sd * rng.standard_normal())))
            length = min(length, cfg.halt_max_days, int(lst.last[i] - lst.first[i]) - 4)
            start = int(rng.integers(lst.first[i] + 2, lst.last[i] - length))
            end = start + length - 1
            if halted[max(start - 1, 0):end + 2, i].any():
                continue
            halted[start:end + 1, i] = True
            events.append((int(i), start, end))
    return halted, events


# ==================================================================================================
# the simulation kernel
# ==================================================================================================
@numba.njit(cache=True)
def _simulate_chunk_nb(
    t0, t1, uni_from, etp_from, lim30_from,
    mkt, h, secf, kqf, ca, cb, cc,
    first, last, ipo, p_start, beta, fsec, secload, kqload, sig, vs, tab_old, etp, elig, idxm,
    log_turn, split_ok, split_p,
    eps, zg, eh, el, uv, zv, us, halted,
    par, tb, tv,
    st_prev, st_adj, st_pend, st_x, st_sh, st_mult, st_mu, st_cap, rb_c, rb_v,
    o_open, o_high, o_low, o_close, o_vol, o_val, o_sh, o_cr,
    idx_sum, ev_t, ev_i, ev_m, ev_prev, ev_base, ev_n,
):  # pragma: no cover - compiled
    """Simulate sessions ``t0 .. t1-1`` for all listings, updating the state arrays in place.

    Per-session inputs are ``(T,)``/``(T, F)``; per-listing ``(N,)``; random inputs of the chunk are
    ``(t1 - t0, N)`` float32; outputs ``(T, N)`` (NaN where no row). ``idx_sum[t, j]`` accumulates, for
    index j, the previous-day cap weight and the cap-weighted open/high/low/close returns vs the base
    price, plus volume and value.
    """
    N = first.shape[0]
    T = mkt.shape[0]
    W = rb_c.shape[0]
    gap_share, gap_sd, range_sc = par[0], par[1], par[2]
    vol_ar, vol_sd, vol_gamma = par[3], par[4], par[5]
    pop_mu, pop_sd = par[6], par[7]
    p_hi, p_hi_prob, p_lo, p_lo_prob = par[8], par[9], par[10], par[11]
    p_split_min = par[16]
    zclip = par[12]
    L_rev, L_div, L_lv = int(par[13]), int(par[14]), int(par[15])
    nan = np.nan
    sa = np.empty(N)
    sb = np.empty(N)
    sc = np.empty(N)
    for t in range(t0, t1):
        k = t - t0
        slot = t % W
        pct = 30.0 if t >= lim30_from else 15.0
        h_t = h[t]
        for i in range(N):
            rb_c[slot, i] = nan
            rb_v[slot, i] = nan
            if t < first[i] or t > last[i]:
                continue
            if etp[i]:
                tid = 4 if t >= etp_from else 3
            elif t >= uni_from:
                tid = 0
            else:
                tid = tab_old[i]
            s = sig[i] * h_t
            r = beta[i] * mkt[t] + kqload[i] * kqf[t] + st_mu[i] - 0.5 * s * s + s * eps[k, i]
            if fsec[i] >= 0:
                r += secload[i] * secf[t, fsec[i]]
            st_mu[i] = 0.0
            if halted[t, i]:
                st_pend[i] += r
                if idxm[i] >= 0 and st_cap[i] > 0:
                    idx_sum[t, idxm[i], 0] += st_cap[i]
                continue
            r += st_pend[i]
            st_pend[i] = 0.0
            first_day = t == first[i]
            scale = vs[i] * h_t
            if first_day:
                ref = p_start[i]
                if ipo[i]:
                    lo0 = round_up_nb(0.9 * ref, tid, tb, tv)
                    hi0 = round_down_nb(2.0 * ref, tid, tb, tv)
                    op = round_nearest_nb(ref * math.exp(pop_mu + pop_sd * zg[k, i]), tid, tb, tv)
                    op = min(max(op, lo0), hi0)
                    base = op
                else:
                    base = ref
                    op = -1.0
            else:
                base = st_prev[i]
                ref = base
                op = -1.0
                if split_ok[i] and t - first[i] > 5 and ev_n[0] < ev_t.shape[0]:
                    prob = split_p if base >= p_split_min else 0.0
                    if base >= p_hi:
                        prob += p_hi_prob
                    if base < p_lo and st_mult[i] >= 1.0 and st_sh[i] >= 100000.0:
                        prob += p_lo_prob
                    if us[k, i] < prob:
                        if base < p_lo:
                            m = 0.1
                        elif base >= 200000.0:
                            m = 10.0
                        elif base >= 50000.0:
                            m = 5.0
                        else:
                            m = 2.0
                        new_base = round_nearest_nb(base / m, tid, tb, tv)
                        e = ev_n[0]
                        ev_t[e] = t
                        ev_i[e] = i
                        ev_m[e] = m
                        ev_prev[e] = base
                        ev_base[e] = new_base
                        ev_n[0] = e + 1
                        st_sh[i] = math.floor(st_sh[i] * m + 1e-9)
                        st_mult[i] *= m
                        base = new_base
                        ref = new_base
            lo, up = limits_nb(base, tid, pct, tb, tv)
            close = min(max(round_nearest_nb(base * math.exp(r), tid, tb, tv), lo), up)
            if op < 0:
                op = round_nearest_nb(base * math.exp(gap_share * r + gap_sd * scale * zg[k, i]), tid, tb, tv)
                op = min(max(op, lo), up)
            hi = min(round_up_nb(max(op, close) * math.exp(range_sc * scale * eh[k, i]), tid, tb, tv), up)
            lw = max(round_down_nb(min(op, close) * math.exp(-range_sc * scale * el[k, i]), tid, tb, tv), lo)
            # volume: AR(1) log shocks, rising with |r| / scale
            z = min(abs(math.log(close / base)) / scale, 6.0)
            st_x[i] = vol_ar * st_x[i] + vol_sd * zv[k, i] + vol_gamma * (z - 0.8)
            vol = max(1.0, math.floor(st_sh[i] * math.exp(log_turn[i] + st_x[i]) + 0.5))
            vwap = (op + hi + lw + 2.0 * close) / 5.0 + (uv[k, i] - 0.5) * 0.2 * (hi - lw)
            vwap = min(max(vwap, lw), hi)
            val = min(max(math.floor(vwap * vol + 0.5), lw * vol), hi * vol)
            o_open[t, i] = op
            o_high[t, i] = hi
            o_low[t, i] = lw
            o_close[t, i] = close
            o_vol[t, i] = vol
            o_val[t, i] = val
            o_sh[t, i] = st_sh[i]
            o_cr[t, i] = close / ref - 1.0
            if first_day:
                st_adj[i] = close
            else:
                st_adj[i] *= close / base
            rb_c[slot, i] = st_adj[i]
            rb_v[slot, i] = vol / st_mult[i]
            j = idxm[i]
            if j >= 0:
                w = st_cap[i]
                if w > 0 and not first_day:
                    idx_sum[t, j, 0] += w
                    idx_sum[t, j, 1] += w * (close / base - 1.0)
                    idx_sum[t, j, 2] += w * (op / base - 1.0)
                    idx_sum[t, j, 3] += w * (hi / base - 1.0)
                    idx_sum[t, j, 4] += w * (lw / base - 1.0)
                idx_sum[t, j, 5] += vol
                idx_sum[t, j, 6] += val
                st_cap[i] = close * st_sh[i]
            st_prev[i] = close

        # ---- planted signals at the close of t -> expected log return of t + 1
        if t + 1 >= T:
            continue
        for i in range(N):
            sa[i] = nan
            sb[i] = nan
            sc[i] = nan
            c0 = rb_c[slot, i]
            if not elig[i] or c0 != c0:
                continue
            if t >= L_rev:
                c5 = rb_c[(t - L_rev) % W, i]
                if c5 == c5:
                    sa[i] = -(c0 / c5 - 1.0)
            if t >= L_div - 1:
                sx = 0.0
                sy = 0.0
                ok = True
                for q in range(L_div):
                    x = rb_c[(t - q) % W, i]
                    y = rb_v[(t - q) % W, i]
                    if x != x or y != y:
                        ok = False
                        break
                    sx += x
                    sy += y
                if ok:
                    mx = sx / L_div
                    my = sy / L_div
                    sxx = 0.0
                    syy = 0.0
                    sxy = 0.0
                    for q in range(L_div):
                        dx = rb_c[(t - q) % W, i] - mx
                        dy = rb_v[(t - q) % W, i] - my
                        sxx += dx * dx
                        syy += dy * dy
                        sxy += dx * dy
                    if sxx > 1e-12 * mx * mx and syy > 0:
                        sb[i] = -sxy / math.sqrt(sxx * syy)
            if t >= L_lv:
                s1 = 0.0
                s2 = 0.0
                ok = True
                for q in range(L_lv):
                    a = rb_c[(t - q) % W, i]
                    b = rb_c[(t - q - 1) % W, i]
                    if a != a or b != b:
                        ok = False
                        break
                    rr = a / b - 1.0
                    s1 += rr
                    s2 += rr * rr
                if ok:
                    var = (s2 - s1 * s1 / L_lv) / (L_lv - 1)
                    sc[i] = -math.sqrt(max(var, 0.0))
        _zscore_nb(sa, zclip)
        _zscore_nb(sb, zclip)
        _zscore_nb(sc, zclip)
        a1, b1, c1, h1 = ca[t + 1], cb[t + 1], cc[t + 1], h[t + 1]
        for i in range(N):
            if elig[i]:
                st_mu[i] = sig[i] * h1 * (a1 * sa[i] + b1 * sb[i] + c1 * sc[i])


@numba.njit(cache=True)
def _zscore_nb(x: np.ndarray, clip: float) -> None:  # pragma: no cover - compiled
    """In place: (x - mean) / std over finite entries, clipped to ±clip; NaN -> 0."""
    n = 0
    s = 0.0
    for v in x:
        if v == v:
            n += 1
            s += v
    if n < 3:
        x[:] = 0.0
        return
    mean = s / n
    ss = 0.0
    for v in x:
        if v == v:
            ss += (v - mean) * (v - mean)
    sd = math.sqrt(ss / n)
    for i in range(x.shape[0]):
        v = x[i]
        if v != v or sd <= 0:
            x[i] = 0.0
        else:
            x[i] = min(max((v - mean) / sd, -clip), clip)


# ==================================================================================================
# driver
# ==================================================================================================
def _first_index(dates: np.ndarray, day: np.datetime64) -> int:
    return int(np.searchsorted(dates, day, side="left"))


def _validate(stocks: int, years: float, seed: int, end: str) -> None:
    if not isinstance(stocks, (int, np.integer)) or not MIN_STOCKS <= stocks <= MAX_STOCKS:
        raise ConfigError(f"stocks must be an integer in [{MIN_STOCKS}, {MAX_STOCKS}], got {stocks!r}",
                          where="--stocks", fix="pass e.g. --stocks 4000 (the reference market)")
    if not (isinstance(years, (int, float, np.floating, np.integer)) and 0.25 <= float(years) <= 30):
        raise ConfigError(f"years must be between 0.25 and 30, got {years!r}", where="--years",
                          fix="pass e.g. --years 12")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}", where="--seed")
    parse_date(end, option="--end")


def simulate_market(stocks: int, years: float, seed: int, end: str = "2026-10-30",
                    config: SyntheticConfig | None = None) -> SyntheticMarket:
    """Generate the market and its ground truth (see :class:`SyntheticMarket`).

    Parameters
    ----------
    stocks:
        Total number of listings (all kinds), >= 30.
    years:
        Length of the period; the sessions are those of ``[end - round(365.25 · years) days, end]``.
    seed:
        Seed of the ``PCG64`` streams; equal arguments give identical tables.
    end:
        Last calendar day (ISO); a fixed default keeps the market independent of today's date.
    config:
        Model parameters (defaults: :class:`SyntheticConfig`).
    """
    cfg = config or SyntheticConfig()
    _validate(stocks, years, seed, end)
    end_d = np.datetime64(end, "D")
    start_d = end_d - np.timedelta64(round(365.25 * float(years)), "D")
    dates = sessions(start_d, end_d)
    T = len(dates)
    if T < 40:
        raise ConfigError(f"only {T} sessions between {start_d} and {end_d}", where="--years",
                          fix="use a longer period (at least ~2 months)")
    streams = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(5)]
    rng_meta, rng_fac, rng_halt, rng_noise, rng_flow = streams

    lst = _build_listings(int(stocks), dates, cfg, rng_meta)
    N = len(lst.code)
    m, h, secf, kqf = _factors(T, cfg, rng_fac)
    halted, halt_events = _halts(lst, T, cfg, rng_halt)
    regimes = regime_labels(T, cfg)
    is_a = regimes == "A"
    ca = np.where(is_a, cfg.reversal_strength[0], cfg.reversal_strength[1]).astype(np.float64)
    cb = np.where(is_a, cfg.divergence_strength[0], cfg.divergence_strength[1]).astype(np.float64)
    cc = np.where(is_a, cfg.lowvol_strength[0], cfg.lowvol_strength[1]).astype(np.float64)

    par = np.array([
        cfg.gap_share, cfg.gap_sd, cfg.range_scale, cfg.volume_ar, cfg.volume_sd, cfg.volume_abs_return,
        cfg.ipo_pop_mean, cfg.ipo_pop_sd, cfg.split_high_price, cfg.split_high_prob, cfg.reverse_low_price,
        cfg.reverse_low_prob, cfg.signal_clip, cfg.reversal_lookback, cfg.divergence_window,
        cfg.lowvol_window, cfg.split_min_price,
    ], dtype=np.float64)
    W = max(cfg.reversal_lookback, cfg.divergence_window, cfg.lowvol_window) + 2
    st_prev = lst.p_start.astype(np.float64).copy()
    st_adj = np.zeros(N)
    st_pend = np.zeros(N)
    st_x = np.zeros(N)
    st_sh = lst.shares.astype(np.float64).copy()
    st_mult = np.ones(N)
    st_mu = np.zeros(N)
    st_cap = np.zeros(N)
    rb_c = np.full((W, N), np.nan)
    rb_v = np.full((W, N), np.nan)
    outs = [np.full((T, N), np.nan) for _ in range(8)]
    idx_sum = np.zeros((T, 2, 7))
    cap_ev = 4 * N + 64
    ev_t = np.zeros(cap_ev, dtype=np.int64)
    ev_i = np.zeros(cap_ev, dtype=np.int64)
    ev_m = np.zeros(cap_ev)
    ev_prev = np.zeros(cap_ev)
    ev_base = np.zeros(cap_ev)
    ev_n = np.zeros(1, dtype=np.int64)
    split_p = cfg.split_rate_annual / TRADING_DAYS
    uni_from = _first_index(dates, krx_rules.UNIFIED_TICK_DATE)
    etp_from = _first_index(dates, krx_rules.ETP_LOW_TICK_DATE)
    lim30_from = _first_index(dates, krx_rules.LIMIT_30_DATE)
    tb = np.ascontiguousarray(krx_rules.TICK_BOUNDS)
    tv = np.ascontiguousarray(krx_rules.TICK_VALUES)

    dof = cfg.idio_t_dof
    t_scale = np.float32(math.sqrt((dof - 2.0) / dof))
    for t0 in range(0, T, cfg.chunk_sessions):
        t1 = min(T, t0 + cfg.chunk_sessions)
        shape = (t1 - t0, N)
        z = rng_noise.standard_normal(shape, dtype=np.float32)
        chi = rng_noise.standard_gamma(np.float32(dof / 2.0), shape, dtype=np.float32)
        chi *= np.float32(2.0 / dof)
        np.sqrt(chi, out=chi)
        z /= chi
        z *= t_scale
        eps = z
        del chi
        zg = rng_noise.standard_normal(shape, dtype=np.float32)
        eh = rng_noise.standard_exponential(shape, dtype=np.float32)
        el = rng_noise.standard_exponential(shape, dtype=np.float32)
        uv = rng_noise.random(shape, dtype=np.float32)
        zv = rng_noise.standard_normal(shape, dtype=np.float32)
        us = rng_noise.random(shape, dtype=np.float32)
        _simulate_chunk_nb(
            t0, t1, uni_from, etp_from, lim30_from,
            m, h, secf, kqf, ca, cb, cc,
            lst.first, lst.last, lst.ipo, lst.p_start, lst.beta, lst.fsec, lst.secload, lst.kqload,
            lst.sig, lst.vs, lst.tab_old, lst.etp, lst.eligible, lst.index_member, lst.log_turn,
            lst.split_ok, split_p,
            eps, zg, eh, el, uv, zv, us, halted,
            par, tb, tv,
            st_prev, st_adj, st_pend, st_x, st_sh, st_mult, st_mu, st_cap, rb_c, rb_v,
            *outs, idx_sum, ev_t, ev_i, ev_m, ev_prev, ev_base, ev_n,
        )
        del eps, z, zg, eh, el, uv, zv, us
    del halted

    dense = dict(zip(("open", "high", "low", "close", "volume", "value", "shares", "change_ratio"), outs,
                     strict=True))
    outs.clear()
    bundle = _assemble(lst, dates, dense, idx_sum, cfg, rng_flow)  # consumes ``dense``
    ne = int(ev_n[0])
    splits = pd.DataFrame({
        "code": lst.code[ev_i[:ne]].astype(str),
        "date": dates[ev_t[:ne]].astype("datetime64[s]"),
        "share_multiplier": ev_m[:ne],
        "prev_close": ev_prev[:ne],
        "base_price": ev_base[:ne],
        "ratio": ev_base[:ne] / ev_prev[:ne],
    }).sort_values(["code", "date"], kind="stable").reset_index(drop=True)
    halts = pd.DataFrame(
        [(str(lst.code[i]), dates[s], dates[e], e - s + 1) for i, s, e in halt_events],
        columns=["code", "start", "end", "sessions"],
    ).sort_values(["code", "start"], kind="stable").reset_index(drop=True)
    for c in ("start", "end"):
        halts[c] = halts[c].astype("datetime64[s]")
    return SyntheticMarket(bundle=bundle, dates=dates, regimes=regimes, splits=splits, halts=halts, config=cfg)


_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def _code_column(codes: np.ndarray, idx: np.ndarray) -> pd.Series:
    """A ``str`` column of ``codes[idx]`` built through an Arrow dictionary (fast for millions of rows)."""
    dic = pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(codes.astype(str).tolist()))
    return pd.Series(dic.cast(pa.large_string()), dtype=_STR)


def _assemble(lst: _Listings, dates: np.ndarray, dense: dict[str, np.ndarray], idx_sum: np.ndarray,
              cfg: SyntheticConfig, rng: np.random.Generator) -> MarketBundle:
    """Long tables from the dense ``(T, N)`` outputs; pops each dense array once it is gathered so the
    peak memory stays near one copy of the data."""
    T, N = dense["close"].shape
    # rows in (code, date) order: nonzero over the transposed mask; T * N < 2**31 for any sane market
    exists_t = np.ascontiguousarray(~np.isnan(dense["close"]).T)  # (N, T)
    k = np.flatnonzero(exists_t)
    del exists_t
    ii = (k // T).astype(np.int32)
    tt = (k % T).astype(np.int32)
    del k
    flat = tt.astype(np.int64) * N + ii

    def take(name: str, flat: np.ndarray) -> np.ndarray:
        return np.take(dense.pop(name).reshape(-1), flat)

    date_s = dates.astype("datetime64[s]")
    cols: dict[str, object] = {"code": _code_column(lst.code, ii), "date": date_s[tt]}
    del tt
    for name in ("open", "high", "low", "close", "volume", "value", "shares"):
        cols[name] = take(name, flat)
    cols["market_cap"] = cols["close"] * cols["shares"]  # type: ignore[operator]
    cr = take("change_ratio", flat)
    del flat
    cols["change_ratio"] = np.round(cr, 4)
    prices = pd.DataFrame(cols, columns=list(PRICE_COLUMNS), copy=False)

    # investor flows (KRW): foreign/institution follow the day's move, individuals take the other side
    value = cols["value"]
    zr = np.log1p(cr)
    del cr
    zr /= lst.vs[ii]
    np.tanh(zr, out=zr)
    n = len(ii)

    def share_of_value(beta: float, sd: float, zr: np.ndarray) -> np.ndarray:
        x = rng.standard_normal(n)
        x *= sd
        if beta:
            x += beta * zr
        x *= value
        return np.round(x, out=x)

    f = share_of_value(cfg.flow_foreign_beta, cfg.flow_foreign_sd, zr)
    inst = share_of_value(cfg.flow_inst_beta, cfg.flow_inst_sd, zr)
    indiv = share_of_value(0.0, cfg.flow_other_sd, zr)  # other corporations, then the individuals' side
    del zr
    indiv += f
    indiv += inst
    np.negative(indiv, out=indiv)
    fhr = f / cols["market_cap"]  # type: ignore[operator]
    np.cumsum(fhr, out=fhr)
    starts = np.flatnonzero(np.r_[True, ii[1:] != ii[:-1]])
    run_len = np.diff(np.r_[starts, n])
    fhr -= np.repeat(np.r_[0.0, fhr[starts[1:] - 1]], run_len)
    fhr += lst.fh0[ii]
    np.clip(fhr, 0.0, 1.0, out=fhr)
    np.round(fhr, 6, out=fhr)
    flows = pd.DataFrame({
        "code": cols["code"], "date": cols["date"], "foreign_net": f, "institution_net": inst,
        "individual_net": indiv, "foreign_holding_ratio": fhr,
    }, columns=list(FLOW_COLUMNS), copy=False)

    # cap-weighted indices
    index_frames = []
    for j, (icode, target) in enumerate((("1001", cfg.kospi_median_level), ("2001", cfg.kosdaq_median_level))):
        w = idx_sum[:, j, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            rets = np.where(w[:, None] > 0, idx_sum[:, j, 1:5] / w[:, None], 0.0)
        rets[0] = 0.0
        close_lv = np.cumprod(1.0 + rets[:, 0])
        prev_lv = np.r_[close_lv[0], close_lv[:-1]]
        scale = target / np.median(close_lv)
        close_i = np.round(close_lv * scale, 2)
        open_i = np.round(prev_lv * scale * (1.0 + rets[:, 1]), 2)
        high_i = np.maximum(np.round(prev_lv * scale * (1.0 + rets[:, 2]), 2), np.maximum(open_i, close_i))
        low_i = np.minimum(np.round(prev_lv * scale * (1.0 + rets[:, 3]), 2), np.minimum(open_i, close_i))
        open_i[0], high_i[0], low_i[0] = close_i[0], close_i[0], close_i[0]
        index_frames.append(pd.DataFrame({
            "index_code": pd.Series([icode] * T, dtype=_STR), "date": date_s, "open": open_i, "high": high_i,
            "low": low_i, "close": close_i, "volume": idx_sum[:, j, 5], "value": idx_sum[:, j, 6],
        }, columns=list(INDEX_COLUMNS)))
    index = pd.concat(index_frames, ignore_index=True)

    stocks = pd.DataFrame({
        "code": pd.Series(lst.code.astype(str), dtype=_STR),
        "name": pd.Series(lst.name.astype(str), dtype=_STR),
        "market": pd.Series(lst.market.astype(str), dtype=_STR),
        "kind": pd.Series(lst.kind.astype(str), dtype=_STR),
        "sector_code": pd.Series(lst.sector_code, dtype=_STR),
        "sector_name": pd.Series(lst.sector_name, dtype=_STR),
        "sector_id": pd.array([int(v) if v >= 0 else None for v in lst.sector_id], dtype="Int16"),
        "listed_date": lst.listed_date.astype("datetime64[s]"),
        "delisted_date": lst.delisted_date.astype("datetime64[s]"),
        "price_basis": pd.Series(["raw"] * N, dtype=_STR),
    }, columns=list(STOCK_COLUMNS))
    return MarketBundle(source="synthetic", stocks=stocks, prices=prices, index=index, flows=flows)


__all__ = [
    "SIGNAL_SETS", "SyntheticConfig", "SyntheticMarket", "config_for_signals", "generate_synthetic",
    "regime_labels", "simulate_market",
]


class SyntheticSource:
    """The synthetic market as a :class:`~lasps.data.sources.base.Source` (``get_source("synthetic")``).

    The whole market is generated once (deterministically from ``stocks, years, seed, end``) and sliced;
    ``lasps data init --source synthetic`` is the usual way to use it.
    """

    name = "synthetic"
    price_basis = "raw"
    fetch_mode = "by_range"

    def __init__(self, settings: object | None = None, stocks: int = 300, years: float = 4.0, seed: int = 7,
                 end: str = "2026-10-30") -> None:
        self._args = (stocks, years, seed, end)
        self._bundle: MarketBundle | None = None

    def _all(self) -> MarketBundle:
        if self._bundle is None:
            stocks, years, seed, end = self._args
            self._bundle = generate_synthetic(stocks=stocks, years=years, seed=seed, end=end)
        return self._bundle

    @staticmethod
    def _between(frame: pd.DataFrame, date_from: object, date_to: object) -> pd.DataFrame:
        d = frame["date"]
        return frame.loc[(d >= pd.Timestamp(date_from)) & (d <= pd.Timestamp(date_to))].reset_index(drop=True)

    def stocks(self, date: object) -> pd.DataFrame:
        s = self._all().stocks
        day = pd.Timestamp(date)
        listed = pd.to_datetime(s["listed_date"])
        delisted = pd.to_datetime(s["delisted_date"])
        alive = (listed.isna() | (listed <= day)) & (delisted.isna() | (delisted > day))
        return s.loc[alive].reset_index(drop=True)

    def daily(self, date_from: object, date_to: object, codes: object = None) -> MarketBundle:
        b = self._all()
        prices = self._between(b.prices, date_from, date_to)
        flows = self._between(b.flows, date_from, date_to)
        stocks = b.stocks
        if codes is not None:
            keep = set(codes)  # type: ignore[call-overload]
            prices = prices[prices["code"].isin(keep)]
            flows = flows[flows["code"].isin(keep)]
            stocks = stocks[stocks["code"].isin(keep)]
        index = self._between(b.index, date_from, date_to)
        return MarketBundle(source=self.name, stocks=stocks.reset_index(drop=True),
                            prices=prices.reset_index(drop=True), index=index, flows=flows.reset_index(drop=True),
                            unavailable=dict(b.unavailable))

    def index(self, code: str, date_from: object, date_to: object) -> pd.DataFrame:
        idx = self._between(self._all().index, date_from, date_to)
        return idx[idx["index_code"] == code].reset_index(drop=True)

    def flows(self, date_from: object, date_to: object, codes: object = None) -> pd.DataFrame:
        return self.daily(date_from, date_to, codes).flows
