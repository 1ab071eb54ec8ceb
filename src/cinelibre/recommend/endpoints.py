from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from cinelibre.auth.dependencies import RATE_LIMITED, RECOMMENDATION_LIMIT, CurrentUser
from cinelibre.cache import CacheDep
from cinelibre.database.connection import Connection, DbConnection, LazyReadConnection
from cinelibre.experiments.configurations import Configuration
from cinelibre.experiments.dependencies import ListServingDep
from cinelibre.experiments.schemas import Surface
from cinelibre.pagination import SkipParam
from cinelibre.recommend import service
from cinelibre.recommend.dependencies import ModelStoreDep
from cinelibre.recommend.schemas import Prediction, RecommendationList, SimilarList
from cinelibre.search.dependencies import EmbedderDep
from cinelibre.types import ItemType, PathId

router = APIRouter(prefix="/recommendations", tags=["recommendations"], dependencies=[RECOMMENDATION_LIMIT])

# A popular list is counted over one of a few fixed windows, so every caller shares a few cached
# lists instead of making the database count a new window for each number of days asked.
POPULAR_WINDOWS = (7, 30, 90, 365)


def _one_of_the_windows(days: int | None) -> int | None:
    if days is not None and days not in POPULAR_WINDOWS:
        raise ValueError(f"must be one of {', '.join(map(str, POPULAR_WINDOWS))}, or left out for all time")
    return days


WindowDays = Annotated[
    int | None,
    AfterValidator(_one_of_the_windows),
    Query(description="Only count the last 7, 30, 90 or 365 days; left out: all time."),
]


@router.get("/similar/{item_type}/{item_id}", response_model=SimilarList, responses=RATE_LIMITED)
async def similar_items(
    request: Request,
    item_type: ItemType,
    item_id: PathId,
    db: LazyReadConnection,
    embedder: EmbedderDep,
    cache: CacheDep,
    serving: ListServingDep,
    skip: SkipParam = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 12,
    target_type: Annotated[ItemType | None, Query(description="Ask a book for films, or a film for books.")] = None,
) -> Response:
    """Items like this one, by content and by who rated them, each with a score and a reason; every
    page is cut from one ranking of at most 100. Cached for SIMILAR_CACHE_SECONDS."""

    async def compute(configuration: Configuration, skip: int, limit: int) -> bytes:
        return await service.similar_cached(
            db,
            cache,
            ttl_seconds=request.app.state.settings.similar_cache_seconds,
            embedder=embedder,
            item_type=item_type,
            item_id=item_id,
            target_type=target_type,
            skip=skip,
            limit=limit,
            configuration=configuration,
        )

    body = await serving.serve(Surface.SIMILAR, db.get, compute, skip=skip, limit=limit)
    return Response(body, media_type="application/json")


# These two answer with the cached JSON body as it is: no re-validation on the way out.
@router.get("/popular", response_model=RecommendationList, responses=RATE_LIMITED)
async def popular_items(
    request: Request,
    db: LazyReadConnection,
    cache: CacheDep,
    serving: ListServingDep,
    skip: SkipParam = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    item_type: ItemType | None = None,
    window_days: WindowDays = None,
) -> Response:
    """Trending with our users, ranked by a Bayesian-average rating (get_popular_items()).
    Cached for POPULAR_CACHE_SECONDS."""

    async def compute(configuration: Configuration, skip: int, limit: int) -> bytes:
        # Every configuration for this surface serves the popular list itself.
        return await service.popular_cached(
            db,
            cache,
            ttl_seconds=request.app.state.settings.popular_cache_seconds,
            item_type=item_type,
            window_days=window_days,
            skip=skip,
            limit=limit,
        )

    body = await serving.serve(Surface.POPULAR, db.get, compute, skip=skip, limit=limit)
    return Response(body, media_type="application/json")


@router.get("/personalized", response_model=RecommendationList, responses=RATE_LIMITED)
async def personalized(
    request: Request,
    user: CurrentUser,
    conn: DbConnection,
    embedder: EmbedderDep,
    cache: CacheDep,
    models: ModelStoreDep,
    serving: ListServingDep,
    skip: SkipParam = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    item_type: ItemType | None = None,
    skip_viewed: Annotated[bool, Query(description="Leave out items viewed 3 times or more.")] = True,
) -> Response:
    """The caller's hybrid list, each entry with a score, a predicted rating where one exists, and a
    reason; every page is cut from one list."""
    settings = request.app.state.settings
    compute = service.personalized_lists(
        conn,
        cache,
        models=models,
        user_id=user.id,
        item_type=item_type,
        model=embedder.model_name,
        skip_viewed=skip_viewed,
        ttl_seconds=settings.personalized_cache_seconds,
        popular_ttl_seconds=settings.popular_cache_seconds,
    )

    async def connect() -> Connection:
        return conn

    body = await serving.serve(Surface.PERSONALIZED, connect, compute, skip=skip, limit=limit)
    return Response(body, media_type="application/json")


@router.get("/predict/{item_type}/{item_id}", responses=RATE_LIMITED)
async def predict(
    item_type: ItemType, item_id: PathId, user: CurrentUser, conn: DbConnection, models: ModelStoreDep
) -> Prediction:
    """The caller's predicted rating for any item."""
    return await service.predict(conn, models=models, user_id=user.id, item_type=item_type, item_id=item_id)
