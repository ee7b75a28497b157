"""The embedded synthetic KRX market (lasps.data.sources.synthetic, DESIGN §2.6).

Properties are checked on a small market (300 listings × 3 years); the planted-signal test uses
400 listings × 4 years, where the regime t-statistics are ~5–17.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lasps.data.schema import FLOW_COLUMNS, INDEX_COLUMNS, KINDS, PRICE_COLUMNS, STOCK_COLUMNS
from lasps.data.sectors import KRX_SECTOR_INDEX, NUM_SECTORS, map_sector
from lasps.data.sources.synthetic import (
    SyntheticConfig,
    SyntheticMarket,
    generate_synthetic,
    regime_labels,
    simulate_market,
)
from lasps.data.store import MarketStore
from lasps.data.universe import classify_kind
from lasps.errors import ConfigError
from lasps.krx import rules as krx_rules
from lasps.krx.calendar import sessions


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return simulate_market(300, 3, seed=11)


@pytest.fixture(scope="module")
def prices(market: SyntheticMarket) -> pd.DataFrame:
    """Prices joined with the listing metadata, sorted by (code, date), with the previous row's close."""
    p = market.bundle.prices.merge(market.bundle.stocks[["code", "market", "kind", "listed_date"]], on="code")
    p = p.sort_values(["code", "date"], kind="stable").reset_index(drop=True)
    p["prev_close"] = p.groupby("code")["close"].shift(1)
    return p


# -- determinism and shape ----------------------------------------------------------------------------
def test_deterministic_and_seed_dependent() -> None:
    a = generate_synthetic(40, 0.5, 3)
    b = generate_synthetic(40, 0.5, 3)
    c = generate_synthetic(40, 0.5, 4)
    for name in ("stocks", "prices", "index", "flows"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.prices["close"].equals(c.prices["close"])
    assert not a.stocks["code"].equals(c.stocks["code"])


def test_tables_have_store_columns(market: SyntheticMarket) -> None:
    b = market.bundle
    assert b.source == "synthetic"
    assert tuple(b.stocks.columns) == STOCK_COLUMNS
    assert tuple(b.prices.columns) == PRICE_COLUMNS
    assert tuple(b.index.columns) == INDEX_COLUMNS
    assert tuple(b.flows.columns) == FLOW_COLUMNS
    assert b.unavailable == {}
    assert (b.stocks["price_basis"] == "raw").all()
    assert not b.prices.duplicated(["code", "date"]).any()
    assert b.prices[list(PRICE_COLUMNS[2:])].notna().all().all()
    # dates are the calendar's sessions of the last 3 years before the default end
    expected = sessions(np.datetime64("2026-10-30") - np.timedelta64(1096, "D"), "2026-10-30")
    np.testing.assert_array_equal(market.dates, expected)
    np.testing.assert_array_equal(np.sort(b.prices["date"].unique()).astype("datetime64[D]"), expected)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="stocks"):
        generate_synthetic(10, 1, 0)
    with pytest.raises(ConfigError, match="years"):
        generate_synthetic(100, 0, 0)
    with pytest.raises(ConfigError, match="seed"):
        generate_synthetic(100, 1, -1)


# -- listings -----------------------------------------------------------------------------------------
def test_kinds_markets_names_codes(market: SyntheticMarket) -> None:
    s = market.bundle.stocks
    assert len(s) == 300
    assert s["code"].is_unique and s["code"].str.fullmatch(r"\d{6}").all()
    assert set(s["kind"]) == set(KINDS) - {"other"}
    assert 0.85 <= (s["kind"] == "stock").mean() <= 0.90
    common = s[s["kind"] == "stock"]
    kospi_share = (common["market"] == "KOSPI").sum() / common["market"].isin(["KOSPI", "KOSDAQ"]).sum()
    assert 0.3 <= kospi_share <= 0.4
    assert (common["market"] == "KONEX").any()
    # the universe classifier recognises every listing from its code and name alone
    assert [classify_kind(c, n) for c, n in zip(s["code"], s["name"], strict=True)] == list(s["kind"])
    etf = s[s["kind"] == "etf"]
    assert etf["name"].str.match(r"(KODEX|TIGER|KBSTAR|ARIRANG|HANARO|KOSEF|ACE|SOL) ").all()
    assert etf["code"].str.isdigit().all()  # ETF codes are digits too
    assert s.loc[s["kind"] == "spac", "name"].str.contains("스팩").all()
    assert s.loc[s["kind"] == "reit", "name"].str.endswith("리츠").all()
    assert s.loc[s["kind"] == "etn", "name"].str.endswith("ETN").all()
    pref = s[s["kind"] == "preferred"]
    assert pref["code"].str.endswith("5").all() and pref["name"].str.endswith("우").all()
    by_code = s.set_index("code")
    for code, name in zip(pref["code"], pref["name"], strict=True):
        parent = by_code.loc[code[:5] + "0"]
        assert parent["kind"] == "stock" and parent["name"] + "우" == name
    assert (s.loc[s["kind"] != "preferred", "code"].str[-1] == "0").all()


def test_sectors(market: SyntheticMarket) -> None:
    s = market.bundle.stocks
    common = s[s["kind"] == "stock"]
    assert common["sector_code"].isin(list(KRX_SECTOR_INDEX)).all()
    assert common.loc[common["market"] == "KOSPI", "sector_code"].str.startswith("10").all()  # 10xx
    assert common.loc[common["market"] != "KOSPI", "sector_code"].str.startswith("2").all()  # 20xx/21xx
    for code, name, sid in zip(common["sector_code"], common["sector_name"], common["sector_id"], strict=True):
        assert map_sector(code, None) == sid and KRX_SECTOR_INDEX[code][0] == name
    main = common[common["market"].isin(["KOSPI", "KOSDAQ"])]
    assert set(main["sector_id"]) == set(range(NUM_SECTORS))
    kosdaq = main[main["market"] == "KOSDAQ"]
    assert kosdaq["sector_id"].value_counts().idxmax() == 11  # KOSDAQ 제조 heavy
    others = s[s["kind"] != "stock"]
    assert others["sector_code"].isna().all() and others["sector_id"].isna().all()


def test_listings_delistings_and_row_span(market: SyntheticMarket, prices: pd.DataFrame) -> None:
    s = market.bundle.stocks.set_index("code")
    span = prices.groupby("code")["date"].agg(["min", "max", "size"])
    first, last = market.dates[0], market.dates[-1]
    ipo = s["listed_date"] > pd.Timestamp(first)
    delisted = s["delisted_date"].notna()
    assert ipo.sum() >= 10 and delisted.sum() >= 5
    assert (s.loc[ipo & (s["kind"] == "stock")].shape[0]) >= 5
    # rows exist exactly from the listing day (or the period start) to the day before delisting
    start = s["listed_date"].where(ipo, pd.Timestamp(first))
    assert (span["min"] == start.reindex(span.index)).all()
    last_row = s["delisted_date"].reindex(span.index)
    prev_session = {pd.Timestamp(d): pd.Timestamp(market.dates[k - 1]) for k, d in enumerate(market.dates) if k}
    has_end = last_row.notna()
    assert (span.loc[has_end, "max"] == last_row[has_end].map(prev_session)).all()
    assert (span.loc[~has_end, "max"] == pd.Timestamp(last)).all()
    # SPACs live 1.5–3 years at most inside the period
    spac = s[s["kind"] == "spac"]
    assert ((spac["delisted_date"] - spac["listed_date"]).dropna() <= pd.Timedelta(days=3 * 366)).all()


def test_halts_are_missing_rows(market: SyntheticMarket, prices: pd.DataFrame) -> None:
    halts = market.halts
    assert len(halts) >= 3
    by_code = dict(tuple(prices.groupby("code")))
    n_sessions = len(market.dates)
    for h in halts.itertuples():
        rows = by_code[h.code]
        assert not rows["date"].between(h.start, h.end).any()
        assert (rows["date"] < h.start).any() and (rows["date"] > h.end).any()
        resume = rows[rows["date"] > h.end].iloc[0]
        # the resumption day is quoted against the last close before the halt (no false adjustment)
        assert resume["change_ratio"] == pytest.approx(resume["close"] / resume["prev_close"] - 1, abs=6e-5)
    # halted sessions are the only gaps inside each listing's span
    span = prices.groupby("code")["date"].agg(["min", "max", "size"])
    idx = {pd.Timestamp(d): k for k, d in enumerate(market.dates)}
    expected = span["max"].map(idx) - span["min"].map(idx) + 1
    gaps = (expected - span["size"]).sort_index()
    halted = halts.groupby("code")["sessions"].sum().reindex(gaps.index, fill_value=0)
    assert (gaps == halted).all()
    assert gaps.sum() < 0.05 * n_sessions * len(span)


# -- prices -------------------------------------------------------------------------------------------
def test_ohlc_vwap_value_cap(prices: pd.DataFrame) -> None:
    p = prices
    assert (p[["open", "high", "low", "close"]] > 0).all().all()
    assert (p["low"] <= p[["open", "close"]].min(axis=1)).all()
    assert (p["high"] >= p[["open", "close"]].max(axis=1)).all()
    assert (p["volume"] >= 1).all() and (p["volume"] == np.round(p["volume"])).all()
    vwap = p["value"] / p["volume"]
    assert ((vwap >= p["low"] - 1e-9) & (vwap <= p["high"] + 1e-9)).all()
    assert (p["value"] == np.round(p["value"])).all()
    np.testing.assert_allclose(p["market_cap"], p["close"] * p["shares"])
    assert (p["shares"] == np.round(p["shares"])).all()
    # realistic price levels
    assert 3_000 < p["close"].median() < 30_000
    assert ((p["close"] >= 1_000) & (p["close"] <= 500_000)).mean() > 0.95


def test_prices_on_tick_and_within_limits(market: SyntheticMarket, prices: pd.DataFrame) -> None:
    p = prices
    dates = p["date"].to_numpy().astype("datetime64[D]")
    mk, kind = p["market"].to_numpy(), p["kind"].to_numpy()
    for col in ("open", "high", "low", "close"):
        assert krx_rules.is_on_tick(p[col].to_numpy(), dates, mk, kind).all(), col
    # base price: the previous row's close, or the exchange's adjusted base on a split day
    base = p["prev_close"].copy()
    sp = market.splits.set_index(["code", "date"])["base_price"]
    key = pd.MultiIndex.from_frame(p[["code", "date"]])
    on_split = key.isin(sp.index)
    base[on_split] = sp.reindex(key[on_split]).to_numpy()
    has = base.notna().to_numpy()
    lo, up = krx_rules.price_limits(base.to_numpy()[has], dates[has], mk[has], kind[has])
    for col in ("open", "high", "low", "close"):
        v = p[col].to_numpy()[has]
        assert ((v >= lo) & (v <= up)).all(), col
    np.testing.assert_allclose(p["change_ratio"].to_numpy()[has], (p["close"] / base).to_numpy()[has] - 1,
                               atol=5.1e-5)
    # some days hit the ±30 % band and ±15 % never applies in 2023-2026
    assert (p["change_ratio"].abs() > 0.2).any()


def test_return_and_volume_dynamics(market: SyntheticMarket, prices: pd.DataFrame) -> None:
    common = prices[(prices["kind"] == "stock") & prices["listed_date"].lt(pd.Timestamp(market.dates[0]))]
    r = common["change_ratio"]
    assert r.std() < 0.06 and r.kurt() > 3  # fat tails
    turnover = np.log(common["volume"] / common["shares"])
    assert np.corrcoef(turnover, np.abs(r))[0, 1] > 0.05  # volume rises with |return|
    lag = turnover.groupby(common["code"]).shift(1)
    ok = lag.notna()
    assert np.corrcoef(turnover[ok], lag[ok])[0, 1] > 0.3  # autocorrelated volume
    # volatility clustering in the market: |index returns| are autocorrelated
    kospi = market.bundle.index.query("index_code == '1001'")["close"].to_numpy()
    a = np.abs(np.diff(np.log(kospi)))
    assert np.corrcoef(a[1:], a[:-1])[0, 1] > 0.05


def test_splits_planted_and_derived_by_store(market: SyntheticMarket, prices: pd.DataFrame, tmp_path) -> None:
    splits = market.splits
    assert len(splits) >= 3
    assert set(splits["share_multiplier"]) <= {2.0, 5.0, 10.0, 0.1}
    p = prices.set_index(["code", "date"])
    for sp in splits.itertuples():
        row = p.loc[(sp.code, sp.date)]
        assert row["prev_close"] == sp.prev_close
        # the raw close jumps, the change ratio is vs the adjusted base: close/(1+cr) != previous close
        assert abs(row["close"] / (1 + row["change_ratio"]) / row["prev_close"] - 1) > 0.3
        assert row["close"] / (1 + row["change_ratio"]) == pytest.approx(sp.base_price, rel=1e-4)
        assert sp.ratio == pytest.approx(1 / sp.share_multiplier, rel=5e-3)
    with MarketStore(tmp_path) as store:
        store.write_bundle(market.bundle)
        adj = store.query_df("SELECT code, date, ratio, factor FROM adjustments ORDER BY code, date")
        n_rows = store.scalar("SELECT count(*) FROM daily_prices")
    assert n_rows == len(market.bundle.prices)
    adj["date"] = adj["date"].astype("datetime64[s]")
    merged = adj.merge(splits, on=["code", "date"], how="outer", indicator=True, suffixes=("", "_planted"))
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    np.testing.assert_allclose(merged["ratio"], merged["ratio_planted"], rtol=1e-3)


# -- indices and flows --------------------------------------------------------------------------------
def test_indices(market: SyntheticMarket) -> None:
    idx = market.bundle.index
    assert set(idx["index_code"]) == {"1001", "2001"}
    for code, lo, hi in (("1001", 2_000, 3_000), ("2001", 700, 1_000)):
        g = idx[idx["index_code"] == code]
        assert len(g) == len(market.dates)
        assert lo <= g["close"].median() <= hi
        assert g["close"].min() > lo * 0.4 and g["close"].max() < hi * 2.5
        assert (g["low"] <= g[["open", "close"]].min(axis=1)).all()
        assert (g["high"] >= g[["open", "close"]].max(axis=1)).all()
        assert (g["volume"] > 0).all() and (g["value"] > 0).all()
        assert np.log(g["close"]).diff().std() * np.sqrt(252) < 0.4


def test_flows(market: SyntheticMarket, prices: pd.DataFrame) -> None:
    f = market.bundle.flows.merge(prices[["code", "date", "value"]], on=["code", "date"])
    assert len(f) == len(market.bundle.prices)
    total = f["foreign_net"] + f["institution_net"] + f["individual_net"]
    gross = f[["foreign_net", "institution_net", "individual_net"]].abs().sum(axis=1)
    assert (total.abs() <= 0.15 * f["value"] + 1).all()
    assert total.abs().sum() < 0.1 * gross.sum()  # the three sides net to ~0 (rest: other corporations)
    assert f["foreign_holding_ratio"].between(0, 1).all()
    assert f["foreign_holding_ratio"].std() > 0


# -- planted signals ----------------------------------------------------------------------------------
def test_regime_schedule() -> None:
    lab = regime_labels(100)
    assert "".join(lab) == "A" * 40 + "B" * 20 + "A" * 20 + "B" * 20
    assert "".join(regime_labels(10, SyntheticConfig(regime_breaks=(0.5,), first_regime="B"))) == "B" * 5 + "A" * 5


def _daily_rank_ic(signal: pd.DataFrame, fwd: pd.DataFrame) -> pd.Series:
    """Spearman correlation across codes on each date (NaN where fewer than 20 pairs)."""
    m = signal.notna() & fwd.notna()
    xr = signal.where(m).rank(axis=1)
    yr = fwd.where(m).rank(axis=1)
    xr = xr.sub(xr.mean(axis=1), axis=0)
    yr = yr.sub(yr.mean(axis=1), axis=0)
    ic = (xr * yr).sum(axis=1) / np.sqrt((xr**2).sum(axis=1) * (yr**2).sum(axis=1))
    return ic.where(m.sum(axis=1) >= 20)


@pytest.mark.slow
def test_planted_signals_switch_with_regime() -> None:
    mk = simulate_market(400, 4, seed=7)
    b = mk.bundle
    st = b.stocks
    elig = st.loc[(st["kind"] == "stock") & st["market"].isin(["KOSPI", "KOSDAQ"]), "code"]
    p = b.prices[b.prices["code"].isin(elig)].sort_values(["code", "date"])
    # split-adjusted close from the exchange's change ratios; split-free volume = turnover
    p = p.assign(adj=(1 + p["change_ratio"]).groupby(p["code"]).cumprod(), turnover=p["volume"] / p["shares"])
    adj = p.pivot(index="date", columns="code", values="adj")
    turnover = p.pivot(index="date", columns="code", values="turnover")
    ret = p.pivot(index="date", columns="code", values="change_ratio")
    signals = {
        "reversal": -(adj / adj.shift(5) - 1),  # -(C_t / C_{t-5} - 1)
        "divergence": -adj.rolling(10).corr(turnover),  # -corr(C, V, 10)
    }
    fwd = ret.shift(-1)  # next session's return
    regime_next = pd.Series(mk.regimes, index=pd.DatetimeIndex(mk.dates)).shift(-1).reindex(adj.index)
    stats = {}
    for name, sig in signals.items():
        ic = _daily_rank_ic(sig, fwd)
        for reg in "AB":
            x = ic[(regime_next == reg).to_numpy()].dropna()
            stats[name, reg] = (x.mean(), x.mean() / x.std() * np.sqrt(len(x)))
    # reversal: planted +0.05 in A, -0.025 in B
    assert stats["reversal", "A"][1] > 3 and 0.02 < stats["reversal", "A"][0] < 0.08
    assert stats["reversal", "B"][1] < -2  # reversed out of sample
    # divergence: absent in A (only its overlap with reversal), planted +0.05 in B
    assert stats["divergence", "B"][1] > 3 and 0.02 < stats["divergence", "B"][0] < 0.08
    assert stats["divergence", "A"][0] < 0.3 * stats["divergence", "B"][0]
    # the in-sample winner on the first 80 % (mostly regime A) is reversal, which fails in the last 20 %
    cut = adj.index[int(0.8 * len(adj))]
    rev_ic = _daily_rank_ic(signals["reversal"], fwd)
    div_ic = _daily_rank_ic(signals["divergence"], fwd)
    assert rev_ic[:cut].mean() > div_ic[:cut].mean()
    assert rev_ic[cut:].mean() < 0 < div_ic[cut:].mean()


def test_synthetic_source_protocol_slices_the_generated_market():
    from lasps.config import get_settings
    from lasps.data.sources.base import Source
    from lasps.data.sources.registry import get_source

    src = get_source("synthetic", get_settings(), stocks=60, years=1, seed=2)
    assert isinstance(src, Source)
    full = generate_synthetic(stocks=60, years=1, seed=2)
    day = full.prices["date"].iloc[len(full.prices) // 2]
    part = src.daily(day, day)
    assert set(part.prices["date"]) == {day}
    assert len(part.prices) == (full.prices["date"] == day).sum()
    assert set(src.index("1001", day, day)["index_code"]) == {"1001"}
    assert len(src.stocks(day)) <= len(full.stocks)
