"""What experiments cost: serving a list through experiments.service.serve_list() instead of
returning its body, writing the exposures those lists queue, and reading an experiment's results.
Everything runs in this process on a throw-away embedded database with the demo catalogue.

    .venv/bin/python benchmarks/experiments.py [--calls 20000] [--repeats 3]
        [--out benchmarks/results/experiments.md]

1. Serving. The body is the demo catalogue's popular list of 20 items from
   recommend.service.popular_cached() with an in-process cache that holds it for the whole run,
   so every call finds it cached, as most popular answers are. Each way of serving is called
   --calls times after a warm-up, one signed-in caller after another, and each call is timed on
   its own, by its CPU time (its own work) and by the clock (which adds whatever else the shared
   cores ran meanwhile): the body returned directly (what an endpoint did before experiments),
   serve_list() with no experiment running, inside a running A/B test of two variants, and inside
   an interleaving experiment, whose list merges two bodies (the popular list of everything and
   of films alone). The queued exposures are taken away every 1,000 lists, as the background writer
   takes them once a second from a process serving a thousand lists a second. serve_list() reads
   the running experiments again once they are EXPERIMENTS_REFRESH_SECONDS old; that read awaits
   the database and lets other requests run, so the CPU figures leave out the calls that read
   them (how many did is noted), and the event-loop block is the longest CPU time of a call. A full
   garbage collection stops the loop for as long as it takes to walk the whole heap, in whichever
   call triggers it; the longest call without one is reported too, with how many calls ran one.
2. Writing. ExposureLog.flush() of 1,000, 10,000 and 100,000 queued lists of 20 items (signed-in
   callers inside an A/B test, so every index of list_exposures is written), each batch one COPY
   in its own transaction, into the table as the earlier batches left it; then the table's size
   with its indexes (pg_total_relation_size) per 100,000 lists.
3. Results. service.results() of an A/B experiment of two variants with 10,000 lists over 2,000
   users and with 100,000 lists over 20,000 users, each list 20 catalogue items shown within the
   last 14 days, a tenth of them clicked (an interaction naming the list) and one in fifty
   leading to a rating within the rating window; the tables are analysed after loading, as
   autovacuum would have them. Results are never cached: each call computes them.

--out writes the table to a Markdown file under the date, commit, machine and command, and
refuses a working tree with uncommitted changes unless --allow-dirty.
"""

import argparse
import asyncio
import gc
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
from harness import print_table, refuse_dirty_results, scratch_database, write_results
from psycopg.rows import dict_row

from cinelibre.cache import MemoryCache
from cinelibre.database.connection import Connection, LazyConnection
from cinelibre.demo import service as demo_service
from cinelibre.experiments import service as experiments_service
from cinelibre.experiments.assignment import variant_for
from cinelibre.experiments.configurations import DEFAULT, Configuration
from cinelibre.experiments.exposures import Exposure, ExposureLog
from cinelibre.experiments.schemas import ExperimentCreate, Kind, Status, Surface, Variant
from cinelibre.experiments.service import Caller, RunningExperiments
from cinelibre.recommend import service as recommend_service
from cinelibre.settings import Settings
from cinelibre.types import ItemType

LIST_LENGTH = 20
WARM_UP_CALLS = 1_000
# The queue is emptied after this many lists, as a process serving a thousand lists a second
# would see it: a queue left to grow would make the garbage collector walk every queued record.
WRITTEN_EVERY_CALLS = 1_000
# Long enough that the popular bodies stay cached for the whole run: every call is a hit.
BODY_CACHE_SECONDS = 3_600
FLUSH_BATCHES = (1_000, 10_000, 100_000)
RESULTS_SIZES = ((10_000, 2_000), (100_000, 20_000))  # lists, users
CLICKED_SHARE = 0.1
RATED_SHARE = 0.02
SHOWN_OVER_DAYS = 14
# Distinct item lists the generated exposures draw from (a surface serves many callers one list).
ITEM_LIST_POOL = 2_000
COLUMNS = ("measure", "value", "cached")
SEED = 20_240_601


@dataclass(frozen=True)
class ServingRun:
    wall: np.ndarray  # each call's duration in µs, by the clock
    cpu: np.ndarray  # each call's CPU time in µs: its duration less the time the OS ran something else
    reread: np.ndarray  # whether the call read the running experiments from the database
    collected: np.ndarray  # whether a full garbage collection ran during the call

    def cpu_figures(self) -> str:
        """Median / p99 / longest of the calls that did not await the database: the longest is
        the event-loop block, the time no other request could run."""
        own = self.cpu[~self.reread]
        return f"{np.median(own):.1f} / {np.percentile(own, 99):.1f} / {own.max():,.0f}"

    def wall_figures(self) -> str:
        return f"{np.median(self.wall):.1f} / {np.percentile(self.wall, 99):.1f}"

    @property
    def longest_without_collection(self) -> float:
        return float(self.cpu[~self.reread & ~self.collected].max())


class FullCollections:
    """Counts the garbage collector's full (generation 2) collections while it is entered: one
    walks every object the process holds, a pause that lands on whichever call triggered it."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> "FullCollections":
        gc.callbacks.append(self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._seen)

    def _seen(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.count += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000, help="timed calls per way of serving a list")
    parser.add_argument("--repeats", type=int, default=3, help="results calls per experiment (the median is shown)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--allow-dirty", action="store_true", help="write --out from uncommitted changes")
    args = parser.parse_args()
    refuse_dirty_results(args.out, args.allow_dirty)
    with scratch_database() as database:
        rows, notes = asyncio.run(measure(database.url, database.settings, args.calls, args.repeats))
    title = "Experiments: serving a list, writing exposures, reading results (one process, 2 shared cores)"
    print_table(title, COLUMNS, rows, right_aligned=("value",), min_width=120)
    for note in notes:
        print(note)
    if args.out:
        write_results(args.out, title, COLUMNS, rows, notes=notes, right_aligned=("value",))


Row = tuple[str, str, str]


async def measure(url: str, settings: Settings, calls: int, repeats: int) -> tuple[list[Row], list[str]]:
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row, autocommit=True) as conn:
        async with conn.transaction():
            await demo_service.load(conn)
        catalogue = [
            (row["item_type"], row["id"])
            async for row in await conn.execute(
                "SELECT 'movie' AS item_type, id FROM movies UNION ALL SELECT 'book', id FROM books ORDER BY 1, 2"
            )
        ]
        generator = np.random.default_rng(SEED)
        rows, notes = await serving_rows(conn, settings, calls)
        rows += await flush_rows(conn, catalogue, generator)
        rows += await results_rows(conn, catalogue, generator, repeats)
    return rows, notes


# 1. Serving


async def serving_rows(conn: Connection, settings: Settings, calls: int) -> tuple[list[Row], list[str]]:
    cache = MemoryCache(64 * 1024 * 1024)
    db = LazyConnection(None, connection=conn)

    async def popular_body(item_type: ItemType | None) -> bytes:
        return await recommend_service.popular_cached(
            db, cache, ttl_seconds=BODY_CACHE_SECONDS, item_type=item_type, window_days=None, limit=LIST_LENGTH
        )

    async def compute(configuration: Configuration, skip: int, limit: int) -> bytes:
        # The control serves the popular list of everything, the other variant that of films: two
        # different cached bodies, so that interleaving has two lists to merge.
        return await popular_body(None if configuration is DEFAULT else ItemType.MOVIE)

    for item_type in (None, ItemType.MOVIE):
        body = await popular_body(item_type)
        shown = body.count(b'"item_type"')
        if shown != LIST_LENGTH:
            raise SystemExit(f"the demo catalogue's popular list holds {shown} items, not {LIST_LENGTH}")
    reads = 0

    async def connect() -> Connection:
        nonlocal reads
        reads += 1
        return conn

    running = RunningExperiments(settings.experiments_refresh_seconds)

    async def serve(caller: Caller, exposures: ExposureLog) -> bytes:
        return await experiments_service.serve_list(
            surface=Surface.POPULAR,
            caller=caller,
            skip=0,
            limit=LIST_LENGTH,
            running=running,
            exposures=exposures,
            connect=connect,
            compute=compute,
        )

    async def timed(call: Callable[[Caller, ExposureLog], Awaitable[bytes]]) -> ServingRun:
        exposures = ExposureLog(capacity=WRITTEN_EVERY_CALLS)
        callers = [Caller(user_id=1 + n % 20_000, client_id=None) for n in range(WARM_UP_CALLS + calls)]
        for caller in callers[:WARM_UP_CALLS]:
            await call(caller, exposures)
        wall, cpu = np.empty(calls), np.empty(calls)
        reread = np.zeros(calls, dtype=bool)
        collected = np.zeros(calls, dtype=bool)
        with FullCollections() as collections:
            for n, caller in enumerate(callers[WARM_UP_CALLS:]):
                if n % WRITTEN_EVERY_CALLS == 0:
                    # What the background writer does once a second: take the queue away (here unwritten).
                    exposures = ExposureLog(capacity=WRITTEN_EVERY_CALLS)
                reads_before, collections_before = reads, collections.count
                started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
                await call(caller, exposures)
                cpu[n] = (time.thread_time_ns() - started_cpu) / 1000
                wall[n] = (time.perf_counter_ns() - started) / 1000
                reread[n] = reads != reads_before
                collected[n] = collections.count != collections_before
        return ServingRun(wall, cpu, reread, collected)

    async def direct(caller: Caller, exposures: ExposureLog) -> bytes:
        return await compute(DEFAULT, 0, LIST_LENGTH)

    runs = {"body returned directly": await timed(direct), "serve_list, no experiment running": await timed(serve)}
    experiment_kinds = {Kind.AB: "serve_list, A/B test of two variants", Kind.INTERLEAVING: "serve_list, interleaved"}
    for kind, label in experiment_kinds.items():
        experiment = await start_experiment(conn, Surface.POPULAR, kind, f"serving {kind.value}")
        running.forget()
        runs[label] = await timed(serve)
        async with conn.transaction():
            await experiments_service.move(conn, experiment, Status.STOPPED)
        running.forget()
    rows = []
    for label, run in runs.items():
        rows.append((f"{label}: median / p99 / longest call, CPU time (µs per list)", run.cpu_figures(), "yes"))
        if run.collected.any():
            rows.append(
                (
                    f"{label}: longest call but the {int(run.collected.sum())} that ran a full garbage "
                    "collection, CPU time (µs)",
                    f"{run.longest_without_collection:,.0f}",
                    "yes",
                )
            )
        rows.append((f"{label}: median / p99, wall clock (µs per list)", run.wall_figures(), "yes"))
    baseline = np.median(runs["body returned directly"].cpu)
    added = ", ".join(
        f"{label.removeprefix('serve_list, ')} {np.median(run.cpu) - baseline:.0f} µs"
        for label, run in runs.items()
        if label.startswith("serve_list")
    )
    rereads = ", ".join(f"{label.removeprefix('serve_list, ')} {int(run.reread.sum())}" for label, run in runs.items())
    notes = [
        f"Serving: {calls:,} timed calls per way after {WARM_UP_CALLS:,} of warm-up, lists of {LIST_LENGTH} items, "
        f"the body always from the in-process cache. What serve_list adds to the median list (CPU time): {added}. "
        "CPU time is the call's own work, wall clock adds whatever else the shared cores ran meanwhile. "
        f"Calls that read the running experiments (awaiting the database) are left out of CPU figures: {rereads}."
    ]
    return rows, notes


async def start_experiment(conn: Connection, surface: Surface, kind: Kind, name: str) -> int:
    second = "popular" if surface is Surface.POPULAR else "collaborative"
    data = ExperimentCreate(
        name=name,
        surface=surface,
        kind=kind,
        variants=[
            Variant(name="control", configuration=DEFAULT.name, share=0.5),
            Variant(name="treatment", configuration=second, share=0.5),
        ],
    )
    async with conn.transaction():
        experiment = await experiments_service.create(conn, data)
        await experiments_service.move(conn, experiment.id, Status.RUNNING)
    return experiment.id


# 2. Writing


def item_lists(catalogue: list[tuple[str, int]], generator: np.random.Generator) -> list[list[tuple[str, int]]]:
    """ITEM_LIST_POOL lists of LIST_LENGTH distinct catalogue items, drawn at random."""
    return [
        [catalogue[i] for i in generator.choice(len(catalogue), LIST_LENGTH, replace=False)]
        for _ in range(ITEM_LIST_POOL)
    ]


async def flush_rows(conn: Connection, catalogue: list[tuple[str, int]], generator: np.random.Generator) -> list[Row]:
    experiment = await start_experiment(conn, Surface.SIMILAR, Kind.AB, "writing exposures")
    pool = item_lists(catalogue, generator)
    now = datetime.now(UTC)
    rows = []
    for batch in FLUSH_BATCHES:
        log = ExposureLog(capacity=batch)
        for n in range(batch):
            log.record(
                Exposure(
                    list_id=uuid.uuid4(),
                    surface=Surface.SIMILAR.value,
                    user_id=1 + n % 20_000,
                    client_id=None,
                    experiment_id=experiment,
                    variant="control" if n % 2 else "treatment",
                    items=pool[n % len(pool)],
                    teams=None,
                    first_position=1,
                    shown_at=now,
                )
            )
        started = time.perf_counter()
        async with conn.transaction():
            written = await log.flush(conn)
        seconds = time.perf_counter() - started
        rows.append(
            (
                f"ExposureLog.flush of {written:,} lists of {LIST_LENGTH} items: s per batch / lists per s",
                f"{seconds:.3f} / {written / seconds:,.0f}",
                "n/a",
            )
        )
    size = await one_value(conn, "SELECT pg_total_relation_size('list_exposures') AS value")
    lists = await one_value(conn, "SELECT count(*) AS value FROM list_exposures")
    rows.append(
        (
            f"list_exposures with its indexes, per 100,000 lists (MB; {lists:,} written)",
            f"{size / lists * 100_000 / 1024 / 1024:.1f}",
            "n/a",
        )
    )
    return rows


async def one_value(conn: Connection, query: str) -> int:
    row = await (await conn.execute(query)).fetchone()
    assert row is not None
    return int(row["value"])


# 3. Results


async def results_rows(
    conn: Connection, catalogue: list[tuple[str, int]], generator: np.random.Generator, repeats: int
) -> list[Row]:
    user_ids = [
        row["id"]
        async for row in await conn.execute(
            "INSERT INTO users (name, imported_from, external_id) "
            "SELECT 'benchmark caller ' || n, 'benchmark', n FROM generate_series(1, %s) AS n RETURNING id",
            (max(users for _, users in RESULTS_SIZES),),
        )
    ]
    pool = item_lists(catalogue, generator)
    experiments = []
    for lists, users in RESULTS_SIZES:
        experiment = await start_experiment(conn, Surface.PERSONALIZED, Kind.AB, f"results of {lists} lists")
        await write_experiment_traffic(conn, experiment, user_ids[:users], lists, pool, generator)
        async with conn.transaction():
            await experiments_service.move(conn, experiment, Status.STOPPED)
        experiments.append((experiment, users))
    for table in ("list_exposures", "interactions", "ratings"):
        await conn.execute(f"ANALYZE {table}")
    rows = []
    for experiment, users in experiments:
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            results = await experiments_service.results(conn, experiment, window_days=7)
            seconds.append(time.perf_counter() - started)
        exposures = sum(variant.exposures for variant in results.variants)
        clicks = sum(variant.clicks for variant in results.variants)
        rows.append(
            (
                f"service.results, {exposures:,} lists over {users:,} users, {clicks:,} clicks: "
                f"s per call (median of {repeats})",
                f"{np.median(seconds):.2f}",
                "no",
            )
        )
    return rows


async def write_experiment_traffic(
    conn: Connection,
    experiment: int,
    user_ids: list[int],
    lists: int,
    pool: list[list[tuple[str, int]]],
    generator: np.random.Generator,
) -> None:
    """`lists` lists shown to callers drawn from user_ids, each in the variant assignment gives
    them; a tenth clicked once (the place drawn with chance falling as 1/place), one in fifty
    followed by a rating of one of its items a day later."""
    variants = [("control", 0.5), ("treatment", 0.5)]
    variant_of = {user: variant_for(experiment, f"user:{user}", variants) for user in user_ids}
    now = datetime.now(UTC)
    place_chances = 1 / np.arange(1, LIST_LENGTH + 1)
    place_chances /= place_chances.sum()
    log = ExposureLog(capacity=lists)
    clicks: list[tuple[int, str, int, uuid.UUID, datetime]] = []
    ratings: dict[tuple[int, str, int], tuple[float, datetime]] = {}
    for user, items, shown_seconds_ago, outcome in zip(
        generator.choice(user_ids, lists),
        generator.integers(0, len(pool), lists),
        generator.uniform(3_600, SHOWN_OVER_DAYS * 86_400, lists),
        generator.uniform(0, 1, lists),
        strict=True,
    ):
        user = int(user)
        shown = pool[items]
        shown_at = now - timedelta(seconds=float(shown_seconds_ago))
        list_id = uuid.uuid4()
        log.record(
            Exposure(
                list_id=list_id,
                surface=Surface.PERSONALIZED.value,
                user_id=user,
                client_id=None,
                experiment_id=experiment,
                variant=variant_of[user],
                items=shown,
                teams=None,
                first_position=1,
                shown_at=shown_at,
            )
        )
        if outcome < CLICKED_SHARE:
            item_type, item_id = shown[generator.choice(LIST_LENGTH, p=place_chances)]
            clicks.append((user, item_type, item_id, list_id, shown_at + timedelta(minutes=1)))
        if outcome > 1 - RATED_SHARE:
            item_type, item_id = shown[generator.integers(LIST_LENGTH)]
            stars = float(generator.integers(1, 11)) / 2
            ratings.setdefault((user, item_type, item_id), (stars, shown_at + timedelta(days=1)))
    async with conn.transaction():
        await log.flush(conn)
        async with conn.cursor() as cursor:
            async with cursor.copy(
                "COPY interactions (user_id, kind, item_type, item_id, list_id, created_at) FROM STDIN"
            ) as copy:
                for user, item_type, item_id, list_id, at in clicks:
                    await copy.write_row((user, "click", item_type, item_id, list_id, at))
            async with cursor.copy(
                "COPY ratings (user_id, item_type, item_id, rating, created_at, updated_at) FROM STDIN"
            ) as copy:
                for (user, item_type, item_id), (stars, at) in ratings.items():
                    await copy.write_row((user, item_type, item_id, stars, at, at))


if __name__ == "__main__":
    main()
