"""Histories from other services (Letterboxd, IMDb, Goodreads) made into the user's ratings and
wants: each row matched to a catalogue item, the matched ones stored, the doubtful ones kept for
the user to choose."""

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

from anyio import to_thread

from cinelibre.database.connection import Connection
from cinelibre.errors import InvalidInputError, NotFoundError, ServiceError
from cinelibre.imports import repository
from cinelibre.imports.readers import MAX_FILE_BYTES, HistoryRow, Source, read_history
from cinelibre.imports.schemas import Choice, ImportList, ImportPublic
from cinelibre.interactions import service as interactions_service
from cinelibre.ratings import service as ratings_service
from cinelibre.types import ItemType

# How a row's title lookup becomes a decision. Scores are pg_trgm similarities (0-1) of the
# row's title to the item's. Below MATCH_FLOOR an item is no candidate (pg_trgm's own default,
# where titles start to share more than a word or two). A best candidate at CLEAR_MATCH or above
# that leads the next by CLEAR_MARGIN or more is the match: at 0.6 a title differs from the
# row's by little more than an article, punctuation or a subtitle ("The Godfather" against "The
# Godfather Part II" is about 0.62, so the margin, not the floor, tells those apart). Anything
# else with a candidate waits for the user's choice among the best MAX_CANDIDATES.
MATCH_FLOOR = 0.3
CLEAR_MATCH = 0.6
CLEAR_MARGIN = 0.1
MAX_CANDIDATES = 5
# A book's author, when both the row and the book name one, must be found in the book's authors
# at this word similarity ("J.K. Rowling" in "J. K. Rowling"), so a title alone never matches
# another writer's book.
AUTHOR_FLOOR = 0.5
# Rows looked up by title per statement: each statement stays well inside the statement timeout.
TITLE_LOOKUP_BATCH = 200
# GET /me/imports lists this many of the latest imports.
IMPORTS_LISTED = 50
# Rows with one key are matched once (see _key()).
RowKey = tuple[Any, ...]
# Goodreads appends the series to a title: "The Fellowship of the Ring (The Lord of the Rings, #1)".
SERIES_SUFFIX = re.compile(r"\s*\([^()]*#\s*[\d.]+\)\s*$")


class FileTooLargeError(ServiceError):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


@dataclass
class _Plan:
    """An import's rows sorted out: ratings and wants to store, and what to tell the user."""

    rows: int
    matched: int
    ratings: list[tuple[ItemType, int, float, datetime | None]]
    wants: list[tuple[ItemType, int]]
    ambiguous: list[dict[str, Any]]
    not_found: list[dict[str, Any]]


async def import_history(conn: Connection, *, user_id: int, source: Source, filename: str, data: bytes) -> ImportPublic:
    """Read a history file of `source`, match its rows to the catalogue and store the matched
    ratings and wants (within the caller's transaction: a failure stores nothing)."""
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLargeError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.", field="file")
    # Parsing (and hashing) a file of up to 20 MB is CPU work: off the event loop.
    rows, digest = await to_thread.run_sync(_read, source, filename, data)
    useful = [row for row in rows if row.rating is not None or row.want]
    identified = await _identified(conn, useful)
    lookups = await _title_lookups(conn, [row for row in useful if _key(row) not in identified])
    plan = await to_thread.run_sync(_plan, useful, identified, lookups)
    merged = await ratings_service.merge_dated(conn, user_id=user_id, ratings=plan.ratings)
    wants_added = await interactions_service.record_wants(conn, user_id=user_id, items=plan.wants)
    row = await repository.insert(
        conn,
        import_id=uuid.uuid4(),
        user_id=user_id,
        source=source.value,
        file_sha256=digest,
        rows=plan.rows,
        matched=plan.matched,
        ratings_added=merged.added,
        ratings_updated=merged.updated,
        wants_added=wants_added,
        ambiguous=plan.ambiguous,
        not_found=plan.not_found,
    )
    return ImportPublic.model_validate(row)


def _read(source: Source, filename: str, data: bytes) -> tuple[list[HistoryRow], str]:
    return read_history(source, filename, data), hashlib.sha256(data).hexdigest()


def _key(row: HistoryRow) -> RowKey:
    """Rows with the same key are looked up once (a film both rated and on the watchlist)."""
    if row.item_type == "movie":
        return ("movie", row.imdb_id, row.title, row.year)
    return ("book", row.isbn13, row.title, row.authors[:1])


def _candidate(item_type: str, found: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_type": item_type,
        "id": found["id"],
        "title": found["title"],
        "year": found["year"],
        "authors": list(found.get("authors") or []),
    }


async def _identified(conn: Connection, rows: list[HistoryRow]) -> dict[RowKey, dict[str, Any]]:
    """The rows an IMDb id or an ISBN-13 identifies (one query for each), as candidates by key."""
    imdb_ids = sorted({row.imdb_id for row in rows if row.item_type == "movie" and row.imdb_id})
    isbns = sorted({row.isbn13 for row in rows if row.item_type == "book" and row.isbn13})
    films = {f["imdb_id"]: f for f in await repository.movies_by_imdb_id(conn, imdb_ids)} if imdb_ids else {}
    books = {b["isbn13"]: b for b in await repository.books_by_isbn13(conn, isbns)} if isbns else {}
    identified: dict[RowKey, dict[str, Any]] = {}
    for row in rows:
        if row.item_type == "movie" and row.imdb_id in films:
            identified[_key(row)] = _candidate("movie", films[row.imdb_id])
        elif row.item_type == "book" and row.isbn13 in books:
            identified[_key(row)] = _candidate("book", books[row.isbn13])
    return identified


def matching_title(title: str) -> str:
    """The title a row is looked up by: without a series in brackets at its end."""
    return SERIES_SUFFIX.sub("", title) or title


async def _title_lookups(conn: Connection, rows: list[HistoryRow]) -> dict[RowKey, list[dict[str, Any]]]:
    """Candidates by title (and year, or author) for each distinct key of `rows`, in batches."""
    firsts: dict[RowKey, HistoryRow] = {}
    for row in rows:
        firsts.setdefault(_key(row), row)
    films = [(key, row) for key, row in firsts.items() if row.item_type == "movie"]
    books = [(key, row) for key, row in firsts.items() if row.item_type == "book"]
    lookups: dict[RowKey, list[dict[str, Any]]] = {key: [] for key in firsts}
    for batch in _batches(films):
        found = await repository.movie_title_candidates(
            conn,
            [(matching_title(row.title), row.year) for _, row in batch],
            floor=MATCH_FLOOR,
            per_row=MAX_CANDIDATES + 1,
        )
        for candidate in found:
            lookups[batch[candidate["position"]][0]].append(_scored("movie", candidate))
    for batch in _batches(books):
        wanted = []
        for _, row in batch:
            title = matching_title(row.title)
            wanted.append((title, title.split(":")[0].strip() or title, row.authors[0] if row.authors else None))
        found = await repository.book_title_candidates(
            conn, wanted, floor=MATCH_FLOOR, author_floor=AUTHOR_FLOOR, per_row=MAX_CANDIDATES + 1
        )
        for candidate in found:
            lookups[batch[candidate["position"]][0]].append(_scored("book", candidate))
    return lookups


def _scored(item_type: str, found: dict[str, Any]) -> dict[str, Any]:
    return {**_candidate(item_type, found), "score": found["score"]}


def _batches(pairs: list[tuple[RowKey, HistoryRow]]) -> Iterable[list[tuple[RowKey, HistoryRow]]]:
    for start in range(0, len(pairs), TITLE_LOOKUP_BATCH):
        yield pairs[start : start + TITLE_LOOKUP_BATCH]


def decide(candidates: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the match, None if there is no clear one; the candidates to offer instead, best first)."""
    ranked = sorted(candidates, key=lambda c: (-c["score"], c["id"]))
    if not ranked:
        return None, []
    best = ranked[0]
    if best["score"] >= CLEAR_MATCH and (len(ranked) == 1 or best["score"] - ranked[1]["score"] >= CLEAR_MARGIN):
        return best, []
    return None, ranked[:MAX_CANDIDATES]


def _described(row: HistoryRow) -> dict[str, Any]:
    return {"row": row.line, "file": row.file, "title": row.title, "year": row.year, "authors": list(row.authors)}


def _plan(
    rows: list[HistoryRow], identified: dict[RowKey, dict[str, Any]], lookups: dict[RowKey, list[dict[str, Any]]]
) -> _Plan:
    matched: list[tuple[HistoryRow, ItemType, int]] = []
    ambiguous: list[dict[str, Any]] = []
    not_found: list[dict[str, Any]] = []
    for row in rows:
        key = _key(row)
        if key in identified:
            matched.append((row, ItemType(row.item_type), identified[key]["id"]))
            continue
        match, offered = decide(lookups[key])
        if match is not None:
            matched.append((row, ItemType(row.item_type), match["id"]))
        elif offered:
            ambiguous.append(
                {
                    **_described(row),
                    "rating": row.rating,
                    "want": row.want,
                    # Kept for the choice: a rating made later here must still win then.
                    "date": row.date.isoformat() if row.date else None,
                    "candidates": [{k: v for k, v in c.items() if k != "score"} for c in offered],
                }
            )
        else:
            not_found.append(_described(row))
    ratings, wants = _to_store(
        [(row.rating, row.want, row.date, item_type, item_id) for row, item_type, item_id in matched]
    )
    return _Plan(
        rows=len(rows), matched=len(matched), ratings=ratings, wants=wants, ambiguous=ambiguous, not_found=not_found
    )


def _to_store(
    matched: list[tuple[float | None, bool, datetime | None, ItemType, int]],
) -> tuple[list[tuple[ItemType, int, float, datetime | None]], list[tuple[ItemType, int]]]:
    """One rating per item (of several rows for one item, the latest dated; undated ones count
    as oldest) and each wanted item once."""
    latest: dict[tuple[ItemType, int], tuple[float, datetime | None]] = {}
    wants: dict[tuple[ItemType, int], None] = {}
    for rating, want, date, item_type, item_id in matched:
        item = (item_type, item_id)
        if rating is not None:
            kept = latest.get(item)
            if kept is None or (date is not None and (kept[1] is None or date >= kept[1])):
                latest[item] = (rating, date)
        if want:
            wants[item] = None
    ratings = [(item_type, item_id, rating, date) for (item_type, item_id), (rating, date) in latest.items()]
    return ratings, list(wants)


async def list_mine(conn: Connection, *, user_id: int) -> ImportList:
    rows = await repository.list_for_user(conn, user_id=user_id, limit=IMPORTS_LISTED)
    return ImportList(items=[ImportPublic.model_validate(row) for row in rows])


async def all_of_user(conn: Connection, *, user_id: int) -> list[ImportPublic]:
    """Every import of the user, newest first (for a data export: a person makes a few)."""
    rows = await repository.list_for_user(conn, user_id=user_id, limit=None)
    return [ImportPublic.model_validate(row) for row in rows]


async def resolve(conn: Connection, *, user_id: int, import_id: uuid.UUID, choices: list[Choice]) -> ImportPublic:
    """Apply the user's choices for ambiguous rows of their import: a chosen candidate becomes
    the row's match (its rating and want stored as the import would have); no choice (item_id
    null) moves the row to not_found. The import's counts grow accordingly."""
    found = await repository.get_for_update(conn, import_id=import_id, user_id=user_id)
    if found is None:
        raise NotFoundError(f"Import {import_id} does not exist.")
    waiting = {(entry["file"], entry["row"]): entry for entry in found["ambiguous"]}
    chosen: list[tuple[float | None, bool, datetime | None, ItemType, int]] = []
    skipped: list[dict[str, Any]] = []
    for choice in choices:
        entry = waiting.pop((choice.file, choice.row), None)
        if entry is None:
            raise InvalidInputError(
                f"Row {choice.row} of {choice.file} is not awaiting a choice in this import.", field="choices"
            )
        if choice.item_id is None:
            skipped.append({k: entry[k] for k in ("row", "file", "title", "year", "authors")})
            continue
        candidate = next((c for c in entry["candidates"] if c["id"] == choice.item_id), None)
        if candidate is None:
            raise InvalidInputError(
                f"Item {choice.item_id} is not among the candidates of row {choice.row} of {choice.file}.",
                field="choices",
            )
        date = datetime.fromisoformat(entry["date"]) if entry.get("date") else None
        chosen.append((entry["rating"], entry["want"], date, ItemType(candidate["item_type"]), choice.item_id))
    ratings, wants = _to_store(chosen)
    merged = await ratings_service.merge_dated(conn, user_id=user_id, ratings=ratings)
    wants_added = await interactions_service.record_wants(conn, user_id=user_id, items=wants)
    row = await repository.update_after_choices(
        conn,
        import_id=import_id,
        matched=found["matched"] + len(chosen),
        ratings_added=found["ratings_added"] + merged.added,
        ratings_updated=found["ratings_updated"] + merged.updated,
        wants_added=found["wants_added"] + wants_added,
        ambiguous=list(waiting.values()),
        not_found=[*found["not_found"], *skipped],
    )
    return ImportPublic.model_validate(row)
