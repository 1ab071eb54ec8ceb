from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from cinelibre.auth.dependencies import RATE_LIMITED, SEARCH_LIMIT, OptionalUser
from cinelibre.cache import CacheDep
from cinelibre.database.connection import Connection, DbConnection
from cinelibre.errors import InvalidInputError
from cinelibre.experiments.configurations import Configuration
from cinelibre.experiments.dependencies import ListServingDep
from cinelibre.experiments.schemas import Surface
from cinelibre.interactions.dependencies import QuotaDep
from cinelibre.pagination import SkipParam
from cinelibre.search import service
from cinelibre.search.dependencies import EmbedderDep
from cinelibre.search.repository import SearchFilters
from cinelibre.search.schemas import EmbeddingStatus, SearchList, SearchMode, SearchScope
from cinelibre.types import LanguageCode, bounded_text

router = APIRouter(prefix="/search", tags=["search"])

SearchText = Annotated[bounded_text(min_length=1, max_length=500), Query(description="What to look for, in words.")]
Year = Annotated[int, Query(ge=0, le=2200)]


def _mode_for(configuration: Configuration, asked: SearchMode) -> SearchMode:
    """A variant's retrieval mode applies where the caller left the mode to us."""
    if configuration.search_mode is not None and asked is SearchMode.HYBRID:
        return SearchMode(configuration.search_mode)
    return asked


@router.get("/semantic", response_model=SearchList, dependencies=[SEARCH_LIMIT], responses=RATE_LIMITED)
async def semantic_search(
    request: Request,
    conn: DbConnection,
    embedder: EmbedderDep,
    cache: CacheDep,
    user: OptionalUser,
    quota: QuotaDep,
    serving: ListServingDep,
    q: SearchText,
    type: SearchScope = SearchScope.ALL,
    skip: SkipParam = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 12,
    threshold: Annotated[float, Query(ge=0.0, le=1.0, description="Minimum cosine similarity.")] = 0.0,
    language: Annotated[LanguageCode | None, Query()] = None,
    genre: Annotated[bounded_text(min_length=1, max_length=50) | None, Query(description="Genre or category.")] = None,
    year_from: Year | None = None,
    year_to: Year | None = None,
    mode: SearchMode = SearchMode.HYBRID,
) -> Response:
    """Search in plain language. The same question gets the same answer from the cache for
    SEARCH_CACHE_SECONDS, whatever its skip, limit and threshold: pages are cut from that one
    ranking. Limited to SEARCH_RATE_LIMIT per
    address and per user; a signed-in caller's search counts towards their interaction quota."""
    if year_from is not None and year_to is not None and year_from > year_to:
        raise InvalidInputError("year_from must not be after year_to.", field="query.year_from")
    # The caller's search is recorded once, however many lists an interleaved answer is merged from.
    unrecorded = [user.id] if user else []

    async def compute(configuration: Configuration, skip: int, limit: int) -> bytes:
        return await service.search_cached(
            conn,
            cache,
            ttl_seconds=request.app.state.settings.search_cache_seconds,
            embedder=embedder,
            query=q,
            scope=type,
            skip=skip,
            limit=limit,
            threshold=threshold,
            filters=SearchFilters(language=language, genre=genre, year_from=year_from, year_to=year_to),
            mode=_mode_for(configuration, mode),
            user_id=unrecorded.pop() if unrecorded else None,
            quota=quota,
        )

    async def connect() -> Connection:
        return conn

    body = await serving.serve(Surface.SEARCH, connect, compute, skip=skip, limit=limit)
    return Response(body, media_type="application/json")


@router.get("/status", response_model=EmbeddingStatus, dependencies=[SEARCH_LIMIT], responses=RATE_LIMITED)
async def embedding_status(conn: DbConnection, embedder: EmbedderDep, cache: CacheDep) -> Response:
    """How much of the catalogue the configured model has embedded (and whether another model did),
    counted at most every few seconds. Counts towards SEARCH_RATE_LIMIT."""
    body = await service.embedding_status_cached(conn, cache, model=embedder.model_name)
    return Response(body, media_type="application/json")
