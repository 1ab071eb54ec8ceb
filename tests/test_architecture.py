"""The package layout holds: layers import only downwards, nothing imports in a circle (both by
import-linter's contracts in pyproject.toml), and a package reaches another package's data only
through that package's service, never its repository."""

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).parents[1]


def test_import_contracts_are_kept() -> None:
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "2 kept, 0 broken" in lint.stdout


def test_no_package_imports_another_packages_repository() -> None:
    graph = grimp.build_graph("cinelibre")
    crossings = sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.endswith(".repository") and imported.split(".")[1] != importer.split(".")[1]
    )

    assert crossings == []
