"""The layout's rules, read from the code itself (docs/architecture.md says why).

The project's own modules are parsed with `ast`, never imported, and every `import` between
them is checked: the ground (`contract`) imports no app; apps import only downward
(accounts ← webhooks ← handles ← messaging ← monitoring); nothing imports `config`, the
top; there is no import cycle, counting imports inside functions too; domain modules
(services, selectors, events, tasks, models) never import an interface (`api`, the device
protocol); and an import inside a function says why it is there (`# lazy: …`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each package may import its own modules and those of lower layers only.
# `monitoring` (the operators' overview and /metrics) reads every app and is read by none.
LAYERS = {
    "contract": 0,
    "accounts": 1,
    "webhooks": 2,
    "handles": 3,
    "messaging": 4,
    "monitoring": 5,
    "config": 6,
}
DOMAIN_PARTS = frozenset({"services", "selectors", "events", "tasks", "models", "registry"})
INTERFACE_PARTS = frozenset({"api", "device", "views", "forms", "urls", "admin", "templatetags"})


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool
    has_reason: bool

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported} (line {self.line})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    modules = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[_module_name(path)] = path
    return modules


MODULES = _project_modules()


def _resolve(name: str) -> str | None:
    """The project module `name` refers to (a module, or the module defining a name)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports_of(module: str, path: Path) -> list[Import]:
    source = path.read_text()
    lines = source.splitlines()
    found: list[Import] = []

    def has_reason(line: int) -> bool:
        nearby = lines[max(0, line - 6) : line]
        return any("# lazy:" in text for text in nearby)

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking_block(child):
                continue
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            names: list[str] = []
            line = getattr(child, "lineno", 0)
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                names = [f"{child.module}.{alias.name}" for alias in child.names]
            for name in names:
                target = _resolve(name)
                if target is not None and target != module:
                    found.append(Import(module, target, line, in_function, has_reason(line)))
            visit(child, nested)

    visit(ast.parse(source), in_function=False)
    return found


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports_of(module, path)]


def _package(module: str) -> str:
    return module.split(".", 1)[0]


def test_the_ground_imports_no_app():
    upward = [
        str(i)
        for i in IMPORTS
        if _package(i.importer) == "contract" and _package(i.imported) != "contract"
    ]
    assert upward == []


@pytest.mark.parametrize("package", [p for p in LAYERS if p != "config"])
def test_an_app_imports_only_itself_and_lower_layers(package):
    upward = [
        str(i)
        for i in IMPORTS
        if _package(i.importer) == package and LAYERS[_package(i.imported)] > LAYERS[package]
    ]
    assert upward == []


def test_there_is_no_import_cycle():
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for i in IMPORTS:
        graph[i.importer].add(i.imported)
    cycles = [component for component in _strongly_connected(graph) if len(component) > 1]
    assert cycles == []


def test_domain_modules_never_import_an_interface():
    def is_domain(module: str) -> bool:
        parts = set(module.split("."))
        return bool(parts & DOMAIN_PARTS) and not parts & INTERFACE_PARTS

    def is_interface(module: str) -> bool:
        return bool(set(module.split(".")[1:]) & INTERFACE_PARTS)

    wrong = [str(i) for i in IMPORTS if is_domain(i.importer) and is_interface(i.imported)]
    assert wrong == []


def test_every_import_inside_a_function_says_why():
    unexplained = [str(i) for i in IMPORTS if i.in_function and not i.has_reason]
    assert unexplained == []


def test_the_rules_see_the_code():
    """The walk finds the imports it checks (a broken walk would pass everything above)."""
    assert any(i.importer == "messaging.services.sending" for i in IMPORTS)
    assert any(i.in_function for i in IMPORTS)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components
