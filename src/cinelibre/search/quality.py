"""Measuring search quality: nDCG@k over a graded relevance set.

A relevance set is a JSON list of {"query", "type", "kind", "relevant": {"movie:Title (year)": grade}},
grades 1-3. The same code serves the benchmark script and the test that guards the ranking.
"""

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinelibre.database.connection import Connection
from cinelibre.search import service
from cinelibre.search.embedder import Embedder
from cinelibre.search.repository import SearchFilters
from cinelibre.search.schemas import SearchMode, SearchScope


@dataclass(frozen=True)
class Judgement:
    query: str
    scope: SearchScope
    kind: str
    grades: dict[str, int]  # "movie:<id>" / "book:<id>" -> grade


def ndcg(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain with exponential gain (2^grade - 1)."""
    gain = sum((2 ** grades.get(key, 0) - 1) / math.log2(position + 2) for position, key in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**grade - 1) / math.log2(position + 2) for position, grade in enumerate(ideal))
    return gain / best if best else 0.0


def read_relevance_set(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


async def load_judgements(conn: Connection, entries: list[dict[str, Any]]) -> list[Judgement]:
    """Turn a relevance set's "movie:Title (year)" labels into catalogue ids."""
    cursor = await conn.execute(
        """SELECT 'movie:' || title || ' (' || year || ')' AS label, 'movie:' || id AS key FROM movies
        UNION ALL SELECT 'book:' || title || ' (' || year || ')', 'book:' || id FROM books"""
    )
    keys = {row["label"]: row["key"] for row in await cursor.fetchall()}
    judgements = []
    for entry in entries:
        grades = {keys[label]: grade for label, grade in entry["relevant"].items()}
        judgements.append(Judgement(entry["query"], SearchScope(entry["type"]), entry["kind"], grades))
    return judgements


async def evaluate(
    conn: Connection, embedder: Embedder, judgements: list[Judgement], mode: SearchMode, k: int = 10
) -> dict[str, float]:
    """Mean nDCG@k for every kind of query and for all of them ("all")."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    for judgement in judgements:
        hits = await service.search(
            conn,
            embedder=embedder,
            query=judgement.query,
            scope=judgement.scope,
            limit=k,
            threshold=0.0,
            filters=SearchFilters(),
            mode=mode,
        )
        score = ndcg([f"{hit.item_type}:{hit.id}" for hit in hits], judgement.grades, k)
        by_kind[judgement.kind].append(score)
        by_kind["all"].append(score)
    return {kind: sum(scores) / len(scores) for kind, scores in sorted(by_kind.items())}
