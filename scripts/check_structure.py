"""Check the package's shape: no module over 600 lines, no function over 80, no import cycle, at most 12
modules directly under the package (the rest live in packages, one per family), and none of the imports the
layout forbids (docs/architecture.md says why each is forbidden).

Imports inside functions count (they are real edges at run time); imports under ``if TYPE_CHECKING:`` do
not count for cycles (they never run) but do for forbidden imports (they still tie the code together).
``LIGHT`` is about import time only: what importing a module runs (its module-level imports, those of every
module they import, and each one's enclosing packages) must not reach the packages it names; a function may
still import them when it is called.
Exit 1 with one line per finding, 0 when the shape holds.

    python scripts/check_structure.py [judgekit]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MAX_TOP_LEVEL_MODULES = 12  # __init__.py and __main__.py do not count

#: (importer, imported, why): a module at or under ``importer`` must never import one at or under ``imported``.
FORBIDDEN = [
    ("judgekit.stats", "judgekit.validate", "statistics know nothing of validation"),
    ("judgekit.stats", "judgekit.run", "arithmetic never imports the runner"),
    ("judgekit.stats", "judgekit.scoring", "arithmetic never imports the scorer"),
    ("judgekit.scoring.aggregate", "judgekit.run.engine", "aggregation reads job results, not the engine"),
    ("judgekit.run", "judgekit.scoring", "the runner knows nothing about scores"),
    ("judgekit.errors", "judgekit", "the error hierarchy sits below every other module"),
    ("judgekit.results", "judgekit.run", "the score file's models sit below the runner"),
    ("judgekit.results", "judgekit.scoring", "the score file's models sit below the scorer"),
    (
        "judgekit.judges",
        "judgekit.run",
        "judges sit below the runner: a backend declares its concurrency cap, the engine applies it; the cache directory is io's",
    ),
]
# backend details stay in judges/: the scorer and the gate ask the registry (identity, secrets, pricing)
FORBIDDEN += [
    (user, f"judgekit.judges.{backend}", "backend details stay in judges/: ask judgekit.judges.registry")
    for user in ("judgekit.scoring", "judgekit.gate")
    for backend in ("local", "python_object", "router", "providers", "pool", "openai_compat")
]

_RUN_STACK = ("judgekit.run", "judgekit.scoring", "judgekit.judges", "judgekit.rubric")
#: (module, packages, why): importing ``module`` must not load any module at or under ``packages``.
LIGHT = [
    ("judgekit.gate", _RUN_STACK, "the gate reads score files; only a drift re-score loads the run stack"),
    ("judgekit.score_reader", _RUN_STACK, "every command reads score files with it"),
]


def module_name(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_only_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        return [target] + [f"{target}.{alias.name}" for alias in node.names]
    return []


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
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
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def forbidden(edges: dict[str, set[str]], root: Path) -> list[str]:
    """The imports FORBIDDEN names, and any import of the CLI from outside it."""
    cli = f"{root.name}.cli"
    found = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            if under(target, cli) and not under(module, cli) and module != f"{root.name}.__main__":
                found.append(
                    f"forbidden import: {module} imports {target} (nothing outside the CLI imports it)"
                )
            for importer, imported_, why in FORBIDDEN:
                if under(module, importer) and under(target, imported_) and not under(target, importer):
                    found.append(f"forbidden import: {module} imports {target} ({why})")
    return found


def at_import(tree: ast.AST) -> set[int]:
    """The nodes that run when the module is imported: not inside a function, not under TYPE_CHECKING."""
    later = type_only_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            later.update(id(n) for n in ast.walk(node))
    return {id(n) for n in ast.walk(tree)} - later


def heavy(loads: dict[str, set[str]]) -> list[str]:
    """The LIGHT modules whose import reaches a package they must not load, with the chain that does."""
    found = []
    for start, packages, why in LIGHT:
        if start not in loads:
            continue
        came_from: dict[str, str | None] = {start: None}
        queue = [start]
        while queue:
            module = queue.pop(0)
            if any(under(module, p) for p in packages):
                chain = [module]
                while (prev := came_from[chain[-1]]) is not None:
                    chain.append(prev)
                path = " -> ".join(reversed(chain))
                found.append(f"heavy import: importing {start} loads {module} ({path}; {why})")
                break
            for nxt in sorted(loads[module]):
                if nxt not in came_from:
                    came_from[nxt] = module
                    queue.append(nxt)
    return found


def exported(root: Path) -> set[str]:
    """What ``from judgekit import NAME`` may name: a module or package directly under it, or a name of its
    ``__all__`` (mypy cannot check it: the package's lazy ``__getattr__`` accepts any name)."""
    names = {p.stem for p in root.glob("*.py")} | {p.parent.name for p in root.glob("*/__init__.py")}
    tree = ast.parse((root / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            names |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
    return names


def unknown_names(tree: ast.AST, path: Path, root: Path, known: set[str]) -> list[str]:
    return [
        f"{path}:{node.lineno}: from {root.name} import {alias.name}: no such module or exported name"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == root.name and not node.level
        for alias in node.names
        if alias.name not in known
    ]


def top_level(root: Path) -> list[str]:
    loose = sorted(p.name for p in root.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    if len(loose) <= MAX_TOP_LEVEL_MODULES:
        return []
    return [
        f"{root}: {len(loose)} modules directly under the package (max {MAX_TOP_LEVEL_MODULES}): "
        + ", ".join(loose)
    ]


def main(root: Path) -> int:
    files = {module_name(p): p for p in sorted(root.rglob("*.py"))}
    problems: list[str] = top_level(root)
    graph: dict[str, set[str]] = {m: set() for m in files}
    every: dict[str, set[str]] = {m: set() for m in files}  # type-only imports too
    # what importing each module runs: its enclosing packages, then its module-level imports
    loads: dict[str, set[str]] = {m: {m.rpartition(".")[0]} - {""} for m in files}
    known = exported(root)
    for module, path in files.items():
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > MAX_MODULE_LINES:
            problems.append(f"{path}: {source.count(chr(10))} lines (max {MAX_MODULE_LINES})")
        tree = ast.parse(source)
        problems += unknown_names(tree, path, root, known)
        skip = type_only_nodes(tree)
        now = at_import(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(
                        f"{path}:{node.lineno}: {node.name}() is {length} lines (max {MAX_FUNCTION_LINES})"
                    )
            for target in imported(node, module, path.name == "__init__.py"):
                while target and target not in files:
                    target = target.rpartition(".")[0]
                # importing an enclosing package (to reach a sibling) is not an edge back to this module
                if target and target != module and not module.startswith(target + "."):
                    every[module].add(target)
                    if id(node) not in skip:
                        graph[module].add(target)
                if target and target != module and id(node) in now:
                    loads[module].add(target)
    problems += ["import cycle: " + " <-> ".join(c) for c in find_cycles(graph)]
    problems += forbidden(every, root)
    problems += heavy(loads)
    for line in problems:
        print(line)
    print(f"structure: {len(files)} modules, {len(problems)} finding(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "judgekit")))
