"""Evaluate many alphas in both directions: one kernel pass per alpha, small per-date results kept.

Flow::

    panel --forward_returns--> fwd (T, N), known_row (T,)
    for each alpha (streamed, freed after use):
        kernels.evaluate_alpha -> IC, bucket means, long/short legs, turnover   (alpha and reverse)
        z-scored ranks at every h-th row (float32) for the walk-forward composite and correlations
    -> Evaluation (per variant and date), splits
    -> ranking.rank_table / walkforward.walk_forward / overfit.overfit_report / correlation

Variants: every alpha ``x`` gives ``x`` and ``x_rev`` (= -x). The reverse is derived from the same
pass, never recomputed: ``IC_rev = -IC`` exactly (average ranks mirror), and the reverse buckets come
from the mirrored ranks ``n + 1 - r`` of the same sort (identical to the forward buckets read
backwards except for names exactly on a bucket boundary).

Scale-out: :func:`evaluate_alphas` computes (or reads from the alpha store) **and** evaluates alphas in
batches on a :mod:`lasps.scale` executor. The panel and the sorted forward returns
(:class:`EvalContext`) are shipped once; a task returns only its alphas' small per-date statistics
(:class:`AlphaStats`), never a ``(T, N)`` alpha. :func:`evaluate_arrays` runs the same per-alpha function
in this process, so both give the same bits.

Memory: the evaluation holds the forward returns and universe mask ``(T, N)``, one alpha at a time, and
per alpha ``O(T * Q)`` statistics plus ``(T / h, N)`` float32 z-ranks: ~1 GB for 101 alphas on a
4,000 x 2,900 panel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lasps.alpha.conventions import DEFAULT
from lasps.alpha.engine import compile_alphas, plan_batches
from lasps.errors import ConfigError
from lasps.research import kernels
from lasps.research.alpha_values import stored_or_computed
from lasps.research.forward import ForwardReturns, check_timing, panel_forward_returns
from lasps.research.splits import Splits, SplitSpec, make_splits
from lasps.research.variants import both_directions
from lasps.scale.base import balanced_chunks
from lasps.scale.local import LocalExecutor

if TYPE_CHECKING:
    from lasps.alpha.catalogue import AlphaSpec, Catalogue
    from lasps.alpha.conventions import Conventions
    from lasps.data.panel import Panel
    from lasps.scale.base import Executor



@dataclass(frozen=True)
class EvalConfig:
    """Parameters of an evaluation.

    Attributes
    ----------
    horizon:
        Holding period h in sessions (default 5).
    entry:
        ``"open"`` (next open, default) or ``"close"`` (see :mod:`lasps.research.forward`).
    quantiles:
        Buckets per date (default 10, deciles).
    min_names:
        Fewest names a date needs to count (default 3).
    splits:
        Split boundaries (:class:`~lasps.research.splits.SplitSpec`).
    sample_every:
        Keep z-scored ranks at every ``sample_every``-th row (default h): the walk-forward rebalances on
        those rows.
    """

    horizon: int = 5
    entry: str = "open"
    quantiles: int = 10
    min_names: int = 3
    splits: SplitSpec = field(default_factory=SplitSpec)
    sample_every: int | None = None

    def __post_init__(self) -> None:
        check_timing(self.horizon, self.entry)
        if not 2 <= self.quantiles <= 100:
            raise ConfigError(f"quantiles must be in 2..100, got {self.quantiles}", where="--quantiles")
        if self.min_names < 2:
            raise ConfigError(f"min_names must be >= 2, got {self.min_names}")

    @property
    def every(self) -> int:
        return int(self.sample_every or self.horizon)


@dataclass
class Evaluation:
    """Per-date statistics of every variant (``V = 2 A`` variants of ``A`` alphas over ``T`` dates).

    Rows of every ``(…, T)`` array are **signal rows**; the value of row t is known at
    ``fwd.known_row[t]``.

    Attributes
    ----------
    dates, codes:
        ``(T,)`` dates and ``(N,)`` codes of the panel.
    config:
        The :class:`EvalConfig`.
    fwd:
        The forward returns (``(T, N)`` values, ``known_row``).
    mask:
        ``(T, N)`` universe.
    alphas:
        The ``A`` evaluated alpha names, in order.
    variants:
        ``V`` names: ``alphas[i]`` at ``2 i`` and ``alphas[i] + '_rev'`` at ``2 i + 1``.
    ic, long, short, turnover:
        ``(V, T)`` daily rank IC; h-day mean forward return of the long (highest occupied) and short
        (lowest occupied) bucket; long-bucket turnover vs ``t - h``.
    qmean:
        ``(V, T, Q)`` h-day mean forward return per bucket (1 = lowest alpha).
    n_alpha, n_pairs:
        ``(A, T)`` universe names with an alpha value; with an alpha value and a forward return.
    n_universe, market:
        ``(T,)`` universe names with a forward return; their equal-weight mean forward return.
    sample_rows, zranks:
        ``(R,)`` rows ``0, every, 2 every, …`` and alpha -> ``(R, N)`` float32 z-scored average ranks
        (NaN outside the universe or without a value); a reverse variant's z-ranks are the negation.
    splits:
        Purged split masks over signal rows.
    unavailable:
        Alpha -> reason, for alphas that could not be evaluated (passed through from the engine).
    """

    dates: np.ndarray
    codes: np.ndarray
    config: EvalConfig
    fwd: ForwardReturns
    mask: np.ndarray
    alphas: tuple[str, ...]
    variants: tuple[str, ...]
    ic: np.ndarray
    long: np.ndarray
    short: np.ndarray
    turnover: np.ndarray
    qmean: np.ndarray
    n_alpha: np.ndarray
    n_pairs: np.ndarray
    n_universe: np.ndarray
    market: np.ndarray
    sample_rows: np.ndarray
    zranks: dict[str, np.ndarray]
    splits: Splits
    unavailable: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def n_variants(self) -> int:
        return len(self.variants)

    def index(self, variant: str) -> int:
        try:
            return self.variants.index(variant)
        except ValueError:
            raise ConfigError(f"unknown variant {variant!r}", fix="see `lasps eval rank`") from None

    def direction(self, variant: str) -> tuple[str, float]:
        """``(alpha name, +1 or -1)`` of a variant."""
        i = self.index(variant)
        return self.alphas[i // 2], (-1.0 if i % 2 else 1.0)

    def spread(self) -> np.ndarray:
        """``(V, T)`` long minus short h-day return per signal row."""
        return self.long - self.short

    def zrank(self, variant: str) -> np.ndarray:
        """``(R, N)`` z-scored ranks of a variant at :attr:`sample_rows` (the reverse is negated)."""
        name, sign = self.direction(variant)
        z = self.zranks[name]
        return -z if sign < 0 else z


def variant_names(alphas: Iterable[str]) -> tuple[str, ...]:
    """Both directions of every alpha (:func:`lasps.research.variants.both_directions`)."""
    return both_directions(alphas)


@dataclass(frozen=True)
class EvalContext:
    """What every alpha's pass shares: forward returns and universe, sorted once per date.

    ``values``/``mask`` ``(T, N)``; ``forder, fcount, franks`` from :func:`kernels.sort_rows`;
    ``market, n_universe`` ``(T,)``; ``sample_rows`` ``(R,)`` and ``zrow`` ``(T,)`` (row -> sample index
    or -1). Built by :func:`eval_context`; shipped once to the workers of :func:`evaluate_alphas`.
    """

    config: EvalConfig
    values: np.ndarray
    mask: np.ndarray
    forder: np.ndarray
    fcount: np.ndarray
    franks: np.ndarray
    market: np.ndarray
    n_universe: np.ndarray
    sample_rows: np.ndarray
    zrow: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]


@dataclass
class AlphaStats:
    """Per-date statistics of one alpha in both directions (row 0 = the alpha, row 1 = its reverse).

    ``ic`` ``(T,)`` (the reverse's is ``-ic``); ``long, short, turnover`` ``(2, T)``; ``qmean``
    ``(2, T, Q)``; ``n_alpha, n_pairs`` ``(T,)``; ``zranks`` ``(R, N)`` float32 at the sample rows.
    """

    name: str
    ic: np.ndarray
    long: np.ndarray
    short: np.ndarray
    turnover: np.ndarray
    qmean: np.ndarray
    n_alpha: np.ndarray
    n_pairs: np.ndarray
    zranks: np.ndarray


def eval_context(fwd: ForwardReturns, mask: np.ndarray, config: EvalConfig) -> EvalContext:
    """Check shapes and timing, sort the forward returns of every date once (see :class:`EvalContext`)."""
    values = np.ascontiguousarray(fwd.values, dtype=np.float64)
    mask = np.ascontiguousarray(mask, dtype=bool)
    T, N = values.shape
    if mask.shape != (T, N):
        raise ValueError(f"mask has shape {mask.shape}, forward returns {(T, N)}")
    if fwd.horizon != config.horizon or fwd.entry != config.entry:
        raise ValueError("forward returns were computed with another horizon/entry than the config")
    forder, fcount, franks = kernels.sort_rows(values, mask)
    market, n_universe = kernels.masked_mean_rows(values, mask)
    sample_rows = np.arange(0, T, config.every, dtype=np.int64)
    zrow = np.full(T, -1, dtype=np.int64)
    zrow[sample_rows] = np.arange(len(sample_rows))
    return EvalContext(config, values, mask, forder, fcount, franks, market, n_universe, sample_rows, zrow)


def alpha_stats(ctx: EvalContext, name: str, arr: np.ndarray) -> AlphaStats:
    """One kernel pass over a ``(T, N)`` alpha: its :class:`AlphaStats` (both directions)."""
    config = ctx.config
    T, N = ctx.shape
    a = np.ascontiguousarray(arr, dtype=np.float64)
    if a.shape != (T, N):
        raise ValueError(f"alpha {name!r} has shape {a.shape}, expected {(T, N)}")
    zout = np.full((len(ctx.sample_rows), N), np.nan, dtype=np.float32)
    res = kernels.evaluate_alpha(a, ctx.values, ctx.mask, ctx.forder, ctx.fcount, ctx.franks, config.quantiles,
                                 config.min_names, ctx.zrow, zout)
    a_ic, a_na, a_np, a_qm, _qc, a_long, a_short, in_top, has_top = res
    del a, res
    a_turn = kernels.long_turnover(in_top, has_top, config.horizon)
    del in_top
    return AlphaStats(name, a_ic, a_long, a_short, a_turn, a_qm, a_na, a_np, zout)


def assemble_evaluation(ctx: EvalContext, stats: Sequence[AlphaStats], fwd: ForwardReturns, dates: np.ndarray,
                        codes: np.ndarray, *, unavailable: Mapping[str, str] | None = None,
                        seconds: float = 0.0) -> Evaluation:
    """Stack per-alpha statistics (in the given order) into an :class:`Evaluation`."""
    config = ctx.config
    T, _ = ctx.shape
    Q = config.quantiles
    names: list[str] = []
    ic, long_, short, turn, qmean, n_alpha, n_pairs = [], [], [], [], [], [], []
    zranks: dict[str, np.ndarray] = {}
    for st in stats:
        if st.name in zranks:
            raise ConfigError(f"alpha {st.name!r} given twice")
        names.append(st.name)
        ic += [st.ic, -st.ic]
        long_ += [st.long[0], st.long[1]]
        short += [st.short[0], st.short[1]]
        turn += [st.turnover[0], st.turnover[1]]
        qmean += [st.qmean[0], st.qmean[1]]
        n_alpha.append(st.n_alpha)
        n_pairs.append(st.n_pairs)
        zranks[st.name] = st.zranks

    def stack(xs: list[np.ndarray], shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        return np.stack(xs) if xs else np.zeros((0, *shape), dtype=dtype)

    return Evaluation(
        dates=np.asarray(dates, dtype="datetime64[D]"), codes=np.asarray(codes, dtype=object), config=config,
        fwd=fwd, mask=ctx.mask, alphas=tuple(names), variants=variant_names(names),
        ic=stack(ic, (T,)), long=stack(long_, (T,)), short=stack(short, (T,)), turnover=stack(turn, (T,)),
        qmean=stack(qmean, (T, Q)), n_alpha=stack(n_alpha, (T,), np.int64), n_pairs=stack(n_pairs, (T,), np.int64),
        n_universe=ctx.n_universe, market=ctx.market, sample_rows=ctx.sample_rows, zranks=zranks,
        splits=make_splits(dates, fwd.known_row, config.splits, usable=ctx.n_universe >= config.min_names),
        unavailable=dict(unavailable or {}), seconds=seconds,
    )


def evaluate_arrays(alphas: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],
                    fwd: ForwardReturns, mask: np.ndarray, dates: np.ndarray, codes: np.ndarray,
                    config: EvalConfig | None = None, *, unavailable: Mapping[str, str] | None = None,
                    progress: Callable[[str], None] | None = None) -> Evaluation:
    """Evaluate ``(T, N)`` alphas against precomputed forward returns (see the module docstring).

    ``alphas`` may be a mapping or an iterator of ``(name, array)`` pairs; arrays are consumed one at a
    time and not kept, so a generator reading the alpha store keeps memory flat. ``progress`` is called
    with each alpha's name after it is done.
    """
    config = config or EvalConfig()
    t0 = time.perf_counter()
    ctx = eval_context(fwd, mask, config)
    stats: list[AlphaStats] = []
    seen: set[str] = set()
    items = alphas.items() if isinstance(alphas, Mapping) else alphas
    for name, arr in items:
        if name in seen:
            raise ConfigError(f"alpha {name!r} given twice")
        seen.add(name)
        stats.append(alpha_stats(ctx, name, arr))
        del arr
        if progress is not None:
            progress(name)
    return assemble_evaluation(ctx, stats, fwd, dates, codes, unavailable=unavailable,
                               seconds=time.perf_counter() - t0)


# ------------------------------------------------------------------------------- on an executor


@dataclass(frozen=True)
class EvalBatch:
    """One task of :func:`evaluate_alphas`: alphas to read from the store and alphas to compute."""

    stored: tuple[str, ...] = ()
    home: str | None = None
    specs: tuple[AlphaSpec, ...] = ()
    conventions: Conventions | None = None
    industry: bool = True


@dataclass(frozen=True)
class EvalShared:
    """The object an :func:`evaluate_alphas` run ships once: the panel and the :class:`EvalContext`."""

    panel: Panel
    ctx: EvalContext


def evaluate_batch(shared: EvalShared, batch: EvalBatch) -> tuple[list[AlphaStats], dict[str, str]]:
    """Task body: read/compute the batch's alphas one at a time and keep only their statistics."""
    panel, ctx = shared.panel, shared.ctx

    stats: list[AlphaStats] = []
    unavailable: dict[str, str] = {}
    if batch.stored and batch.home is None:
        raise ConfigError("stored alphas need the LASPS home they are stored under")
    for name, arr in stored_or_computed(panel, list(batch.stored), (), home=batch.home, unavailable=unavailable,
                                        specs=list(batch.specs), conventions=batch.conventions,
                                        industry=batch.industry):
        stats.append(alpha_stats(ctx, name, arr))
        del arr
    return stats, unavailable


def _owned(a: np.ndarray) -> np.ndarray:
    return a if a.flags.writeable else a.copy()


def evaluate_alphas(panel: Panel, alphas: Sequence[int | str | AlphaSpec] = (), config: EvalConfig | None = None,
                    *, stored: Sequence[str] = (), home: Path | str | None = None, executor: Executor | None = None,
                    batches: int | None = None, conventions: Conventions | None = None, industry: bool = True,
                    catalogue: Catalogue | None = None,
                    progress: Callable[[str], None] | None = None) -> Evaluation:
    """Compute (or read) and evaluate alphas over ``panel`` in batches on ``executor``.

    Parameters
    ----------
    panel:
        The market panel (universe = ``panel.universe_mask``).
    alphas:
        Ids, names or specs computed by the engine inside the tasks (see
        :func:`lasps.alpha.engine.plan_batches`); unavailable ones go to ``Evaluation.unavailable``.
    stored:
        Names read from the alpha store under ``home`` inside the tasks (``home`` must be visible to
        every worker: a shared filesystem on a cluster). They come first in the result, then ``alphas``
        in request order — the order ``lasps eval`` uses.
    executor:
        ``None``: in this process (:class:`~lasps.scale.LocalExecutor` with one worker).
    batches:
        Batches per kind (stored / computed); default ``executor.workers``.
    conventions, industry, catalogue:
        As for :func:`lasps.alpha.engine.compute`.
    progress:
        Called with each alpha's name as its batch comes back.

    Returns
    -------
    Evaluation
        The same values as ``evaluate(panel, compute(panel, alphas), config)`` (bit for bit).
    """
    config = config or EvalConfig()
    conv = conventions or DEFAULT
    t0 = time.perf_counter()
    stored = list(stored)
    if stored and home is None:
        raise ConfigError("stored alphas need the LASPS home they are stored under", fix="pass home=")
    fwd = panel_forward_returns(panel, config.horizon, config.entry)
    mask = panel.universe_mask if panel.universe_mask is not None else np.ones(panel.shape, dtype=bool)
    ctx = eval_context(fwd, mask, config)
    program = compile_alphas(alphas, panel, conv, industry, catalogue=catalogue) if len(alphas) else None
    unavailable = dict(program.unavailable) if program is not None else {}
    order = stored + (program.names if program is not None else [])
    if len(set(order)) != len(order):
        dup = next(n for n in order if order.count(n) > 1)
        raise ConfigError(f"alpha {dup!r} given twice")
    ex = executor if executor is not None else LocalExecutor()
    n = batches or ex.workers
    items = [EvalBatch(stored=tuple(chunk), home=str(home)) for chunk in balanced_chunks(stored, n)]
    if program is not None and program.names:
        items += [EvalBatch(specs=tuple(program.specs[a] for a in names), conventions=conv, industry=industry)
                  for names in plan_batches(program, n).batches]
    got: dict[str, AlphaStats] = {}
    for _, (stats, unav) in ex.imap_unordered(evaluate_batch, items, shared=EvalShared(panel, ctx)):
        unavailable.update(unav)
        for st in stats:
            st.zranks = _owned(st.zranks)  # an object-store view would pin the store's copy
            got[st.name] = st
            if progress is not None:
                progress(st.name)
    return assemble_evaluation(ctx, [got[a] for a in order if a in got], fwd, panel.dates, panel.codes,
                               unavailable=unavailable, seconds=time.perf_counter() - t0)


def evaluate(panel, alphas: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],  # type: ignore[no-untyped-def]
             config: EvalConfig | None = None, *, progress: Callable[[str], None] | None = None) -> Evaluation:
    """Evaluate alphas over a :class:`~lasps.data.panel.Panel` (universe = ``panel.universe_mask``).

    ``alphas``: an :class:`~lasps.alpha.engine.AlphaSet`, a dict name -> ``(T, N)`` array, or an iterator
    of ``(name, array)`` pairs (e.g. :func:`lasps.research.io.iter_stored_alphas`). Unavailable alphas
    reported by an ``AlphaSet`` are carried into :attr:`Evaluation.unavailable`.
    """
    config = config or EvalConfig()
    fwd = panel_forward_returns(panel, config.horizon, config.entry)
    unavailable = getattr(alphas, "unavailable", None)
    return evaluate_arrays(alphas, fwd, panel.universe_mask, panel.dates, panel.codes, config,
                           unavailable=unavailable, progress=progress)
