"""nDCG@10 of vector-only, full-text-only and hybrid search over the relevance set kept in the
tests (tests/data/search_relevance.json), on the demo catalogue. Prints a table.

    .venv/bin/python benchmarks/search_quality.py

Builds a throw-away embedded database (or uses DATABASE_URL's server with a scratch database).
"""

import asyncio
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from rich.console import Console
from rich.table import Table

from cinelibre.database import migrate
from cinelibre.database.connection import open_pool, prepare_connection
from cinelibre.database.embedded import open_database
from cinelibre.demo import service as demo_service
from cinelibre.search import quality
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.search.schemas import SearchMode
from cinelibre.settings import Settings

RELEVANCE_SET = Path(__file__).parents[1] / "tests" / "data" / "search_relevance.json"


async def measure(url: str, settings: Settings) -> dict[SearchMode, dict[str, float]]:
    embedder = Embedder(settings)
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn, conn.transaction():
        await demo_service.load(conn)
    pool = await open_pool(url, settings)
    await search_service.embed_pending(pool, embedder)
    await pool.close()
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        await prepare_connection(conn)
        judgements = await quality.load_judgements(conn, quality.read_relevance_set(RELEVANCE_SET))
        return {mode: await quality.evaluate(conn, embedder, judgements, mode) for mode in SearchMode}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, data_dir=Path(folder))
        with open_database(None, Path(folder)) as database:
            migrate.upgrade_to_head(database.url)
            results = asyncio.run(measure(database.url, settings))
    kinds = list(results[SearchMode.HYBRID])
    table = Table(title=f"Search nDCG@10 on the demo catalogue ({RELEVANCE_SET.name})")
    table.add_column("mode")
    for kind in kinds:
        table.add_column(kind, justify="right")
    for mode in (SearchMode.VECTOR, SearchMode.FULLTEXT, SearchMode.HYBRID):
        table.add_row(mode.value, *(f"{results[mode][kind]:.3f}" for kind in kinds))
    Console().print(table)
    if not all(results[SearchMode.HYBRID]["all"] > results[m]["all"] for m in (SearchMode.VECTOR, SearchMode.FULLTEXT)):
        sys.exit("hybrid does not beat both single retrievers")


if __name__ == "__main__":
    main()
