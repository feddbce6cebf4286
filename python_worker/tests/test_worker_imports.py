"""The worker's modules import one way: no circle between them, and no module takes another's private names.

Read from the source (every import statement, those inside functions too), so an
import delayed to dodge a circle counts as the circle it is.
"""
from __future__ import annotations

import ast
import unittest
from pathlib import Path
from typing import Optional

import pyudf.worker

WORKER_DIR = Path(pyudf.worker.__file__).parent
PACKAGE = "pyudf.worker"


def worker_modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in sorted(WORKER_DIR.glob("*.py"))}


def imported_names(tree: ast.Module) -> list[tuple[str, str, int]]:
    """(module, name, line) of each `from module import name`; (module, "", line) of each `import module`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, "", node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = ".".join([*PACKAGE.split(".")[: len(PACKAGE.split(".")) - node.level + 1], module]).rstrip(".")
            found.extend((module, alias.name, node.lineno) for alias in node.names)
    return found


def worker_module_of(module: str, name: str, modules: dict[str, ast.Module]) -> Optional[str]:
    """The worker module an import brings in (`from pyudf.worker import x` included), else None."""
    if module.startswith(PACKAGE + "."):
        return module[len(PACKAGE) + 1:].split(".")[0]
    if module == PACKAGE and name in modules:
        return name
    return None


def import_graph(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in modules.items():
        for module, imported, _ in imported_names(tree):
            target = worker_module_of(module, imported, modules)
            if target is not None and target != name:
                graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of imports as the modules along it (first one repeated at the end); [] when there is none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return []
        path.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return []

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return []


class WorkerImportsTest(unittest.TestCase):
    def test_find_cycle_finds_one(self):
        self.assertEqual(find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}), ["a", "b", "c", "a"])
        self.assertEqual(find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}), [])

    def test_no_circle_of_imports(self):
        self.assertEqual(find_cycle(import_graph(worker_modules())), [])

    def test_no_private_name_taken_from_another_module(self):
        taken = [
            f"{name}.py:{line}: from {module} import {imported}"
            for name, tree in worker_modules().items()
            for module, imported, line in imported_names(tree)
            if module.split(".")[0] == "pyudf" and imported.startswith("_") and not imported.startswith("__")
        ]
        self.assertEqual(taken, [])

    def test_the_kinds_loaders_do_not_import_the_dispatch(self):
        graph = import_graph(worker_modules())
        kinds = ["scalar_functions", "table_functions", "aggregate_functions", "table_aggregate_functions"]
        self.assertTrue(set(kinds) <= graph["functions"], graph["functions"])
        self.assertEqual([kind for kind in kinds if "functions" in graph[kind]], [])
        self.assertEqual([kind for kind in kinds if "loading" not in graph[kind]], [])


if __name__ == "__main__":
    unittest.main()
