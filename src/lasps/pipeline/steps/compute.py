"""Step ``compute``: bring every stored alpha up to D incrementally (:mod:`lasps.pipeline.alphas`)."""

from __future__ import annotations

import logging
from typing import Any

from lasps.pipeline.context import StepContext

log = logging.getLogger("lasps.pipeline")


def run(ctx: StepContext) -> tuple[dict[str, Any], bool]:
    if ctx.config.dry_run:
        log.info("compute: dry run: alphas are computed in memory by the evaluation, nothing is written")
        return {"note": "dry run", "unavailable": {}, "in_memory": list(ctx.pool),
                "in_memory_reason": "dry run: alphas computed in memory, nothing stored"}, True
    if ctx.config.universe != "default":  # the store keeps one file per alpha, for the default universe
        log.info("compute: universe %s: alphas are computed in memory (the alpha store holds the default "
                 "universe, which cross-sectional alphas depend on)", ctx.config.universe)
        return {"note": f"universe {ctx.config.universe}: computed in memory", "unavailable": {},
                "in_memory": list(ctx.pool),
                "in_memory_reason": f"universe {ctx.config.universe}: the alpha store holds the default universe"}, True
    from lasps.pipeline.alphas import compute_alphas

    rep = compute_alphas(ctx.ws, [ctx.catalogue[n] for n in ctx.pool], ctx.date, catalogue=ctx.catalogue,
                         progress=ctx.tick("compute"))
    log.info("compute: %s (%.1f s)", rep.line(), rep.seconds)
    reasons: dict[str, list[str]] = {}
    for name, why in rep.recomputed.items():
        reasons.setdefault(why, []).append(name)
    for why, names in reasons.items():
        log.info("compute: %d recomputed in full (%s%s): %s", len(names), ", ".join(names[:4]),
                 " …" if len(names) > 4 else "", why)
    return rep.as_dict() | {"line": rep.line()}, False
