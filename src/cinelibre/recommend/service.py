import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from cinelibre.cache import Cache, cached
from cinelibre.catalog import service as catalog_service
from cinelibre.database.connection import Connection, LazyConnection
from cinelibre.errors import NotFoundError
from cinelibre.experiments.configurations import DEFAULT, Configuration
from cinelibre.experiments.service import ListComputer
from cinelibre.recommend import model_repository, repository
from cinelibre.recommend.algorithms import ranking
from cinelibre.recommend.algorithms.blend import rating_strength
from cinelibre.recommend.schemas import (
    Prediction,
    Recommendations,
    RecommendedBook,
    RecommendedMovie,
    SimilarBook,
    SimilarItems,
    SimilarMovie,
)
from cinelibre.recommend.serving import (
    FoldedUser,
    ModelStore,
    ServingModels,
    fold_in_user,
    linked_items,
    predicted_stars,
)
from cinelibre.recommend.training import IMPLICIT_WEIGHTS, RATING_MODEL
from cinelibre.search import service as search_service
from cinelibre.search.embedder import EMBEDDING_DIMENSION, Embedder
from cinelibre.search.schemas import Candidate
from cinelibre.types import ItemType

# Item-to-item collaborative filtering joins the content neighbours once an item has this many
# raters, and only items sharing at least MIN_CO_RATERS of them count.
CO_RATING_MIN_RATERS = 5
MIN_CO_RATERS = 3


# Each list a similar-items ranking fuses holds this many items whatever page is asked for, so
# that every page is cut from the same ranking (fusing deeper lists would order even the first
# items differently). Two lists: at most 100 items, the most a page can reach with the largest
# limit.
SIMILAR_CANDIDATES = 50


async def similar_items(
    conn: Connection,
    *,
    embedder: Embedder,
    item_type: ItemType,
    item_id: int,
    target_type: ItemType | None,
    skip: int = 0,
    limit: int,
    configuration: Configuration = DEFAULT,
) -> list[SimilarMovie | SimilarBook]:
    """Neighbours of an item (its own type unless target_type says otherwise): by embedding, fused
    (Reciprocal Rank Fusion) with items rated alike once enough users rated it: the nearest by
    the trained rating model's factors (an index top-k), or before any training the items the
    same users rated. The page `skip`, `limit` of that ranking, each item with its score and
    reason (_likeness()). A configuration may fuse one of the two lists alone (configurations.py):
    rated alike alone falls back to meaning while too few people rated the item."""
    target = target_type or item_type
    depth = SIMILAR_CANDIDATES
    content = await search_service.similar_to(
        conn, embedder=embedder, item_type=item_type, item_id=item_id, target_type=target, limit=depth
    )
    if content is None:
        raise NotFoundError(f"{item_type.value.capitalize()} {item_id} does not exist.")
    content_ranked = [Candidate(target, hit.id, hit.similarity or 0.0, hit.similarity) for hit in content]
    rated_ranked: list[Candidate] = []
    raters = await catalog_service.rating_count(conn, item_type, item_id)
    if raters >= CO_RATING_MIN_RATERS:
        model = await model_repository.active_model(conn, RATING_MODEL)
        if model is not None:
            rated_alike = await repository.similar_by_ratings(
                conn, model_id=model["id"], item_type=item_type, item_id=item_id, target_type=target, limit=depth
            )
        else:
            rated_alike = [
                {"item_id": row["item_id"], "similarity": row["cosine"]}
                for row in await repository.co_rated_items(
                    conn,
                    item_type=item_type,
                    item_id=item_id,
                    target_type=target,
                    limit=depth,
                    min_co_raters=MIN_CO_RATERS,
                )
            ]
        similarity = {hit.id: hit.similarity for hit in content}
        rated_ranked = [
            Candidate(target, row["item_id"], row["similarity"], similarity.get(row["item_id"])) for row in rated_alike
        ]
    if "content" not in configuration.similar_lists and rated_ranked:
        content_ranked = []
    if "rated" not in configuration.similar_lists:
        rated_ranked = []
    # Meaning and co-ratings count alike.
    page = search_service.fuse([(content_ranked, 1.0), (rated_ranked, 1.0)])[skip : skip + limit]
    if not page:
        return []
    source = await catalog_service.rows_by_key(conn, [(item_type.value, item_id)])
    likeness = _likeness(source[(item_type.value, item_id)]["title"], content_ranked, rated_ranked)
    models = {ItemType.MOVIE: SimilarMovie, ItemType.BOOK: SimilarBook}
    return [
        models[hit_type].model_validate({**hit.model_dump(), **likeness[hit.id]})
        for (hit_type, _, _), hit in zip(page, await search_service.load_hits(conn, page), strict=True)
    ]


def _likeness(title: str, content: list[Candidate], rated: list[Candidate]) -> dict[int, dict[str, Any]]:
    """Each listed item's score and reason. The score is its fused (RRF) score as a share of the
    best possible, first place in every list that found anything: 1.0 is first in all of them,
    0.5 first in one of two; it falls slowly with rank, as RRF does. The reason names the lists
    it is in."""
    lists = [candidates for candidates in (content, rated) if candidates]
    best = len(lists) / (search_service.RRF_K + 1)
    fused: dict[int, float] = defaultdict(float)
    for candidates in lists:
        for rank, candidate in enumerate(candidates, start=1):
            fused[candidate.item_id] += 1 / (search_service.RRF_K + rank)
    in_content = {c.item_id for c in content}
    in_rated = {c.item_id for c in rated}
    reasons = {
        (True, False): f"Close in meaning to {title}",
        (False, True): f"Rated by the same people as {title}",
        (True, True): f"Close in meaning to {title}, and rated by the same people",
    }
    return {
        item_id: {"score": round(score / best, 6), "reason": reasons[(item_id in in_content, item_id in in_rated)]}
        for item_id, score in fused.items()
    }


async def similar_cached(
    db: LazyConnection,
    cache: Cache,
    *,
    ttl_seconds: float,
    embedder: Embedder,
    item_type: ItemType,
    item_id: int,
    target_type: ItemType | None,
    skip: int = 0,
    limit: int,
    configuration: Configuration = DEFAULT,
) -> bytes:
    """similar_items() as a JSON body, kept for ttl_seconds (a new model or new embeddings show
    after at most that long). A missing item is not cached: it raises every time."""

    async def compute() -> bytes:
        hits = await similar_items(
            await db.get(),
            embedder=embedder,
            item_type=item_type,
            item_id=item_id,
            target_type=target_type,
            skip=skip,
            limit=limit,
            configuration=configuration,
        )
        return SimilarItems(items=hits).model_dump_json().encode()

    target = target_type.value if target_type else "same"
    key = f"{item_type.value}:{item_id}:{target}:{skip}:{limit}:{embedder.model_name}{_key_suffix(configuration)}"
    return await cached(cache, "similar", key, ttl_seconds, compute)


def _key_suffix(configuration: Configuration) -> str:
    """A cached list's key, for another configuration than the default (whose keys stay as they were)."""
    return "" if configuration is DEFAULT else f":{configuration.name}"


def _with_items(
    catalogue: dict[tuple[str, int], dict[str, Any]], rows: list[dict[str, Any]]
) -> list[RecommendedMovie | RecommendedBook]:
    """Attach each recommended item's usual object (from `catalogue`, catalog_service.rows_by_key());
    rows carry item_type, item_id, score, reason."""
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
    conn: Connection, *, item_type: ItemType | None, window_days: int | None, skip: int = 0, limit: int
) -> list[RecommendedMovie | RecommendedBook]:
    rows = await repository.popular_items(conn, item_type=item_type, window_days=window_days, skip=skip, limit=limit)
    catalogue = await catalog_service.rows_by_key(conn, [(row["item_type"], row["item_id"]) for row in rows])
    return _with_items(catalogue, [row | {"reason": _popularity_reason(row, window_days)} for row in rows])


async def popular_cached(
    db: LazyConnection,
    cache: Cache,
    *,
    ttl_seconds: float,
    item_type: ItemType | None,
    window_days: int | None,
    skip: int = 0,
    limit: int,
) -> bytes:
    """The popular list as a JSON body, shared by every caller for ttl_seconds: new ratings show in
    it after at most that long."""

    async def compute() -> bytes:
        items = await popular(await db.get(), item_type=item_type, window_days=window_days, skip=skip, limit=limit)
        return Recommendations(items=items).model_dump_json().encode()

    key = f"{item_type.value if item_type else 'all'}:{window_days}:{skip}:{limit}"
    return await cached(cache, "popular", key, ttl_seconds, compute)


def personalized_lists(
    conn: Connection,
    cache: Cache,
    *,
    models: ModelStore,
    user_id: int,
    item_type: ItemType | None,
    model: str,
    skip_viewed: bool,
    ttl_seconds: float,
    popular_ttl_seconds: float,
) -> ListComputer:
    """The user's personalized list under any configuration, as experiments.serve_list() asks
    for it (the HTTP route and the live /ws list alike)."""

    async def compute(configuration: Configuration, skip: int, limit: int) -> bytes:
        return await personalized_cached(
            conn,
            cache,
            ttl_seconds=ttl_seconds,
            models=models,
            user_id=user_id,
            item_type=item_type,
            skip=skip,
            limit=limit,
            model=model,
            skip_viewed=skip_viewed,
            popular_ttl_seconds=popular_ttl_seconds,
            configuration=configuration,
        )

    return compute


async def personalized_cached(
    conn: Connection,
    cache: Cache,
    *,
    models: ModelStore,
    ttl_seconds: float,
    user_id: int,
    item_type: ItemType | None,
    skip: int = 0,
    limit: int,
    model: str,
    skip_viewed: bool,
    popular_ttl_seconds: float = 0,
    configuration: Configuration = DEFAULT,
) -> bytes:
    """The user's list as a JSON body. The key holds the user's activity version and the serving
    models, so the user's next rating or view, or a new model, makes a fresh list at once on every
    instance; ttl_seconds bounds how late newly added catalogue items appear."""

    async def compute() -> bytes:
        items = await personalized(
            conn,
            models=models,
            user_id=user_id,
            item_type=item_type,
            skip=skip,
            limit=limit,
            model=model,
            skip_viewed=skip_viewed,
            cache=cache,
            popular_ttl_seconds=popular_ttl_seconds,
            configuration=configuration,
        )
        return Recommendations(items=items).model_dump_json().encode()

    if ttl_seconds <= 0:  # nothing would be kept: no need to ask what the key depends on
        return await compute()
    state = await repository.cache_state(conn, user_id)
    kind = item_type.value if item_type else "all"
    key = f"{user_id}:{state}:{kind}:{skip}:{limit}:{int(skip_viewed)}:{model}{_key_suffix(configuration)}"
    return await cached(cache, "personalized", key, ttl_seconds, compute)


async def _popular_candidates(
    conn: Connection, cache: Cache | None, *, item_type: ItemType | None, ttl_seconds: float
) -> list[tuple[str, int, float]]:
    """The popular list personalized lists start from, as (type, id, score), as long as any list
    needs: the same for every user, so shared through the cache as the popular endpoint's is."""

    async def compute() -> bytes:
        rows = await repository.popular_items(
            conn, item_type=item_type, window_days=None, limit=CANDIDATES_PER_SOURCE + MAX_PADDING
        )
        return json.dumps([[row["item_type"], row["item_id"], row["score"]] for row in rows]).encode()

    if cache is None:
        return [tuple(row) for row in json.loads(await compute())]
    key = item_type.value if item_type else "all"
    return [tuple(row) for row in json.loads(await cached(cache, "popular_candidates", key, ttl_seconds, compute))]


CANDIDATES_PER_SOURCE = 60
MAX_PADDING = 200
HEAVY_VIEWING = 3  # views or clicks after which an item is left out of the user's list
# Per request, the ranking model scores from the user's latest ratings and the rating model
# solves the user's factors from their latest ratings: enough to be personal, and bounded for
# users with thousands of ratings.
FEEDBACK_CONSIDERED = 300
FOLD_IN_RATINGS = 300
# Items the user only viewed or clicked count from the most recently viewed this many: each
# brings up to 200 stored neighbours, and a heavy browser's whole history would multiply that.
VIEWS_CONSIDERED = 100
# "Because you rated X" names the closest of the user's latest this many 4-star ratings.
LIKED_CONSIDERED = 300
# A book rated this many stars or more brings the films adapting it into the user's candidates,
# and a film so rated the book it adapts.
ADAPTATION_LIKED_STARS = 4.0
# A book in one of these categories is named a play in the reason of a film adapting it (Maqbool,
# Omkara and Haider adapt Shakespeare); any other, a novel.
PLAY_CATEGORIES = frozenset({"drama", "plays"})


@dataclass
class _Feedback:
    """What the user rated and viewed, as user_feedback() read it, and which model versions are
    active."""

    rated: list[tuple[tuple[str, int], float]]  # latest first
    viewed: list[tuple[tuple[str, int], float, int]]  # (item, strength, times), latest first
    active: dict[str, int]

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> "_Feedback":
        ratings = sorted((row for row in rows if row["source"] == "rating"), key=lambda row: row["at"], reverse=True)
        views = sorted(
            (row for row in rows if row["source"] == "view"),
            key=lambda row: (-row["at"].timestamp(), row["item_type"], row["item_id"]),
        )
        return cls(
            rated=[((row["item_type"], row["item_id"]), row["value"]) for row in ratings],
            viewed=[((row["item_type"], row["item_id"]), row["value"], row["times"]) for row in views],
            active={row["source"]: row["item_id"] for row in rows if row["source"] not in ("rating", "view")},
        )


@dataclass
class _Gathered:
    """Everything the database and the models say about one user's candidates: the ranking's
    input, and what explaining the chosen items needs (rows of `keys` line up with the input's)."""

    keys: list[tuple[str, int]]
    candidates: ranking.Candidates
    because: dict[tuple[str, int], dict[str, Any]]  # the liked item that links to each most: item, rating
    models: ServingModels
    positions: np.ndarray  # each candidate's row in the models, -1 where unknown
    folded: FoldedUser | None
    languages: dict[tuple[str, int], str]  # each candidate's language's name, where known
    vectors: np.ndarray  # unit embeddings of the rows ranking reads (the others zeros)
    liked: list[tuple[tuple[str, int], float]]  # the user's latest 4+ star ratings of embedded items
    liked_vectors: np.ndarray
    # Films adapting books the user liked and books adapted by films they liked: the liked item, its stars.
    adapted: dict[tuple[str, int], tuple[tuple[str, int], float]]


def _predicted_stars(stars: float | None) -> float | None:
    return None if stars is None else round(min(5.0, max(0.5, stars)), 1)


def _as_array(vector: Any) -> np.ndarray:
    # pgvector hands back numpy arrays or its own Vector type, depending on the result format.
    return np.asarray(vector.to_numpy() if hasattr(vector, "to_numpy") else vector, dtype=np.float64)


def _reason(
    signals: dict[str, float],
    *,
    known: bool,
    because: dict[str, Any] | None,
    liked: dict[str, Any] | None,
    language: str | None,
    item_type: str,
) -> str:
    # A personal reason wins over popularity whenever there is one: it tells the user why *they* see it.
    # An item the models do not know yet is there for its content, whatever the signal's name.
    names = ("collaborative", "content") if known else ("content",)
    personal = {name: signals[name] for name in names if signals[name] > 0}
    strongest = max(personal, key=personal.__getitem__) if personal else "popularity"
    if strongest == "content" and liked is not None:
        return f"because you rated {liked['title']} {liked['rating']:g}★"
    if strongest == "collaborative" and because is not None:
        return f"people who liked {because['title']} rated it too"
    if strongest == "collaborative":
        people = "readers" if item_type == "book" else "viewers"
        return f"{people} with your taste liked it"
    kind = "books" if item_type == "book" else "films"
    return f"popular in {language} {kind}" if language else f"popular {kind} with our users"


def _adaptation_reason(item_type: str, liked: dict[str, Any], stars: float) -> str:
    """`liked`: the catalogue row of the item the user rated that the listed item adapts or is
    adapted by. Said whatever signal ranked the item: the link to something the user loved is the
    plainest why."""
    if item_type == ItemType.MOVIE.value:
        kind = "play" if PLAY_CATEGORIES.intersection(category.lower() for category in liked["categories"]) else "novel"
        return f"you rated the {kind} {liked['title']} {stars:g}★ — its film"
    return f"you rated the film {liked['title']} {stars:g}★ — the book it adapts"


async def personalized(
    conn: Connection,
    *,
    models: ModelStore,
    user_id: int,
    item_type: ItemType | None,
    skip: int = 0,
    limit: int,
    model: str,
    skip_viewed: bool = True,
    cache: Cache | None = None,
    popular_ttl_seconds: float = 0,
    configuration: Configuration = DEFAULT,
) -> list[RecommendedMovie | RecommendedBook]:
    """The hybrid list: gather() reads the user's candidates and signals, ranking.rank() orders
    them (the same function the evaluation measures), explain() gives the page's items their
    predicted stars and reasons. Popular for a user who has rated, viewed and clicked nothing;
    from their first such item, the trained models (or, before any training, the Pearson
    user-kNN) with a little of their content profile (the mean embedding of what they liked, or
    viewed) and of popularity; diversified by MMR on the embeddings. Never an item they rated;
    by default not one they viewed many times. The page `skip`, `limit` of the list: the
    diversity step picks its k-th item among the best 3k, so the list of skip + limit items
    begins with every shorter list, and pages fit together. An experiment's variant may rank by
    another configuration (configurations.py), as the evaluation's Hybrid does."""
    gathered = await gather(
        conn,
        models=models,
        user_id=user_id,
        item_type=item_type,
        length=skip + limit,
        model=model,
        skip_viewed=skip_viewed,
        cache=cache,
        popular_ttl_seconds=popular_ttl_seconds,
        configuration=configuration,
    )
    ranked = ranking.rank(gathered.candidates, skip + limit, skip_viewed=skip_viewed, configuration=configuration)
    return await explain(conn, gathered, ranked, ranked.positions[skip:].tolist())


async def gather(
    conn: Connection,
    *,
    models: ModelStore,
    user_id: int,
    item_type: ItemType | None,
    length: int,
    model: str,
    skip_viewed: bool = True,
    cache: Cache | None = None,
    popular_ttl_seconds: float = 0,
    configuration: Configuration = DEFAULT,
) -> _Gathered:
    """Every read the ranking needs for one user, in two round trips (and the shared popular
    list): what they rated and viewed with the active model versions; then, with the candidates
    the models give (the popular list, what the ranking model links to their feedback or,
    before training, the Pearson user-kNN's picks), what is nearest their content profile and
    each candidate's embedding and details. The model arithmetic runs on the arrays this
    process holds (serving.py). `skip_viewed` only sizes the candidate lists; ranking.rank()
    applies it."""
    feedback = _Feedback.from_rows(await repository.user_feedback(conn, user_id, IMPLICIT_WEIGHTS))
    served = await models.current(conn, feedback.active)
    rated_stars = dict(feedback.rated)
    rated = set(rated_stars)
    viewed_times = {key: times for key, _, times in feedback.viewed}
    heavily_viewed = {key for key, times in viewed_times.items() if times >= HEAVY_VIEWING}
    excluded = len(rated | heavily_viewed) if skip_viewed else len(rated)
    # Anything rated, viewed or clicked makes the list personal; only ratings give stars.
    personal = bool(rated_stars or viewed_times)
    popularity: dict[tuple[str, int], tuple[int, float]] = {}
    linked: dict[tuple[str, int], float] = {}
    because: dict[tuple[str, int], dict[str, Any]] = {}
    knn_stars: dict[tuple[str, int], float] = {}

    # Lists that cannot leave out what the user rated fetch a few more to make up for it.
    padded = CANDIDATES_PER_SOURCE + min(excluded, MAX_PADDING)
    popular = await _popular_candidates(conn, cache, item_type=item_type, ttl_seconds=popular_ttl_seconds)
    for place, (kind, item_id, score) in enumerate(popular[:padded]):
        popularity[(kind, item_id)] = (place, score)
    ranking_model = served.ranking if personal else None
    # Solved once per request: the candidates' nudge and the listed items' stars both use it.
    # Each rated item's row in the models (-1 where unknown), for the fold-in and the sums alike.
    rated_rows = served.positions([key for key, _ in feedback.rated])
    folded = _fold_in(served, feedback.rated, rated_rows) if rated_stars else None
    if ranking_model is not None:
        linked, because = _linked(
            served,
            feedback,
            rated_rows,
            item_type=item_type,
            # As the stored model was trained (models from before the centring have none).
            rating_emphasis=ranking_model["parameters"].get("rating_emphasis", 0.0),
            limit=CANDIDATES_PER_SOURCE + min(excluded - len(rated), MAX_PADDING),
        )
    elif rated_stars:
        # No trained model yet: the Pearson user-kNN, computed live in SQL.
        for row in await repository.collaborative_recommendations(
            conn, user_id=user_id, item_type=item_type, limit=CANDIDATES_PER_SOURCE
        ):
            knn_stars[(row["item_type"], row["item_id"])] = row["predicted_rating"]

    adapted = await _adaptations_of_liked(conn, feedback.rated, item_type)
    given = list(dict.fromkeys([*popularity, *linked, *knn_stars, *adapted]))
    rows = await repository.candidate_signals(
        conn,
        user_id=user_id,
        candidates=given,
        item_types=([item_type] if item_type else list(ItemType)) if personal else None,
        model=model,
        nearest=padded,
    )
    details = {(row["item_type"], row["item_id"]): row for row in rows}
    content = {key: row["similarity"] for key, row in details.items() if row["similarity"] is not None}
    # Ties are broken the way the popular list breaks them; candidates outside it by type and id.
    keys = sorted(details, key=lambda key: (popularity.get(key, (10**9, 0.0))[0], key))
    positions = served.positions(keys)
    trained: dict[str, np.ndarray] = {}
    if ranking_model is not None:
        factor_stars = (
            predicted_stars(served, folded, positions, with_neighbours=False) if folded else np.full(len(keys), np.nan)
        )
        trained_at = ranking_model["trained_at"]
        trained = {
            "linked": np.array([linked.get(key, np.nan) for key in keys]),
            "factor_stars": factor_stars,
            # Items added since training are new to the models, whatever links say.
            "known": np.array(
                [details[key]["created_at"] is None or details[key]["created_at"] <= trained_at for key in keys],
                dtype=bool,
            ),
        }
    candidates = ranking.Candidates(
        # What the blend counts as evidence of taste: each rated, viewed or clicked item.
        ratings=len(rated_stars) + len(viewed_times),
        user_mean=float(np.mean(list(rated_stars.values()))) if rated_stars else 0.0,
        popularity=np.array([popularity.get(key, (0, np.nan))[1] for key in keys], dtype=np.float64),
        content=np.array([content.get(key, np.nan) for key in keys], dtype=np.float64),
        # Filled below for the rows ranking reads them for (an item without an embedding stays
        # zeros: unlike everything).
        vectors=np.zeros((len(keys), EMBEDDING_DIMENSION)),
        rated=np.array([key in rated for key in keys], dtype=bool),
        heavily_viewed=np.array([key in heavily_viewed for key in keys], dtype=bool),
        knn_stars=None if ranking_model else np.array([knn_stars.get(key, np.nan) for key in keys]),
        **trained,
    )
    # Embeddings only for the rows the diversity step and the new-title place read: a few dozen
    # instead of every candidate's.
    diversified = ranking.rows_to_diversify(candidates, length, skip_viewed=skip_viewed, configuration=configuration)
    embedded = await repository.embeddings_with_liked(
        conn, user_id=user_id, items=[keys[row] for row in diversified], model=model, liked=LIKED_CONSIDERED
    )
    found = {(row["item_type"], row["item_id"]): row["embedding"] for row in embedded if not row["liked"]}
    candidates.vectors[diversified] = _unit_vectors([found.get(keys[row]) for row in diversified])
    liked_rows = [row for row in embedded if row["liked"]]
    return _Gathered(
        keys=keys,
        candidates=candidates,
        because=because,
        models=served,
        positions=positions,
        folded=folded,
        languages={key: row["language"] for key, row in details.items() if row["language"]},
        vectors=candidates.vectors,
        liked=[((row["item_type"], row["item_id"]), row["rating"]) for row in liked_rows],
        liked_vectors=_unit_vectors([row["embedding"] for row in liked_rows]),
        adapted=adapted,
    )


async def _adaptations_of_liked(
    conn: Connection, rated: list[tuple[tuple[str, int], float]], item_type: ItemType | None
) -> dict[tuple[str, int], tuple[tuple[str, int], float]]:
    """The films adapting books among the user's latest LIKED_CONSIDERED ratings of
    ADAPTATION_LIKED_STARS or more, and the books adapted by films among them (of `item_type`
    only, when given); each with the liked item that brings it and its stars: the best rated,
    then the latest. One query, and none for a user without such a rating."""
    liked = [(key, stars) for key, stars in rated[:LIKED_CONSIDERED] if stars >= ADAPTATION_LIKED_STARS]
    if not liked:
        return {}
    rows = await repository.adaptations_of(conn, items=[key for key, _ in liked], item_type=item_type)
    # Each linked item goes with the liked item the user rated best, then the latest (`rated`
    # is latest first).
    preference = {key: (-stars, place) for place, (key, stars) in enumerate(liked)}
    stars_of = dict(liked)
    found: dict[tuple[str, int], tuple[tuple[str, int], float]] = {}
    for source, linked in sorted(
        (((row["source_type"], row["source_id"]), (row["item_type"], row["item_id"])) for row in rows),
        key=lambda pair: preference[pair[0]],
    ):
        found.setdefault(linked, (source, stars_of[source]))
    return found


def _unit_vectors(embeddings: list[Any]) -> np.ndarray:
    vectors = np.zeros((len(embeddings), EMBEDDING_DIMENSION))  # an item without an embedding is unlike all
    present = [index for index, embedding in enumerate(embeddings) if embedding is not None]
    if present:
        vectors[present] = np.stack([_as_array(embeddings[index]) for index in present])
        norms = np.linalg.norm(vectors[present], axis=1, keepdims=True)
        vectors[present] /= np.where(norms > 0, norms, 1.0)
    return vectors


def _fold_in(served: ServingModels, rated: list[tuple[tuple[str, int], float]], rows: np.ndarray) -> FoldedUser | None:
    """The user folded into the rating model from their latest FOLD_IN_RATINGS ratings of items
    it knows (`rows`: each rated item's row in the models)."""
    known = np.flatnonzero(served.rated_by_model(rows))[:FOLD_IN_RATINGS]
    stars = np.array([rated[index][1] for index in known], dtype=np.float64)
    return fold_in_user(served, rows[known], stars)


def _linked(
    served: ServingModels,
    feedback: _Feedback,
    rated_rows: np.ndarray,
    *,
    item_type: ItemType | None,
    rating_emphasis: float,
    limit: int,
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], dict[str, Any]]]:
    """What the ranking model links to the user's latest FEEDBACK_CONSIDERED ratings (each
    counting 1 + rating_emphasis × (stars - their mean stars), as blend.rating_strength()
    weighs them in training) and VIEWS_CONSIDERED latest views and clicks (as
    model_repository.implicit_feedback() weighs them), by summed weight, leaving out what they
    rated; and for each, the item they liked (3 stars or more) that links to it most."""
    mean = float(np.mean([stars for _, stars in feedback.rated])) if feedback.rated else 0.0
    sources = feedback.rated[:FEEDBACK_CONSIDERED]
    views = feedback.viewed[:VIEWS_CONSIDERED]
    keys = [key for key, _ in sources] + [key for key, _, _ in views]
    positions = np.concatenate([rated_rows[: len(sources)], served.positions([key for key, _, _ in views])])
    strengths = np.concatenate(
        [rating_strength(np.array([stars for _, stars in sources]), mean, rating_emphasis), [s for _, s, _ in views]]
    )
    stars = np.array([stars for _, stars in sources] + [np.nan] * len(views))
    known = positions >= 0
    chosen, weights, because = linked_items(
        served,
        sources=positions[known],
        strengths=strengths[known],
        stars=stars[known],
        leave_out=rated_rows[rated_rows >= 0],
        item_type=item_type.value if item_type else None,
        limit=limit,
    )
    chosen_keys = served.keys(chosen)
    source_keys = [key for key, present in zip(keys, known, strict=True) if present]
    source_stars = stars[known]
    return (
        dict(zip(chosen_keys, weights.tolist(), strict=True)),
        {
            key: {"item": source_keys[because[row]], "rating": float(source_stars[because[row]])}
            for key, row in zip(chosen_keys, chosen.tolist(), strict=True)
            if row in because
        },
    )


async def explain(
    conn: Connection, gathered: _Gathered, ranked: ranking.Ranking, positions: list[int]
) -> list[RecommendedMovie | RecommendedBook]:
    """The listed candidates (rows of the ranking's input) as served: each with its score, the
    rating model's stars (corrected by the user's errors on its neighbours) or the kNN's, and
    the reason its strongest personal signal gives."""
    chosen = [gathered.keys[position] for position in positions]
    folded = gathered.folded
    rows_of = np.array(positions, dtype=np.int64)
    predicted = (
        predicted_stars(gathered.models, folded, gathered.positions[rows_of], with_neighbours=True)
        if folded
        else np.full(len(chosen), np.nan)
    )
    liked = _closest_liked(gathered, rows_of)
    because = {key: gathered.because[key] for key in chosen if key in gathered.because}
    adapted = {key: gathered.adapted[key] for key in chosen if key in gathered.adapted}
    named = {
        *chosen,
        *(row["item"] for row in because.values()),
        *(item for item, _ in liked.values()),
        *(source for source, _ in adapted.values()),
    }
    catalogue = await catalog_service.rows_by_key(conn, list(named))
    candidates, signals = gathered.candidates, ranked.signals
    rows = []
    for index, (position, key) in enumerate(zip(positions, chosen, strict=True)):
        knn = candidates.knn_stars[position] if candidates.knn_stars is not None else np.nan
        stars = predicted[index] if not np.isnan(predicted[index]) else knn
        score = float(signals.score[position])
        link, closest = because.get(key), liked.get(key)
        because_title = None if link is None else {"title": catalogue[link["item"]]["title"], "rating": link["rating"]}
        liked_title = None if closest is None else {"title": catalogue[closest[0]]["title"], "rating": closest[1]}
        rows.append(
            {
                "item_type": key[0],
                "item_id": key[1],
                "score": round(score, 6),
                "predicted_rating": None if np.isnan(stars) else _predicted_stars(float(stars)),
                "reason": _adaptation_reason(key[0], catalogue[adapted[key][0]], adapted[key][1])
                if key in adapted
                else _reason(
                    {
                        "collaborative": float(signals.collaborative[position]),
                        "content": float(signals.content[position]),
                    },
                    known=bool(candidates.known[position]) if candidates.known is not None else True,
                    because=because_title,
                    liked=liked_title,
                    language=gathered.languages.get(key),
                    item_type=key[0],
                ),
            }
        )
    return _with_items(catalogue, rows)


def _closest_liked(gathered: _Gathered, rows: np.ndarray) -> dict[tuple[str, int], tuple[tuple[str, int], float]]:
    """For each listed candidate with an embedding, the liked item it is most like (cosine) and
    its stars."""
    if not gathered.liked or not len(rows):
        return {}
    vectors = gathered.vectors[rows]
    embedded = np.linalg.norm(vectors, axis=1) > 0
    closest = np.argmax(vectors @ gathered.liked_vectors.T, axis=1)
    return {
        gathered.keys[row]: gathered.liked[best]
        for row, best, present in zip(rows.tolist(), closest.tolist(), embedded.tolist(), strict=True)
        if present
    }


async def model_predictions(
    conn: Connection, *, models: ModelStore, user_id: int, items: list[tuple[str, int]]
) -> dict[tuple[str, int], float]:
    """Stars from the trained rating model for the items it knows; empty without a model or
    without ratings."""
    if not items:
        return {}
    feedback = _Feedback.from_rows(await repository.user_feedback(conn, user_id, IMPLICIT_WEIGHTS))
    served = await models.current(conn, feedback.active)
    user = _fold_in(served, feedback.rated, served.positions([key for key, _ in feedback.rated]))
    if user is None:
        return {}
    stars = predicted_stars(served, user, served.positions(items), with_neighbours=True)
    return {key: float(value) for key, value in zip(items, stars.tolist(), strict=True) if not np.isnan(value)}


async def predict(
    conn: Connection, *, models: ModelStore, user_id: int, item_type: ItemType, item_id: int
) -> Prediction:
    """The caller's predicted rating of an item, as MovieLens shows beside each film."""
    await catalog_service.ensure_item_exists(conn, item_type, item_id)
    baseline = await repository.baseline_prediction(conn, user_id=user_id, item_type=item_type, item_id=item_id)
    from_model = await model_predictions(conn, models=models, user_id=user_id, items=[(item_type.value, item_id)])
    if baseline["own_rating"] is not None:
        stars, method, neighbours = baseline["own_rating"], "your rating", 0
    elif from_model:
        stars, method, neighbours = from_model[(item_type.value, item_id)], "rating model", 0
    elif (
        found := await repository.collaborative_prediction(conn, user_id=user_id, item_type=item_type, item_id=item_id)
    ) is not None:
        stars, method, neighbours = found["predicted_rating"], "collaborative", found["neighbour_count"]
    else:
        stars, method, neighbours = baseline["predicted_rating"], "baseline", 0
    clipped = min(5.0, max(0.5, stars))
    return Prediction(
        item_type=item_type.value,
        item_id=item_id,
        predicted_rating=round(clipped, 1),
        method=method,
        neighbour_count=neighbours,
    )
