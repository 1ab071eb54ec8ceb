"""Throughput, latency and memory of the API as it is deployed: one gunicorn master with one
UvicornWorker, ENVIRONMENT=production, on the demo catalogue plus MovieLens ml-latest-small
(embedded with the real model, rating and ranking models trained). Prints a table and writes
benchmarks/results/production_load.md and benchmarks/results/production_load.png.

    .venv/bin/python benchmarks/production_load.py [--seconds 10] [--mixed-seconds 60]
        [--concurrency 1 16 64] [--only popular search ...] [--dataset DIR] [--keep] [--uncached]
    .venv/bin/python benchmarks/production_load.py --seconds 3 --mixed-seconds 10   # a quick check

Preparing the database takes about three minutes on two cores (mostly `cinelibre embed`); --keep
leaves the data directory behind and --reuse DIR measures it again without preparing it.

What it does:
1. In a throw-away CINELIBRE_DATA_DIR (embedded PostgreSQL, DATABASE_URL unset) it loads the demo
   catalogue and its raters (the same loader the server runs on an empty database; it has to come
   first, because the import makes the catalogue non-empty), then runs `cinelibre import movielens`,
   `cinelibre embed` (the whole catalogue, a few minutes) and `cinelibre train`. The imported
   raters cannot log in, so the script gives them emails and a password hash and signs access
   tokens for them with the JWT_SECRET_KEY it hands to the server (what /auth/login would return).
2. It starts `gunicorn -w 1 -k uvicorn.workers.UvicornWorker 'cinelibre.app:create_app()'` with
   ENVIRONMENT=production, RATE_LIMITS=off (the load comes from one address) and the default
   LOG_LEVEL (info: one JSON access line per request, as deployed). The worker
   starts the embedded database itself, as a deployment without DATABASE_URL does (it joins the
   server this script keeps open). A thread reads the worker's VmRSS from /proc every 0.2 s for the
   whole run; the master is read too and reported apart; PostgreSQL's processes are not counted.
3. Every endpoint is called once, every search query once, every benchmark user's personalized
   list and every benchmark film's similar list once (so they are cached, as they are for a
   site's returning visitors), then wrk drives each endpoint at each concurrency for --seconds,
   then a weighted mix of all of them for --mixed-seconds at concurrency 16. What a list costs
   when it is not cached (a user's first visit, or their next one after they rated something) is
   its own row: personalized for UNCACHED_USERS other raters, one request at a time. Each run
   starts once the worker is idle again (it keeps answering the requests in flight when wrk
   stops). The app's caches stay as configured by default (entries expire: similar lists after
   5 minutes, search answers after 1), and the ratings posted in the ratings and mixed runs make
   those users' lists stale, so runs mix cached and computed answers as a deployment would; the
   hit rate of each cache during a run, read from GET /metrics, is reported next to it. With --uncached
   every answer cache is off (each *_CACHE_SECONDS setting at 0, and QUERY_EMBEDDING_CACHE_SIZE=0), so
   every answer is computed; its results go to production_load_uncached.md/.png. The worker runs with
   RETRAIN_AFTER_NEW_RATINGS=0, as the README deploys one small instance (training scheduled
   elsewhere); with the default it would start a `cinelibre train` child during the run.

wrk (`apt-get install wrk`) runs benchmarks/wrk/production_load.lua, which builds every request
(rotating tokens, movie ids and queries, random ratings) from tables this script writes into a
generated Lua file, and writes the run's figures as JSON. This machine has two cores shared by wrk,
the worker and PostgreSQL: one wrk thread (--wrk-threads) already sends far more requests than one
Python worker can answer, and a second would only take CPU from the server. Latency percentiles
are wrk's (from sending a request to its answer, all statuses; timed-out requests are counted as
errors, not as latencies). req/s counts 2xx answers only; errors are non-2xx answers plus socket
errors (connect, read, write, timeout at 5 s). Because the cores are shared, each run also reports
the share of the machine's CPU that processes other than the benchmark's (gunicorn, its
PostgreSQL, wrk, this script) used meanwhile: a run with a large share was disturbed.
"""

import argparse
import asyncio
import os
import random
import re
import resource
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from harness import (
    REPOSITORY,
    Server,
    WrkFigures,
    benchmark_environment,
    caches_off,
    child_pids,
    command_line,
    free_port,
    git_commit,
    let_imported_raters_log_in,
    lua_string,
    machine_description,
    markdown_table,
    peak_rss_mb,
    print_table,
    read_rss_and_parent,
    require_wrk,
    run_cinelibre,
    run_wrk,
    start_server,
    wrk_version,
)
from psycopg.rows import dict_row
from rich.console import Console

from cinelibre.auth.security import TokenCodec
from cinelibre.database import migrate
from cinelibre.database.embedded import open_database
from cinelibre.demo import service as demo_service

DATASET = Path(__file__).parents[2] / "shared" / "data" / "movielens" / "ml-latest-small"
RESULTS_DIR = Path(__file__).parent / "results"
LUA_SCRIPT = Path(__file__).parent / "wrk" / "production_load.lua"
GUNICORN = Path(sys.executable).parent / "gunicorn"
SERVER_STOP_TIMEOUT_SECONDS = 45
RSS_SAMPLE_INTERVAL_SECONDS = 0.2
BENCHMARK_USERS = 200
SIMILAR_MOVIES = 200
RANDOM_SEED = 20_240_601
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# A run starts once the worker has used less than this share of a core for half a second: a run
# ends with requests still in flight, which the server keeps answering after wrk hangs up.
IDLE_CPU_SHARE = 0.05
SETTLE_LIMIT_SECONDS = 120
DISTURBED_CPU_SHARE = 0.10
CACHE_LABELS = {
    "popular": "popular",
    "personalized": "personalized",
    "search": "search",
    "similar": "similar",
    "query_embedding": "query emb.",
}
# Raters whose lists are never asked for before their own run: each of their requests computes a
# list (the cost of a user's first visit, or of their next visit after they rated something).
UNCACHED_USERS = 400

# What each name in --only and in the mix stands for (the Lua script builds the requests).
ENDPOINTS = {
    "root": "GET /",
    "movies": "GET /movies",
    "popular": "GET /recommendations/popular",
    "personalized": "GET /recommendations/personalized",
    "personalized_uncached": "GET /recommendations/personalized (not cached)",
    "similar": "GET /recommendations/similar/movie/<id>",
    "search": "GET /search/semantic?q=...",
    "ratings": "POST /ratings",
}
# Roughly what a site's traffic looks like: most calls are someone opening their home page.
MIXED_WEIGHTS = {
    "personalized": 25,
    "popular": 20,
    "movies": 15,
    "similar": 15,
    "search": 10,
    "ratings": 10,
    "root": 5,
}
SEARCH_QUERIES = [
    "a heist film with a twist",
    "romantic comedy set in Mumbai",
    "astronauts stranded far from earth",
    "a detective hunting a serial killer in the rain",
    "coming of age story in a small town",
    "animated film about toys that come alive",
    "courtroom drama about a wrongly accused man",
    "gangsters rising and falling over decades",
    "a family road trip that goes wrong",
    "robots who want to be human",
    "war film about soldiers behind enemy lines",
    "ghost story in an old house",
    "musical about young dreamers in los angeles",
    "a con artist who fools everyone",
    "friendship between a boy and an alien",
    "time travel paradox thriller",
    "sports underdog team wins the championship",
    "revenge of a wronged bride",
    "village cricket match against colonial rulers",
    "father teaches his daughters to wrestle",
    "a chef who loses his sense of taste",
    "zombies overrun the city",
    "spy thriller with double agents in berlin",
    "a lonely man falls in love with his computer",
    "pirates searching for buried treasure",
    "dinosaurs brought back to life in a theme park",
    "students fight a corrupt education system",
    "epic about two warrior brothers and a kingdom",
    "satire about television news",
    "a boxer's last chance at glory",
    "mafia family drama in new york",
    "superheroes team up to save the world",
    "haunted hotel in the mountains in winter",
    "a prison escape planned for years",
    "two strangers talk all night in vienna",
    "dystopian future where books are burned",
    "survival alone on a deserted island",
    "black and white silent comedy",
    "documentary about climate change",
    "a teacher inspires his students to love poetry",
    "the sinking of a great ocean liner",
    "a bank robbery that turns into a hostage crisis",
    "kung fu master trains a reluctant student",
    "space opera with rebels against an empire",
    "murder mystery on a train",
    "dance film with rival crews",
    "biopic of a famous scientist",
    "monsters under the bed are afraid of children",
    "a road movie across the american desert",
    "political thriller about a presidential assassination",
]


@dataclass
class LoadResult(WrkFigures):
    """One wrk run of one endpoint (or the mix) at one concurrency: what done() in the Lua script
    reported, and what measure_run() read around it."""

    endpoint: str  # an ENDPOINTS key, or "mixed"
    concurrency: int
    # the app's cache lookups during the run, {cache: (hits, lookups)}, and the share of the
    # machine's CPU that processes other than this benchmark's used meanwhile
    cache_lookups: dict[str, tuple[float, float]] = field(default_factory=dict)
    others_cpu_share: float | None = None

    def cache_summary(self) -> str:
        """Hit rate of each cache consulted during the run, e.g. 'personalized 40%'."""
        parts = [
            f"{CACHE_LABELS.get(name, name)} {hits / lookups:.0%}"
            for name, (hits, lookups) in sorted(self.cache_lookups.items())
            if lookups
        ]
        return ", ".join(parts) or "–"


@dataclass
class MemorySample:
    seconds: float  # since the server was started
    phase: str
    worker_pid: int | None
    worker_mb: float | None
    master_mb: float | None


@dataclass
class Preparation:
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class MemorySampler(threading.Thread):
    """Reads the VmRSS of the gunicorn master and of its worker every RSS_SAMPLE_INTERVAL_SECONDS.
    The worker is looked up again whenever it disappears, so a restarted worker is followed (and
    counted in worker_pids)."""

    def __init__(self, master_pid: int, started: float) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.master_pid = master_pid
        self.started = started
        self.phase = "start-up"
        self.samples: list[MemorySample] = []
        self.worker_pids: list[int] = []
        self._worker_pid: int | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            worker_mb = self._read_worker()
            master_mb, _ = read_rss_and_parent(self.master_pid)
            self.samples.append(
                MemorySample(time.monotonic() - self.started, self.phase, self._worker_pid, worker_mb, master_mb)
            )
            self._stopping.wait(RSS_SAMPLE_INTERVAL_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)

    @property
    def worker_pid(self) -> int | None:
        return self._worker_pid

    def _read_worker(self) -> float | None:
        if self._worker_pid is not None:
            rss, parent = read_rss_and_parent(self._worker_pid)
            # the parent check guards against the pid having been reused by something else
            if rss is not None and parent == self.master_pid:
                return rss
            self._worker_pid = None
        self._worker_pid = find_worker(self.master_pid)
        if self._worker_pid is None:
            return None
        if self._worker_pid not in self.worker_pids:
            self.worker_pids.append(self._worker_pid)
        return read_rss_and_parent(self._worker_pid)[0]


def find_worker(master_pid: int) -> int | None:
    """The gunicorn worker: the master's child (with -w 1 there is one; a worker being replaced
    may briefly overlap with its successor, and then the newest one is the one that will serve)."""
    children = child_pids(master_pid)
    return max(children) if children else None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of each endpoint × concurrency run")
    parser.add_argument("--mixed-seconds", type=int, default=60, help="length of the mixed run (0: skip it)")
    parser.add_argument("--mixed-concurrency", type=int, default=16)
    parser.add_argument("--dataset", type=Path, default=DATASET, help="a MovieLens CSV folder (ml-latest-small)")
    parser.add_argument(
        "--concurrency", nargs="+", default=["1", "16", "64"], help="open connections, e.g. 1 16 64 or 1,16,64"
    )
    parser.add_argument("--only", nargs="+", choices=list(ENDPOINTS), help="measure only these endpoints")
    parser.add_argument("--wrk-threads", type=int, choices=(1, 2), default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and print its path")
    parser.add_argument(
        "--uncached", action="store_true", help="every answer cache off (*_CACHE_SECONDS=0, no query vector cache)"
    )
    parser.add_argument(
        "--reuse", type=Path, help="a data directory kept by an earlier --keep run: skip the import, embed and train"
    )
    args = parser.parse_args()
    args.concurrency = sorted({int(value) for item in args.concurrency for value in item.split(",") if value})
    if not args.concurrency or min(args.concurrency) < 1:
        parser.error("--concurrency needs positive numbers")
    if args.seconds < 1 or args.mixed_seconds < 0:
        parser.error("--seconds must be at least 1 and --mixed-seconds not negative")
    args.endpoints = args.only or list(ENDPOINTS)
    return args


def main() -> None:
    args = parse_args()
    require_wrk()
    if args.reuse is None and not (args.dataset / "ratings.csv").exists():
        sys.exit(f"{args.dataset} is not a MovieLens CSV folder (no ratings.csv); pass --dataset")
    console = Console(stderr=True)
    data_dir = args.reuse.resolve() if args.reuse else Path(tempfile.mkdtemp(prefix="cinelibre-production-load-"))
    jwt_secret = secrets.token_urlsafe(48)
    env = server_environment(data_dir, jwt_secret) | (caches_off() if args.uncached else {})
    try:
        # This process keeps a handle on the embedded server from start to end: the CLI commands
        # and the gunicorn worker join it, and it stops when the last handle is closed.
        with open_database(None, data_dir) as database:
            preparation = prepare_database(database.url, data_dir, env, args, console)
            tokens, uncached_tokens, similar_ids, catalogue_ids = benchmark_accounts(database.url, jwt_secret)
            results, memory, phases, log_tail = run_server_and_load(
                args, env, data_dir, (tokens, uncached_tokens), similar_ids, catalogue_ids, console
            )
    finally:
        stop_leftover_database(data_dir)
        if args.keep or args.reuse:
            console.print(f"Data directory kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    print_results(results, memory, uncached=args.uncached)
    RESULTS_DIR.mkdir(exist_ok=True)
    name = "production_load_uncached" if args.uncached else "production_load"
    markdown_path = RESULTS_DIR / f"{name}.md"
    markdown_path.write_text(markdown_report(results, memory, preparation, args))
    chart_path = RESULTS_DIR / f"{name}.png"
    write_chart(results, memory, phases, chart_path)
    console.print(f"Written {markdown_path.relative_to(REPOSITORY)} and {chart_path.relative_to(REPOSITORY)}")
    if log_tail:
        console.print("[yellow]The server logged errors; the end of its log:[/yellow]\n" + log_tail)


def server_environment(data_dir: Path, jwt_secret: str) -> dict[str, str]:
    """The deployment's environment. Settings a developer's shell may carry that would change what
    is measured (another database, a shared cache) are left out."""
    return benchmark_environment(
        CINELIBRE_DATA_DIR=str(data_dir),
        ENVIRONMENT="production",
        JWT_SECRET_KEY=jwt_secret,
        # Production serves /metrics only when asked: the cache hit rates are read from it.
        METRICS_ENABLED="true",
        RATE_LIMITS="off",
        # As deployed on one small instance (README, Koyeb): training runs as its own scheduled
        # process, not as a child of the worker, which would take the cores from serving for its
        # minute (with it, this benchmark measured ratings p95 over a second and timeouts in the
        # mixed run).
        RETRAIN_AFTER_NEW_RATINGS="0",
    )


def prepare_database(url: str, data_dir: Path, env: dict[str, str], args: argparse.Namespace, console: Console):
    preparation = Preparation()
    if args.reuse is None:
        migrate.upgrade_to_head(url)
        started = time.perf_counter()
        asyncio.run(load_demo_catalogue(url))
        preparation.seconds["demo catalogue"] = time.perf_counter() - started
        for label, command in (
            (f"cinelibre import movielens {args.dataset.name}", ["import", "movielens", str(args.dataset)]),
            ("cinelibre embed", ["embed"]),
            ("cinelibre train", ["train"]),
        ):
            with console.status(f"{label} …"):
                started = time.perf_counter()
                # run from the data directory so that a developer's .env in the working directory is not read
                finished = run_cinelibre(*command, env=env, cwd=data_dir)
            preparation.seconds[label] = time.perf_counter() - started
            said = (finished.stderr.strip() or finished.stdout.strip()).splitlines()
            console.print(f"{label}: {preparation.seconds[label]:.0f} s" + (f" — {said[-1]}" if said else ""))
    with psycopg.connect(url) as conn:
        for table in ("movies", "books", "users", "ratings"):
            preparation.counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        preparation.counts["embedded movies"] = conn.execute("SELECT count(*) FROM movie_embeddings").fetchone()[0]
    return preparation


async def load_demo_catalogue(url: str) -> None:
    """What the server does on its first start: the demo catalogue and raters, into an empty catalogue."""
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn, conn.transaction():
        if await demo_service.load_if_empty(conn) is None:
            raise SystemExit("the catalogue was not empty: the demo catalogue was not loaded")


def benchmark_accounts(url: str, jwt_secret: str) -> tuple[list[str], list[str], list[int], list[int]]:
    """Tokens of BENCHMARK_USERS raters and of up to UNCACHED_USERS others, SIMILAR_MOVIES rated
    movie ids, and every movie id."""
    generator = random.Random(RANDOM_SEED)
    with psycopg.connect(url) as conn:
        let_imported_raters_log_in(conn)
        raters = [row[0] for row in conn.execute("SELECT DISTINCT user_id FROM ratings ORDER BY user_id")]
        rated_movies = [row[0] for row in conn.execute("SELECT id FROM movies WHERE rating_count > 0 ORDER BY id")]
        catalogue_movies = [row[0] for row in conn.execute("SELECT id FROM movies ORDER BY id")]
    codec = TokenCodec(jwt_secret, timedelta(days=1))
    users = generator.sample(raters, min(BENCHMARK_USERS, len(raters)))
    others = [user for user in raters if user not in set(users)]
    uncached = generator.sample(others, min(UNCACHED_USERS, len(others)))
    similar = generator.sample(rated_movies, min(SIMILAR_MOVIES, len(rated_movies)))
    return [codec.issue(user) for user in users], [codec.issue(user) for user in uncached], similar, catalogue_movies


def run_server_and_load(args, env, data_dir, token_sets, similar_ids, catalogue_ids, console):
    """Start gunicorn, warm it, run every load, stop it. The results, the memory samples, the
    phases' time spans (for the chart) and the end of the server's log if it logged errors."""
    port = free_port()
    log_path = data_dir / "gunicorn.log"
    command = [
        str(GUNICORN),
        "-w",
        "1",
        "-k",
        "uvicorn.workers.UvicornWorker",
        "cinelibre.app:create_app()",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    work_dir = Path(tempfile.mkdtemp(prefix="wrk-", dir=data_dir))
    data_script = work_dir / "data.lua"
    tokens, uncached_tokens = token_sets
    data_script.write_text(lua_data(tokens, uncached_tokens, similar_ids, catalogue_ids))
    started = time.monotonic()
    server = start_server("gunicorn", command, env, port, cwd=data_dir, log_path=log_path)
    base_url = server.base_url
    sampler = MemorySampler(server.process.pid, started)
    sampler.start()
    phases: list[tuple[str, float, float]] = []
    results: list[LoadResult] = []
    cpu = CpuAccount(server.process.pid, data_dir)
    try:
        server.wait_until_answering("/", poll_seconds=0.2)
        console.print(f"gunicorn serving on {base_url} (master {server.process.pid}, worker {sampler.worker_pid})")
        sampler.phase = "warm-up"
        phase_started = time.monotonic() - started
        warm_up(base_url, tokens, similar_ids, catalogue_ids, console)
        phases.append(("warm-up", phase_started, time.monotonic() - started))
        # Uncached lists are measured one at a time only: at higher concurrency the run would run out
        # of users whose lists are not yet cached.
        plan = [
            (endpoint, {endpoint: 1}, concurrency, args.seconds)
            for endpoint in args.endpoints
            for concurrency in args.concurrency
            if endpoint != "personalized_uncached" or concurrency == 1
        ]
        if args.mixed_seconds:
            plan.append(("mixed", MIXED_WEIGHTS, args.mixed_concurrency, args.mixed_seconds))
        # the rotations of one endpoint carry on from run to run, so a run meets users (and films,
        # queries) the last one did not reach before it meets those whose answers are cached
        rotation_offsets: dict[str, int] = {}
        for name, weights, concurrency, seconds in plan:
            waited = wait_until_idle(sampler.worker_pid)
            if waited > 2:
                console.print(f"  (the worker was busy for {waited:.0f} s after the previous run)")
            sampler.phase = f"{name} c={concurrency}"
            phase_started = time.monotonic() - started
            result = measure_run(
                base_url,
                work_dir,
                data_script,
                cpu,
                sampler.worker_pid,
                Run(name, weights, concurrency, seconds, args.wrk_threads, rotation_offsets.get(name, 0)),
            )
            rotation_offsets[name] = rotation_offsets.get(name, 0) + result.requests
            results.append(result)
            if phases and phases[-1][0] == name:
                phases[-1] = (name, phases[-1][1], time.monotonic() - started)
            else:
                phases.append((name, phase_started, time.monotonic() - started))
            console.print(
                f"{ENDPOINTS.get(name, 'mixed')} c={concurrency}: {result.successful_per_second:.0f} req/s, "
                f"p99 {result.latency('p99')} ms, errors {result.error_summary()}, cache {result.cache_summary()}, "
                f"other processes {percent(result.others_cpu_share)} CPU"
            )
        worker_high_water = worker_high_water_mb(sampler.worker_pid)
    finally:
        sampler.phase = "stopping"
        stop_server(server, sampler.worker_pid)
        sampler.stop()
    memory = summarise_memory(sampler, phases, worker_high_water)
    log_text = log_path.read_text(errors="replace")
    log_tail = (
        "\n".join(log_text.splitlines()[-40:]) if any(word in log_text for word in ("ERROR", "Traceback")) else ""
    )
    return results, memory, phases, log_tail


def worker_high_water_mb(worker_pid: int | None) -> float:
    try:
        return peak_rss_mb(worker_pid) if worker_pid else float("nan")
    except (FileNotFoundError, ProcessLookupError):
        return float("nan")


def warm_up(base_url: str, tokens: list[str], similar_ids: list[int], catalogue_ids: list[int], console) -> None:
    """One call of each endpoint and one of each search query; complains about anything but a 2xx."""
    bearer = {"Authorization": f"Bearer {tokens[0]}"}
    calls = [
        ("GET", "/", {}, None),
        ("GET", "/movies", {}, None),
        ("GET", "/recommendations/popular", {}, None),
        ("GET", "/recommendations/personalized", bearer, None),
        ("GET", f"/recommendations/similar/movie/{similar_ids[0]}", {}, None),
        ("POST", "/ratings", bearer, {"item_id": catalogue_ids[0], "item_type": "movie", "rating": 4.5}),
        ("GET", "/search/status", {}, None),
    ]
    calls += [("GET", f"/search/semantic?q={quote(query)}", {}, None) for query in SEARCH_QUERIES]
    # Each benchmark user's list and each film's neighbours once, as a site's returning visitors
    # would have: the runs then measure what serving them costs (the uncached cost is its own row).
    calls += [("GET", "/recommendations/personalized", {"Authorization": f"Bearer {token}"}, None) for token in tokens]
    calls += [("GET", f"/recommendations/similar/movie/{movie}", {}, None) for movie in similar_ids]
    # the first search may wait for the model, which the worker loads in the background after starting
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for method, path, headers, body in calls:
            response = client.request(method, path, headers=headers, json=body)
            if not response.is_success:
                console.print(f"[yellow]warm-up {method} {path}: {response.status_code} {response.text[:300]}[/yellow]")
            if path == "/search/status":
                console.print(f"search status: {response.text}")


def lua_data(tokens: list[str], uncached_tokens: list[str], similar_ids: list[int], catalogue_ids: list[int]) -> str:
    """The tables every run's requests are built from (read by benchmarks/wrk/production_load.lua)."""
    search_paths = [f"/search/semantic?q={quote(query)}" for query in SEARCH_QUERIES]
    return (
        "-- generated by benchmarks/production_load.py\n"
        f"TOKENS = {{{', '.join(lua_string(token) for token in tokens)}}}\n"
        f"UNCACHED_TOKENS = {{{', '.join(lua_string(token) for token in uncached_tokens)}}}\n"
        f"SIMILAR_MOVIE_IDS = {{{', '.join(str(movie) for movie in similar_ids)}}}\n"
        f"CATALOGUE_MOVIE_IDS = {{{', '.join(str(movie) for movie in catalogue_ids)}}}\n"
        f"SEARCH_PATHS = {{{', '.join(lua_string(path) for path in search_paths)}}}\n"
    )


@dataclass(frozen=True)
class Run:
    name: str  # an ENDPOINTS key, or "mixed"
    weights: dict[str, int]
    concurrency: int
    seconds: int
    wrk_threads: int
    rotation_offset: int


def measure_run(base_url, work_dir, data_script, cpu: "CpuAccount", worker_pid: int | None, run: Run) -> LoadResult:
    """One wrk run, with the app's cache counters and the machine's CPU read before and after it."""
    caches_before = cache_counters(base_url)
    cpu_before = cpu.snapshot(worker_pid)
    result = run_load(base_url, work_dir, data_script, run)
    cpu_after = cpu.snapshot(worker_pid)
    caches_after = cache_counters(base_url)
    result.others_cpu_share = cpu.others_share(cpu_before, cpu_after)
    for cache in {cache for cache, _ in caches_after}:
        hits = caches_after.get((cache, "hit"), 0) - caches_before.get((cache, "hit"), 0)
        misses = caches_after.get((cache, "miss"), 0) - caches_before.get((cache, "miss"), 0)
        if hits + misses:
            result.cache_lookups[cache] = (hits, hits + misses)
    return result


def run_load(base_url: str, work_dir: Path, data_script: Path, run: Run) -> LoadResult:
    """Write the Lua file that sets up this run for the wrk script, and run wrk with it."""
    result_path = work_dir / f"{run.name}-c{run.concurrency}.json"
    script = work_dir / f"{run.name}-c{run.concurrency}.lua"
    mix = ", ".join(f"{{{lua_string(endpoint)}, {weight}}}" for endpoint, weight in run.weights.items())
    script.write_text(
        f"dofile({lua_string(str(data_script))})\n"
        f"MIX = {{{mix}}}\n"
        f"START_OFFSET = {run.rotation_offset}\n"
        f"RESULT_PATH = {lua_string(str(result_path))}\n"
        f"dofile({lua_string(str(LUA_SCRIPT.resolve()))})\n"
    )
    figures = run_wrk(
        base_url, script, result_path, threads=run.wrk_threads, connections=run.concurrency, seconds=run.seconds
    )
    return LoadResult(endpoint=run.name, concurrency=run.concurrency, **figures)


def cache_counters(base_url: str) -> dict[tuple[str, str], float]:
    """cinelibre_cache_requests from GET /metrics, {(cache, "hit" or "miss"): count}; empty when the
    server has no such metric (the report then shows no cache figures)."""
    try:
        response = httpx.get(base_url + "/metrics", timeout=30)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    counters = {}
    for line in response.text.splitlines():
        if line.startswith("cinelibre_cache_requests_total{"):
            labels, _, value = line.rpartition(" ")
            found = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            counters[(found.get("cache", "?"), found.get("result", "?"))] = float(value)
    return counters


def cpu_seconds(pid: int | None, *, with_waited_children: bool = False) -> float:
    """User + system CPU time of a process from /proc/<pid>/stat (0 when it is gone); with
    with_waited_children, also that of its children that have exited (cutime, cstime)."""
    if pid is None:
        return 0.0
    try:
        after_name = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # after the name: state, ppid, ... utime is field 14 of the line, so index 11 here
    ticks = int(after_name[11]) + int(after_name[12])
    if with_waited_children:
        ticks += int(after_name[13]) + int(after_name[14])
    return ticks / CLOCK_TICKS_PER_SECOND


def wait_until_idle(worker_pid: int | None) -> float:
    """Wait until the worker has (nearly) stopped using CPU; the seconds waited."""
    started = time.monotonic()
    previous = cpu_seconds(worker_pid)
    while time.monotonic() - started < SETTLE_LIMIT_SECONDS:
        time.sleep(0.5)
        current = cpu_seconds(worker_pid)
        if current - previous < 0.5 * IDLE_CPU_SHARE:
            break
        previous = current
    return time.monotonic() - started


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    machine_busy_seconds: float
    ours_seconds: float


class CpuAccount:
    """How much CPU the machine spent, and how much of it went to this benchmark's processes: the
    gunicorn master and worker, the embedded PostgreSQL (postmaster and backends), wrk and this
    script. The rest went to whatever else runs on the machine, which the numbers should mention."""

    def __init__(self, master_pid: int, data_dir: Path) -> None:
        self.master_pid = master_pid
        self.pid_file = data_dir / "pgdata" / "postmaster.pid"

    def snapshot(self, worker_pid: int | None) -> CpuSnapshot:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        # user, nice and system time of every process (guest time is already inside user). Interrupt
        # time is left out: it is mostly the kernel carrying our own loopback traffic, which no
        # process is charged for; steal is time this virtual machine did not get at all.
        machine_busy = (fields[0] + fields[1] + fields[2]) / CLOCK_TICKS_PER_SECOND
        ours = cpu_seconds(self.master_pid) + cpu_seconds(worker_pid, with_waited_children=True)
        postmaster = self._postmaster_pid()
        if postmaster is not None:
            # backends that ended were waited for by the postmaster (cutime); the live ones count apart
            ours += cpu_seconds(postmaster, with_waited_children=True)
            ours += sum(cpu_seconds(backend) for backend in child_pids(postmaster))
        own = resource.getrusage(resource.RUSAGE_SELF)
        waited = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once each run has ended
        ours += own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime
        return CpuSnapshot(time.monotonic(), machine_busy, ours)

    @staticmethod
    def others_share(before: CpuSnapshot, after: CpuSnapshot) -> float:
        """The share of all cores' time that other processes used between two snapshots."""
        capacity = (after.at - before.at) * (os.cpu_count() or 1)
        others = (after.machine_busy_seconds - before.machine_busy_seconds) - (after.ours_seconds - before.ours_seconds)
        return max(others, 0.0) / capacity if capacity else 0.0

    def _postmaster_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def stop_server(server: Server, worker_pid: int | None) -> None:
    """SIGTERM lets gunicorn stop its worker, whose shutdown releases the database; SIGKILL if it hangs."""
    stopped = server.stop(signal.SIGTERM, SERVER_STOP_TIMEOUT_SECONDS)
    # a killed master leaves its worker behind
    if not stopped and worker_pid is not None and read_rss_and_parent(worker_pid)[0] is not None:
        os.kill(worker_pid, signal.SIGKILL)


def stop_leftover_database(data_dir: Path) -> None:
    """The embedded server stops when its last handle closes; a worker that was killed never closes
    its handle, so stop the server here if it is still running (as tests/live_server.py does)."""
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return  # a stale file whose pid now belongs to something else
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ProcessLookupError):
        return
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def summarise_memory(sampler: MemorySampler, phases, worker_high_water: float) -> dict:
    serving = [s for s in sampler.samples if s.phase != "stopping"]
    worker = [s.worker_mb for s in serving if s.worker_mb is not None]
    master = [s.master_mb for s in serving if s.master_mb is not None]
    mixed = next(((start, end) for name, start, end in phases if name == "mixed"), None)
    steady = None
    if mixed is not None:
        middle = (mixed[0] + mixed[1]) / 2
        second_half = [s.worker_mb for s in serving if middle <= s.seconds <= mixed[1] and s.worker_mb is not None]
        steady = statistics.median(second_half) if second_half else None
    return {
        "samples": sampler.samples,
        "worker_steady_mb": steady,
        "worker_peak_mb": max(worker) if worker else None,
        "worker_high_water_mb": worker_high_water,
        "worker_after_warm_up_mb": next((s.worker_mb for s in serving if s.phase not in ("start-up", "warm-up")), None),
        "master_median_mb": statistics.median(master) if master else None,
        "master_peak_mb": max(master) if master else None,
        "worker_pids": sampler.worker_pids,
        "sample_count": len(serving),
    }


def megabytes(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.0f} MB"


def result_rows(results: list[LoadResult]) -> list[tuple[str, ...]]:
    rows = []
    for result in results:
        label = ENDPOINTS.get(result.endpoint, "mixed")
        rows.append(
            (
                label,
                str(result.concurrency),
                f"{result.successful_per_second:.1f}",
                result.latency("p50"),
                result.latency("p95"),
                result.latency("p99"),
                result.error_summary(),
                result.cache_summary(),
                percent(result.others_cpu_share),
            )
        )
    return rows


# the last two are not wrk's: the app's cache hit rates (from /metrics) and the CPU share other
# processes on the machine took during the run (the load figures are only as good as that is small)
COLUMNS = ("endpoint", "concurrency", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "cache hits", "others' CPU")
NUMBER_COLUMNS = ("concurrency", "req/s", "p50 ms", "p95 ms", "p99 ms", "others' CPU")


def print_results(results: list[LoadResult], memory: dict, *, uncached: bool) -> None:
    caching = "answer caches off" if uncached else "answer caches on"
    print_table(
        f"Production load ({caching}): gunicorn, 1 UvicornWorker, "
        f"{os.cpu_count()} cores shared with wrk and PostgreSQL",
        COLUMNS,
        result_rows(results),
        right_aligned=NUMBER_COLUMNS,
        caption=(
            f"worker RSS: steady {megabytes(memory['worker_steady_mb'])} (second half of the mixed run), peak "
            f"{megabytes(memory['worker_peak_mb'])} (VmHWM {megabytes(memory['worker_high_water_mb'])}); master "
            f"{megabytes(memory['master_median_mb'])}, peak {megabytes(memory['master_peak_mb'])}"
        ),
        min_width=180,
    )


def markdown_report(results: list[LoadResult], memory: dict, preparation: Preparation, args) -> str:
    lines = [
        "# Production load" + (" with every answer cache off" if args.uncached else ""),
        "",
        "Written by `benchmarks/production_load.py`; the numbers below are from one run on the machine described.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Commit: {git_commit()}",
        f"- Machine: {machine_description()}",
        f"- Command: `{command_line()}`",
        "- Server: `gunicorn -w 1 -k uvicorn.workers.UvicornWorker 'cinelibre.app:create_app()'`, "
        "ENVIRONMENT=production, default LOG_LEVEL (info, a JSON access line per request), RATE_LIMITS=off, "
        "embedded PostgreSQL started by the worker",
        f"- Load: {wrk_version()}, {args.wrk_threads} thread(s), "
        f"{args.seconds} s per endpoint and concurrency, timeout 5 s, on the same cores as the server",
        "- Data: demo catalogue + "
        + (args.dataset.name if args.reuse is None else "a reused data directory")
        + ": "
        + ", ".join(f"{count:,} {name}" for name, count in preparation.counts.items()),
    ]
    if preparation.seconds:
        lines.append(
            "- Preparation: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in preparation.seconds.items())
        )
    lines += [
        "",
        "req/s counts 2xx answers; errors are other statuses plus socket errors (connect, read, write, timeout);",
        "latencies are wrk's, over all answers. Personalized rotates through "
        f"{BENCHMARK_USERS} raters' tokens, similar through {SIMILAR_MOVIES} rated films, search through "
        f"{len(SEARCH_QUERIES)} queries (all asked once in the warm-up, so cached until their entries expire); "
        f"personalized (not cached) through {UNCACHED_USERS} other raters, each asked once; "
        "ratings posts a random half star "
        "for a random film as a random one of those raters. Rotations carry on from one run of an endpoint to "
        "the next. "
        + (
            f"Every answer cache is off ({', '.join(f'{name}=0' for name in caches_off())}): every answer is computed; "
            if args.uncached
            else "The app's caches work as configured by default; "
        )
        + "*cache hits* is each cache's hit rate during "
        "the run (from GET /metrics). *others' CPU* is the share of the machine's CPU that processes other than "
        "the benchmark's (gunicorn, its PostgreSQL, wrk, the script) used during the run: a large share means "
        "the run was disturbed by something else on the machine. Each run starts once the worker is idle.",
        "",
        *markdown_table(COLUMNS, result_rows(results), right_aligned=NUMBER_COLUMNS),
    ]
    disturbed = [result for result in results if (result.others_cpu_share or 0) > DISTURBED_CPU_SHARE]
    if disturbed:
        lines += [
            "",
            f"**{len(disturbed)} of {len(results)} runs shared the machine with other work** (others' CPU above "
            f"{DISTURBED_CPU_SHARE:.0%}): their figures are lower than this server alone would reach.",
        ]
    if args.mixed_seconds:
        mix = ", ".join(f"{name} {weight}%" for name, weight in MIXED_WEIGHTS.items())
        lines += ["", f"The mixed row: {args.mixed_seconds} s at concurrency {args.mixed_concurrency}, {mix}."]
    restarts = len(memory["worker_pids"]) - 1
    lines += [
        "",
        "## Memory (RSS)",
        "",
        f"Read from /proc/<pid>/status (VmRSS) every {RSS_SAMPLE_INTERVAL_SECONDS} s, {memory['sample_count']} "
        "samples from the server's start to the end of the last run; PostgreSQL's processes are not included.",
        "",
        "| process | value |",
        "|---|---:|",
        f"| worker, steady (median of the mixed run's second half) | {megabytes(memory['worker_steady_mb'])} |",
        f"| worker, peak of the samples (start-up, warm-up and every run) | {megabytes(memory['worker_peak_mb'])} |",
        f"| worker, VmHWM at the end (kernel's high-water mark) | {megabytes(memory['worker_high_water_mb'])} |",
        f"| worker, first sample after warm-up | {megabytes(memory['worker_after_warm_up_mb'])} |",
        f"| master, median | {megabytes(memory['master_median_mb'])} |",
        f"| master, peak | {megabytes(memory['master_peak_mb'])} |",
        "",
        f"Worker restarts during the run: {max(restarts, 0)}.",
        "",
        "![throughput, p99 latency and worker memory](production_load.png)",
        "",
    ]
    return "\n".join(lines)


def write_chart(results: list[LoadResult], memory: dict, phases, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot

    endpoints = list(dict.fromkeys(result.endpoint for result in results))
    concurrencies = sorted({result.concurrency for result in results})
    figure, (throughput_axis, p99_axis, memory_axis) = pyplot.subplots(3, 1, figsize=(12, 12))
    width = 0.8 / max(len(concurrencies), 1)
    positions = np.arange(len(endpoints))
    colours = pyplot.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, concurrency in enumerate(concurrencies):
        # only the runs that happened: the mixed run has one concurrency, --only leaves some out
        measured = [
            (position, result)
            for position, endpoint in enumerate(endpoints)
            for result in results
            if result.endpoint == endpoint and result.concurrency == concurrency
        ]
        offsets = [positions[position] + (index - (len(concurrencies) - 1) / 2) * width for position, _ in measured]
        colour = colours[index % len(colours)]
        bars = throughput_axis.bar(
            offsets, [r.successful_per_second for _, r in measured], width, label=f"c={concurrency}", color=colour
        )
        throughput_axis.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
        answered = [(offset, r) for offset, (_, r) in zip(offsets, measured, strict=True) if r.requests]
        p99_axis.bar(
            [offset for offset, _ in answered],
            [r.latency_ms["p99"] for _, r in answered],
            width,
            label=f"c={concurrency}",
            color=colour,
        )
    labels = [ENDPOINTS.get(e, "mixed").replace("GET ", "").replace("/recommendations", "/rec") for e in endpoints]
    for axis in (throughput_axis, p99_axis):
        axis.set_xticks(positions, labels, rotation=15, ha="right", fontsize=8)
        axis.legend(title="connections", fontsize=8)
    # root and cached lists answer a thousand times a second, personalized a few: only a log scale shows both
    throughput_axis.set_yscale("log")
    throughput_axis.set_ylabel("2xx answers per second (log)")
    throughput_axis.set_title("Throughput (one gunicorn worker)")
    p99_axis.set_yscale("log")
    p99_axis.set_ylabel("p99 latency, ms (log)")
    p99_axis.set_title("p99 latency")

    samples = [s for s in memory["samples"] if s.worker_mb is not None]
    memory_axis.plot([s.seconds for s in samples], [s.worker_mb for s in samples], label="worker", color="#4c72b0")
    memory_axis.plot(
        [s.seconds for s in memory["samples"] if s.master_mb is not None],
        [s.master_mb for s in memory["samples"] if s.master_mb is not None],
        label="master",
        color="#dd8452",
    )
    for index, (name, start, end) in enumerate(phases):
        memory_axis.axvspan(start, end, color="#cccccc" if index % 2 else "#eeeeee", zorder=0)
        memory_axis.text(
            (start + end) / 2,
            0.35,
            name,
            transform=memory_axis.get_xaxis_transform(),
            ha="center",
            va="center",
            fontsize=7,
            rotation=90,
        )
    memory_axis.set_xlabel("seconds since gunicorn started")
    memory_axis.set_ylabel("RSS, MB")
    memory_axis.set_ylim(bottom=0)
    memory_axis.set_title("Resident memory")
    memory_axis.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


if __name__ == "__main__":
    main()
