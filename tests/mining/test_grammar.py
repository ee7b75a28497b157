"""The typed grammar: dimension rules, bounds, canonical dedup, and that variation stays well-typed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lasps.alpha.parser import parse
from lasps.errors import ConfigError
from lasps.research.mining.grammar import (
    DEFAULT_OPERATORS,
    OPERATORS,
    TERMINALS,
    Grammar,
    parse_operators,
    size,
)


@pytest.fixture
def g() -> Grammar:
    return Grammar(DEFAULT_OPERATORS, tuple(TERMINALS), max_depth=5, max_window=20, max_lookback=60)


@pytest.mark.parametrize(("formula", "expected"), [
    ("close", "price"), ("volume", "volume"), ("returns", "ratio"), ("adv20", "volume"),
    ("close / delay(close, 5)", "ratio"), ("rank(close)", "unit"), ("correlation(close, volume, 10)", "unit"),
    ("stddev(returns, 20)", "ratio"), ("delta(close, 3)", "price"), ("close * returns", "price"),
    ("rank(close) * rank(volume)", "unit"), ("returns * rank(close)", "ratio"), ("close > vwap", "bool"),
    ("(close > vwap) ? returns : delay(returns, 1)", "ratio"), ("-1 * stddev(returns, 20)", "ratio"),
    ("ts_rank(volume, 10)", "unit"), ("sign(delta(close, 1))", "unit"),
    # ill-typed: no dimension arithmetic across kinds
    ("close + volume", None), ("close * volume", None), ("close / delay(volume, 1)", None),
    ("close / rank(close)", None), ("close - returns", None), ("(close > volume) ? returns : returns", None),
    ("returns ? close : open", None), ("close / close", None), ("correlation(close, close, 10)", None),
    # bounds: window off the ladder / above max_window, value/cap are not search inputs
    ("delay(close, 7)", None), ("ts_mean(close, 40)", None), ("correlation(close, volume, 2)", None),
    ("value / volume", None), ("cap / delay(cap, 1)", None),
])
def test_types(g: Grammar, formula: str, expected: str | None) -> None:
    assert g.type_of(parse(formula)) == expected


def test_signals_are_ratios_or_units_within_bounds(g: Grammar) -> None:
    assert g.admissible(parse("-1 * stddev(returns, 20)"))
    assert not g.admissible(parse("close"))  # a price level is not a signal
    assert not g.admissible(parse("close + volume"))
    deep = parse("rank(rank(rank(rank(rank(returns)))))")  # depth 6 > 5
    assert deep.depth == 6 and not g.admissible(deep)
    long = parse("ts_mean(ts_mean(ts_mean(ts_mean(returns, 20), 20), 20), 20)")  # lookback 77 > 60
    assert not g.admissible(long)


def test_canonical_form_dedups_semantic_twins(g: Grammar) -> None:
    k = lambda f: g.canonical(parse(f)).key  # noqa: E731
    assert k("rank(returns + delay(returns, 1))") == k("delay(returns, 1) + returns")
    assert k("-1 * correlation(volume, close, 10)") == k("correlation(close, volume, 10)")
    assert k("rank(rank(close / open))") == k("close / open")
    assert k("rank(volume)") == "rank(volume)"  # the rank of a non-signal stays (it makes it a signal)
    assert k("returns - delay(returns, 1)") != k("delay(returns, 1) - returns")  # not commutative


def test_random_trees_and_their_offspring_are_admissible_formulas(g: Grammar) -> None:
    rng = np.random.default_rng(5)
    made = [t for t in (g.random_signal(rng) for _ in range(400)) if t is not None]
    assert len(made) > 300
    for t in made:
        assert g.admissible(t) and parse(str(t)) == t
    tried = ok = 0
    for a, b in itertools.pairwise(made):
        for child in (g.crossover(rng, a, b), g.mutate(rng, a)):
            if child is None:
                continue
            tried += 1
            # a typed replacement keeps the root type; rejects are depth/lookback or identical operands
            ok += g.admissible(g.canonical(child))
    assert tried > 400 and ok > 0.6 * tried


def test_operator_restriction_is_respected() -> None:
    ops = parse_operators("rank, delta, /")
    assert ops == ("delta", "rank", "div")
    g = Grammar(ops, tuple(TERMINALS), 4, 10, 30)
    rng = np.random.default_rng(0)
    for _ in range(200):
        t = g.random_signal(rng)
        if t is None:
            continue
        names = {n.name for n in t.walk() if hasattr(n, "name") and hasattr(n, "args")}
        assert names <= {"delta", "rank"}
        assert all(getattr(n, "op", "/") == "/" for n in t.walk() if type(n).__name__ == "BinOp")
    assert size(parse("rank(delta(close, 5))")) == 3


def test_bad_bounds_and_operators_are_config_errors() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_operators("rank,ts_magic")
    assert exc.value.where == "--operators" and "ts_magic" in exc.value.what and "rank" in exc.value.fix
    with pytest.raises(ConfigError) as exc:
        Grammar(DEFAULT_OPERATORS, tuple(TERMINALS), max_depth=1, max_window=20, max_lookback=60)
    assert exc.value.where == "--max-depth"
    with pytest.raises(ConfigError) as exc:
        Grammar(DEFAULT_OPERATORS, tuple(TERMINALS), max_depth=4, max_window=1, max_lookback=60)
    assert exc.value.where == "--max-window"
    assert "indneutralize" in OPERATORS and "indneutralize" not in DEFAULT_OPERATORS
