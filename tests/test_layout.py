"""README's Layout table says what each package of app/ owns and may import; the code's
imports agree with it (import-linter holds the layers, this holds the table to them)."""

import ast
import re
from collections import defaultdict

from tests.conftest import REPO

FLOORS = {"core", "models", "catalog", "rules.language", "facts"}


def _package(module: str) -> str | None:
    """The table's name for a module of app: `app.rules.language.tree` → rules.language."""
    parts = module.split(".")
    if parts[0] != "app" or len(parts) < 2:
        return None
    if parts[1:3] == ["rules", "language"]:
        return "rules.language"
    return parts[1]


def _layout_table() -> dict[str, set[str] | None]:
    """Package → what it may import (None: anything), from README's Layout section."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    allowed: dict[str, set[str] | None] = {}
    for line in section.split("\n## ", 1)[0].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        may: set[str] | None = None
        if cells[2] != "everything":
            may = set(re.findall(r"`([\w.]+)`", cells[2]))
            if "floors" in cells[2]:
                may |= FLOORS
        for name in re.findall(r"`([\w.]+)`", cells[0]):
            allowed[name] = may
    return allowed


def _imports() -> dict[str, set[str]]:
    """Package → the other packages of app it imports (anywhere in its modules)."""
    found: dict[str, set[str]] = defaultdict(set)
    app = REPO / "app"
    for path in app.rglob("*.py"):
        owner = _package(".".join(path.relative_to(REPO).with_suffix("").parts))
        if owner in (None, "__init__", "__main__"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "app":
                    names = [f"app.{alias.name}" for alias in node.names]
            for name in names:
                target = _package(name)
                if target is not None and target != owner:
                    found[owner].add(target)
    return found


def _packages() -> set[str]:
    app = REPO / "app"
    found = {p.name for p in app.iterdir() if (p / "__init__.py").exists()}
    found |= {p.stem for p in app.glob("*.py")} - {"__init__", "__main__"}
    return found | {"rules.language"}


def test_every_package_of_app_has_a_row_in_the_readme_layout_table() -> None:
    assert _packages() == set(_layout_table())


def test_every_package_imports_only_what_the_readme_layout_table_allows() -> None:
    table = _layout_table()
    for package, imported in sorted(_imports().items()):
        allowed = table[package]
        if allowed is not None:
            assert imported <= allowed, f"{package} imports {sorted(imported - allowed)}"
