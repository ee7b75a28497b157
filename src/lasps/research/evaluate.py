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

Memory: the evaluation holds the forward returns and universe mask ``(T, N)``, one alpha at a time, and
per alpha ``O(T * Q)`` statistics plus ``(T / h, N)`` float32 z-ranks: ~1 GB for 101 alphas on a
4,000 x 2,900 panel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from lasps.errors import ConfigError
from lasps.research import kernels
from lasps.research.forward import ForwardReturns, check_timing, panel_forward_returns
from lasps.research.splits import Splits, SplitSpec, make_splits

REV_SUFFIX = "_rev"


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
    out: list[str] = []
    for a in alphas:
        out += [a, a + REV_SUFFIX]
    return tuple(out)


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
    values = np.ascontiguousarray(fwd.values, dtype=np.float64)
    mask = np.ascontiguousarray(mask, dtype=bool)
    T, N = values.shape
    if mask.shape != (T, N):
        raise ValueError(f"mask has shape {mask.shape}, forward returns {(T, N)}")
    if fwd.horizon != config.horizon or fwd.entry != config.entry:
        raise ValueError("forward returns were computed with another horizon/entry than the config")
    forder, fcount, franks = kernels.sort_rows(values, mask)
    market, n_universe = kernels.masked_mean_rows(values, mask)
    every = config.every
    sample_rows = np.arange(0, T, every, dtype=np.int64)
    zrow = np.full(T, -1, dtype=np.int64)
    zrow[sample_rows] = np.arange(len(sample_rows))
    Q = config.quantiles
    names: list[str] = []
    ic, long_, short, turn, qmean, n_alpha, n_pairs = [], [], [], [], [], [], []
    zranks: dict[str, np.ndarray] = {}
    items = alphas.items() if isinstance(alphas, Mapping) else alphas
    for name, arr in items:
        if name in zranks:
            raise ConfigError(f"alpha {name!r} given twice")
        a = np.ascontiguousarray(arr, dtype=np.float64)
        if a.shape != (T, N):
            raise ValueError(f"alpha {name!r} has shape {a.shape}, expected {(T, N)}")
        zout = np.full((len(sample_rows), N), np.nan, dtype=np.float32)
        res = kernels.evaluate_alpha(a, values, mask, forder, fcount, franks, Q, config.min_names,
                                     zrow, zout)
        a_ic, a_na, a_np, a_qm, _qc, a_long, a_short, in_top, has_top = res
        del a, arr, res
        a_turn = kernels.long_turnover(in_top, has_top, config.horizon)
        del in_top
        names.append(name)
        ic += [a_ic, -a_ic]
        long_ += [a_long[0], a_long[1]]
        short += [a_short[0], a_short[1]]
        turn += [a_turn[0], a_turn[1]]
        qmean += [a_qm[0], a_qm[1]]
        n_alpha.append(a_na)
        n_pairs.append(a_np)
        zranks[name] = zout
        if progress is not None:
            progress(name)

    def stack(xs: list[np.ndarray], shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        return np.stack(xs) if xs else np.zeros((0, *shape), dtype=dtype)

    return Evaluation(
        dates=np.asarray(dates, dtype="datetime64[D]"), codes=np.asarray(codes, dtype=object), config=config,
        fwd=fwd, mask=mask, alphas=tuple(names), variants=variant_names(names),
        ic=stack(ic, (T,)), long=stack(long_, (T,)), short=stack(short, (T,)), turnover=stack(turn, (T,)),
        qmean=stack(qmean, (T, Q)), n_alpha=stack(n_alpha, (T,), np.int64), n_pairs=stack(n_pairs, (T,), np.int64),
        n_universe=n_universe, market=market, sample_rows=sample_rows, zranks=zranks,
        splits=make_splits(dates, fwd.known_row, config.splits, usable=n_universe >= config.min_names),
        unavailable=dict(unavailable or {}), seconds=time.perf_counter() - t0,
    )


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
