"""``lasps serve``: the FastAPI service and dashboard with uvicorn (127.0.0.1:8000 by default).

Mount in ``lasps.cli.main``::

    from lasps.cli import serve_cmd
    app.command("serve")(serve_cmd.serve)
"""

from __future__ import annotations

from typing import Annotated

import typer

from lasps.cli.common import HomeOption, console, handle_errors, workspace_for
from lasps.errors import ConfigError


@handle_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind; 127.0.0.1 keeps it local (use 0.0.0.0 "
                                                     "only behind a firewall/proxy).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
    home: HomeOption = None,
) -> None:
    """Serve the JSON API (/api, /docs) and the dashboard (/) over $LASPS_HOME.

    Order endpoints (/api/orders) need LASPS_API_TOKEN on the server and `Authorization: Bearer <token>`.
    """
    import socket

    import uvicorn

    from lasps.service.app import create_app

    ws = workspace_for(home)
    home_path = ws.home
    if not home_path.is_dir():
        raise ConfigError(f"LASPS_HOME {home_path} does not exist", where="--home",
                          fix="create data first: `lasps demo`, or `lasps data init --source synthetic`")
    try:  # a clear message instead of uvicorn's traceback when the port is taken
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}", where="--host/--port",
                          fix="choose another --port, or stop the process using it") from exc
    console.print(f"LASPS service for [bold]{home_path}[/] on http://{host}:{port}  "
                  f"(dashboard /, API docs /docs; Ctrl-C stops)")
    app = create_app(ws)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


if __name__ == "__main__":  # pragma: no cover - `python -m lasps.cli.serve_cmd`
    typer.run(serve)
