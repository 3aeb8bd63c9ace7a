"""Where a module lives says what it may import: features/ is below training/, never above it."""

from __future__ import annotations

import ast
from pathlib import Path

from jobs.conf import PROJECT_ROOT


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_of_features_imports_training_or_jobs() -> None:
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(_imported_packages(path) & {"training", "jobs"})
        for path in sorted((PROJECT_ROOT / "features").glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
