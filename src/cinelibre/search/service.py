"""Embedding the catalogue, and hybrid search: vector neighbours, full-text matches and
typo-tolerant name matches fused with Reciprocal Rank Fusion."""

import asyncio
import hashlib
import json
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from anyio import to_thread
from psycopg_pool import AsyncConnectionPool

from cinelibre.cache import Cache, cached, cached_in_two_tiers
from cinelibre.catalog import service as catalog_service
from cinelibre.database.connection import Connection
from cinelibre.interactions import service as interactions_service
from cinelibre.interactions.schemas import InteractionQuota
from cinelibre.search import repository, understanding
from cinelibre.search.embedder import Embedder, ModelUnavailableError
from cinelibre.search.repository import FullTextQuery, SearchFilters
from cinelibre.search.schemas import (
    BookHit,
    Candidate,
    EmbeddingStatus,
    MovieHit,
    NameMatch,
    SearchAnswer,
    SearchMode,
    SearchScope,
)
from cinelibre.search.understanding import LikeRequest, QueryKind
from cinelibre.types import ItemType

logger = logging.getLogger(__name__)

RRF_K = 60  # the usual constant: ranks deep in a list still count, but little
CANDIDATES_PER_LIST = 50
NAME_CANDIDATES = 20
EMBED_BATCH = 64
# Full-text search leaves out words found in more than this share of the catalogue (but never in
# fewer than COMMON_WORD_MIN_ITEMS items): such words say little about what the user wants and
# would make every search rank half the catalogue.
COMMON_WORD_SHARE = 0.01
COMMON_WORD_MIN_ITEMS = 50
# A query made only of common words is not matched by full text if even its rarest word is in
# more items than this.
FULL_TEXT_MAX_MATCHES = 5000
# Misspelt names are short; a long descriptive query is left to the other retrievers.
NAME_QUERY_MAX_WORDS = 6


@dataclass(frozen=True)
class EmbeddingRun:
    embedded: int


async def embed_pending(
    pool: AsyncConnectionPool[Connection],
    embedder: Embedder,
    *,
    on_progress: Callable[[int], None] = lambda embedded: None,
) -> EmbeddingRun:
    """Embed every item whose document changed (or that another model embedded), a batch at a time.

    A batch is read without locking any row and embedded with no transaction open, and each vector
    is written only if its item's text is still the one embedded: ratings and edits never wait for
    the model, and an item edited meanwhile is left for the next pass. Each pass walks the ids from
    a random place (to the end, then from the start), so processes embedding at the same time
    mostly work on different items; what one has written, the others' next batches skip."""
    total = 0
    for item_type in ItemType:
        async with pool.connection() as conn:
            ids = await repository.id_range(conn, item_type)
        if ids is None:
            continue
        start = random.randint(ids[0], ids[1])
        for after_id, up_to_id in ((start - 1, None), (ids[0] - 1, start - 1)):
            total += await _embed_range(pool, embedder, item_type, after_id, up_to_id, on_progress)
    if total:
        async with pool.connection() as conn, conn.transaction():
            await repository.refresh_vocabulary(conn)
    return EmbeddingRun(embedded=total)


async def _embed_range(
    pool: AsyncConnectionPool[Connection],
    embedder: Embedder,
    item_type: ItemType,
    after_id: int,
    up_to_id: int | None,
    on_progress: Callable[[int], None],
) -> int:
    """Embed the pending items with ids in (after_id, up_to_id]; returns how many vectors were written."""
    written = 0
    while True:
        async with pool.connection() as conn, conn.transaction():
            rows = await repository.pending_documents(
                conn, item_type, model=embedder.model_name, after_id=after_id, up_to_id=up_to_id, limit=EMBED_BATCH
            )
        if not rows:
            return written
        after_id = rows[-1]["id"]
        vectors = await to_thread.run_sync(embedder.embed_documents, [row["document"] for row in rows])
        async with pool.connection() as conn, conn.transaction():
            written += await repository.store_embeddings(
                conn,
                item_type,
                model=embedder.model_name,
                rows=[(row["id"], row["content_hash"], vector) for row, vector in zip(rows, vectors, strict=True)],
            )
        on_progress(len(rows))


async def mark_all_for_embedding(conn: Connection) -> None:
    for item_type in ItemType:
        await repository.forget_content_hashes(conn, item_type)


async def embedding_status(conn: Connection, *, model: str) -> EmbeddingStatus:
    counts = await repository.embedding_status(conn, model=model)
    return EmbeddingStatus(model=model, other_models=await repository.other_models(conn, model=model), **counts)


# Counting reads every item's text (to tell current vectors from outdated ones): /search/status
# shares one count for this long, which also makes calling it in a loop cheap.
STATUS_CACHE_SECONDS = 10


async def embedding_status_cached(conn: Connection, cache: Cache, *, model: str) -> bytes:
    """embedding_status() as a JSON body, shared by every caller for STATUS_CACHE_SECONDS."""

    async def compute() -> bytes:
        return (await embedding_status(conn, model=model)).model_dump_json().encode()

    return await cached(cache, "embedding_status", model, STATUS_CACHE_SECONDS, compute)


@dataclass(frozen=True)
class EmbeddingProgress:
    """How much of the catalogue the configured model has embedded from the items' current text."""

    embedded: int
    items: int

    @property
    def complete(self) -> bool:
        return self.embedded >= self.items

    @property
    def share(self) -> float:
        """Rounded down to four decimals, so that 1.0 always means every item."""
        return 1.0 if self.complete else (self.embedded * 10_000 // self.items) / 10_000


async def embedding_progress(conn: Connection, cache: Cache, *, model: str, version: str) -> EmbeddingProgress:
    """The progress at this search version, counted once for everyone asking within
    STATUS_CACHE_SECONDS: vectors written or new items make a new version, and so a new count at
    once; an edited or deleted item shows within that long."""

    async def compute() -> bytes:
        counts = await repository.embedding_status(conn, model=model)
        return json.dumps([counts["current"], sum(counts.values())]).encode()

    embedded, items = json.loads(
        await cached(cache, "embedding_progress", f"{model}:{version}", STATUS_CACHE_SECONDS, compute)
    )
    return EmbeddingProgress(embedded=embedded, items=items)


async def embed_catalogue(
    pool: AsyncConnectionPool[Connection],
    embedder: Embedder,
    *,
    everything: bool = False,
    start_progress: Callable[[str, int], Callable[[int], None]] = lambda description, total: lambda embedded: None,
) -> EmbeddingRun:
    """Embed what is new or changed (or, with `everything`, every item again). Before the first
    batch, `start_progress(description, items to embed)` returns the function that advances it."""
    if everything:
        async with pool.connection() as conn, conn.transaction():
            await mark_all_for_embedding(conn)
    async with pool.connection() as conn:
        status = await embedding_status(conn, model=embedder.model_name)
    pending = status.missing + status.outdated + status.other_model
    advance = start_progress(f"Embedding with {embedder.model_name}", pending)
    return await embed_pending(pool, embedder, on_progress=advance)


async def import_catalogue_file(
    pool: AsyncConnectionPool[Connection],
    embedder: Embedder,
    path: Path,
    *,
    embed: bool = True,
    start_progress: Callable[[str, int], Callable[[int], None]] = lambda description, total: lambda embedded: None,
) -> tuple[catalog_service.CatalogueImport, EmbeddingRun]:
    """Add or update the items of a JSONL file (one transaction), then (with `embed`) embed what is
    new or changed. `start_progress` is called for each step: the file's lines, then the items to embed."""
    with path.open(encoding="utf-8") as file:
        advance = start_progress(f"Importing {path.name}", sum(1 for _ in file))
    async with pool.connection() as conn, conn.transaction():
        with path.open(encoding="utf-8") as file:
            report = await catalog_service.import_catalogue(conn, _counted(file, advance))
    if not embed:
        return report, EmbeddingRun(embedded=0)
    return report, await embed_catalogue(pool, embedder, start_progress=start_progress)


def _counted(lines: Iterable[str], advance: Callable[[int], None]) -> Iterator[str]:
    for line in lines:
        yield line
        advance(1)


def _quoted(lexeme: str) -> str:
    escaped = lexeme.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'"


def full_text_query(
    lexemes: list[tuple[str, int]], catalogue_size: float, *, sections: str = ""
) -> FullTextQuery | None:
    """Items with all of the query's words come first; after them, items with any of its
    informative words. None when every word is so common that matching would rank a large part
    of the catalogue for little gain (the other retrievers answer such queries). `sections`
    (tsquery weights, e.g. "BCD") limits the words to those parts of an item's text."""
    if not lexemes:
        return None

    def term(lexeme: str) -> str:
        return f"{_quoted(lexeme)}:{sections}" if sections else _quoted(lexeme)

    common = max(COMMON_WORD_MIN_ITEMS, COMMON_WORD_SHARE * catalogue_size)
    informative = [term(lexeme) for lexeme, documents in lexemes if documents <= common]
    all_words = " & ".join(term(lexeme) for lexeme, _ in lexemes)
    if not informative:
        if min(documents for _, documents in lexemes) > FULL_TEXT_MAX_MATCHES:
            return None
        return FullTextQuery(all_words=all_words, any_word=all_words)
    return FullTextQuery(all_words=all_words, any_word=f"({all_words}) | " + " | ".join(informative))


# A description's words are looked for in people, genres, keywords and overviews, not in titles
# (weight A): a title that shares a word with a description ("home", "book") is no answer to it.
DESCRIPTION_SECTIONS = "BCD"


def fuse(weighted_lists: list[tuple[list[Candidate], float]]) -> list[tuple[ItemType, int, float | None]]:
    """Weighted Reciprocal Rank Fusion of lists that are each best first, each with its weight:
    (item_type, item_id, similarity), best first."""
    scores: dict[tuple[ItemType, int], float] = defaultdict(float)
    similarity: dict[tuple[ItemType, int], float | None] = {}
    for candidates, weight in weighted_lists:
        if weight <= 0:
            continue
        for rank, candidate in enumerate(candidates, start=1):
            key = (candidate.item_type, candidate.item_id)
            scores[key] += weight / (RRF_K + rank)
            if similarity.get(key) is None:
                similarity[key] = candidate.similarity
    ordered = sorted(scores, key=lambda key: (-scores[key], -(similarity[key] or 0.0), key[0], key[1]))
    return [(item_type, item_id, similarity[(item_type, item_id)]) for item_type, item_id in ordered]


def above_floor(
    fused: list[tuple[ItemType, int, float | None]], *, floor: float, looked_up: set[tuple[ItemType, int]]
) -> list[tuple[ItemType, int, float | None]]:
    """The hits close enough in meaning to be an answer: similarity at the floor or above, or an
    item the query names by its title or a person. Items without a vector stay: nothing says they
    are unrelated."""
    return [hit for hit in fused if hit[2] is None or hit[2] >= floor or (hit[0], hit[1]) in looked_up]


def looked_up_items(names: list[NameMatch], kind: QueryKind) -> list[NameMatch]:
    """The items a title or person look-up names, closest match first (then closest in meaning);
    none for a descriptive query, whose words may be in titles by chance. Of titles that hold the
    whole query alike, the one most like it as a whole comes first: "toy story" is Toy Story
    before Toy Story 3, "the godfather" The Godfather before The Godfather Trilogy."""
    if kind is QueryKind.TITLE:
        matches = [
            ((n.title_match, n.whole_title_match), n) for n in names if n.title_match >= understanding.TITLE_MATCH
        ]
    elif kind is QueryKind.PERSON:
        matches = [((n.person_match, 0.0), n) for n in names if n.person_match >= understanding.PERSON_MATCH]
    else:
        return []
    matches.sort(
        key=lambda pair: (-pair[0][0], -pair[0][1], -(pair[1].similarity or 0.0), pair[1].item_type, pair[1].item_id)
    )
    return [name for _, name in matches]


QUERY_VECTOR_TTL_SECONDS = 7 * 24 * 3600


async def query_vector(embedder: Embedder, cache: Cache | None, query: str) -> np.ndarray | None:
    """The query's embedding: from this process's LRU, then the shared cache (when REDIS_URL is set:
    one instance's work serves all), then the model. None when the model cannot be loaded: search
    then runs on full text and names alone (the embedder has logged why; /health/ready says so)."""
    try:
        return await _query_vector(embedder, cache, query)
    except ModelUnavailableError:
        return None


async def _query_vector(embedder: Embedder, cache: Cache | None, query: str) -> np.ndarray:
    async def compute() -> np.ndarray:
        return await to_thread.run_sync(embedder.embed_query, query)

    return await cached_in_two_tiers(
        "query_embedding",
        embedder.query_key(query),
        local=embedder.query_vectors,
        shared=cache,
        ttl_seconds=QUERY_VECTOR_TTL_SECONDS,
        compute=compute,
        encode=lambda vector: vector.astype(np.float32).tobytes(),
        decode=lambda body: np.frombuffer(body, np.float32),
    )


async def search(
    conn: Connection,
    *,
    embedder: Embedder,
    query: str,
    scope: SearchScope,
    limit: int,
    threshold: float,
    filters: SearchFilters,
    mode: SearchMode = SearchMode.HYBRID,
    cache: Cache | None = None,
    skip: int = 0,
) -> list[MovieHit | BookHit]:
    ranked = await ranking(conn, embedder=embedder, query=query, scope=scope, filters=filters, mode=mode, cache=cache)
    return await load_hits(conn, within(ranked, skip=skip, limit=limit, threshold=threshold))


def within(
    ranked: list[tuple[ItemType, int, float | None]], *, skip: int = 0, limit: int, threshold: float
) -> list[tuple[ItemType, int, float | None]]:
    """The hits of a ranking whose similarity reaches `threshold` (every hit at 0), `limit` of them
    after the first `skip`: pages cut from one ranking never overlap or leave a hit out.
    Asking the vector retriever for the threshold instead gives the same hits in the same order:
    what it leaves out is the tail of its list, so the rest keep their ranks."""
    kept = [hit for hit in ranked if threshold <= 0 or (hit[2] is not None and hit[2] >= threshold)]
    return kept[skip : skip + limit]


async def ranking(
    conn: Connection,
    *,
    embedder: Embedder,
    query: str,
    scope: SearchScope,
    filters: SearchFilters,
    mode: SearchMode = SearchMode.HYBRID,
    cache: Cache | None = None,
) -> list[tuple[ItemType, int, float | None]]:
    """Every hit the retrievers find for the query (at most 240), fused, best first. A look-up of
    a title or person puts what it names first; a description is ranked by meaning. When none of
    the query's words is in the catalogue, only meaning speaks for a hit: hits below the embedder's
    relevance floor are left out, so a query that means nothing to the catalogue finds nothing.
    "Films like X" finds the items closest to X."""
    if mode is SearchMode.HYBRID and (like := understanding.like_request(query)) is not None:
        similar = await _like_ranking(conn, embedder=embedder, like=like, scope=scope, filters=filters)
        if similar is not None:
            return similar
    # Meaning and words see the query with its Indian-language words glossed in English.
    meant = understanding.glossed(query)
    # The model embeds the query in a thread while the database looks up its words: neither needs
    # the other, so a search not cached waits for the longer of the two, not for both.
    embedding = asyncio.ensure_future(query_vector(embedder, cache, meant))
    try:
        lexemes, catalogue_size = await repository.query_lexemes(conn, meant)
        name_words = await _name_words(conn, query, catalogue_size) if mode is SearchMode.HYBRID else None
    finally:
        vector = await embedding
    if vector is None and mode is SearchMode.VECTOR:
        mode = SearchMode.FULLTEXT  # no model: the words are all there is to go by
    item_types = _item_types(scope)
    # What every retriever is told; each answers for every item type asked in one statement, best first.
    shared = {"vector": vector, "model": embedder.model_name, "filters": filters}
    meaning: list[Candidate] = []
    words: list[Candidate] = []
    names: list[NameMatch] = []
    if name_words:
        names = await repository.name_matches(
            conn, item_types, raw_query=query, name_query=name_words, limit=NAME_CANDIDATES, **shared
        )
    kind = understanding.classify(
        title_match=max((n.title_match for n in names), default=0.0),
        person_match=max((n.person_match for n in names), default=0.0),
    )
    if mode in (SearchMode.HYBRID, SearchMode.VECTOR) and vector is not None:
        described_first = mode is SearchMode.HYBRID and kind is QueryKind.DESCRIPTIVE
        penalty = understanding.UNDESCRIBED_PENALTY if described_first else 0.0
        meaning = await repository.nearest(
            conn, item_types, limit=CANDIDATES_PER_LIST, undescribed_penalty=penalty, **shared
        )
    sections = DESCRIPTION_SECTIONS if mode is SearchMode.HYBRID and kind is QueryKind.DESCRIPTIVE else ""
    text_query = full_text_query(lexemes, catalogue_size, sections=sections)
    if mode in (SearchMode.HYBRID, SearchMode.FULLTEXT) and text_query:
        words = await repository.full_text(conn, item_types, query=text_query, limit=CANDIDATES_PER_LIST, **shared)
    weights = understanding.WEIGHTS[kind] if mode is SearchMode.HYBRID else SINGLE_RETRIEVER
    looked_up = looked_up_items(names, kind)
    fused = fuse([(meaning, weights.meaning), (words, weights.words), (looked_up, weights.names)])
    if mode is SearchMode.FULLTEXT or understanding.knows_words(lexemes):
        return fused
    return above_floor(fused, floor=embedder.relevance_floor, looked_up={(n.item_type, n.item_id) for n in looked_up})


# mode=vector and mode=fulltext: the one list asked for, in its own order.
SINGLE_RETRIEVER = understanding.FusionWeights(meaning=1.0, words=1.0, names=0.0)


def _item_types(scope: SearchScope) -> list[ItemType]:
    return [ItemType.MOVIE, ItemType.BOOK] if scope is SearchScope.ALL else [ItemType(scope.value)]


async def _name_words(conn: Connection, query: str, catalogue_size: float) -> str | None:
    """The title and name words the query means (misspellings corrected), as a tsquery; None for
    a long query (a description) or one none of whose words is close to a title or name word."""
    if len(query.split()) > NAME_QUERY_MAX_WORDS:
        return None
    corrections = await repository.spelling_corrections(
        conn, query, max_documents=max(COMMON_WORD_MIN_ITEMS, COMMON_WORD_SHARE * catalogue_size)
    )
    return " | ".join(_quoted(word) for word in corrections) or None


async def _name_matches(
    conn: Connection,
    query: str,
    item_types: list[ItemType],
    *,
    catalogue_size: float,
    vector: np.ndarray | None,
    model: str,
    filters: SearchFilters,
) -> list[NameMatch]:
    """Items carrying the query's title and name words (misspellings corrected), closest match
    first; none for long queries, which are descriptions."""
    name_query = await _name_words(conn, query, catalogue_size)
    if name_query is None:
        return []
    return await repository.name_matches(
        conn,
        item_types,
        raw_query=query,
        name_query=name_query,
        vector=vector,
        model=model,
        limit=NAME_CANDIDATES,
        filters=filters,
    )


async def _like_ranking(
    conn: Connection, *, embedder: Embedder, like: LikeRequest, scope: SearchScope, filters: SearchFilters
) -> list[tuple[ItemType, int, float | None]] | None:
    """The items closest in meaning to the one a "films like X" query names, X itself left out, with
    their similarity to X. None when X is no title in the catalogue, or has no vector from this
    model yet: the query is then searched as it is."""
    _, catalogue_size = await repository.query_lexemes(conn, like.reference)
    titles = [
        n
        for n in await _name_matches(
            conn,
            like.reference,
            list(ItemType),
            catalogue_size=catalogue_size,
            vector=None,
            model=embedder.model_name,
            filters=SearchFilters(),
        )
        if n.title_match >= understanding.TITLE_MATCH
    ]
    if not titles:
        return None
    reference = min(titles, key=lambda n: (-n.title_match, n.item_type is not like.item_type, n.item_id))
    source = await repository.item_embedding(conn, reference.item_type, reference.item_id)
    if source is None or source["embedding"] is None or source["embedding_model"] != embedder.model_name:
        return None
    if scope is SearchScope.ALL and like.item_type is not None:
        scope = SearchScope(like.item_type.value)
    neighbours = await repository.nearest(
        conn,
        _item_types(scope),
        vector=source["embedding"],
        model=embedder.model_name,
        limit=CANDIDATES_PER_LIST,
        filters=filters,
        exclude=(reference.item_type, reference.item_id),
    )
    return [(c.item_type, c.item_id, c.similarity) for c in neighbours]


async def search_cached(
    conn: Connection,
    cache: Cache,
    *,
    ttl_seconds: float,
    embedder: Embedder,
    query: str,
    scope: SearchScope,
    skip: int = 0,
    limit: int,
    threshold: float,
    filters: SearchFilters,
    mode: SearchMode,
    user_id: int | None,
    quota: InteractionQuota,
) -> bytes:
    """search() as a JSON body. The ranking is shared by everyone asking the same for ttl_seconds,
    whatever skip, limit and threshold they ask for: those only cut the cached ranking (so its
    pages fit together). It is cached
    under the search version, so new vectors and new items show at once (an edit, within
    STATUS_CACHE_SECONDS); while the catalogue is still being embedded, the answer says so and is
    ranked afresh every time. A signed-in caller's search is recorded as an
    interaction, under their quota, first: over it, nothing is searched."""
    if user_id is not None:
        await interactions_service.record_search(conn, user_id=user_id, query=query, quota=quota)

    async def compute() -> bytes:
        ranked = await ranking(
            conn, embedder=embedder, query=query, scope=scope, filters=filters, mode=mode, cache=cache
        )
        return json.dumps([[kind.value, item_id, similarity] for kind, item_id, similarity in ranked]).encode()

    version = await repository.search_version(conn)
    progress = await embedding_progress(conn, cache, model=embedder.model_name, version=version)
    if progress.complete:
        asked = [" ".join(query.split()), scope.value, mode.value, embedder.model_name, filters.params(), version]
        key = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()
        body = await cached(cache, "search", key, ttl_seconds, compute)
    else:
        body = await compute()  # never cached: the next batch of vectors changes it
    ranked = [(ItemType(item_type), item_id, similarity) for item_type, item_id, similarity in json.loads(body)]
    hits = await load_hits(conn, within(ranked, skip=skip, limit=limit, threshold=threshold))
    # A page past the last hit is empty, but the search did find something: no hint.
    found = bool(hits) or bool(within(ranked, limit=1, threshold=threshold))
    results = SearchAnswer(
        items=hits,
        hint=None if found else understanding.no_results_hint(query),
        partial=not progress.complete,
        embedded_share=progress.share,
    )
    return results.model_dump_json().encode()


async def load_hits(conn: Connection, fused: list[tuple[ItemType, int, float | None]]) -> list[MovieHit | BookHit]:
    rows = await catalog_service.rows_by_key(conn, [(item_type.value, item_id) for item_type, item_id, _ in fused])
    hit_models = {ItemType.MOVIE: MovieHit, ItemType.BOOK: BookHit}
    return [
        hit_models[item_type].model_validate({**rows[(item_type.value, item_id)], "similarity": similarity})
        for item_type, item_id, similarity in fused
    ]


async def similar_to(
    conn: Connection,
    *,
    embedder: Embedder,
    item_type: ItemType,
    item_id: int,
    target_type: ItemType,
    limit: int,
) -> list[MovieHit | BookHit] | None:
    """Items whose embeddings are nearest to this item's; None if the item does not exist."""
    source = await repository.item_embedding(conn, item_type, item_id)
    if source is None:
        return None
    if source["embedding"] is None or source["embedding_model"] != embedder.model_name:
        logger.info("%s %s has no embedding from %s yet", item_type.value, item_id, embedder.model_name)
        return []
    neighbours = await repository.nearest(
        conn,
        [target_type],
        vector=source["embedding"],
        model=embedder.model_name,
        limit=limit,
        exclude=(item_type, item_id),
    )
    return await load_hits(conn, [(c.item_type, c.item_id, c.similarity) for c in neighbours])
