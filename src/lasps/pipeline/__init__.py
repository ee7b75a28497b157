"""The daily pipeline and the demo (DESIGN §6): update → compute → evaluate → select → picks → report → orders.

Entry points: :func:`~lasps.pipeline.daily.run_daily` (``lasps daily``) and
:func:`~lasps.pipeline.demo.run_demo` (``lasps demo``). Outputs and their layout:
:mod:`~lasps.pipeline.outputs`; the step journal: :mod:`~lasps.pipeline.state`; incremental alpha
computation: :mod:`~lasps.pipeline.alphas`. Imports are lazy so that ``import lasps.pipeline`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"DailyConfig": "daily", "DailyResult": "daily", "run_daily": "daily", "DemoConfig": "demo",
            "run_demo": "demo"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'lasps.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lasps.pipeline.{mod}"), name)
