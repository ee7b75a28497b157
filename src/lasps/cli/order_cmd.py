"""``lasps order …``: guarded, journaled orders (paper by default; Kiwoom REST or OpenAPI+).

Examples::

    lasps order buy 005380 10 250000          # limit buy, 3-second countdown (Ctrl-C aborts)
    lasps order sell 005380 10 --market --yes # market sell, no countdown
    lasps order list                           # today's journaled orders (after reconciling)
    lasps order cancel L20260225-1a2b3c4d5e6f  # by client or broker order id
    lasps order modify L20260225-1a2b3c4d5e6f --price 249500 [--qty 5]   # guarded + journaled
    lasps order cancel-all [--at-close]        # --at-close: wait for 15:20 (for a scheduler)
    lasps order positions
    lasps order watch                          # follow orders, cancel the unfilled ones at 15:20
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lasps.broker.base import Order, OrderRequest, OrderState, Side
from lasps.broker.factory import open_manager
from lasps.broker.guard import GuardReport, countdown
from lasps.broker.manager import OrderManager
from lasps.broker.settings import get_broker_settings
from lasps.cli.common import HomeOption, console, err_console, handle_errors, workspace_for
from lasps.errors import ConfigError
from lasps.workspace import Workspace

app = typer.Typer(no_args_is_help=True, help="Place, list, cancel and watch guarded orders.")

BrokerOption = Annotated[
    str | None,
    typer.Option("--broker", help="paper (default, or LASPS_BROKER) | kiwoom-rest | kiwoom-ocx.", show_default=False),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Skip the confirmation countdown.")]
MarketOption = Annotated[bool, typer.Option("--market", help="Market order (no price).")]
ClientIdOption = Annotated[
    str | None,
    typer.Option("--client-id", help="Client order id; re-running with the same id never sends a second order.",
                 show_default=False),
]

#: Injectable for tests: the countdown's sleep.
_sleep = time.sleep


def _open(broker: str | None, ws: Workspace, *, yes: bool = False) -> OrderManager:
    settings = get_broker_settings(home=ws.home)
    seconds = 0.0 if yes else settings.confirm_seconds

    def confirm(report: GuardReport) -> bool:
        return countdown(report, seconds, echo=lambda s: console.print(escape(s), highlight=False),
                         sleep=lambda x: _sleep(x))

    return open_manager(broker, settings=settings, confirm=confirm if seconds > 0 else None)


def _num(text: str) -> int | float | str:
    t = text.replace(",", "").replace("_", "").strip()
    try:
        return int(t)
    except ValueError:
        try:
            return float(t)
        except ValueError:
            return text


def _describe(o: Order) -> str:
    px = "market" if o.price is None else f"{o.price:,.0f}"
    fill = f", filled {o.filled_qty:,}" + (f" @ {o.avg_fill_price:,.0f}" if o.avg_fill_price else "") \
        if o.filled_qty else ""
    ids = o.client_order_id or ""
    if o.broker_order_id:
        ids += f" (broker #{o.broker_order_id})"
    reason = f" — {o.reason}" if o.reason else ""
    return f"{o.state.value}: {o.side.value} {o.code} × {o.qty:,} @ {px}{fill}  {ids}{reason}"


def _place(side: Side, code: str, qty: str, price: str | None, market: bool, yes: bool, broker: str | None,
           ws: Workspace, client_id: str | None) -> None:
    if market and price is not None:
        raise ConfigError("give either a price or --market, not both", where="PRICE / --market")
    if not market and price is None:
        raise ConfigError("no price given", where="PRICE", fix="add a limit price, or --market for a market order")
    px: float | None = None
    if price is not None:
        v = _num(price)
        if isinstance(v, str):
            raise ConfigError(f"price {price!r} is not a number", where="PRICE")
        px = float(v)
    with _open(broker, ws, yes=yes) as desk:
        order = desk.place(OrderRequest(code.strip(), side, _num(qty), px, client_id))  # type: ignore[arg-type]
        style = "yellow" if order.state is OrderState.UNKNOWN else "green"
        console.print(f"[{style}]{escape(_describe(order))}[/]", highlight=False)
        if order.state is OrderState.UNKNOWN:
            err_console.print("[yellow]the broker did not confirm the order; it will be reconciled — check with "
                              "`lasps order list`. Do not re-send it with a new id.[/]")
            raise typer.Exit(code=3)


@app.command("buy")
@handle_errors
def buy_cmd(
    code: Annotated[str, typer.Argument(help="Stock code, e.g. 005380.")],
    qty: Annotated[str, typer.Argument(help="Whole number of shares.")],
    price: Annotated[str | None, typer.Argument(help="Limit price (KRW); omit with --market.")] = None,
    market: MarketOption = False,
    yes: YesOption = False,
    broker: BrokerOption = None,
    client_id: ClientIdOption = None,
    home: HomeOption = None,
) -> None:
    """Buy: guard (hours, tick, band, value) → countdown → journal → broker."""
    _place(Side.BUY, code, qty, price, market, yes, broker, workspace_for(home), client_id)


@app.command("sell")
@handle_errors
def sell_cmd(
    code: Annotated[str, typer.Argument(help="Stock code, e.g. 005380.")],
    qty: Annotated[str, typer.Argument(help="Whole number of shares.")],
    price: Annotated[str | None, typer.Argument(help="Limit price (KRW); omit with --market.")] = None,
    market: MarketOption = False,
    yes: YesOption = False,
    broker: BrokerOption = None,
    client_id: ClientIdOption = None,
    home: HomeOption = None,
) -> None:
    """Sell: guard → countdown → journal → broker."""
    _place(Side.SELL, code, qty, price, market, yes, broker, workspace_for(home), client_id)


@app.command("list")
@handle_errors
def list_cmd(
    all_days: Annotated[bool, typer.Option("--all", help="Every journaled order, not just today's.")] = False,
    broker: BrokerOption = None,
    home: HomeOption = None,
) -> None:
    """Journaled orders (reconciled with the broker first)."""
    with _open(broker, workspace_for(home)) as desk:
        orders = desk.orders(today_only=not all_days)
        rep = desk.last_reconcile
        table = Table(title=f"orders ({desk.name})")
        for col in ("client id", "broker id", "time", "side", "code", "qty", "price", "state", "filled", "avg",
                    "reason"):
            table.add_column(col)
        for o in orders:
            table.add_row(o.client_order_id or "", o.broker_order_id or "",
                          f"{o.created_at:%m-%d %H:%M:%S}" if o.created_at else "", o.side.value, o.code,
                          f"{o.qty:,}", "market" if o.price is None else f"{o.price:,.0f}", o.state.value,
                          f"{o.filled_qty:,}", f"{o.avg_fill_price:,.0f}" if o.avg_fill_price else "",
                          escape(o.reason or ""))
        console.print(table)
        if not orders:
            console.print("no orders")
        if rep is not None and rep.error:
            err_console.print(f"[yellow]reconciliation failed: {escape(rep.error)}[/]")
        if rep is not None and rep.foreign:
            err_console.print(f"[yellow]{len(rep.foreign)} open order(s) at the broker are not in the journal: "
                              f"{', '.join(o.broker_order_id or '?' for o in rep.foreign)}[/]")


@app.command("cancel")
@handle_errors
def cancel_cmd(
    order_id: Annotated[str, typer.Argument(help="Client order id (L…) or broker order number.")],
    broker: BrokerOption = None,
    home: HomeOption = None,
) -> None:
    """Cancel the unfilled remainder of an order."""
    with _open(broker, workspace_for(home)) as desk:
        console.print(escape(_describe(desk.cancel(order_id))), highlight=False)


@app.command("modify")
@handle_errors
def modify_cmd(
    order_id: Annotated[str, typer.Argument(help="Client order id (L…) or broker order number.")],
    price: Annotated[str, typer.Option("--price", help="New limit price (KRW).")],
    qty: Annotated[str | None, typer.Option("--qty", help="Shares to move to the new price (default: all that "
                                                          "is unfilled).", show_default=False)] = None,
    yes: YesOption = False,
    broker: BrokerOption = None,
    client_id: ClientIdOption = None,
    home: HomeOption = None,
) -> None:
    """Modify an open order's price (and quantity): guard → countdown → journal → broker (kt10002)."""
    px = _num(price)
    if isinstance(px, str):
        raise ConfigError(f"price {price!r} is not a number", where="--price")
    with _open(broker, workspace_for(home), yes=yes) as desk:
        order = desk.modify(order_id, float(px), None if qty is None else _num(qty),  # type: ignore[arg-type]
                            client_order_id=client_id)
        style = "yellow" if order.state is OrderState.UNKNOWN else "green"
        console.print(f"[{style}]{escape(_describe(order))}[/]", highlight=False)
        if order.state is OrderState.UNKNOWN:
            err_console.print("[yellow]the broker did not confirm the modification; it will be reconciled — check "
                              "with `lasps order list`.[/]")
            raise typer.Exit(code=3)


@app.command("cancel-all")
@handle_errors
def cancel_all_cmd(
    at_close: Annotated[bool, typer.Option("--at-close", help="Wait until 15:20 KST, then cancel (for a scheduler "
                                                             "started shortly before).")] = False,
    max_wait: Annotated[float, typer.Option(help="--at-close: longest wait (seconds).")] = 900.0,
    broker: BrokerOption = None,
    home: HomeOption = None,
) -> None:
    """Cancel every unfilled order (now, or at 15:20 with --at-close)."""
    with _open(broker, workspace_for(home)) as desk:
        echo = lambda s: console.print(escape(s), highlight=False)  # noqa: E731
        done, errors = desk.cancel_all_at_close(max_wait_s=max_wait, echo=echo) if at_close else desk.cancel_all()
        for o in done:
            echo(_describe(o))
        console.print(f"{len(done)} order(s) cancelled")
        for e in errors:
            err_console.print(f"[red]{escape(e)}[/]")
        if errors:
            raise typer.Exit(code=1)


@app.command("positions")
@handle_errors
def positions_cmd(broker: BrokerOption = None, home: HomeOption = None) -> None:
    """Positions and cash at the broker."""
    with _open(broker, workspace_for(home)) as desk:
        table = Table(title=f"positions ({desk.name})")
        for col in ("code", "qty", "avg price", "last"):
            table.add_column(col, justify="right" if col != "code" else "left")
        for p in desk.positions():
            table.add_row(p.code, f"{p.qty:,}", f"{p.avg_price:,.0f}", f"{p.last_price:,.0f}" if p.last_price else "")
        console.print(table)
        console.print(f"cash: {desk.cash():,.0f} KRW")


@app.command("watch")
@handle_errors
def watch_cmd(
    poll: Annotated[float, typer.Option(help="Seconds between reconciliations.")] = 30.0,
    broker: BrokerOption = None,
    home: HomeOption = None,
) -> None:
    """Follow today's orders and cancel every unfilled one at 15:20 KST."""
    with _open(broker, workspace_for(home)) as desk:
        echo = lambda s: console.print(escape(s), highlight=False)  # noqa: E731
        done, errors = desk.watch(poll_s=poll, echo=echo)
        if done:
            console.print(f"{len(done)} order(s) cancelled at the close")
        for e in errors:
            err_console.print(f"[red]{escape(e)}[/]")
        if errors:
            raise typer.Exit(code=1)


@app.command("reconcile")
@handle_errors
def reconcile_cmd(broker: BrokerOption = None, home: HomeOption = None) -> None:
    """Reconcile the journal with the broker and show what changed."""
    with _open(broker, workspace_for(home)) as desk:
        rep = desk.last_reconcile
        if rep is None:  # pragma: no cover - open_manager always reconciles
            rep = desk.reconcile()
        for o in rep.updated:
            console.print(escape(_describe(o)), highlight=False)
        console.print(f"checked {rep.checked}, updated {len(rep.updated)}, foreign {len(rep.foreign)}")
        if rep.error:
            err_console.print(f"[red]reconciliation failed: {escape(rep.error)}[/]")
            raise typer.Exit(code=1)


if __name__ == "__main__":  # pragma: no cover
    app()
