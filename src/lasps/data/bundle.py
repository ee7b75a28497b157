"""``MarketBundle``: what every source hands to the store.

A bundle is a set of pandas DataFrames whose columns are exactly the store's columns
(:mod:`lasps.data.schema`). Sources fill what they have; a column they cannot provide is present
and all-NaN and named in ``unavailable`` with the reason (it is never approximated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from lasps.data.schema import FLOW_COLUMNS, INDEX_COLUMNS, PRICE_COLUMNS, STOCK_COLUMNS


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass
class MarketBundle:
    """Tables produced by a source, ready for :meth:`lasps.data.store.MarketStore.write_bundle`.

    Attributes
    ----------
    source:
        Source name recorded with the run (``synthetic``, ``pykrx``, ``files`` …).
    stocks:
        One row per code, columns :data:`~lasps.data.schema.STOCK_COLUMNS`.
    prices:
        Long daily prices, columns :data:`~lasps.data.schema.PRICE_COLUMNS` (raw or adjusted per
        ``stocks.price_basis``); ``date`` is a ``datetime64`` day.
    index:
        Index prices, columns :data:`~lasps.data.schema.INDEX_COLUMNS` (``1001`` KOSPI, ``2001`` KOSDAQ).
    flows:
        Investor flows, columns :data:`~lasps.data.schema.FLOW_COLUMNS` (KRW net buy value).
    unavailable:
        Field name -> reason for fields the source cannot provide (e.g. ``{"value": "..."}``).
    """

    source: str
    stocks: pd.DataFrame = field(default_factory=lambda: empty_frame(STOCK_COLUMNS))
    prices: pd.DataFrame = field(default_factory=lambda: empty_frame(PRICE_COLUMNS))
    index: pd.DataFrame = field(default_factory=lambda: empty_frame(INDEX_COLUMNS))
    flows: pd.DataFrame = field(default_factory=lambda: empty_frame(FLOW_COLUMNS))
    unavailable: dict[str, str] = field(default_factory=dict)
