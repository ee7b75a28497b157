"""Token-protected order endpoints (a FastAPI ``APIRouter``) for the service (DESIGN §9).

Every endpoint needs ``Authorization: Bearer <LASPS_API_TOKEN>`` (compared with
:func:`hmac.compare_digest`); without it the answer is 401. If ``LASPS_API_TOKEN`` is not set at all
the order API is disabled (503). Orders placed here pass the same guard and journal as the CLI; there
is no confirmation countdown — the token is the confirmation.

=======  ========================  ====================================================
method   path                      what
=======  ========================  ====================================================
GET      ``/orders``               journaled orders (``?all=true``: every day)
POST     ``/orders``               place ``{code, side, qty, price?, client_order_id?}``
DELETE   ``/orders/{order_id}``    cancel (client or broker id)
POST     ``/orders/cancel-all``    cancel every unfilled order
POST     ``/orders/reconcile``     reconcile the journal with the broker
GET      ``/orders/positions``     positions and cash
=======  ========================  ====================================================

Every path takes ``?broker=paper|kiwoom-rest|kiwoom-ocx`` (default ``LASPS_BROKER``).
"""

# No ``from __future__ import annotations`` here: FastAPI must see the dependency types defined inside
# make_router() at definition time.
import hmac
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lasps.broker.base import BrokerError, OrderNotFound, OrderRejected, OrderRequest, OrderState, Side
from lasps.broker.factory import open_manager
from lasps.broker.manager import OrderManager
from lasps.broker.redact import get_logger, redact
from lasps.broker.settings import get_broker_settings
from lasps.errors import LaspsError

log = get_logger(__name__)

ManagerFactory = Callable[[str | None], OrderManager]
TokenSource = Callable[[], str | None]


class PlaceOrder(BaseModel):
    """Body of ``POST /orders``. ``price`` omitted/null = market order."""

    code: str = Field(min_length=1, max_length=12)
    side: Literal["buy", "sell"]
    qty: float
    price: float | None = None
    client_order_id: str | None = Field(default=None, max_length=64)


def _default_factory(broker: str | None) -> OrderManager:
    return open_manager(broker)


def _default_token() -> str | None:
    tok = get_broker_settings().api_token
    return tok.get_secret_value() if tok is not None and tok.get_secret_value() else None


def _error(exc: LaspsError) -> dict[str, Any]:
    return {"error": redact(exc.what), "where": exc.where, "fix": exc.fix}


def make_router(manager_factory: ManagerFactory | None = None, token: TokenSource | None = None) -> APIRouter:
    """The order router. ``manager_factory(broker_name)`` opens an :class:`OrderManager` (closed after
    each request); ``token()`` returns the expected bearer token (default: ``LASPS_API_TOKEN``)."""
    factory = manager_factory or _default_factory
    token_source = token or _default_token

    def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
        expected = token_source()
        if not expected:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                detail="order API disabled: set LASPS_API_TOKEN on the server")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing or invalid bearer token",
                                headers={"WWW-Authenticate": "Bearer"})

    def manager(broker: Annotated[str | None, Query()] = None) -> Iterator[OrderManager]:
        try:
            m = factory(broker)
        except LaspsError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=_error(exc)) from None
        try:
            yield m
        finally:
            m.close()

    router = APIRouter(prefix="/orders", tags=["orders"], dependencies=[Depends(require_token)])
    Manager = Annotated[OrderManager, Depends(manager)]

    @router.get("")
    def list_orders(m: Manager, all: bool = False) -> dict[str, Any]:
        """Journaled orders of this broker (today's, or ``all``)."""
        return {"broker": m.name, "orders": [o.as_dict() for o in m.orders(today_only=not all)]}

    @router.post("")
    def place_order(body: PlaceOrder, m: Manager) -> JSONResponse:
        """Place an order through the guard and the journal (no countdown)."""
        qty: Any = int(body.qty) if float(body.qty).is_integer() else body.qty
        req = OrderRequest(body.code, Side(body.side), qty, body.price, body.client_order_id)
        try:
            order = m.place(req)
        except OrderRejected as exc:
            detail = _error(exc) | {"order": exc.order.as_dict() if exc.order else None}
            return JSONResponse(detail, status_code=422)
        except LaspsError as exc:
            return JSONResponse(_error(exc), status_code=status.HTTP_409_CONFLICT)
        code = status.HTTP_202_ACCEPTED if order.state is OrderState.UNKNOWN else status.HTTP_200_OK
        return JSONResponse({"order": order.as_dict()}, status_code=code)

    @router.delete("/{order_id}")
    def cancel_order(order_id: str, m: Manager) -> JSONResponse:
        """Cancel one order."""
        try:
            return JSONResponse({"order": m.cancel(order_id).as_dict()})
        except OrderNotFound as exc:
            return JSONResponse(_error(exc), status_code=status.HTTP_404_NOT_FOUND)
        except BrokerError as exc:
            return JSONResponse(_error(exc), status_code=status.HTTP_409_CONFLICT)

    @router.post("/cancel-all")
    def cancel_all(m: Manager) -> dict[str, Any]:
        """Cancel every unfilled order."""
        done, errors = m.cancel_all()
        return {"cancelled": [o.as_dict() for o in done], "errors": [redact(e) for e in errors]}

    @router.post("/reconcile")
    def reconcile(m: Manager) -> dict[str, Any]:
        """Reconcile the journal with the broker."""
        rep = m.reconcile()
        return {"checked": rep.checked, "updated": [o.as_dict() for o in rep.updated],
                "foreign": [o.as_dict() for o in rep.foreign], "error": rep.error}

    @router.get("/positions")
    def positions(m: Manager) -> dict[str, Any]:
        """Positions and cash."""
        return {"broker": m.name, "positions": [p.as_dict() for p in m.positions()], "cash": m.cash()}

    return router


#: The router with the default factory (``open_manager``) and token (``LASPS_API_TOKEN``).
router = make_router()

__all__ = ["PlaceOrder", "make_router", "router"]
