"""Architecture rules checked on the source tree (DESIGN §1): no import cycle, one-way layers, each
concern written once.

Every module under ``src/lasps`` is parsed with :mod:`ast`; its imports — at module level **and inside
functions** — are the edges of the module graph. The checks:

* no cycle (naming the modules of each one) — so no function-local import hides a loop;
* every edge goes down the layers of :data:`LAYERS` (``cli/service/pipeline -> report ->
  backtest/research/ml -> alpha -> data -> krx``; ``broker`` -> ``krx``/``data`` only; nothing imports
  ``cli``);
* a function-local import of a LASPS module must defer something heavy (:data:`HEAVY_EXTRAS`) that the
  importing module does not load anyway — otherwise it only hides structure and belongs at the top;
* one atomic writer (``lasps/files.py``) and one date parser (``lasps/dates.py``).

To add a rule: write a function ``test_...`` using :func:`graph` / :func:`calls` below.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "lasps"

#: Layers, lowest first: a module may import modules of its own layer and of the layers listed for it.
#: The first matching prefix decides a module's layer (longest prefixes first).
LAYERS: dict[str, tuple[str, ...]] = {
    # foundation: plain helpers every layer may use
    "lasps.errors": (), "lasps.files": (), "lasps.dates": (), "lasps.transactions": (), "lasps": (),
    "lasps.krx": ("foundation",),
    "lasps.config": ("foundation", "krx"),
    "lasps.data": ("foundation", "krx", "config"),
    "lasps.scale": ("foundation", "config"),
    "lasps.alpha": ("foundation", "krx", "config", "data", "scale"),
    "lasps.research": ("foundation", "krx", "config", "data", "scale", "alpha", "backtest", "ml"),
    "lasps.backtest": ("foundation", "krx", "config", "data", "scale", "alpha", "research", "ml"),
    "lasps.ml": ("foundation", "krx", "config", "data", "scale", "alpha", "research", "backtest"),
    "lasps.report": ("foundation", "krx", "config", "data", "scale", "alpha", "research", "backtest", "ml"),
    "lasps.broker": ("foundation", "krx", "config", "data"),
    "lasps.pipeline": ("foundation", "krx", "config", "data", "scale", "alpha", "research", "backtest", "ml",
                       "report", "broker", "service", "workspace"),
    "lasps.service": ("foundation", "krx", "config", "data", "scale", "alpha", "research", "backtest", "ml",
                      "report", "broker", "pipeline", "workspace"),
    "lasps.workspace": ("foundation", "krx", "config", "data", "scale", "alpha", "research", "backtest", "ml",
                        "report", "broker", "pipeline", "python_api"),
    "lasps.python_api": ("foundation", "krx", "config", "data", "scale", "alpha", "research", "backtest", "ml",
                         "report", "broker", "pipeline", "workspace"),
    "lasps.cli": ("foundation", "krx", "config", "data", "scale", "alpha", "research", "backtest", "ml",
                  "report", "broker", "pipeline", "service", "workspace"),
}
_FOUNDATION = ("lasps.errors", "lasps.files", "lasps.dates", "lasps.transactions", "lasps")

#: Third-party packages worth importing lazily (optional extras, or slow to import): a function-local
#: import of a LASPS module is justified when it would load one of these that its importer does not.
HEAVY_EXTRAS: dict[str, str] = {
    "torch": "deep-learning extra `ml`; ~1-2 s to import",
    "ray": "scale-out extra `ray`",
    "matplotlib": "plots only; slow to import",
    "fastapi": "service extra", "uvicorn": "service extra",
    "pykrx": "network source extra `sources`", "FinanceDataReader": "network source extra `sources`",
    "selenium": "browser tests only",
    "exchange_calendars": "builds the XKRX calendar; slow to import",
    "numba": "JIT compiler; slow to import",
    "duckdb": "the store engine; not needed by commands that only read files",
    "pyarrow": "Parquet; not needed by every command",
    "scipy": "statistics only", "empyrical": "metrics only", "httpx": "network brokers only",
}


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``importer`` imports ``target`` (both LASPS modules)."""

    importer: str
    target: str
    line: int
    local: bool  # inside a function (runs when called, not when the module is imported)
    conditional: bool  # inside an if/try/with (e.g. an optional extra)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@functools.lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    """``{module name: path}`` of every module under ``src/lasps``."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def tree(module: str) -> ast.Module:
    return ast.parse(modules()[module].read_text(encoding="utf-8"), filename=str(modules()[module]))


def _resolve(importer: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """Imported names as module names (``from lasps.a import b`` -> ``lasps.a.b`` if that is a module)."""
    mods = modules()
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names)
        return
    if node.level:
        base = importer.split(".")
        if modules()[importer].name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, *([node.module] if node.module else [])])
    else:
        target = node.module or ""
    for alias in node.names:
        candidate = f"{target}.{alias.name}"
        yield candidate if candidate in mods else target


def _own_module(name: str) -> str | None:
    """The LASPS module that ``name`` refers to (the longest existing prefix), or None if not LASPS."""
    if name != "lasps" and not name.startswith("lasps."):
        return None
    mods = modules()
    while name not in mods and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in mods else None


def _walk(node: ast.AST, *, local: bool, conditional: bool) -> Iterator[tuple[ast.AST, bool, bool]]:
    for child in ast.iter_child_nodes(node):
        yield child, local, conditional
        in_fn = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        cond = (conditional or isinstance(child, ast.If | ast.Try | ast.With)) if in_fn else conditional
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            cond = False
        yield from _walk(child, local=in_fn, conditional=cond)


@functools.lru_cache(maxsize=1)
def imports() -> tuple[Import, ...]:
    """Every import edge between LASPS modules (module level and function-local)."""
    out: list[Import] = []
    for importer in modules():
        for node, local, conditional in _walk(tree(importer), local=False, conditional=False):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _resolve(importer, node):
                    target = _own_module(name)
                    if target is not None and target != importer:
                        out.append(Import(importer, target, node.lineno, local, conditional))
    return tuple(out)


def graph(*, local: bool = True) -> dict[str, set[str]]:
    """``{module: modules it imports}`` (``local=False``: module-level imports only)."""
    g: dict[str, set[str]] = {m: set() for m in modules()}
    for imp in imports():
        if local or not imp.local:
            g[imp.importer].add(imp.target)
    return g


def third_party(module: str) -> set[str]:
    """Top-level packages that ``module`` imports at module level."""
    out: set[str] = set()
    for node, local, _ in _walk(tree(module), local=False, conditional=False):
        if local:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return {p for p in out if p != "lasps"}


@functools.cache
def loads(module: str) -> frozenset[str]:
    """Third-party packages loaded by importing ``module`` (its module-level closure, parents included)."""
    g = graph(local=False)
    seen: set[str] = set()
    todo = [module]
    out: set[str] = set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        out |= third_party(m)
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a.b runs a/__init__ first
        todo += g[m]
    return frozenset(out)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> str:
    """The layer of ``module``: ``foundation`` or the name after ``lasps.`` of its :data:`LAYERS` key."""
    if module in _FOUNDATION:
        return "foundation"
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if prefix != "lasps" and (module == prefix or module.startswith(prefix + ".")):
            return prefix.removeprefix("lasps.")
    raise AssertionError(f"{module} is in no layer of LAYERS: add it")


def calls(module: str) -> Iterator[tuple[str, int]]:
    """``(dotted callee, line)`` of every call in ``module`` (``os.replace``, ``dt.date.fromisoformat``)."""
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node.lineno


def keywords(module: str) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg:
                    yield kw.arg, node.lineno


# ---------------------------------------------------------------------------------------------- tests


def test_the_parser_sees_function_local_imports() -> None:
    """Guard the guard: known edges of both kinds are found."""
    edges = {(i.importer, i.target, i.local) for i in imports()}
    assert ("lasps.data.sources.registry", "lasps.data.sources.pykrx_source", True) in edges
    assert ("lasps.broker.guard", "lasps.krx.rules", False) in edges
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_counting_function_local_imports() -> None:
    found = cycles(graph())
    detail = []
    for comp in found:
        members = set(comp)
        edges = sorted({f"{i.importer} -> {i.target} (line {i.line}{', in a function' if i.local else ''})"
                        for i in imports() if i.importer in members and i.target in members})
        detail.append(" | ".join(comp) + "\n    " + "\n    ".join(edges))
    assert not found, "import cycles:\n" + "\n".join(detail)


def test_layers_point_down() -> None:
    bad = []
    for imp in imports():
        src, dst = layer(imp.importer), layer(imp.target)
        if src == dst or dst == "foundation":
            continue
        if imp.importer == "lasps" and imp.target == "lasps.workspace" and imp.local:
            continue  # `lasps.Workspace`: the package re-exports its entry point, imported on first use
        allowed = LAYERS["lasps" if src == "foundation" else f"lasps.{src}"]
        if dst not in allowed:
            bad.append(f"{imp.importer} ({src}) imports {imp.target} ({dst}) at line {imp.line}")
    assert not bad, "imports against the layers of DESIGN §1:\n" + "\n".join(sorted(set(bad)))


def test_nothing_imports_cli() -> None:
    bad = sorted({f"{i.importer}:{i.line}" for i in imports()
                  if layer(i.target) == "cli" and layer(i.importer) != "cli"})
    assert not bad, f"modules importing lasps.cli: {bad}"


def test_broker_depends_on_krx_and_data_only() -> None:
    bad = sorted({f"{i.importer} -> {i.target}" for i in imports()
                  if layer(i.importer) == "broker" and layer(i.target) not in ("broker", "krx", "data", "config",
                                                                              "foundation")})
    assert not bad, bad


def test_function_local_imports_defer_something_heavy() -> None:
    """A LASPS import inside a function must keep a heavy package (:data:`HEAVY_EXTRAS`) out of its
    importer's import time; one that defers nothing only hides structure and goes at the top. Imports
    under an ``if``/``try``/``with`` (optional extras, alternatives) are left to their code."""
    bad = []
    for imp in imports():
        if not imp.local or imp.conditional:
            continue
        deferred = (loads(imp.target) - loads(imp.importer)) & set(HEAVY_EXTRAS)
        if not deferred:
            bad.append(f"{imp.importer}:{imp.line} imports {imp.target} inside a function but defers nothing "
                       "heavy — move it to the top of the module")
    assert not bad, "\n".join(sorted(set(bad)))


#: The one module allowed to rename files into place, fsync and create temporary files for that.
ATOMIC_WRITER = "lasps.files"
_ATOMIC_CALLS = {"os.replace", "os.rename", "os.fsync", "tempfile.mkstemp", "tempfile.NamedTemporaryFile",
                 "shutil.move"}


def test_one_atomic_writer() -> None:
    bad = []
    for m in modules():
        if m == ATOMIC_WRITER:
            continue
        for callee, line in calls(m):
            if callee in _ATOMIC_CALLS:
                bad.append(f"{m}:{line} calls {callee}")
            if callee in ("json.dump",):
                bad.append(f"{m}:{line} writes JSON to a file directly (use lasps.files.write_json)")
        for kw, line in keywords(m):
            if kw == "allow_nan":
                bad.append(f"{m}:{line} sets allow_nan (the JSON contract is lasps.files.json_dumps)")
    assert not bad, "atomic writes / JSON outside lasps.files:\n" + "\n".join(bad)


def test_atomic_writer_is_defined_once() -> None:
    """A helper named like an atomic writer or a JSON cleaner outside lasps.files must be a thin wrapper
    that calls lasps.files (e.g. ``write_table_atomic``: Parquet options around ``atomic_write``)."""
    names = ("atomic", "json_safe", "jsonable", "clean", "json_default")
    ours = {"atomic_write", "atomic_write_bytes", "atomic_write_text", "write_json", "json_safe", "json_dumps"}
    bad = []
    for m in modules():
        if m == ATOMIC_WRITER:
            continue
        for node in ast.walk(tree(m)):
            if isinstance(node, ast.FunctionDef) and any(n in node.name.lower() for n in names):
                body_calls = {ast.unparse(c.func) for c in ast.walk(node) if isinstance(c, ast.Call)}
                if not body_calls & ours:
                    bad.append(f"{m}:{node.lineno} defines {node.name} without lasps.files")
    assert not bad, bad


#: The one module that turns typed dates into ``datetime.date``.
DATE_PARSER = "lasps.dates"
#: Modules that parse *stored* timestamps or protocol fields (not user input) — their own formats.
_STORED_FORMATS = {
    "lasps.broker.journal": "the journal's own ISO timestamps",
    "lasps.broker.paper": "the paper account's own ISO timestamps",
    "lasps.broker.kiwoom_rest": "Kiwoom's token-expiry field (YYYYMMDDHHMMSS)",
    "lasps.broker.clock": "LASPS_CLOCK, a date *and time* with offset (not a date)",
    "lasps.pipeline.alphas": "the alpha store's own metadata",
}


def test_one_date_parser() -> None:
    bad = []
    for m in modules():
        if m in (DATE_PARSER, *_STORED_FORMATS):
            continue
        for callee, line in calls(m):
            if callee.endswith(("strptime", "fromisoformat")):
                bad.append(f"{m}:{line} calls {callee}")
        for node in ast.walk(tree(m)):
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in ("parse_date", "as_date", "parse_day"):
                body_calls = {ast.unparse(c.func) for c in ast.walk(node) if isinstance(c, ast.Call)}
                if not body_calls & {"parse_date", "parse_optional_date"}:
                    bad.append(f"{m}:{node.lineno} defines {node.name} without lasps.dates")
    assert not bad, "date parsing outside lasps.dates:\n" + "\n".join(bad)


# ----------------------------------------------- where SQL lives, who opens the store, one rule each

#: Modules allowed to hold SQL: the data layer (DuckDB store, schema, queries) and the order journal with
#: the paper broker's SQLite ledger (the broker's own books, not the market store).
SQL_HOMES = ("data/", "broker/journal.py", "broker/paper.py")
SQL = re.compile(r"^\s*(SELECT|INSERT|DELETE|UPDATE|CREATE|DROP|ALTER|WITH|PRAGMA)\b[\s\S]*"
                 r"\b(FROM|INTO|TABLE|SET|VIEW|AS|journal_mode|busy_timeout|synchronous)\b")


def _sources() -> list[tuple[str, ast.Module, str]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
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
    for rel, tree, _ in _sources():
        if rel.startswith(SQL_HOMES):
            continue
        for line, text in _strings(tree):
            if SQL.match(text):
                found.append(f"{rel}:{line}: {text.strip()[:60]}")
    assert found == [], "SQL outside data/ (use lasps.data.queries):\n" + "\n".join(found)


def test_market_store_is_constructed_only_by_the_workspace_and_data() -> None:
    found = []
    for rel, tree, _ in _sources():
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
    for rel, tree, _ in _sources():
        for node in ast.walk(tree):
            if isinstance(node, kind) and node.name == name:  # type: ignore[attr-defined]
                out.append(rel)
    return out


def _assignments(name: str) -> list[str]:
    out = []
    for rel, tree, _ in _sources():
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
    texts = {rel: text for rel, _, text in _sources()}
    for user in ("research/walkforward.py", "backtest/selection.py", "pipeline/steps/evaluate.py",
                 "pipeline/steps/select.py"):
        assert "from lasps.research.selection import" in texts[user], user
    # nobody re-derives the lag by hand: the entry/horizon lag is Timing's
    offenders = []
    for rel, tree, _ in _sources():
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
    texts = {rel: text for rel, _, text in _sources()}
    for user in ("cli/eval_cmd.py", "pipeline/steps/evaluate.py"):
        assert "write_evaluation" in texts[user], user
    for user in ("cli/eval_cmd.py", "pipeline/steps/evaluate.py", "backtest/alphas.py", "research/evaluate.py"):
        assert "stored_or_computed" in texts[user], user
    # the eval_runs record is built in one place
    builders = [rel for rel, _, text in _sources() if '"split_note": ' in text]
    assert builders == ["research/results.py"]


def test_every_table_is_defined_in_the_schema_module() -> None:
    creates = re.compile(r"CREATE\s+TABLE", re.IGNORECASE)
    found = [rel for rel, tree, _ in _sources() if not rel.startswith(("broker/",))
             for _, text in _strings(tree) if creates.search(text)]
    assert set(found) == {"data/schema.py"}, found


#: What only ``cli/common.py`` may call: resolving settings or building a workspace by hand.
SETTINGS_LOADERS = frozenset({"get_settings", "settings_for", "load_settings", "Workspace"})


def _home_option_commands(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    """The functions of a CLI module with a ``home: HomeOption`` parameter (the ``--home`` option)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for arg in node.args.args + node.args.kwonlyargs:
                if arg.arg == "home" and isinstance(arg.annotation, ast.Name) and arg.annotation.id == "HomeOption":
                    yield node


def test_cli_commands_reach_their_home_only_through_workspace_for() -> None:
    """A CLI command turns ``--home`` into a workspace with ``workspace_for(home)`` and hands that (or what it
    holds) on: no CLI module but ``common.py`` resolves settings itself, and in a command with ``--home`` the
    name ``home`` is used only as the argument of ``workspace_for``. (``lasps demo`` has its own ``--home``:
    a directory it rebuilds before the pipeline opens a workspace in it.)"""
    loaders, bare, without = [], [], []
    for rel, tree, _ in _sources():
        if not rel.startswith("cli/") or rel == "cli/common.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.value.id \
                    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
                if name in SETTINGS_LOADERS:
                    loaders.append(f"{rel}:{node.lineno} {name}")
        for fn in _home_option_commands(tree):
            through = {id(c.args[0]) for c in ast.walk(fn) if isinstance(c, ast.Call)
                       and isinstance(c.func, ast.Name) and c.func.id == "workspace_for"
                       and len(c.args) == 1 and isinstance(c.args[0], ast.Name) and c.args[0].id == "home"}
            if not through:
                without.append(f"{rel}:{fn.lineno} {fn.name}")
            for n in ast.walk(fn):
                if isinstance(n, ast.Name) and n.id == "home" and isinstance(n.ctx, ast.Load) and id(n) not in through:
                    bare.append(f"{rel}:{n.lineno} {fn.name}")
    assert loaders == [], "settings resolved outside cli/common.py (use workspace_for):\n" + "\n".join(loaders)
    assert without == [], "commands with --home that never call workspace_for(home):\n" + "\n".join(without)
    assert bare == [], "a bare --home handed on instead of the workspace:\n" + "\n".join(bare)
