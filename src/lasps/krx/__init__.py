"""The KRX market model (DESIGN §1, §2.5, §5): the layer below ``data/``.

==============  ===========================================================================
``calendar``    XKRX trading days (:func:`~lasps.krx.calendar.sessions`, ``is_session``), ``KST``
``sessions``    session times of a day (auctions, late opens, CSAT), the latest completed session
``rules``       tick sizes and daily price limits, vectorised over prices, dates, markets and kinds
``rules_nb``    the same rules as scalar numba functions, for kernels (the synthetic market)
``costs``       :class:`~lasps.krx.costs.CostModel` — commission, sell tax by T+2 settlement date, slippage
==============  ===========================================================================

Everything above (``data``, ``backtest``, ``broker``) imports these from below; this package imports
nothing of LASPS except :mod:`lasps.errors` and :mod:`lasps.dates`. Import the modules directly
(``from lasps.krx.rules import price_limits``): this package file imports nothing, so ``lasps.krx.rules``
does not pull in numba or exchange_calendars.
"""
