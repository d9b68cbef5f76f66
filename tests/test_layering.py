"""Imports run one way: the features stand on the ground floor, and no arrow runs back.

The import graph of hub/ is read with `ast` (module-level, function-level and
type-checking imports alike) and folded onto hub's subpackages and top modules
(`hub.quotas.store` counts as `hub.quotas`). Nothing here imports the modules, so a
missing optional dependency cannot hide an arrow.
"""

from __future__ import annotations

import ast
import functools
import graphlib
import itertools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import hub

HUB = Path(hub.__file__).resolve().parent

#: Everything else stands on these; they stand on nothing above them.
GROUND_FLOOR = ("hub.settings", "hub.errors", "hub.paths", "hub.yamlio", "hub.db", "hub.policy")
FEATURES = (
    "hub.gateway",
    "hub.kube",
    "hub.quotas",
    "hub.workshops",
    "hub.spawners",
    "hub.data",
    "hub.archive",
    "hub.config",
    "hub.cli",
)


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    imported: str
    path: Path
    line: int
    in_function: bool
    commented: bool  # a comment on the line, or right above the block of imports

    def where(self) -> str:
        return f"{self.path.relative_to(HUB.parent)}:{self.line}: import {self.imported}"


def unit(module: str) -> str:
    """hub.quotas.store -> hub.quotas; hub.cli -> hub.cli."""
    return ".".join(module.split(".")[:2])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(HUB.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _submodule(base: str, name: str) -> str:
    """base.name where that is a module of hub, else base (a name defined in it)."""
    candidate = HUB.parent.joinpath(*base.split("."), name)
    if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
        return f"{base}.{name}"
    return base


def _commented(lines: list[str], line: int) -> bool:
    if "#" in lines[line - 1]:
        return True
    above = line - 2
    while above >= 0 and (
        not lines[above].strip() or lines[above].strip().startswith(("from ", "import "))
    ):
        above -= 1  # one comment may speak for a block of imports
    return above >= 0 and lines[above].strip().startswith("#")


def imports_of(path: Path) -> list[Import]:
    source = path.read_text()
    lines = source.splitlines()
    importer = module_name(path)
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(child, importer, path.name == "__init__.py")
                # `from hub import eo` imports the module hub.eo, not just the package
                names = [_submodule(base, alias.name) for alias in child.names]
            for name in names:
                if name == "hub" or name.startswith("hub."):
                    commented = _commented(lines, child.lineno)
                    found.append(Import(importer, name, path, child.lineno, inside, commented))
            visit(child, inside)

    visit(ast.parse(source, str(path)), False)
    return found


@functools.cache
def all_imports() -> list[Import]:
    return [found for path in sorted(HUB.rglob("*.py")) for found in imports_of(path)]


def unit_graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for found in imports:
        graph[unit(found.importer)]  # every unit is a node, importing or not
        if unit(found.imported) not in (unit(found.importer), "hub"):
            graph[unit(found.importer)].add(unit(found.imported))
    return graph


def test_the_reader_sees_the_imports_it_should() -> None:
    """Guards the checks below: a walker that saw nothing would pass them all."""
    graph = unit_graph(all_imports())
    assert "hub.settings" in graph["hub.config"]  # a module-level import
    assert "hub.local" in graph["hub.cli"]  # a function-level one (sdl up)


def test_no_cycle_among_hubs_packages_and_modules() -> None:
    imports = all_imports()
    try:
        order = list(graphlib.TopologicalSorter(unit_graph(imports)).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        arrows = [
            found.where()
            for a, b in itertools.pairwise(cycle)
            for found in imports
            if unit(found.importer) == b and unit(found.imported) == a
        ]
        raise AssertionError(
            f"import cycle {' <- '.join(cycle)}; break one of these arrows:\n  "
            + "\n  ".join(arrows)
        ) from None
    assert set(GROUND_FLOOR) <= set(order)


def test_the_ground_floor_imports_no_feature() -> None:
    back = [
        found.where()
        for found in all_imports()
        if unit(found.importer) in GROUND_FLOOR and unit(found.imported) in FEATURES
    ]
    assert not back, (
        "the ground floor reaches up into a feature; move what it needs down (or the "
        "import up into the feature):\n  " + "\n  ".join(back)
    )


def test_imports_across_packages_inside_functions_say_why() -> None:
    """An import hidden in a function must not be how a cycle is dodged: with no cycle
    left, such imports go to the top, unless a comment says why (e.g. a heavy library
    loaded only on a cold path)."""
    hidden = [
        found.where()
        for found in all_imports()
        if found.in_function
        and unit(found.imported) not in (unit(found.importer), "hub")
        and not found.commented
    ]
    assert not hidden, (
        "move these imports to the top of their module, or say on the line (or right "
        "above) why they must wait:\n  " + "\n  ".join(hidden)
    )
