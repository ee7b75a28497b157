"""Architecture rules checked on the source tree (DESIGN §1): where SQL lives, who opens the store, and
that each domain rule is defined once.

Each rule is its own test function, so that other checks of this file (import cycles, layers, atomic
writes, date parsing) sit beside them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lasps"

#: Modules allowed to hold SQL: the data layer (DuckDB store, schema, queries) and the order journal with
#: the paper broker's SQLite ledger (the broker's own books, not the market store).
SQL_HOMES = ("data/", "broker/journal.py", "broker/paper.py")
SQL = re.compile(r"^\s*(SELECT|INSERT|DELETE|UPDATE|CREATE|DROP|ALTER|WITH|PRAGMA)\b[\s\S]*"
                 r"\b(FROM|INTO|TABLE|SET|VIEW|AS|journal_mode|busy_timeout|synchronous)\b")


def _modules() -> list[tuple[str, ast.Module, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text(encoding="utf-8")
        out.append((rel, ast.parse(text, filename=str(path)), text))
    return out


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _strings(tree: ast.Module) -> list[tuple[int, str]]:
    """Every string literal (f-strings joined with a placeholder) except docstrings."""
    skip = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                           for v in node.values)
            out.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            out.append((node.lineno, node.value))
    return out


def test_the_sql_pattern_recognises_sql() -> None:
    assert SQL.match("SELECT DISTINCT date FROM daily_prices ORDER BY date")
    assert SQL.match("INSERT INTO picks SELECT * FROM _picks")
    assert SQL.match('CREATE OR REPLACE VIEW "x" AS SELECT 1')
    assert not SQL.match("select the top variants from the window")
    assert not SQL.match("DELETE")


def test_no_sql_outside_the_data_layer_and_the_journal() -> None:
    found = []
    for rel, tree, _ in _modules():
        if rel.startswith(SQL_HOMES):
            continue
        for line, text in _strings(tree):
            if SQL.match(text):
                found.append(f"{rel}:{line}: {text.strip()[:60]}")
    assert found == [], "SQL outside data/ (use lasps.data.queries):\n" + "\n".join(found)


def test_market_store_is_constructed_only_by_the_workspace_and_data() -> None:
    found = []
    for rel, tree, _ in _modules():
        if rel.startswith("data/") or rel == "workspace.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if name == "MarketStore":
                    found.append(f"{rel}:{node.lineno}")
    assert found == [], "MarketStore(...) outside the workspace and data/: " + ", ".join(found)


def _definitions(kind: type, name: str) -> list[str]:
    out = []
    for rel, tree, _ in _modules():
        for node in ast.walk(tree):
            if isinstance(node, kind) and node.name == name:  # type: ignore[attr-defined]
                out.append(rel)
    return out


def _assignments(name: str) -> list[str]:
    out = []
    for rel, tree, _ in _modules():
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                out.append(rel)
    return out


def test_one_timing_one_splitspec_one_variant_rule() -> None:
    assert _definitions(ast.ClassDef, "Timing") == ["research/timing.py"]
    assert _definitions(ast.ClassDef, "SplitSpec") == ["research/splits.py"]
    assert _assignments("REV_SUFFIX") == ["research/variants.py"]
    assert _definitions(ast.FunctionDef, "split_variant") == ["research/variants.py"]
    assert _definitions(ast.FunctionDef, "_warmup_start") == []


def test_one_trailing_selection_rule_used_by_every_selector() -> None:
    assert _definitions(ast.FunctionDef, "trailing_window") == ["research/selection.py"]
    assert _definitions(ast.FunctionDef, "top_k") == ["research/selection.py"]
    texts = {rel: text for rel, _, text in _modules()}
    for user in ("research/walkforward.py", "backtest/selection.py", "pipeline/steps/evaluate.py",
                 "pipeline/steps/select.py"):
        assert "from lasps.research.selection import" in texts[user], user
    # nobody re-derives the lag by hand: the entry/horizon lag is Timing's
    offenders = []
    for rel, tree, _ in _modules():
        if rel == "research/timing.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.right, ast.Constant) \
                    and node.right.value == 1 and isinstance(node.left, ast.Attribute | ast.Name):
                name = node.left.attr if isinstance(node.left, ast.Attribute) else node.left.id
                if name in ("horizon", "rebalance"):
                    offenders.append(f"{rel}:{node.lineno}")
    assert offenders == [], "entry/horizon lag computed outside Timing: " + ", ".join(offenders)


def test_one_evaluation_writer_and_one_alpha_values_source() -> None:
    assert _definitions(ast.FunctionDef, "write_evaluation") == ["research/results.py"]
    assert _definitions(ast.FunctionDef, "eval_run_record") == ["research/results.py"]
    assert _definitions(ast.FunctionDef, "stored_or_computed") == ["research/alpha_values.py"]
    texts = {rel: text for rel, _, text in _modules()}
    for user in ("cli/eval_cmd.py", "pipeline/steps/evaluate.py"):
        assert "write_evaluation" in texts[user], user
    for user in ("cli/eval_cmd.py", "pipeline/steps/evaluate.py", "backtest/alphas.py", "research/evaluate.py"):
        assert "stored_or_computed" in texts[user], user
    # the eval_runs record is built in one place
    builders = [rel for rel, _, text in _modules() if '"split_note": ' in text]
    assert builders == ["research/results.py"]


def test_every_table_is_defined_in_the_schema_module() -> None:
    creates = re.compile(r"CREATE\s+TABLE", re.IGNORECASE)
    found = [rel for rel, tree, _ in _modules() if not rel.startswith(("broker/",))
             for _, text in _strings(tree) if creates.search(text)]
    assert set(found) == {"data/schema.py"}, found
