"""The order desk: guard → confirmation → journal → broker → journal, and reconciliation.

:class:`OrderManager` stands in front of every broker. For each order it

1. returns the journaled order if the client order id is already known (a retried send never creates
   a second order; an unsettled one is reconciled first, never re-sent);
2. runs the guard (:mod:`lasps.broker.guard`); a refusal is journaled as REJECTED and nothing is sent;
3. runs the confirmation countdown (aborting journals CANCELLED, nothing sent);
4. journals the order as PENDING and commits, marks it SENT, hands it to the broker;
5. journals the outcome: ACKNOWLEDGED/FILLED (with the broker's order id), REJECTED (the broker said
   no, or it certainly never got it), or UNKNOWN (timeout/5xx: it may exist) — then reconciles.

**Reconciliation** (:meth:`OrderManager.reconcile`, run on start): every journaled order that is not
terminal is looked up at the broker (``recent_orders``: open and today's done orders) by broker order
id, then by client order id, then — for PENDING/SENT/UNKNOWN orders without a broker id — by code,
side, quantity, price and time (same session, at most 2 minutes before the journal entry) among broker
orders no journal entry has claimed. Found: its state, fills and
broker id are written back. Not found:

* PENDING whose writing process is gone → CANCELLED ("never sent"); it was journaled but never handed over;
* SENT/UNKNOWN → stays UNKNOWN until ``grace_s`` has passed since it was journaled, then CANCELLED
  ("not placed: the broker never reported it");
* ACKNOWLEDGED/PARTIALLY_FILLED of today that the broker no longer reports → CANCELLED; of an earlier
  day → UNKNOWN ("check the broker's history").

Orders of a process that is still alive (same host) are left alone. Nothing is ever re-sent by
reconciliation. Broker orders that no journal entry claims are noted in the audit log as foreign.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from lasps.broker.base import (
    UNSETTLED_STATES,
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
    place,
)
from lasps.broker.clock import Clock
from lasps.broker.guard import ConfirmFn, Guard
from lasps.broker.journal import DuplicateClientOrderId, Journal
from lasps.broker.order_numbers import order_key, same_order_no
from lasps.broker.redact import get_logger, redact
from lasps.errors import ConfigError
from lasps.krx.calendar import KST, is_session
from lasps.krx.sessions import session_times

log = get_logger(__name__)

MATCH_SKEW = dt.timedelta(minutes=2)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pragma: no cover
        return False
    return True


def new_client_order_id(now: dt.datetime) -> str:
    """A fresh client order id: ``L<yyyymmdd>-<12 hex>``."""
    return f"L{now.astimezone(KST):%Y%m%d}-{uuid.uuid4().hex[:12]}"


@dataclass
class ReconcileReport:
    """What a reconciliation pass changed."""

    checked: int = 0
    updated: list[Order] = field(default_factory=list)
    foreign: list[Order] = field(default_factory=list)
    error: str | None = None


class OrderManager:
    """Guarded, journaled access to one broker (see the module docstring).

    Parameters
    ----------
    broker, journal, guard, clock:
        The parts; the guard and the manager should share the clock.
    confirm:
        Default confirmation callback (``None``: no confirmation, e.g. the token-protected API).
    grace_s:
        Seconds after which a sent order the broker never reported is settled as CANCELLED.
    reconcile_on_start:
        Reconcile with the broker right away (default True).
    """

    def __init__(self, broker: Broker, journal: Journal, guard: Guard, *, clock: Clock,
                 confirm: ConfirmFn | None = None, grace_s: float = 30.0, reconcile_on_start: bool = True) -> None:
        self.broker = broker
        self.journal = journal
        self.guard = guard
        self.clock = clock
        self.confirm = confirm
        self.grace = dt.timedelta(seconds=grace_s)
        self._inflight: set[str] = set()
        self.last_reconcile: ReconcileReport | None = None
        if reconcile_on_start:
            self.last_reconcile = self.reconcile()

    def close(self) -> None:
        """Close the journal (and the broker if it has ``close``)."""
        closer = getattr(self.broker, "close", None)
        if callable(closer):
            closer()
        self.journal.close()

    def __enter__(self) -> OrderManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self.broker.name

    def _now(self) -> dt.datetime:
        return self.clock.now()

    # -- placing ---------------------------------------------------------------------------------
    def buy(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None,
            confirm: ConfirmFn | None = None) -> Order:
        """Guarded, journaled buy (see :meth:`place`)."""
        return self.place(OrderRequest(code, Side.BUY, qty, price, client_order_id), confirm=confirm)

    def sell(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None,
             confirm: ConfirmFn | None = None) -> Order:
        """Guarded, journaled sell."""
        return self.place(OrderRequest(code, Side.SELL, qty, price, client_order_id), confirm=confirm)

    def place(self, request: OrderRequest, *, confirm: ConfirmFn | None = None,
              send: Callable[[OrderRequest], Order] | None = None) -> Order:
        """Place ``request``; returns the journaled order.

        ``send`` hands the guarded request to the broker (default: its ``buy``/``sell``; :meth:`modify`
        passes the broker's modify).

        Raises :class:`OrderRejected` (with ``.order`` set to the journaled REJECTED/CANCELLED order) when
        the guard, the confirmation or the broker refuses it. An order whose outcome is unknown is
        returned in state UNKNOWN (check it with ``lasps order list``; reconciliation settles it).
        """
        now = self._now()
        cid = request.client_order_id or new_client_order_id(now)
        req = replace(request, client_order_id=cid)
        existing = self.journal.get(cid)
        if existing is not None:
            return self._retry(existing, req)
        try:
            report = self.guard.check(req)
        except OrderRejected as exc:
            exc.order = self.journal.insert_rejected(req, self.broker.name, exc.reason, now)
            log.info("order %s rejected by the guard: %s", cid, exc.reason)
            raise
        confirm = confirm if confirm is not None else self.confirm
        if confirm is not None and not confirm(report):
            order = self.journal.insert_rejected(req, self.broker.name, "aborted at the confirmation; never sent",
                                                 self._now(), state=OrderState.CANCELLED)
            raise OrderRejected("order aborted at the confirmation; nothing was sent", order=order)
        req = report.request
        self.journal.insert_pending(req, self.broker.name, self._now(), session=report.session)
        self._inflight.add(cid)
        try:
            return self._send(req, send)
        finally:
            self._inflight.discard(cid)

    def _retry(self, existing: Order, req: OrderRequest) -> Order:
        try:
            price = None if req.price is None else float(req.price)
        except (TypeError, ValueError):
            price = float("nan")
        same = (existing.code == req.code and existing.side == req.side and existing.qty == req.qty
                and existing.price == price)
        if not same:
            raise DuplicateClientOrderId(
                f"client order id {req.client_order_id} is already used by a different order "
                f"({existing.side.value} {existing.code} × {existing.qty})", where="client order id",
                fix="use a new client order id")
        self.journal.note(self._now(), "retry", {"state": existing.state.value}, broker=self.broker.name,
                          client_order_id=existing.client_order_id)
        if existing.state in UNSETTLED_STATES or existing.state.open:
            self.reconcile(only=[existing.client_order_id or ""])
            got = self.journal.get(existing.client_order_id or "")
            return got if got is not None else existing
        return existing

    def _send(self, req: OrderRequest, send: Callable[[OrderRequest], Order] | None = None) -> Order:
        cid = req.client_order_id or ""
        self.journal.update(cid, self._now(), "sending", state=OrderState.SENT, sent=True)
        try:
            ack = send(req) if send is not None else place(self.broker, req)
        except OrderRejected as exc:
            order = self.journal.update(cid, self._now(), "broker rejected", state=OrderState.REJECTED,
                                        reason=exc.reason)
            exc.order = order
            log.info("order %s rejected by %s: %s", cid, self.broker.name, redact(exc.reason))
            raise
        except BrokerUncertain as exc:
            self.journal.update(cid, self._now(), "outcome unknown", state=OrderState.UNKNOWN, reason=exc.what)
            log.warning("order %s: outcome unknown (%s); reconciling", cid, redact(exc.what))
            self._inflight.discard(cid)
            try:
                self.reconcile(only=[cid], settle_missing=False)
            except BrokerError as rexc:  # pragma: no cover - reconcile catches broker errors itself
                log.warning("reconciliation after an unknown outcome failed: %s", redact(rexc))
            got = self.journal.get(cid)
            assert got is not None
            return got
        except BrokerError as exc:
            order = self.journal.update(cid, self._now(), "not sent", state=OrderState.REJECTED,
                                        reason=f"not placed: {exc.what}")
            raise OrderRejected(f"not placed: {exc.what}", where=exc.where, fix=exc.fix, order=order) from None
        except BaseException as exc:
            self.journal.update(cid, self._now(), "interrupted", state=OrderState.UNKNOWN,
                                reason=f"interrupted while sending ({type(exc).__name__})")
            raise
        return self._apply(self.journal.get(cid) or ack, ack, event="acknowledged")

    # -- applying broker views -------------------------------------------------------------------
    def _apply(self, j: Order, b: Order, *, event: str) -> Order:
        """Write the broker's view ``b`` of journaled order ``j`` back to the journal."""
        cid = j.client_order_id or ""
        now = self._now()
        self._record_fills(j, b)
        changed = (b.state != j.state or b.filled_qty != j.filled_qty or
                   (b.broker_order_id and not same_order_no(b.broker_order_id, j.broker_order_id)))
        if not changed:
            return j
        return self.journal.update(cid, now, event, state=b.state, broker_order_id=b.broker_order_id,
                                   filled_qty=b.filled_qty, avg_fill_price=b.avg_fill_price,
                                   reason=b.reason if b.state in (OrderState.CANCELLED, OrderState.REJECTED) else None)

    def _record_fills(self, j: Order, b: Order) -> None:
        cid = j.client_order_id or ""
        fills_fn: Callable[[str], list[Fill]] | None = getattr(self.broker, "fills", None)
        if callable(fills_fn) and b.broker_order_id:
            for f in fills_fn(b.broker_order_id):
                self.journal.add_fill(f.fill_id or f"{self.broker.name}:{b.broker_order_id}:{f.time.isoformat()}",
                                      cid, self.broker.name, b.broker_order_id, f.code, f.side, f.qty, f.price,
                                      f.time, f.fee, f.tax)
            return
        delta = b.filled_qty - j.filled_qty
        if delta <= 0:
            return
        total = (b.avg_fill_price or 0.0) * b.filled_qty - (j.avg_fill_price or 0.0) * j.filled_qty
        price = total / delta if total > 0 else (b.avg_fill_price or 0.0)
        self.journal.add_fill(f"{self.broker.name}:{b.broker_order_id}:{b.filled_qty}", cid, self.broker.name,
                              b.broker_order_id, b.code, b.side, delta, price, self._now())

    # -- reconciliation --------------------------------------------------------------------------
    def _writer_alive(self, cid: str) -> bool:
        if cid in self._inflight:
            return True
        pid, host = self.journal.writer(cid)
        if pid is None or pid == os.getpid():
            return False
        if host and host != socket.gethostname():
            return True  # cannot tell: treat as alive; the grace period decides later
        return _pid_alive(pid)

    @staticmethod
    def _same_price(a: float | None, b: float | None) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return abs(a - b) < 0.5

    def _match(self, j: Order, candidates: Iterable[Order]) -> Order | None:
        session = self.journal.session_of(j.client_order_id or "")
        best: Order | None = None
        for b in candidates:
            if (b.code, b.side, b.qty) != (j.code, j.side, j.qty) or not self._same_price(b.price, j.price):
                continue
            if b.created_at is not None and j.created_at is not None:
                if b.created_at < j.created_at - MATCH_SKEW:
                    continue
                if session is not None and b.created_at.astimezone(KST).date() != session:
                    continue
            if best is None or (b.created_at or dt.datetime.max.replace(tzinfo=KST)) < \
                    (best.created_at or dt.datetime.max.replace(tzinfo=KST)):
                best = b
        return best

    def reconcile(self, only: list[str] | None = None, *, settle_missing: bool = True) -> ReconcileReport:
        """Bring the journal in line with the broker (see the module docstring); returns a report.

        ``only`` limits it to these client order ids; ``settle_missing=False`` never concludes "not
        placed" (used right after a timeout, when the broker may still be processing the order).
        """
        report = ReconcileReport()
        unsettled = self.journal.unsettled(self.broker.name)
        if only is not None:
            unsettled = [o for o in unsettled if o.client_order_id in only]
        report.checked = len(unsettled)
        now = self._now()
        try:
            seen = self.broker.recent_orders() if (unsettled or only is None) else []
        except BrokerError as exc:
            report.error = redact(exc.what)
            log.warning("reconciliation with %s failed: %s", self.broker.name, report.error)
            self.journal.note(now, "reconcile failed", {"error": report.error}, broker=self.broker.name)
            return report
        # broker order numbers are compared by key: Kiwoom writes "00024" in answers, "0000024" in lists
        by_id = {order_key(o.broker_order_id): o for o in seen if o.broker_order_id}
        by_cid = {o.client_order_id: o for o in seen if o.client_order_id}
        claimed = {order_key(o.broker_order_id) for o in self.journal.orders(self.broker.name) if o.broker_order_id}
        for j in unsettled:
            cid = j.client_order_id or ""
            if self._writer_alive(cid) and j.state in (OrderState.PENDING, OrderState.SENT):
                continue
            b = by_id.get(order_key(j.broker_order_id)) if j.broker_order_id else None
            if b is None and cid in by_cid:
                b = by_cid[cid]
            if b is None and not j.broker_order_id and j.state in UNSETTLED_STATES:
                b = self._match(j, (o for o in seen if order_key(o.broker_order_id) not in claimed))
            if b is not None:
                if b.broker_order_id:
                    claimed.add(order_key(b.broker_order_id))
                new = self._apply(j, b, event="reconciled")
                if new != j:
                    report.updated.append(new)
                continue
            settled = self._settle_missing(j, now, settle_missing)
            if settled is not None:
                report.updated.append(settled)
        if only is None:
            known_cids = {o.client_order_id for o in self.journal.orders(self.broker.name) if o.client_order_id}
            for o in seen:
                if (o.state.open and order_key(o.broker_order_id) not in claimed
                        and o.client_order_id not in known_cids):
                    report.foreign.append(o)
            if report.foreign:
                self.journal.note(now, "foreign orders", [o.broker_order_id for o in report.foreign],
                                  broker=self.broker.name)
        if report.updated:
            self.journal.note(now, "reconciled", {"updated": [o.client_order_id for o in report.updated]},
                              broker=self.broker.name)
        return report

    def _settle_missing(self, j: Order, now: dt.datetime, settle: bool) -> Order | None:
        cid = j.client_order_id or ""
        age = now - j.created_at if j.created_at else dt.timedelta(0)
        if j.state is OrderState.PENDING:
            return self.journal.update(cid, now, "reconciled", state=OrderState.CANCELLED,
                                       reason="never sent: the process stopped after journaling it")
        if j.state in (OrderState.SENT, OrderState.UNKNOWN):
            if settle and age >= self.grace:
                return self.journal.update(cid, now, "reconciled", state=OrderState.CANCELLED,
                                           reason=f"not placed: the broker never reported it ({age.total_seconds():.0f}"
                                                  " s after it was sent)")
            if j.state is OrderState.SENT:
                return self.journal.update(cid, now, "reconciled", state=OrderState.UNKNOWN,
                                           reason="sent, no answer; not reported by the broker yet")
            return None
        if j.state.open and settle:
            session = self.journal.session_of(cid)
            if session is not None and session < now.astimezone(KST).date():
                if j.state is OrderState.UNKNOWN:
                    return None
                return self.journal.update(cid, now, "reconciled", state=OrderState.UNKNOWN,
                                           reason="no longer reported by the broker (earlier session); check the "
                                                  "broker's order history")
            return self.journal.update(cid, now, "reconciled", state=OrderState.CANCELLED,
                                       reason="no longer reported by the broker: cancelled there")
        return None

    # -- modifying -------------------------------------------------------------------------------
    def modify(self, order_id: str, price: float, qty: int | None = None, *, client_order_id: str | None = None,
               confirm: ConfirmFn | None = None) -> Order:
        """Move ``qty`` shares (default: all that is unfilled) of an open order to the limit ``price``.

        Like every order action it passes the guard (hours, tick, band, value of ``qty × price``) and the
        confirmation, and is journaled before it is sent: the modification is a new journaled order
        (new client id; the broker's new order number) whose audit log names the original. Once the
        broker acknowledges it, the original is CANCELLED ("modified") if all of its unfilled quantity
        moved, else it stays open with a note. Returns the new journaled order; refusals raise
        :class:`OrderRejected` with ``.order`` set (nothing sent). A retry with the same
        ``client_order_id`` returns the journaled modification and sends nothing.
        """
        done = self.journal.get(client_order_id) if client_order_id else None
        if done is not None:  # a retried modify: answered from the journal, never sent twice
            return self._retry(done, OrderRequest(done.code, done.side, done.qty if qty is None else qty, price,
                                                  client_order_id))
        j = self.journal.find(order_id, self.broker.name)
        if j is None:
            raise OrderNotFound(f"order {order_id} is not in the journal of {self.broker.name}", where="order id",
                                fix="`lasps order list` shows the journaled orders")
        modify_fn = getattr(self.broker, "modify", None)
        if not callable(modify_fn):
            raise ConfigError(f"the {self.broker.name} broker cannot modify orders", where="--broker",
                              fix="cancel the order and place a new one")
        if j.state.terminal or not j.state.open:
            raise BrokerError(f"order {order_id} is {j.state.value}; only an open order can be modified",
                              where="order id")
        if not j.broker_order_id:
            raise OrderNotFound(f"order {order_id} has no broker order number yet", where="order id",
                                fix="run `lasps order list` again shortly")
        left = j.remaining_qty
        want = left if qty is None else qty
        if isinstance(want, int | float) and not isinstance(want, bool) and want > left:
            raise OrderRejected(f"cannot modify {want} shares: only {left} of order {order_id} are unfilled",
                                where="--qty", fix=f"give --qty {left} or less")
        orig_id = j.broker_order_id

        def send(req: OrderRequest) -> Order:
            return modify_fn(orig_id, int(req.qty), float(req.price or 0.0), known=j)

        cid = client_order_id or new_client_order_id(self._now())
        request = OrderRequest(j.code, j.side, want, price, cid)  # type: ignore[arg-type]
        self.journal.note(self._now(), "modify requested", {"new_client_order_id": cid, "qty": repr(want),
                                                            "price": repr(price)},
                          broker=self.broker.name, client_order_id=j.client_order_id)
        new = self.place(request, confirm=confirm, send=send)
        if new.state in (OrderState.ACKNOWLEDGED, OrderState.PARTIALLY_FILLED, OrderState.FILLED):
            self.journal.note(self._now(), "modifies", {"original": j.client_order_id,
                                                        "original_broker_order_id": orig_id},
                              broker=self.broker.name, client_order_id=cid)
            current = self.journal.get(j.client_order_id or "") or j
            if current.state.open and new.qty >= current.remaining_qty:
                self.journal.update(j.client_order_id or "", self._now(), "modified", state=OrderState.CANCELLED,
                                    reason=f"modified: the unfilled {new.qty} moved to {cid} @ {new.price:,.0f}")
            elif current.state.open:
                self.journal.note(self._now(), "partly modified", {"moved": new.qty, "to": cid},
                                  broker=self.broker.name, client_order_id=j.client_order_id)
        return new

    # -- cancelling ------------------------------------------------------------------------------
    def _broker_cancel(self, j: Order) -> Order:
        """Cancel journaled order ``j`` at the broker, telling it what the journal knows (no re-listing)."""
        return self.broker.cancel(j.broker_order_id or "", known=j)

    def cancel(self, order_id: str) -> Order:
        """Cancel an order by client or broker id (a broker order unknown to the journal is cancelled too)."""
        j = self.journal.find(order_id, self.broker.name)
        if j is None:
            result = self.broker.cancel(order_id)
            self.journal.note(self._now(), "cancel foreign order", {"order_id": order_id,
                                                                    "state": result.state.value},
                              broker=self.broker.name)
            return result
        if j.state.terminal:
            raise BrokerError(f"order {order_id} is already {j.state.value}; nothing to cancel", where="order id")
        if not j.broker_order_id:
            self.reconcile(only=[j.client_order_id or ""])
            j = self.journal.get(j.client_order_id or "") or j
            if not j.broker_order_id:
                raise OrderNotFound(f"order {order_id} ({j.state.value}) has no broker order number yet; "
                                    "it cannot be cancelled until the broker reports it",
                                    where="order id", fix="run `lasps order list` again shortly")
        try:
            result = self._broker_cancel(j)
        except OrderNotFound:
            self.reconcile(only=[j.client_order_id or ""])
            raise
        except BrokerError as exc:
            self.journal.note(self._now(), "cancel failed", {"error": exc.what}, broker=self.broker.name,
                              client_order_id=j.client_order_id)
            self.reconcile(only=[j.client_order_id or ""])  # e.g. filled meanwhile: the journal says so
            raise
        if result.state is OrderState.CANCELLED:
            return self.journal.update(j.client_order_id or "", self._now(), "cancelled", state=OrderState.CANCELLED,
                                       filled_qty=max(result.filled_qty, j.filled_qty),
                                       reason=result.reason or "cancelled by the user")
        self.journal.note(self._now(), "cancel requested", {"state": result.state.value, "note": result.reason},
                          broker=self.broker.name, client_order_id=j.client_order_id)
        return self.journal.get(j.client_order_id or "") or j

    def cancel_all(self) -> tuple[list[Order], list[str]]:
        """Cancel every unfilled order (journaled or foreign); returns ``(results, errors)``."""
        self.reconcile()
        results: list[Order] = []
        errors: list[str] = []
        targets = [o.client_order_id or "" for o in self.journal.orders(
            self.broker.name, [OrderState.ACKNOWLEDGED, OrderState.PARTIALLY_FILLED])]
        try:
            known = {order_key(o.broker_order_id) for o in self.journal.orders(self.broker.name) if o.broker_order_id}
            targets += [o.broker_order_id or "" for o in self.broker.open_orders()
                        if o.broker_order_id and order_key(o.broker_order_id) not in known]
        except BrokerError as exc:
            errors.append(f"open orders: {exc.what}")
        for oid in targets:
            try:
                results.append(self.cancel(oid))
            except BrokerError as exc:
                errors.append(f"{oid}: {exc.what}")
        self.journal.note(self._now(), "cancel all", {"cancelled": len(results), "errors": errors},
                          broker=self.broker.name)
        return results, errors

    def cancel_all_at_close(self, *, max_wait_s: float = 900.0, echo: Callable[[str], None] = log.info
                            ) -> tuple[list[Order], list[str]]:
        """Wait until today's 15:20 (closing auction) and cancel every unfilled order.

        Meant for a scheduler started shortly before 15:20: it waits at most ``max_wait_s``; earlier it
        refuses. On a non-trading day it does nothing.
        """
        now = self._now().astimezone(KST)
        if not is_session(now.date()):
            echo(f"{now.date()} is not a trading day: nothing to cancel")
            return [], []
        at = session_times(now.date()).closing_auction
        if now < at:
            wait = (at - now).total_seconds()
            if self.clock.fixed:
                echo(f"the fixed clock ({now:%H:%M}) is before {at:%H:%M}: nothing cancelled")
                return [], []
            if wait > max_wait_s:
                raise ConfigError(f"it is {now:%H:%M}; the close-of-day cancel runs at {at:%H:%M}, "
                                  f"{wait / 60:.0f} min away (more than --max-wait {max_wait_s:.0f} s)",
                                  where="--at-close", fix=f"schedule it shortly before {at:%H:%M} KST")
            echo(f"waiting {wait:.0f} s until {at:%H:%M:%S} KST")
            self.clock.sleep(wait)
        return self.cancel_all()

    def watch(self, *, poll_s: float = 30.0, echo: Callable[[str], None] = log.info,
              max_polls: int = 100_000) -> tuple[list[Order], list[str]]:
        """Follow orders until 15:20, then cancel every unfilled order (``lasps order watch``)."""
        for _ in range(max_polls):
            now = self._now().astimezone(KST)
            if not is_session(now.date()):
                echo(f"{now.date()} is not a trading day: nothing to watch")
                return [], []
            at = session_times(now.date()).closing_auction
            if now >= at:
                echo(f"{now:%H:%M:%S}: cancelling every unfilled order")
                return self.cancel_all()
            rep = self.reconcile()
            for o in rep.updated:
                echo(f"{o.client_order_id}: {o.state.value} ({o.filled_qty}/{o.qty} filled)")
            if self.clock.fixed:
                echo(f"the fixed clock ({now:%H:%M}) is before {at:%H:%M}: nothing more to do")
                return [], []
            self.clock.sleep(min(poll_s, max((at - now).total_seconds(), 0.0)))
        return [], ["watch stopped after max_polls"]

    # -- queries ---------------------------------------------------------------------------------
    def orders(self, *, today_only: bool = True) -> list[Order]:
        """Journaled orders of this broker (today's by default, plus any not yet settled), reconciled."""
        if self.last_reconcile is None:
            self.last_reconcile = self.reconcile()
        out = self.journal.orders(self.broker.name)
        if today_only:
            today = self._now().astimezone(KST).date()
            out = [o for o in out if o.created_at is None or o.created_at.astimezone(KST).date() == today
                   or not o.state.terminal]
        return out

    def open_orders(self) -> list[Order]:
        """Unfilled orders at the broker (after reconciling the journal)."""
        self.reconcile()
        return self.broker.open_orders()

    def positions(self) -> list[Position]:
        """The broker's positions (also snapshotted into the journal)."""
        pos = self.broker.positions()
        self.journal.snapshot_positions(self.broker.name, pos, self._now())
        return pos

    def cash(self) -> float:
        return float(self.broker.cash())


__all__ = ["OrderManager", "ReconcileReport", "new_client_order_id"]
