"""The import graph of fincast's modules: no circles, arrows down the flow of data.

Built with ``ast`` from the sources (no import is executed), once with module-level
imports only and once with the imports inside functions too (deferred so heavy libraries
load only when used): neither has a circle, and both follow the layering rule.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import fincast

SRC = Path(fincast.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["fincast", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    if not base.startswith("fincast"):
        return []
    # `from . import x` / `from .pkg import mod`: an arrow to the submodule when it is one
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append(sub if sub in MODULES else base)
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str) -> tuple[set[str], set[str]]:
    """(module-level, function-level) fincast imports of one source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    top: set[str] = set()
    deferred: set[str] = set()

    def visit(node: ast.AST, inside_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                continue  # annotations only
            nested = inside_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            target = deferred if nested else top
            if isinstance(child, ast.Import):
                target.update(a.name for a in child.names if a.name.startswith("fincast"))
            elif isinstance(child, ast.ImportFrom):
                target.update(_resolve(module, is_package, child))
            visit(child, nested)

    visit(tree, False)
    return top - {module}, deferred - {module}


FILES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}
MODULES = set(FILES)


def _graph(include_deferred: bool) -> dict[str, set[str]]:
    """Module -> the fincast modules it imports."""
    graph: dict[str, set[str]] = {}
    for module, path in FILES.items():
        edges = graph.setdefault(module, set())
        top, deferred = _imports(path, module)
        for target in top | (deferred if include_deferred else set()):
            edges.add(target)
            # importing a.b.c runs a/__init__ and a/b/__init__ first
            parts = target.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                if parent != module and not module.startswith(parent + "."):
                    edges.add(parent)
    return graph


def _edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(a, b) for a, targets in graph.items() for b in sorted(targets)]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_the_graph_sees_the_package():
    graph = _graph(include_deferred=False)
    assert {"fincast.tasks.base", "fincast.predictions", "fincast.backtest.engine"} <= set(graph)
    assert "fincast.predictions" in graph["fincast.backtest.engine"]
    assert "fincast.tasks" in graph["fincast.predictions"]


def test_cycles_are_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("include_deferred", [False, True])
def test_no_import_circles(include_deferred):
    assert _cycle(_graph(include_deferred)) is None


#: Packages that sit below the backtest in the flow of data, and must never import it.
BELOW_BACKTEST = (
    "fincast.data",
    "fincast.tasks",
    "fincast.features",
    "fincast.design",
    "fincast.models",
    "fincast.predictions",
    "fincast.metrics",
    "fincast.report",
    "fincast.persist",
)
#: (lower layer, higher layer): nothing in the first imports the second.
LAYERS = [
    ("fincast.data", "fincast.tasks"),
    ("fincast.data", "fincast.design"),
    ("fincast.data", "fincast.persist"),
    ("fincast.tasks", "fincast.design"),
    ("fincast.tasks", "fincast.metrics"),
    ("fincast.tasks", "fincast.models"),
    ("fincast.tasks", "fincast.predictions"),
    ("fincast.tasks", "fincast.report"),
    ("fincast.features", "fincast.design"),
    ("fincast.models", "fincast.backtest"),
    ("fincast.predictions", "fincast.metrics"),
    ("fincast.predictions", "fincast.report"),
    ("fincast.metrics", "fincast.report"),
    ("fincast.metrics", "fincast.persist"),
]


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("include_deferred", [False, True])
def test_arrows_follow_the_flow_of_data(include_deferred):
    graph = _graph(include_deferred)
    bad = [
        (a, b)
        for a, b in _edges(graph)
        if any(_inside(a, low) for low in BELOW_BACKTEST) and _inside(b, "fincast.backtest")
    ]
    bad += [
        (a, b)
        for a, b in _edges(graph)
        for low, high in LAYERS
        if _inside(a, low) and _inside(b, high)
    ]
    assert bad == [], f"imports against the flow: {bad}"
