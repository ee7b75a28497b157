"""DuckDB schema of the market store (DESIGN §2.1), versioned.

Prices in ``daily_prices`` are **raw** (as traded) unless the code's ``stocks.price_basis`` is
``'adjusted'`` (a source that only delivers adjusted prices, e.g. the pykrx/Naver adjusted series);
a code never mixes bases. ``adjustments`` holds one row per corporate-action event:
``ratio`` is the event's own price ratio and ``factor`` the cumulative multiplier that applies to every
row dated **before** ``date`` (product of the ratios of this and all later events).
Units: prices KRW, volume shares, value KRW (거래대금), market_cap KRW, change_ratio a fraction
(0.05 = +5 %), flows KRW (net buy value).
"""

from __future__ import annotations

SCHEMA_VERSION = 1

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

DDL: tuple[str, ...] = (
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
