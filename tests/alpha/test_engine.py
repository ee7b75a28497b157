"""Alpha engine: compiled DAG == reference interpreter for every alpha, CSE, eviction, no look-ahead,
unavailable inputs, warm-up lookback, alpha 205 ties.

Panels are (T, N): rows = dates (oldest first), columns = codes.

About exact equality with the reference. ``REFERENCE_OPS`` and ``FAST_OPS`` are independent
implementations; their results differ in the last bits (e.g. a correlation over 2 days is exactly ±1
in one and 0.9999999999999999 in the other; a sum of ranks computed as 0.5 * (i + e + 2) / m vs
(less + 0.5 * (same + 1)) / m). Order-sensitive operators — rank, ts_rank, ts_argmax/argmin, sign and
comparisons — turn such last-bit differences between *mathematically tied* values into different
outputs (0.5/m and more after further ops). The equivalence test therefore wraps those operators, in
both registries identically, so that their inputs are first rounded to 9 significant digits (and
|x| < 1e-11 to 0): last-bit noise can no longer break ties, everything else — the DAG, CSE, lowering,
in-place evaluation, windows, NaN handling — is compared at rtol 1e-9. Alphas that use none of those
operators are compared with the plain, unwrapped engine as well.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from lasps.alpha.catalogue import AlphaSpec, UnknownAlphaError, get_catalogue
from lasps.alpha.conventions import Conventions
from lasps.alpha.engine import (
    alpha_lookback,
    alpha_unavailable_reason,
    compile_alphas,
    compute,
    interpret,
)
from lasps.alpha.operators import FAST_OPS
from lasps.alpha.parser import Call, parse
from lasps.alpha.reference_ops import REFERENCE_OPS
from lasps.data.panel import Panel
from lasps.errors import UnavailableError

from .synthetic_panel import make_panel, perturb_after

CATALOGUE = get_catalogue()
NAMES = list(CATALOGUE)
ORDER_SENSITIVE_1 = ("rank", "ts_rank", "ts_argmax", "ts_argmin", "sign")
ORDER_SENSITIVE_2 = ("lt", "le", "gt", "ge", "eq", "ne")


def snap(x: Any, digits: int = 9) -> Any:
    """Round to ``digits`` significant digits; |x| < 1e-11 becomes 0 (see the module docstring)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return x
    out = a.copy()
    ok = np.isfinite(a) & (a != 0)
    v = a[ok]
    q = 10.0 ** (digits - np.floor(np.log10(np.abs(v))))
    out[ok] = np.round(v * q) / q
    out[np.abs(out) < 1e-11] = 0.0
    return out


def tie_safe(ops: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    wrapped = dict(ops)
    for name in ORDER_SENSITIVE_1:
        f = ops[name]
        wrapped[name] = lambda x, *a, _f=f, **kw: _f(snap(x), *a, **kw)
    for name in ORDER_SENSITIVE_2:
        f = ops[name]
        wrapped[name] = lambda x, y, _f=f, **kw: _f(snap(x), snap(y), **kw)
    return wrapped


def order_sensitive(spec: AlphaSpec) -> bool:
    names = {"rank", "ts_rank", "ts_argmax", "ts_argmin", "sign", "min", "max"}
    return any((isinstance(n, Call) and n.name in names) or getattr(n, "op", "") in
               {"<", "<=", ">", ">=", "==", "!=", "&&", "||"} or type(n).__name__ == "Ternary"
               for n in spec.ast.walk())


def same(a: np.ndarray, b: np.ndarray, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def panel() -> Panel:
    return make_panel(T=270, N=16, seed=3)


@pytest.fixture(scope="module")
def engine_tie_safe(panel: Panel):  # type: ignore[no-untyped-def]
    return compute(panel, NAMES, ops=tie_safe(FAST_OPS))


@pytest.fixture(scope="module")
def engine_plain(panel: Panel):  # type: ignore[no-untyped-def]
    return compute(panel, NAMES)


# ------------------------------------------------------------------------- (a) engine == reference


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_engine_equals_reference_interpreter(name: str, panel: Panel, engine_tie_safe, engine_plain) -> None:  # type: ignore[no-untyped-def]
    spec = CATALOGUE[name]
    ref = interpret(panel, spec, ops=tie_safe(REFERENCE_OPS))
    got = engine_tie_safe[name]
    assert got.shape == panel.shape and got.dtype == np.float64
    assert np.isfinite(got).any(), f"{name} is NaN everywhere: the comparison would be vacuous"
    assert same(got, ref), f"{name}: {np.sum(~np.isclose(got, ref, rtol=1e-9, equal_nan=True))} cells differ"
    if not order_sensitive(spec):  # nothing to break ties in: the unwrapped engine must match too
        assert same(engine_plain[name], ref)


def test_plain_engine_matches_reference_for_some_alphas(panel: Panel, engine_plain) -> None:  # type: ignore[no-untyped-def]
    plain = [n for n in NAMES if not order_sensitive(CATALOGUE[n])]
    assert len(plain) >= 5
    for name in plain[:3]:
        assert same(engine_plain[name], interpret(panel, CATALOGUE[name]))


def test_results_are_finite_or_nan_even_on_degenerate_data() -> None:
    p = make_panel(T=120, N=12, seed=5)
    f = p.fields
    f["high"][40:45, :3] = f["low"][40:45, :3] = f["open"][40:45, :3] = f["close"][40:45, :3]
    f["volume"][50:60, 3:6] = 0.0
    f["value"][50:60, 3:6] = 0.0
    f["close"][70:75, 6] = f["close"][69, 6]  # flat price: zero-variance windows
    p = Panel(dates=p.dates, codes=p.codes, fields=f, industry=p.industry, index=p.index)
    res = compute(p, NAMES)
    for name in NAMES:
        assert not np.isinf(res[name]).any(), name


# --------------------------------------------------------------------------------------- (b) CSE


class Counting:
    """An ops registry that counts calls per (operator, window) and keeps weak refs to outputs."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, Any]] = Counter()
        self.outputs: list[weakref.ref] = []  # type: ignore[type-arg]
        self.ops = {name: self._wrap(name, f) for name, f in FAST_OPS.items()}

    def _wrap(self, name: str, f: Callable[..., Any]) -> Callable[..., Any]:
        def op(*args: Any, **kw: Any) -> Any:
            window = next((a for a in args[1:] if isinstance(a, int)), None)
            self.calls[(name, window)] += 1
            out = f(*args, **kw)
            self.outputs.append(weakref.ref(out))
            return out

        return op


def test_shared_subexpressions_are_computed_once(panel: Panel) -> None:
    # alphas 9 and 10 use delta(close, 1) four times each; ts_min/ts_max over 5 (#9) and 4 (#10)
    counting = Counting()
    res = compute(panel, [9, 10], ops=counting.ops)
    assert counting.calls[("delta", 1)] == 1
    assert counting.calls[("ts_min", 5)] == counting.calls[("ts_min", 4)] == 1
    assert counting.calls[("ts_max", 5)] == counting.calls[("ts_max", 4)] == 1
    assert counting.calls[("rank", None)] == 1
    assert same(res["alpha_009"], compute(panel, [9])["alpha_009"])


def test_evaluations_equal_distinct_nodes_and_fewer_than_separately(panel: Panel) -> None:
    ids = list(range(1, 102))
    counting = Counting()
    program = compile_alphas(ids, panel)
    results = dict(program.run(panel, counting.ops))
    def n_ops(p) -> int:  # type: ignore[no-untyped-def]
        return sum(1 for n in p.nodes if n.op not in ("input", "const"))

    total = sum(counting.calls.values())
    assert total == program.evaluations == n_ops(program)
    separate = sum(n_ops(compile_alphas([i], panel)) for i in ids)
    assert total < 0.9 * separate  # ~880 shared nodes instead of ~1,080
    assert len(results) == 101


def test_canonical_equivalents_share_one_node(panel: Panel) -> None:
    specs = [AlphaSpec.build(f"u{i}", f, id=None, kind="user") for i, f in enumerate([
        "rank(adv20)", "rank(sum(volume, 20) / 20)", "rank(ts_mean(volume, 20))", "rank(sma(volume, 20.7))",
        "Rank(ADV20)",
    ])]
    program = compile_alphas(specs, panel)
    assert len({program.roots[s.name] for s in specs}) == 1  # one node for all five
    assert sum(1 for n in program.nodes if n.op == "ts_sum") == 1
    res = compute(panel, specs)
    for s in specs[1:]:
        assert np.array_equal(res[s.name], res["u0"], equal_nan=True)
        assert res[s.name] is not res["u0"]  # each caller gets its own array


def test_rank_of_rank_is_rank(panel: Panel) -> None:
    res = compute(panel, [AlphaSpec.build("rr", "rank(rank(rank(close)))", id=None, kind="user"),
                          AlphaSpec.build("r", "rank(close)", id=None, kind="user")])
    assert np.array_equal(res["rr"], res["r"], equal_nan=True)
    # the simplification is exact for the kernel itself (same order and ties -> same values) ...
    rank = FAST_OPS["rank"]
    close = panel.field("close")
    assert np.array_equal(rank(rank(rank(close))), rank(close), equal_nan=True)
    # ... and agrees with the reference walking all three ranks
    assert same(res["rr"], interpret(panel, "rank(rank(rank(close)))"))


def test_intermediates_are_freed_after_their_last_consumer(panel: Panel) -> None:
    counting = Counting()
    program = compile_alphas(list(range(1, 102)), panel)
    kept = []
    for _name, arr in program.run(panel, counting.ops):
        kept.append(arr)
        alive = [r for r in counting.outputs if r() is not None and not any(r() is k for k in kept)]
        assert len(alive) <= program.peak_live
    assert program.peak_live < len(program.nodes) / 10
    alive = [r for r in counting.outputs if r() is not None and not any(r() is k for k in kept)]
    assert alive == []  # nothing but the results survives the run


def test_joint_compute_equals_single_alpha_compute(panel: Panel, engine_plain) -> None:  # type: ignore[no-untyped-def]
    # CSE and in-place evaluation must not change any value
    for name in [*NAMES[::7], "alpha_101", "alpha_205"]:
        assert np.array_equal(engine_plain[name], compute(panel, [name])[name], equal_nan=True), name


# -------------------------------------------------------------------------------- (c) look-ahead


@pytest.mark.parametrize("t", [150, 230])
def test_no_look_ahead_for_every_alpha(panel: Panel, engine_plain, t: int) -> None:  # type: ignore[no-untyped-def]
    future = compute(perturb_after(panel, t), NAMES)
    for name in NAMES:
        np.testing.assert_array_equal(engine_plain[name][: t + 1], future[name][: t + 1], err_msg=name)
    # the perturbation did reach (nearly) every alpha after t: the test is not vacuous
    changed = sum(not np.array_equal(engine_plain[n][t + 1:], future[n][t + 1:], equal_nan=True) for n in NAMES)
    assert changed >= 100


# ---------------------------------------------------------------------------- (d) unavailable inputs


def test_missing_value_makes_vwap_alphas_unavailable() -> None:
    p = make_panel(T=80, N=10, with_value=False)
    p.unavailable["value"] = "the source does not provide traded value"
    res = compute(p, NAMES)
    vwap_names = {n for n in NAMES if "vwap" in CATALOGUE[n].inputs}
    assert len(vwap_names) >= 28
    assert set(res.unavailable) == vwap_names
    for name in vwap_names:
        assert "vwap" in res.unavailable[name] and "value" in res.unavailable[name]
        assert "does not provide" in res.unavailable[name]
    assert set(res) == set(NAMES) - vwap_names
    with pytest.raises(UnavailableError, match="vwap"):
        interpret(p, CATALOGUE["alpha_041"])


def test_industry_disabled_or_unknown() -> None:
    p = make_panel(T=60, N=10)
    ind = {n for n in NAMES if CATALOGUE[n].uses_indneutralize}
    assert len(ind) == 18
    res = compute(p, NAMES, industry=False)
    assert set(res.unavailable) == ind
    assert all("--no-industry" in r for r in res.unavailable.values())
    assert "alpha_056" in res  # needs cap, not a classification
    p2 = make_panel(T=60, N=10, with_industry=False)
    res2 = compute(p2, [48, 100, 1])
    assert set(res2.unavailable) == {"alpha_048", "alpha_100"}
    assert "industry" in res2.unavailable["alpha_048"]


def test_missing_index_makes_custom_alphas_unavailable() -> None:
    p = make_panel(T=80, N=10, with_index=False)
    res = compute(p, [1, 201, 202, 203, 204, 205])
    assert set(res.unavailable) == {f"alpha_{i}" for i in (201, 202, 203, 204, 205)}
    assert "1001" in res.unavailable["alpha_201"]
    assert alpha_unavailable_reason(CATALOGUE["alpha_001"], p) is None


def test_adv_units(panel: Panel) -> None:
    shares = compute(panel, ["alpha_025"])["alpha_025"]
    value = compute(panel, ["alpha_025"], Conventions(adv_units="value"))["alpha_025"]
    assert not np.array_equal(shares, value, equal_nan=True)
    direct = interpret(panel, "rank(((((-1 * returns) * (sum(value, 20) / 20)) * vwap) * (high - close)))")
    assert same(value, direct)


def test_window_rule_floor_vs_round(panel: Panel) -> None:
    floor = compute(panel, [AlphaSpec.build("w", "ts_sum(close, 6.9)", id=None, kind="user")])["w"]
    assert same(floor, interpret(panel, "ts_sum(close, 6)"))
    rounded = compute(panel, [AlphaSpec.build("w", "ts_sum(close, 6.9)", id=None, kind="user")],
                      Conventions(window_rule="round"))["w"]
    assert same(rounded, interpret(panel, "ts_sum(close, 7)"))


# --------------------------------------------------------------------------------- API and lookback


def test_compute_api(panel: Panel) -> None:
    res = compute(panel, [4, "alpha_001", "101", 4])
    assert list(res) == ["alpha_004", "alpha_001", "alpha_101"]
    assert res["alpha_004"].shape == panel.shape
    assert set(res.seconds) == set(res)
    assert np.array_equal(res.dates, panel.dates)
    with pytest.raises(UnknownAlphaError):
        compute(panel, [102])
    const = compute(panel, [AlphaSpec.build("c", "(-1 * 1) + 0 * close", id=None, kind="user")])["c"]
    assert np.all((const == -1.0) | np.isnan(const))


def test_interpret_accepts_text_ast_and_spec(panel: Panel) -> None:
    a = interpret(panel, "rank(close)")
    assert np.array_equal(a, interpret(panel, parse("rank(close)")), equal_nan=True)
    assert np.array_equal(interpret(panel, CATALOGUE["alpha_101"]), interpret(panel, CATALOGUE["alpha_101"].formula),
                          equal_nan=True)


def test_lookback_is_enough_warm_up(panel: Panel) -> None:
    """Computing from row s gives the full-history values at rows >= s + lookback (what --start uses)."""
    full = compute(panel, NAMES, ops=tie_safe(FAST_OPS))
    s = 5
    cut = Panel(dates=panel.dates[s:], codes=panel.codes, fields={k: v[s:] for k, v in panel.fields.items()},
                industry=panel.industry, index={k: v[s:] for k, v in panel.index.items()})
    part = compute(cut, NAMES, ops=tie_safe(FAST_OPS))
    for name in NAMES:
        lb = alpha_lookback(CATALOGUE[name])
        if lb + s >= panel.shape[0]:
            continue
        assert same(full[name][s + lb:], part[name][lb:], rtol=1e-7, atol=1e-9), name
    assert alpha_lookback("delay(close, 5)") == 5
    assert alpha_lookback("ts_sum(delta(close, 3), 10)") == 12
    assert alpha_lookback("adv20") == 19
    assert alpha_lookback("correlation(returns, adv10, 5)") == 13
    assert alpha_lookback("rank(close)") == 0
    assert alpha_lookback("ts_sum(close, 5.9)", Conventions(window_rule="round")) == 5


# ------------------------------------------------------------------------------ (e) alpha 205 ties


def test_alpha_205_does_not_tie_hundreds_of_stocks() -> None:
    p = make_panel(T=200, N=600, seed=11, gaps=False)
    a205 = compute(p, [205])["alpha_205"]
    point = compute(p, [AlphaSpec.build(
        "point_dd", "(close / ts_max(close, 60)) - (index_close / ts_max(index_close, 60))", id=None,
        kind="user")])["point_dd"]

    def max_ties(values: np.ndarray) -> int:
        worst = 0
        for row in values[60:]:
            v = row[~np.isnan(row)]
            if v.size:
                worst = max(worst, int(np.unique(v, return_counts=True)[1].max()))
        return worst

    assert np.isfinite(a205[60:]).mean() > 0.99
    assert max_ties(a205) <= 2
    assert max_ties(point) >= 10  # the old 60-day point drawdown: every stock at a new high ties at 0
