"""The typed formula grammar of the search: dimension types, operators, random trees, mutation, crossover.

Formulas are the parser's ASTs (:mod:`lasps.alpha.parser`), so every candidate is a formula of the
language and ``str(node)`` re-parses to it. Each sub-expression has one of five **types**:

==========  ==============================================  ===========================================
type        examples                                         rules
==========  ==============================================  ===========================================
``price``   ``open high low close vwap``, ``delay(close,5)``  ``+ -`` with price; ``*`` by a ratio/unit
``volume``  ``volume adv20``, ``ts_mean(volume, 10)``         like price
``ratio``   ``returns``, ``close / delay(close, 5)``          ``a / b`` of equal types is a ratio
``unit``    ``rank(x)``, ``ts_rank(x,d)``, ``correlation``     ranks, positions, correlations, signs
``bool``    ``close > vwap``                                  only as the condition of ``c ? a : b``
==========  ==============================================  ===========================================

So ``close + volume`` (price + volume), ``close * volume`` (two dimensions) and ``close / rank(x)``
are ill-typed and never generated; ``close / delay(close, 5)`` is a ratio. A **signal** (the root) is
a ratio or a unit: a raw price or volume level ranks stocks by their share count, not by anything a
formula can mean. Windows are numbers from :data:`WINDOW_LADDER` within the run's bounds.

Canonical form (semantic dedup): commutative operands (``+ *`` and ``correlation``'s two series) are
ordered by their canonical text, ``rank(rank(x))`` is ``rank(x)``, and at the root a ``rank`` or a
negation is dropped — the rank IC of ``x``, ``rank(x)`` and ``-x`` are the same up to the sign, and
the sign (direction) is chosen from the training IC, not searched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from lasps.alpha.engine import alpha_lookback
from lasps.alpha.parser import BinOp, Call, Node, Num, Ternary, UnaryOp, Var
from lasps.errors import ConfigError

__all__ = [
    "DEFAULT_OPERATORS",
    "OPERATORS",
    "ROOT_TYPES",
    "TYPES",
    "WINDOW_LADDER",
    "Grammar",
    "canonical",
    "size",
]

PRICE, VOLUME, RATIO, UNIT, BOOL = "price", "volume", "ratio", "unit", "bool"
TYPES: tuple[str, ...] = (PRICE, VOLUME, RATIO, UNIT, BOOL)
NUMERIC: tuple[str, ...] = (PRICE, VOLUME, RATIO, UNIT)
DIMENSIONLESS: frozenset[str] = frozenset({RATIO, UNIT})
ROOT_TYPES: tuple[str, ...] = (RATIO, UNIT)

#: Terminals and their types (``vwap`` needs traded value; dropped when the store has none).
TERMINALS: dict[str, str] = {
    "open": PRICE, "high": PRICE, "low": PRICE, "close": PRICE, "vwap": PRICE,
    "volume": VOLUME, "adv20": VOLUME, "returns": RATIO,
}
#: Windows the search may use (clipped to ``[1 or 2, max_window]``).
WINDOW_LADDER: tuple[int, ...] = (2, 3, 5, 10, 20, 40, 60, 120, 250)

# operator kinds
_SAME_WINDOW = ("delay", "delta", "ts_mean", "ts_sum", "ts_min", "ts_max", "decay_linear", "stddev")
_UNIT_WINDOW = ("ts_rank", "ts_argmax", "ts_argmin")
_LAG1 = frozenset({"delay", "delta"})  # may use a 1-session window
_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "lt": "<", "gt": ">"}
#: Every operator the search knows, by the name ``--operators`` takes.
OPERATORS: tuple[str, ...] = (
    *_SAME_WINDOW, *_UNIT_WINDOW, "rank", "correlation", "abs", "sign", "neg",
    "add", "sub", "mul", "div", "lt", "gt", "where", "indneutralize",
)
#: Aliases accepted by ``--operators`` (the formula language's own symbols).
OPERATOR_ALIASES: dict[str, str] = {"+": "add", "-": "sub", "*": "mul", "/": "div", "<": "lt", ">": "gt",
                                    "?": "where", "sum": "ts_sum", "std": "stddev", "corr": "correlation"}
#: The default set: all but ``indneutralize`` (needs an industry classification).
DEFAULT_OPERATORS: tuple[str, ...] = tuple(o for o in OPERATORS if o != "indneutralize")
_COMMUTATIVE = frozenset({"+", "*"})
_GROUP = Var("indclass.sector")


def parse_operators(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"rank,delta,/"`` -> canonical operator names (sorted as :data:`OPERATORS`); ConfigError if unknown."""
    if text is None:
        return DEFAULT_OPERATORS
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if not items:
        raise ConfigError("--operators names no operator", where="--operators",
                          fix="e.g. --operators rank,delta,ts_mean,correlation,div")
    names = []
    for it in items:
        name = OPERATOR_ALIASES.get(it, it)
        if name not in OPERATORS:
            raise ConfigError(f"unknown operator {it!r}", where="--operators",
                              fix="choose from: " + ", ".join(OPERATORS) + " (or + - * / < > ?)")
        names.append(name)
    return tuple(o for o in OPERATORS if o in set(names))


def size(node: Node) -> int:
    """Number of operator and data nodes (window numbers and the IndClass argument not counted)."""
    return sum(1 for n in node.walk() if not isinstance(n, Num) and not (isinstance(n, Var) and n.is_indclass))


def _rebuild(node: Node, kids: tuple[Node, ...]) -> Node:
    if isinstance(node, Call):
        return Call(node.name, kids)
    if isinstance(node, BinOp):
        return BinOp(node.op, kids[0], kids[1])
    if isinstance(node, UnaryOp):
        return UnaryOp(node.op, kids[0])
    if isinstance(node, Ternary):
        return Ternary(kids[0], kids[1], kids[2])
    return node


def _norm(node: Node) -> Node:
    kids = tuple(_norm(k) for k in node.children())
    if isinstance(node, BinOp) and node.op in _COMMUTATIVE:
        kids = tuple(sorted(kids, key=lambda k: k.key))
    if isinstance(node, Call) and node.name == "correlation":
        kids = (*sorted(kids[:2], key=lambda k: k.key), kids[2])
    if isinstance(node, Call) and node.name == "rank" and isinstance(kids[0], Call) and kids[0].name == "rank":
        return kids[0]
    return _rebuild(node, kids) if kids else node


def canonical(node: Node, signal_type=None) -> Node:  # type: ignore[no-untyped-def]
    """Semantic canonical form (see the module docstring): the key of the trial dedup.

    ``signal_type(node) -> type | None`` (e.g. :meth:`Grammar.type_of`) keeps a root ``rank`` whose
    operand is not itself a signal (``rank(volume)`` stays; ``rank(returns)`` becomes ``returns``)."""
    node = _norm(node)
    while True:
        if isinstance(node, Call) and node.name == "rank" and (
                signal_type is None or signal_type(node.args[0]) in ROOT_TYPES):
            node = node.args[0]
        elif isinstance(node, UnaryOp) and node.op == "-":
            node = node.operand
        elif isinstance(node, BinOp) and node.op == "*" and isinstance(node.left, Num) and node.left.value == -1:
            node = node.right
        else:
            return node


@dataclass(frozen=True)
class Grammar:
    """Bounds and operators of one search, plus the typed generators (all randomness from ``rng``).

    Attributes
    ----------
    operators:
        Allowed operator names (:data:`OPERATORS`).
    terminals:
        Allowed data names (subset of :data:`TERMINALS`).
    max_depth:
        Deepest tree (a terminal has depth 1; ``rank(close)`` depth 2).
    max_window:
        Largest window; windows are :data:`WINDOW_LADDER` entries up to it.
    max_lookback:
        Largest total lookback of a formula in rows (:func:`lasps.alpha.engine.alpha_lookback`).
    """

    operators: tuple[str, ...]
    terminals: tuple[str, ...]
    max_depth: int
    max_window: int
    max_lookback: int

    def __post_init__(self) -> None:
        if not 2 <= self.max_depth <= 10:
            raise ConfigError(f"max depth must be between 2 and 10, got {self.max_depth}", where="--max-depth",
                              fix="a depth of 2 is rank(x)-sized formulas; 4–6 is usual")
        if self.max_window < 2:
            raise ConfigError(f"max window must be at least 2 sessions, got {self.max_window}",
                              where="--max-window", fix="e.g. --max-window 20")
        if self.max_lookback < self.max_window:
            raise ConfigError(f"max lookback {self.max_lookback} is below the max window {self.max_window}",
                              where="--max-window", fix="use a smaller --max-window or a longer history")
        if not any(TERMINALS[t] in ROOT_TYPES for t in self.terminals) and "div" not in self.operators \
                and "rank" not in self.operators:
            raise ConfigError("the operators and inputs cannot form any signal (a ratio or a rank)",
                              where="--operators", fix="include div or rank")

    # -- typing -----------------------------------------------------------------------------------
    def windows(self, lo: int = 2) -> tuple[int, ...]:
        return tuple(w for w in (1, *WINDOW_LADDER) if lo <= w <= self.max_window)

    def type_of(self, node: Node) -> str | None:
        """The type of ``node`` under the rules of the module docstring, or None when ill-typed or
        outside the bounds (operator not allowed, window off the ladder, identical operands)."""
        if isinstance(node, Var):
            return TERMINALS.get(node.name) if node.name in self.terminals else None
        if isinstance(node, Num):
            return None
        if isinstance(node, UnaryOp):
            t = self.type_of(node.operand)
            return t if "neg" in self.operators and t in NUMERIC else None
        if isinstance(node, Ternary):
            if "where" not in self.operators or self.type_of(node.cond) != BOOL:
                return None
            a, b = self.type_of(node.then), self.type_of(node.other)
            return a if a == b and a in NUMERIC and node.then != node.other else None
        if isinstance(node, BinOp):
            name = next((k for k, v in _BINARY.items() if v == node.op), None)
            if name is None or name not in self.operators or node.left == node.right:
                return None
            if name == "mul" and isinstance(node.left, Num):  # a scalar factor such as -1 keeps the type
                return self.type_of(node.right)
            a, b = self.type_of(node.left), self.type_of(node.right)
            if a not in NUMERIC or b not in NUMERIC:
                return None
            if name in ("add", "sub"):
                return a if a == b else None
            if name in ("lt", "gt"):
                return BOOL if a == b else None
            if name == "div":
                return RATIO if a == b else None
            # mul: at least one side dimensionless
            if a in DIMENSIONLESS and b in DIMENSIONLESS:
                return RATIO if RATIO in (a, b) else UNIT
            if a in DIMENSIONLESS:
                return b
            if b in DIMENSIONLESS:
                return a
            return None
        assert isinstance(node, Call)
        name, args = node.name, node.args
        if name not in self.operators:
            return None
        if name in _SAME_WINDOW or name in _UNIT_WINDOW:
            w = args[1]
            lo = 1 if name in _LAG1 else 2
            if not isinstance(w, Num) or int(w.value) not in self.windows(lo) or w.value != int(w.value):
                return None
            t = self.type_of(args[0])
            if t not in NUMERIC:
                return None
            return UNIT if name in _UNIT_WINDOW else t
        if name == "correlation":
            w = args[2]
            if not isinstance(w, Num) or int(w.value) not in self.windows(3) or args[0] == args[1]:
                return None
            return UNIT if self.type_of(args[0]) in NUMERIC and self.type_of(args[1]) in NUMERIC else None
        if name in ("rank", "sign"):
            return UNIT if self.type_of(args[0]) in NUMERIC else None
        if name == "abs":
            t = self.type_of(args[0])
            return t if t in NUMERIC else None
        if name == "indneutralize":
            t = self.type_of(args[0])
            return t if t in NUMERIC else None
        return None

    def admissible(self, node: Node) -> bool:
        """A valid signal: well-typed root type, within depth and lookback, not trivially a terminal."""
        return (node.depth <= self.max_depth and self.type_of(node) in ROOT_TYPES
                and alpha_lookback(node) <= self.max_lookback)

    def canonical(self, node: Node) -> Node:
        """:func:`canonical` with this grammar's types."""
        return canonical(node, self.type_of)

    # -- generation ---------------------------------------------------------------------------------
    def _min_depth(self, t: str) -> int:
        if any(TERMINALS[x] == t for x in self.terminals):
            return 1
        return 2 if t in (UNIT, RATIO) else 3 if t == BOOL else 99

    def random_tree(self, rng: np.random.Generator, t: str, depth: int, full: bool = False) -> Node | None:
        """A random well-typed tree of type ``t`` and depth <= ``depth`` (None if none can be made)."""
        terms = [x for x in self.terminals if TERMINALS[x] == t]
        if depth <= 1 or (terms and not full and rng.random() < 0.3):
            return Var(terms[int(rng.integers(len(terms)))]) if terms else None
        makers = self._productions(t, depth)
        if not makers:
            return Var(terms[int(rng.integers(len(terms)))]) if terms else None
        for _ in range(8):
            node = makers[int(rng.integers(len(makers)))](rng, depth - 1)
            if node is not None and self.type_of(node) == t:
                return node
        return Var(terms[int(rng.integers(len(terms)))]) if terms else None

    def _any_numeric(self, rng: np.random.Generator, depth: int) -> Node | None:
        ok = [t for t in NUMERIC if self._min_depth(t) <= depth]
        return self.random_tree(rng, ok[int(rng.integers(len(ok)))], depth) if ok else None

    def _window(self, rng: np.random.Generator, lo: int) -> Num:
        ws = self.windows(lo)
        return Num(float(ws[int(rng.integers(len(ws)))]))

    def _productions(self, t: str, depth: int) -> list:  # type: ignore[type-arg]
        """Makers ``(rng, child_depth) -> Node | None`` of the operators that can return type ``t``."""
        ops = set(self.operators)
        out: list = []  # type: ignore[type-arg]

        def call(name: str, child_type: str | None, lo: int) -> None:
            def make(rng: np.random.Generator, d: int) -> Node | None:
                x = self._any_numeric(rng, d) if child_type is None else self.random_tree(rng, child_type, d)
                return None if x is None else Call(name, (x, self._window(rng, lo)))
            out.append(make)

        if t in NUMERIC:
            for name in _SAME_WINDOW:
                if name in ops and self._min_depth(t) <= depth - 1:
                    call(name, t, 1 if name in _LAG1 else 2)
        if t == UNIT:
            for name in _UNIT_WINDOW:
                if name in ops:
                    call(name, None, 2)
            if "rank" in ops:
                out.append(lambda rng, d: (lambda x: None if x is None else Call("rank", (x,)))(
                    self._any_numeric(rng, d)))
            if "sign" in ops:
                out.append(lambda rng, d: (lambda x: None if x is None else Call("sign", (x,)))(
                    self._any_numeric(rng, d)))
            if "correlation" in ops:
                def corr(rng: np.random.Generator, d: int) -> Node | None:
                    a, b = self._any_numeric(rng, d), self._any_numeric(rng, d)
                    return None if a is None or b is None else Call("correlation", (a, b, self._window(rng, 3)))
                out.append(corr)
        if t in NUMERIC:
            if "neg" in ops:
                out.append(lambda rng, d: (lambda x: None if x is None else UnaryOp("-", x))(
                    self.random_tree(rng, t, d)))
            if "abs" in ops:
                out.append(lambda rng, d: (lambda x: None if x is None else Call("abs", (x,)))(
                    self.random_tree(rng, t, d)))
            if "indneutralize" in ops:
                out.append(lambda rng, d: (lambda x: None if x is None else Call("indneutralize", (x, _GROUP)))(
                    self.random_tree(rng, t, d)))
            for name in ("add", "sub"):
                if name in ops:
                    out.append(self._binary(_BINARY[name], t, t))
            if "mul" in ops:
                if t in DIMENSIONLESS:
                    out.append(self._binary("*", t, UNIT))
                    out.append(self._binary("*", t, RATIO))
                else:
                    out.append(self._binary("*", t, RATIO))
                    out.append(self._binary("*", t, UNIT))
            if "where" in ops and depth >= 3:
                def tern(rng: np.random.Generator, d: int) -> Node | None:
                    c = self.random_tree(rng, BOOL, d)
                    a, b = self.random_tree(rng, t, d), self.random_tree(rng, t, d)
                    return None if c is None or a is None or b is None else Ternary(c, a, b)
                out.append(tern)
        if t == RATIO and "div" in ops:
            def div(rng: np.random.Generator, d: int) -> Node | None:
                ok = [s for s in NUMERIC if self._min_depth(s) <= d]
                s = ok[int(rng.integers(len(ok)))]
                a, b = self.random_tree(rng, s, d), self.random_tree(rng, s, d)
                return None if a is None or b is None else BinOp("/", a, b)
            out.append(div)
        if t == BOOL:
            for name in ("lt", "gt"):
                if name in ops:
                    def cmp(rng: np.random.Generator, d: int, op: str = _BINARY[name]) -> Node | None:
                        ok = [s for s in NUMERIC if self._min_depth(s) <= d]
                        s = ok[int(rng.integers(len(ok)))]
                        a, b = self.random_tree(rng, s, d), self.random_tree(rng, s, d)
                        return None if a is None or b is None else BinOp(op, a, b)
                    out.append(cmp)
        return out

    def _binary(self, op: str, ta: str, tb: str):  # type: ignore[no-untyped-def]
        def make(rng: np.random.Generator, d: int) -> Node | None:
            a, b = self.random_tree(rng, ta, d), self.random_tree(rng, tb, d)
            return None if a is None or b is None else BinOp(op, a, b)
        return make

    def random_signal(self, rng: np.random.Generator, full: bool = False) -> Node | None:
        """A random admissible signal (ratio or unit root), ramped depth 2..max_depth."""
        depth = int(rng.integers(2, self.max_depth + 1))
        t = ROOT_TYPES[int(rng.integers(len(ROOT_TYPES)))]
        node = self.random_tree(rng, t, depth, full=full)
        return node if node is not None and self.admissible(node) else None

    # -- variation ----------------------------------------------------------------------------------
    def typed_positions(self, node: Node) -> list[tuple[tuple[int, ...], str, int]]:
        """``(path, type, depth at that position)`` of every typed sub-expression (root path ``()``)."""
        out: list[tuple[tuple[int, ...], str, int]] = []
        stack: list[tuple[Node, tuple[int, ...], int]] = [(node, (), 1)]
        while stack:
            n, path, level = stack.pop()
            t = self.type_of(n)
            if t is not None:
                out.append((path, t, level))
            for i, k in enumerate(n.children()):
                if not isinstance(k, Num) and not (isinstance(k, Var) and k.is_indclass):
                    stack.append((k, (*path, i), level + 1))
        out.sort()
        return out

    def mutate(self, rng: np.random.Generator, node: Node) -> Node | None:
        """Subtree mutation (a random typed subtree replaced by a new one of its type) or point mutation
        (one window moved along the ladder, or one terminal swapped for another of its type)."""
        if rng.random() < 0.5:
            pos = self.typed_positions(node)
            path, t, level = pos[int(rng.integers(len(pos)))]
            new = self.random_tree(rng, t, max(1, self.max_depth - level + 1))
            return None if new is None else _replace(node, path, new)
        return self._point(rng, node)

    def _point(self, rng: np.random.Generator, node: Node) -> Node | None:
        spots: list[tuple[tuple[int, ...], Node]] = []
        stack: list[tuple[Node, tuple[int, ...]]] = [(node, ())]
        while stack:
            n, path = stack.pop()
            if (isinstance(n, Var) and n.name in TERMINALS) or (isinstance(n, Call) and any(
                    isinstance(a, Num) for a in n.args)):
                spots.append((path, n))
            stack.extend((k, (*path, i)) for i, k in enumerate(n.children()))
        if not spots:
            return None
        spots.sort(key=lambda s: s[0])
        path, n = spots[int(rng.integers(len(spots)))]
        if isinstance(n, Var):
            same = [x for x in self.terminals if TERMINALS[x] == TERMINALS[n.name] and x != n.name]
            if not same:
                return None
            return _replace(node, path, Var(same[int(rng.integers(len(same)))]))
        assert isinstance(n, Call)
        wi = next(i for i, a in enumerate(n.args) if isinstance(a, Num))
        lo = 1 if n.name in _LAG1 else 3 if n.name == "correlation" else 2
        ws = [w for w in self.windows(lo) if w != n.args[wi].value]  # type: ignore[attr-defined]
        if not ws:
            return None
        args = list(n.args)
        args[wi] = Num(float(ws[int(rng.integers(len(ws)))]))
        return _replace(node, path, Call(n.name, tuple(args)))

    def crossover(self, rng: np.random.Generator, a: Node, b: Node) -> Node | None:
        """Subtree crossover: a random typed subtree of ``a`` replaced by one of the same type from ``b``."""
        pa = self.typed_positions(a)
        pb = self.typed_positions(b)
        path, t, _level = pa[int(rng.integers(len(pa)))]
        donors = [p for p in pb if p[1] == t]
        if not donors:
            return None
        dpath = donors[int(rng.integers(len(donors)))][0]
        return _replace(a, path, _at(b, dpath))


def _at(node: Node, path: Iterable[int]) -> Node:
    for i in path:
        node = node.children()[i]
    return node


def _replace(node: Node, path: tuple[int, ...], new: Node) -> Node:
    if not path:
        return new
    kids = list(node.children())
    kids[path[0]] = _replace(kids[path[0]], path[1:], new)
    return _rebuild(node, tuple(kids))
