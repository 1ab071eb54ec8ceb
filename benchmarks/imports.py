"""What a history import costs: imports.service.import_history() of Letterboxd, IMDb and Goodreads
exports made from the demo catalogue, in this process on a throw-away embedded database.

    .venv/bin/python benchmarks/imports.py [--repeats 3] [--out benchmarks/results/imports.md]

The files, drawn from a fixed seed:
- Letterboxd ratings.csv of 500 and 5,000 rows of the demo catalogue's films: about 80% with a
  film's exact title and year, 10% with its title slightly altered (an article dropped or added,
  a subtitle cut, two letters swapped, punctuation lost, another case) and 10% with made-up
  titles no catalogue item carries. None has an id, so every row is looked up by title.
- IMDb ratings.csv of 5,000 rows whose Const is a demo film's IMDb id: the demo films get made-up
  ids in the throw-away database first, so every row is matched by its id and none by title.
- Goodreads library export of 2,000 books with the same mix of titles and each book's author,
  seven in ten read and rated, the rest on the to-read shelf, and no ISBN (the demo books have
  none), so every book is looked up by title and author.

The demo catalogue holds about 500 films and 190 books, so the longer files name each item
several times, with several dates; rows of one title, year (or author) are looked up once, so the
table says how many distinct titles were looked up, and the time per title looked up.

Each import runs --repeats times (the median is shown) in a transaction rolled back afterwards, so
every run starts from the same database and the same user with no ratings. Meanwhile a ticker
task sleeps 10 ms at a time on the same event loop; how much later than asked it wakes, at most
over the runs, is the longest stall (parsing runs in a worker thread, but it shares the
interpreter's lock). Beside it is the CPU time the loop's own thread spent during that late tick:
a stall with little of it was the process waiting for one of the two shared cores (PostgreSQL
runs the lookups on one of them), not Python holding the loop. A full garbage collection is made
before each run, so that one owed by the preparation does not fall into an import. "parse" is
readers.read_history() alone on the same bytes, median of the same count. Nothing is cached:
every run reads, looks up and writes again.

--out writes the table to a Markdown file under the date, commit, machine and command, and
refuses a working tree with uncommitted changes unless --allow-dirty.
"""

import argparse
import asyncio
import csv
import gc
import io
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import psycopg
from harness import print_table, refuse_dirty_results, scratch_database, write_results
from psycopg.rows import dict_row

from cinelibre.database.connection import Connection
from cinelibre.demo import service as demo_service
from cinelibre.imports import service as imports_service
from cinelibre.imports.readers import Source, read_history
from cinelibre.imports.schemas import ImportPublic

SEED = 20_261_207
TICK_SECONDS = 0.01
# The share of rows whose title is altered, and of rows whose title names nothing in the catalogue;
# the rest carry an item's exact title.
ALTERED_SHARE = 0.1
UNKNOWN_SHARE = 0.1
TO_READ_SHARE = 0.3
HISTORY_START = date(2012, 1, 1)
HISTORY_DAYS = 5_000
COLUMNS = (
    "export",
    "rows",
    "titles looked up",
    "import s (median)",
    "rows per s",
    "ms per title looked up",
    "parse s (median)",
    "longest loop stall ms (loop thread's CPU in that tick)",
    "matched / ambiguous / not found",
    "cached",
)
RIGHT_ALIGNED = COLUMNS[1:8]


@dataclass(frozen=True)
class Export:
    label: str
    source: Source
    filename: str
    data: bytes
    rows: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="imports of each file (the median is shown)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--allow-dirty", action="store_true", help="write --out from uncommitted changes")
    args = parser.parse_args()
    refuse_dirty_results(args.out, args.allow_dirty)
    with scratch_database() as database:
        rows, notes = asyncio.run(measure(database.url, args.repeats))
    title = "History imports: import_history() of Letterboxd, IMDb and Goodreads exports (one process, 2 shared cores)"
    print_table(title, COLUMNS, rows, right_aligned=RIGHT_ALIGNED, min_width=210)
    for note in notes:
        print(note)
    if args.out:
        write_results(args.out, title, COLUMNS, rows, notes=notes, right_aligned=RIGHT_ALIGNED)


async def measure(url: str, repeats: int) -> tuple[list[tuple[str, ...]], list[str]]:
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row, autocommit=True) as conn:
        async with conn.transaction():
            loaded = await demo_service.load(conn)
        # Made-up IMDb ids for films without one, so that an IMDb export can name every film.
        await conn.execute(
            "UPDATE movies SET imdb_id = 'tt' || lpad((9000000 + id)::text, 8, '0') WHERE imdb_id IS NULL"
        )
        await conn.execute("ANALYZE movies")
        await conn.execute("ANALYZE books")
        films = await (await conn.execute("SELECT title, year, imdb_id FROM movies ORDER BY id")).fetchall()
        books = await (await conn.execute("SELECT title, year, authors FROM books ORDER BY id")).fetchall()
        user = await (
            await conn.execute(
                "INSERT INTO users (name, imported_from, external_id) VALUES ('importer', 'benchmark', 1) RETURNING id"
            )
        ).fetchone()
        assert user is not None
        generator = np.random.default_rng(SEED)
        exports = [
            letterboxd_ratings(films, 500, generator),
            letterboxd_ratings(films, 5_000, generator),
            imdb_ratings(films, 5_000, generator),
            goodreads_library(books, 2_000, generator),
        ]
        load_average = os.getloadavg()[0]
        rows = [await measure_export(conn, user["id"], export, repeats) for export in exports]
    notes = [
        f"The demo catalogue: {loaded.movies} films, {loaded.books} books. Each export imported {repeats} times, "
        "each in a transaction rolled back afterwards, by one user with no ratings; the median time is shown, "
        "and the longest stall of a 10 ms ticker on the same event loop over all the runs, with the CPU time "
        "the loop's thread spent in that tick (the rest is waiting for a core). Titles looked up: "
        "the distinct titles (with year, or author) the rows ask for, as rows naming the same item are "
        "looked up once; IMDb rows are all matched by id. Parse: readers.read_history() alone. "
        f"The cores are shared: load average {load_average:.2f} when the measuring began."
    ]
    return rows, notes


async def measure_export(conn: Connection, user_id: int, export: Export, repeats: int) -> tuple[str, ...]:
    parsed = read_history(export.source, export.filename, export.data)
    if len(parsed) != export.rows:
        raise SystemExit(f"{export.label}: read {len(parsed)} rows, not {export.rows}")
    # As the import groups them: one lookup for each title with its year (films) or first author (books).
    looked_up = len(
        {
            (row.item_type, row.title, row.year if row.item_type == "movie" else row.authors[:1])
            for row in parsed
            if row.imdb_id is None and (row.rating is not None or row.want)
        }
    )
    parse_seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        read_history(export.source, export.filename, export.data)
        parse_seconds.append(time.perf_counter() - started)
    seconds, stalls = [], []
    for _ in range(repeats):
        gc.collect()
        async with conn.transaction(force_rollback=True):
            took, stall, result = await timed_with_ticker(
                lambda: imports_service.import_history(
                    conn, user_id=user_id, source=export.source, filename=export.filename, data=export.data
                )
            )
        seconds.append(took)
        stalls.append(stall)
    median = statistics.median(seconds)
    return (
        export.label,
        f"{export.rows:,}",
        f"{looked_up:,}",
        f"{median:.2f}",
        f"{export.rows / median:,.0f}",
        f"{median / looked_up * 1000:.2f}" if looked_up else "–",
        f"{statistics.median(parse_seconds):.3f}",
        "{:.0f} ({:.0f})".format(*(ms * 1000 for ms in max(stalls))),
        f"{result.matched:,} / {len(result.ambiguous):,} / {len(result.not_found):,}",
        "no",
    )


async def timed_with_ticker(
    call: Callable[[], Awaitable[ImportPublic]],
) -> tuple[float, tuple[float, float], ImportPublic]:
    """The seconds the awaited call took; the longest lateness of a TICK_SECONDS ticker that ran
    meanwhile on the same event loop, with the CPU seconds this thread spent during that tick;
    and the call's result."""
    done = asyncio.Event()
    longest = (0.0, 0.0)

    async def ticker() -> None:
        nonlocal longest
        while not done.is_set():
            asked, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(TICK_SECONDS)
            late = time.perf_counter() - asked - TICK_SECONDS
            if late > longest[0]:
                longest = (late, time.thread_time() - cpu)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker takes its first sleep before the import starts
    started = time.perf_counter()
    try:
        result = await call()
    finally:
        took = time.perf_counter() - started
        done.set()
        await ticking
    return took, longest, result


# Files


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode()


def history_day(generator: np.random.Generator) -> date:
    return HISTORY_START + timedelta(days=int(generator.integers(HISTORY_DAYS)))


def drawn_titles(titles: list[str], count: int, generator: np.random.Generator) -> list[tuple[int | None, str]]:
    """`count` (index into titles, title as the row writes it): the mix of exact, altered and
    unknown titles, in random order. Each item is drawn once before any is drawn again, as a
    history names each film once until the catalogue runs out."""
    order = np.concatenate([generator.permutation(len(titles)) for _ in range(count // len(titles) + 1)])[:count]
    drawn: list[tuple[int | None, str]] = []
    for n, index in enumerate(order):
        share = n / count
        if share < UNKNOWN_SHARE:
            drawn.append((None, unknown_title(generator)))
        elif share < UNKNOWN_SHARE + ALTERED_SHARE:
            drawn.append((int(index), altered_title(titles[index], generator)))
        else:
            drawn.append((int(index), titles[index]))
    return [drawn[i] for i in generator.permutation(count)]


def altered_title(title: str, generator: np.random.Generator) -> str:
    """The title as another service may spell it: one small change, or the title itself where the
    change drawn does not apply."""
    choice = int(generator.integers(6))
    if choice == 0:
        return title[4:] if title.startswith("The ") else "The " + title
    if choice == 1 and ":" in title:
        return title.split(":")[0].strip()
    if choice == 2:
        letters = [i for i in range(len(title) - 1) if title[i].isalpha() and title[i + 1].isalpha()]
        if letters:
            i = letters[int(generator.integers(len(letters)))]
            return title[:i] + title[i + 1] + title[i] + title[i + 2 :]
    if choice == 3:
        return "".join(char for char in title if char.isalnum() or char.isspace())
    if choice == 4:
        return title.lower()
    return title.upper()


SYLLABLES = ("ka", "lo", "ven", "tir", "ma", "sho", "dru", "pel", "qua", "zen", "rim", "oba", "fex", "gul")


def unknown_title(generator: np.random.Generator) -> str:
    """Two or three made-up words: a title that no catalogue item is at all similar to."""
    words = [
        "".join(SYLLABLES[i] for i in generator.integers(len(SYLLABLES), size=int(generator.integers(2, 4))))
        for _ in range(int(generator.integers(2, 4)))
    ]
    return " ".join(word.capitalize() for word in words)


def letterboxd_ratings(films: list[dict], count: int, generator: np.random.Generator) -> Export:
    rows = []
    for n, (index, title) in enumerate(drawn_titles([film["title"] for film in films], count, generator)):
        year = films[index]["year"] if index is not None else int(generator.integers(1950, 2025))
        stars = int(generator.integers(1, 11)) / 2
        rows.append(
            [
                history_day(generator).isoformat(),
                title,
                "" if year is None else str(year),
                f"https://boxd.it/b{n:x}",
                f"{stars:g}",
            ]
        )
    data = csv_bytes(["Date", "Name", "Year", "Letterboxd URI", "Rating"], rows)
    return Export(f"Letterboxd ratings.csv, {count:,} rows", Source.LETTERBOXD, "ratings.csv", data, count)


def imdb_ratings(films: list[dict], count: int, generator: np.random.Generator) -> Export:
    order = np.concatenate([generator.permutation(len(films)) for _ in range(count // len(films) + 1)])[:count]
    rows = []
    for index in order:
        film = films[index]
        rows.append(
            [
                film["imdb_id"],
                str(int(generator.integers(1, 11))),
                history_day(generator).isoformat(),
                film["title"],
                "" if film["year"] is None else str(film["year"]),
                "Movie",
            ]
        )
    data = csv_bytes(["Const", "Your Rating", "Date Rated", "Title", "Year", "Title Type"], rows)
    return Export(f"IMDb ratings.csv, {count:,} rows", Source.IMDB, "ratings.csv", data, count)


def goodreads_library(books: list[dict], count: int, generator: np.random.Generator) -> Export:
    rows = []
    for n, (index, title) in enumerate(drawn_titles([book["title"] for book in books], count, generator)):
        book = books[index] if index is not None else None
        authors = list(book["authors"]) if book else [unknown_title(generator)]
        year = (book["year"] if book else None) or int(generator.integers(1900, 2025))
        to_read = generator.uniform() < TO_READ_SHARE
        added = history_day(generator)
        rows.append(
            [
                str(900_000 + n),
                title,
                authors[0] if authors else "",
                ", ".join(authors[1:]),
                '=""',
                '=""',
                "0" if to_read else str(int(generator.integers(1, 6))),
                str(year),
                str(year),
                "" if to_read else (added + timedelta(days=30)).strftime("%Y/%m/%d"),
                added.strftime("%Y/%m/%d"),
                "to-read" if to_read else "read",
            ]
        )
    header = [
        "Book Id",
        "Title",
        "Author",
        "Additional Authors",
        "ISBN",
        "ISBN13",
        "My Rating",
        "Year Published",
        "Original Publication Year",
        "Date Read",
        "Date Added",
        "Exclusive Shelf",
    ]
    data = csv_bytes(header, rows)
    label = f"Goodreads library export, {count:,} books"
    return Export(label, Source.GOODREADS, "goodreads_library_export.csv", data, count)


if __name__ == "__main__":
    main()
