"""What /health/ready and /metrics read from the database."""

from typing import Any

from cinelibre.database.connection import Connection


async def schema_revision(conn: Connection) -> str | None:
    cursor = await conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL AS migrated")
    if not (await cursor.fetchone() or {}).get("migrated"):
        return None
    cursor = await conn.execute("SELECT version_num FROM alembic_version")
    row = await cursor.fetchone()
    return row["version_num"] if row else None


async def active_models(conn: Connection) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT kind, id, extract(epoch FROM now() - trained_at)::float8 AS age_seconds "
        "FROM recommender_models WHERE is_active"
    )
    return await cursor.fetchall()


async def sync_run_outcomes(conn: Connection) -> list[dict[str, Any]]:
    """Runs per source and outcome, with the latest error-free finish."""
    cursor = await conn.execute(
        """
        SELECT source,
               CASE WHEN status = 'running' THEN 'running'
                    WHEN jsonb_array_length(errors) > 0 THEN 'finished_with_errors'
                    ELSE 'finished' END AS outcome,
               count(*) AS runs,
               extract(epoch FROM max(finished_at) FILTER (
                   WHERE status = 'finished' AND jsonb_array_length(errors) = 0))::float8 AS last_success
        FROM sync_runs GROUP BY 1, 2
        """
    )
    return await cursor.fetchall()
