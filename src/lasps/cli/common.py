"""Shared CLI plumbing: the console, the home option, and turning errors into exit code 2."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from lasps.config import Settings, get_settings
from lasps.errors import LaspsError
from lasps.workspace import Workspace

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="LASPS_HOME", help="LASPS home directory (default ./lasps_home).",
                 show_default=False),
]


def settings_for(home: Path | None) -> Settings:
    return get_settings(home=home)


def workspace_for(home: Path | None) -> Workspace:
    """The workspace a command works in (``--home`` / ``LASPS_HOME`` / ``lasps.toml`` / ``./lasps_home``)."""
    return Workspace(settings_for(home).home, settings_for(home))


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(h, RichHandler) for h in root.handlers):
        handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
        logging.basicConfig(level=level.upper(), handlers=[handler], format="%(message)s")


def handle_errors(fn: F) -> F:
    """Decorator: a :class:`LaspsError` prints ``error: …`` in red and exits with code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LaspsError as exc:
            err_console.print(f"[bold red]error:[/] {escape(exc.render())}", highlight=False)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
