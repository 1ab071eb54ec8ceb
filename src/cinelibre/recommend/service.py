from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cinelibre.catalog import repository as catalog_repository
from cinelibre.catalog import service as catalog_service
from cinelibre.database.connection import Connection
from cinelibre.errors import NotFoundError
from cinelibre.recommend import repository
from cinelibre.recommend.algorithms.fold_in import fold_in
from cinelibre.recommend.schemas import Prediction, RecommendedBook, RecommendedMovie
from cinelibre.recommend.training import ITEM_MODEL, RATING_MODEL
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.search.repository import Candidate
from cinelibre.search.schemas import BookHit, MovieHit
from cinelibre.types import ItemType

# Item-to-item collaborative filtering joins the content neighbours once an item has this many
# raters, and only items sharing at least MIN_CO_RATERS of them count.
CO_RATING_MIN_RATERS = 5
MIN_CO_RATERS = 3


async def similar_items(
    conn: Connection,
    *,
    embedder: Embedder,
    item_type: ItemType,
    item_id: int,
    target_type: ItemType | None,
    limit: int,
) -> list[MovieHit | BookHit]:
    """Neighbours of an item (its own type unless target_type says otherwise): by embedding, fused
    (Reciprocal Rank Fusion) with items the same users rated once enough users rated it."""
    target = target_type or item_type
    content = await search_service.similar_to(
        conn, embedder=embedder, item_type=item_type, item_id=item_id, target_type=target, limit=limit * 2
    )
    if content is None:
        raise NotFoundError(f"{item_type.value.capitalize()} {item_id} does not exist.")
    co_rated = await repository.co_rated_items(
        conn, item_type=item_type, item_id=item_id, target_type=target, limit=limit * 2, min_co_raters=MIN_CO_RATERS
    )
    raters = await catalog_repository.rating_count(conn, item_type, item_id)
    if raters < CO_RATING_MIN_RATERS or not co_rated:
        return content[:limit]
    content_ranked = [Candidate(target, hit.id, hit.similarity or 0.0, hit.similarity) for hit in content]
    similarity = {hit.id: hit.similarity for hit in content}
    rated_ranked = [
        Candidate(target, row["item_id"], row["cosine"], similarity.get(row["item_id"])) for row in co_rated
    ]
    fused = search_service.fuse([content_ranked, rated_ranked])[:limit]
    return await search_service.load_hits(conn, fused)


async def _with_items(conn: Connection, rows: list[dict[str, Any]]) -> list[RecommendedMovie | RecommendedBook]:
    """Attach each recommended item's usual object; rows carry item_type, item_id, score, reason."""
    catalogue = await catalog_service.rows_by_key(conn, [(row["item_type"], row["item_id"]) for row in rows])
    models = {ItemType.MOVIE.value: RecommendedMovie, ItemType.BOOK.value: RecommendedBook}
    return [
        models[row["item_type"]].model_validate(
            {
                **catalogue[(row["item_type"], row["item_id"])],
                "score": row["score"],
                "predicted_rating": row.get("predicted_rating"),
                "reason": row["reason"],
            }
        )
        for row in rows
    ]


def _popularity_reason(row: dict[str, Any], window_days: int | None) -> str:
    when = f" in the last {window_days} days" if window_days else ""
    if row["rating_count"]:
        return f"rated {row['average_rating']:.1f}★ on average by {row['rating_count']} of our users{when}"
    return f"viewed {row['interaction_count']} times by our users{when}"


async def popular(
    conn: Connection, *, item_type: ItemType | None, window_days: int | None, limit: int
) -> list[RecommendedMovie | RecommendedBook]:
    rows = await repository.popular_items(conn, item_type=item_type, window_days=window_days, limit=limit)
    return await _with_items(conn, [row | {"reason": _popularity_reason(row, window_days)} for row in rows])


# Blending for the personalized list. Collaborative signals take over as a user rates more: at
# CF_FULL_WEIGHT_AT ratings they carry all the personal weight; before that the content profile
# carries the rest. Popularity always adds a little, so cold lists are never empty.
CF_FULL_WEIGHT_AT = 20
POPULARITY_WEIGHT = 0.15
CANDIDATES_PER_SOURCE = 60
MAX_PADDING = 200
HEAVY_VIEWING = 3  # views or clicks after which an item is left out of the user's list
DIVERSITY = 0.2  # MMR: share of a candidate's value given to being unlike what is already listed


@dataclass
class _Candidate:
    item_type: str
    item_id: int
    collaborative: float | None = None  # predicted stars (the seed's user-kNN)
    neighbours: int = 0
    linked: float | None = None  # the item-to-item model's weight, scaled to 0-1
    because: dict[str, Any] | None = None  # the rated item that links to it most
    content: float | None = None  # cosine similarity to the user's profile
    popularity: float | None = None  # Bayesian-average stars
    popularity_rank: int = 10**9  # place in the popular list, to break ties the way it does
    language: str | None = None  # its language's name, for reasons
    signals: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        return (self.item_type, self.item_id)


def _predicted_stars(stars: float | None) -> float | None:
    return None if stars is None else round(min(5.0, max(0.5, stars)), 1)


def _stars_to_unit(stars: float) -> float:
    return (stars - 0.5) / 4.5


def _as_array(vector: Any) -> np.ndarray:
    # pgvector hands back numpy arrays or its own Vector type, depending on the result format.
    return np.asarray(vector.to_numpy() if hasattr(vector, "to_numpy") else vector, dtype=np.float64)


def _mmr(ranked: list[_Candidate], vectors: dict[tuple[str, int], Any], limit: int) -> list[_Candidate]:
    """Maximal marginal relevance: each next item trades a little score for being unlike those
    already chosen, so one franchise or one genre does not fill the list."""
    chosen: list[_Candidate] = []
    chosen_vectors: list[np.ndarray] = []
    remaining = list(ranked)
    while remaining and len(chosen) < limit:

        def value(candidate: _Candidate) -> float:
            vector = vectors.get(candidate.key)
            if vector is None or not chosen_vectors:
                return candidate.signals["score"]
            redundancy = max(float(vector @ other) for other in chosen_vectors)
            return (1 - DIVERSITY) * candidate.signals["score"] - DIVERSITY * redundancy

        best = max(remaining, key=value)
        remaining.remove(best)
        chosen.append(best)
        vector = vectors.get(best.key)
        if vector is not None:
            chosen_vectors.append(vector)
    return chosen


def _reason(candidate: _Candidate, liked: dict[str, Any] | None, item_type: str) -> str:
    # A personal reason wins over popularity whenever there is one: it tells the user why *they* see it.
    personal = {name: candidate.signals[name] for name in ("collaborative", "content") if candidate.signals[name] > 0}
    strongest = max(personal, key=personal.__getitem__) if personal else "popularity"
    if strongest == "content" and liked is not None:
        return f"because you rated {liked['title']} {liked['rating']:g}★"
    if strongest == "collaborative" and candidate.because is not None:
        return f"people who liked {candidate.because['title']} rated it too"
    if strongest == "collaborative":
        people = "readers" if item_type == "book" else "viewers"
        return f"{people} with your taste liked it"
    kind = "books" if item_type == "book" else "films"
    return f"popular in {candidate.language} {kind}" if candidate.language else f"popular {kind} with our users"


async def personalized(
    conn: Connection,
    *,
    user_id: int,
    item_type: ItemType | None,
    limit: int,
    model: str,
    skip_viewed: bool = True,
) -> list[RecommendedMovie | RecommendedBook]:
    """The hybrid list: popular for a user with no ratings; a content profile (mean embedding of
    what they liked) blended with popular for a few; collaborative filtering taking over as
    ratings grow. Never an item they rated; by default not one they viewed many times."""
    summary = await repository.rating_summary(conn, user_id)
    excluded = await repository.excluded_items(conn, user_id, min_views=HEAVY_VIEWING if skip_viewed else 10**9)
    candidates: dict[tuple[str, int], _Candidate] = {}

    def candidate(kind: str, item_id: int) -> _Candidate:
        return candidates.setdefault((kind, item_id), _Candidate(kind, item_id))

    # Lists that cannot leave out what the user rated fetch a few more to make up for it.
    padded = CANDIDATES_PER_SOURCE + min(len(excluded), MAX_PADDING)
    popular = await repository.popular_items(conn, item_type=item_type, window_days=None, limit=padded)
    for rank, row in enumerate(popular):
        found = candidate(row["item_type"], row["item_id"])
        found.popularity, found.popularity_rank = row["score"], rank
    item_model = await repository.active_model(conn, ITEM_MODEL)
    if summary["count"] and item_model is not None:
        # The trained item-to-item model: "people who rated what you liked also rated this".
        linked = await repository.item_model_candidates(
            conn, model_id=item_model["id"], user_id=user_id, item_type=item_type,
            limit=CANDIDATES_PER_SOURCE + min(len(excluded) - summary["count"], MAX_PADDING),
        )  # fmt: skip
        strongest = max((row["weight"] for row in linked), default=1.0)
        for row in linked:
            found = candidate(row["item_type"], row["item_id"])
            found.linked = row["weight"] / strongest
            found.because = {"title": row["because_title"], "rating": row["because_rating"]}
    elif summary["count"]:
        # No trained model yet: the seed's user-based CF, computed live.
        for row in await repository.collaborative_recommendations(
            conn, user_id=user_id, item_type=item_type, limit=CANDIDATES_PER_SOURCE
        ):
            found = candidate(row["item_type"], row["item_id"])
            found.collaborative, found.neighbours = row["predicted_rating"], row["neighbour_count"]
        for kind in [item_type] if item_type else list(ItemType):
            for row in await repository.content_candidates(
                conn, user_id=user_id, item_type=kind, model=model, limit=padded
            ):
                candidate(row["item_type"], row["item_id"]).content = row["similarity"]

    collaborative_weight = min(1.0, summary["count"] / CF_FULL_WEIGHT_AT)
    ranked = []
    for found in candidates.values():
        if found.key in excluded:
            continue
        collaborative = found.linked if found.linked is not None else _stars_to_unit(found.collaborative or 0.5)
        found.signals = {
            "collaborative": collaborative_weight * collaborative,
            "content": (1 - collaborative_weight) * max(found.content or 0.0, 0.0),
            "popularity": POPULARITY_WEIGHT * _stars_to_unit(found.popularity or 0.5),
        }
        found.signals["score"] = sum(found.signals.values())
        ranked.append(found)
    ranked.sort(key=lambda c: (-c.signals["score"], c.popularity_rank, c.item_type, c.item_id))
    shortlist = ranked[: limit * 3]
    keys = [c.key for c in shortlist]
    stored = await repository.item_embeddings(conn, keys, model=model) if keys else {}
    vectors = {key: _as_array(vector) for key, vector in stored.items() if vector is not None}
    chosen = _mmr(shortlist, vectors, limit)
    predicted = await model_predictions(conn, user_id=user_id, items=[c.key for c in chosen])
    liked = await repository.closest_liked_items(conn, user_id=user_id, candidates=[c.key for c in chosen], model=model)
    languages = await repository.language_names(conn, [c.key for c in chosen]) if chosen else {}
    for c in chosen:
        c.language = languages.get(c.key)
    rows = [
        {
            "item_type": c.item_type,
            "item_id": c.item_id,
            "score": round(c.signals["score"], 6),
            "predicted_rating": _predicted_stars(predicted.get(c.key, c.collaborative)),
            "reason": _reason(c, liked.get(c.key), c.item_type),
        }
        for c in chosen
    ]
    return await _with_items(conn, rows)


async def model_predictions(
    conn: Connection, *, user_id: int, items: list[tuple[str, int]]
) -> dict[tuple[str, int], float]:
    """Stars from the trained rating model, the user's factors solved from their ratings now (so
    a rating made a moment ago already counts). Empty without a model or without ratings."""
    model = await repository.active_model(conn, RATING_MODEL)
    if model is None or not items:
        return {}
    rated = await repository.user_ratings_with_factors(conn, model_id=model["id"], user_id=user_id)
    if not rated:
        return {}
    parameters = model["parameters"]
    user_factors, user_bias = fold_in(
        np.array([_as_array(row["factors"]) for row in rated]),
        np.array([row["bias"] for row in rated]),
        np.array([row["rating"] for row in rated]),
        parameters["mean"],
        parameters["regularisation"],
    )
    known = await repository.item_factors(conn, model_id=model["id"], items=items)
    return {
        key: min(
            5.0,
            max(0.5, parameters["mean"] + user_bias + row["bias"] + float(_as_array(row["factors"]) @ user_factors)),
        )
        for key, row in known.items()
    }


async def predict(conn: Connection, *, user_id: int, item_type: ItemType, item_id: int) -> Prediction:
    """The caller's predicted rating of an item, as MovieLens shows beside each film."""
    await catalog_service.ensure_item_exists(conn, item_type, item_id)
    baseline = await repository.baseline_prediction(conn, user_id=user_id, item_type=item_type, item_id=item_id)
    from_model = await model_predictions(conn, user_id=user_id, items=[(item_type.value, item_id)])
    if baseline["own_rating"] is not None:
        stars, method, neighbours = baseline["own_rating"], "your rating", 0
    elif from_model:
        stars, method, neighbours = from_model[(item_type.value, item_id)], "rating model", 0
    elif (found := await repository.collaborative_prediction(
        conn, user_id=user_id, item_type=item_type, item_id=item_id
    )) is not None:  # fmt: skip
        stars, method, neighbours = found["predicted_rating"], "collaborative", found["neighbour_count"]
    else:
        stars, method, neighbours = baseline["predicted_rating"], "baseline", 0
    clipped = min(5.0, max(0.5, stars))
    return Prediction(
        item_type=item_type.value, item_id=item_id, predicted_rating=round(clipped, 1), method=method,
        neighbour_count=neighbours,
    )  # fmt: skip
