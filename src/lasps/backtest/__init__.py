"""Backtests and portfolio simulation with KRX rules and costs (DESIGN §5; docs/backtest.md).

Modules (one job each):

==============  ===========================================================================
``fills``       halts, locked limits (via :mod:`lasps.krx.rules`), delistings
``market``      :class:`SimMarket` — per-panel arrays shared by many simulations
``selection``   variants (``_rev``), daily IC, trailing / period IC_IR, top-N choice
``strategies``  single, ensemble, voting, adaptive -> :class:`Targets`
``kernel``      the numba daily loop
``simulator``   :func:`simulate` -> :class:`SimResult`
``metrics``     :func:`compute_metrics` (empyrical-reloaded where it fits)
``alphas``      ``--alphas`` / ``--pool`` parsing, alpha values from the store or the engine
``outputs``     run directory, ``latest``, DuckDB tables
``plots``       equity-curve PNG
``runner``      :func:`run_backtest`, :func:`run_compare`, :func:`run_oos` (what the CLI calls)
==============  ===========================================================================

The KRX rules and the cost model (:class:`~lasps.krx.costs.CostModel`) live in :mod:`lasps.krx`.

Names are imported lazily, so ``import lasps.backtest`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "FillMasks": "fills", "fill_masks": "fills", "delisting_rows": "fills",
    "SimMarket": "market",
    "VariantIC": "selection", "variant_ic": "selection", "trailing_ic_ir": "selection",
    "masked_ic_ir": "selection", "select_top": "selection",
    "STRATEGIES": "strategies", "AdaptiveConfig": "strategies", "Targets": "strategies",
    "build_targets": "strategies", "rebalance_rows": "strategies",
    "SimConfig": "simulator", "SimResult": "simulator", "simulate": "simulator",
    "compute_metrics": "metrics", "METRIC_KEYS": "metrics",
    "write_run": "outputs", "latest_run_id": "outputs",
    "RunParams": "runner", "run_backtest": "runner", "run_compare": "runner", "run_oos": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'lasps.backtest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lasps.backtest.{mod}"), name)
