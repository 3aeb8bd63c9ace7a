"""Where a module lives says what it may import: features/ is below training/, never above it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from jobs.runtime.conf import PROJECT_ROOT


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


def test_no_module_of_training_imports_jobs() -> None:
    """Training is pure (DataFrames and plain parameters in): the jobs read, register and log."""
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(_imported_packages(path) & {"jobs"})
        for path in sorted((PROJECT_ROOT / "training").glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# `__main__` is the one name Python itself gives meaning to: a package's entry point, one a package.
_NAMES_PYTHON_GIVES = {"__init__.py", "__main__.py"}


def test_jobs_top_level_holds_the_steps_only() -> None:
    """Step entry points, nightly and the CLI; the platform and the tools live in sub-rooms."""
    top = sorted(path.name for path in (PROJECT_ROOT / "jobs").glob("*.py"))
    assert len(top) <= 16, top
    assert {"runtime", "reporting", "simulator", "bench"} <= {
        path.name for path in (PROJECT_ROOT / "jobs").iterdir() if (path / "__init__.py").is_file()
    }


def test_module_names_are_unique_across_the_project() -> None:
    """A name says one thing: `grep`, tracebacks and notebooks never need the package to tell two apart."""
    homes: dict[str, list[str]] = {}
    for package in ("jobs", "features", "training", "data_contracts", "tests"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if path.name not in _NAMES_PYTHON_GIVES:
                homes.setdefault(path.name, []).append(str(path.relative_to(PROJECT_ROOT)))
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}


# The layers of the lakehouse: a string that names `layer.table` outside the catalog is a table
# spelled at a call instead of declared once.
_TABLE_NAME = re.compile(
    r"(?<![\w.])(bronze|quarantine|silver|features|graph|gold|ops)\.(?!py\b)[a-z_]+\b"
)
_CATALOG = Path("jobs/runtime/catalog.py")
# The simulator writes the landing zone and the bench reads Parquet exports: neither names a
# table of the lakehouse, so neither is excepted.
_EXCEPTED: dict[Path, str] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (a docstring names tables to explain, not to read them)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _quoted_table_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # f"bronze.{raw}": the literal head names a layer
            head = node.values[0] if node.values else None
            if isinstance(head, ast.Constant) and re.search(
                r"(?<![\w.])(bronze|quarantine|silver|features|graph|gold|ops)\.$", str(head.value)
            ):
                hits.append(f"{path.name}:{node.lineno}: f-string {head.value}{{...}}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and (match := _TABLE_NAME.search(node.value))
        ):
            hits.append(f"{path.name}:{node.lineno}: {match.group(0)}")
    return hits


def test_tables_are_named_only_in_the_catalog() -> None:
    """Steps name a table by its catalog entry; only jobs/runtime/catalog.py spells `layer.table`
    (the next step, point-in-time reads, rests on every read going through the catalog)."""
    found = {
        str(path.relative_to(PROJECT_ROOT)): hits
        for package in ("jobs", "features", "training")
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if path.relative_to(PROJECT_ROOT) not in (_CATALOG, *_EXCEPTED)
        and (hits := _quoted_table_names(path))
    }
    assert found == {}
