"""Measuring search quality: nDCG@k and top-3 hits over a graded relevance set.

A relevance set is a JSON list of {"query", "type", "kind", "split", "relevant": {"movie:Title (year)":
grade}}, grades 1-3 (3: exactly what was asked, 2: clearly relevant, 1: related). A query whose
relevant set is empty on purpose (kind "nonsense") is answered well by no results at all. The same
code serves the benchmark script and the test that guards the ranking.
"""

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinelibre.database.connection import Connection
from cinelibre.search import service
from cinelibre.search.embedder import Embedder
from cinelibre.search.repository import SearchFilters
from cinelibre.search.schemas import SearchMode, SearchScope

# A top-3 hit needs an item at least this relevant ("clearly relevant") among the first three.
HIT_GRADE = 2
HIT_DEPTH = 3


@dataclass(frozen=True)
class Judgement:
    query: str
    scope: SearchScope
    kind: str
    grades: dict[str, int]  # "movie:<id>" / "book:<id>" -> grade; empty: no results is the right answer
    split: str = "all"  # "tune" or "report": the half a query belongs to


@dataclass(frozen=True)
class QueryScore:
    judgement: Judgement
    ndcg: float
    top3_hit: bool


@dataclass(frozen=True)
class Summary:
    """Mean nDCG@k and the share of top-3 hits over `queries` queries."""

    queries: int
    ndcg: float
    top3_hit_rate: float


def ndcg(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain with exponential gain (2^grade - 1)."""
    gain = sum((2 ** grades.get(key, 0) - 1) / math.log2(position + 2) for position, key in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**grade - 1) / math.log2(position + 2) for position, grade in enumerate(ideal))
    return gain / best if best else 0.0


def score(judgement: Judgement, ranked: list[str], k: int = 10) -> QueryScore:
    """nDCG@k and top-3 hit of one answer. For a query with nothing relevant, the empty answer is
    the perfect one (1.0 and a hit) and any other answer is worth nothing."""
    if not judgement.grades:
        return QueryScore(judgement, 1.0 if not ranked else 0.0, not ranked)
    hit = any(judgement.grades.get(key, 0) >= HIT_GRADE for key in ranked[:HIT_DEPTH])
    return QueryScore(judgement, ndcg(ranked, judgement.grades, k), hit)


def summarise(scores: Iterable[QueryScore]) -> dict[str, Summary]:
    """A Summary for every kind of query and for all of them ("all")."""
    by_kind: dict[str, list[QueryScore]] = defaultdict(list)
    for query_score in scores:
        by_kind[query_score.judgement.kind].append(query_score)
        by_kind["all"].append(query_score)
    return {
        kind: Summary(
            len(group),
            sum(s.ndcg for s in group) / len(group),
            sum(s.top3_hit for s in group) / len(group),
        )
        for kind, group in sorted(by_kind.items())
    }


def read_relevance_set(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


async def load_judgements(conn: Connection, entries: list[dict[str, Any]]) -> list[Judgement]:
    """Turn a relevance set's "movie:Title (year)" labels into catalogue ids. Labels of items this
    catalogue does not hold are ignored; a query left with none of its relevant items is left out
    (one meant to have none, such as a nonsense query, stays)."""
    cursor = await conn.execute(
        """SELECT 'movie:' || title || ' (' || year || ')' AS label, 'movie:' || id AS key FROM movies
        UNION ALL SELECT 'book:' || title || ' (' || year || ')', 'book:' || id FROM books"""
    )
    keys = {row["label"]: row["key"] for row in await cursor.fetchall()}
    judgements = []
    for entry in entries:
        grades = {keys[label]: grade for label, grade in entry["relevant"].items() if label in keys}
        if entry["relevant"] and not grades:
            continue
        split = entry.get("split", "all")
        judgements.append(Judgement(entry["query"], SearchScope(entry["type"]), entry["kind"], grades, split))
    return judgements


async def evaluate(
    conn: Connection, embedder: Embedder, judgements: list[Judgement], mode: SearchMode, k: int = 10
) -> dict[str, float]:
    """Mean nDCG@k for every kind of query and for all of them ("all"), searching in this process."""
    scores = []
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
        scores.append(score(judgement, [f"{hit.item_type}:{hit.id}" for hit in hits], k))
    return {kind: summary.ndcg for kind, summary in summarise(scores).items()}
