"""Guarded, journaled orders (DESIGN §7): paper trading, Kiwoom REST and Kiwoom OpenAPI+.

Start with :func:`open_manager` (``--broker paper`` by default)::

    from lasps.broker import open_manager
    with open_manager("paper") as desk:
        order = desk.buy("005380", 10, 250_000)      # guard → countdown → journal → broker
        desk.open_orders(), desk.positions(), desk.cash()

Modules: :mod:`~lasps.broker.base` (protocol, orders, states), :mod:`~lasps.broker.guard`,
:mod:`~lasps.broker.journal`, :mod:`~lasps.broker.manager` (reconciliation),
:mod:`~lasps.broker.paper`, :mod:`~lasps.broker.kiwoom_rest`, :mod:`~lasps.broker.kiwoom_ocx`,
:mod:`~lasps.broker.api` (FastAPI router), :mod:`~lasps.broker.picks` (picks → orders).
"""

from __future__ import annotations

from lasps.broker.base import (
    Broker,
    BrokerError,
    BrokerUncertain,
    Fill,
    Order,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    OrderState,
    Position,
    Side,
)
from lasps.broker.factory import open_manager
from lasps.broker.guard import Guard, GuardReport, countdown
from lasps.broker.journal import Journal
from lasps.broker.manager import OrderManager
from lasps.broker.picks import orders_from_picks

__all__ = [
    "Broker", "BrokerError", "BrokerUncertain", "Fill", "Guard", "GuardReport", "Journal", "Order", "OrderManager",
    "OrderNotFound", "OrderRejected", "OrderRequest", "OrderState", "Position", "Side", "countdown", "open_manager",
    "orders_from_picks",
]
