"""Formula parser: grammar, precedence, canonical forms, aliases, error positions, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lasps.alpha.parser import (
    MAX_DEPTH,
    BinOp,
    Call,
    Num,
    ParseError,
    Ternary,
    UnaryOp,
    Var,
    format_number,
    parse,
    variables,
)
from lasps.errors import LaspsError

# ----------------------------------------------------------------------------------------- basics


def test_numbers_identifiers_and_calls() -> None:
    node = parse("rank(close)")
    assert node == Call("rank", (Var("close"),))
    assert parse("0.0001") == Num(0.0001)
    assert parse("1e-3") == Num(0.001)
    assert parse(".001") == Num(0.001)
    assert parse("2.") == Num(2.0)
    assert parse("adv180") == Var("adv180")
    assert parse("IndNeutralize(vwap, IndClass.Industry)") == Call(
        "indneutralize", (Var("vwap"), Var("indclass.industry"))
    )


def test_precedence_and_associativity() -> None:
    assert str(parse("1 + 2 * 3")) == "(1 + (2 * 3))"
    assert str(parse("close - open - low")) == "((close - open) - low)"
    assert str(parse("close / open / low")) == "((close / open) / low)"
    # power binds tighter than unary minus and is right-associative
    assert str(parse("-close ^ 2")) == "(-(close ^ 2))"
    assert str(parse("close ^ open ^ low")) == "(close ^ (open ^ low))"
    assert str(parse("close ^ -1")) == "(close ^ -1)"
    # comparisons below arithmetic, equality below relational, && below ==, || lowest binary
    assert str(parse("close < open + 1 == 1")) == "((close < (open + 1)) == 1)"
    assert str(parse("close < 1 || open > 2 && low == 3")) == "((close < 1) || ((open > 2) && (low == 3)))"
    # ternary is lowest and right-associative
    assert str(parse("close < 0 ? 1 : open < 0 ? 2 : 3")) == "((close < 0) ? 1 : ((open < 0) ? 2 : 3))"
    assert isinstance(parse("close > 0 ? close : -close"), Ternary)


def test_caret_is_power_never_xor() -> None:
    node = parse("(high * low)^0.5")
    assert isinstance(node, BinOp) and node.op == "^"
    assert node.right == Num(0.5)


def test_unary_minus_folds_into_literals_only() -> None:
    assert parse("-1") == Num(-1.0)
    assert parse("-(2)") == Num(-2.0)
    assert isinstance(parse("-close"), UnaryOp)
    assert parse("+close") == Var("close")
    assert str(parse("- -close")) == "(-(-close))"


# ------------------------------------------------------------------------------------- canonical


def test_case_insensitive_names_and_aliases() -> None:
    assert parse("Ts_Rank(close, 10)") == parse("ts_rank(close, 10)")
    assert parse("SignedPower(close, 2)") == parse("signedpower(close, 2.0)")
    assert parse("sum(close, 5)") == Call("ts_sum", (Var("close"), Num(5)))
    assert parse("Sum(close, 5)") == parse("ts_sum(close, 5)")
    assert parse("corr(close, volume, 5)") == parse("correlation(close, volume, 5)")
    assert parse("cov(close, volume, 5)") == parse("covariance(close, volume, 5)")
    assert parse("sma(close, 5)") == parse("ts_mean(close, 5)")
    assert parse("power(close, 2)") == parse("close ^ 2")
    assert parse("where(close > 0, 1, 2)") == parse("close > 0 ? 1 : 2")
    assert parse("Log(close)") == Call("log", (Var("close"),))
    assert parse("CLOSE") == Var("close")


def test_min_max_overload() -> None:
    # min(x, number) is ts_min, max(x, number) is ts_max (the paper's overload, e.g. alpha 29)
    assert parse("min(close, 5)") == parse("ts_min(close, 5)")
    assert parse("max(close, 5.9)") == Call("ts_max", (Var("close"), Num(5.9)))
    # two series: elementwise
    assert parse("min(close, open)") == Call("min", (Var("close"), Var("open")))
    assert parse("max(rank(close), ts_rank(open, 3))").name == "max"  # type: ignore[attr-defined]


def test_numbers_normalised() -> None:
    assert format_number(2.0) == "2"
    assert format_number(0.0001) == "0.0001"
    assert format_number(1e-3) == "0.001"
    assert format_number(-0.0) == "0"
    assert str(parse("2.00")) == "2"
    assert parse("1e-3") == parse("0.001") == parse(".001")
    assert parse("close * 2.") == parse("close*2")


def test_identical_subexpressions_compare_and_hash_equal() -> None:
    a = parse("(rank(Ts_Rank(close, 10)) * rank(delta(close, 1)))")
    b = parse("rank(ts_rank(CLOSE, 10.0)) * Rank(Delta(close, 1))")
    assert a == b and hash(a) == hash(b)
    assert isinstance(a, BinOp)
    assert a.left == parse("rank(ts_rank(close, 10))")
    assert len({a, b, a.left, b.left}) == 2


def test_canonical_round_trip_on_examples() -> None:
    for text in ["(rank(Ts_ArgMax(SignedPower(((returns < 0) ? stddev(returns, 20) : close), 2.), 5)) - 0.5)",
                 "((close - open) / ((high - low) + .001))",
                 "-1 * close ^ -0.5 + min(close, 3) - max(open, low) <= 1 != 0 && 1 || 0"]:
        node = parse(text)
        assert parse(str(node)) == node


def test_variables() -> None:
    assert variables(parse("rank(adv20 / volume) + IndNeutralize(vwap, IndClass.sector)")) == {
        "adv20", "volume", "vwap", "indclass.sector"
    }


def test_depth_and_walk() -> None:
    node = parse("rank(rank(close)) + 1")
    assert node.depth == 4
    assert [type(n).__name__ for n in node.walk()] == ["BinOp", "Call", "Call", "Var", "Num"]


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "column", "token"),
    [
        ("rank(close))", 12, ")"),
        ("rank(close", 11, "<end>"),
        ("close + ", 9, "<end>"),
        ("close $ open", 7, "$"),
        ("clsoe + 1", 1, "clsoe"),
        ("rank(close, 5)", 1, "rank"),
        ("ts_rank(close)", 1, "ts_rank"),
        ("foo(close)", 1, "foo"),
        ("close = open", 7, "="),
        ("close & open", 7, "&"),
        ("close ? 1", 10, "<end>"),
        ("2x + 1", 1, "2x"),
        ("", 1, "<end>"),
        ("adv0", 1, "adv0"),
        ("IndClass.country", 1, "IndClass.country"),
        ("rank", 1, "rank"),
    ],
)
def test_errors_name_column_and_token(text: str, column: int, token: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, LaspsError) and err.exit_code == 2
    assert err.column == column
    assert err.token == token
    rendered = err.render()
    assert f"column {column}" in rendered
    # the formula is shown on its own line with a caret under the offending column
    lines = rendered.splitlines()
    caret = next(line for line in lines if line.strip() == "^")
    assert lines[lines.index(caret) - 1] == " " * 6 + text
    assert caret == " " * 6 + " " * (column - 1) + "^"


def test_window_must_be_positive_and_fractions_stay_windows() -> None:
    for bad in ("ts_rank(close, -3)", "delay(close, 0)", "correlation(open, volume, -0.5)"):
        with pytest.raises(ParseError, match="must be a positive number of rows"):
            parse(bad)
    assert str(parse("delay(close, 0.5)")) == "delay(close, 0.5)"  # below 1 becomes 1 when compiled


def test_window_must_be_a_number_and_indclass_only_in_indneutralize() -> None:
    with pytest.raises(ParseError, match="window"):
        parse("ts_rank(close, volume)")
    with pytest.raises(ParseError, match="IndClass"):
        parse("IndNeutralize(close, volume)")
    with pytest.raises(ParseError, match="second argument of IndNeutralize"):
        parse("rank(IndClass.sector)")
    with pytest.raises(ParseError, match="takes 2 argument"):
        parse("min(close)")


def test_errors_on_huge_numbers_and_deep_nesting() -> None:
    with pytest.raises(ParseError, match="out of range"):
        parse("1e999")
    with pytest.raises(ParseError, match="nested deeper"):
        parse("(" * (MAX_DEPTH + 5) + "close" + ")" * (MAX_DEPTH + 5))
    with pytest.raises(ParseError, match="nested deeper"):
        parse(" + ".join(["close"] * (MAX_DEPTH + 5)))
    with pytest.raises(ParseError, match="nested deeper"):
        parse("-" * (MAX_DEPTH + 5) + "close")
    assert parse("rank(" * 40 + "close" + ")" * 40).depth == 41


# ----------------------------------------------------------------------------------------- fuzzing

_ALPHABET = "()+-*/^<>=!&|?:,. 0123456789eE" + "abcdefghijklmnopqrstuvwxyzRTSIC_" + "\t\n#$[]{}\\'\"~`@%;ü가"
_TOKENS = ["rank(", "ts_rank(", "min(", "max(", "sum(", "IndNeutralize(", "IndClass.sector", "close", "open",
           "volume", "adv20", "vwap", "returns", "(", ")", ",", "+", "-", "*", "/", "^", "<", "<=", ">", "==",
           "!=", "&&", "||", "?", ":", "1", "0.5", "2.", "1e-3", ".5", " ", "5", "-1"]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=80))
def test_fuzz_arbitrary_text_only_raises_parse_error(text: str) -> None:
    try:
        node = parse(text)
    except ParseError:
        return
    assert parse(str(node)) == node


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), max_size=40))
def test_fuzz_token_soup_only_raises_parse_error(tokens: list[str]) -> None:
    text = "".join(tokens)
    try:
        node = parse(text)
    except ParseError:
        return
    # whatever parses has a canonical form that parses to the same tree
    assert parse(str(node)) == node
    assert hash(parse(str(node))) == hash(node)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_any_unicode_only_raises_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse(text)


_leaf = st.one_of(
    st.sampled_from(["close", "open", "volume", "adv20", "returns", "vwap"]).map(Var),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: Num(round(v, 6))),
)


def _trees(children: st.SearchStrategy) -> st.SearchStrategy:
    windows = st.integers(1, 30).map(Num)
    return st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/", "^", "<", "==", "&&", "||"]), children, children)
        .map(lambda t: BinOp(*t)),
        children.filter(lambda c: not isinstance(c, Num)).map(lambda c: UnaryOp("-", c)),
        st.tuples(children, children, children).map(lambda t: Ternary(*t)),
        st.tuples(st.sampled_from(["rank", "abs", "log", "sign"]), children).map(lambda t: Call(t[0], (t[1],))),
        st.tuples(st.sampled_from(["ts_rank", "delay", "ts_sum", "decay_linear"]), children, windows)
        .map(lambda t: Call(t[0], (t[1], t[2]))),
        st.tuples(children, children, windows).map(lambda t: Call("correlation", t)),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_leaf, _trees, max_leaves=12))
def test_canonical_form_round_trips(tree) -> None:  # type: ignore[no-untyped-def]
    assert parse(str(tree)) == tree
