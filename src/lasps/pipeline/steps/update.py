"""Step ``update``: fetch the sessions up to D from a live source (nothing for an offline store)."""

from __future__ import annotations

import logging
from typing import Any

from lasps.data.store import with_store_retry
from lasps.data.update import update_store
from lasps.pipeline.context import StepContext, store_source_label

log = logging.getLogger("lasps.pipeline")


def run(ctx: StepContext) -> tuple[dict[str, Any], bool]:
    if ctx.source_name is None:
        label = store_source_label(ctx.ws)
        log.info("update: offline store (%s): nothing to fetch", label)
        return {"source": label, "fetched": 0, "note": "offline store: nothing to fetch"}, True
    if ctx.config.dry_run:
        log.info("update: dry run: would fetch from %s up to %s", ctx.source_name, ctx.date)
        return {"source": ctx.source_name, "fetched": 0, "note": "dry run: nothing fetched"}, True

    rep = with_store_retry(lambda: update_store(ctx.home, ctx.source_name, ctx.settings, until=ctx.date,
                                                 source=ctx.source_obj, now=ctx.now))
    ctx.cache.pop("stored", None)
    log.info("update: %s", rep.summary())
    for note in rep.notes:
        log.info("update: %s", note)
    return {"source": ctx.source_name, "fetched": len(rep.written), "skipped": len(rep.skipped),
            "price_rows": rep.price_rows, "summary": rep.summary(), "notes": rep.notes, "line": rep.summary()}, False
