"""Imports run one way: a package imports only its own layer's packages and the layers below.

The layer order is written once, in ``LAYERS`` (lowest first); the README's layout table
draws the same picture. Every ``import`` of every ``.py`` of the packages counts, including
imports inside functions (a lazy import is still a dependency). ``tests/``, ``scripts/`` and
``services/`` are tooling around the packages and may import anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LAYERS: tuple[tuple[str, ...], ...] = (
    ("contracts",),  # records that cross a process, with their serialisation
    ("rules",),  # pure logic: no environment, no files
    ("settings",),  # environment and files -> the models of contracts and rules
    ("sources", "sinks"),  # connectors that only move data; InfluxDB points
    ("dataflows", "collectors", "simulators", "notifier", "jobs", "wallets"),  # processes; wallets: the wallet store and imports
    # who may read what (users, scopes, sign-in limits) and the scoped InfluxDB reads: below both
    # apps so the dashboard and the API share one scope model and one user store, not two copies
    ("access",),
    ("dashboard", "bench", "api"),  # read what the processes wrote; drive them; serve it to integrators
)
LAYER_OF = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # ``from rules.fleet import engine`` imports rules.fleet.engine
                yield node.lineno, f"{module}.{alias.name}"


def package_files(root: Path) -> Iterator[Path]:
    for pkg in LAYER_OF:
        yield from sorted((root / pkg).rglob("*.py"))


def layer_violations(root: Path) -> list[str]:
    """``file:line: a (layer i) imports b (layer j > i)`` for every upward import."""
    found = []
    for path in package_files(root):
        own = path.relative_to(root).parts[0]
        for line, module in imported_modules(path, root):
            top = module.split(".")[0]
            if top in LAYER_OF and LAYER_OF[top] > LAYER_OF[own]:
                found.append(f"{path.relative_to(root)}:{line}: {own} (layer {LAYER_OF[own]}) imports {module} "
                             f"(layer {LAYER_OF[top]})")
    return sorted(set(found))


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports (only modules that exist as files)."""
    files = {module_name(p, root): p for p in package_files(root)}
    return {m: {t for _, t in imported_modules(p, root) if t in files and t != m} for m, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m, targets in graph.items():
        out.setdefault(m.split(".")[0], set()).update(t.split(".")[0] for t in targets if t.split(".")[0] != m.split(".")[0])
    return out


def test_every_package_has_a_layer() -> None:
    """A new top-level package must be placed in LAYERS, or it would escape the check."""
    skip = {"tests", "scripts", "services", "var", "docs", "config", "schemas", "ticktrack.egg-info"}
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in skip
                and any(p.rglob("*.py"))}
    assert packages == set(LAYER_OF)
    assert len(LAYER_OF) == sum(len(layer) for layer in LAYERS), "a package sits in two layers"


def test_no_package_imports_a_higher_layer() -> None:
    assert layer_violations(ROOT) == []


def test_no_import_cycles() -> None:
    graph = import_graph(ROOT)
    assert cycles(package_graph(graph)) == []
    assert cycles(graph) == []


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    """The walk itself: an upward import (also a relative and a lazy one) and a cycle are found."""
    for pkg in LAYER_OF:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "rules" / "a.py").write_text("def f():\n    from dataflows import b\n")
    (tmp_path / "dataflows" / "b.py").write_text("from . import c\n")
    (tmp_path / "dataflows" / "c.py").write_text("import dataflows.b\nfrom rules import a\n")
    assert layer_violations(tmp_path) == ["rules/a.py:2: rules (layer 1) imports dataflows (layer 4)",
                                          "rules/a.py:2: rules (layer 1) imports dataflows.b (layer 4)"]
    assert cycles(import_graph(tmp_path)) == [["dataflows.b", "dataflows.c", "rules.a"]]
    assert cycles(package_graph(import_graph(tmp_path))) == [["dataflows", "rules"]]


# rules/ is pure: what it needs arrives as arguments, never from the environment or a file.
IMPURE_MODULES = frozenset({"os", "pathlib", "io", "shutil", "tempfile", "dotenv", "pydantic_settings", "settings"})
IMPURE_NAMES = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "getenv", "environ"})


def impurities(root: Path) -> list[str]:
    """``file:line: what`` for every import of an I/O module and every file or environment access."""
    found = []
    for path in sorted((root / "rules").rglob("*.py")):
        for line, module in imported_modules(path, root):
            if module.split(".")[0] in IMPURE_MODULES:
                found.append(f"{path.relative_to(root)}:{line}: imports {module}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Name, ast.Attribute)):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if name in IMPURE_NAMES:
                    found.append(f"{path.relative_to(root)}:{node.lineno}: uses {name}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                found.append(f"{path.relative_to(root)}:{node.lineno}: uses open")
    return sorted(set(found))


def test_rules_read_no_environment_and_no_file() -> None:
    assert impurities(ROOT) == []


def test_the_purity_check_catches_a_file_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "x.py").write_text("import os\n\ndef f(p):\n    return p.read_text(), os.environ, open(p), p.open\n")
    assert impurities(tmp_path) == ["rules/x.py:1: imports os", "rules/x.py:4: uses environ", "rules/x.py:4: uses open",
                                    "rules/x.py:4: uses read_text"]
