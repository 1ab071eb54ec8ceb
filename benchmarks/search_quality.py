"""nDCG@10 of vector-only, full-text-only and hybrid search over the relevance set kept in the
tests (tests/data/search_relevance.json), on the demo catalogue. Prints a table.

    .venv/bin/python benchmarks/search_quality.py

Builds a throw-away embedded database.
"""

import argparse
import asyncio
import sys
from pathlib import Path

import psycopg
from harness import load_embedded_demo, print_table, scratch_database
from psycopg.rows import dict_row

from cinelibre.database.connection import prepare_connection
from cinelibre.search import quality
from cinelibre.search.embedder import Embedder
from cinelibre.search.schemas import SearchMode
from cinelibre.settings import Settings

RELEVANCE_SET = Path(__file__).parents[1] / "tests" / "data" / "search_relevance.json"


async def measure(url: str, settings: Settings) -> dict[SearchMode, dict[str, float]]:
    await load_embedded_demo(url, settings)
    embedder = Embedder(settings)
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        await prepare_connection(conn)
        judgements = await quality.load_judgements(conn, quality.read_relevance_set(RELEVANCE_SET))
        return {mode: await quality.evaluate(conn, embedder, judgements, mode) for mode in SearchMode}


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    with scratch_database() as database:
        results = asyncio.run(measure(database.url, database.settings))
    kinds = list(results[SearchMode.HYBRID])
    print_table(
        f"Search nDCG@10 on the demo catalogue ({RELEVANCE_SET.name})",
        ("mode", *kinds),
        [
            (mode.value, *(f"{results[mode][kind]:.3f}" for kind in kinds))
            for mode in (SearchMode.VECTOR, SearchMode.FULLTEXT, SearchMode.HYBRID)
        ],
        right_aligned=kinds,
    )
    if not all(results[SearchMode.HYBRID]["all"] > results[m]["all"] for m in (SearchMode.VECTOR, SearchMode.FULLTEXT)):
        sys.exit("hybrid does not beat both single retrievers")


if __name__ == "__main__":
    main()
