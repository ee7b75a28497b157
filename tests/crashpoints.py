"""Run a LASPS command in this process and SIGKILL it at a chosen point — fault injection from the tests.

The product has no crash hooks: this wrapper monkeypatches a seam, then runs the module as ``__main__``::

    python tests/crashpoints.py POINT -m lasps.cli.order_cmd buy 005380 3 250000 --yes

Points:

``after-journal``     the order manager has journaled a new order as PENDING (``Journal.insert_pending``
                      returned) and has not sent it yet;
``after-send``        the broker acknowledged the order (``place`` returned) but the acknowledgement is not
                      yet written back to the journal;
``daily-after:STEP``  the daily pipeline has journaled STEP as done (``StepJournal.finish`` returned).

Tests use :func:`command` to build the argument list.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path
from typing import Any

RUNNER = Path(__file__).resolve()


def command(point: str, module: str, *args: str) -> list[str]:
    """``[python, this file, point, -m, module, *args]`` for :func:`subprocess.run`."""
    return [sys.executable, str(RUNNER), point, "-m", module, *args]


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    """Patch the seam of ``point`` so that the process kills itself there."""
    if point == "after-journal":
        from lasps.broker.journal import Journal

        original = Journal.insert_pending

        def insert_pending(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = original(self, *args, **kwargs)
            _die()
            return out

        Journal.insert_pending = insert_pending  # type: ignore[method-assign]
    elif point == "after-send":
        from lasps.broker import manager

        place = manager.place

        def place_then_die(*args: Any, **kwargs: Any) -> Any:
            out = place(*args, **kwargs)
            _die()
            return out

        manager.place = place_then_die  # type: ignore[assignment]
    elif point.startswith("daily-after:"):
        from lasps.pipeline.state import StepJournal

        step = point.split(":", 1)[1]
        finish = StepJournal.finish

        def finish_then_die(self: Any, name: str, *args: Any, **kwargs: Any) -> None:
            finish(self, name, *args, **kwargs)
            if name == step:
                _die()

        StepJournal.finish = finish_then_die  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown crash point {point!r}")


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: crashpoints.py POINT -m MODULE [ARGS...]")
    point, module, args = argv[0], argv[2], argv[3:]
    install(point)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
