from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.errors import ForeignKeyViolation

from cinelibre.database.connection import Connection
from cinelibre.errors import AuthenticationError, NotFoundError
from cinelibre.types import ItemType

RATING_COLUMNS = "id, item_id, item_type, rating::float8 AS rating, created_at, updated_at"


ITEM_TABLES = {ItemType.MOVIE: sql.Identifier("movies"), ItemType.BOOK: sql.Identifier("books")}
# The name PostgreSQL gave ratings.user_id's foreign key (migration 0001 leaves it unnamed).
USER_REFERENCE = "ratings_user_id_fkey"
ACCOUNT_GONE = "The account this access token belongs to no longer exists."

# A rating and its item's aggregates change in one statement (one round trip): the item row's
# lock serialises concurrent raters of the item, and the aggregates never disagree with the rows.
# Every statement that adds, changes or removes a rating takes its locks in one order: the rating
# row, then the item row (the aggregates), then the user row (the activity_version trigger, which
# runs at the end of the statement). Two statements can then never each hold what the other waits for.
INSERT_COUNTED = """
    WITH inserted AS (
        INSERT INTO ratings (user_id, item_type, item_id, rating)
        VALUES (%(user_id)s, %(item_type)s, %(item_id)s, %(rating)s)
        ON CONFLICT ON CONSTRAINT ratings_one_per_item DO NOTHING
        RETURNING {columns}
    ), counted AS (
        UPDATE {items} SET rating_count = rating_count + 1, rating_sum = rating_sum + %(rating)s
        WHERE id = (SELECT item_id FROM inserted)
    )
    SELECT * FROM inserted
"""
# FOR UPDATE waits for a concurrent change of the same rating and then reads its result, so
# the difference added to the item's sum is always against the value being replaced.
UPDATE_COUNTED = """
    WITH previous AS (
        SELECT id, rating FROM ratings
        WHERE user_id = %(user_id)s AND item_type = %(item_type)s AND item_id = %(item_id)s FOR UPDATE
    ), changed AS (
        UPDATE ratings SET rating = %(rating)s, updated_at = now() FROM previous WHERE ratings.id = previous.id
        RETURNING {columns}, previous.rating AS previous_rating
    ), counted AS (
        UPDATE {items} SET rating_sum = rating_sum + %(rating)s - (SELECT previous_rating FROM changed)
        WHERE id = (SELECT item_id FROM changed)
    )
    SELECT id, item_id, item_type, rating, created_at, updated_at FROM changed
"""


async def insert_counted(
    conn: Connection, *, user_id: int, item_type: ItemType, item_id: int, rating: float
) -> dict[str, Any] | None:
    """Add the rating and count it in the item's aggregates. None when the user has already rated
    the item (perhaps in a concurrent request); NotFoundError when the item does not exist."""
    query = sql.SQL(INSERT_COUNTED).format(columns=sql.SQL(RATING_COLUMNS), items=ITEM_TABLES[item_type])
    params = {"user_id": user_id, "item_type": item_type, "item_id": item_id, "rating": rating}
    try:
        cursor = await conn.execute(query, params)
    except ForeignKeyViolation as error:
        if error.diag.constraint_name == USER_REFERENCE:
            # The account was deleted after this request was authenticated.
            raise AuthenticationError(ACCOUNT_GONE) from error
        # The rating's generated movie_id/book_id references the item: the database checks it.
        raise NotFoundError(f"{item_type.value.capitalize()} {item_id} does not exist.", field="item_id") from error
    return await cursor.fetchone()


async def update_counted(
    conn: Connection, *, user_id: int, item_type: ItemType, item_id: int, rating: float
) -> dict[str, Any] | None:
    """Change the user's rating of the item and the item's sum; None if there is none to change."""
    query = sql.SQL(UPDATE_COUNTED).format(
        columns=sql.SQL(
            ", ".join(f"ratings.{c}" for c in ("id", "item_id", "item_type", "created_at", "updated_at"))
            + ", ratings.rating::float8 AS rating"
        ),
        items=ITEM_TABLES[item_type],
    )
    params = {"user_id": user_id, "item_type": item_type, "item_id": item_id, "rating": rating}
    return await (await conn.execute(query, params)).fetchone()


# Removing a rating and taking it out of its item's aggregates, in one statement and in the same
# lock order as INSERT_COUNTED: the rating row, its item, then (the trigger) the user.
DELETE_COUNTED = """
    WITH removed AS (
        DELETE FROM ratings WHERE id = %(rating_id)s AND user_id = %(user_id)s
        RETURNING id, item_id, item_type, rating, created_at, updated_at
    ), movie_counted AS (
        UPDATE movies SET rating_count = rating_count - 1, rating_sum = rating_sum - removed.rating
        FROM removed WHERE removed.item_type = 'movie' AND movies.id = removed.item_id
    ), book_counted AS (
        UPDATE books SET rating_count = rating_count - 1, rating_sum = rating_sum - removed.rating
        FROM removed WHERE removed.item_type = 'book' AND books.id = removed.item_id
    )
    SELECT id, item_id, item_type, rating::float8 AS rating, created_at, updated_at FROM removed
"""


async def delete_owned_counted(conn: Connection, *, rating_id: int, user_id: int) -> dict[str, Any] | None:
    """Delete the user's rating and take it out of its item's aggregates; None if the user has no
    rating with that id."""
    cursor = await conn.execute(DELETE_COUNTED, {"rating_id": rating_id, "user_id": user_id})
    return await cursor.fetchone()


async def account_exists(conn: Connection, *, user_id: int) -> bool:
    row = await (
        await conn.execute("SELECT EXISTS (SELECT 1 FROM users WHERE id = %s) AS found", (user_id,))
    ).fetchone()
    return bool(row and row["found"])


async def list_for_user(
    conn: Connection, *, user_id: int, item_type: ItemType | None, item_id: int | None, skip: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    cursor = await conn.execute(
        """
        SELECT r.id, r.item_id, r.item_type, r.rating::float8 AS rating, r.created_at, r.updated_at,
               coalesce(m.title, b.title) AS title
        FROM ratings r
        LEFT JOIN movies m ON m.id = r.movie_id
        LEFT JOIN books b ON b.id = r.book_id
        WHERE r.user_id = %(user_id)s AND (%(item_type)s::text IS NULL OR r.item_type = %(item_type)s)
          AND (%(item_id)s::bigint IS NULL OR r.item_id = %(item_id)s)
        ORDER BY r.updated_at DESC, r.id DESC
        OFFSET %(skip)s LIMIT %(limit)s
        """,
        {"user_id": user_id, "item_type": item_type, "item_id": item_id, "skip": skip, "limit": limit},
    )
    rows = await cursor.fetchall()
    count = await conn.execute(
        "SELECT count(*) AS total FROM ratings WHERE user_id = %(user_id)s "
        "AND (%(item_type)s::text IS NULL OR item_type = %(item_type)s) "
        "AND (%(item_id)s::bigint IS NULL OR item_id = %(item_id)s)",
        {"user_id": user_id, "item_type": item_type, "item_id": item_id},
    )
    total_row = await count.fetchone()
    assert total_row is not None
    return rows, total_row["total"]


async def insert_many(conn: Connection, rows: list[tuple[int, str, int, float]]) -> None:
    """Bulk-insert (user_id, item_type, item_id, rating) rows; existing ratings are kept.
    Item aggregates are not touched: recompute them after the load."""
    async with conn.cursor() as cursor:
        await cursor.executemany(
            """INSERT INTO ratings (user_id, item_type, item_id, rating) VALUES (%s, %s, %s, %s)
            ON CONFLICT ON CONSTRAINT ratings_one_per_item DO NOTHING""",
            rows,
        )


# Ratings brought in from elsewhere (an imported history), each with the date it was made there
# (or none), in one statement. A new item is rated; a rating the user already has is changed
# only when the incoming one is dated after the user last set it here (an undated one never
# changes it) and gives other stars. Rating rows, then item rows in id order, are locked before
# any aggregate moves, as DELETE_ALL_COUNTED does, so this and concurrent rating writes queue
# instead of deadlocking; each item's count and sum move once by the net change.
MERGE_DATED_COUNTED = """
    WITH incoming AS (
        SELECT * FROM unnest(%(types)s::text[], %(ids)s::bigint[], %(stars)s::numeric[], %(dates)s::timestamptz[])
            AS incoming(item_type, item_id, rating, rated_at)
    ), existing AS MATERIALIZED (
        SELECT r.id, r.item_type, r.item_id, r.rating AS previous, r.updated_at,
               incoming.rating, incoming.rated_at
        FROM ratings r JOIN incoming USING (item_type, item_id)
        WHERE r.user_id = %(user)s
        ORDER BY r.id FOR UPDATE OF r
    ), inserted AS (
        INSERT INTO ratings (user_id, item_type, item_id, rating)
        SELECT %(user)s, incoming.item_type, incoming.item_id, incoming.rating FROM incoming
        WHERE NOT EXISTS (
            SELECT 1 FROM existing e WHERE e.item_type = incoming.item_type AND e.item_id = incoming.item_id
        )
        ORDER BY incoming.item_type, incoming.item_id
        ON CONFLICT ON CONSTRAINT ratings_one_per_item DO NOTHING
        RETURNING item_type, item_id, rating, 0::numeric AS previous, 1 AS added
    ), changed AS (
        UPDATE ratings SET rating = e.rating, updated_at = now()
        FROM existing e
        WHERE ratings.id = e.id AND e.rated_at > e.updated_at AND e.rating <> e.previous
        RETURNING ratings.item_type, ratings.item_id, ratings.rating, e.previous, 0 AS added
    ), deltas AS (
        SELECT item_type, item_id, sum(added) AS n, sum(rating - previous) AS total
        FROM (SELECT * FROM inserted UNION ALL SELECT * FROM changed) AS moved
        GROUP BY item_type, item_id
    ), locked_movies AS (
        SELECT id FROM movies WHERE id IN (SELECT item_id FROM deltas WHERE item_type = 'movie')
        ORDER BY id FOR NO KEY UPDATE
    ), movies_counted AS (
        UPDATE movies SET rating_count = rating_count + d.n, rating_sum = rating_sum + d.total
        FROM deltas d JOIN locked_movies l ON l.id = d.item_id
        WHERE d.item_type = 'movie' AND movies.id = d.item_id
    ), locked_books AS (
        SELECT id FROM books WHERE id IN (SELECT item_id FROM deltas WHERE item_type = 'book')
        ORDER BY id FOR NO KEY UPDATE
    ), books_counted AS (
        UPDATE books SET rating_count = rating_count + d.n, rating_sum = rating_sum + d.total
        FROM deltas d JOIN locked_books l ON l.id = d.item_id
        WHERE d.item_type = 'book' AND books.id = d.item_id
    )
    SELECT (SELECT count(*) FROM inserted) AS added, (SELECT count(*) FROM changed) AS updated
"""


async def merge_dated_counted(
    conn: Connection, *, user_id: int, ratings: list[tuple[ItemType, int, float, datetime | None]]
) -> tuple[int, int]:
    """Merge (item_type, item_id, stars, rated_at) ratings into the user's (MERGE_DATED_COUNTED),
    one per item; returns how many were added and how many changed."""
    row = await (
        await conn.execute(
            MERGE_DATED_COUNTED,
            {
                "user": user_id,
                "types": [r[0].value for r in ratings],
                "ids": [r[1] for r in ratings],
                "stars": [r[2] for r in ratings],
                "dates": [r[3] for r in ratings],
            },
        )
    ).fetchone()
    assert row is not None
    return row["added"], row["updated"]


# Removing all of a user's ratings and taking them out of their items' aggregates, in one
# statement: each item table gets one set-based update. Item rows are locked in id order first,
# so two of these running at once over shared items wait for each other instead of deadlocking.
DELETE_ALL_COUNTED = """
    WITH removed AS (
        DELETE FROM ratings WHERE user_id = %(user_id)s RETURNING item_type, item_id, rating
    ), totals AS (
        SELECT item_type, item_id, count(*) AS n, sum(rating) AS total FROM removed GROUP BY item_type, item_id
    ), locked_movies AS (
        SELECT id FROM movies WHERE id IN (SELECT item_id FROM totals WHERE item_type = 'movie')
        ORDER BY id FOR NO KEY UPDATE
    ), movies_counted AS (
        UPDATE movies SET rating_count = rating_count - t.n, rating_sum = rating_sum - t.total
        FROM totals t JOIN locked_movies l ON l.id = t.item_id
        WHERE t.item_type = 'movie' AND movies.id = t.item_id
    ), locked_books AS (
        SELECT id FROM books WHERE id IN (SELECT item_id FROM totals WHERE item_type = 'book')
        ORDER BY id FOR NO KEY UPDATE
    ), books_counted AS (
        UPDATE books SET rating_count = rating_count - t.n, rating_sum = rating_sum - t.total
        FROM totals t JOIN locked_books l ON l.id = t.item_id
        WHERE t.item_type = 'book' AND books.id = t.item_id
    )
    SELECT count(*) AS removed FROM removed
"""


async def delete_all_counted(conn: Connection, *, user_id: int) -> int:
    """Delete every rating of the user, keeping item aggregates in step; returns how many."""
    row = await (await conn.execute(DELETE_ALL_COUNTED, {"user_id": user_id})).fetchone()
    assert row is not None
    return row["removed"]


async def each_for_user(conn: Connection, *, user_id: int) -> AsyncIterator[dict[str, Any]]:
    """Every rating of the user with its item's title, oldest first (for a data export), read
    through a server-side cursor: a few hundred rows in memory at a time."""
    async with conn.cursor(name="ratings_export") as cursor:
        await cursor.execute(
            """
            SELECT r.id, r.item_id, r.item_type, r.rating::float8 AS rating, r.created_at, r.updated_at,
                   coalesce(m.title, b.title) AS title
            FROM ratings r
            LEFT JOIN movies m ON m.id = r.movie_id
            LEFT JOIN books b ON b.id = r.book_id
            WHERE r.user_id = %s
            ORDER BY r.created_at, r.id
            """,
            (user_id,),
        )
        async for row in cursor:
            yield row
