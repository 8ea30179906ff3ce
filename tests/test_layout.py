"""The package's shape: layers that import only downwards, no import cycle, no module over 600
lines, no function over 80."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "mobilenet_repro"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# The package's layers, bottom first. A stage is a subpackage or a top-level module; a module
# may import its own stage and the stages of the layers below, never a stage above, nor one
# beside it in its layer, so a package-level loop (data -> config -> data) cannot form.
LAYERS = (
    # The base: shared by every stage, importing no stage above what it needs.
    ("errors", "files", "formatting", "jobs", "paths"),  # import nothing of the package
    ("figures", "runs"),  # figures: files; runs (a run's identity, the backends' names): paths
    ("run_model",),  # a configuration's runs and their specs: runs, paths
    # The pipeline's stages.
    ("data", "models"),  # data sets; the builders (and what the configuration knows of them)
    ("counting",),  # parameters and mult-adds of built models
    ("training",),  # one run; it records its model's counts (counting)
    ("analysis",),  # tables, verdicts and figures from the runs' files
    ("report",),  # the report, from the analysis' files
    # The checks the Snakefile runs before any job: they read every layer, none reads them.
    ("validation", "preflight"),
)
RANK = {stage: rank for rank, layer in enumerate(LAYERS) for stage in layer}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.rglob("*.py")}


def imported(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The package's modules `name` imports anywhere (function-level imports included)."""
    package = name if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists() else None
    package = package or name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            # `from pkg import mod` imports the module pkg.mod when there is one.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        found |= {t for t in targets if t in known}
    found.discard(name)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def import_graph() -> dict[str, set[str]]:
    trees = modules()
    graph = {name: imported(name, tree, set(trees)) for name, tree in trees.items()}
    assert graph["mobilenet_repro.training.loop"], "the import graph was not read"
    return graph


def stage(module: str) -> str | None:
    """mobilenet_repro.training.loop -> training; the package itself (which imports nothing
    and is named by `from mobilenet_repro import jobs`) -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a stage above the importer's, or beside it in its layer."""
    found = []
    for name in sorted(graph):
        for target in sorted(graph[name]):
            mine, theirs = stage(name), stage(target)
            if None in (mine, theirs) or mine == theirs or RANK[theirs] < RANK[mine]:
                continue
            where = "beside" if RANK[theirs] == RANK[mine] else "above"
            found.append(
                f"{name} imports {target}: {theirs} is {where} {mine} (tests/test_layout.py LAYERS)"
            )
    return found


def test_every_stage_has_a_layer():
    stages = {stage(name) for name in modules()} - {None}
    assert not stages - set(RANK), f"place {sorted(stages - set(RANK))} in LAYERS"
    assert not set(RANK) - stages, f"LAYERS names no such stage: {sorted(set(RANK) - stages)}"


def test_imports_go_down_the_layers():
    graph = import_graph()
    assert not graph["mobilenet_repro"], "the package's __init__ imports nothing"
    assert not (violations := layer_violations(graph)), "\n".join(violations)


def test_the_layer_check_finds_an_upward_import():
    graph = {
        "mobilenet_repro.data.cache": {"mobilenet_repro.run_model", "mobilenet_repro.data"},
        "mobilenet_repro.models.common": {"mobilenet_repro.training.optimizers"},
        "mobilenet_repro.data.fetch": {"mobilenet_repro.models.weights", "mobilenet_repro"},
    }
    assert layer_violations(graph) == [
        "mobilenet_repro.data.fetch imports mobilenet_repro.models.weights: models is beside data"
        " (tests/test_layout.py LAYERS)",
        "mobilenet_repro.models.common imports mobilenet_repro.training.optimizers: training is"
        " above models (tests/test_layout.py LAYERS)",
    ]


def test_no_import_cycle():
    graph = import_graph()
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_modules_and_functions_stay_short():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}: {lines} lines")
    assert not too_long, too_long


def test_every_subpackage_says_what_it_holds():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{init.relative_to(ROOT)} needs a docstring"
