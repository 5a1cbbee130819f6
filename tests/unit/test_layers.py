"""Imports point down the layers, and only the wiring builds connections.

Read from the source, not imported: a violation fails here before it can
hide behind a lazy import inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pcem"

# Every package and root module of pcem/, bottom first. A part may import its own
# modules and any part of a lower layer; never a part of its own layer or above.
LAYERS: list[set[str]] = [
    {"aggregates", "contacts", "settings", "database"},  # the domain; configuration; SQL
    {"eventstore", "identity", "logs", "readiness", "embedded", "migrate"},
    {"commands", "projections", "notifications"},  # write side, read models, ledger
    {"support", "projector", "imports", "export"},  # over commands and read models
    {"erasure"},  # acts on tombstones: over the projector, commands and the ledger
    {"wiring"},  # builds every part from the settings
    {"api", "processors"},  # entry points: HTTP, Celery
    {"cli"},  # launches the others
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
INFRASTRUCTURE = ("sqlalchemy", "psycopg", "redis", "litestar", "celery", "kombu", "httpx")
BUILDERS = ("create_engine", "ConnectionPool", "AsyncConnectionPool", "from_url")

Source = tuple[str, ast.Module]


def modules() -> Iterator[Source]:
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        yield name.removesuffix(".__init__"), ast.parse(path.read_text(), filename=str(path))


def imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):  # every import, also those inside functions
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def part(module: str) -> str:
    """The package or root module of pcem/ that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def back_imports(sources: Iterable[Source]) -> list[str]:
    """Every import that does not point down the layers."""
    found = []
    for module, tree in sources:
        own = part(module)
        for target in imported(tree):
            if not target.startswith("pcem.") or part(target) == own:
                continue
            if RANK[part(target)] >= RANK[own]:
                found.append(f"{module} imports {target}")
    return sorted(set(found))


def test_every_part_of_pcem_has_a_layer() -> None:
    parts = {part(module) for module, _ in modules()} - {""}
    assert parts == set(RANK)


def test_imports_only_point_down_the_layers() -> None:
    assert back_imports(modules()) == []


def test_a_planted_back_import_is_found() -> None:
    planted = [
        ("pcem.projections.people", ast.parse("from pcem.projector.tracking import x")),
        ("pcem.commands.people", ast.parse("import pcem.projections.people_view")),
        ("pcem.aggregates.person", ast.parse("def f():\n    from pcem.api import app")),
        ("pcem.api.people", ast.parse("from pcem.wiring import Container")),  # down: fine
    ]
    assert back_imports(planted) == [
        "pcem.aggregates.person imports pcem.api",
        "pcem.aggregates.person imports pcem.api.app",
        "pcem.commands.people imports pcem.projections.people_view",
        "pcem.projections.people imports pcem.projector.tracking",
        "pcem.projections.people imports pcem.projector.tracking.x",
    ]


def controllers() -> dict[str, ast.Module]:
    def defines_controller(tree: ast.Module) -> bool:
        return any(
            isinstance(node, ast.ClassDef)
            and any(isinstance(b, ast.Name) and b.id == "Controller" for b in node.bases)
            for node in tree.body
        )

    return {m: t for m, t in modules() if part(m) == "api" and defines_controller(t)}


def test_no_controller_imports_another() -> None:
    found = controllers()
    assert len(found) >= 9  # people, relationships, events, settings, notifications, …
    for module, tree in found.items():
        others = {target for target in imported(tree) if target in found} - {module}
        assert not others, f"{module} imports {others}"


@pytest.mark.parametrize(
    ("module", "tree"),
    [(m, t) for m, t in modules() if part(m) == "aggregates"],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_domain_imports_no_infrastructure(module: str, tree: ast.Module) -> None:
    for target in imported(tree):
        assert not target.startswith(INFRASTRUCTURE), f"{module} imports {target}"


def test_only_the_wiring_builds_engines_pools_and_clients() -> None:
    builders = {
        module
        for module, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in BUILDERS
    }
    assert builders == {"pcem.wiring"}
