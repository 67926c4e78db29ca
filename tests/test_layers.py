"""The packages of bassi_ci import each other in one direction only (docs/design.md, "Package
layout"): a new import that points upwards fails here, before it becomes a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bassi_ci"
# Lowest first; each layer may import only itself, the layers below it and the helpers.
LAYERS = ["schedules", "tasks", "agent", "runs", "queue", "views", "scheduling", "generators", "ci", "commands", "cli"]
HELPERS = {"errors", "fsutil", "home", "clock", "output", "signals", "envnames", "procguard", "__version__"}
# Helpers import only each other, except the clock, which validates zones with schedules/.
HELPER_IMPORTS = {"clock": {"schedules"}}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bassi_ci"):
            parts = node.module.split(".")
            found.add(parts[1] if len(parts) > 1 else node.names[0].name)
    return found


def unit_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def test_packages_import_downwards_only() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = unit_of(path)
        if unit in LAYERS:
            allowed = {*LAYERS[: LAYERS.index(unit) + 1], *HELPERS, "error_handler"}
        elif unit == "__main__":
            allowed = {"cli"}
        else:  # a helper, or error_handler (a helper that only cli uses)
            allowed = {unit, *HELPERS, *HELPER_IMPORTS.get(unit, set())}
        for other in imports_of(path) - allowed:
            wrong.append(f"{path.relative_to(PACKAGE)} imports {other}")
    assert wrong == []
