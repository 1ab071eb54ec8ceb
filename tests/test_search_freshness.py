"""Search answers and embeddings: a vector written shows in the next search, even one the cache
already holds; while items wait for their vectors, answers say how much is embedded and are
ranked afresh each time."""

import asyncio
import threading

import httpx
import psycopg
import pytest
from anyio import to_thread

from cinelibre.app import _prepare_search
from cinelibre.database import migrate
from cinelibre.database.connection import Connection
from cinelibre.search import repository as search_repository
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from cinelibre.types import ItemType
from tests.conftest import app_on, app_on_database, client_for, recreate_database
from tests.test_cache import as_listed, hits

LIGHTHOUSE = "a lighthouse keeper who trains carrier pigeons on a stormy island"


@pytest.fixture
def empty_catalogue_url(server_url: str) -> str:
    url = recreate_database(server_url, "cinelibre_search_freshness")
    migrate.upgrade_to_head(url)
    return url


def add_films(url: str, *titles_and_overviews: tuple[str, str]) -> None:
    with psycopg.connect(url) as conn:
        conn.cursor().executemany("INSERT INTO movies (title, overview) VALUES (%s, %s)", titles_and_overviews)


async def embed_movie_now(conn: Connection, embedder: Embedder, movie_id: int) -> None:
    """Embed one film's current text in the test's own transaction, as an embedding pass writes it."""
    rows = await search_repository.pending_documents(
        conn, ItemType.MOVIE, model=embedder.model_name, after_id=movie_id - 1, up_to_id=movie_id, limit=1
    )
    vectors = embedder.embed_documents([row["document"] for row in rows])
    written = await search_repository.store_embeddings(
        conn,
        ItemType.MOVIE,
        model=embedder.model_name,
        rows=[(row["id"], row["content_hash"], vector) for row, vector in zip(rows, vectors, strict=True)],
    )
    assert written == 1


async def search(http: httpx.AsyncClient, params: dict) -> tuple[dict, float]:
    """The answer, and how many times it was served from the search cache."""
    before = hits("search")
    response = await http.get("/search/semantic", params=params)
    assert response.status_code == 200, response.text
    return as_listed(response.json()), hits("search") - before


async def test_a_cached_answer_gives_way_at_once_to_an_item_whose_new_text_was_embedded(
    catalogue_conn: Connection, settings: Settings, pool, embedder: Embedder
) -> None:
    query = {"q": LIGHTHOUSE, "type": "movie", "limit": 3}
    async with client_for(app_on(catalogue_conn, settings, pool, embedder)) as http:
        before, _ = await search(http, query)
        cached_again, served_from_cache = await search(http, query)
        cursor = await catalogue_conn.execute(
            "SELECT min(id) AS id FROM movies WHERE NOT id = ANY(%s)", ([item["id"] for item in before["items"]],)
        )
        rewritten = (await cursor.fetchone())["id"]
        await catalogue_conn.execute(
            "UPDATE movies SET overview = %s WHERE id = %s",
            (f"The story of {LIGHTHOUSE}, and of the storm that cuts them off for a winter.", rewritten),
        )
        await embed_movie_now(catalogue_conn, embedder, rewritten)
        after, served_after_embedding = await search(http, query)

    assert (before["partial"], before["embedded_share"]) == (False, 1.0)
    assert (cached_again, served_from_cache) == (before, 1)
    assert rewritten not in [item["id"] for item in before["items"]]
    assert after["items"][0]["id"] == rewritten
    assert (after["partial"], after["embedded_share"], served_after_embedding) == (False, 1.0, 0)


async def test_while_items_wait_for_vectors_answers_are_partial_with_the_share_embedded_and_never_cached(
    empty_catalogue_url: str, settings: Settings, embedder: Embedder
) -> None:
    add_films(
        empty_catalogue_url,
        ("Harbour Lights", "A lighthouse keeper and his daughter on a rocky coast."),
        ("Desert Crossing", "Camel traders cross the Sahara before the rains."),
        ("Night Train", "Strangers share a sleeper compartment to Vienna."),
    )
    async with app_on_database(empty_catalogue_url, settings, embedder) as app:
        await search_service.embed_pending(app.state.pool, embedder)
        add_films(empty_catalogue_url, ("Pigeon Post", "Carrier pigeons carry letters from a besieged city."))
        query = {"q": "carrier pigeons", "type": "movie", "limit": 4}
        async with client_for(app) as http:
            partial_first, first_from_cache = await search(http, query)
            partial_again, again_from_cache = await search(http, query)
            await search_service.embed_pending(app.state.pool, embedder)
            complete_first, complete_first_from_cache = await search(http, query)
            complete_again, complete_again_from_cache = await search(http, query)

    for partial in (partial_first, partial_again):
        assert (partial["partial"], partial["embedded_share"]) == (True, 0.75)
        # The film waiting for its vector is still found by its words, with no similarity to show.
        assert [item["title"] for item in partial["items"] if item["similarity"] is None] == ["Pigeon Post"]
    assert (first_from_cache, again_from_cache) == (0, 0)
    assert (complete_first["partial"], complete_first["embedded_share"]) == (False, 1.0)
    assert complete_first["items"][0]["title"] == "Pigeon Post"
    assert complete_first["items"][0]["similarity"] is not None
    assert (complete_again, complete_first_from_cache, complete_again_from_cache) == (complete_first, 0, 1)


class PausingBeforeSecondBatch:
    """The real model, which waits before embedding its second batch until the test lets it go on:
    the first batch is stored by then, so a search in between meets a catalogue part embedded."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.model_name = embedder.model_name
        self.batch_sizes: list[int] = []
        self.paused = threading.Event()
        self.go_on = threading.Event()

    def load(self) -> None:
        self.embedder.load()

    def embed_documents(self, documents: list[str]):
        self.batch_sizes.append(len(documents))
        if len(self.batch_sizes) == 2:
            self.paused.set()
            assert self.go_on.wait(timeout=60)
        return self.embedder.embed_documents(documents)


async def test_searches_during_the_first_start_embedding_are_partial_until_it_has_finished(
    empty_catalogue_url: str, settings: Settings, embedder: Embedder
) -> None:
    films = [(f"Film {number}", f"A short story told in {number} scenes.") for number in range(1, 101)]
    add_films(empty_catalogue_url, *films)
    pausing = PausingBeforeSecondBatch(embedder)
    query = {"q": "a story told in scenes", "limit": 5}
    async with app_on_database(empty_catalogue_url, settings, embedder) as app, client_for(app) as http:
        before_start, _ = await search(http, query)
        embedding = asyncio.create_task(_prepare_search(app.state.pool, pausing, settings))
        assert await to_thread.run_sync(pausing.paused.wait, 60)
        during, during_from_cache = await search(http, query)
        during_again, during_again_from_cache = await search(http, query)
        pausing.go_on.set()
        await embedding
        after, _ = await search(http, query)
        after_again, after_again_from_cache = await search(http, query)

    assert (before_start["partial"], before_start["embedded_share"]) == (True, 0.0)
    # The first batch of the 100 films is stored (it starts at a random film: up to 64 of them).
    stored = pausing.batch_sizes[0] / 100
    assert [(answer["partial"], answer["embedded_share"]) for answer in (during, during_again)] == [(True, stored)] * 2
    assert (during_from_cache, during_again_from_cache) == (0, 0)
    assert (after["partial"], after["embedded_share"]) == (False, 1.0)
    assert (after_again, after_again_from_cache) == (after, 1)
