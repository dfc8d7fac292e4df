"""The pipeline's layers only point down, the device side stays TensorFlow-free, and no private
name crosses a package: pyproject.toml's import-linter contracts, run for real, plus an AST scan."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, require

LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"]


def _importlinter():
    require("importlinter", "pip install -e '.[test]'")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(LINT, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    _importlinter()
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_layer_contract(tmp_path):
    """The contract is not vacuous: the zoo importing the API (an arrow up) is caught, with its chain."""
    _importlinter()
    shutil.copytree(ROOT / "edgekit", tmp_path / "edgekit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "edgekit" / "zoo" / "count.py", "a", encoding="utf-8") as handle:
        handle.write("\nfrom edgekit.api import bench  # noqa: E402,F401  (an upward import, on purpose)\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "edgekit.zoo is not allowed to import edgekit.api" in done.stdout


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_private_name_crosses_a_package():
    crossings = []
    for path in sorted((ROOT / "edgekit").rglob("*.py")):
        own = _package(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edgekit"):
                if _package(node.module) == own:
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        crossings.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{alias.name}")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and node.value.id in _imported_modules(path, own):
                crossings.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    assert not crossings, "private names used across packages:\n" + "\n".join(crossings)


def _imported_modules(path: Path, own: str) -> set[str]:
    """Local names bound to edgekit modules of other packages (``from edgekit.export import rewrite``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edgekit"):
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if _package(target) != own and (ROOT / Path(*target.split("."))).with_suffix(".py").exists():
                    names.add(alias.asname or alias.name)
    return names
