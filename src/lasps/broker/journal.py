"""The order journal: SQLite in WAL mode at ``$LASPS_HOME/journal.sqlite`` (DESIGN §2.1, §7).

* ``orders`` — one row per client order id. A row is written (state PENDING) and committed **before**
  the order is handed to the broker, then updated on every change (SENT, ACKNOWLEDGED, fills,
  CANCELLED, REJECTED, UNKNOWN). ``writer_pid``/``writer_host`` record the process that wrote it, so
  reconciliation can tell an order still being sent by a live process from one whose process died.
* ``fills`` — executions, idempotent by ``fill_key``.
* ``positions`` — the last positions each broker reported (a snapshot, refreshed on every query).
* ``audit`` — an append-only event log: triggers abort any UPDATE or DELETE on it.

Each change to ``orders`` and its audit event are one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``,
``synchronous=FULL``): after a crash the journal is exactly as it was before or after the change.
Nothing secret is ever written here: reasons pass through :func:`lasps.broker.redact.redact`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import socket
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from lasps.broker.base import TERMINAL_STATES, Order, OrderRequest, OrderState, Position, Side
from lasps.broker.order_numbers import order_key
from lasps.broker.redact import get_logger, redact
from lasps.errors import ConfigError
from lasps.transactions import transaction

log = get_logger(__name__)

JOURNAL_FILENAME = "journal.sqlite"
SCHEMA_VERSION = 1

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS orders (
        client_order_id TEXT PRIMARY KEY,
        broker TEXT NOT NULL,
        broker_order_id TEXT,
        code TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        qty INTEGER NOT NULL CHECK (qty > 0 OR state IN ('REJECTED', 'CANCELLED')),
        price REAL,
        state TEXT NOT NULL CHECK (state IN ('PENDING', 'SENT', 'ACKNOWLEDGED', 'PARTIALLY_FILLED', 'FILLED',
                                             'CANCELLED', 'REJECTED', 'UNKNOWN')),
        filled_qty INTEGER NOT NULL DEFAULT 0,
        avg_fill_price REAL,
        reason TEXT,
        session TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        writer_pid INTEGER,
        writer_host TEXT
    )""",
    """CREATE UNIQUE INDEX IF NOT EXISTS orders_broker_order_id ON orders (broker, broker_order_id)
       WHERE broker_order_id IS NOT NULL""",
    """CREATE INDEX IF NOT EXISTS orders_state ON orders (broker, state)""",
    """CREATE TABLE IF NOT EXISTS fills (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        fill_key TEXT NOT NULL UNIQUE,
        client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
        broker TEXT NOT NULL,
        broker_order_id TEXT,
        code TEXT NOT NULL,
        side TEXT NOT NULL,
        qty INTEGER NOT NULL,
        price REAL NOT NULL,
        fee REAL NOT NULL DEFAULT 0,
        tax REAL NOT NULL DEFAULT 0,
        time TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS positions (
        broker TEXT NOT NULL, code TEXT NOT NULL, qty INTEGER NOT NULL, avg_price REAL, as_of TEXT NOT NULL,
        PRIMARY KEY (broker, code)
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        wall_ts TEXT NOT NULL,
        client_order_id TEXT,
        broker TEXT,
        event TEXT NOT NULL,
        state TEXT,
        detail TEXT
    )""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
)

_ORDER_COLS = ("client_order_id, broker, broker_order_id, code, side, qty, price, state, filled_qty, "
               "avg_fill_price, reason, created_at, updated_at")


def journal_path(home: Path | str) -> Path:
    return Path(home) / JOURNAL_FILENAME


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


def _row_to_order(r: Sequence[Any]) -> Order:
    return Order(
        client_order_id=r[0], broker=r[1], broker_order_id=r[2], code=r[3], side=Side(r[4]), qty=int(r[5]),
        price=None if r[6] is None else float(r[6]), state=OrderState(r[7]), filled_qty=int(r[8]),
        avg_fill_price=None if r[9] is None else float(r[9]), reason=r[10],
        created_at=dt.datetime.fromisoformat(r[11]), updated_at=dt.datetime.fromisoformat(r[12]),
    )


class DuplicateClientOrderId(ConfigError):
    """A client order id is already journaled (with the same or different order details)."""


class Journal:
    """The order journal. ``Journal(path)`` creates the file and its tables if needed."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False)
        self.con.execute("PRAGMA busy_timeout = 10000")
        # broker order numbers are compared by their key ("00024" == "0000024"), in SQL as in Python
        self.con.create_function("order_key", 1, order_key, deterministic=True)
        mode = self.con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network filesystem
            raise ConfigError(f"cannot put {self.path} into WAL mode (got {mode})", where=str(self.path),
                              fix="keep LASPS_HOME on a local filesystem")
        self.con.execute("PRAGMA synchronous = FULL")
        self.con.execute("PRAGMA foreign_keys = ON")
        with self._tx() as con:
            for stmt in DDL:
                con.execute(stmt)
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)

    @classmethod
    def for_home(cls, home: Path | str) -> Journal:
        """The journal of ``$LASPS_HOME``."""
        return cls(journal_path(home))

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.con, "BEGIN IMMEDIATE")

    def _audit(self, con: sqlite3.Connection, now: dt.datetime, event: str, *, cid: str | None = None,
               broker: str | None = None, state: str | None = None, detail: Any = None) -> None:
        text = None if detail is None else redact(detail if isinstance(detail, str)
                                                  else json.dumps(detail, default=str, ensure_ascii=False))
        con.execute("INSERT INTO audit (ts, wall_ts, client_order_id, broker, event, state, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [_iso(now), _iso(dt.datetime.now(dt.UTC)), cid, broker, event, state, text])

    # -- reads -----------------------------------------------------------------------------------
    def get(self, client_order_id: str) -> Order | None:
        """The journaled order with this client id, or None."""
        r = self.con.execute(f"SELECT {_ORDER_COLS} FROM orders WHERE client_order_id = ?",
                             [client_order_id]).fetchone()
        return None if r is None else _row_to_order(r)

    def by_broker_id(self, broker: str, broker_order_id: str) -> Order | None:
        """The journaled order that the broker numbered ``broker_order_id`` (any zero padding)."""
        r = self.con.execute(f"SELECT {_ORDER_COLS} FROM orders WHERE broker = ? AND broker_order_id IS NOT NULL "
                             "AND order_key(broker_order_id) = order_key(?)", [broker, broker_order_id]).fetchone()
        return None if r is None else _row_to_order(r)

    def find(self, order_id: str, broker: str | None = None) -> Order | None:
        """Look an order up by client id, then by broker order number (any zero padding: ``24``, ``00024``
        and ``0000024`` are one order)."""
        o = self.get(order_id)
        if o is not None and (broker is None or o.broker == broker):
            return o
        sql = (f"SELECT {_ORDER_COLS} FROM orders WHERE broker_order_id IS NOT NULL "
               "AND order_key(broker_order_id) = order_key(?)")
        params: list[Any] = [order_id]
        if broker is not None:
            sql += " AND broker = ?"
            params.append(broker)
        r = self.con.execute(sql, params).fetchone()
        return None if r is None else _row_to_order(r)

    def orders(self, broker: str | None = None, states: Iterable[OrderState] | None = None,
               session: dt.date | None = None) -> list[Order]:
        """Journaled orders, oldest first, filtered by broker, states and trading session."""
        sql = f"SELECT {_ORDER_COLS} FROM orders WHERE 1=1"
        params: list[Any] = []
        if broker is not None:
            sql += " AND broker = ?"
            params.append(broker)
        if states is not None:
            st = [s.value for s in states]
            sql += f" AND state IN ({', '.join('?' * len(st))})"
            params.extend(st)
        if session is not None:
            sql += " AND session = ?"
            params.append(session.isoformat())
        sql += " ORDER BY created_at, rowid"
        return [_row_to_order(r) for r in self.con.execute(sql, params).fetchall()]

    def unsettled(self, broker: str) -> list[Order]:
        """Orders of ``broker`` that are not in a terminal state."""
        return self.orders(broker, [s for s in OrderState if s not in TERMINAL_STATES])

    def writer(self, client_order_id: str) -> tuple[int | None, str | None]:
        """``(pid, host)`` of the process that journaled the order."""
        r = self.con.execute("SELECT writer_pid, writer_host FROM orders WHERE client_order_id = ?",
                             [client_order_id]).fetchone()
        return (None, None) if r is None else (r[0], r[1])

    def session_of(self, client_order_id: str) -> dt.date | None:
        r = self.con.execute("SELECT session FROM orders WHERE client_order_id = ?", [client_order_id]).fetchone()
        return dt.date.fromisoformat(r[0]) if r and r[0] else None

    def audit_log(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        """Audit events, oldest first."""
        sql = "SELECT id, ts, client_order_id, broker, event, state, detail FROM audit"
        params: list[Any] = []
        if client_order_id is not None:
            sql += " WHERE client_order_id = ?"
            params.append(client_order_id)
        cols = ("id", "ts", "client_order_id", "broker", "event", "state", "detail")
        return [dict(zip(cols, r, strict=True)) for r in self.con.execute(sql + " ORDER BY id", params)]

    def fills(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT client_order_id, broker_order_id, code, side, qty, price, fee, tax, time FROM fills"
        params: list[Any] = []
        if client_order_id is not None:
            sql += " WHERE client_order_id = ?"
            params.append(client_order_id)
        cols = ("client_order_id", "broker_order_id", "code", "side", "qty", "price", "fee", "tax", "time")
        return [dict(zip(cols, r, strict=True)) for r in self.con.execute(sql + " ORDER BY id", params)]

    def positions(self, broker: str) -> list[Position]:
        rows = self.con.execute("SELECT code, qty, avg_price FROM positions WHERE broker = ? ORDER BY code",
                                [broker]).fetchall()
        return [Position(c, int(q), float(a or 0.0)) for c, q, a in rows]

    # -- writes ----------------------------------------------------------------------------------
    def insert_pending(self, request: OrderRequest, broker: str, now: dt.datetime,
                       session: dt.date | None = None) -> Order:
        """Journal a new order as PENDING (committed before returning). Raises
        :class:`DuplicateClientOrderId` if the client id exists."""
        cid = request.client_order_id
        if not cid:
            raise ValueError("a journaled order needs a client order id")
        with self._tx() as con:
            if con.execute("SELECT 1 FROM orders WHERE client_order_id = ?", [cid]).fetchone():
                raise DuplicateClientOrderId(f"client order id {cid} is already in the journal",
                                             where="client order id", fix="use a new id, or look the order up")
            con.execute(
                "INSERT INTO orders (client_order_id, broker, code, side, qty, price, state, session, created_at, "
                "updated_at, writer_pid, writer_host) VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, ?, ?, ?)",
                [cid, broker, request.code, request.side.value, int(request.qty), request.price,
                 session.isoformat() if session else None, _iso(now), _iso(now), os.getpid(), socket.gethostname()],
            )
            self._audit(con, now, "journaled", cid=cid, broker=broker, state="PENDING",
                        detail={"code": request.code, "side": request.side.value, "qty": int(request.qty),
                                "price": request.price})
        got = self.get(cid)
        assert got is not None
        return got

    def insert_rejected(self, request: OrderRequest, broker: str, reason: str, now: dt.datetime,
                        state: OrderState = OrderState.REJECTED) -> Order:
        """Journal an order that was never sent: REJECTED by the guard, or CANCELLED at the confirmation."""
        cid = request.client_order_id
        if not cid:
            raise ValueError("a journaled order needs a client order id")
        qty = _whole_or_zero(request.qty)
        with self._tx() as con:
            if con.execute("SELECT 1 FROM orders WHERE client_order_id = ?", [cid]).fetchone():
                raise DuplicateClientOrderId(f"client order id {cid} is already in the journal",
                                             where="client order id")
            # a fractional or non-numeric quantity is journaled as 0; the audit detail keeps the request as given
            con.execute(
                "INSERT INTO orders (client_order_id, broker, code, side, qty, price, state, reason, created_at, "
                "updated_at, writer_pid, writer_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [cid, broker, str(request.code), request.side.value if isinstance(request.side, Side) else "buy",
                 qty, _price_or_none(request.price), state.value, redact(reason), _iso(now), _iso(now),
                 os.getpid(), socket.gethostname()],
            )
            self._audit(con, now, state.value.lower(), cid=cid, broker=broker, state=state.value,
                        detail={"reason": reason, "code": str(request.code), "qty": repr(request.qty),
                                "price": repr(request.price)})
        got = self.get(cid)
        assert got is not None
        return got

    def update(self, client_order_id: str, now: dt.datetime, event: str, *, state: OrderState | None = None,
               broker_order_id: str | None = None, filled_qty: int | None = None,
               avg_fill_price: float | None = None, reason: str | None = None, sent: bool = False,
               detail: Any = None) -> Order:
        """Change an order and append the audit ``event`` in one transaction; returns the new row."""
        sets: list[str] = ["updated_at = ?"]
        params: list[Any] = [_iso(now)]
        if state is not None:
            sets.append("state = ?")
            params.append(state.value)
        if broker_order_id is not None:
            sets.append("broker_order_id = ?")
            params.append(str(broker_order_id))
        if filled_qty is not None:
            sets.append("filled_qty = ?")
            params.append(int(filled_qty))
        if avg_fill_price is not None:
            sets.append("avg_fill_price = ?")
            params.append(float(avg_fill_price))
        if reason is not None:
            sets.append("reason = ?")
            params.append(redact(reason))
        if sent:
            sets.append("sent_at = ?")
            params.append(_iso(now))
        with self._tx() as con:
            cur = con.execute(f"UPDATE orders SET {', '.join(sets)} WHERE client_order_id = ?",
                              [*params, client_order_id])
            if cur.rowcount != 1:
                raise KeyError(client_order_id)
            row = con.execute("SELECT broker FROM orders WHERE client_order_id = ?", [client_order_id]).fetchone()
            self._audit(con, now, event, cid=client_order_id, broker=row[0],
                        state=state.value if state else None,
                        detail=detail if detail is not None else ({"reason": reason} if reason else None))
        got = self.get(client_order_id)
        assert got is not None
        return got

    def add_fill(self, fill_key: str, client_order_id: str, broker: str, broker_order_id: str | None, code: str,
                 side: Side, qty: int, price: float, time: dt.datetime, fee: float = 0.0, tax: float = 0.0) -> bool:
        """Record an execution once (idempotent by ``fill_key``); True if it was new."""
        with self._tx() as con:
            cur = con.execute(
                "INSERT OR IGNORE INTO fills (fill_key, client_order_id, broker, broker_order_id, code, side, qty, "
                "price, fee, tax, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [fill_key, client_order_id, broker, broker_order_id, code, side.value, int(qty), float(price),
                 float(fee), float(tax), _iso(time)],
            )
            new = cur.rowcount == 1
            if new:
                self._audit(con, time, "fill", cid=client_order_id, broker=broker,
                            detail={"qty": int(qty), "price": float(price), "fee": fee, "tax": tax})
        return new

    def snapshot_positions(self, broker: str, positions: Sequence[Position], now: dt.datetime) -> None:
        """Replace ``broker``'s stored positions with ``positions``."""
        with self._tx() as con:
            con.execute("DELETE FROM positions WHERE broker = ?", [broker])
            con.executemany("INSERT INTO positions VALUES (?, ?, ?, ?, ?)",
                            [(broker, p.code, int(p.qty), p.avg_price, _iso(now)) for p in positions])

    def note(self, now: dt.datetime, event: str, detail: Any = None, *, broker: str | None = None,
             client_order_id: str | None = None) -> None:
        """Append a free audit event (reconciliation summaries, foreign orders …)."""
        with self._tx() as con:
            self._audit(con, now, event, cid=client_order_id, broker=broker, detail=detail)


def _whole_or_zero(qty: object) -> int:
    try:
        q = float(qty)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    return int(q) if math.isfinite(q) and q == int(q) else 0


def _price_or_none(price: object) -> float | None:
    try:
        return None if price is None else float(price)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


__all__ = ["JOURNAL_FILENAME", "DuplicateClientOrderId", "Journal", "journal_path"]
