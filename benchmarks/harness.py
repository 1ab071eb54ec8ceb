"""What the benchmarks in this folder share: a throw-away database, a server process that is
started, waited for and stopped, load from httpx or from wrk, a process's memory read from /proc,
and the tables and report pieces they print or write.

Each benchmark is run as `.venv/bin/python benchmarks/NAME.py`, which puts this folder first on
sys.path, so `from harness import ...` finds this module without installing anything.
"""

import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import httpx
import numpy as np
import psycopg
from psycopg.rows import dict_row
from rich.console import Console
from rich.table import Table

from cinelibre.database import migrate
from cinelibre.database.connection import open_pool
from cinelibre.database.embedded import open_database
from cinelibre.demo import service as demo_service
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings

REPOSITORY = Path(__file__).parents[1]
WRK = Path("/usr/bin/wrk")
# Long enough for a first start that runs initdb, the migrations and the demo catalogue load.
SERVER_STARTUP_TIMEOUT_SECONDS = 180
# Settings a developer's shell may carry that would point a benchmark's server at another database
# or a shared cache than its own throw-away ones, and so change what is measured.
FOREIGN_SETTINGS = ("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "SUPABASE_URL", "SUPABASE_KEY")


# Environment and commands


def benchmark_environment(**settings: str) -> dict[str, str]:
    """This process's environment without FOREIGN_SETTINGS, plus `settings` (which may set one of
    them again, to a database the benchmark made itself)."""
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_SETTINGS}
    return env | settings


def caches_off() -> dict[str, str]:
    """Settings that turn every answer cache off: each *_CACHE_SECONDS (read from Settings, so a
    cache added later is off too) and the per-process query vector cache."""
    seconds = {name.upper(): "0" for name in Settings.model_fields if name.endswith("_cache_seconds")}
    return seconds | {"QUERY_EMBEDDING_CACHE_SIZE": "0"}


def cinelibre_command(*args: str) -> list[str]:
    """`cinelibre ARGS` run by this interpreter, so the virtualenv's package is the one measured
    whatever is on PATH."""
    return [sys.executable, "-m", "cinelibre", *args]


def run_cinelibre(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a `cinelibre` command to the end and return what it printed; a failure stops the
    benchmark with the command's own output, which says why better than an exit code."""
    finished = subprocess.run(cinelibre_command(*args), env=env, cwd=cwd, capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"cinelibre {' '.join(args)} failed:\n{finished.stdout}\n{finished.stderr}")
    return finished


# Database


@dataclass(frozen=True)
class ScratchDatabase:
    """What scratch_database() made: the database's URL, the data directory a server started on it
    may use, and the settings for both."""

    url: str
    data_dir: Path
    settings: Settings


@contextmanager
def scratch_database(keep: Path | None = None) -> Iterator[ScratchDatabase]:
    """An embedded PostgreSQL in a temporary data directory, migrated to the current schema, with
    Settings that read no .env file: a benchmark measures a known database and leaves nothing
    behind. The server stops and the directory goes on the way out, unless it is `keep` (made if
    missing, reused if it holds a database), which stays for another run to measure again."""
    with tempfile.TemporaryDirectory() as folder:
        data_dir = keep or Path(folder)
        data_dir.mkdir(parents=True, exist_ok=True)
        with open_database(None, data_dir / "db") as database:
            migrate.upgrade_to_head(database.url)
            yield ScratchDatabase(database.url, data_dir, Settings(_env_file=None, data_dir=data_dir))


async def load_embedded_demo(url: str, settings: Settings) -> None:
    """The demo catalogue with every item embedded by the real model, as search needs it."""
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn, conn.transaction():
        await demo_service.load(conn)
    pool = await open_pool(url, settings)
    try:
        await search_service.embed_pending(pool, Embedder(settings))
    finally:
        await pool.close()


def let_imported_raters_log_in(conn: psycopg.Connection) -> None:
    """Imported MovieLens raters have no email or password; give them what registering would have
    given, so that access tokens signed for them are as good as a logged-in user's. The bcrypt cost
    is the cheapest: nobody logs in with it."""
    conn.execute(
        "UPDATE users SET email = 'rater' || id || '@bench.invalid', password_hash = %s "
        "WHERE imported_from IS NOT NULL AND email IS NULL",
        (bcrypt.hashpw(b"benchmark", bcrypt.gensalt(4)).decode(),),
    )


# Servers


def free_port() -> int:
    """A TCP port nothing listens on now, so that a benchmark's server never meets a developer's."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A server process a benchmark started, and where it answers."""

    name: str  # for messages: "cinelibre serve", "gunicorn"
    process: subprocess.Popen
    base_url: str
    started: float  # time.perf_counter() just before the process was started
    log_path: Path | None = None
    ready_seconds: float | None = None  # set by wait_until_answering

    def wait_until_answering(
        self,
        path: str = "/",
        *,
        timeout_seconds: float = SERVER_STARTUP_TIMEOUT_SECONDS,
        poll_seconds: float = 0.1,
        request_timeout: float = 2,
    ) -> float:
        """Poll GET `path` until it answers 200 and return the seconds since the process started
        (the start-up time). A server that exits or stays silent stops the benchmark with its log,
        instead of the benchmark waiting for ever."""
        deadline = time.perf_counter() + timeout_seconds
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode} before answering{self._log()}")
            try:
                if httpx.get(self.base_url + path, timeout=request_timeout).status_code == 200:
                    self.ready_seconds = time.perf_counter() - self.started
                    return self.ready_seconds
            except httpx.TransportError:
                pass
            time.sleep(poll_seconds)
        raise SystemExit(f"{self.name} did not answer within {timeout_seconds} s{self._log()}")

    def stop(self, how: signal.Signals = signal.SIGINT, timeout_seconds: float = 30) -> bool:
        """Ask the server to shut down (its clean shutdown releases the database); kill it if it
        has not within the timeout. True when it stopped by itself."""
        if self.process.poll() is not None:
            return True
        self.process.send_signal(how)
        try:
            self.process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return False
        return True

    def _log(self) -> str:
        return f":\n{self.log_path.read_text(errors='replace')}" if self.log_path else ""


def start_server(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    *,
    cwd: Path | None = None,
    log_path: Path | None = None,
) -> Server:
    """Start a server on 127.0.0.1:`port`; its output goes to `log_path`, or nowhere (a benchmark's
    terminal is for the results)."""
    started = time.perf_counter()
    if log_path is None:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        with log_path.open("w") as log:
            process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    return Server(name, process, f"http://127.0.0.1:{port}", started, log_path)


@contextmanager
def cinelibre_serving(env: dict[str, str], *serve_args: str, ready_path: str = "/", **wait: float) -> Iterator[Server]:
    """`cinelibre serve` on env's PORT (one uvicorn process), once it answers `ready_path`; stopped
    with SIGINT, as Ctrl-C would, on the way out. `wait` goes to Server.wait_until_answering."""
    server = start_server("cinelibre serve", cinelibre_command("serve", *serve_args), env, int(env["PORT"]))
    try:
        server.wait_until_answering(ready_path, **wait)
        yield server
    finally:
        server.stop()


# Load from httpx


def drive(
    base_url: str,
    paths: Sequence[str],
    concurrency: int,
    seconds: float,
    *,
    tokens: Sequence[str] = (),
    timeout: float = 30,
) -> list[float]:
    """GET `paths` round-robin from `concurrency` workers for `seconds` (each request a bearer
    token from `tokens`, round-robin too, when there are any) and return every request's latency
    in seconds. Anything but a 200 stops the benchmark: a fast error is not a fast answer."""

    async def run() -> list[float]:
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:

            async def worker(offset: int) -> None:
                n = offset
                while time.perf_counter() < deadline:
                    path = paths[n % len(paths)]
                    headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"} if tokens else None
                    started = time.perf_counter()
                    response = await client.get(path, headers=headers)
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise SystemExit(f"{path} answered {response.status_code}: {response.text}")
                    n += concurrency

            await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return latencies

    return asyncio.run(run())


def percentile_ms(latencies: Sequence[float], q: float) -> float:
    """The q-th percentile of latencies in seconds, in milliseconds."""
    return float(np.percentile(latencies, q)) * 1000


def cache_counts(base_url: str) -> dict[tuple[str, str], float]:
    """The API's cache lookups so far, by (cache, "hit" or "miss"), from its Prometheus metrics."""
    counts: dict[tuple[str, str], float] = {}
    for line in httpx.get(f"{base_url}/metrics", timeout=30).text.splitlines():
        if line.startswith("cinelibre_cache_requests_total{"):
            labels, value = line[len("cinelibre_cache_requests_total{") :].split("} ")
            fields = dict(part.split("=") for part in labels.split(","))
            counts[(fields["cache"].strip('"'), fields["result"].strip('"'))] = float(value)
    return counts


def hit_rates(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float], caches: Sequence[str]) -> str:
    """Each cache's share of hits among the lookups made between two cache_counts(), in the order
    of `caches`, joined by " / " ("–" for a cache not asked)."""
    shares = []
    for cache in caches:
        hits, misses = (after.get((cache, result), 0) - before.get((cache, result), 0) for result in ("hit", "miss"))
        shares.append(f"{hits / (hits + misses):.0%}" if hits + misses else "–")
    return " / ".join(shares)


def p50_p99(latencies: Sequence[float]) -> str:
    """'p50 / p99' in ms, the cell every latency table shows."""
    return f"{percentile_ms(latencies, 50):.1f} / {percentile_ms(latencies, 99):.1f}"


# Load from wrk


def require_wrk() -> None:
    """Stop with how to install wrk when it is missing, before any preparation is spent."""
    if not WRK.exists():
        print("install wrk: apt-get install wrk")
        sys.exit(1)


def wrk_version() -> str:
    """wrk's first line of `wrk -v` without its copyright, e.g. 'wrk 4.1.0 [epoll]', for reports."""
    said = subprocess.run([str(WRK), "-v"], capture_output=True, text=True).stdout.splitlines()
    return said[0].split(" Copyright")[0] if said else "wrk"


def lua_string(text: str) -> str:
    """A Lua string literal, for the Lua files that hand a benchmark's data to a wrk script."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def run_wrk(
    base_url: str, script: Path, result_path: Path, *, threads: int, connections: int, seconds: int, timeout: str = "5s"
) -> dict:
    """One wrk run with a Lua script whose done() writes the run's figures as JSON to `result_path`;
    those figures, as keyword arguments for WrkFigures (or a subclass). wrk's own text output is not
    parsed: it rounds its numbers and does not break errors down by status. A run that fails or
    writes nothing stops the benchmark with what wrk said."""
    command = [
        str(WRK),
        "-t",
        str(min(threads, connections)),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        "--timeout",
        timeout,
        "-s",
        str(script),
        base_url,
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if finished.returncode != 0 or not result_path.exists():
        raise SystemExit(f"wrk failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
    return json.loads(result_path.read_text())


@dataclass
class WrkFigures:
    """One wrk run's figures, as the done() of a wrk script writes them in JSON (see
    benchmarks/wrk/production_load.lua) and run_wrk() returns them, and how a report shows them."""

    requests: int
    duration_seconds: float
    errors: int  # non-2xx answers plus socket errors
    non_2xx: int
    socket_errors: dict[str, int]  # connect, read, write, timeout
    latency_ms: dict[str, float]  # p50, p95, p99, max
    statuses: dict[str, int]

    @property
    def successful_per_second(self) -> float:
        return (self.requests - self.non_2xx) / self.duration_seconds if self.duration_seconds else 0.0

    def error_summary(self) -> str:
        """'0', or the count with what it is made of, e.g. '12 (500×10, timeout×2)'."""
        if not self.errors:
            return "0"
        parts = [f"{status}×{count}" for status, count in sorted(self.statuses.items()) if not status.startswith("2")]
        parts += [f"{kind}×{count}" for kind, count in self.socket_errors.items() if count]
        return f"{self.errors} ({', '.join(parts)})"

    def latency(self, quantile: str) -> str:
        # wrk reports zeros when no answer came back within the run
        return f"{self.latency_ms[quantile]:.1f}" if self.requests else "–"


# Processes and memory


def read_rss_and_parent(pid: int) -> tuple[float | None, int | None]:
    """VmRSS in MB and the parent pid, from one read of /proc/<pid>/status (None when it is gone):
    the parent tells whether a pid still belongs to the process it was, once it may be reused."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return None, None
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    rss = int(fields["VmRSS"].split()[0]) / 1024 if "VmRSS" in fields else None
    parent = int(fields["PPid"]) if "PPid" in fields else None
    return rss, parent


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM, the kernel's high-water mark) in MB: a
    peak that sampling between two reads would miss. Raises FileNotFoundError when it is gone."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_pids(parent: int) -> list[int]:
    """The live children of a process, from /proc."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and read_rss_and_parent(int(entry.name))[1] == parent
    ]


def run_and_watch(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command to the end; its wall time and peak memory in MB (its VmHWM, read until it
    exits: once it has exited there is nothing left to read). A failure stops the benchmark with
    what the command wrote to stderr."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while child.poll() is None:
        try:
            peak = max(peak, peak_rss_mb(child.pid))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    if child.wait() != 0:
        raise SystemExit(child.stderr.read().decode() if child.stderr else f"{' '.join(command)} failed")
    return time.perf_counter() - started, peak


# Reports


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right_aligned: Collection[str] = (),
    caption: str | None = None,
    min_width: int | None = None,
) -> None:
    """A results table on the terminal; `min_width` keeps a wide table from wrapping its cells in
    a narrow (or absent) terminal."""
    table = Table(title=title, caption=caption)
    for column in columns:
        table.add_column(column, justify="right" if column in right_aligned else "left")
    for row in rows:
        table.add_row(*row)
    console = Console() if min_width is None else Console(width=max(Console().width, min_width))
    console.print(table)


def markdown_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, right_aligned: Collection[str] = ()
) -> list[str]:
    """The lines of a Markdown table; a '|' inside a cell is escaped so it cannot split the cell."""
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---:" if column in right_aligned else "---" for column in columns) + "|",
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def git_commit() -> str:
    """The commit measured, marked when the working tree differs from it, so that a result file
    says which code its numbers belong to."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} (with uncommitted changes)" if tree_is_dirty() else commit


# Result files an earlier benchmark wrote are not code: one run after another measures the same commit.
RESULTS = "benchmarks/results"


def tree_is_dirty() -> bool:
    """Whether tracked files other than results differ from the commit: results from such a tree
    belong to no commit."""
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", f":(exclude){RESULTS}"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
    )
    return bool(changed.stdout.strip())


def refuse_dirty_results(out: Path | None, allow_dirty: bool) -> None:
    """Stop before measuring when results would be written from uncommitted changes."""
    if out is not None and tree_is_dirty() and not allow_dirty:
        raise SystemExit("The working tree has uncommitted changes: commit them, or pass --allow-dirty.")


def write_results(
    path: Path,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    notes: Sequence[str] = (),
    right_aligned: Collection[str] = (),
) -> None:
    """A result file: the table in Markdown under the date, commit, machine and command it came from."""
    lines = [
        f"# {title}",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- Commit: {git_commit()}",
        f"- Machine: {machine_description()}",
        f"- Command: `{command_line()}`",
        "",
        *notes,
        *([""] if notes else []),
        *markdown_table(columns, rows, right_aligned=right_aligned),
        "",
    ]
    path.write_text("\n".join(lines))
    print(f"Written {path}")


def machine_description() -> str:
    """Cores, CPU model, memory, kernel and Python: what a reader needs to compare two result files."""
    cpu = "unknown CPU"
    memory = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        total_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f", {total_kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, StopIteration):
        pass
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}){memory}, {system}"


def command_line() -> str:
    """How this benchmark was run, relative to the repository, for a result file."""
    return " ".join([os.path.relpath(sys.executable, REPOSITORY), *sys.argv])
