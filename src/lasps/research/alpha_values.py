"""Alpha values, stored or computed: the one source every evaluation and backtest reads (DESIGN §3.4, §4).

:func:`stored_or_computed` yields ``(name, (T, N) float array)`` aligned to a panel, one alpha at a
time, so that a pool of 101 alphas over a long panel never has to sit in memory at once:

1. the alphas read from the alpha store (``$LASPS_HOME/alphas/<name>.parquet``,
   :func:`lasps.alpha.store.read_alpha`), in request order;
2. then the others, compiled together by the engine (:func:`lasps.alpha.engine.compile_alphas`, shared
   sub-expressions once). They are computed on ``compute_panel`` when given — a panel that ends on the
   same date and starts earlier, so each alpha's warm-up lies before the first evaluated row — and cut
   to the panel's rows; alphas the data cannot provide are recorded in ``unavailable`` with the reason
   (nothing substituted).

Which alphas are read and which are computed is the caller's choice (``lasps eval``: the ones without a
file; the backtest: the ones whose file does not cover the panel; ``lasps daily``: the ones without a
file or not brought up to date by its compute step).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lasps.alpha.conventions import DEFAULT
from lasps.alpha.engine import compile_alphas
from lasps.errors import LaspsError

if TYPE_CHECKING:
    from lasps.alpha.catalogue import Catalogue
    from lasps.alpha.conventions import Conventions
    from lasps.data.panel import Panel


def stored_or_computed(panel: Panel, names: Sequence[str], computed: Collection[str], *,
                       home: Path | str | None, catalogue: Catalogue | None = None,
                       unavailable: dict[str, str] | None = None, compute_panel: Panel | None = None,
                       specs: Sequence[Any] | None = None, conventions: Conventions | None = None,
                       industry: bool = True,
                       on_value: Callable[[str, np.ndarray], None] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, (T, N))`` for ``names``: stored ones first (request order), then ``computed`` ones.

    Parameters
    ----------
    panel:
        The panel the values are aligned to (``(T, N)`` = its dates × codes).
    names:
        Alpha names, in request order.
    computed:
        The subset of ``names`` computed by the engine instead of read from the store.
    home:
        ``$LASPS_HOME`` of the alpha store (may be None when nothing is read).
    catalogue:
        Resolves computed names to formulas (user alphas included).
    unavailable:
        Filled with ``{name: reason}`` for computed alphas the data cannot provide.
    compute_panel:
        A panel ending at ``panel``'s last date with the same codes and earlier rows (warm-up); default
        ``panel`` itself.
    specs, conventions, industry:
        Alternatively the engine specs to compute (instead of the ``computed`` names), with the
        engine's conventions and industry switch (:func:`lasps.alpha.engine.compile_alphas`).
    on_value:
        Called with ``(name, values)`` before each is yielded (e.g. to keep the last row).
    """
    skip = set(computed)
    if any(n not in skip for n in names):
        from lasps.alpha.store import read_alpha

        if home is None:
            raise LaspsError("stored alphas need the LASPS home they are stored under")
        for name in names:
            if name in skip:
                continue
            arr = read_alpha(home, name, panel)
            if on_value is not None:
                on_value(name, arr)
            yield name, arr
    todo: Sequence[Any] = list(specs) if specs is not None else [n for n in names if n in skip]
    if not todo:
        return

    wpanel = compute_panel if compute_panel is not None else panel
    offset = len(wpanel.dates) - len(panel.dates)
    if offset < 0 or not np.array_equal(wpanel.dates[offset:], panel.dates) \
            or not np.array_equal(wpanel.codes, panel.codes):
        raise LaspsError("the warm-up panel does not line up with the evaluation panel")
    program = compile_alphas(todo, wpanel, conventions or DEFAULT, industry, catalogue=catalogue)
    if unavailable is not None:
        unavailable.update(program.unavailable)
    for name, arr in program.run(wpanel):
        if offset:
            arr = np.ascontiguousarray(arr[offset:])
        if on_value is not None:
            on_value(name, arr)
        yield name, arr


__all__ = ["stored_or_computed"]
