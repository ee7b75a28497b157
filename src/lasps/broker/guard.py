"""The order guard (DESIGN §7): every order passes it before the journal and the broker see it.

Checks, in order (the first failure rejects the order with its reason):

1. **code** — a KRX short code (6 digits/upper-case letters) that the market store knows;
2. **quantity** — a whole number of shares, > 0;
3. **price** — ``None`` (market) or a positive number;
4. **market hours** — today is a KRX session (calendar) and "now" is within
   ``[08:30, 15:20)`` KST (the order book opens with the opening auction at 08:30; unfilled orders are
   cancelled at 15:20, so none are accepted after it). Late sessions (first of the year, CSAT day) shift;
5. **reference price** — the previous close (the base price of today's limits) from the stored prices;
   the store must hold the previous session, else the band cannot be trusted ("stale prices");
6. **tick and band** — a limit price must be on the tick (KRX tick table for the code's market/kind) and
   within today's limits ``[lower, upper]`` (±30 % of the base, truncated to the tick);
7. **value** — ``qty × price`` ≤ the configured maximum (default 100,000,000 KRW); a market order is
   valued at today's upper limit (the most it can cost).

Then a **confirmation countdown** (default 3 s, ``--yes`` skips it; Ctrl-C aborts) runs before the order
is journaled and sent (:func:`countdown`).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from lasps.broker.base import OrderRejected, OrderRequest, Side
from lasps.broker.clock import Clock
from lasps.broker.prices import Instrument, PriceSource
from lasps.data.universe import is_valid_code
from lasps.krx.calendar import KST, is_session, previous_session
from lasps.krx.rules import is_on_tick, price_limits, round_to_tick
from lasps.krx.sessions import SessionTimes, session_times

DEFAULT_MAX_ORDER_VALUE = 100_000_000.0
DEFAULT_CONFIRM_SECONDS = 3.0


@dataclass(frozen=True)
class GuardReport:
    """What the guard established about an accepted order (``request`` with ``qty`` as int, ``price`` as
    float)."""

    request: OrderRequest
    session: dt.date
    instrument: Instrument
    base_date: dt.date
    base_price: float
    lower: float
    upper: float
    value: float

    def describe(self) -> str:
        """Multi-line summary for the confirmation prompt."""
        return (f"{self.request.describe()}\n"
                f"  value ≈ {self.value:,.0f} KRW; today's band {self.lower:,.0f} – {self.upper:,.0f} "
                f"(base {self.base_price:,.0f} on {self.base_date})")


def _reject(what: str, where: str, fix: str | None = None) -> OrderRejected:
    return OrderRejected(what, where=where, fix=fix)


def check_quantity(qty: object) -> int:
    """``qty`` as an int if it is a whole number > 0, else :class:`OrderRejected`."""
    if isinstance(qty, bool) or not isinstance(qty, numbers.Real):
        raise _reject(f"quantity {qty!r} is not a number", "qty", "give a whole number of shares, e.g. 10")
    q = float(qty)
    if not math.isfinite(q) or q != math.floor(q):
        raise _reject(f"quantity {qty!r} is not a whole number of shares", "qty", "KRX trades whole shares")
    if q <= 0:
        raise _reject(f"quantity {qty!r} must be > 0", "qty")
    return int(q)


def market_session(now: dt.datetime) -> SessionTimes:
    """Today's session times if orders are accepted at ``now``; else :class:`OrderRejected`."""
    local = now.astimezone(KST)
    today = local.date()
    if not is_session(today):
        raise _reject(f"market closed: {today} ({local:%a}) is not a KRX trading day", "market hours",
                      "place the order on a trading day")
    st = session_times(today)
    if local < st.pre_open:
        raise _reject(f"market not open yet at {local:%H:%M} KST (orders from {st.pre_open:%H:%M}, "
                      f"trading from {st.open:%H:%M})", "market hours", f"wait until {st.pre_open:%H:%M} KST")
    if local >= st.closing_auction:
        raise _reject(f"market closed for new orders at {local:%H:%M} KST (unfilled orders are cancelled "
                      f"at {st.closing_auction:%H:%M})", "market hours", "place the order on the next session")
    return st


class Guard:
    """Checks order requests against the rules in the module docstring.

    Parameters
    ----------
    clock:
        Source of "now" (``LASPS_CLOCK`` or the system clock).
    prices:
        Stored prices: the instrument, the previous close (base price), freshness.
    max_order_value:
        Largest accepted order value (KRW).
    """

    def __init__(self, clock: Clock, prices: PriceSource, max_order_value: float = DEFAULT_MAX_ORDER_VALUE) -> None:
        self.clock = clock
        self.prices = prices
        self.max_order_value = float(max_order_value)

    def check(self, request: OrderRequest) -> GuardReport:
        """Return a :class:`GuardReport` if ``request`` may be sent; raise :class:`OrderRejected` if not."""
        code = request.code
        if not is_valid_code(code):
            raise _reject(f"invalid stock code {code!r}", "code", "a KRX short code has 6 characters, e.g. 005930")
        if not isinstance(request.side, Side):
            raise _reject(f"invalid side {request.side!r}", "side", "buy or sell")
        qty = check_quantity(request.qty)
        price = request.price
        if price is not None:
            if isinstance(price, bool) or not isinstance(price, numbers.Real) or not math.isfinite(float(price)) \
                    or float(price) <= 0:
                raise _reject(f"price {price!r} must be a positive number (or omitted for a market order)", "price")
            price = float(price)
        st = market_session(self.clock.now())
        today = st.date
        inst = self.prices.instrument(code)
        if inst is None:
            raise _reject(f"unknown stock code {code}: not in the market store", "code",
                          "check the code, or update the store (`lasps data update`)")
        prev_session = previous_session(today)
        if not self.prices.has_date(prev_session):
            last = self.prices.last_date()
            raise _reject(f"stored prices are stale: the previous session {prev_session} is missing (latest "
                          f"{last}); today's price band cannot be computed", "reference price",
                          "run `lasps data update` first")
        ref = self.prices.prev_close(code, today)
        if ref is None:
            raise _reject(f"no previous close stored for {code}; today's price band is unknown", "reference price",
                          "update the store, or check that the code is listed")
        base_date, base = ref
        day = today.isoformat()
        lower, upper = (float(x) for x in price_limits(base, day, inst.market, inst.kind))
        if price is not None:
            if not is_on_tick(price, day, inst.market, inst.kind):
                down = float(round_to_tick(price, day, inst.market, "down", inst.kind))
                up = float(round_to_tick(price, day, inst.market, "up", inst.kind))
                raise _reject(f"price {price:,.0f} is not on the tick for {code} (valid near it: {down:,.0f} or "
                              f"{up:,.0f})", "price", "use a price on the KRX tick table")
            if not lower <= price <= upper:
                raise _reject(f"price {price:,.0f} is outside today's limits {lower:,.0f} – {upper:,.0f} "
                              f"(base {base:,.0f} on {base_date})", "price", "choose a price within the band")
        value = qty * (price if price is not None else upper)
        if value > self.max_order_value:
            basis = "" if price is not None else " (market order valued at today's upper limit)"
            raise _reject(f"order value {value:,.0f} KRW exceeds the maximum {self.max_order_value:,.0f} KRW{basis}",
                          "value", "split the order or raise LASPS_MAX_ORDER_VALUE")
        normalised = replace(request, qty=qty, price=price)
        return GuardReport(normalised, today, inst, base_date, base, lower, upper, value)


ConfirmFn = Callable[[GuardReport], bool]


def countdown(report: GuardReport, seconds: float, *, echo: Callable[[str], None] = print,
              sleep: Callable[[float], None] = time.sleep) -> bool:
    """Show the order and count down ``seconds``; True to send, False if aborted (Ctrl-C).

    ``echo`` and ``sleep`` are injectable for tests; ``seconds <= 0`` sends at once (``--yes``).
    """
    if seconds <= 0:
        return True
    echo(report.describe())
    remaining = float(seconds)
    try:
        while remaining > 0:
            echo(f"  sending in {math.ceil(remaining)} s — press Ctrl-C to abort")
            step = min(1.0, remaining)
            sleep(step)
            remaining -= step
    except KeyboardInterrupt:
        echo("  aborted: nothing was sent")
        return False
    return True


__all__ = ["DEFAULT_CONFIRM_SECONDS", "DEFAULT_MAX_ORDER_VALUE", "ConfirmFn", "Guard", "GuardReport",
           "check_quantity", "countdown", "market_session"]
