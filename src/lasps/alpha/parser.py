"""Parser for the formula language of "101 Formulaic Alphas" (Kakushadze 2016, Appendix A; DESIGN §3.1).

A formula such as ``(rank(Ts_ArgMax(SignedPower(((returns < 0) ? stddev(returns, 20) : close), 2.), 5))
- 0.5)`` is lexed, parsed by recursive descent and returned as an immutable AST whose nodes compare and
hash by their **canonical form** — so identical sub-expressions anywhere in any formula are equal and
can be computed once by the engine (:mod:`lasps.alpha.engine`).

Grammar (lowest to highest precedence; C-like, with ``^`` as power, never XOR)::

    expr    := or ( '?' expr ':' expr )?            ternary, right-associative
    or      := and ( '||' and )*
    and     := eq ( '&&' eq )*
    eq      := rel ( ('==' | '!=') rel )*
    rel     := add ( ('<' | '<=' | '>' | '>=') add )*
    add     := mul ( ('+' | '-') mul )*
    mul     := unary ( ('*' | '/') unary )*
    unary   := ('-' | '+') unary | power               -x^2 is -(x^2)
    power   := primary ( '^' unary )?                  right-associative: a^b^c = a^(b^c)
    primary := NUMBER | IDENT | IDENT '(' args ')' | '(' expr ')'

Identifiers: ``open high low close volume value vwap returns cap adv{d}`` (``adv20``, ``adv180`` …),
``index_close index_returns`` (KOSPI ``1001``, for the relative-strength alphas 201–205) and
``IndClass.sector|industry|subindustry`` (only as the second argument of ``IndNeutralize``). Function
names are case-insensitive. Canonicalisation done here:

- names lower-cased, aliases resolved (``sum`` -> ``ts_sum``, ``corr`` -> ``correlation``, ``sma`` ->
  ``ts_mean``, ``power(a, b)`` -> ``a ^ b``, ``where(c, a, b)`` -> ``c ? a : b`` …);
- the paper's overload: ``min(x, d)`` / ``max(x, d)`` with a *number* ``d`` mean ``ts_min`` /
  ``ts_max``; with two expressions they are elementwise ``min`` / ``max``;
- numbers are floats printed in shortest round-trip form (``2.`` -> ``2``, ``1e-3`` -> ``0.001``);
  a unary minus on a literal folds into the literal (``-1`` is one number); unary ``+`` is dropped.

``str(node)`` is the canonical form; it re-parses to an equal node. Errors are :class:`ParseError`
(a :class:`~lasps.errors.LaspsError`) naming the 1-based column and the offending token with a caret
line; no other exception escapes :func:`parse` for any input text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from lasps.errors import LaspsError

__all__ = [
    "BASE_VARIABLES",
    "FUNCTIONS",
    "INDCLASS_LEVELS",
    "BinOp",
    "Call",
    "Node",
    "Num",
    "ParseError",
    "Ternary",
    "UnaryOp",
    "Var",
    "format_number",
    "parse",
]

#: Plain data identifiers (besides ``adv{d}`` and ``IndClass.*``).
BASE_VARIABLES: frozenset[str] = frozenset(
    {"open", "high", "low", "close", "volume", "value", "vwap", "returns", "cap",
     "index_close", "index_returns"}
)
#: Classification levels accepted after ``IndClass.``; on KRX all map to one grouping (DESIGN §3.2).
INDCLASS_LEVELS: tuple[str, ...] = ("sector", "industry", "subindustry")

MAX_DEPTH = 100
"""Deepest AST accepted (nesting of calls, parentheses and operator chains); deeper is a ParseError."""
MAX_LENGTH = 20_000
"""Longest formula text accepted, in characters."""

# Argument kinds: S = series (any expression), W = window (a number), P = scalar parameter (a number),
# G = group (IndClass.level), E = series or number (elementwise operands).
_S, _W, _P, _G = "S", "W", "P", "G"


@dataclass(frozen=True)
class _Sig:
    kinds: tuple[str, ...]
    required: int


#: Canonical function name -> argument kinds. ``min`` / ``max`` here are the elementwise two-series forms.
FUNCTIONS: dict[str, _Sig] = {
    "rank": _Sig((_S,), 1),
    "delay": _Sig((_S, _W), 2),
    "delta": _Sig((_S, _W), 2),
    "correlation": _Sig((_S, _S, _W), 3),
    "covariance": _Sig((_S, _S, _W), 3),
    "scale": _Sig((_S, _P), 1),
    "signedpower": _Sig((_S, _S), 2),
    "decay_linear": _Sig((_S, _W), 2),
    "indneutralize": _Sig((_S, _G), 2),
    "ts_min": _Sig((_S, _W), 2),
    "ts_max": _Sig((_S, _W), 2),
    "ts_argmin": _Sig((_S, _W), 2),
    "ts_argmax": _Sig((_S, _W), 2),
    "ts_rank": _Sig((_S, _W), 2),
    "ts_sum": _Sig((_S, _W), 2),
    "ts_mean": _Sig((_S, _W), 2),
    "product": _Sig((_S, _W), 2),
    "stddev": _Sig((_S, _W), 2),
    "abs": _Sig((_S,), 1),
    "log": _Sig((_S,), 1),
    "sign": _Sig((_S,), 1),
    "min": _Sig((_S, _S), 2),
    "max": _Sig((_S, _S), 2),
}

#: Accepted spellings (lower-case) -> canonical names. ``power``/``where`` become operators.
_ALIASES: dict[str, str] = {
    "sum": "ts_sum", "ts_sum": "ts_sum",
    "corr": "correlation", "ts_corr": "correlation", "correlation": "correlation",
    "cov": "covariance", "ts_cov": "covariance", "covariance": "covariance",
    "std": "stddev", "ts_std": "stddev", "ts_stddev": "stddev", "stddev": "stddev",
    "product": "product", "ts_product": "product", "prod": "product",
    "signedpower": "signedpower", "signed_power": "signedpower",
    "decay_linear": "decay_linear", "decaylinear": "decay_linear", "ts_decay_linear": "decay_linear",
    "indneutralize": "indneutralize", "ind_neutralize": "indneutralize",
    "delay": "delay", "ts_delay": "delay",
    "delta": "delta", "ts_delta": "delta",
    "ts_mean": "ts_mean", "sma": "ts_mean", "mean": "ts_mean",
    "ts_argmax": "ts_argmax", "ts_argmin": "ts_argmin", "ts_rank": "ts_rank",
    "ts_min": "ts_min", "ts_max": "ts_max",
    "rank": "rank", "scale": "scale", "abs": "abs", "log": "log", "sign": "sign",
    "min": "min", "max": "max",
    "power": "^", "pow": "^",
    "where": "?", "if_else": "?", "iif": "?",
}

_ADV_RE = re.compile(r"adv([0-9]+)")


class ParseError(LaspsError):
    """A formula could not be parsed.

    Attributes
    ----------
    column:
        1-based column of the offending token in the formula text.
    token:
        The offending token text (``'<end>'`` at the end of the input).
    formula:
        The formula text.
    """

    def __init__(self, message: str, *, formula: str, position: int, token: str,
                 fix: str | None = None) -> None:
        self.formula = formula
        self.column = position + 1
        self.token = token
        self.message = message
        shown = formula.replace("\n", " ").replace("\r", " ").replace("\t", " ")
        if len(shown) > 200:  # keep the caret line readable for very long input
            lo = max(0, position - 100)
            shown_part = shown[lo: lo + 200]
            caret = " " * (position - lo) + "^"
        else:
            shown_part, caret = shown, " " * position + "^"
        super().__init__(
            f"cannot parse formula: {message} at column {self.column} (token {token!r})",
            where=f"column {self.column}:\n      {shown_part}\n      {caret}",
            fix=fix,
        )


def format_number(value: float) -> str:
    """Canonical text of a number: integers without a decimal point, others in shortest round-trip form."""
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


# --------------------------------------------------------------------------------------------- AST


class Node:
    """Base of all AST nodes. Nodes are immutable; equality and hashing use the canonical form."""

    __slots__ = ()
    _key: str
    depth: int
    pos: int

    def __str__(self) -> str:
        return self._key

    @property
    def key(self) -> str:
        """The canonical form (same as ``str(node)``)."""
        return self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def children(self) -> tuple[Node, ...]:
        """Direct sub-expressions, left to right."""
        return ()

    def walk(self) -> Iterator[Node]:
        """All nodes of the tree, pre-order (iterative; no recursion limit issues)."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children()))

    def _finish(self, key: str, kids: tuple[Node, ...]) -> None:
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "depth", 1 + max((k.depth for k in kids), default=0))


@dataclass(frozen=True, eq=False)
class Num(Node):
    """A numeric literal (float)."""

    value: float
    pos: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        self._finish(format_number(self.value), ())


@dataclass(frozen=True, eq=False)
class Var(Node):
    """A data identifier: ``close``, ``adv20``, ``index_close``, ``indclass.industry`` … (lower case)."""

    name: str
    pos: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        self._finish(self.name, ())

    @property
    def is_indclass(self) -> bool:
        return self.name.startswith("indclass.")


@dataclass(frozen=True, eq=False)
class Call(Node):
    """A function call with a canonical (lower-case, de-aliased) name."""

    name: str
    args: tuple[Node, ...]
    pos: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        self._finish(f"{self.name}({', '.join(a._key for a in self.args)})", self.args)

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(frozen=True, eq=False)
class BinOp(Node):
    """A binary operator: ``+ - * / ^ < <= > >= == != && ||``."""

    op: str
    left: Node
    right: Node
    pos: int = field(default=-1, repr=False)

    OPS: ClassVar[frozenset[str]] = frozenset(
        {"+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=", "&&", "||"}
    )

    def __post_init__(self) -> None:
        left = self.left._key
        if self.op == "^" and isinstance(self.left, Num) and self.left.value < 0:
            left = f"({left})"  # "(-1) ^ x", not "-1 ^ x" which reads as -(1 ^ x)
        self._finish(f"({left} {self.op} {self.right._key})", (self.left, self.right))

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class UnaryOp(Node):
    """Unary minus applied to a non-literal expression."""

    op: str
    operand: Node
    pos: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        self._finish(f"({self.op}{self.operand._key})", (self.operand,))

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Ternary(Node):
    """``cond ? then : other`` — elementwise select, NaN where ``cond`` is NaN."""

    cond: Node
    then: Node
    other: Node
    pos: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        self._finish(
            f"({self.cond._key} ? {self.then._key} : {self.other._key})", (self.cond, self.then, self.other)
        )

    def children(self) -> tuple[Node, ...]:
        return (self.cond, self.then, self.other)


# ------------------------------------------------------------------------------------------- lexer


@dataclass(frozen=True)
class _Tok:
    kind: str  # NUM IDENT OP EOF
    text: str
    pos: int


_NUM_RE = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPS2 = ("<=", ">=", "==", "!=", "&&", "||")
_OPS1 = "+-*/^<>?:(),"
_HINTS = {
    "=": "use '==' for equality",
    "&": "use '&&' for logical and",
    "|": "use '||' for logical or",
    "!": "negation is not supported; compare with 0 instead (x == 0)",
    "[": "use parentheses ( ) for grouping",
    "]": "use parentheses ( ) for grouping",
    "{": "use parentheses ( ) for grouping",
    "}": "use parentheses ( ) for grouping",
}


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        m = _NUM_RE.match(text, i)
        if m and (ch.isascii() and (ch.isdigit() or ch == ".")):
            end = m.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                # "2x" or "1e": a number glued to letters
                tail = _IDENT_RE.match(text, end)
                bad = text[i: tail.end() if tail else end + 1]
                raise ParseError("malformed number", formula=text, position=i, token=bad,
                                 fix="separate numbers from names with an operator, e.g. 2 * x")
            toks.append(_Tok("NUM", m.group(), i))
            i = end
            continue
        m = _IDENT_RE.match(text, i)
        if m:
            toks.append(_Tok("IDENT", m.group(), i))
            i = m.end()
            continue
        two = text[i: i + 2]
        if two in _OPS2:
            toks.append(_Tok("OP", two, i))
            i += 2
            continue
        if ch in _OPS1:
            toks.append(_Tok("OP", ch, i))
            i += 1
            continue
        raise ParseError(f"unexpected character {ch!r}", formula=text, position=i, token=ch,
                         fix=_HINTS.get(ch, "remove it; see `lasps alpha list` for the notation"))
    toks.append(_Tok("EOF", "<end>", n))
    return toks


# ------------------------------------------------------------------------------------------ parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _lex(text)
        self.i = 0
        self.nesting = 0

    # -- helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def _error(self, message: str, tok: _Tok | None = None, fix: str | None = None) -> ParseError:
        t = tok or self.tok
        return ParseError(message, formula=self.text, position=t.pos, token=t.text, fix=fix)

    def _error_at(self, message: str, node: Node, fix: str | None = None) -> ParseError:
        pos = max(node.pos, 0)
        return ParseError(message, formula=self.text, position=pos, token=str(node)[:40], fix=fix)

    def _accept(self, *ops: str) -> _Tok | None:
        t = self.tok
        if t.kind == "OP" and t.text in ops:
            self.i += 1
            return t
        return None

    def _expect(self, op: str, context: str) -> _Tok:
        t = self._accept(op)
        if t is None:
            found = "end of formula" if self.tok.kind == "EOF" else repr(self.tok.text)
            raise self._error(f"expected {op!r} {context}, found {found}")
        return t

    def _check(self, node: Node, tok: _Tok) -> Node:
        if node.depth > MAX_DEPTH:
            raise self._error(f"formula nested deeper than {MAX_DEPTH} levels", tok,
                              fix="split it into simpler formulas")
        return node

    def _enter(self, tok: _Tok) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self._error(f"formula nested deeper than {MAX_DEPTH} levels", tok,
                              fix="split it into simpler formulas")

    # -- grammar
    def parse(self) -> Node:
        if self.tok.kind == "EOF":
            raise self._error("empty formula", fix="write an expression such as rank(close)")
        node = self._expr()
        if self.tok.kind != "EOF":
            t = self.tok
            raise self._error(f"unexpected {t.text!r} after a complete expression",
                              fix="check for a missing operator or an extra closing parenthesis")
        self._no_indclass(node, top=True)
        return node

    def _expr(self) -> Node:
        start = self.tok
        self._enter(start)
        cond = self._binary(1)
        q = self._accept("?")
        if q is not None:
            then = self._expr()
            self._expect(":", "in a ternary 'cond ? a : b'")
            other = self._expr()
            cond = self._check(Ternary(cond, then, other, pos=q.pos), q)
        self.nesting -= 1
        return cond

    #: Binary operators by precedence level (higher binds tighter); all left-associative.
    _LEVEL: ClassVar[dict[str, int]] = {
        "||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
        "+": 5, "-": 5, "*": 6, "/": 6,
    }

    def _binary(self, min_level: int) -> Node:
        """Precedence climbing: one Python frame per precedence step, not per grammar level."""
        left = self._unary()
        while True:
            t = self.tok
            level = self._LEVEL.get(t.text, 0) if t.kind == "OP" else 0
            if level < min_level or level == 0:
                return left
            self.i += 1
            right = self._binary(level + 1)
            left = self._check(BinOp(t.text, left, right, pos=t.pos), t)

    def _unary(self) -> Node:
        t = self._accept("-", "+")
        if t is None:
            return self._power()
        self._enter(t)
        operand = self._unary()
        self.nesting -= 1
        if t.text == "+":
            return operand
        if isinstance(operand, Num):
            return Num(-operand.value, pos=t.pos)
        return self._check(UnaryOp("-", operand, pos=t.pos), t)

    def _power(self) -> Node:
        base = self._primary()
        t = self._accept("^")
        if t is None:
            return base
        self._enter(t)
        exponent = self._unary()
        self.nesting -= 1
        return self._check(BinOp("^", base, exponent, pos=t.pos), t)

    def _primary(self) -> Node:
        t = self.tok
        if t.kind == "NUM":
            self.i += 1
            value = float(t.text)
            if not math.isfinite(value):
                raise self._error("number out of range", t)
            return Num(value, pos=t.pos)
        if t.kind == "IDENT":
            self.i += 1
            if self.tok.kind == "OP" and self.tok.text == "(":
                return self._call(t)
            return self._variable(t)
        if t.kind == "OP" and t.text == "(":
            self.i += 1
            node = self._expr()
            self._expect(")", "to close the parenthesis opened at column " + str(t.pos + 1))
            return node
        if t.kind == "EOF":
            raise self._error("unexpected end of formula", fix="complete the expression")
        raise self._error(f"unexpected {t.text!r}", fix="expected a number, a name or '('")

    def _variable(self, t: _Tok) -> Node:
        name = t.text.lower()
        if name in BASE_VARIABLES:
            return Var(name, pos=t.pos)
        m = _ADV_RE.fullmatch(name)
        if m:
            d = int(m.group(1))
            if d < 1 or d > 100_000:
                raise self._error(f"adv window must be between 1 and 100000, got {d}", t)
            return Var(f"adv{d}", pos=t.pos)
        if name.startswith("indclass."):
            level = name.split(".", 1)[1]
            if level not in INDCLASS_LEVELS:
                raise self._error(f"unknown classification level {level!r}", t,
                                  fix="use IndClass.sector, IndClass.industry or IndClass.subindustry")
            return Var(name, pos=t.pos)
        if name in _ALIASES or name in FUNCTIONS:
            raise self._error(f"function {t.text!r} used without arguments", t,
                              fix=f"call it, e.g. {t.text}(close, 5)")
        raise self._error(f"unknown name {t.text!r}", t,
                          fix="data names: open high low close volume value vwap returns cap adv{d} "
                              "index_close index_returns IndClass.sector|industry|subindustry")

    def _call(self, name_tok: _Tok) -> Node:
        self._expect("(", "after a function name")
        args: list[Node] = []
        if not self._accept(")"):
            while True:
                args.append(self._expr())
                if self._accept(")"):
                    break
                if not self._accept(","):
                    found = "end of formula" if self.tok.kind == "EOF" else repr(self.tok.text)
                    raise self._error(f"expected ',' or ')' in the arguments of {name_tok.text}, found {found}")
        return self._check(self._make_call(name_tok, tuple(args)), name_tok)

    def _make_call(self, t: _Tok, args: tuple[Node, ...]) -> Node:
        raw = t.text.lower()
        if raw not in _ALIASES:
            raise self._error(f"unknown function {t.text!r}", t,
                              fix="known functions: " + ", ".join(sorted(FUNCTIONS)))
        name = _ALIASES[raw]
        if name == "^":
            self._arity(t, args, 2, 2)
            return BinOp("^", args[0], args[1], pos=t.pos)
        if name == "?":
            self._arity(t, args, 3, 3)
            return Ternary(args[0], args[1], args[2], pos=t.pos)
        if name in ("min", "max"):
            self._arity(t, args, 2, 2)
            if isinstance(args[1], Num):  # the paper's overload: min(x, d) = ts_min(x, d)
                name = "ts_" + name
        sig = FUNCTIONS[name]
        self._arity(t, args, sig.required, len(sig.kinds))
        for kind, arg in zip(sig.kinds, args, strict=False):
            if kind in (_W, _P) and not isinstance(arg, Num):
                what = "a window" if kind == _W else "a parameter"
                raise self._error_at(f"argument of {t.text} must be {what} (a number), got {arg}", arg)
            if kind == _W and isinstance(arg, Num) and not (arg.value > 0 and math.isfinite(arg.value)):
                raise self._error_at(f"window of {t.text} must be a positive number of rows, got {arg}", arg,
                                     fix="use a window >= 1 (fractions are floored; below 1 becomes 1)")
            if kind == _G and not (isinstance(arg, Var) and arg.is_indclass):
                raise self._error_at(f"second argument of {t.text} must be IndClass.<level>, got {arg}", arg,
                                     fix="e.g. IndNeutralize(x, IndClass.industry)")
        return Call(name, args, pos=t.pos)

    def _arity(self, t: _Tok, args: tuple[Node, ...], lo: int, hi: int) -> None:
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self._error(f"{t.text} takes {want} argument(s), got {len(args)}", t)

    def _no_indclass(self, root: Node, *, top: bool) -> None:
        """``IndClass.*`` may only appear as the group argument of ``indneutralize``."""
        allowed: set[int] = set()
        for node in root.walk():
            if isinstance(node, Call) and node.name == "indneutralize":
                allowed.add(id(node.args[1]))
        for node in root.walk():
            if isinstance(node, Var) and node.is_indclass and id(node) not in allowed:
                raise self._error_at(f"{node} can only be the second argument of IndNeutralize", node)


def parse(text: str) -> Node:
    """Parse a formula into its canonical AST.

    Parameters
    ----------
    text:
        Formula in the paper's notation (case-insensitive function names).

    Returns
    -------
    Node
        The root; ``str(node)`` is the canonical form.

    Raises
    ------
    ParseError
        For any text that is not a valid formula (and never anything else).
    """
    if not isinstance(text, str):
        raise ParseError("formula must be text", formula=repr(text), position=0, token=repr(text)[:20])
    if len(text) > MAX_LENGTH:
        raise ParseError(f"formula longer than {MAX_LENGTH} characters", formula=text[:200],
                         position=0, token=text[:10])
    try:
        return _Parser(text).parse()
    except RecursionError:  # pragma: no cover - guarded by MAX_DEPTH; kept as a last line of defence
        raise ParseError("formula nested too deeply", formula=text, position=0, token=text[:10]) from None


def variables(node: Node) -> frozenset[str]:
    """Data identifiers used by ``node`` (``close``, ``adv20``, ``indclass.industry`` …)."""
    return frozenset(n.name for n in node.walk() if isinstance(n, Var))
