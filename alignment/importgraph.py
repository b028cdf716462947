"""The project's import graph, read from the source (AST), lazy imports inside functions included.

Used by alignment/tests/test_architecture.py; runnable on its own to print the graph's cycles:
`python -m alignment.importgraph`. Pure Python: no Django import, nothing is executed.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("alignment", "sla", "leads", "feedback")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path = ROOT, apps: Iterable[str] = APPS) -> dict[str, Path]:
    """Every module of the apps except tests and migrations."""
    modules = {}
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            rel = path.relative_to(root).parts
            if "tests" in rel or "migrations" in rel:
                continue
            modules[module_name(path, root)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an import names (`a.b.c` may be module a.b.c, or a name c in module a.b)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            target = _resolve(name, modules)
            if target and target != module:
                found.add(target)
    # `from leads.scoring import x` also runs leads/scoring/__init__: that is an edge only to the package
    return found


def import_graph(root: Path = ROOT, apps: Iterable[str] = APPS) -> dict[str, set[str]]:
    modules = project_modules(root, apps)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted, biggest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found, key=lambda c: (-len(c), c))


def main() -> None:
    graph = import_graph()
    print(f"{len(graph)} modules, {sum(len(v) for v in graph.values())} import arrows")
    found = cycles(graph)
    print(f"{len(found)} cycle(s)")
    for component in found:
        print("  cycle:", " <-> ".join(component))
        for name in component:
            inner = sorted(graph[name] & set(component))
            print(f"    {name} -> {', '.join(inner)}")


if __name__ == "__main__":
    main()
