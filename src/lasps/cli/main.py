"""The ``lasps`` command. Each command group lives in its own module and is mounted here."""

from __future__ import annotations

import typer

from lasps import __version__
from lasps.cli import alpha_cmd, data_cmd

app = typer.Typer(
    name="lasps",
    help="LASPS — Korean-equity quant research and trading workstation (KOSPI/KOSDAQ).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_cmd.app, name="data", help="Build, import, update, check and inspect the market store.")
app.add_typer(alpha_cmd.app, name="alpha", help="List, compute, show and add formulaic alphas.")


@app.command()
def version() -> None:
    """Print the LASPS version."""
    typer.echo(__version__)


if __name__ == "__main__":  # pragma: no cover
    app()
