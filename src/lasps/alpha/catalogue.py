"""The alpha catalogue: the 101 formulas of Kakushadze (2016), LASPS's relative-strength alphas 201–205,
and the user's own formulas (DESIGN §3.3).

Formulas are data. Each :class:`AlphaSpec` holds the formula string exactly as written in the paper's
Appendix A (function-name capitalisation included), its parsed canonical AST, and metadata derived from
it: ``inputs`` (data identifiers the formula reads) and ``needs_industry`` (uses ``IndNeutralize``) are
computed from the AST, never typed by hand; ``delay`` is the paper's (0 for #42, #48, #53, #54, 1
otherwise; informational — every LASPS value at row t uses data through the close of t).

Custom relative-strength alphas vs the KOSPI index (``1001``), from the work log (2026-02-24), written in
the same language (``index_close`` / ``index_returns`` are the index close and its daily return):

- 201 — 20-day return minus the index's 20-day return.
- 202 — RS trend: the RS line ``close / index_close``; its SMA5/SMA20 ratio; the 5-day change of that
  ratio.
- 203 — mean daily excess return (``returns - index_returns``) over the index-down days of the last 60
  sessions (NaN when the window has no down day or any missing return).
- 204 — the same over index-up days.
- 205 — 20-day mean of the relative drawdown ``close / ts_max(close, 20) - index_close /
  ts_max(index_close, 20)`` (full 20-day windows, i.e. min_periods 20). The first version used a 60-day
  point drawdown and tied hundreds of stocks at 0 (every stock at a new high); the mean over 20 days
  does not (work log, 2026-02-24 21:39).

User alphas (``lasps alpha add NAME FORMULA``) are validated by parsing and persisted in
``$LASPS_HOME/alphas/user_alphas.json`` (written atomically by :mod:`lasps.files`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from lasps.alpha.parser import Call, Node, ParseError, parse, variables
from lasps.errors import ConfigError, LaspsError
from lasps.files import write_json

__all__ = [
    "CUSTOM_IDS",
    "DELAY0",
    "INDUSTRY_IDS",
    "AlphaSpec",
    "Catalogue",
    "UnknownAlphaError",
    "alpha_name",
    "get_catalogue",
    "register_user_alpha",
    "user_alphas_path",
]

#: Alphas the paper marks as delay-0 (trade at the close that produced the signal).
DELAY0: frozenset[int] = frozenset({42, 48, 53, 54})
#: Alphas that use IndNeutralize (as listed in DESIGN §3.3); checked against the ASTs in the tests.
INDUSTRY_IDS: frozenset[int] = frozenset(
    {48, 56, 58, 59, 63, 67, 69, 70, 76, 79, 80, 82, 87, 89, 90, 91, 93, 97, 100}
)
CUSTOM_IDS: tuple[int, ...] = (201, 202, 203, 204, 205)

# id ; formula (verbatim from the paper, Appendix A) ; one-line description
_PAPER_TABLE = """
  1 ; (rank(Ts_ArgMax(SignedPower(((returns < 0) ? stddev(returns, 20) : close), 2.), 5)) - 0.5) ; Rank of the day (of the last 5) on which signed-squared close, or return volatility on down days, peaked; centred by -0.5
  2 ; (-1 * correlation(rank(delta(log(volume), 2)), rank(((close - open) / open)), 6)) ; Negative 6-day correlation of ranked 2-day change in log volume with ranked intraday return
  3 ; (-1 * correlation(rank(open), rank(volume), 10)) ; Negative 10-day correlation of ranked open with ranked volume
  4 ; (-1 * Ts_Rank(rank(low), 9)) ; Negative 9-day time-series rank of the cross-sectional rank of the low
  5 ; (rank((open - (sum(vwap, 10) / 10))) * (-1 * abs(rank((close - vwap))))) ; Open versus its 10-day mean VWAP, times the negative rank of the close-VWAP gap
  6 ; (-1 * correlation(open, volume, 10)) ; Negative 10-day correlation of open with volume
  7 ; ((adv20 < volume) ? ((-1 * ts_rank(abs(delta(close, 7)), 60)) * sign(delta(close, 7))) : (-1 * 1)) ; On above-average-volume days, negative 60-day ts-rank of the 7-day move size times its sign; otherwise -1
  8 ; (-1 * rank(((sum(open, 5) * sum(returns, 5)) - delay((sum(open, 5) * sum(returns, 5)), 10)))) ; Negative rank of the 10-day change in (5-day sum of open x 5-day sum of returns)
  9 ; ((0 < ts_min(delta(close, 1), 5)) ? delta(close, 1) : ((ts_max(delta(close, 1), 5) < 0) ? delta(close, 1) : (-1 * delta(close, 1)))) ; Follow the 1-day change when the last 5 changes all share its sign, otherwise reverse it
 10 ; rank(((0 < ts_min(delta(close, 1), 4)) ? delta(close, 1) : ((ts_max(delta(close, 1), 4) < 0) ? delta(close, 1) : (-1 * delta(close, 1))))) ; Rank of the alpha-9 rule over 4 days
 11 ; ((rank(ts_max((vwap - close), 3)) + rank(ts_min((vwap - close), 3))) * rank(delta(volume, 3))) ; (Rank of 3-day max plus rank of 3-day min of VWAP minus close) times rank of the 3-day volume change
 12 ; (sign(delta(volume, 1)) * (-1 * delta(close, 1))) ; Sign of the volume change times the negative price change (volume-confirmed reversal)
 13 ; (-1 * rank(covariance(rank(close), rank(volume), 5))) ; Negative rank of the 5-day covariance of ranked close and ranked volume
 14 ; ((-1 * rank(delta(returns, 3))) * correlation(open, volume, 10)) ; Negative rank of the 3-day change in returns times the 10-day open-volume correlation
 15 ; (-1 * sum(rank(correlation(rank(high), rank(volume), 3)), 3)) ; Negative 3-day sum of the ranked 3-day correlation of ranked high with ranked volume
 16 ; (-1 * rank(covariance(rank(high), rank(volume), 5))) ; Negative rank of the 5-day covariance of ranked high and ranked volume
 17 ; (((-1 * rank(ts_rank(close, 10))) * rank(delta(delta(close, 1), 1))) * rank(ts_rank((volume / adv20), 5))) ; Negative price ts-rank times rank of price acceleration times rank of relative-volume ts-rank
 18 ; (-1 * rank(((stddev(abs((close - open)), 5) + (close - open)) + correlation(close, open, 10)))) ; Negative rank of intraday volatility plus intraday move plus 10-day close-open correlation
 19 ; ((-1 * sign(((close - delay(close, 7)) + delta(close, 7)))) * (1 + rank((1 + sum(returns, 250))))) ; Negative sign of the 7-day move times (1 + rank of the 250-day cumulative return)
 20 ; (((-1 * rank((open - delay(high, 1)))) * rank((open - delay(close, 1)))) * rank((open - delay(low, 1)))) ; Negative product of the ranks of today's open against yesterday's high, close and low
 21 ; ((((sum(close, 8) / 8) + stddev(close, 8)) < (sum(close, 2) / 2)) ? (-1 * 1) : (((sum(close, 2) / 2) < ((sum(close, 8) / 8) - stddev(close, 8))) ? 1 : (((1 < (volume / adv20)) || ((volume / adv20) == 1)) ? 1 : (-1 * 1)))) ; Band rule: -1 above the 8-day mean+std band, +1 below the mean-std band, else by relative volume
 22 ; (-1 * (delta(correlation(high, volume, 5), 5) * rank(stddev(close, 20)))) ; Negative 5-day change of the high-volume correlation times rank of 20-day close volatility
 23 ; (((sum(high, 20) / 20) < high) ? (-1 * delta(high, 2)) : 0) ; When the high is above its 20-day mean, the negative 2-day change of the high; otherwise 0
 24 ; ((((delta((sum(close, 100) / 100), 100) / delay(close, 100)) < 0.05) || ((delta((sum(close, 100) / 100), 100) / delay(close, 100)) == 0.05)) ? (-1 * (close - ts_min(close, 100))) : (-1 * delta(close, 3))) ; If the 100-day mean rose by at most 5%, negative distance from the 100-day low; else negative 3-day change
 25 ; rank(((((-1 * returns) * adv20) * vwap) * (high - close))) ; Rank of (-returns x adv20 x vwap x (high - close))
 26 ; (-1 * ts_max(correlation(ts_rank(volume, 5), ts_rank(high, 5), 5), 3)) ; Negative 3-day max of the 5-day correlation between ts-ranked volume and ts-ranked high
 27 ; ((0.5 < rank((sum(correlation(rank(volume), rank(vwap), 6), 2) / 2.0))) ? (-1 * 1) : 1) ; -1 when the 2-day mean of the 6-day volume-VWAP rank correlation ranks above the median, else 1
 28 ; scale(((correlation(adv20, low, 5) + ((high + low) / 2)) - close)) ; Scaled (5-day adv20-low correlation + mid price - close)
 29 ; (min(product(rank(rank(scale(log(sum(ts_min(rank(rank((-1 * rank(delta((close - 1), 5))))), 2), 1))))), 1), 5) + ts_rank(delay((-1 * returns), 6), 5)) ; Five-day min of a heavily ranked/scaled 5-day close change, plus ts-rank of lagged negative returns
 30 ; (((1.0 - rank(((sign((close - delay(close, 1))) + sign((delay(close, 1) - delay(close, 2)))) + sign((delay(close, 2) - delay(close, 3)))))) * sum(volume, 5)) / sum(volume, 20)) ; (1 - rank of the 3-day up/down streak) times the share of 20-day volume traded in the last 5 days
 31 ; ((rank(rank(rank(decay_linear((-1 * rank(rank(delta(close, 10)))), 10)))) + rank((-1 * delta(close, 3)))) + sign(scale(correlation(adv20, low, 12)))) ; Ranked decayed negative 10-day change + rank of negative 3-day change + sign of adv20-low correlation
 32 ; (scale(((sum(close, 7) / 7) - close)) + (20 * scale(correlation(vwap, delay(close, 5), 230)))) ; Scaled 7-day mean reversion of close + 20 x scaled 230-day correlation of VWAP with lagged close
 33 ; rank((-1 * ((1 - (open / close))^1))) ; Rank of the negative intraday return (open/close - 1)
 34 ; rank(((1 - rank((stddev(returns, 2) / stddev(returns, 5)))) + (1 - rank(delta(close, 1))))) ; Rank of (1 - rank of short/long return volatility) + (1 - rank of the 1-day change)
 35 ; ((Ts_Rank(volume, 32) * (1 - Ts_Rank(((close + high) - low), 16))) * (1 - Ts_Rank(returns, 32))) ; Volume ts-rank x (1 - ts-rank of close+high-low) x (1 - ts-rank of returns)
 36 ; (((((2.21 * rank(correlation((close - open), delay(volume, 1), 15))) + (0.7 * rank((open - close)))) + (0.73 * rank(Ts_Rank(delay((-1 * returns), 6), 5)))) + rank(abs(correlation(vwap, adv20, 6)))) + (0.6 * rank((((sum(close, 200) / 200) - open) * (close - open))))) ; Weighted sum of five ranks: move vs lagged volume, open-close, lagged returns, VWAP-adv20, 200-day reversion
 37 ; (rank(correlation(delay((open - close), 1), close, 200)) + rank((open - close))) ; Rank of the 200-day correlation of lagged open-close with close, plus rank of open-close
 38 ; ((-1 * rank(Ts_Rank(close, 10))) * rank((close / open))) ; Negative rank of the 10-day ts-rank of close times rank of close/open
 39 ; ((-1 * rank((delta(close, 7) * (1 - rank(decay_linear((volume / adv20), 9)))))) * (1 + rank(sum(returns, 250)))) ; Negative rank of 7-day change x (1 - rank of decayed relative volume), x (1 + rank of 250-day return)
 40 ; ((-1 * rank(stddev(high, 10))) * correlation(high, volume, 10)) ; Negative rank of 10-day high volatility times the 10-day high-volume correlation
 41 ; (((high * low)^0.5) - vwap) ; Geometric mid price sqrt(high x low) minus VWAP
 42 ; (rank((vwap - close)) / rank((vwap + close))) ; Rank of (vwap - close) over rank of (vwap + close)
 43 ; (ts_rank((volume / adv20), 20) * ts_rank((-1 * delta(close, 7)), 8)) ; Ts-rank of relative volume times ts-rank of the negative 7-day change
 44 ; (-1 * correlation(high, rank(volume), 5)) ; Negative 5-day correlation of the high with ranked volume
 45 ; (-1 * ((rank((sum(delay(close, 5), 20) / 20)) * correlation(close, volume, 2)) * rank(correlation(sum(close, 5), sum(close, 20), 2)))) ; Negative product of lagged 20-day mean rank, 2-day close-volume correlation and short/long sum correlation rank
 46 ; ((0.25 < (((delay(close, 20) - delay(close, 10)) / 10) - ((delay(close, 10) - close) / 10))) ? (-1 * 1) : (((((delay(close, 20) - delay(close, 10)) / 10) - ((delay(close, 10) - close) / 10)) < 0) ? 1 : ((-1 * 1) * (close - delay(close, 1))))) ; Slope-change rule on the 20- and 10-day close slopes: -1, +1, or the negative 1-day change
 47 ; ((((rank((1 / close)) * volume) / adv20) * ((high * rank((high - close))) / (sum(high, 5) / 5))) - rank((vwap - delay(vwap, 5)))) ; Relative volume x inverse-price rank x high vs its 5-day mean, minus rank of the 5-day VWAP change
 48 ; (indneutralize(((correlation(delta(close, 1), delta(delay(close, 1), 1), 250) * delta(close, 1)) / close), IndClass.subindustry) / sum(((delta(close, 1) / delay(close, 1))^2), 250)) ; Industry-neutral 250-day autocorrelation of price changes x change/close, over 250-day sum of squared returns
 49 ; (((((delay(close, 20) - delay(close, 10)) / 10) - ((delay(close, 10) - close) / 10)) < (-1 * 0.1)) ? 1 : ((-1 * 1) * (close - delay(close, 1)))) ; +1 when the close slope decelerates by more than 0.1, else the negative 1-day change
 50 ; (-1 * ts_max(rank(correlation(rank(volume), rank(vwap), 5)), 5)) ; Negative 5-day max of the ranked 5-day correlation of ranked volume with ranked VWAP
 51 ; (((((delay(close, 20) - delay(close, 10)) / 10) - ((delay(close, 10) - close) / 10)) < (-1 * 0.05)) ? 1 : ((-1 * 1) * (close - delay(close, 1)))) ; +1 when the close slope decelerates by more than 0.05, else the negative 1-day change
 52 ; ((((-1 * ts_min(low, 5)) + delay(ts_min(low, 5), 5)) * rank(((sum(returns, 240) - sum(returns, 20)) / 220))) * ts_rank(volume, 5)) ; Rise of the 5-day low x rank of long-minus-short cumulative returns x volume ts-rank
 53 ; (-1 * delta((((close - low) - (high - close)) / (close - low)), 9)) ; Negative 9-day change of the close location value ((c-l)-(h-c))/(c-l)
 54 ; ((-1 * ((low - close) * (open^5))) / ((low - high) * (close^5))) ; Negative (low-close) x open^5 over (low-high) x close^5
 55 ; (-1 * correlation(rank(((close - ts_min(low, 12)) / (ts_max(high, 12) - ts_min(low, 12)))), rank(volume), 6)) ; Negative 6-day correlation of the ranked 12-day stochastic %K with ranked volume
 56 ; (0 - (1 * (rank((sum(returns, 10) / sum(sum(returns, 2), 3))) * rank((returns * cap))))) ; Negative rank of 10-day vs short-window return sums times rank of returns x market cap
 57 ; (0 - (1 * ((close - vwap) / decay_linear(rank(ts_argmax(close, 30)), 2)))) ; Negative (close - vwap) over the decayed rank of the 30-day argmax of close
 58 ; (-1 * Ts_Rank(decay_linear(correlation(IndNeutralize(vwap, IndClass.sector), volume, 3.92795), 7.89291), 5.50322)) ; Negative ts-rank of the decayed correlation of sector-neutral VWAP with volume
 59 ; (-1 * Ts_Rank(decay_linear(correlation(IndNeutralize(((vwap * 0.728317) + (vwap * (1 - 0.728317))), IndClass.industry), volume, 4.25197), 16.2289), 8.19648)) ; Negative ts-rank of the decayed correlation of industry-neutral VWAP with volume
 60 ; (0 - (1 * ((2 * scale(rank(((((close - low) - (high - close)) / (high - low)) * volume)))) - scale(rank(ts_argmax(close, 10)))))) ; Negative (2 x scaled rank of volume-weighted close location - scaled rank of the 10-day argmax of close)
 61 ; (rank((vwap - ts_min(vwap, 16.1219))) < rank(correlation(vwap, adv180, 17.9282))) ; 1 when the rank of VWAP above its 16-day low is below the rank of the VWAP-adv180 correlation
 62 ; ((rank(correlation(vwap, sum(adv20, 22.4101), 9.91009)) < rank(((rank(open) + rank(open)) < (rank(((high + low) / 2)) + rank(high))))) * -1) ; Negative indicator: VWAP vs adv20-sum correlation rank below the rank of an open-vs-mid/high rank test
 63 ; ((rank(decay_linear(delta(IndNeutralize(close, IndClass.industry), 2.25164), 8.22237)) - rank(decay_linear(correlation(((vwap * 0.318108) + (open * (1 - 0.318108))), sum(adv180, 37.2467), 13.557), 12.2883))) * -1) ; Negative (rank of decayed industry-neutral close change - rank of decayed VWAP/open vs adv180 correlation)
 64 ; ((rank(correlation(sum(((open * 0.178404) + (low * (1 - 0.178404))), 12.7054), sum(adv120, 12.7054), 16.6208)) < rank(delta(((((high + low) / 2) * 0.178404) + (vwap * (1 - 0.178404))), 3.69741))) * -1) ; Negative indicator comparing open/low vs adv120 correlation rank with the mid/VWAP change rank
 65 ; ((rank(correlation(((open * 0.00817205) + (vwap * (1 - 0.00817205))), sum(adv60, 8.6911), 6.40374)) < rank((open - ts_min(open, 13.635)))) * -1) ; Negative indicator comparing open/VWAP vs adv60 correlation rank with the open-above-13-day-low rank
 66 ; ((rank(decay_linear(delta(vwap, 3.51013), 7.23052)) + Ts_Rank(decay_linear(((((low * 0.96633) + (low * (1 - 0.96633))) - vwap) / (open - ((high + low) / 2))), 11.4157), 6.72611)) * -1) ; Negative (rank of decayed VWAP change + ts-rank of decayed (low - vwap)/(open - mid))
 67 ; ((rank((high - ts_min(high, 2.14593)))^rank(correlation(IndNeutralize(vwap, IndClass.sector), IndNeutralize(adv20, IndClass.subindustry), 6.02936))) * -1) ; Negative rank of the high above its 2-day low raised to the rank of sector-neutral VWAP vs adv20 correlation
 68 ; ((Ts_Rank(correlation(rank(high), rank(adv15), 8.91644), 13.9333) < rank(delta(((close * 0.518371) + (low * (1 - 0.518371))), 1.06157))) * -1) ; Negative indicator: ts-rank of high-adv15 rank correlation below the rank of the close/low blend change
 69 ; ((rank(ts_max(delta(IndNeutralize(vwap, IndClass.industry), 2.72412), 4.79344))^Ts_Rank(correlation(((close * 0.490655) + (vwap * (1 - 0.490655))), adv20, 4.92416), 9.0615)) * -1) ; Negative rank of max industry-neutral VWAP change raised to the ts-rank of close/VWAP vs adv20 correlation
 70 ; ((rank(delta(vwap, 1.29456))^Ts_Rank(correlation(IndNeutralize(close, IndClass.industry), adv50, 17.8256), 17.9171)) * -1) ; Negative rank of the VWAP change raised to the ts-rank of industry-neutral close vs adv50 correlation
 71 ; max(Ts_Rank(decay_linear(correlation(Ts_Rank(close, 3.43976), Ts_Rank(adv180, 12.0647), 18.0175), 4.20501), 15.6948), Ts_Rank(decay_linear((rank(((low + open) - (vwap + vwap)))^2), 16.4662), 4.4388)) ; Max of two ts-ranks: decayed close/adv180 ts-rank correlation, decayed squared rank of low+open-2 vwap
 72 ; (rank(decay_linear(correlation(((high + low) / 2), adv40, 8.93345), 10.1519)) / rank(decay_linear(correlation(Ts_Rank(vwap, 3.72469), Ts_Rank(volume, 18.5188), 6.86671), 2.95011))) ; Rank of decayed mid-adv40 correlation over rank of decayed VWAP-volume ts-rank correlation
 73 ; (max(rank(decay_linear(delta(vwap, 4.72775), 2.91864)), Ts_Rank(decay_linear(((delta(((open * 0.147155) + (low * (1 - 0.147155))), 2.03608) / ((open * 0.147155) + (low * (1 - 0.147155)))) * -1), 3.33829), 16.7411)) * -1) ; Negative max of the rank of decayed VWAP change and the ts-rank of the decayed open/low blend return
 74 ; ((rank(correlation(close, sum(adv30, 37.4843), 15.1365)) < rank(correlation(rank(((high * 0.0261661) + (vwap * (1 - 0.0261661)))), rank(volume), 11.4791))) * -1) ; Negative indicator: close vs adv30-sum correlation rank below high/VWAP vs volume rank correlation rank
 75 ; (rank(correlation(vwap, volume, 4.24304)) < rank(correlation(rank(low), rank(adv50), 12.4413))) ; 1 when the VWAP-volume correlation rank is below the rank of the low-adv50 rank correlation
 76 ; (max(rank(decay_linear(delta(vwap, 1.24383), 11.8259)), Ts_Rank(decay_linear(Ts_Rank(correlation(IndNeutralize(low, IndClass.sector), adv81, 8.14941), 19.569), 17.1543), 19.383)) * -1) ; Negative max of rank of decayed VWAP change and ts-rank of sector-neutral low vs adv81 correlation
 77 ; min(rank(decay_linear(((((high + low) / 2) + high) - (vwap + high)), 20.0451)), rank(decay_linear(correlation(((high + low) / 2), adv40, 3.1614), 5.64125))) ; Min of the rank of decayed (mid - vwap) and the rank of decayed mid-adv40 correlation
 78 ; (rank(correlation(sum(((low * 0.352233) + (vwap * (1 - 0.352233))), 19.7428), sum(adv40, 19.7428), 6.83313))^rank(correlation(rank(vwap), rank(volume), 5.77492))) ; Rank of low/VWAP-sum vs adv40-sum correlation raised to the rank of VWAP-volume rank correlation
 79 ; (rank(delta(IndNeutralize(((close * 0.60733) + (open * (1 - 0.60733))), IndClass.sector), 1.23438)) < rank(correlation(Ts_Rank(vwap, 3.60973), Ts_Rank(adv150, 9.18637), 14.6644))) ; 1 when the rank of sector-neutral close/open blend change is below the VWAP/adv150 ts-rank correlation rank
 80 ; ((rank(Sign(delta(IndNeutralize(((open * 0.868128) + (high * (1 - 0.868128))), IndClass.industry), 4.04545)))^Ts_Rank(correlation(high, adv10, 5.11456), 5.53756)) * -1) ; Negative rank of the sign of industry-neutral open/high change raised to the high-adv10 correlation ts-rank
 81 ; ((rank(Log(product(rank((rank(correlation(vwap, sum(adv10, 49.6054), 8.47743))^4)), 14.9655))) < rank(correlation(rank(vwap), rank(volume), 5.07914))) * -1) ; Negative indicator: rank of log product of ranked VWAP-adv10 correlation^4 below VWAP-volume correlation rank
 82 ; (min(rank(decay_linear(delta(open, 1.46063), 14.8717)), Ts_Rank(decay_linear(correlation(IndNeutralize(volume, IndClass.sector), ((open * 0.634196) + (open * (1 - 0.634196))), 17.4842), 6.92131), 13.4283)) * -1) ; Negative min of rank of decayed open change and ts-rank of decayed sector-neutral volume vs open correlation
 83 ; ((rank(delay(((high - low) / (sum(close, 5) / 5)), 2)) * rank(rank(volume))) / (((high - low) / (sum(close, 5) / 5)) / (vwap - close))) ; Rank of lagged range/mean close x rank of volume, over (range/mean close)/(vwap - close)
 84 ; SignedPower(Ts_Rank((vwap - ts_max(vwap, 15.3217)), 20.7127), delta(close, 4.96796)) ; Ts-rank of VWAP below its 15-day high, signed-powered by the 4-day close change
 85 ; (rank(correlation(((high * 0.876703) + (close * (1 - 0.876703))), adv30, 9.61331))^rank(correlation(Ts_Rank(((high + low) / 2), 3.70596), Ts_Rank(volume, 10.1595), 7.11408))) ; Rank of high/close vs adv30 correlation raised to the rank of mid-volume ts-rank correlation
 86 ; ((Ts_Rank(correlation(close, sum(adv20, 14.7444), 6.00049), 20.4195) < rank(((open + close) - (vwap + open)))) * -1) ; Negative indicator: ts-rank of the close vs adv20-sum correlation below the rank of close - vwap
 87 ; (max(rank(decay_linear(delta(((close * 0.369701) + (vwap * (1 - 0.369701))), 1.91233), 2.65461)), Ts_Rank(decay_linear(abs(correlation(IndNeutralize(adv81, IndClass.industry), close, 13.4132)), 4.89768), 14.4535)) * -1) ; Negative max of rank of decayed close/VWAP change and ts-rank of abs industry-neutral adv81-close correlation
 88 ; min(rank(decay_linear(((rank(open) + rank(low)) - (rank(high) + rank(close))), 8.06882)), Ts_Rank(decay_linear(correlation(Ts_Rank(close, 8.44728), Ts_Rank(adv60, 20.6966), 8.01266), 6.65053), 2.61957)) ; Min of rank of decayed (open+low ranks - high+close ranks) and ts-rank of decayed close/adv60 correlation
 89 ; (Ts_Rank(decay_linear(correlation(((low * 0.967285) + (low * (1 - 0.967285))), adv10, 6.94279), 5.51607), 3.79744) - Ts_Rank(decay_linear(delta(IndNeutralize(vwap, IndClass.industry), 3.48158), 10.1466), 15.3012)) ; Ts-rank of decayed low-adv10 correlation minus ts-rank of decayed industry-neutral VWAP change
 90 ; ((rank((close - ts_max(close, 4.66719)))^Ts_Rank(correlation(IndNeutralize(adv40, IndClass.subindustry), low, 5.38375), 3.21856)) * -1) ; Negative rank of close below its 4-day high raised to ts-rank of subindustry-neutral adv40 vs low correlation
 91 ; ((Ts_Rank(decay_linear(decay_linear(correlation(IndNeutralize(close, IndClass.industry), volume, 9.74928), 16.398), 3.83219), 4.8667) - rank(decay_linear(correlation(vwap, adv30, 4.01303), 2.6809))) * -1) ; Negative (ts-rank of double-decayed industry-neutral close-volume correlation - rank of decayed VWAP-adv30)
 92 ; min(Ts_Rank(decay_linear(((((high + low) / 2) + close) < (low + open)), 14.7221), 18.8683), Ts_Rank(decay_linear(correlation(rank(low), rank(adv30), 7.58555), 6.94024), 6.80584)) ; Min of ts-rank of a decayed (mid+close < low+open) indicator and ts-rank of decayed low-adv30 rank correlation
 93 ; (Ts_Rank(decay_linear(correlation(IndNeutralize(vwap, IndClass.industry), adv81, 17.4193), 19.848), 7.54455) / rank(decay_linear(delta(((close * 0.524434) + (vwap * (1 - 0.524434))), 2.77377), 16.2664))) ; Ts-rank of decayed industry-neutral VWAP vs adv81 correlation over rank of decayed close/VWAP change
 94 ; ((rank((vwap - ts_min(vwap, 11.5783)))^Ts_Rank(correlation(Ts_Rank(vwap, 19.6462), Ts_Rank(adv60, 4.02992), 18.0926), 2.70756)) * -1) ; Negative rank of VWAP above its 11-day low raised to the ts-rank of VWAP/adv60 ts-rank correlation
 95 ; (rank((open - ts_min(open, 12.4105))) < Ts_Rank((rank(correlation(sum(((high + low) / 2), 19.1351), sum(adv40, 19.1351), 12.8742))^5), 11.7584)) ; 1 when the rank of open above its 12-day low is below the ts-rank of ranked mid/adv40 correlation^5
 96 ; (max(Ts_Rank(decay_linear(correlation(rank(vwap), rank(volume), 3.83878), 4.16783), 8.38151), Ts_Rank(decay_linear(Ts_ArgMax(correlation(Ts_Rank(close, 7.45404), Ts_Rank(adv60, 4.13242), 3.65459), 12.6556), 14.0365), 13.4143)) * -1) ; Negative max of ts-ranks of decayed VWAP-volume correlation and of decayed argmax of close/adv60 correlation
 97 ; ((rank(decay_linear(delta(IndNeutralize(((low * 0.721001) + (vwap * (1 - 0.721001))), IndClass.industry), 3.3705), 20.4523)) - Ts_Rank(decay_linear(Ts_Rank(correlation(Ts_Rank(low, 7.87871), Ts_Rank(adv60, 17.255), 4.97547), 18.5925), 15.7152), 6.71659)) * -1) ; Negative (rank of decayed industry-neutral low/VWAP change - ts-rank of decayed low/adv60 correlation ts-rank)
 98 ; (rank(decay_linear(correlation(vwap, sum(adv5, 26.4719), 4.58418), 7.18088)) - rank(decay_linear(Ts_Rank(Ts_ArgMin(correlation(rank(open), rank(adv15), 20.8187), 8.62571), 6.95668), 8.07206))) ; Rank of decayed VWAP vs adv5-sum correlation minus rank of decayed ts-rank of open/adv15 correlation argmin
 99 ; ((rank(correlation(sum(((high + low) / 2), 19.8975), sum(adv60, 19.8975), 8.8136)) < rank(correlation(low, volume, 6.28259))) * -1) ; Negative indicator: mid vs adv60 sum correlation rank below the low-volume correlation rank
100 ; (0 - (1 * (((1.5 * scale(indneutralize(indneutralize(rank(((((close - low) - (high - close)) / (high - low)) * volume)), IndClass.subindustry), IndClass.subindustry))) - scale(indneutralize((correlation(close, rank(adv20), 5) - rank(ts_argmin(close, 30))), IndClass.subindustry))) * (volume / adv20)))) ; Negative relative-volume-weighted difference of scaled neutralised close-location and correlation ranks
101 ; ((close - open) / ((high - low) + .001)) ; Intraday return relative to the day's range: (close - open) / (high - low + 0.001)
"""

_CUSTOM_TABLE = """
201 ; ((close / delay(close, 20)) - 1) - ((index_close / delay(index_close, 20)) - 1) ; 20-day return minus the KOSPI 20-day return (relative strength)
202 ; delta((sum(close / index_close, 5) / 5) / (sum(close / index_close, 20) / 20), 5) ; RS trend: 5-day change of the SMA5/SMA20 ratio of the RS line close / KOSPI
203 ; sum((index_returns < 0) * (returns - index_returns), 60) / sum(index_returns < 0, 60) ; Mean excess return over KOSPI on index-down days in the last 60 sessions (defence)
204 ; sum((index_returns > 0) * (returns - index_returns), 60) / sum(index_returns > 0, 60) ; Mean excess return over KOSPI on index-up days in the last 60 sessions (offence)
205 ; sum((close / ts_max(close, 20)) - (index_close / ts_max(index_close, 20)), 20) / 20 ; 20-day mean drawdown from the 20-day high relative to KOSPI's (recovery strength)
"""

_USER_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_RESERVED_RE = re.compile(r"alpha_?[0-9]+")


class UnknownAlphaError(LaspsError):
    """An alpha id or name that is neither in the catalogue nor a registered user alpha."""


def _uses_indneutralize(ast: Node) -> bool:
    return any(isinstance(n, Call) and n.name == "indneutralize" for n in ast.walk())


def alpha_name(alpha_id: int) -> str:
    """``1`` -> ``'alpha_001'``; ``201`` -> ``'alpha_201'``."""
    return f"alpha_{alpha_id:03d}"


@dataclass(frozen=True)
class AlphaSpec:
    """One alpha of the catalogue.

    Attributes
    ----------
    name:
        ``alpha_001`` … ``alpha_101``, ``alpha_201`` … ``alpha_205``, or the user's name.
    formula:
        The formula text as written (the paper's own spelling for 1–101).
    ast:
        The parsed canonical AST (``str(ast)`` is the canonical form used for caching and resume).
    id:
        Numeric id for paper and custom alphas, ``None`` for user alphas.
    kind:
        ``'paper'``, ``'custom'`` (201–205) or ``'user'``.
    delay:
        The paper's delay (0 or 1); informational.
    description:
        One plain-language line.
    needs_industry:
        The DESIGN §3.3 / work-log grouping of "industry alphas" for the paper alphas (#48, 56, 58, …;
        #56 is in the group for its ``cap`` input, not for IndNeutralize); for other alphas, whether the
        formula uses ``IndNeutralize``. Availability is decided from ``inputs``, not from this flag.
    inputs:
        Data identifiers the formula reads, sorted (``adv20``, ``close``, ``indclass.industry`` …).
    """

    name: str
    formula: str
    ast: Node
    id: int | None
    kind: Literal["paper", "custom", "user"]
    delay: int
    description: str
    inputs: tuple[str, ...]
    needs_industry: bool

    @classmethod
    def build(cls, name: str, formula: str, *, id: int | None, kind: Literal["paper", "custom", "user"],
              delay: int = 1, description: str = "") -> AlphaSpec:
        """Parse ``formula`` and derive ``inputs`` from the AST (raises :class:`ParseError`)."""
        ast = parse(formula)
        uses = _uses_indneutralize(ast)
        needs = (id in INDUSTRY_IDS) if kind == "paper" else uses
        return cls(name=name, formula=formula, ast=ast, id=id, kind=kind, delay=delay,
                   description=description, inputs=tuple(sorted(variables(ast))), needs_industry=needs)

    @property
    def canonical(self) -> str:
        """Canonical form of the formula (lower-case, de-aliased, fully parenthesised)."""
        return str(self.ast)

    @property
    def uses_indneutralize(self) -> bool:
        """True when the formula uses ``IndNeutralize`` (reads an industry classification)."""
        return _uses_indneutralize(self.ast)

    @property
    def needs_index(self) -> bool:
        """True when the formula reads the KOSPI index (``index_close`` / ``index_returns``)."""
        return any(i.startswith("index_") for i in self.inputs)


def _table(text: str) -> Iterator[tuple[int, str, str]]:
    for line in text.strip().splitlines():
        ident, formula, description = (part.strip() for part in line.split(" ; ", 2))
        yield int(ident), formula, description


@lru_cache(maxsize=1)
def _builtin() -> tuple[AlphaSpec, ...]:
    specs = [
        AlphaSpec.build(alpha_name(i), f, id=i, kind="paper", delay=0 if i in DELAY0 else 1, description=d)
        for i, f, d in _table(_PAPER_TABLE)
    ]
    specs += [
        AlphaSpec.build(alpha_name(i), f, id=i, kind="custom", delay=1, description=d)
        for i, f, d in _table(_CUSTOM_TABLE)
    ]
    return tuple(specs)


class Catalogue(Mapping[str, AlphaSpec]):
    """Name -> :class:`AlphaSpec`, in order: paper 1–101, custom 201–205, then user alphas by name."""

    def __init__(self, specs: list[AlphaSpec] | tuple[AlphaSpec, ...]) -> None:
        self._specs: dict[str, AlphaSpec] = {s.name: s for s in specs}

    def __getitem__(self, name: str) -> AlphaSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def resolve(self, key: int | str) -> AlphaSpec:
        """Find an alpha by id (``44``, ``'44'``, ``'044'``, ``'#44'``) or name (``'alpha_044'``, user name).

        Raises :class:`UnknownAlphaError` naming the key and how to list the catalogue.
        """
        if isinstance(key, bool):
            raise UnknownAlphaError(f"unknown alpha {key!r}")
        if isinstance(key, int):
            spec = self._specs.get(alpha_name(key))
        else:
            text = str(key).strip()
            low = text.lower().lstrip("#")
            spec = self._specs.get(text) or self._specs.get(low)
            if spec is None:
                m = re.fullmatch(r"(?:alpha_?)?0*([0-9]+)", low)
                if m:
                    spec = self._specs.get(alpha_name(int(m.group(1))))
        if spec is None:
            raise UnknownAlphaError(
                f"unknown alpha {key!r}",
                fix="paper alphas are 1-101, custom 201-205; `lasps alpha list` shows all, "
                    "`lasps alpha add NAME FORMULA` registers your own",
            )
        return spec

    def resolve_many(self, keys: list[int | str] | tuple[int | str, ...]) -> list[AlphaSpec]:
        """Resolve several keys, dropping duplicates (first occurrence wins, order kept)."""
        out: dict[str, AlphaSpec] = {}
        for k in keys:
            spec = self.resolve(k)
            out.setdefault(spec.name, spec)
        return list(out.values())

    def by_kind(self, kind: str) -> list[AlphaSpec]:
        """All specs of one kind (``paper``, ``custom``, ``user``)."""
        return [s for s in self._specs.values() if s.kind == kind]


def user_alphas_path(home: Path | str) -> Path:
    """``$LASPS_HOME/alphas/user_alphas.json``."""
    return Path(home) / "alphas" / "user_alphas.json"


def _load_user_entries(home: Path | str) -> dict[str, dict[str, str]]:
    path = user_alphas_path(home)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read user alphas from {path}: {exc}", where=str(path),
                          fix="fix the JSON by hand or delete the file and re-add the alphas") from exc
    entries = data.get("alphas") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ConfigError(f"{path} has no 'alphas' object", where=str(path),
                          fix="fix the JSON by hand or delete the file and re-add the alphas")
    return entries


def _user_specs(home: Path | str) -> list[AlphaSpec]:
    specs = []
    path = user_alphas_path(home)
    for name, entry in sorted(_load_user_entries(home).items()):
        if not isinstance(entry, dict) or not isinstance(entry.get("formula"), str):
            raise ConfigError(f"user alpha {name!r} in {path} has no formula", where=str(path))
        try:
            specs.append(AlphaSpec.build(name, entry["formula"], id=None, kind="user",
                                         description=str(entry.get("description", ""))))
        except ParseError as exc:
            raise ConfigError(f"user alpha {name!r} in {path} does not parse: {exc.message} "
                              f"at column {exc.column}", where=str(path),
                              fix=f"re-add it: lasps alpha add {name} \"FORMULA\" --replace") from exc
    return specs


def get_catalogue(home: Path | str | None = None) -> Catalogue:
    """The built-in alphas (1–101, 201–205) plus, when ``home`` is given, the user alphas stored there."""
    specs: list[AlphaSpec] = list(_builtin())
    if home is not None:
        specs += _user_specs(home)
    return Catalogue(specs)


def register_user_alpha(name: str, formula: str, home: Path | str, description: str = "",
                        *, replace: bool = False, provenance: Mapping[str, object] | None = None) -> AlphaSpec:
    """Validate and store a user alpha in ``$LASPS_HOME/alphas/user_alphas.json``.

    The name must be lower-case ``[a-z][a-z0-9_]*`` (at most 48 characters) and not look like a
    built-in (``alpha_001``); the formula must parse and read at least one data input. Raises
    :class:`ParseError` (bad formula) or :class:`ConfigError` (bad or taken name); the file is only
    replaced (atomically) after validation. ``provenance`` (JSON-able; e.g. the mining run that found
    the formula) is stored with the entry.
    """
    if not _USER_NAME_RE.fullmatch(name) or _RESERVED_RE.fullmatch(name):
        raise ConfigError(
            f"invalid alpha name {name!r}", where="NAME",
            fix="use lower-case letters, digits and '_', starting with a letter (e.g. my_reversal); "
                "alpha_NNN names are reserved for the built-in alphas",
        )
    spec = AlphaSpec.build(name, formula, id=None, kind="user", description=description)
    if not spec.inputs:
        raise ConfigError(f"formula {formula!r} reads no data (it is a constant)", where="FORMULA",
                          fix="use at least one of open high low close volume vwap returns cap adv{d}")
    entries = _load_user_entries(home)
    if name in entries and not replace:
        raise ConfigError(f"user alpha {name!r} already exists ({entries[name].get('formula')})",
                          where="NAME", fix="choose another name, or pass --replace to overwrite it")
    entries[name] = {
        "formula": formula,
        "canonical": spec.canonical,
        "description": description,
        "added": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if provenance is not None:
        entries[name]["provenance"] = dict(provenance)  # type: ignore[assignment]
    payload = {"version": 1, "alphas": dict(sorted(entries.items()))}
    write_json(user_alphas_path(home), payload)
    return spec
