"""The search: typed genetic programming over the formula language, on the search span only.

Method (written down in ``docs/mining.md``):

* **Population** of ``population`` formulas; generation 0 is random well-typed trees of ramped depth
  (:meth:`Grammar.random_signal`). Each later generation breeds one **batch** of ``batch`` new
  formulas: 50 % subtree crossover of two tournament winners (size 3), 40 % mutation (subtree or
  point: window or terminal), 10 % fresh random trees. A child is kept only when it is admissible
  (typed, depth, lookback) and its canonical form (:func:`~lasps.research.mining.grammar.canonical`)
  was never seen before in the run — so no formula is evaluated twice.
* **Every evaluated formula is a trial** (``SearchState.trials``), whatever happens to it next.
* **Fitness** (training rows only): ``|IC_IR| - penalty * (size - 1)``, where IC_IR is the daily rank
  IC's mean over its standard deviation on the training rows and ``size`` the number of operator and
  data nodes. The direction (sign) is taken from the training IC and is not a separate trial.
* **Near-duplicates**: the population keeps the fittest formulas whose fingerprint (z-scored ranks on
  a few training rows) correlates below ``near_dup`` (absolute value) with every fitter member.
* **Early stopping** on the validation rows: after each generation the best validation IC (in the
  training direction) among the ``shortlist`` fittest members is compared with the best so far; after
  ``patience`` generations without improvement the search stops. The **shortlist** is then frozen:
  the fittest ``shortlist`` members whose validation IC is positive in their training direction.

The search receives only the **search panel** (the dates before the holdout, loaded separately from
the store by :mod:`lasps.research.mining.run`), so it cannot read the holdout. Training rows are signal
rows whose forward return is known before the validation span begins (purged); validation rows those
known before the end of the search panel.

Determinism and resume: all randomness is one ``numpy.random.Generator(PCG64(seed))`` whose state is
saved with the rest of :class:`SearchState` after every generation (``checkpoint.json`` +
``checkpoint.npz``, atomic); resuming from a checkpoint continues the identical sequence, so a killed
and resumed run freezes byte-for-byte the same shortlist as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lasps.alpha.parser import Node, parse
from lasps.data.panel import Panel
from lasps.files import atomic_write_bytes, atomic_write_text, json_dumps
from lasps.research.ic import ic_stats
from lasps.research.mining.grammar import Grammar, size
from lasps.research.mining.scoring import ScoringContext, fingerprint_corr, score_formulas, unit_fingerprint

__all__ = ["SearchConfig", "SearchResult", "SearchState", "Trial", "run_search", "search_spans"]

CHECKPOINT_JSON = "checkpoint.json"
CHECKPOINT_NPZ = "checkpoint.npz"


@dataclass(frozen=True)
class SearchConfig:
    """Budget and rules of one search (see the module docstring)."""

    trials: int = 2000
    seed: int = 0
    max_depth: int = 4
    max_window: int = 20
    operators: tuple[str, ...] = ()
    terminals: tuple[str, ...] = ()
    population: int = 48
    batch: int = 48
    shortlist: int = 10
    patience: int = 6
    penalty: float = 0.004
    near_dup: float = 0.95
    horizon: int = 5
    entry: str = "open"
    train_share: float = 0.75
    fingerprint_rows: int = 16
    min_names: int = 10

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["operators"] = list(self.operators)
        d["terminals"] = list(self.terminals)
        return d


@dataclass
class Trial:
    """One evaluated formula (values oriented in the training direction)."""

    formula: str
    direction: int
    size: int
    fitness: float
    train_ic: float
    train_ic_ir: float
    train_ic_t: float
    train_days: int
    valid_ic: float
    generation: int


@dataclass
class SearchState:
    """Everything needed to continue a search (checkpointed after every generation)."""

    generation: int = 0
    trials: list[Trial] = field(default_factory=list)
    population: list[int] = field(default_factory=list)  # trial indices, fittest first
    best_valid: float = -math.inf
    stall: int = 0
    stopped: str = ""
    rng_state: dict[str, Any] = field(default_factory=dict)
    ic_train: list[np.ndarray] = field(default_factory=list)  # (train rows,) float32 per trial
    fingerprints: dict[int, np.ndarray] = field(default_factory=dict)  # unit fingerprints, population only

    # -- persistence --------------------------------------------------------------------------------
    def save(self, directory: Path, config: SearchConfig, spans: dict[str, Any],
             extra: dict[str, Any] | None = None) -> None:
        """Write ``checkpoint.npz`` then ``checkpoint.json`` (each atomic; the JSON names the npz digest)."""
        import hashlib
        import io

        buf = io.BytesIO()
        fp_keys = sorted(self.fingerprints)
        ic = np.stack(self.ic_train) if self.ic_train else np.zeros((0, 0), np.float32)
        fps = np.stack([self.fingerprints[k] for k in fp_keys]) if fp_keys else np.zeros((0, 0), np.float32)
        np.savez(buf, ic=ic, fps=fps, fp_keys=np.asarray(fp_keys, dtype=np.int64))
        data = buf.getvalue()
        atomic_write_bytes(directory / CHECKPOINT_NPZ, data)
        doc = {
            **(extra or {}), "config": config.to_json(), "spans": spans, "generation": self.generation,
            "best_valid": self.best_valid if math.isfinite(self.best_valid) else None,
            "stall": self.stall, "stopped": self.stopped, "population": self.population,
            "rng_state": self.rng_state, "npz_sha256": hashlib.sha256(data).hexdigest(),
            "trials": [asdict(t) for t in self.trials],
        }
        atomic_write_text(directory / CHECKPOINT_JSON, json_dumps(doc, indent=None) + "\n")  # NaN stored as null

    @classmethod
    def load(cls, directory: Path) -> tuple[SearchState, dict[str, Any]]:
        """Read a checkpoint written by :meth:`save` (returns the state and the JSON document)."""
        import hashlib

        doc = json.loads((directory / CHECKPOINT_JSON).read_text(encoding="utf-8"))
        raw = (directory / CHECKPOINT_NPZ).read_bytes()
        if hashlib.sha256(raw).hexdigest() != doc["npz_sha256"]:
            raise ValueError(f"{directory / CHECKPOINT_NPZ} does not match {CHECKPOINT_JSON}")
        import io

        z = np.load(io.BytesIO(raw))
        st = cls(generation=doc["generation"], trials=[_trial_from_json(t) for t in doc["trials"]],
                 population=list(doc["population"]),
                 best_valid=-math.inf if doc["best_valid"] is None else float(doc["best_valid"]),
                 stall=doc["stall"], stopped=doc["stopped"], rng_state=doc["rng_state"])
        st.ic_train = [np.asarray(r, dtype=np.float32) for r in z["ic"]]
        st.fingerprints = {int(k): z["fps"][i] for i, k in enumerate(z["fp_keys"])}
        return st, doc


def _trial_from_json(record: dict[str, Any]) -> Trial:
    """A :class:`Trial` from its checkpoint record (strict JSON wrote NaN statistics as null)."""
    return Trial(**{k: (math.nan if v is None and k in _TRIAL_FLOATS else v) for k, v in record.items()})


_TRIAL_FLOATS = frozenset({"fitness", "train_ic", "train_ic_ir", "train_ic_t", "valid_ic"})


@dataclass(frozen=True)
class SearchResult:
    """The frozen outcome: shortlisted trial indices (fittest first) and the full state."""

    shortlist: tuple[int, ...]
    state: SearchState
    spans: dict[str, Any]

    @property
    def n_trials(self) -> int:
        return len(self.state.trials)


def search_spans(n_rows: int, known_row: np.ndarray, train_share: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Boolean ``(S,)`` training and validation signal rows of a search panel of ``n_rows`` rows, and
    the first validation row (purged: a row belongs to a span only if its outcome is known inside it)."""
    v0 = round(n_rows * train_share)
    t = np.arange(n_rows)
    train = known_row < v0
    valid = (t >= v0) & (known_row < n_rows)
    return train, valid, v0


def _tournament(rng: np.random.Generator, pop: list[int], trials: list[Trial], k: int = 3) -> int:
    picks = [pop[int(rng.integers(len(pop)))] for _ in range(k)]
    return max(picks, key=lambda i: (trials[i].fitness, -i))


def _score(ic: np.ndarray, train: np.ndarray, valid: np.ndarray, lag: int, node: Node, penalty: float,
           generation: int) -> tuple[Trial, np.ndarray]:
    st = ic_stats(ic[train], lag)
    mean = st.ic_mean
    direction = -1 if (math.isfinite(mean) and mean < 0) else 1
    ir = st.ic_ir * direction if math.isfinite(st.ic_ir) else math.nan
    n = size(node)
    fitness = ir - penalty * (n - 1) if math.isfinite(ir) and st.n_days >= 20 else -math.inf
    v = ic[valid]
    v = v[np.isfinite(v)]
    valid_ic = float(v.mean()) * direction if len(v) else math.nan
    trial = Trial(str(node), direction, n, fitness, mean * direction if math.isfinite(mean) else math.nan,
                  ir, st.ic_t_nw * direction if math.isfinite(st.ic_t_nw) else math.nan, st.n_days,
                  valid_ic, generation)
    series = np.where(np.isfinite(ic[train]), ic[train] * direction, np.nan).astype(np.float32)
    return trial, series


def _breed(rng: np.random.Generator, grammar: Grammar, state: SearchState, n: int, seen: set[str]) -> list[Node]:
    out: list[Node] = []
    keys: set[str] = set()
    pop = state.population
    attempts = 0
    while len(out) < n and attempts < 60 * max(n, 1):
        attempts += 1
        r = rng.random()
        if not pop or r >= 0.9:
            child = grammar.random_signal(rng, full=bool(rng.random() < 0.5))
        elif r < 0.5:
            a = parse(state.trials[_tournament(rng, pop, state.trials)].formula)
            b = parse(state.trials[_tournament(rng, pop, state.trials)].formula)
            child = grammar.crossover(rng, a, b)
        else:
            a = parse(state.trials[_tournament(rng, pop, state.trials)].formula)
            child = grammar.mutate(rng, a)
        if child is None:
            continue
        child = grammar.canonical(child)
        if not grammar.admissible(child):
            continue
        key = child.key
        if key in seen or key in keys:
            continue
        keys.add(key)
        out.append(child)
    return out


def _select(state: SearchState, candidates: list[int], fps: dict[int, np.ndarray], size_: int,
            near_dup: float) -> list[int]:
    """The fittest ``size_`` candidates, skipping any whose fingerprint correlates >= ``near_dup`` (absolute)
    with a fitter one already chosen."""
    order = sorted(set(candidates), key=lambda i: (-state.trials[i].fitness, i))
    order = [i for i in order if math.isfinite(state.trials[i].fitness)]
    if not order:
        return []
    C = np.abs(fingerprint_corr([fps[i] for i in order], [fps[i] for i in order]))
    chosen: list[int] = []
    for k, i in enumerate(order):
        if len(chosen) >= size_:
            break
        if chosen and C[k, [order.index(j) for j in chosen]].max() >= near_dup:
            continue
        chosen.append(i)
    return chosen


def run_search(
    panel: Panel,
    grammar: Grammar,
    config: SearchConfig,
    checkpoint_dir: Path | None = None,
    resume: SearchState | None = None,
    progress: Callable[[int, int, SearchState], None] | None = None,
    extra: dict[str, Any] | None = None,
) -> SearchResult:
    """Search formulas on ``panel`` (the search span only; see the module docstring).

    ``checkpoint_dir`` receives a checkpoint after every generation; ``resume`` continues a loaded
    :class:`SearchState`. ``progress(done_trials, budget, state)`` is called after each generation;
    ``extra`` is stored in the checkpoint (the caller's description of the data).
    """
    T = panel.shape[0]
    lookback = grammar.max_lookback
    ctx0 = ScoringContext.build(panel, config.horizon, config.entry, (), config.min_names)
    train, valid, v0 = search_spans(T, ctx0.known_row, config.train_share)
    lo = min(lookback, max(v0 - 1, 0))
    hi = max(int(np.flatnonzero(train).max()) if train.any() else lo, lo)
    fp_rows = np.unique(np.linspace(lo, hi, config.fingerprint_rows).round().astype(int))
    ctx = ScoringContext.build(panel, config.horizon, config.entry, fp_rows, config.min_names)
    lag = max(config.horizon - 1, 0)
    spans = {"search_rows": T, "train_rows": int(train.sum()), "valid_rows": int(valid.sum()),
             "valid_start_row": v0, "first_date": str(panel.dates[0]), "last_date": str(panel.dates[-1]),
             "valid_start_date": str(panel.dates[min(v0, T - 1)])}

    state = resume or SearchState()
    rng = np.random.Generator(np.random.PCG64(config.seed))
    if resume is not None and resume.rng_state:
        rng.bit_generator.state = resume.rng_state
    grammar_seen = {t.formula for t in state.trials}

    while not state.stopped:
        budget_left = config.trials - len(state.trials)
        if budget_left <= 0:
            state.stopped = f"trial budget of {config.trials} reached"
            break
        n = min(config.batch if state.generation else max(config.population, config.batch), budget_left)
        children = _breed(rng, grammar, state, n, grammar_seen)
        if not children:
            state.stopped = "no new admissible formula could be bred (search space exhausted)"
            break
        base = len(state.trials)
        new_fps: dict[int, np.ndarray] = {}
        results: dict[int, tuple[Trial, np.ndarray, np.ndarray]] = {}
        for idx, ic, fp in score_formulas(panel, ctx, children, train | valid):
            trial, series = _score(ic, train, valid, lag, children[idx], config.penalty, state.generation)
            results[idx] = (trial, series, fp)
        for idx in range(len(children)):
            trial, series, fp = results[idx]
            state.trials.append(trial)
            state.ic_train.append(series)
            new_fps[base + idx] = unit_fingerprint(fp)
            grammar_seen.add(trial.formula)
        fps = {**state.fingerprints, **new_fps}
        state.population = _select(state, state.population + list(new_fps), fps, config.population,
                                   config.near_dup)
        state.fingerprints = {i: fps[i] for i in state.population}
        top = [state.trials[i].valid_ic for i in state.population[: config.shortlist]]
        top = [v for v in top if math.isfinite(v)]
        score = max(top) if top else -math.inf
        if score > state.best_valid + 1e-12:
            state.best_valid, state.stall = score, 0
        else:
            state.stall += 1
        state.generation += 1
        if state.stall >= config.patience:
            state.stopped = (f"early stop: the best validation IC of the {config.shortlist} fittest did not "
                             f"improve for {config.patience} generations")
        state.rng_state = rng.bit_generator.state
        if checkpoint_dir is not None:
            state.save(checkpoint_dir, config, spans, extra)
        if progress is not None:
            progress(len(state.trials), config.trials, state)
    shortlist = tuple(i for i in state.population if state.trials[i].valid_ic > 0)[: config.shortlist]
    return SearchResult(shortlist, state, spans)
