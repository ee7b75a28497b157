"""The ``lasps`` command. Each command group lives in its own module and is mounted here."""

from __future__ import annotations

import typer

from lasps import __version__
from lasps.cli import (
    alpha_cmd,
    backtest_cmd,
    daily_cmd,
    data_cmd,
    demo_cmd,
    eval_cmd,
    mine_cmd,
    ml_cmd,
    order_cmd,
    serve_cmd,
)

app = typer.Typer(
    name="lasps",
    help="LASPS — Korean-equity quant research and trading workstation (KOSPI/KOSDAQ).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_cmd.app, name="data", help="Build, import, update, check and inspect the market store.")
alpha_cmd.app.command("mine")(mine_cmd.mine)  # `lasps alpha mine` (formula search, cli/mine_cmd.py)
app.add_typer(alpha_cmd.app, name="alpha", help="List, compute, show and add formulaic alphas.")
app.add_typer(eval_cmd.app, name="eval", help="Evaluate alphas in and out of sample: IC, walk-forward, overfitting.")
app.add_typer(backtest_cmd.app, name="backtest", help="Simulate strategies with KRX rules and costs.")
app.add_typer(order_cmd.app, name="order", help="Guarded, journaled orders: paper (default) or Kiwoom.")
app.add_typer(ml_cmd.app, name="ml", help="Deep-learning track: datasets, analyses, training, prediction.")
app.command("daily")(daily_cmd.daily)
app.command("demo")(demo_cmd.demo)
app.command("serve")(serve_cmd.serve)


@app.command()
def version() -> None:
    """Print the LASPS version."""
    typer.echo(__version__)


if __name__ == "__main__":  # pragma: no cover
    app()
