"""Building the web app (web/ into web/dist) and knowing when a build is needed.

The build is cached by a fingerprint of everything it is made from, written next to what it made
(dist/.fingerprint): an app whose sources did not change is not built again. Nothing here runs on
the API's event loop; `cinelibre serve` builds before the server starts."""

import fcntl
import hashlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

FINGERPRINT_FILE = ".fingerprint"
# What the built app is made from: a change to any of these makes dist/ stale. node_modules is
# covered by package-lock.json, which pins every package.
SOURCE_FOLDERS = ("src", "public")
SOURCE_FILES = ("index.html", "package.json", "package-lock.json")
SOURCE_PATTERNS = ("vite.config.*", "tsconfig*.json")
# Held while building, so that two `cinelibre serve` started together build once: the second
# waits, then finds dist/ current.
BUILD_LOCK_FILE = ".build.lock"
# A failed step's output is shown whole up to this many lines; a longer one by its first and last
# lines: npm states the reason first (then prints its usage), tsc and Vite list errors at the end.
FAILURE_OUTPUT_HEAD_LINES = 20
FAILURE_OUTPUT_TAIL_LINES = 40


class WebBuildError(RuntimeError):
    """The app could not be built; `output` holds the end of the failed step's own output."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class BuildOutcome(StrEnum):
    BUILT = "built"
    UP_TO_DATE = "up to date"


@dataclass(frozen=True)
class WebAppState:
    has_sources: bool  # a package.json: something to build
    is_built: bool  # dist/index.html: something to serve
    is_current: bool  # dist/ was built from the sources as they are now
    needs_install: bool  # npm ci first

    @property
    def needs_build(self) -> bool:
        return self.has_sources and not self.is_current


def dist_dir(web_dir: Path) -> Path:
    return web_dir / "dist"


def source_files(web_dir: Path) -> list[str]:
    """The files the build reads, as sorted POSIX paths relative to `web_dir`."""
    found: set[Path] = set()
    for folder in SOURCE_FOLDERS:
        found.update(path for path in (web_dir / folder).rglob("*") if path.is_file())
    found.update(web_dir / name for name in SOURCE_FILES if (web_dir / name).is_file())
    for pattern in SOURCE_PATTERNS:
        found.update(path for path in web_dir.glob(pattern) if path.is_file())
    return sorted(path.relative_to(web_dir).as_posix() for path in found)


def fingerprint(web_dir: Path) -> str:
    """SHA-256 over each source file's path and contents, in path order: the same sources give
    the same fingerprint on any machine, whatever the files' times."""
    digest = hashlib.sha256()
    for relative in source_files(web_dir):
        content = (web_dir / relative).read_bytes()
        digest.update(relative.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def built_fingerprint(web_dir: Path) -> str | None:
    """The fingerprint of the sources dist/ was built from; None when it was not built here."""
    path = dist_dir(web_dir) / FINGERPRINT_FILE
    return path.read_text().strip() if path.is_file() else None


def needs_install(web_dir: Path) -> bool:
    """Whether `npm ci` must run: node_modules is missing, or older than package-lock.json (npm ci
    replaces the whole folder, so the folder's time is when it was last installed)."""
    modules, lock = web_dir / "node_modules", web_dir / "package-lock.json"
    if not modules.is_dir():
        return True
    return lock.is_file() and modules.stat().st_mtime < lock.stat().st_mtime


def state(web_dir: Path) -> WebAppState:
    has_sources = (web_dir / "package.json").is_file()
    is_built = (dist_dir(web_dir) / "index.html").is_file()
    return WebAppState(
        has_sources=has_sources,
        is_built=is_built,
        is_current=is_built and has_sources and built_fingerprint(web_dir) == fingerprint(web_dir),
        needs_install=has_sources and needs_install(web_dir),
    )


def build(web_dir: Path, *, on_step: Callable[[str], None], force: bool = False) -> BuildOutcome:
    """Build dist/ unless it is current (or `force`): `npm ci` when needed, then `npm run build`.
    `on_step` hears one line per step. Raises WebBuildError when there is nothing to build, npm is
    missing or a step fails."""
    if not (web_dir / "package.json").is_file():
        raise WebBuildError(f"there is no web app in {web_dir} (no package.json)")
    npm = shutil.which("npm")
    if npm is None:
        raise WebBuildError("npm is not installed (it comes with Node.js)")
    with _build_lock(web_dir):
        sources = fingerprint(web_dir)
        if not force and built_fingerprint(web_dir) == sources and (dist_dir(web_dir) / "index.html").is_file():
            return BuildOutcome.UP_TO_DATE
        if needs_install(web_dir):
            on_step("installing its packages (npm ci)…")
            _run([npm, "ci", "--no-audit", "--no-fund"], web_dir)
        on_step("building (npm run build)…")
        started = time.monotonic()
        _run([npm, "run", "build"], web_dir)
        if not (dist_dir(web_dir) / "index.html").is_file():
            raise WebBuildError(f"`npm run build` wrote no {dist_dir(web_dir) / 'index.html'}")
        (dist_dir(web_dir) / FINGERPRINT_FILE).write_text(sources + "\n")
        on_step(f"built into {dist_dir(web_dir)} in {time.monotonic() - started:.1f} s.")
        return BuildOutcome.BUILT


def _run(command: list[str], web_dir: Path) -> None:
    finished = subprocess.run(command, cwd=web_dir, capture_output=True, text=True, errors="replace", check=False)
    if finished.returncode != 0:
        output = (finished.stdout + finished.stderr).strip().splitlines()
        step = " ".join(["npm", *command[1:]])
        raise WebBuildError(f"`{step}` failed with exit status {finished.returncode}", "\n".join(shortened(output)))


def shortened(lines: list[str]) -> list[str]:
    """The lines of a failed step's output worth showing (see FAILURE_OUTPUT_HEAD_LINES)."""
    head, tail = FAILURE_OUTPUT_HEAD_LINES, FAILURE_OUTPUT_TAIL_LINES
    if len(lines) <= head + tail:
        return lines
    return [*lines[:head], f"[… {len(lines) - head - tail} lines …]", *lines[-tail:]]


@contextmanager
def _build_lock(web_dir: Path) -> Iterator[None]:
    with (web_dir / BUILD_LOCK_FILE).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
