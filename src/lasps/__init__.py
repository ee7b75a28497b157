"""LASPS — a Korean-equity (KOSPI/KOSDAQ) quant research and trading workstation.

Data flows one way: ``cli/service/pipeline -> report -> research/backtest/ml -> alpha -> data -> krx``
(``broker`` uses ``krx`` and ``data`` only); ``tests/test_architecture.py`` checks it.
The Python entry point is :class:`lasps.Workspace` (``ws = lasps.Workspace.open("lasps_home")``; see
``docs/tutorial.md``). It is imported on first use, so ``import lasps`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Workspace", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Workspace":
        from lasps.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'lasps' has no attribute {name!r}")
