"""The steps of ``lasps daily``, one module each, run in order by :func:`lasps.pipeline.daily.run_daily`.

Each module has ``run(ctx: StepContext) -> (summary, skipped)``: the summary goes into the step journal,
``skipped`` marks a step that had nothing to do. :data:`OUTPUTS` lists the files a finished step leaves in
``pipeline/D/`` (a done step whose files are missing runs again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lasps.pipeline import outputs as out
from lasps.pipeline.context import STEPS, StepContext
from lasps.pipeline.steps import compute, evaluate, orders, picks, report, select, update

StepFunc = Callable[[StepContext], tuple[dict[str, Any], bool]]

STEP_FUNCS: dict[str, StepFunc] = {
    "update": update.run, "compute": compute.run, "evaluate": evaluate.run, "select": select.run,
    "picks": picks.run, "report": report.run, "orders": orders.run,
}
assert tuple(STEP_FUNCS) == STEPS

OUTPUTS: dict[str, tuple[str, ...]] = {
    "evaluate": ("evaluation.json", "rank_window.csv", "ic_daily.parquet", "wf_summary.csv", "wf_periods.csv",
                 "wf_variants.csv", "correlation.csv", "signals.parquet"),
    "select": ("selection.json",),
    "picks": ("picks.csv", "picks.json"),
    "orders": ("orders.json",),
}


def outputs_exist(ctx: StepContext, step: str) -> bool:
    """True when the files ``step`` writes are all present (the report: both report files)."""
    if step == "report":
        if ctx.config.dry_run:
            return True
        md, html = out.report_paths(ctx.home, ctx.date)
        return md.is_file() and html.is_file()
    return all(ctx.file(n).is_file() for n in OUTPUTS.get(step, ()))


__all__ = ["OUTPUTS", "STEP_FUNCS", "StepFunc", "outputs_exist"]
