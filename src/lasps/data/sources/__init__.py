"""Market data sources (DESIGN §2.2): synthetic (default), pykrx, FinanceDataReader, files, kiwoom.

Every source returns :class:`~lasps.data.bundle.MarketBundle` objects; pick one by name with
:func:`lasps.data.sources.registry.get_source`.
"""
