"""Step ``orders``: ``--orders paper`` moves the paper account to equal weights in the picks (guard + journal)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import numpy as np
import pandas as pd

from lasps.broker import open_manager, orders_from_picks
from lasps.broker.base import OrderRejected, OrderRequest, Side
from lasps.broker.clock import CLOCK_ENV, FixedClock, SystemClock, clock_from_env
from lasps.errors import LaspsError
from lasps.files import write_json
from lasps.krx.calendar import KST, sessions
from lasps.krx.sessions import session_times
from lasps.pipeline import outputs as out
from lasps.pipeline.context import StepContext
from lasps.pipeline.steps.report import run as write_report

log = logging.getLogger("lasps.pipeline")


def orders_clock(day: dt.date, now: dt.datetime | None = None) -> Any:
    """The clock paper orders for picks made at the close of ``day`` are placed with.

    ``LASPS_CLOCK`` when set. Otherwise the orders belong to the next session: before its opening auction
    they are queued at 08:31 KST of that session (the paper broker keeps them open until the session's
    bar is stored); during its order hours the real time is used; after it they are stale and refused.
    """
    if os.environ.get(CLOCK_ENV, "").strip():
        return clock_from_env(live=False, broker="paper")
    now = (now or dt.datetime.now(KST)).astimezone(KST)
    nxt = pd.Timestamp(day) + pd.Timedelta(days=1)
    upcoming = sessions(nxt, nxt + pd.Timedelta(days=20))
    if len(upcoming) == 0:  # pragma: no cover - the calendar always has a next session
        raise LaspsError(f"no trading session after {day} in the calendar")
    st = session_times(pd.Timestamp(upcoming[0]).date())
    if now < st.pre_open:
        return FixedClock(st.pre_open + dt.timedelta(minutes=1))
    if now < st.closing_auction:
        return SystemClock()
    raise LaspsError(
        f"the picks of {day} were for the session of {st.date}, which is over (now {now:%Y-%m-%d %H:%M} KST)",
        where="--orders", fix=f"run `lasps daily` for a recent date, or replay with LASPS_CLOCK="
                              f"{st.pre_open + dt.timedelta(minutes=1):%Y-%m-%dT%H:%M:%S%z} (paper only)")


def run(ctx: StepContext) -> tuple[dict[str, Any], bool]:
    cfg = ctx.config
    if cfg.orders is None:
        return {"note": "no --orders"}, True

    picks = pd.read_csv(ctx.file("picks.csv"), dtype={"code": str})
    weights = [(str(c), 1.0 / cfg.picks) for c in picks["code"]]
    ref = {str(c): float(p) for c, p in zip(picks["code"], picks["close"], strict=True)}
    if cfg.dry_run:
        from lasps.broker.settings import get_broker_settings

        capital = cfg.capital or get_broker_settings(home=ctx.home).paper_cash
        reqs = orders_from_picks(weights, float(capital), None, ref)
        planned = [{"code": r.code, "side": r.side.value, "qty": r.qty, "price": r.price, "state": "planned"}
                   for r in reqs]
        write_json(ctx.file("orders.json"), {"date": ctx.date.isoformat(), "dry_run": True, "orders": planned})
        return {"planned": len(planned), "note": "dry run: nothing placed"}, True
    clock = ctx.clock or orders_clock(ctx.date, ctx.now)
    plan_path = ctx.file("orders_plan.json")
    results: list[dict[str, Any]] = []
    with open_manager("paper", home=ctx.home, clock=clock) as desk:
        plan = out.read_json(plan_path)
        codes = [c for c, _ in weights]
        revision = 0
        if plan and plan.get("picks") != codes:  # the picks changed since the plan: plan again, new ids
            revision, plan = int(plan.get("revision") or 0) + 1, None
        if not plan:  # plan once; a resumed run re-places the same client ids (the journal deduplicates)
            positions = desk.positions()
            prices = dict(ref)
            signals = pd.read_parquet(ctx.file("signals.parquet"), columns=["code", "close"])
            last = dict(zip(signals["code"].astype(str), signals["close"], strict=True))
            for p in positions:
                if p.code not in prices and np.isfinite(last.get(p.code, np.nan)):
                    prices[p.code] = float(last[p.code])
            value = desk.cash() + sum(p.qty * prices.get(p.code, p.avg_price) for p in positions)
            capital = float(cfg.capital or value)
            reqs = orders_from_picks(weights, capital, desk.broker, prices)
            tag = ctx.date.strftime("%Y%m%d") + (f"r{revision}" if revision else "")
            plan = {"date": ctx.date.isoformat(), "capital": capital, "clock": clock.now().isoformat(),
                    "picks": codes, "revision": revision,
                    "orders": [{"code": r.code, "side": r.side.value, "qty": r.qty, "price": r.price,
                                "client_order_id": f"D{tag}-{r.side.value}-{r.code}"} for r in reqs]}
            write_json(plan_path, plan)
        for o in plan["orders"]:
            req = OrderRequest(o["code"], Side(o["side"]), int(o["qty"]), o["price"], o["client_order_id"])
            try:
                order = desk.place(req)
                results.append(order.as_dict())
            except OrderRejected as exc:
                d = exc.order.as_dict() if exc.order is not None else dict(o)
                d["reason"] = exc.what
                results.append(d)
    states: dict[str, int] = {}
    for r in results:
        states[str(r.get("state"))] = states.get(str(r.get("state")), 0) + 1
    write_json(ctx.file("orders.json"), {"date": ctx.date.isoformat(), "capital": plan["capital"],
                                         "clock": plan["clock"], "orders": results})
    log.info("orders: %d paper order(s) at %s: %s", len(results), plan["clock"],
             ", ".join(f"{k} {v}" for k, v in states.items()) or "none")
    write_report(ctx)  # the report lists the orders placed
    return {"orders": len(results), "states": states, "clock": plan["clock"],
            "line": f"{len(results)} paper order(s) at {plan['clock']}"}, False
