"""The paper broker (the default): fills against the stored daily prices under the KRX rules of §5.

State (cash, positions, orders, fills) lives in SQLite (WAL) at ``$LASPS_HOME/paper.sqlite`` and
survives restarts. A new account starts with ``LASPS_PAPER_CASH`` (default 100,000,000 KRW).

**Acceptance** (what the exchange/broker would refuse): a code the store knows, a whole quantity > 0,
a limit price on the tick and within the day's band (base = previous close), the session's order hours
(08:30–15:30 KST), enough free cash for a buy (limit price, or the upper limit for a market buy, plus
commission; open buys reserve cash) and enough free shares for a sell (no short selling).

**Fills** — an order lives for its session (a day order) and is decided against that session's bar
once the store holds it; with a past ``LASPS_CLOCK`` the bar is already there and the order is settled
at once, in live paper trading it is settled after ``lasps data update`` stores the day:

* *halted* (no bar, no volume, no open): nothing fills; the order expires (CANCELLED);
* *market* orders fill at the **open**, except a buy when the open is at the upper limit (locked up) or
  a sell when the open is at the lower limit (locked down) — then nothing fills;
* *limit* orders fill if the day's range reaches the price (buy: low ≤ P, sell: high ≥ P). An order
  placed before the open gets the open when it is better than P; otherwise the fill price is P (a buy
  limit above the whole range fills at the high, a sell limit below it at the low). A buy cannot fill
  on a day locked at the upper limit all day (low ≥ upper), a sell not on a day locked at the lower
  limit (high ≤ lower);
* the filled quantity is at most the day's volume (the rest expires: a partial fill);
* unfilled remainders expire at the close (CANCELLED with the reason).

A cancel before 15:20 cancels at once (an unsettled order gets no fill). A cancel at/after 15:20 — the
automatic end-of-day cancel — cannot take back what the session already did: the order is still
settled against the day's bar when it is stored, and only what did not fill is cancelled.

**Costs** — commission on both sides and the sell tax by settlement date, from
:class:`lasps.krx.costs.CostModel` (whole-won truncation).
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from lasps.broker.base import BrokerError, Fill, Order, OrderNotFound, OrderRejected, OrderState, Position, Side
from lasps.broker.clock import Clock
from lasps.broker.prices import Bar, PriceSource
from lasps.broker.redact import get_logger
from lasps.krx.calendar import KST, is_session
from lasps.krx.costs import CostModel
from lasps.krx.rules import is_on_tick, price_limits
from lasps.krx.sessions import session_times
from lasps.transactions import transaction

log = get_logger(__name__)

PAPER_FILENAME = "paper.sqlite"
_EPS = 1e-6

_DDL = (
    "CREATE TABLE IF NOT EXISTS account (key TEXT PRIMARY KEY, value REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS positions (code TEXT PRIMARY KEY, qty INTEGER NOT NULL, avg_price REAL NOT NULL)",
    """CREATE TABLE IF NOT EXISTS orders (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id TEXT UNIQUE,
        client_order_id TEXT UNIQUE,
        code TEXT NOT NULL, side TEXT NOT NULL, qty INTEGER NOT NULL, price REAL,
        session TEXT NOT NULL, placed_at TEXT NOT NULL, pre_open INTEGER NOT NULL,
        state TEXT NOT NULL, filled_qty INTEGER NOT NULL DEFAULT 0, avg_price REAL,
        fee REAL NOT NULL DEFAULT 0, tax REAL NOT NULL DEFAULT 0,
        reason TEXT, cancel_requested_at TEXT, updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS fills (
        id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, code TEXT NOT NULL, side TEXT NOT NULL,
        qty INTEGER NOT NULL, price REAL NOT NULL, fee REAL NOT NULL, tax REAL NOT NULL, time TEXT NOT NULL
    )""",
)
_COLS = ("order_id, client_order_id, code, side, qty, price, session, placed_at, pre_open, state, filled_qty, "
         "avg_price, reason, cancel_requested_at, updated_at")


def _cost_model() -> Any:
    """The backtest's :class:`CostModel` (defaults of DESIGN §5)."""
    return CostModel()


class PaperBroker:
    """Paper trading against stored prices (see the module docstring).

    Parameters
    ----------
    path:
        The SQLite file (usually ``$LASPS_HOME/paper.sqlite``).
    prices:
        Stored daily prices.
    clock:
        "Now" (``LASPS_CLOCK`` in paper trading and tests).
    initial_cash:
        Cash of a new account (ignored once the account exists).
    costs:
        A cost model with ``fee(value)`` and ``tax(value, trade_date)``; default the backtest's.
    """

    name = "paper"
    live = False

    def __init__(self, path: Path | str, prices: PriceSource, clock: Clock, *, initial_cash: float = 100_000_000.0,
                 costs: Any = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.prices = prices
        self.clock = clock
        self.costs = costs if costs is not None else _cost_model()
        self.con = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False)
        self.con.execute("PRAGMA journal_mode = WAL")
        self.con.execute("PRAGMA synchronous = FULL")
        self.con.execute("PRAGMA busy_timeout = 10000")
        with self._tx() as con:
            for stmt in _DDL:
                con.execute(stmt)
            con.execute("INSERT OR IGNORE INTO account VALUES ('cash', ?)", [float(initial_cash)])

    @classmethod
    def for_home(cls, home: Path | str, prices: PriceSource, clock: Clock, **kw: Any) -> PaperBroker:
        return cls(Path(home) / PAPER_FILENAME, prices, clock, **kw)

    def close(self) -> None:
        self.con.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.con, "BEGIN IMMEDIATE")

    # -- helpers ---------------------------------------------------------------------------------
    def _order(self, r: Any) -> Order:
        return Order(code=r[2], side=Side(r[3]), qty=int(r[4]), price=None if r[5] is None else float(r[5]),
                     state=OrderState(r[9]), broker=self.name, client_order_id=r[1], broker_order_id=r[0],
                     filled_qty=int(r[10]), avg_fill_price=None if r[11] is None else float(r[11]), reason=r[12],
                     created_at=dt.datetime.fromisoformat(r[7]), updated_at=dt.datetime.fromisoformat(r[14]))

    def _get(self, con: sqlite3.Connection, order_id: str) -> Any:
        return con.execute(f"SELECT {_COLS} FROM orders WHERE order_id = ? OR client_order_id = ?",
                           [order_id, order_id]).fetchone()

    def _cash(self, con: sqlite3.Connection) -> float:
        return float(con.execute("SELECT value FROM account WHERE key = 'cash'").fetchone()[0])

    def _held(self, con: sqlite3.Connection, code: str) -> tuple[int, float]:
        r = con.execute("SELECT qty, avg_price FROM positions WHERE code = ?", [code]).fetchone()
        return (0, 0.0) if r is None else (int(r[0]), float(r[1]))

    def _limits(self, code: str, session: dt.date) -> tuple[float, float, float]:
        inst = self.prices.instrument(code)
        ref = self.prices.prev_close(code, session)
        if inst is None or ref is None:
            raise OrderRejected(f"paper broker: no stored reference price for {code} before {session}",
                                where="code")
        lower, upper = price_limits(ref[1], session.isoformat(), inst.market, inst.kind)
        return ref[1], float(lower), float(upper)

    # -- orders ----------------------------------------------------------------------------------
    def buy(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None) -> Order:
        return self._submit(Side.BUY, code, qty, price, client_order_id)

    def sell(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None) -> Order:
        return self._submit(Side.SELL, code, qty, price, client_order_id)

    def _submit(self, side: Side, code: str, qty: int, price: float | None, cid: str | None) -> Order:
        if cid:
            r = self._get(self.con, cid)
            if r is not None:  # idempotent: the same client order id never makes a second order
                self._process()
                return self._order(self._get(self.con, cid))
        now = self.clock.now().astimezone(KST)
        today = now.date()
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise OrderRejected(f"paper broker: quantity {qty!r} must be a whole number > 0", where="qty")
        if not is_session(today):
            raise OrderRejected(f"paper broker: {today} is not a trading day", where="market hours")
        st = session_times(today)
        if not st.pre_open <= now < st.close:
            raise OrderRejected(f"paper broker: market closed at {now:%H:%M} KST", where="market hours")
        inst = self.prices.instrument(code)
        if inst is None:
            raise OrderRejected(f"paper broker: unknown code {code}", where="code")
        _, lower, upper = self._limits(code, today)
        if price is not None:
            if not is_on_tick(price, today.isoformat(), inst.market, inst.kind):
                raise OrderRejected(f"paper broker: price {price:,.0f} is off the tick", where="price")
            if not lower - _EPS <= price <= upper + _EPS:
                raise OrderRejected(f"paper broker: price {price:,.0f} outside {lower:,.0f} – {upper:,.0f}",
                                    where="price")
        with self._tx() as con:
            if side is Side.BUY:
                need = qty * (price if price is not None else upper)
                need += self.costs.fee(need)
                free = self._cash(con) - self._reserved_cash(con, today)
                if need > free + _EPS:
                    raise OrderRejected(f"paper broker: insufficient cash: need {need:,.0f} KRW, free {free:,.0f}",
                                        where="cash")
            else:
                held, _ = self._held(con, code)
                selling = con.execute("SELECT coalesce(sum(qty - filled_qty), 0) FROM orders WHERE code = ? AND "
                                      "side = 'sell' AND state IN ('ACKNOWLEDGED', 'PARTIALLY_FILLED')",
                                      [code]).fetchone()[0]
                if qty > held - int(selling):
                    raise OrderRejected(f"paper broker: insufficient holdings of {code}: have {held}, "
                                        f"{selling} already offered, asked to sell {qty}", where="qty")
            cur = con.execute(
                "INSERT INTO orders (client_order_id, code, side, qty, price, session, placed_at, pre_open, state, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ACKNOWLEDGED', ?)",
                [cid, code, side.value, qty, price, today.isoformat(), now.isoformat(), int(now < st.open),
                 now.isoformat()],
            )
            oid = f"P{cur.lastrowid:07d}"
            con.execute("UPDATE orders SET order_id = ? WHERE seq = ?", [oid, cur.lastrowid])
        log.info("paper order %s: %s %s × %d @ %s", oid, side.value, code, qty,
                 "market" if price is None else f"{price:,.0f}")
        self._process()
        return self._order(self._get(self.con, oid))

    def _reserved_cash(self, con: sqlite3.Connection, today: dt.date) -> float:
        total = 0.0
        for code, qty, filled, price, session in con.execute(
                "SELECT code, qty, filled_qty, price, session FROM orders WHERE side = 'buy' AND "
                "state IN ('ACKNOWLEDGED', 'PARTIALLY_FILLED')").fetchall():
            px = price
            if px is None:
                try:
                    px = self._limits(code, dt.date.fromisoformat(session))[2]
                except OrderRejected:
                    px = 0.0
            v = (qty - filled) * px
            total += v + self.costs.fee(v)
        return total

    def cancel(self, order_id: str, *, known: Order | None = None) -> Order:
        """Cancel the open paper order ``order_id`` (``known`` is not needed: the paper book is local)."""
        self._process()
        now = self.clock.now().astimezone(KST)
        with self._tx() as con:
            r = self._get(con, order_id)
            if r is None:
                raise OrderNotFound(f"paper broker: no order {order_id}", where="order id")
            o = self._order(r)
            if not o.state.open:
                raise BrokerError(f"paper broker: order {order_id} is {o.state.value}; nothing to cancel",
                                  where="order id")
            session = dt.date.fromisoformat(r[6])
            closing = session_times(session).closing_auction
            if now >= closing:
                con.execute("UPDATE orders SET cancel_requested_at = ?, reason = ?, updated_at = ? WHERE order_id = ?",
                            [now.isoformat(), "cancel at close requested: settled against the day's prices once "
                             "they are stored; the unfilled rest is cancelled", now.isoformat(), o.broker_order_id])
            else:
                con.execute("UPDATE orders SET state = 'CANCELLED', reason = ?, updated_at = ? WHERE order_id = ?",
                            [f"cancelled at {now:%H:%M:%S}", now.isoformat(), o.broker_order_id])
        return self._order(self._get(self.con, order_id))

    def open_orders(self) -> list[Order]:
        self._process()
        rows = self.con.execute(f"SELECT {_COLS} FROM orders WHERE state IN ('ACKNOWLEDGED', 'PARTIALLY_FILLED') "
                                "ORDER BY seq").fetchall()
        return [self._order(r) for r in rows]

    def recent_orders(self) -> list[Order]:
        self._process()
        return [self._order(r) for r in self.con.execute(f"SELECT {_COLS} FROM orders ORDER BY seq").fetchall()]

    def fills(self, order_id: str | None = None) -> list[Fill]:
        """Executions, optionally of one order (broker or client id)."""
        sql = ("SELECT f.order_id, o.client_order_id, f.code, f.side, f.qty, f.price, f.fee, f.tax, f.time, f.id "
               "FROM fills f JOIN orders o USING (order_id)")
        params: list[Any] = []
        if order_id is not None:
            sql += " WHERE f.order_id = ? OR o.client_order_id = ?"
            params = [order_id, order_id]
        return [Fill(code=r[2], side=Side(r[3]), qty=int(r[4]), price=float(r[5]), time=dt.datetime.fromisoformat(r[8]),
                     broker_order_id=r[0], client_order_id=r[1], fee=float(r[6]), tax=float(r[7]),
                     fill_id=f"paper-{r[9]}") for r in self.con.execute(sql + " ORDER BY f.id", params)]

    def positions(self) -> list[Position]:
        self._process()
        rows = self.con.execute("SELECT code, qty, avg_price FROM positions WHERE qty > 0 ORDER BY code").fetchall()
        return [Position(c, int(q), float(a)) for c, q, a in rows]

    def cash(self) -> float:
        self._process()
        return self._cash(self.con)

    # -- settlement ------------------------------------------------------------------------------
    def _process(self) -> None:
        """Settle every open order whose session's prices are stored."""
        rows = self.con.execute(f"SELECT {_COLS} FROM orders WHERE state IN ('ACKNOWLEDGED', 'PARTIALLY_FILLED') "
                                "ORDER BY seq").fetchall()
        known: dict[dt.date, bool] = {}
        for r in rows:
            session = dt.date.fromisoformat(r[6])
            if session not in known:
                known[session] = self.prices.has_date(session)
            if known[session]:
                self._settle(r, session, self.prices.bar(r[2], session))

    def _settle(self, r: Any, session: dt.date, bar: Bar | None) -> None:
        o = self._order(r)
        pre_open = bool(r[8])
        qty_left = o.remaining_qty
        px: float | None = None
        why = ""
        if bar is None or not (bar.volume > 0) or not (bar.open > 0) or math.isnan(bar.open):
            why = f"halted: no trade in {o.code} on {session}"
        else:
            _, lower, upper = self._limits(o.code, session)
            px, why = _fill_price(o, bar, lower, upper, pre_open)
        fill_qty = 0 if px is None else int(min(qty_left, math.floor(bar.volume if bar else 0)))
        when = session_times(session).closing_auction
        with self._tx() as con:
            cur = con.execute("SELECT state FROM orders WHERE order_id = ?", [o.broker_order_id]).fetchone()
            if cur is None or cur[0] not in ("ACKNOWLEDGED", "PARTIALLY_FILLED"):
                return  # settled by another process meanwhile
            fee = tax = 0.0
            if fill_qty > 0 and px is not None:
                value = fill_qty * px
                fee = float(self.costs.fee(value))
                cash = self._cash(con)
                held, avg = self._held(con, o.code)
                if o.side is Side.BUY:
                    cash -= value + fee
                    new_qty = held + fill_qty
                    avg = (held * avg + value) / new_qty
                    held = new_qty
                else:
                    tax = float(self.costs.tax(value, session))
                    cash += value - fee - tax
                    held -= fill_qty
                con.execute("UPDATE account SET value = ? WHERE key = 'cash'", [cash])
                if held > 0:
                    con.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)", [o.code, held, avg])
                else:
                    con.execute("DELETE FROM positions WHERE code = ?", [o.code])
                con.execute("INSERT INTO fills (order_id, code, side, qty, price, fee, tax, time) VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?)",
                            [o.broker_order_id, o.code, o.side.value, fill_qty, px, fee, tax, when.isoformat()])
            filled = o.filled_qty + fill_qty
            if filled >= o.qty:
                state, reason = "FILLED", None
            else:
                state = "CANCELLED"
                reason = (f"expired at the close: {why}" if fill_qty == 0 else
                          f"expired at the close after a partial fill ({filled} of {o.qty}; day volume "
                          f"{bar.volume if bar else 0:,.0f})")
            avg_px = (((o.avg_fill_price or 0.0) * o.filled_qty + (px or 0.0) * fill_qty) / filled) if filled else None
            con.execute("UPDATE orders SET state = ?, filled_qty = ?, avg_price = ?, fee = fee + ?, tax = tax + ?, "
                        "reason = coalesce(?, reason), updated_at = ? WHERE order_id = ?",
                        [state, filled, avg_px, fee, tax, reason, when.isoformat(), o.broker_order_id])
        log.info("paper order %s settled on %s: %s, filled %d", o.broker_order_id, session, state, filled)


def _fill_price(o: Order, bar: Bar, lower: float, upper: float, pre_open: bool) -> tuple[float | None, str]:
    """The fill price of ``o`` on ``bar`` (None: no fill) and, for no fill, why."""
    if o.side is Side.BUY:
        if o.price is None:
            if bar.open >= upper - _EPS:
                return None, f"locked at the upper limit {upper:,.0f} at the open"
            return bar.open, ""
        if bar.low >= upper - _EPS:
            return None, f"locked at the upper limit {upper:,.0f} all day"
        if bar.low > o.price + _EPS:
            return None, f"the day's low {bar.low:,.0f} stayed above the limit {o.price:,.0f}"
        if pre_open and bar.open <= o.price + _EPS:
            return bar.open, ""
        return min(o.price, bar.high), ""
    if o.price is None:
        if bar.open <= lower + _EPS:
            return None, f"locked at the lower limit {lower:,.0f} at the open"
        return bar.open, ""
    if bar.high <= lower + _EPS:
        return None, f"locked at the lower limit {lower:,.0f} all day"
    if bar.high < o.price - _EPS:
        return None, f"the day's high {bar.high:,.0f} stayed below the limit {o.price:,.0f}"
    if pre_open and bar.open >= o.price - _EPS:
        return bar.open, ""
    return max(o.price, bar.low), ""


__all__ = ["PAPER_FILENAME", "PaperBroker"]
