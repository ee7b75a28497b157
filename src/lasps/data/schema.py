"""DuckDB schema of the market store (DESIGN §2.1), versioned.

Prices in ``daily_prices`` are **raw** (as traded) unless the code's ``stocks.price_basis`` is
``'adjusted'`` (a source that only delivers adjusted prices, e.g. the pykrx/Naver adjusted series);
a code never mixes bases. ``adjustments`` holds one row per corporate-action event:
``ratio`` is the event's own price ratio and ``factor`` the cumulative multiplier that applies to every
row dated **before** ``date`` (product of the ratios of this and all later events).
Units: prices KRW, volume shares, value KRW (거래대금), market_cap KRW, change_ratio a fraction
(0.05 = +5 %), flows KRW (net buy value).

This module holds **every** table of ``lasps.duckdb``: the market tables (:data:`MARKET_DDL`), the
research outputs of ``lasps eval`` / ``lasps daily`` (``eval_*``, :data:`RESEARCH_DDL`), the backtest
outputs (``backtest_runs``, ``backtest_daily``, ``trades``), the daily picks and the deep-learning
predictions. One :data:`SCHEMA_VERSION` covers them all; :data:`MIGRATIONS` upgrade an older store
when it is opened for writing (:meth:`lasps.data.store.MarketStore.migrate`). Version history:

1. market tables only (research/backtest/picks/prediction tables were created by their writers);
2. every table defined here and created at migration.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

PRICE_COLUMNS: tuple[str, ...] = (
    "code", "date", "open", "high", "low", "close", "volume", "value", "market_cap", "shares",
    "change_ratio",
)
STOCK_COLUMNS: tuple[str, ...] = (
    "code", "name", "market", "kind", "sector_code", "sector_name", "sector_id", "listed_date",
    "delisted_date", "price_basis",
)
INDEX_COLUMNS: tuple[str, ...] = (
    "index_code", "date", "open", "high", "low", "close", "volume", "value",
)
FLOW_COLUMNS: tuple[str, ...] = (
    "code", "date", "foreign_net", "institution_net", "individual_net", "foreign_holding_ratio",
)

#: A code whose market the source does not say: stored (all its prices kept), reported on import, and
#: outside every market-based universe (``default``, ``kospi``, ``kosdaq``, ``topN``); ``all`` and code
#: lists include it.
MARKET_UNKNOWN = "UNKNOWN"
MARKETS = ("KOSPI", "KOSDAQ", "KONEX", MARKET_UNKNOWN)
KINDS = ("stock", "preferred", "etf", "etn", "spac", "reit", "other")
PRICE_BASES = ("raw", "adjusted")

MARKET_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS stocks (
        code VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        sector_code VARCHAR,
        sector_name VARCHAR,
        sector_id SMALLINT,
        listed_date DATE,
        delisted_date DATE,
        price_basis VARCHAR NOT NULL DEFAULT 'raw',
        source VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS daily_prices (
        code VARCHAR NOT NULL,
        date DATE NOT NULL,
        open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
        volume DOUBLE, value DOUBLE, market_cap DOUBLE, shares DOUBLE, change_ratio DOUBLE,
        PRIMARY KEY (code, date)
    )""",
    """CREATE TABLE IF NOT EXISTS adjustments (
        code VARCHAR NOT NULL, date DATE NOT NULL, ratio DOUBLE NOT NULL, factor DOUBLE NOT NULL,
        PRIMARY KEY (code, date)
    )""",
    """CREATE TABLE IF NOT EXISTS index_prices (
        index_code VARCHAR NOT NULL, date DATE NOT NULL,
        open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, value DOUBLE,
        PRIMARY KEY (index_code, date)
    )""",
    """CREATE TABLE IF NOT EXISTS investor_flows (
        code VARCHAR NOT NULL, date DATE NOT NULL,
        foreign_net DOUBLE, institution_net DOUBLE, individual_net DOUBLE, foreign_holding_ratio DOUBLE,
        PRIMARY KEY (code, date)
    )""",
    """CREATE TABLE IF NOT EXISTS field_status (
        field VARCHAR PRIMARY KEY, available BOOLEAN NOT NULL, reason VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS source_runs (
        run_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, status VARCHAR NOT NULL,
        first_date DATE, last_date DATE, rows_written BIGINT, detail VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS load_chunks (
        job VARCHAR NOT NULL, chunk VARCHAR NOT NULL, done_at TIMESTAMP NOT NULL,
        PRIMARY KEY (job, chunk)
    )""",
    """CREATE TABLE IF NOT EXISTS quality_findings (
        check_run VARCHAR NOT NULL, code VARCHAR, date DATE, rule VARCHAR NOT NULL,
        severity VARCHAR NOT NULL, detail VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS unmapped_sectors (
        code VARCHAR PRIMARY KEY, sector_code VARCHAR, sector_name VARCHAR, reported_at TIMESTAMP
    )""",
)

RESEARCH_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS eval_runs (
        run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, command VARCHAR, horizon INTEGER, entry VARCHAR,
        quantiles INTEGER, n_alphas INTEGER, n_variants INTEGER, first_date DATE, last_date DATE,
        split_note VARCHAR, params VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS eval_results (
        run_id VARCHAR, variant VARCHAR, split VARCHAR, n_days INTEGER, coverage DOUBLE, ic_mean DOUBLE,
        ic_std DOUBLE, ic_ir DOUBLE, ic_t_nw DOUBLE, hit_rate DOUBLE, q_spread DOUBLE, ls_return DOUBLE,
        lo_return DOUBLE, turnover DOUBLE, PRIMARY KEY (run_id, variant, split))""",
    """CREATE TABLE IF NOT EXISTS eval_quantiles (
        run_id VARCHAR, variant VARCHAR, split VARCHAR, quantile INTEGER, mean_return DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS eval_ic_daily (
        run_id VARCHAR, date DATE, known_date DATE, variant VARCHAR, ic DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS eval_walkforward (
        run_id VARCHAR, approach VARCHAR, label VARCHAR, first VARCHAR, last VARCHAR, n_periods INTEGER,
        lo_total DOUBLE, lo_ann DOUBLE, lo_sharpe DOUBLE, ls_total DOUBLE, ls_ann DOUBLE, ls_sharpe DOUBLE,
        ls_hit DOUBLE, market_ann DOUBLE, turnover DOUBLE, variants VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS eval_wf_periods (
        run_id VARCHAR, approach VARCHAR, date DATE, known_date DATE, lo DOUBLE, ls DOUBLE, market DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS eval_selections (
        run_id VARCHAR, date DATE, window_first DATE, window_last DATE, rank INTEGER, variant VARCHAR,
        score DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS eval_overfit (
        run_id VARCHAR, kind VARCHAR, chosen VARCHAR, sharpe DOUBLE, sharpe_ann DOUBLE, sr0 DOUBLE,
        dsr DOUBLE, n_periods INTEGER, skew DOUBLE, kurtosis DOUBLE, n_trials INTEGER, pbo DOUBLE,
        n_blocks INTEGER, n_combinations INTEGER, notes VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS eval_clusters (
        run_id VARCHAR, alpha VARCHAR, cluster INTEGER, cluster_size INTEGER)""",
)
#: Research tables that keep only the latest run.
RESEARCH_LATEST_ONLY: tuple[str, ...] = ("eval_ic_daily",)

BACKTEST_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS backtest_runs (
        run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, strategy VARCHAR, variants VARCHAR,
        start_date DATE, end_date DATE, parameters VARCHAR,
        total_return DOUBLE, annual_return DOUBLE, volatility DOUBLE, sharpe DOUBLE, max_drawdown DOUBLE,
        win_rate DOUBLE, profit_factor DOUBLE, turnover DOUBLE, fees DOUBLE, taxes DOUBLE,
        excess_return DOUBLE, benchmark_return DOUBLE, final_value DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS backtest_daily (
        run_id VARCHAR, date DATE, cash DOUBLE, positions_value DOUBLE, total_value DOUBLE,
        benchmark DOUBLE, PRIMARY KEY (run_id, date))""",
    """CREATE TABLE IF NOT EXISTS trades (
        run_id VARCHAR, seq INTEGER, date DATE, code VARCHAR, side VARCHAR, qty BIGINT, price DOUBLE,
        fee DOUBLE, tax DOUBLE, reason VARCHAR, PRIMARY KEY (run_id, seq))""",
)

PICK_COLUMNS: tuple[str, ...] = ("date", "rank", "code", "name", "votes", "rank_sum", "score", "close",
                                 "nominated_by", "created_at")
PICKS_DDL = """CREATE TABLE IF NOT EXISTS picks (
    date DATE, rank INTEGER, code VARCHAR, name VARCHAR, votes INTEGER, rank_sum DOUBLE, score DOUBLE,
    close DOUBLE, nominated_by VARCHAR, created_at TIMESTAMP, PRIMARY KEY (date, rank))"""

PREDICTION_COLUMNS: tuple[str, ...] = ("model", "date", "code", "name", "sector_id", "sector_name", "p_sell",
                                       "p_hold", "p_buy", "score", "pred_class", "pred_return", "rank", "task",
                                       "checkpoint", "created_at")
PREDICTIONS_DDL = """CREATE TABLE IF NOT EXISTS predictions (
    model VARCHAR NOT NULL, date DATE NOT NULL, code VARCHAR NOT NULL, name VARCHAR, sector_id INTEGER,
    sector_name VARCHAR, p_sell DOUBLE, p_hold DOUBLE, p_buy DOUBLE, score DOUBLE, pred_class VARCHAR,
    pred_return DOUBLE, rank INTEGER, task VARCHAR, checkpoint VARCHAR, created_at TIMESTAMP,
    PRIMARY KEY (model, date, code))"""

#: Tables keyed by ``run_id`` (written with :meth:`~lasps.data.queries.StoreQueries.replace_run_rows`).
RUN_TABLES: tuple[str, ...] = ("eval_runs", "eval_results", "eval_quantiles", "eval_ic_daily", "eval_walkforward",
                               "eval_wf_periods", "eval_selections", "eval_overfit", "eval_clusters",
                               "backtest_runs", "backtest_daily", "trades")

#: Every table, in creation order (all ``CREATE TABLE IF NOT EXISTS``: running them again is a no-op).
DDL: tuple[str, ...] = (*MARKET_DDL, *RESEARCH_DDL, *BACKTEST_DDL, PICKS_DDL, PREDICTIONS_DDL)

#: ``version -> statements`` that bring a store from ``version - 1`` to ``version`` (run in order, in the
#: migration's transaction, after :data:`DDL`; version 2 only adds tables, which :data:`DDL` creates).
MIGRATIONS: dict[int, tuple[str, ...]] = {2: ()}
