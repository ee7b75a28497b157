"""The alpha engine: compile formulas into one shared DAG and evaluate it over a :class:`Panel`.

Flow (DESIGN §3)::

    catalogue specs --parse--> canonical ASTs --lower--> one DAG of operator nodes (hash-consed)
        --availability check--> topological evaluation with FAST_OPS, refcount eviction
        --> (name, (T, N) float64) results, streamed or collected in an :class:`AlphaSet`

**Common sub-expressions.** Lowering turns every AST node into an operator node keyed by
``(operator, argument node ids, constants)``; a key seen before returns the existing node, so identical
canonical sub-expressions — within one alpha and across all requested alphas — are one node, computed
once. Windows are normalised with ``conv.window`` before keying (``sum(x, 22.4101)`` and ``sum(x, 22)``
are one node under the floor rule), ``adv{d}`` and ``ts_mean(x, d)`` lower to ``ts_sum(x, d) / d``
(so ``adv20`` and ``sum(volume, 20) / 20`` are one node), and elementwise operations on numbers only are
folded to numbers at compile time.

**Memory.** Nodes are created in post-order, alpha after alpha, which is a topological order that keeps
the live set small. Each node carries a reference count (its consumers plus the alphas whose value it
is); after a node is evaluated every operand's count drops and an operand nobody needs any more is
freed at once. A finished alpha is handed to the caller and, with :meth:`Program.run`, dropped by the
engine — so peak memory is the inputs plus the widest live set, not all intermediates (or all results).
``+ - * /``, comparisons, ``?:`` and unary minus run as one-pass parallel kernels
(:mod:`lasps.alpha.elementwise`, bit-identical to ``FAST_OPS``) and write into an operand's buffer when
that operand is owned by the engine and has no later consumer, and
``rank(rank(x))`` is compiled as ``rank(x)`` (ranks keep order and ties, so the values are identical).

**Availability.** Inputs are nodes too (``close``, ``vwap``, ``adv20`` …). An alpha whose inputs the
panel cannot provide (e.g. ``vwap`` without ``value``; an industry classification that is missing or
disabled) is not compiled and is reported in ``unavailable`` with the reason; nothing is substituted.

**Scale-out.** ``compute(..., executor=...)`` and :func:`run_batches` split the requested alphas into
batches (:func:`plan_batches`: greedy by estimated node cost, each alpha joining the batch where it
adds the least finishing time, so alphas that share sub-expressions tend to stay together), compile
and run each batch as one task of a :mod:`lasps.scale` executor, with the panel shipped once. A node
shared by two batches is computed in both (the plan reports that share); values are bit-identical to
the in-process path because every node is the same kernel on the same inputs.

:func:`interpret` is the plain reference path: a recursive walk over the AST with
:data:`~lasps.alpha.reference_ops.REFERENCE_OPS`, no caching — used by tests to check the compiled
engine. Results of both are finite or NaN (``±inf`` become NaN).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lasps.alpha import elementwise
from lasps.alpha.catalogue import AlphaSpec, Catalogue, get_catalogue
from lasps.alpha.conventions import DEFAULT, Conventions
from lasps.alpha.operators import FAST_OPS
from lasps.alpha.operators import lookback as op_lookback
from lasps.alpha.parser import BinOp, Call, Node, Num, Ternary, UnaryOp, Var, parse
from lasps.alpha.reference_ops import REFERENCE_OPS
from lasps.data.panel import Panel
from lasps.errors import UnavailableError

if TYPE_CHECKING:
    from lasps.scale.base import Executor, Shared

__all__ = [
    "AlphaBatch",
    "AlphaSet",
    "BatchPlan",
    "Program",
    "alpha_lookback",
    "alpha_unavailable_reason",
    "compile_alphas",
    "compute",
    "input_unavailable_reason",
    "interpret",
    "plan_batches",
    "run_alpha_batch",
    "run_batches",
    "tune_allocator",
]

Ops = Mapping[str, Callable[..., Any]]

INDEX_CODE = "1001"
"""The index behind ``index_close`` / ``index_returns`` (KOSPI)."""

_BINOPS: dict[str, str] = {
    "+": "add", "-": "sub", "*": "mul", "/": "div", "^": "power",
    "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne", "&&": "and_", "||": "or_",
}
_SERIES1 = frozenset({"rank", "abs", "log", "sign"})
_WINDOWED = frozenset({"delay", "delta", "ts_min", "ts_max", "ts_argmin", "ts_argmax", "ts_rank",
                       "ts_sum", "product", "stddev", "decay_linear"})
_ELEMENTWISE = frozenset({"add", "sub", "mul", "div", "power", "lt", "le", "gt", "ge", "eq", "ne",
                          "and_", "or_", "where", "neg", "min2", "max2", "signedpower", "abs", "log",
                          "sign"})
_ADV_RE = re.compile(r"adv([0-9]+)")
_PANEL_FIELDS = frozenset({"open", "high", "low", "close", "volume", "value", "vwap", "returns", "cap"})


# ------------------------------------------------------------------------------------- availability


def input_unavailable_reason(name: str, panel: Panel, conv: Conventions = DEFAULT,
                             industry: bool = True) -> str | None:
    """Why the formula identifier ``name`` cannot be produced from ``panel`` (None when it can)."""
    if name in _PANEL_FIELDS:
        return panel.unavailable_reason(name)
    m = _ADV_RE.fullmatch(name)
    if m:
        base = "value" if conv.adv_units == "value" else "volume"
        reason = panel.unavailable_reason(base)
        return None if reason is None else f"{name} needs {base}: {reason}"
    if name in ("index_close", "index_returns"):
        if INDEX_CODE not in panel.index:
            return f"{name} needs the KOSPI index ({INDEX_CODE}), which is not in the store"
        if not np.isfinite(np.asarray(panel.index[INDEX_CODE], dtype=np.float64)).any():
            return f"{name} needs the KOSPI index ({INDEX_CODE}), which has no closes in this date range"
        return None
    if name.startswith("indclass."):
        if not industry:
            return "industry neutralisation disabled (--no-industry)"
        groups = panel.industry
        if groups is None or not (np.asarray(groups) >= 0).any():
            return "no industry classification in the panel (every code's industry is unknown)"
        return None
    return f"unknown input {name!r}"  # pragma: no cover - the parser rejects unknown names


def alpha_unavailable_reason(spec: AlphaSpec, panel: Panel, conv: Conventions = DEFAULT,
                             industry: bool = True) -> str | None:
    """Why ``spec`` cannot be computed from ``panel`` (all missing inputs, '; '-joined), or None."""
    reasons = []
    for name in spec.inputs:
        reason = input_unavailable_reason(name, panel, conv, industry)
        if reason and reason not in reasons:
            reasons.append(reason)
    return "; ".join(reasons) or None


def _input_array(name: str, panel: Panel) -> np.ndarray:
    """``(T, N)`` array of a plain input (panel field or the broadcast KOSPI series)."""
    if name in _PANEL_FIELDS:
        return panel.field(name)
    T, N = panel.shape
    close = np.asarray(panel.index_close(INDEX_CODE), dtype=np.float64)
    if name == "index_close":
        series = close
    elif name == "index_returns":
        series = np.full(T, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            series[1:] = close[1:] / close[:-1] - 1.0
        series[~np.isfinite(series)] = np.nan
    else:  # pragma: no cover - guarded by the callers
        raise KeyError(name)
    return np.ascontiguousarray(np.broadcast_to(series[:, None], (T, N)))


_ALLOCATOR_TUNED = False


def tune_allocator() -> bool:
    """Let glibc keep freed panel-sized blocks for reuse instead of returning them to the OS.

    Every operator returns a fresh ``(T, N)`` array (93 MB at 2,900 x 4,000). glibc serves blocks that
    large with ``mmap`` and unmaps them on free, so each new array costs ~23,000 page faults and the
    kernel zeroing the pages again: on the reference panel that was ~45 of ~110 s (system time). With
    ``M_MMAP_MAX = 0`` and a high trim threshold the blocks come from the heap and are reused, which
    makes allocation nearly free. The trade-off: the process keeps its peak heap (RSS does not shrink
    after the computation). Process-wide and idempotent; called by ``lasps alpha compute`` and the
    benchmark. Returns True when applied (glibc), False elsewhere (no-op).
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4
        ok = bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))
    except (OSError, AttributeError):
        return False
    _ALLOCATOR_TUNED = ok
    return ok


def _finite_inplace(a: np.ndarray) -> np.ndarray:
    bad = np.isinf(a)
    if bad.any():
        a[bad] = np.nan
    return a


# ------------------------------------------------------------------------------------------ results


class AlphaSet(Mapping[str, np.ndarray]):
    """Computed alphas: name -> ``(T, N)`` float64 (rows = ``dates``, columns = ``codes``).

    Attributes
    ----------
    unavailable:
        Name -> reason for requested alphas whose inputs the panel cannot provide.
    seconds:
        Name -> wall seconds spent until that alpha was finished, counted from the previous one
        (shared nodes are charged to the first alpha that needs them).
    """

    def __init__(self, values: dict[str, np.ndarray], unavailable: dict[str, str],
                 dates: np.ndarray, codes: np.ndarray, seconds: dict[str, float] | None = None) -> None:
        self._values = values
        self.unavailable = unavailable
        self.dates = dates
        self.codes = codes
        self.seconds = seconds or {}

    def __getitem__(self, name: str) -> np.ndarray:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"AlphaSet({len(self)} computed, {len(self.unavailable)} unavailable)"


# ---------------------------------------------------------------------------------------- the DAG

# An argument reference: ("n", node_id) for a node, ("c", value) for a number, ("g", "industry") for groups.
Ref = tuple[str, Any]


@dataclass
class _OpNode:
    id: int
    op: str                 # "input", "const", or a FAST_OPS name
    args: tuple[Ref, ...]   # for "input": (("s", name),); for "const": (("c", value),)
    label: str              # canonical text of the first AST that produced it (for diagnostics)


@dataclass
class Program:
    """A compiled set of alphas: one DAG shared by all of them.

    Attributes
    ----------
    nodes:
        Operator nodes in topological (evaluation) order.
    roots:
        Alpha name -> reference of its value (a node, or a number for a constant formula).
    unavailable:
        Alpha name -> reason, for alphas left out because the panel lacks an input.
    specs:
        Alpha name -> spec, for the compiled alphas (request order).
    conventions:
        The conventions the program was compiled with.
    """

    nodes: list[_OpNode]
    roots: dict[str, Ref]
    unavailable: dict[str, str]
    specs: dict[str, AlphaSpec]
    conventions: Conventions
    industry: bool
    evaluations: int = 0
    peak_live: int = 0
    seconds_by_op: dict[str, float] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Names of the compiled (available) alphas in request order."""
        return list(self.roots)

    def run(self, panel: Panel, ops: Ops | None = None) -> Iterator[tuple[str, np.ndarray]]:
        """Evaluate the DAG over ``panel`` and yield ``(name, (T, N) float64)`` as alphas finish.

        Each yielded array belongs to the caller (a copy is made only when the engine still needs the
        node). The engine keeps no reference to it, so a caller that writes and drops each result
        holds at most the inputs plus the live intermediates. ``ops`` defaults to ``FAST_OPS``.

        Timing: the 101 paper alphas on a 2,900 x 4,000 panel are ~880 operator nodes; about 42 s of
        CPU (23 s wall) on 2 cores, ~4.0 GiB peak (``bench/alpha_bench.py``), most of it in the rank, ts_rank and
        correlation kernels. Call :func:`tune_allocator` first in batch jobs.
        """
        ops = FAST_OPS if ops is None else ops
        conv = self.conventions
        T, N = panel.shape
        refcount = [0] * len(self.nodes)
        for node in self.nodes:
            for kind, ref in node.args:
                if kind == "n":
                    refcount[ref] += 1
        waiting: dict[int, list[str]] = {}
        for name, (kind, ref) in self.roots.items():
            if kind == "n":
                refcount[ref] += 1
                waiting.setdefault(ref, []).append(name)
            else:  # a constant formula
                yield name, np.full((T, N), float(ref) if np.isfinite(ref) else np.nan)
        groups = np.asarray(panel.industry, dtype=np.int64)
        values: dict[int, np.ndarray] = {}
        owned: set[int] = set()
        self.evaluations = 0
        self.peak_live = 0
        self.seconds_by_op = {}
        for node in self.nodes:
            t0 = time.perf_counter()
            if node.op == "input":
                out = _input_array(node.args[0][1], panel)
            elif node.op == "const":
                out = np.full((T, N), node.args[0][1])
                owned.add(node.id)
            else:
                args = []
                for kind, ref in node.args:
                    if kind == "n":
                        args.append(values[ref])
                    elif kind == "g":
                        args.append(groups)
                    else:
                        args.append(ref)
                parallel = ops is FAST_OPS and node.op in elementwise.OPS
                target = (self._dead_operand(node, refcount, owned)
                          if parallel or node.op in _INPLACE else None)
                fused = None
                if parallel:
                    # both cores, one pass, bit-identical to FAST_OPS[op]; into a dead operand when one exists
                    fused = elementwise.apply(node.op, args, (T, N),
                                              out=values[target] if target is not None else None)
                if fused is not None:
                    out = fused
                    owned.add(node.id)
                elif target is not None and node.op in _INPLACE and ops[node.op] is FAST_OPS[node.op]:
                    # same IEEE operation as FAST_OPS[op], written into an operand nobody needs after this
                    out = _INPLACE[node.op](*args, out=values[target])
                    owned.add(node.id)
                else:
                    out = ops[node.op](*args, conv=conv)
                    if not any(out is a for a in args):
                        owned.add(node.id)
                self.evaluations += 1
            values[node.id] = out
            self.seconds_by_op[node.op] = self.seconds_by_op.get(node.op, 0.0) + time.perf_counter() - t0
            self.peak_live = max(self.peak_live, len(values))
            for kind, ref in node.args:
                if kind == "n":
                    refcount[ref] -= 1
                    if refcount[ref] == 0:
                        del values[ref]
                        owned.discard(ref)
            for name in waiting.pop(node.id, ()):
                refcount[node.id] -= 1
                arr = values[node.id]
                if refcount[node.id] > 0 or node.id not in owned:
                    arr = arr.copy()  # still needed by a later node, or a panel input: hand out a copy
                if refcount[node.id] == 0:
                    del values[node.id]
                    owned.discard(node.id)
                yield name, _finite_inplace(arr)
            if refcount[node.id] == 0 and node.id in values:  # pragma: no cover - lowering leaves no orphans
                del values[node.id]
                owned.discard(node.id)

    @staticmethod
    def _dead_operand(node: _OpNode, refcount: list[int], owned: set[int]) -> int | None:
        """An operand buffer this node may overwrite: owned by the engine and used by nobody after it."""
        uses: dict[int, int] = {}
        for kind, ref in node.args:
            if kind == "n":
                uses[ref] = uses.get(ref, 0) + 1
        for ref, n in uses.items():
            if ref in owned and refcount[ref] == n:
                return ref
        return None


#: Elementwise operators the engine may evaluate in place (plain IEEE arithmetic, bit-identical to
#: FAST_OPS): ``out`` is an operand's buffer that no later node needs.
_INPLACE: dict[str, Callable[..., np.ndarray]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "neg": np.negative,
}


class _Lowerer:
    """Turns canonical ASTs into hash-consed operator nodes (one instance per :class:`Program`)."""

    def __init__(self, conv: Conventions) -> None:
        self.conv = conv
        self.nodes: list[_OpNode] = []
        self.by_key: dict[tuple[Any, ...], int] = {}
        self.by_ast: dict[Node, Ref] = {}

    def node(self, op: str, args: tuple[Ref, ...], label: str) -> Ref:
        key = (op, args)
        nid = self.by_key.get(key)
        if nid is None:
            nid = len(self.nodes)
            self.nodes.append(_OpNode(nid, op, args, label))
            self.by_key[key] = nid
        return ("n", nid)

    def series(self, ref: Ref, label: str) -> Ref:
        """A reference usable where an operator needs a panel: numbers become constant panels."""
        if ref[0] == "c":
            return self.node("const", (ref,), label)
        return ref

    def elementwise(self, op: str, args: tuple[Ref, ...], label: str) -> Ref:
        if all(a[0] == "c" for a in args):  # fold numbers with the operator's own semantics
            value = FAST_OPS[op](*(np.full((1, 1), a[1]) for a in args), conv=self.conv)
            return ("c", float(np.asarray(value).reshape(-1)[0]))
        return self.node(op, args, label)

    def window(self, arg: Node) -> Ref:
        assert isinstance(arg, Num)
        return ("c", self.conv.window(arg.value))

    def lower(self, ast: Node) -> Ref:
        done = self.by_ast.get(ast)
        if done is not None:
            return done
        ref = self._lower(ast)
        self.by_ast[ast] = ref
        return ref

    def _lower(self, ast: Node) -> Ref:
        label = str(ast)
        if isinstance(ast, Num):
            return ("c", ast.value)
        if isinstance(ast, Var):
            m = _ADV_RE.fullmatch(ast.name)
            if m:
                base = "value" if self.conv.adv_units == "value" else "volume"
                d = self.conv.window(int(m.group(1)))
                summed = self.node("ts_sum", (self.node("input", (("s", base),), base), ("c", d)), label)
                return self.node("div", (summed, ("c", float(d))), label)
            return self.node("input", (("s", ast.name),), label)
        if isinstance(ast, UnaryOp):
            return self.elementwise("neg", (self.lower(ast.operand),), label)
        if isinstance(ast, BinOp):
            return self.elementwise(_BINOPS[ast.op], (self.lower(ast.left), self.lower(ast.right)), label)
        if isinstance(ast, Ternary):
            return self.elementwise(
                "where", (self.lower(ast.cond), self.lower(ast.then), self.lower(ast.other)), label
            )
        assert isinstance(ast, Call)
        name, args = ast.name, ast.args
        if name == "rank":
            x = self.series(self.lower(args[0]), label)
            if x[0] == "n" and self.nodes[x[1]].op == "rank":
                return x  # rank(rank(x)) == rank(x) exactly: ranks keep the order and the ties
            return self.node("rank", (x,), label)
        if name in _SERIES1:
            x = self.lower(args[0])
            if name in _ELEMENTWISE:
                return self.elementwise(name, (x,), label)
            return self.node(name, (self.series(x, label),), label)
        if name in _WINDOWED:
            return self.node(name, (self.series(self.lower(args[0]), label), self.window(args[1])), label)
        if name == "ts_mean":
            w = self.window(args[1])
            summed = self.node("ts_sum", (self.series(self.lower(args[0]), label), w), label)
            return self.node("div", (summed, ("c", float(w[1]))), label)
        if name in ("correlation", "covariance"):
            x = self.series(self.lower(args[0]), label)
            y = self.series(self.lower(args[1]), label)
            return self.node(name, (x, y, self.window(args[2])), label)
        if name == "scale":
            a = args[1].value if len(args) > 1 and isinstance(args[1], Num) else 1.0
            return self.node("scale", (self.series(self.lower(args[0]), label), ("c", float(a))), label)
        if name == "signedpower":
            return self.elementwise("signedpower", (self.lower(args[0]), self.lower(args[1])), label)
        if name == "indneutralize":
            # KRX has one classification level: sector = industry = subindustry (DESIGN §3.2)
            return self.node("indneutralize", (self.series(self.lower(args[0]), label), ("g", "industry")),
                             label)
        if name in ("min", "max"):
            return self.elementwise(name + "2", (self.lower(args[0]), self.lower(args[1])), label)
        raise AssertionError(f"unhandled function {name}")  # pragma: no cover - parser guarantees


def _resolve(alphas: Sequence[int | str | AlphaSpec], catalogue: Catalogue | None) -> list[AlphaSpec]:
    cat = catalogue if catalogue is not None else get_catalogue()
    out: dict[str, AlphaSpec] = {}
    for a in alphas:
        spec = a if isinstance(a, AlphaSpec) else cat.resolve(a)
        out.setdefault(spec.name, spec)
    return list(out.values())


def compile_alphas(
    alphas: Sequence[int | str | AlphaSpec],
    panel: Panel,
    conventions: Conventions = DEFAULT,
    industry: bool = True,
    *,
    catalogue: Catalogue | None = None,
) -> Program:
    """Compile the requested alphas into one :class:`Program` (shared DAG) for ``panel``.

    ``alphas`` are ids (``44``), names (``'alpha_044'``, user names) or :class:`AlphaSpec` objects;
    ``catalogue`` resolves names (default: the built-in catalogue; pass ``get_catalogue(home)`` for
    user alphas). Alphas whose inputs ``panel`` lacks (or that need industry while ``industry`` is
    False) go to ``Program.unavailable`` with the reason. Raises
    :class:`~lasps.alpha.catalogue.UnknownAlphaError` for an unknown id or name.
    """
    specs = _resolve(alphas, catalogue)
    lowerer = _Lowerer(conventions)
    roots: dict[str, Ref] = {}
    unavailable: dict[str, str] = {}
    compiled: dict[str, AlphaSpec] = {}
    for spec in specs:
        reason = alpha_unavailable_reason(spec, panel, conventions, industry)
        if reason:
            unavailable[spec.name] = reason
            continue
        roots[spec.name] = lowerer.lower(spec.ast)
        compiled[spec.name] = spec
    return Program(lowerer.nodes, roots, unavailable, compiled, conventions, industry)


def compute(
    panel: Panel,
    alphas: Sequence[int | str | AlphaSpec],
    conventions: Conventions = DEFAULT,
    industry: bool = True,
    *,
    catalogue: Catalogue | None = None,
    ops: Ops | None = None,
    executor: Executor | None = None,
    batches: int | None = None,
) -> AlphaSet:
    """Compute alphas over ``panel`` with one shared DAG (see the module docstring).

    Parameters
    ----------
    panel:
        The market panel; every result is ``(T, N)`` aligned to ``panel.dates`` x ``panel.codes``.
    alphas:
        Ids, names or specs (``[1, 4, 'alpha_017', 'my_alpha']``).
    conventions:
        Window rule, zero-variance correlation, adv units, rank ties.
    industry:
        False reports every IndNeutralize alpha as unavailable (``--no-industry``).
    catalogue:
        Resolves names (pass ``get_catalogue(home)`` for user alphas).
    ops:
        Operator registry (default ``FAST_OPS``); tests pass a counting wrapper. With an executor it
        must be picklable (a module-level mapping).
    executor:
        ``None`` (default): one DAG in this process. A :mod:`lasps.scale` executor: the alphas are split
        into ``batches`` (default ``executor.workers``; see :func:`plan_batches`), each compiled and run
        as one task next to the panel, which is shipped once. The values are bit-identical; ``seconds``
        are then per batch task.
    batches:
        Number of batches with an executor (ignored without one).

    Returns
    -------
    AlphaSet
        Name -> ``(T, N)`` float64, finite or NaN; ``.unavailable`` name -> reason.

    Notes
    -----
    Holding all 101 results of a 2,900 x 4,000 panel takes ~9.4 GB; to stream results to disk and
    keep memory bounded use :func:`compile_alphas` and :meth:`Program.run` instead.
    """
    program = compile_alphas(alphas, panel, conventions, industry, catalogue=catalogue)
    values: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    if executor is not None:
        for name, arr, sec in _batch_results(program, panel, executor, batches=batches, ops=ops):
            values[name] = arr
            seconds[name] = sec
        return AlphaSet({n: values[n] for n in program.names if n in values}, dict(program.unavailable),
                        panel.dates, panel.codes, seconds)
    t0 = time.perf_counter()
    for name, arr in program.run(panel, ops):
        t1 = time.perf_counter()
        values[name] = arr
        seconds[name] = t1 - t0
        t0 = t1
    ordered = {n: values[n] for n in program.names if n in values}
    return AlphaSet(ordered, dict(program.unavailable), panel.dates, panel.codes, seconds)


# ---------------------------------------------------------------------------------------- batches

#: Relative cost of one evaluation of an operator node (milliseconds on a 600 x 1,500 panel with two
#: numba threads, from ``Program.seconds_by_op``). Only the ratios matter: they balance the batches.
_OP_COST: dict[str, float] = {
    "rank": 18.0, "ts_rank": 15.0, "correlation": 10.0, "covariance": 15.0, "stddev": 15.0,
    "ts_min": 15.0, "ts_max": 15.0, "ts_argmin": 12.0, "ts_argmax": 12.0, "product": 10.0,
    "signedpower": 8.0, "scale": 6.0, "ts_sum": 5.0, "decay_linear": 5.0, "where": 5.0, "power": 5.0,
    "indneutralize": 4.0, "log": 4.0, "abs": 3.0, "div": 3.0, "lt": 3.0, "le": 3.0, "gt": 3.0, "ge": 3.0,
    "eq": 3.0, "ne": 3.0, "and_": 3.0, "or_": 3.0, "delay": 1.5, "delta": 1.5, "min2": 1.5, "max2": 1.5,
    "input": 0.0,
}
_DEFAULT_COST = 1.0


@dataclass(frozen=True)
class BatchPlan:
    """How :func:`plan_batches` split a program's alphas.

    Attributes
    ----------
    batches:
        Alpha names per batch (request order inside a batch; batches ordered by their first alpha).
    costs:
        Estimated cost of each batch: the sum of its distinct nodes' costs (:data:`_OP_COST` units).
    total:
        Cost of the whole program, every shared node counted once.
    """

    batches: list[list[str]]
    costs: list[float]
    total: float

    @property
    def recomputed(self) -> float:
        """Share of the program's work done more than once because batches split shared nodes."""
        return sum(self.costs) / self.total - 1.0 if self.total > 0 else 0.0

    @property
    def imbalance(self) -> float:
        """Largest batch cost over the mean (1.0 = perfectly balanced)."""
        if not self.costs or sum(self.costs) <= 0:
            return 1.0
        return max(self.costs) / (sum(self.costs) / len(self.costs))


def plan_batches(program: Program, n: int) -> BatchPlan:
    """Split ``program``'s alphas into at most ``n`` batches for parallel tasks.

    Greedy list scheduling on the DAG: alphas in decreasing order of their own cost (all nodes they
    need) join the batch where ``batch cost + cost of the nodes the batch does not have yet`` is
    smallest. An alpha therefore lands next to alphas it shares nodes with unless that batch is
    already the longest — balanced finishing times first, then as little recomputation as possible.
    Deterministic (ties go to the lower batch index).
    """
    names = program.names
    cost = [_OP_COST.get(node.op, _DEFAULT_COST) for node in program.nodes]
    closure: list[frozenset[int]] = []
    for node in program.nodes:  # topological order: operands come first
        acc = {node.id}
        for kind, ref in node.args:
            if kind == "n":
                acc |= closure[ref]
        closure.append(frozenset(acc))
    need = {name: (closure[ref] if kind == "n" else frozenset()) for name, (kind, ref) in program.roots.items()}
    own = {name: sum(cost[i] for i in need[name]) for name in names}
    total = sum(cost[i] for i in set().union(*need.values())) if need else 0.0
    k = max(1, min(int(n), len(names)))
    bins: list[set[int]] = [set() for _ in range(k)]
    load = [0.0] * k
    members: list[list[str]] = [[] for _ in range(k)]
    order = sorted(range(len(names)), key=lambda i: (-own[names[i]], i))
    for i in order:
        name = names[i]
        best, best_key = 0, (float("inf"), 0)
        for b in range(k):
            extra = sum(cost[j] for j in need[name] - bins[b])
            key = (load[b] + extra, b)
            if key < best_key:
                best, best_key = b, key
        bins[best] |= need[name]
        load[best] = best_key[0]
        members[best].append(name)
    rank = {name: i for i, name in enumerate(names)}
    groups = [(sorted(m, key=rank.__getitem__), c) for m, c in zip(members, load, strict=True) if m]
    groups.sort(key=lambda g: rank[g[0][0]])
    return BatchPlan([g[0] for g in groups], [g[1] for g in groups], total)


@dataclass(frozen=True)
class AlphaBatch:
    """One task of :func:`run_batches`: alphas to compile and run together on the shared panel.

    ``sink``, when given, is called in the worker as ``sink(name, values, panel)`` for each finished
    alpha and its return value travels back instead of the ``(T, N)`` array (e.g. write the alpha to
    ``$LASPS_HOME`` on a shared filesystem and return ``None``). It must be picklable.
    """

    specs: tuple[AlphaSpec, ...]
    conventions: Conventions = DEFAULT
    industry: bool = True
    ops: Ops | None = None
    sink: Callable[[str, np.ndarray, Panel], Any] | None = None


def run_alpha_batch(panel: Panel, batch: AlphaBatch) -> list[tuple[str, Any, float]]:
    """Task body: compile ``batch`` on ``panel`` and run it; ``[(name, values or sink result, seconds)]``."""
    program = compile_alphas(batch.specs, panel, batch.conventions, batch.industry)
    out: list[tuple[str, Any, float]] = []
    t0 = time.perf_counter()
    for name, arr in program.run(panel, batch.ops):
        value = arr if batch.sink is None else batch.sink(name, arr, panel)
        del arr
        t1 = time.perf_counter()
        out.append((name, value, t1 - t0))
        t0 = t1
    return out


def _batch_results(program: Program, panel: Panel | Shared[Panel], executor: Executor, *,
                   batches: int | None = None, ops: Ops | None = None,
                   sink: Callable[[str, np.ndarray, Panel], Any] | None = None) -> Iterator[tuple[str, Any, float]]:
    plan = plan_batches(program, batches or executor.workers)
    items = [AlphaBatch(tuple(program.specs[n] for n in names), program.conventions, program.industry, ops, sink)
             for names in plan.batches]
    for _, results in executor.imap_unordered(run_alpha_batch, items, shared=panel):
        for name, value, sec in results:
            if isinstance(value, np.ndarray) and not value.flags.writeable:
                value = value.copy()  # a read-only view of an object store: hand the caller its own array
            yield name, value, sec


def run_batches(program: Program, panel: Panel | Shared[Panel], executor: Executor, *,
                batches: int | None = None, ops: Ops | None = None,
                sink: Callable[[str, np.ndarray, Panel], Any] | None = None) -> Iterator[tuple[str, Any]]:
    """Run a compiled program as batch tasks on ``executor``; yield ``(name, values)`` as batches finish.

    The executor-backed counterpart of :meth:`Program.run`: ``panel`` is the panel (placed in shared
    storage for this call) or a handle from ``executor.put(panel)``; ``batches`` defaults to
    ``executor.workers`` (see :func:`plan_batches`). Alphas arrive batch by batch in completion order
    (request order inside a batch); each array belongs to the caller. With ``sink`` (see
    :class:`AlphaBatch`) the sink's return value is yielded instead of the array.
    """
    for name, value, _ in _batch_results(program, panel, executor, batches=batches, ops=ops, sink=sink):
        yield name, value


# --------------------------------------------------------------------------------------- lookback


def alpha_lookback(formula_or_ast: str | Node | AlphaSpec, conventions: Conventions = DEFAULT) -> int:
    """Rows of history a formula needs before its first possible value (sum of nested lookbacks).

    ``adv{d}`` counts ``d - 1`` rows, ``returns`` and ``index_returns`` 1, every operator what
    :func:`lasps.alpha.operators.lookback` says. Used to extend a load window before ``--start``.
    """
    if isinstance(formula_or_ast, AlphaSpec):
        ast = formula_or_ast.ast
    elif isinstance(formula_or_ast, str):
        ast = parse(formula_or_ast)
    else:
        ast = formula_or_ast
    conv = conventions
    memo: dict[Node, int] = {}

    def lb(node: Node) -> int:
        if node in memo:
            return memo[node]
        kids = max((lb(k) for k in node.children()), default=0)
        own = 0
        if isinstance(node, Var):
            m = _ADV_RE.fullmatch(node.name)
            if m:
                own = conv.window(int(m.group(1))) - 1
            elif node.name in ("returns", "index_returns"):
                own = 1
        elif isinstance(node, Call):
            name = node.name
            if name == "ts_mean":
                own = op_lookback("ts_sum", node.args[1].value, conv)  # type: ignore[attr-defined]
            elif name in _WINDOWED:
                own = op_lookback(name, node.args[1].value, conv)  # type: ignore[attr-defined]
            elif name in ("correlation", "covariance"):
                own = op_lookback(name, node.args[2].value, conv)  # type: ignore[attr-defined]
        memo[node] = kids + own
        return memo[node]

    return lb(ast)


# ------------------------------------------------------------------------------------- reference


def interpret(panel: Panel, formula_or_ast: str | Node | AlphaSpec, conventions: Conventions = DEFAULT,
              industry: bool = True, *, ops: Ops | None = None) -> np.ndarray:
    """Evaluate one formula by walking its AST node by node with ``REFERENCE_OPS`` (no caching).

    The slow, obviously-correct path the compiled engine is tested against. Raises
    :class:`~lasps.errors.UnavailableError` (with the reason) when the panel lacks an input.
    Returns ``(T, N)`` float64, finite or NaN.
    """
    if isinstance(formula_or_ast, AlphaSpec):
        ast = formula_or_ast.ast
    elif isinstance(formula_or_ast, str):
        ast = parse(formula_or_ast)
    else:
        ast = formula_or_ast
    ops = REFERENCE_OPS if ops is None else ops
    conv = conventions
    T, N = panel.shape
    for n in ast.walk():
        if isinstance(n, Var):
            reason = input_unavailable_reason(n.name, panel, conv, industry)
            if reason:
                raise UnavailableError(reason, where=str(ast)[:80])

    def full(v: Any) -> np.ndarray:
        a = np.asarray(v, dtype=np.float64)
        return np.array(np.broadcast_to(a, (T, N))) if a.shape != (T, N) else a

    def scalar_safe(op: str, *args: Any) -> Any:
        if all(isinstance(a, float) for a in args):
            return float(np.asarray(ops[op](*(np.full((1, 1), a) for a in args), conv=conv)).reshape(-1)[0])
        return ops[op](*args, conv=conv)

    def ev(node: Node) -> Any:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Var):
            m = _ADV_RE.fullmatch(node.name)
            if m:
                base = "value" if conv.adv_units == "value" else "volume"
                d = int(m.group(1))
                return ops["div"](ops["ts_sum"](panel.field(base), d, conv=conv), float(conv.window(d)),
                                  conv=conv)
            return _input_array(node.name, panel)
        if isinstance(node, UnaryOp):
            return scalar_safe("neg", ev(node.operand))
        if isinstance(node, BinOp):
            return scalar_safe(_BINOPS[node.op], ev(node.left), ev(node.right))
        if isinstance(node, Ternary):
            return scalar_safe("where", ev(node.cond), ev(node.then), ev(node.other))
        assert isinstance(node, Call)
        name, args = node.name, node.args
        if name in ("abs", "log", "sign"):
            return scalar_safe(name, ev(args[0]))
        if name == "rank":
            return ops["rank"](full(ev(args[0])), conv=conv)
        if name in _WINDOWED:
            return ops[name](full(ev(args[0])), args[1].value, conv=conv)  # type: ignore[attr-defined]
        if name == "ts_mean":
            d = args[1].value  # type: ignore[attr-defined]
            return ops["div"](ops["ts_sum"](full(ev(args[0])), d, conv=conv), float(conv.window(d)), conv=conv)
        if name in ("correlation", "covariance"):
            return ops[name](full(ev(args[0])), full(ev(args[1])), args[2].value, conv=conv)  # type: ignore[attr-defined]
        if name == "scale":
            a = args[1].value if len(args) > 1 else 1.0  # type: ignore[attr-defined]
            return ops["scale"](full(ev(args[0])), a, conv=conv)
        if name == "signedpower":
            return scalar_safe("signedpower", ev(args[0]), ev(args[1]))
        if name == "indneutralize":
            return ops["indneutralize"](full(ev(args[0])), np.asarray(panel.industry), conv=conv)
        if name in ("min", "max"):
            return scalar_safe(name + "2", ev(args[0]), ev(args[1]))
        raise AssertionError(f"unhandled function {name}")  # pragma: no cover

    result = full(ev(ast)).astype(np.float64, copy=True)
    return _finite_inplace(result)
