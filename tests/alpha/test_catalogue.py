"""Alpha catalogue: 101 paper + 5 custom alphas, metadata as DESIGN §3.3 lists, transcription traps,
user alphas (validation, atomic persistence)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lasps.alpha.catalogue import (
    CUSTOM_IDS,
    DELAY0,
    INDUSTRY_IDS,
    Catalogue,
    UnknownAlphaError,
    get_catalogue,
    register_user_alpha,
    user_alphas_path,
)
from lasps.alpha.parser import BinOp, Call, Node, Num, ParseError, Var, parse
from lasps.errors import ConfigError


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return get_catalogue()


def calls(node: Node, name: str) -> list[Call]:
    return [n for n in node.walk() if isinstance(n, Call) and n.name == name]


def test_all_paper_and_custom_alphas_present(cat: Catalogue) -> None:
    assert len(cat.by_kind("paper")) == 101
    assert [s.id for s in cat.by_kind("paper")] == list(range(1, 102))
    assert [s.id for s in cat.by_kind("custom")] == [201, 202, 203, 204, 205]
    assert list(cat)[:3] == ["alpha_001", "alpha_002", "alpha_003"]
    assert "alpha_101" in cat and "alpha_205" in cat


def test_every_formula_parses_and_round_trips(cat: Catalogue) -> None:
    for spec in cat.values():
        assert parse(spec.formula) == spec.ast
        assert parse(spec.canonical) == spec.ast
        assert spec.description and len(spec.description) < 130


def test_metadata_sets_exactly_as_design_lists(cat: Catalogue) -> None:
    assert {42, 48, 53, 54} == DELAY0
    assert {s.id for s in cat.values() if s.delay == 0} == {42, 48, 53, 54}
    assert all(s.delay == 1 for s in cat.values() if s.id not in DELAY0)
    design = {48, 56, 58, 59, 63, 67, 69, 70, 76, 79, 80, 82, 87, 89, 90, 91, 93, 97, 100}
    assert design == INDUSTRY_IDS
    assert {s.id for s in cat.values() if s.needs_industry} == design
    # derived from the ASTs: every IndNeutralize alpha is in the list; #56 is listed for its cap input
    assert {s.id for s in cat.values() if s.uses_indneutralize} == design - {56}
    assert "cap" in cat["alpha_056"].inputs
    assert {s.id for s in cat.values() if "cap" in s.inputs} == {56}


def test_inputs_are_derived_from_the_ast(cat: Catalogue) -> None:
    assert cat["alpha_001"].inputs == ("close", "returns")
    assert cat["alpha_007"].inputs == ("adv20", "close", "volume")
    assert cat["alpha_061"].inputs == ("adv180", "vwap")
    assert cat["alpha_048"].inputs == ("close", "indclass.subindustry")
    assert cat["alpha_201"].inputs == ("close", "index_close")
    vwap_alphas = {s.id for s in cat.by_kind("paper") if "vwap" in s.inputs}
    # the work log's 28 VWAP alphas (2026-02-20 "VWAP Fallback") are all among them
    log_vwap = {5, 11, 25, 27, 32, 36, 41, 42, 47, 50, 57, 61, 62, 64, 65, 66, 71, 72, 73, 74, 75, 78, 81,
                84, 86, 94, 96, 98}
    assert log_vwap <= vwap_alphas
    # ...and the log's "ADV-only" alphas read adv (#77 also reads vwap in the paper's formula)
    for i in (7, 17, 28, 31, 39, 43, 68, 77, 85, 88, 92, 95, 99):
        assert any(x.startswith("adv") for x in cat.resolve(i).inputs), i
    assert "vwap" in cat["alpha_077"].inputs


# ------------------------------------------------------------------------------ transcription traps


def test_alpha1_keeps_minus_half(cat: Catalogue) -> None:
    ast = cat["alpha_001"].ast
    assert isinstance(ast, BinOp) and ast.op == "-" and ast.right == Num(0.5)
    assert ast.left == parse("rank(Ts_ArgMax(SignedPower(((returns < 0) ? stddev(returns, 20) : close), 2.), 5))")


@pytest.mark.parametrize(("alpha", "field", "d"), [(32, "close", 7), (36, "close", 200), (47, "high", 5)])
def test_sum_over_d_not_mean(cat: Catalogue, alpha: int, field: str, d: int) -> None:
    ast = cat.resolve(alpha).ast
    expected = BinOp("/", Call("ts_sum", (Var(field), Num(d))), Num(d))
    assert expected in set(ast.walk())
    assert not calls(ast, "ts_mean")


def test_alpha38_ranks_close(cat: Catalogue) -> None:
    ast = cat["alpha_038"].ast
    assert parse("rank(Ts_Rank(close, 10))") in set(ast.walk())
    assert parse("rank((close / open))") in set(ast.walk())


def test_paper_overloads_and_operators(cat: Catalogue) -> None:
    # alpha 29: min(product(...), 5) is ts_min over 5 days
    a29 = cat["alpha_029"].ast
    assert isinstance(a29, BinOp) and isinstance(a29.left, Call) and a29.left.name == "ts_min"
    assert a29.left.args[1] == Num(5)
    # alphas 71/73/76/87/96 take max(series, series); 77/82/88/92 min(series, series)
    for i in (71, 73, 76, 87, 96):
        assert calls(cat.resolve(i).ast, "max"), i
    for i in (77, 82, 88, 92):
        assert calls(cat.resolve(i).ast, "min"), i
    # ^ is power (41: geometric mean of high and low)
    assert parse("((high * low) ^ 0.5)") in set(cat["alpha_041"].ast.walk())
    # fractional windows are kept as written (floored by the engine's conventions)
    assert Num(6.00049) in set(cat["alpha_086"].ast.walk())
    assert Num(3.69741) in set(cat["alpha_064"].ast.walk())
    # alpha 84: SignedPower with a series exponent
    sp = calls(cat["alpha_084"].ast, "signedpower")[0]
    assert sp.args[1] == parse("delta(close, 4.96796)")
    # alpha 101: + .001
    assert cat["alpha_101"].canonical == "((close - open) / ((high - low) + 0.001))"


def test_custom_relative_strength_formulas(cat: Catalogue) -> None:
    assert calls(cat["alpha_201"].ast, "delay")
    assert "index_close" in cat["alpha_202"].inputs
    for i in (203, 204):
        assert set(cat.resolve(i).inputs) == {"index_returns", "returns"}
        assert any(n == Num(60) for n in cat.resolve(i).ast.walk())
    a205 = cat["alpha_205"].ast
    # 20-day mean of the drawdown vs the 20-day high — not a 60-day point drawdown
    assert parse("ts_max(close, 20)") in set(a205.walk())
    assert not any(n == Num(60) for n in a205.walk())
    assert all(s.delay == 1 and not s.needs_industry for s in cat.by_kind("custom"))
    assert CUSTOM_IDS == (201, 202, 203, 204, 205)


# --------------------------------------------------------------------------------------- resolving


def test_resolve_ids_and_names(cat: Catalogue) -> None:
    assert cat.resolve(44).name == "alpha_044"
    assert cat.resolve("44").name == cat.resolve("044").name == cat.resolve("#44").name == "alpha_044"
    assert cat.resolve("alpha_044").name == cat.resolve("Alpha_44").name == "alpha_044"
    assert cat.resolve("201").id == 201
    assert [s.id for s in cat.resolve_many([1, "1", "alpha_001", 4])] == [1, 4]
    for bad in (0, 102, 200, 206, "foo", "alpha_x", True):
        with pytest.raises(UnknownAlphaError):
            cat.resolve(bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ user alphas


def test_register_user_alpha_persists_and_loads(tmp_path: Path) -> None:
    spec = register_user_alpha("my_rev", "-1 * Delta(close, 5)", tmp_path, "5-day reversal")
    assert spec.kind == "user" and spec.id is None and spec.inputs == ("close",)
    path = user_alphas_path(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["alphas"]["my_rev"]["formula"] == "-1 * Delta(close, 5)"
    assert data["alphas"]["my_rev"]["canonical"] == "(-1 * delta(close, 5))"
    cat = get_catalogue(tmp_path)
    assert len(cat) == 107
    assert cat.resolve("my_rev").canonical == "(-1 * delta(close, 5))"
    assert cat["my_rev"].description == "5-day reversal"
    assert not list(path.parent.glob("*.tmp"))  # the temp file was renamed
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask  # usual permissions, not mkstemp's 0o600


def test_register_user_alpha_validates(tmp_path: Path) -> None:
    with pytest.raises(ParseError) as info:
        register_user_alpha("bad", "rank(close", tmp_path)
    assert info.value.column == 11
    for name in ("Bad", "1abc", "alpha_001", "alpha7", "a b", "", "x" * 60):
        with pytest.raises(ConfigError):
            register_user_alpha(name, "rank(close)", tmp_path)
    with pytest.raises(ConfigError, match="constant"):
        register_user_alpha("const", "1 + 2", tmp_path)
    assert not user_alphas_path(tmp_path).exists()  # nothing written on bad input
    register_user_alpha("mine", "rank(close)", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        register_user_alpha("mine", "rank(open)", tmp_path)
    register_user_alpha("mine", "rank(open)", tmp_path, replace=True)
    assert get_catalogue(tmp_path)["mine"].inputs == ("open",)


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    register_user_alpha("first", "rank(close)", tmp_path)
    before = user_alphas_path(tmp_path).read_text(encoding="utf-8")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        register_user_alpha("second", "rank(open)", tmp_path)
    monkeypatch.undo()
    assert user_alphas_path(tmp_path).read_text(encoding="utf-8") == before
    assert not list(user_alphas_path(tmp_path).parent.glob("*.tmp"))


def test_corrupt_user_file_is_a_config_error(tmp_path: Path) -> None:
    path = user_alphas_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read user alphas"):
        get_catalogue(tmp_path)
    path.write_text(json.dumps({"alphas": {"x": {"formula": "rank("}}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="does not parse"):
        get_catalogue(tmp_path)
