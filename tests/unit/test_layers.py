"""Imports point down the layers, and only the wiring builds connections.

Read from the source, not imported: a violation fails here before it can
hide behind a lazy import inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pcem"
ENTRY_POINTS = {"api", "cli", "processors"}
# What may import what, among the entry points (the CLI launches the API).
ENTRY_POINT_MAY_IMPORT = {"cli": {"api", "processors"}, "api": set(), "processors": set()}
INFRASTRUCTURE = ("sqlalchemy", "psycopg", "redis", "litestar", "celery", "kombu", "httpx")
BUILDERS = ("create_engine", "ConnectionPool", "AsyncConnectionPool", "from_url")


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        yield name, ast.parse(path.read_text(), filename=str(path))


def imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):  # every import, also those inside functions
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize(
    ("module", "tree"), list(modules()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_nothing_imports_back_up_into_an_entry_point(module: str, tree: ast.Module) -> None:
    own = layer(module)
    allowed = ENTRY_POINT_MAY_IMPORT.get(own, set()) | {own}
    for target in imported(tree):
        target_layer = layer(target) if target.startswith("pcem.") else ""
        if target_layer in ENTRY_POINTS:
            assert target_layer in allowed, f"{module} imports {target}"


@pytest.mark.parametrize(
    ("module", "tree"),
    [(m, t) for m, t in modules() if layer(m) == "aggregates"],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_domain_imports_no_infrastructure(module: str, tree: ast.Module) -> None:
    for target in imported(tree):
        assert not target.startswith(INFRASTRUCTURE), f"{module} imports {target}"
        if target.startswith("pcem."):
            assert layer(target) == "aggregates", f"{module} imports {target}"


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
