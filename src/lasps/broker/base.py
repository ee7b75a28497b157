"""The broker contract (DESIGN §7): order requests, orders, fills, positions, states and errors.

Every broker — paper, Kiwoom REST, Kiwoom OpenAPI+ — implements :class:`Broker`. Orders pass the
guard and the journal first (:class:`lasps.broker.manager.OrderManager`); a broker on its own does no
safety checks beyond what the real counterpart would do.

Order life cycle::

    PENDING ──▶ SENT ──▶ ACKNOWLEDGED ──▶ PARTIALLY_FILLED ──▶ FILLED
       │          │            │                 │
       │          ╰──▶ UNKNOWN ╯ (timeout/error: outcome not known; resolved by reconciliation)
       ╰──▶ REJECTED (guard or broker)        ╰──▶ CANCELLED (user, 15:20 auto-cancel, expiry)

``PENDING`` means *journaled, not yet handed to the broker*; ``SENT`` *handed over, no answer yet*.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from lasps.broker.order_numbers import same_order_no
from lasps.errors import LaspsError


class Side(enum.StrEnum):
    """Order side."""

    BUY = "buy"
    SELL = "sell"


class OrderState(enum.StrEnum):
    """Order states (see the module docstring)."""

    PENDING = "PENDING"
    SENT = "SENT"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"

    @property
    def terminal(self) -> bool:
        """True for FILLED, CANCELLED and REJECTED: nothing can change any more."""
        return self in TERMINAL_STATES

    @property
    def open(self) -> bool:
        """True for orders that live at the broker and may still fill (ACKNOWLEDGED, PARTIALLY_FILLED)."""
        return self in (OrderState.ACKNOWLEDGED, OrderState.PARTIALLY_FILLED)


TERMINAL_STATES = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED})
#: States whose outcome must be settled by reconciliation with the broker.
UNSETTLED_STATES = frozenset({OrderState.PENDING, OrderState.SENT, OrderState.UNKNOWN})


@dataclass(frozen=True)
class OrderRequest:
    """What the user asks for. ``price=None`` is a market order; quantities are whole shares."""

    code: str
    side: Side
    qty: int
    price: float | None = None
    client_order_id: str | None = None

    @property
    def is_market(self) -> bool:
        return self.price is None

    def describe(self) -> str:
        """One line for confirmations and logs, e.g. ``BUY 005380 × 10 @ 250,000 (limit)``."""
        px = "market" if self.price is None else f"{self.price:,.0f} (limit)"
        return f"{self.side.value.upper()} {self.code} × {self.qty:,} @ {px}"


@dataclass(frozen=True)
class Order:
    """An order as the journal or a broker sees it.

    ``broker_order_id`` is the broker's number (Kiwoom ``ord_no``); ``client_order_id`` is LASPS's own
    id, written to the journal before the order is sent (brokers that cannot carry it leave it None in
    their reports and reconciliation matches by code/side/qty/price/time).
    """

    code: str
    side: Side
    qty: int
    price: float | None
    state: OrderState
    broker: str = ""
    client_order_id: str | None = None
    broker_order_id: str | None = None
    filled_qty: int = 0
    avg_fill_price: float | None = None
    reason: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def remaining_qty(self) -> int:
        return max(self.qty - self.filled_qty, 0)

    @property
    def is_market(self) -> bool:
        return self.price is None

    def with_(self, **changes: Any) -> Order:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (enums as values, datetimes as ISO strings)."""
        out = asdict(self)
        out["side"] = self.side.value
        out["state"] = self.state.value
        for key in ("created_at", "updated_at"):
            v = out[key]
            out[key] = v.isoformat() if v is not None else None
        return out


@dataclass(frozen=True)
class Fill:
    """One execution (체결)."""

    code: str
    side: Side
    qty: int
    price: float
    time: dt.datetime
    broker_order_id: str | None = None
    client_order_id: str | None = None
    fee: float = 0.0
    tax: float = 0.0
    fill_id: str | None = None


@dataclass(frozen=True)
class Position:
    """A holding: whole shares and the average purchase price (KRW)."""

    code: str
    qty: int
    avg_price: float
    last_price: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "qty": self.qty, "avg_price": self.avg_price, "last_price": self.last_price}


@runtime_checkable
class Broker(Protocol):
    """What every broker implements (DESIGN §7).

    ``name`` is the ``--broker`` value; ``live`` is True when orders reach a real-money market (the
    real Kiwoom host or OpenAPI+), where a fixed ``LASPS_CLOCK`` is refused.
    """

    name: str
    live: bool

    def buy(self, code: str, qty: int, price: float | None = None, *,
            client_order_id: str | None = None) -> Order:
        """Place a buy order (``price=None``: market). Returns the acknowledged order."""
        ...

    def sell(self, code: str, qty: int, price: float | None = None, *,
             client_order_id: str | None = None) -> Order:
        """Place a sell order (``price=None``: market)."""
        ...

    def cancel(self, order_id: str, *, known: Order | None = None) -> Order:
        """Cancel the unfilled remainder of the broker order ``order_id``.

        ``known``: the order as the journal knows it (code, side, quantities); a broker may use it
        instead of listing its open orders first.
        """
        ...

    def open_orders(self) -> list[Order]:
        """Orders that may still fill (unfilled or partially filled)."""
        ...

    def recent_orders(self) -> list[Order]:
        """Every order the broker can still report (open and done; Kiwoom: today's)."""
        ...

    def positions(self) -> list[Position]:
        """Current holdings."""
        ...

    def cash(self) -> float:
        """Cash (KRW) available for orders."""
        ...


def place(broker: Broker, request: OrderRequest) -> Order:
    """Send ``request`` to ``broker`` through its ``buy``/``sell`` method."""
    fn = broker.buy if request.side is Side.BUY else broker.sell
    return fn(request.code, request.qty, request.price, client_order_id=request.client_order_id)


# --- errors ---------------------------------------------------------------------------------------
class OrderRejected(LaspsError):
    """The guard or the broker refused the order; nothing was (or will be) executed."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None,
                 order: Order | None = None) -> None:
        self.reason = what
        self.order = order
        super().__init__(what, where=where, fix=fix)


class BrokerError(LaspsError):
    """The broker could not be reached or answered with an error (a query, a cancel …)."""


class BrokerUncertain(BrokerError):
    """An order was handed to the broker but its outcome is unknown (timeout, connection lost, 5xx).

    The journal marks such an order UNKNOWN; reconciliation settles it. It is never re-sent blindly.
    """


class OrderNotFound(BrokerError):
    """The broker (or the journal) does not know this order id."""


def find_order(orders: Sequence[Order], order_id: str) -> Order | None:
    """The order in ``orders`` whose client id is ``order_id`` or whose broker order number is ``order_id``
    in any zero padding (:func:`~lasps.broker.order_numbers.same_order_no`)."""
    for o in orders:
        if order_id == o.client_order_id or same_order_no(order_id, o.broker_order_id):
            return o
    return None


__all__ = [
    "TERMINAL_STATES", "UNSETTLED_STATES", "Broker", "BrokerError", "BrokerUncertain", "Fill", "Order",
    "OrderNotFound", "OrderRejected", "OrderRequest", "OrderState", "Position", "Side", "find_order", "place",
]
