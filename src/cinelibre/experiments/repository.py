import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from cinelibre.database.connection import Connection

# Memory for one results query's sorts and hashes (PostgreSQL's default is 4MB). Only an admin's
# results request uses it, one at a time in practice.
RESULTS_WORK_MEM = "64MB"

_EXPERIMENT = "id, name, surface, kind, status, variants, expected_daily_users, created_at, started_at, stopped_at"


async def insert(
    conn: Connection,
    *,
    name: str,
    surface: str,
    kind: str,
    variants: list[dict[str, Any]],
    expected_daily_users: int | None,
) -> dict[str, Any]:
    cursor = await conn.execute(
        f"""INSERT INTO experiments (name, surface, kind, variants, expected_daily_users)
        VALUES (%s, %s, %s, %s, %s) RETURNING {_EXPERIMENT}""",
        (name, surface, kind, Jsonb(variants), expected_daily_users),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row


async def get(conn: Connection, experiment_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    cursor = await conn.execute(f"SELECT {_EXPERIMENT} FROM experiments WHERE id = %s{lock}", (experiment_id,))
    return await cursor.fetchone()


async def list_all(conn: Connection) -> list[dict[str, Any]]:
    cursor = await conn.execute(f"SELECT {_EXPERIMENT} FROM experiments ORDER BY created_at DESC, id DESC")
    return await cursor.fetchall()


async def running(conn: Connection) -> list[dict[str, Any]]:
    cursor = await conn.execute(f"SELECT {_EXPERIMENT} FROM experiments WHERE status = 'running'")
    return await cursor.fetchall()


async def running_on(conn: Connection, surface: str) -> dict[str, Any] | None:
    """The experiment running on a surface, locked until the transaction ends, so two starts at
    once on one surface are decided one after the other (the unique index backs this up)."""
    cursor = await conn.execute(
        f"SELECT {_EXPERIMENT} FROM experiments WHERE surface = %s AND status = 'running' FOR UPDATE", (surface,)
    )
    return await cursor.fetchone()


async def set_status(conn: Connection, experiment_id: int, status: str) -> dict[str, Any]:
    cursor = await conn.execute(
        f"""UPDATE experiments SET status = %(status)s,
            started_at = CASE WHEN %(status)s = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
            stopped_at = CASE WHEN %(status)s = 'stopped' THEN now() ELSE stopped_at END
        WHERE id = %(id)s RETURNING {_EXPERIMENT}""",
        {"status": status, "id": experiment_id},
    )
    row = await cursor.fetchone()
    assert row is not None
    return row


async def write_exposures(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows of (list_id, surface, user_id, client_id, experiment_id, variant, item_types, item_ids,
    teams, first_position, shown_at), in one COPY."""
    async with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY list_exposures (list_id, surface, user_id, client_id, experiment_id, variant, item_types, "
            "item_ids, teams, first_position, shown_at) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            await copy.write_row(row)


async def delete_old_exposures(conn: Connection, *, days: int) -> int:
    """Lists older than `days` outside experiments, and the anonymous interactions sent from them."""
    await conn.execute(
        """DELETE FROM anonymous_list_interactions a
        WHERE a.created_at < now() - make_interval(days => %s)
          AND NOT EXISTS (
              SELECT 1 FROM list_exposures e WHERE e.list_id = a.list_id AND e.experiment_id IS NOT NULL
          )""",
        (days,),
    )
    cursor = await conn.execute(
        "DELETE FROM list_exposures WHERE experiment_id IS NULL AND shown_at < now() - make_interval(days => %s)",
        (days,),
    )
    return cursor.rowcount


async def insert_anonymous_interaction(
    conn: Connection, *, list_id: uuid.UUID, client_id: str, kind: str, item_type: str, item_id: int
) -> None:
    await conn.execute(
        """INSERT INTO anonymous_list_interactions (list_id, client_id, kind, item_type, item_id)
        VALUES (%s, %s, %s, %s, %s)""",
        (list_id, client_id, kind, item_type, item_id),
    )


async def each_exposure_of_user(conn: Connection, *, user_id: int) -> AsyncIterator[dict[str, Any]]:
    """Every list shown to the user, oldest first, through a server-side cursor (for a data export)."""
    async with conn.cursor(name="exposures_export") as cursor:
        await cursor.execute(
            """SELECT list_id, surface, shown_at, experiment_id, variant, first_position, item_types, item_ids
            FROM list_exposures WHERE user_id = %s ORDER BY shown_at, list_id""",
            (user_id,),
        )
        async for row in cursor:
            yield row


async def delete_exposures_of_user(conn: Connection, *, user_id: int) -> int:
    cursor = await conn.execute("DELETE FROM list_exposures WHERE user_id = %s", (user_id,))
    return cursor.rowcount


# Each list once per arm it is measured for: its variant in an A/B test; in an interleaved list,
# each of the two teams ('0', '1'), which share the list and split its items and clicks.
_MEASURED = """
    shown AS (
        SELECT list_id, coalesce('user:' || user_id, 'client:' || client_id) AS subject, user_id, client_id,
               variant, item_types, item_ids, teams, first_position, shown_at
        FROM list_exposures WHERE experiment_id = %(experiment)s
    ), arms AS (
        SELECT s.list_id, s.subject, coalesce(t.team::text, s.variant) AS arm, t.team
        FROM shown s CROSS JOIN LATERAL (
            SELECT NULL::smallint AS team WHERE s.teams IS NULL
            UNION ALL SELECT unnest('{0,1}'::smallint[]) WHERE s.teams IS NOT NULL
        ) AS t
    ), listed AS (
        SELECT s.list_id, s.subject, s.user_id, s.client_id, s.variant, s.shown_at, u.item_type, u.item_id,
               s.first_position + u.place::int - 1 AS position, s.teams[u.place] AS team
        FROM shown s CROSS JOIN LATERAL unnest(s.item_types, s.item_ids) WITH ORDINALITY AS u(item_type, item_id, place)
    ), clicked AS (
        -- A click counts for the list it names when that list was shown to the same user (or the
        -- same anonymous client) and held the item; each listed item counts once however often it
        -- was clicked.
        SELECT l.list_id, l.item_type, l.item_id, l.position, l.team
        FROM listed l JOIN interactions i ON i.list_id = l.list_id AND i.user_id = l.user_id
            AND i.item_type = l.item_type AND i.item_id = l.item_id AND i.kind = 'click'
        UNION
        SELECT l.list_id, l.item_type, l.item_id, l.position, l.team
        FROM listed l JOIN anonymous_list_interactions a ON a.list_id = l.list_id AND a.client_id = l.client_id
            AND a.item_type = l.item_type AND a.item_id = l.item_id AND a.kind = 'click'
    ), per_list AS (
        SELECT a.subject, a.arm, a.list_id,
               count(c.list_id) AS clicks,
               count(c.list_id) FILTER (WHERE c.position <= 1) AS clicks_at_1,
               count(c.list_id) FILTER (WHERE c.position <= 3) AS clicks_at_3,
               count(c.list_id) FILTER (WHERE c.position <= 10) AS clicks_at_10
        FROM arms a LEFT JOIN clicked c ON c.list_id = a.list_id AND c.team IS NOT DISTINCT FROM a.team
        GROUP BY a.subject, a.arm, a.list_id
    )"""


async def allow_large_aggregates(conn: Connection) -> None:
    """Let this transaction's sorts and hashes use RESULTS_WORK_MEM before spilling to disk: an
    experiment's results expand every list into its items (two million rows for 100,000 lists)."""
    await conn.execute(f"SET LOCAL work_mem = '{RESULTS_WORK_MEM}'")


async def measures_per_subject(conn: Connection, *, experiment_id: int, window_days: int) -> list[dict[str, Any]]:
    """One row per subject (a user, or an anonymous client) and arm: lists shown, clicks credited
    (all, and on the first 1, 3, 10 places), the (user, item) pairs shown and how many of those
    the user rated within window_days of first seeing the item, and those ratings' sum."""
    cursor = await conn.execute(
        f"""WITH {_MEASURED},
        pairs AS (
            SELECT subject, coalesce(team::text, variant) AS arm, user_id, item_type, item_id,
                   min(shown_at) AS first_shown
            FROM listed GROUP BY 1, 2, 3, 4, 5
        ), rated AS (
            SELECT p.subject, p.arm, count(*) AS shown_pairs, count(r.id) AS rated_pairs,
                   coalesce(sum(r.rating), 0)::float8 AS rating_sum
            FROM pairs p LEFT JOIN ratings r ON r.user_id = p.user_id AND r.item_type = p.item_type
                AND r.item_id = p.item_id AND r.created_at >= p.first_shown
                AND r.created_at < p.first_shown + make_interval(days => %(window)s)
            GROUP BY p.subject, p.arm
        )
        SELECT l.subject, l.arm, count(*) AS lists, sum(l.clicks)::int AS clicks,
               sum(l.clicks_at_1)::int AS clicks_at_1, sum(l.clicks_at_3)::int AS clicks_at_3,
               sum(l.clicks_at_10)::int AS clicks_at_10,
               coalesce(max(r.shown_pairs), 0)::int AS shown_pairs, coalesce(max(r.rated_pairs), 0)::int AS rated_pairs,
               coalesce(max(r.rating_sum), 0) AS rating_sum
        FROM per_list l LEFT JOIN rated r ON r.subject = l.subject AND r.arm = l.arm
        GROUP BY l.subject, l.arm ORDER BY l.subject, l.arm""",
        {"experiment": experiment_id, "window": window_days},
    )
    return await cursor.fetchall()


async def interleaved_wins_per_subject(conn: Connection, *, experiment_id: int) -> list[dict[str, Any]]:
    """For an interleaving experiment, per subject: the lists shown, those whose clicks went more to
    the first team, more to the second, and those with clicks shared evenly."""
    cursor = await conn.execute(
        f"""WITH {_MEASURED},
        per_outcome AS (
            SELECT subject, list_id,
                   sum(clicks) FILTER (WHERE arm = '0') AS first, sum(clicks) FILTER (WHERE arm = '1') AS second
            FROM per_list GROUP BY subject, list_id
        )
        SELECT subject, count(*)::int AS lists, count(*) FILTER (WHERE first > second)::int AS first_wins,
               count(*) FILTER (WHERE second > first)::int AS second_wins,
               count(*) FILTER (WHERE first = second AND first > 0)::int AS ties
        FROM per_outcome GROUP BY subject ORDER BY subject""",
        {"experiment": experiment_id},
    )
    return await cursor.fetchall()


async def items_shown(conn: Connection, *, experiment_id: int) -> dict[str, int]:
    """Distinct items shown per arm."""
    # Distinct rows first, then counted: hashing plain columns is far cheaper than count(DISTINCT)
    # over a row value, which sorts millions of them.
    cursor = await conn.execute(
        """SELECT arm, count(*)::int AS items FROM (
            SELECT DISTINCT coalesce(u.team::text, e.variant) AS arm, u.item_type, u.item_id
            FROM list_exposures e CROSS JOIN LATERAL unnest(e.item_types, e.item_ids, coalesce(e.teams, '{}'))
                AS u(item_type, item_id, team)
            WHERE e.experiment_id = %s AND u.item_id IS NOT NULL
        ) AS shown GROUP BY arm""",
        (experiment_id,),
    )
    return {row["arm"]: row["items"] for row in await cursor.fetchall()}


async def catalogue_size(conn: Connection) -> int:
    cursor = await conn.execute("SELECT (SELECT count(*) FROM movies) + (SELECT count(*) FROM books) AS items")
    row = await cursor.fetchone()
    assert row is not None
    return row["items"]


async def surface_traffic(conn: Connection, *, surface: str, days: int) -> dict[str, Any]:
    """Over the last `days`: the lists a surface served, the users and clients they went to, and
    the clicks credited to them (for a minimum detectable effect before an experiment starts)."""
    cursor = await conn.execute(
        """WITH shown AS (
            SELECT list_id, user_id, client_id, coalesce('user:' || user_id, 'client:' || client_id) AS subject,
                   item_types, item_ids
            FROM list_exposures WHERE surface = %(surface)s AND shown_at > now() - make_interval(days => %(days)s)
        ), list_clicks AS (
            SELECT s.list_id, i.item_type, i.item_id, s.item_types, s.item_ids FROM shown s
            JOIN interactions i ON i.list_id = s.list_id AND i.user_id = s.user_id AND i.kind = 'click'
            UNION ALL
            SELECT s.list_id, a.item_type, a.item_id, s.item_types, s.item_ids FROM shown s
            JOIN anonymous_list_interactions a ON a.list_id = s.list_id AND a.client_id = s.client_id
                AND a.kind = 'click'
        )
        SELECT (SELECT count(*) FROM shown)::int AS lists,
               (SELECT count(DISTINCT subject) FROM shown)::int AS subjects,
               (SELECT count(*) FROM (
                    SELECT DISTINCT c.list_id, c.item_type, c.item_id FROM list_clicks c
                    WHERE (c.item_type, c.item_id) IN (SELECT * FROM unnest(c.item_types, c.item_ids))
               ) AS credited)::int AS clicks""",
        {"surface": surface, "days": days},
    )
    row = await cursor.fetchone()
    assert row is not None
    return row
