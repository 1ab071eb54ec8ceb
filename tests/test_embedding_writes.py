"""Embedding holds no row lock while the model runs, and never stores a vector of text that
changed while it was being embedded."""

import psycopg
import pytest

from cinelibre.database import migrate
from cinelibre.database.connection import open_pool
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from tests.conftest import recreate_database


class EditingWhileEmbedding:
    """The real model, while which another connection rates one film and rewrites another's
    overview (committed) the first time it is asked: as people would during a long batch."""

    def __init__(self, embedder: Embedder, url: str) -> None:
        self.embedder = embedder
        self.model_name = embedder.model_name
        self.url = url
        self.edited = False

    def embed_documents(self, documents: list[str]):
        if not self.edited:
            self.edited = True
            with psycopg.connect(self.url) as other:
                other.execute("SET lock_timeout = '1s'")  # a row lock held by the embedder fails this
                other.execute("UPDATE movies SET rating_count = 1, rating_sum = 4 WHERE title = 'Kept'")
                other.execute("UPDATE movies SET overview = 'rewritten meanwhile' WHERE title = 'Edited'")
        return self.embedder.embed_documents(documents)


@pytest.fixture
def two_films_url(server_url: str) -> str:
    url = recreate_database(server_url, "cinelibre_embedding_writes")
    migrate.upgrade_to_head(url)
    with psycopg.connect(url) as setup:
        setup.execute("INSERT INTO movies (title, overview) VALUES ('Kept', 'a quiet film'), ('Edited', 'first text')")
    return url


def stored_hashes(url: str) -> dict[str, tuple[str | None, str]]:
    """Each film's title: (md5 its vector was made from, md5 of its document now)."""
    with psycopg.connect(url) as check:
        rows = check.execute(
            """SELECT m.title, v.content_hash, md5(m.document) FROM movies m
            LEFT JOIN movie_embeddings v ON v.movie_id = m.id ORDER BY m.title"""
        ).fetchall()
    return {title: (stored, current) for title, stored, current in rows}


async def test_ratings_do_not_wait_for_the_model_and_text_edited_meanwhile_is_embedded_next_pass(
    two_films_url: str, settings: Settings, embedder: Embedder
) -> None:
    pool = await open_pool(two_films_url, settings)
    try:
        during_edit = await search_service.embed_pending(pool, EditingWhileEmbedding(embedder, two_films_url))
        after_edit = stored_hashes(two_films_url)
        next_pass = await search_service.embed_pending(pool, embedder)
    finally:
        await pool.close()

    assert during_edit.embedded == 1  # only 'Kept': 'Edited' changed after it was read
    assert after_edit["Edited"][0] is None
    assert after_edit["Kept"][0] == after_edit["Kept"][1]
    assert next_pass.embedded == 1
    assert {title: stored == current for title, (stored, current) in stored_hashes(two_films_url).items()} == {
        "Edited": True,
        "Kept": True,
    }
    with psycopg.connect(two_films_url) as check:
        assert check.execute("SELECT rating_count, rating_sum FROM movies WHERE title = 'Kept'").fetchone() == (1, 4)
