import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from cinelibre.cache import Cache, cached
from cinelibre.catalog import service as catalog_service
from cinelibre.database.connection import Connection, LazyConnection
from cinelibre.errors import NotFoundError
from cinelibre.recommend import model_repository, repository
from cinelibre.recommend.algorithms import ranking
from cinelibre.recommend.algorithms.fold_in import BLENDS, Blend, blend_parts, blended_stars, fold_in
from cinelibre.recommend.schemas import (
    Prediction,
    Recommendations,
    RecommendedBook,
    RecommendedMovie,
    SimilarBook,
    SimilarItems,
    SimilarMovie,
)
from cinelibre.recommend.training import IMPLICIT_WEIGHTS, ITEM_MODEL, RATING_MODEL
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
) -> list[SimilarMovie | SimilarBook]:
    """Neighbours of an item (its own type unless target_type says otherwise): by embedding, fused
    (Reciprocal Rank Fusion) with items rated alike once enough users rated it: the nearest by
    the trained rating model's factors (an index top-k), or before any training the items the
    same users rated. The page `skip`, `limit` of that ranking, each item with its score and
    reason (_likeness())."""
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
        )
        return SimilarItems(items=hits).model_dump_json().encode()

    target = target_type.value if target_type else "same"
    key = f"{item_type.value}:{item_id}:{target}:{skip}:{limit}:{embedder.model_name}"
    return await cached(cache, "similar", key, ttl_seconds, compute)


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
    conn: Connection, *, item_type: ItemType | None, window_days: int | None, skip: int = 0, limit: int
) -> list[RecommendedMovie | RecommendedBook]:
    rows = await repository.popular_items(conn, item_type=item_type, window_days=window_days, skip=skip, limit=limit)
    return await _with_items(conn, [row | {"reason": _popularity_reason(row, window_days)} for row in rows])


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


async def personalized_cached(
    conn: Connection,
    cache: Cache,
    *,
    ttl_seconds: float,
    user_id: int,
    item_type: ItemType | None,
    skip: int = 0,
    limit: int,
    model: str,
    skip_viewed: bool,
    popular_ttl_seconds: float = 0,
) -> bytes:
    """The user's list as a JSON body. The key holds the user's activity version and the serving
    models, so the user's next rating or view, or a new model, makes a fresh list at once on every
    instance; ttl_seconds bounds how late newly added catalogue items appear."""

    async def compute() -> bytes:
        items = await personalized(
            conn,
            user_id=user_id,
            item_type=item_type,
            skip=skip,
            limit=limit,
            model=model,
            skip_viewed=skip_viewed,
            cache=cache,
            popular_ttl_seconds=popular_ttl_seconds,
        )
        return Recommendations(items=items).model_dump_json().encode()

    state = await repository.cache_state(conn, user_id)
    key = f"{user_id}:{state}:{item_type.value if item_type else 'all'}:{skip}:{limit}:{int(skip_viewed)}:{model}"
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


@dataclass
class _Gathered:
    """Everything the database says about one user's candidates: the ranking's input, and what
    explaining the chosen items needs (rows of `keys` line up with the input's)."""

    keys: list[tuple[str, int]]
    candidates: ranking.Candidates
    because: dict[tuple[str, int], dict[str, Any]]  # the liked item that links to each most
    folded: "_FoldedUser | None"
    factor_rows: dict[tuple[str, int], dict[str, Any]]  # the rating model's rows of the candidates
    languages: dict[tuple[str, int], str]  # each candidate's language's name, where known


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


async def personalized(
    conn: Connection,
    *,
    user_id: int,
    item_type: ItemType | None,
    skip: int = 0,
    limit: int,
    model: str,
    skip_viewed: bool = True,
    cache: Cache | None = None,
    popular_ttl_seconds: float = 0,
) -> list[RecommendedMovie | RecommendedBook]:
    """The hybrid list: gather() reads the user's candidates and signals, ranking.rank() orders
    them (the same function the evaluation measures), explain() gives the page's items their
    predicted stars and reasons. Popular for a user who has rated, viewed and clicked nothing;
    from their first such item, the trained models (or, before any training, the Pearson
    user-kNN) with a little of their content profile (the mean embedding of what they liked, or
    viewed) and of popularity; diversified by MMR on the embeddings. Never an item they rated;
    by default not one they viewed many times. The page `skip`, `limit` of the list: the
    diversity step picks its k-th item among the best 3k, so the list of skip + limit items
    begins with every shorter list, and pages fit together."""
    gathered = await gather(
        conn,
        user_id=user_id,
        item_type=item_type,
        model=model,
        skip_viewed=skip_viewed,
        cache=cache,
        popular_ttl_seconds=popular_ttl_seconds,
    )
    ranked = ranking.rank(gathered.candidates, skip + limit, skip_viewed=skip_viewed)
    return await explain(conn, gathered, ranked, ranked.positions[skip:].tolist(), user_id=user_id, model=model)


async def gather(
    conn: Connection,
    *,
    user_id: int,
    item_type: ItemType | None,
    model: str,
    skip_viewed: bool = True,
    cache: Cache | None = None,
    popular_ttl_seconds: float = 0,
) -> _Gathered:
    """Every read the ranking needs for one user: the candidates (the popular list, what the
    ranking model links to their feedback or, before training, the Pearson user-kNN's picks, and
    what is nearest their content profile), each candidate's signals and embedding, what they
    rated and viewed many times, and which candidates are new since training. `skip_viewed` only
    sizes the candidate lists; ranking.rank() applies it."""
    rated_stars, viewed_times = await repository.user_feedback(conn, user_id)
    rated = set(rated_stars)
    heavily_viewed = {key for key, times in viewed_times.items() if times >= HEAVY_VIEWING}
    excluded = len(rated | heavily_viewed) if skip_viewed else len(rated)
    # Anything rated, viewed or clicked makes the list personal; only ratings give stars.
    personal = bool(rated_stars or viewed_times)
    popularity: dict[tuple[str, int], tuple[int, float]] = {}
    linked: dict[tuple[str, int], float] = {}
    because: dict[tuple[str, int], dict[str, Any]] = {}
    knn_stars: dict[tuple[str, int], float] = {}
    content: dict[tuple[str, int], float] = {}

    # Lists that cannot leave out what the user rated fetch a few more to make up for it.
    padded = CANDIDATES_PER_SOURCE + min(excluded, MAX_PADDING)
    popular = await _popular_candidates(conn, cache, item_type=item_type, ttl_seconds=popular_ttl_seconds)
    for place, (kind, item_id, score) in enumerate(popular[:padded]):
        popularity[(kind, item_id)] = (place, score)
    ranking_model = await model_repository.active_model(conn, ITEM_MODEL) if personal else None
    # Solved once per request: the candidates' nudge and the listed items' stars both use it.
    folded = await _fold_in_user(conn, user_id) if rated_stars else None
    if ranking_model is not None:
        for row in await repository.item_model_candidates(
            conn,
            model_id=ranking_model["id"],
            user_id=user_id,
            item_type=item_type,
            implicit_weights=IMPLICIT_WEIGHTS,
            # As the stored model was trained (models from before the centring have none).
            rating_emphasis=ranking_model["parameters"].get("rating_emphasis", 0.0),
            limit=CANDIDATES_PER_SOURCE + min(excluded - len(rated), MAX_PADDING),
        ):
            key = (row["item_type"], row["item_id"])
            linked[key] = row["weight"]
            if row["because_title"] is not None:
                because[key] = {"title": row["because_title"], "rating": row["because_rating"]}
    elif rated_stars:
        # No trained model yet: the Pearson user-kNN, computed live in SQL.
        for row in await repository.collaborative_recommendations(
            conn, user_id=user_id, item_type=item_type, limit=CANDIDATES_PER_SOURCE
        ):
            knn_stars[(row["item_type"], row["item_id"])] = row["predicted_rating"]
    if personal:
        for row in await repository.content_candidates(
            conn, user_id=user_id, item_types=[item_type] if item_type else list(ItemType), model=model, limit=padded
        ):
            content[(row["item_type"], row["item_id"])] = row["similarity"]

    found = {*popularity, *linked, *knn_stars, *content}
    # Ties are broken the way the popular list breaks them; candidates outside it by type and id.
    keys = sorted(found, key=lambda key: (popularity.get(key, (10**9, 0.0))[0], key))
    details = await repository.candidate_details(conn, keys, model=model) if keys else {}
    vectors = np.zeros((len(keys), EMBEDDING_DIMENSION))  # an item without an embedding is unlike all
    for position, key in enumerate(keys):
        if key in details and details[key]["embedding"] is not None:
            vector = _as_array(details[key]["embedding"])
            vectors[position] = vector / (np.linalg.norm(vector) or 1.0)
    trained: dict[str, np.ndarray] = {}
    # Read once: ranking uses the candidates' factors, explaining the listed ones' again.
    factor_rows = await repository.item_factors(conn, model_id=folded.model_id, items=keys) if folded and keys else {}
    if ranking_model is not None:
        factor_stars = (
            await _predicted_stars_for(conn, folded, keys, with_neighbours=False, known=factor_rows) if folded else {}
        )
        trained_at = ranking_model["trained_at"]
        added = {key for key in keys if key in details and details[key]["created_at"] > trained_at}
        trained = {
            "linked": np.array([linked.get(key, np.nan) for key in keys]),
            "factor_stars": np.array([factor_stars.get(key, np.nan) for key in keys]),
            "known": np.array([key not in added for key in keys], dtype=bool),
        }
    candidates = ranking.Candidates(
        # What the blend counts as evidence of taste: each rated, viewed or clicked item.
        ratings=len(rated_stars) + len(viewed_times),
        user_mean=float(np.mean(list(rated_stars.values()))) if rated_stars else 0.0,
        popularity=np.array([popularity.get(key, (0, np.nan))[1] for key in keys], dtype=np.float64),
        content=np.array([content.get(key, np.nan) for key in keys], dtype=np.float64),
        vectors=vectors,
        rated=np.array([key in rated for key in keys], dtype=bool),
        heavily_viewed=np.array([key in heavily_viewed for key in keys], dtype=bool),
        knn_stars=None if ranking_model else np.array([knn_stars.get(key, np.nan) for key in keys]),
        **trained,
    )
    languages = {key: row["language"] for key, row in details.items() if row["language"]}
    return _Gathered(
        keys=keys, candidates=candidates, because=because, folded=folded, factor_rows=factor_rows, languages=languages
    )


async def explain(
    conn: Connection,
    gathered: _Gathered,
    ranked: ranking.Ranking,
    positions: list[int],
    *,
    user_id: int,
    model: str,
) -> list[RecommendedMovie | RecommendedBook]:
    """The listed candidates (rows of the ranking's input) as served: each with its score, the
    rating model's stars (corrected by the user's errors on its neighbours) or the kNN's, and
    the reason its strongest personal signal gives."""
    chosen = [gathered.keys[position] for position in positions]
    folded = gathered.folded
    predicted = (
        await _predicted_stars_for(conn, folded, chosen, with_neighbours=True, known=gathered.factor_rows)
        if folded
        else {}
    )
    liked = await repository.closest_liked_items(conn, user_id=user_id, candidates=chosen, model=model)
    candidates, signals = gathered.candidates, ranked.signals
    rows = []
    for position, key in zip(positions, chosen, strict=True):
        knn = candidates.knn_stars[position] if candidates.knn_stars is not None else np.nan
        stars = predicted.get(key, None if np.isnan(knn) else float(knn))
        score = float(signals.score[position])
        rows.append(
            {
                "item_type": key[0],
                "item_id": key[1],
                "score": round(score, 6),
                "predicted_rating": _predicted_stars(stars),
                "reason": _reason(
                    {
                        "collaborative": float(signals.collaborative[position]),
                        "content": float(signals.content[position]),
                    },
                    known=bool(candidates.known[position]) if candidates.known is not None else True,
                    because=gathered.because.get(key),
                    liked=liked.get(key),
                    language=gathered.languages.get(key),
                    item_type=key[0],
                ),
            }
        )
    return await _with_items(conn, rows)


@dataclass(frozen=True)
class _FoldedUser:
    """A user as the rating model sees them now: their factors and bias solved from their
    current ratings (so a rating made a moment ago already counts), and their errors on what
    they rated, against the factor model (`residuals`) and against its biases alone."""

    user_id: int
    model_id: int
    mean: float
    factors: np.ndarray
    bias: float
    rated: dict[tuple[str, int], int]  # rated item → its position in residuals
    residuals: np.ndarray
    bias_residuals: np.ndarray
    blend: Blend  # how the model version combines its predictions


async def _fold_in_user(conn: Connection, user_id: int) -> _FoldedUser | None:
    """None without a trained rating model or without ratings it knows."""
    model = await model_repository.active_model(conn, RATING_MODEL)
    if model is None:
        return None
    rated = await repository.user_ratings_with_factors(conn, model_id=model["id"], user_id=user_id)
    if not rated:
        return None
    parameters = model["parameters"]
    rated_factors = np.array([_as_array(row["factors"]) for row in rated])
    rated_biases = np.array([row["bias"] for row in rated])
    stars = np.array([row["rating"] for row in rated])
    factors, bias = fold_in(rated_factors, rated_biases, stars, parameters["mean"], parameters["regularisation"])
    bias_stars = parameters["mean"] + bias + rated_biases
    return _FoldedUser(
        user_id=user_id,
        model_id=model["id"],
        mean=parameters["mean"],
        factors=factors,
        bias=bias,
        rated={(row["item_type"], row["item_id"]): index for index, row in enumerate(rated)},
        residuals=stars - (bias_stars + rated_factors @ factors),
        bias_residuals=stars - bias_stars,
        # Versions trained before the blend were fitted for MF with its correction alone.
        blend=BLENDS[parameters.get("blend", "corrected MF")],
    )


async def _predicted_stars_for(
    conn: Connection,
    user: _FoldedUser,
    items: list[tuple[str, int]],
    *,
    with_neighbours: bool,
    known: dict[tuple[str, int], dict[str, Any]] | None = None,
) -> dict[tuple[str, int], float]:
    """The rating model's stars (algorithms.rating_model) for the items it knows: its blend of
    the factor model and the biases, each corrected by the user's errors on the item's
    neighbours (`with_neighbours`; ranking uses the factor model alone, as the evaluation
    does)."""
    if known is None:  # `known`: the items' rows, when the caller has read them already
        known = await repository.item_factors(conn, model_id=user.model_id, items=items) if items else {}
    keys = [key for key in dict.fromkeys(items) if key in known]
    bias_stars = np.array([user.mean + user.bias + known[key]["bias"] for key in keys])
    predicted = bias_stars + np.array([_as_array(known[key]["factors"]) @ user.factors for key in keys])
    if with_neighbours and keys:
        row_of = {key: index for index, key in enumerate(keys)}
        similarities = np.zeros((len(keys), len(user.residuals)))
        for link in await repository.rating_neighbours(conn, model_id=user.model_id, user_id=user.user_id, items=keys):
            column = user.rated.get((link["neighbour_type"], link["neighbour_id"]))
            if column is not None:  # a neighbour rated before the user's latest FOLD_IN_RATINGS
                similarities[row_of[(link["item_type"], link["item_id"])], column] = link["weight"]
        parts = blend_parts(
            bias_stars=bias_stars,
            factor_stars=predicted,
            similarities=similarities,
            bias_residuals=user.bias_residuals,
            factor_residuals=user.residuals,
        )
        # The user's count is of the ratings folded in (their latest FOLD_IN_RATINGS at most).
        item_ratings = np.array([known[key]["ratings"] or 0 for key in keys])
        predicted = blended_stars(user.blend, parts, user_ratings=len(user.residuals), item_ratings=item_ratings)
    return {key: float(min(5.0, max(0.5, stars))) for key, stars in zip(keys, predicted, strict=True)}


async def model_predictions(
    conn: Connection, *, user_id: int, items: list[tuple[str, int]]
) -> dict[tuple[str, int], float]:
    """Stars from the trained rating model for the items it knows; empty without a model or
    without ratings."""
    user = await _fold_in_user(conn, user_id) if items else None
    return await _predicted_stars_for(conn, user, items, with_neighbours=True) if user else {}


async def predict(conn: Connection, *, user_id: int, item_type: ItemType, item_id: int) -> Prediction:
    """The caller's predicted rating of an item, as MovieLens shows beside each film."""
    await catalog_service.ensure_item_exists(conn, item_type, item_id)
    baseline = await repository.baseline_prediction(conn, user_id=user_id, item_type=item_type, item_id=item_id)
    from_model = await model_predictions(conn, user_id=user_id, items=[(item_type.value, item_id)])
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
