import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest

from cinelibre.catalog import service as catalog_service
from cinelibre.catalog.service import UpsertOutcome
from cinelibre.database import migrate
from cinelibre.database.connection import open_pool
from cinelibre.metrics import cache_requests
from cinelibre.search import quality
from cinelibre.search import service as search_service
from cinelibre.search.embedder import (
    BUNDLED_MODEL,
    EMBEDDING_DIMENSION,
    Embedder,
    bundled_model_dir,
    memory_bounded_batches,
)
from cinelibre.search.repository import FullTextQuery, SearchFilters
from cinelibre.search.schemas import Candidate, SearchMode, SearchScope
from cinelibre.settings import Settings
from cinelibre.types import ItemType
from tests.conftest import app_on, client_for, recreate_database
from tests.factories import register

RELEVANCE_SET = Path(__file__).parent / "data" / "search_relevance.json"


async def movie_id(conn, title: str) -> int:
    row = await (await conn.execute("SELECT id FROM movies WHERE title = %s", (title,))).fetchone()
    return row["id"]


# ----- the model --------------------------------------------------------------------------------


def test_bundled_model_embeds_unit_vectors_of_384_dimensions(embedder: Embedder) -> None:
    vectors = embedder.embed_documents(["A heist in Mumbai.", "Dragons and a ring of power."])

    assert embedder.model_name == BUNDLED_MODEL
    assert vectors.shape == (2, EMBEDDING_DIMENSION)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_related_texts_are_closer_than_unrelated_ones(embedder: Embedder) -> None:
    space, astronauts, cooking = embedder.embed_documents(
        ["space adventure", "astronauts travel through a wormhole", "a recipe for fish curry"]
    )

    assert float(space @ astronauts) > float(space @ cooking) + 0.2


def test_long_documents_are_embedded_in_small_batches_and_keep_their_order(embedder: Embedder) -> None:
    texts = ["short one", "x" * 5000, "a medium length text " * 20, "y" * 1300, "tiny"]

    batches = memory_bounded_batches(texts, 32)
    together = embedder.embed_documents(texts)
    alone = np.vstack([embedder.embed_documents([text]) for text in texts])

    assert batches == [[1], [3], [2, 0, 4]]  # a full-length document alone, then the rest longest first
    assert np.allclose(together, alone, atol=1e-5)


def test_batches_hold_at_most_the_batch_size_and_fewer_when_texts_are_long() -> None:
    # 60 characters are estimated at 22 tokens (about 1 MB of working memory a text): the batch
    # size caps. 240 characters are 82 tokens (about 7 MB a text): nine fill the 64 MB budget.
    short = memory_bounded_batches(["s" * 60] * 40, 32)
    long = memory_bounded_batches(["l" * 240] * 20, 32)
    one_at_a_time = memory_bounded_batches(["s" * 60] * 3, 1)

    assert [len(batch) for batch in short] == [32, 8]
    assert [len(batch) for batch in long] == [9, 9, 2]
    assert one_at_a_time == [[0], [1], [2]]
    assert sorted(position for batch in long for position in batch) == list(range(20))


def test_the_bundled_model_embeds_what_fastembed_computes_for_it(embedder: Embedder, settings: Settings) -> None:
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    texts = ["Amélie (2001) Comedy|Romance", "x" * 5000, "", "space adventure with a robot"]
    embedder.load()
    if "bundled-through-fastembed" not in {m["model"] for m in TextEmbedding.list_supported_models()}:
        TextEmbedding.add_custom_model(
            model="bundled-through-fastembed",
            pooling=PoolingType.MEAN,
            normalization=True,
            sources=ModelSource(hf="local/bundled-through-fastembed"),
            dim=EMBEDDING_DIMENSION,
            model_file="model.onnx",
        )
    folder = bundled_model_dir(settings.data_dir / "models")
    fastembed = TextEmbedding("bundled-through-fastembed", specific_model_path=str(folder), threads=1)

    ours = embedder.embed_documents(texts)
    theirs = np.array(list(fastembed.embed(texts, batch_size=1)))

    assert ours.dtype == theirs.dtype == np.float32
    assert np.allclose(ours, theirs, atol=1e-6)


def test_the_bundled_model_loads_without_importing_fastembed(embedder: Embedder, settings: Settings) -> None:
    embedder.load()  # the folded model is in the data directory: the child only loads it
    probe = (
        "import sys; from pathlib import Path; from cinelibre.settings import Settings; "
        "from cinelibre.search.embedder import Embedder; "
        f"Embedder(Settings(_env_file=None, data_dir=Path({str(settings.data_dir)!r}))).load(); "
        "print('fastembed' in sys.modules)"
    )

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_query_embeddings_come_from_the_cache_the_second_time(embedder: Embedder) -> None:
    first = embedder.embed_query("monsoon   wedding")
    second = embedder.embed_query("monsoon wedding")

    assert second is first


def test_bundled_model_folder_holds_the_folded_model_and_the_packaged_tokenizer(tmp_path: Path) -> None:
    folder = bundled_model_dir(tmp_path)

    assert sorted(p.name for p in folder.iterdir()) == [
        "folded-by-onnxruntime",
        "model.onnx",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert (folder / "tokenizer.json").resolve() == (Path(search_service.__file__).parent / "model/tokenizer.json")
    # Folding turns the int8 weights into float ones: the file grows about fourfold.
    assert (folder / "model.onnx").stat().st_size > 80_000_000


# ----- pure helpers -----------------------------------------------------------------------------


def test_full_text_query_ranks_all_words_first_then_informative_ones() -> None:
    query = search_service.full_text_query([("famili", 900), ("kerala", 12), ("o'neil", 3)], 10_000)

    assert query == FullTextQuery(
        all_words="'famili' & 'kerala' & 'o''neil'",
        any_word="('famili' & 'kerala' & 'o''neil') | 'kerala' | 'o''neil'",
    )


def test_full_text_query_of_common_words_needs_them_all_or_is_skipped() -> None:
    common = search_service.full_text_query([("famili", 900), ("drama", 4000)], 10_000)
    very_common = search_service.full_text_query([("drama", 6000)], 100_000)

    assert common == FullTextQuery(all_words="'famili' & 'drama'", any_word="'famili' & 'drama'")
    assert very_common is None
    assert search_service.full_text_query([], 10_000) is None


def test_reciprocal_rank_fusion_rewards_items_found_by_several_retrievers() -> None:
    movie = ItemType.MOVIE
    vector = [Candidate(movie, 1, 0.9, 0.9), Candidate(movie, 2, 0.8, 0.8)]
    text = [Candidate(movie, 2, 0.5, 0.8), Candidate(movie, 3, 0.4, None)]

    fused = search_service.fuse([(vector, 1.0), (text, 1.0)])

    assert fused == [(movie, 2, 0.8), (movie, 1, 0.9), (movie, 3, None)]


def test_ndcg_rewards_putting_the_best_item_first() -> None:
    grades = {"movie:1": 3, "movie:2": 1}

    assert quality.ndcg(["movie:1", "movie:2"], grades) == pytest.approx(1.0)
    assert quality.ndcg(["movie:2", "movie:1"], grades) == pytest.approx((1 + 7 / np.log2(3)) / (7 + 1 / np.log2(3)))
    assert quality.ndcg(["movie:9"], grades) == 0.0


# ----- search over the demo catalogue -----------------------------------------------------------


async def search(client: httpx.AsyncClient, **params) -> list[dict]:
    response = await client.get("/search/semantic", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_exact_title_comes_first(catalogue_client: httpx.AsyncClient) -> None:
    items = await search(catalogue_client, q="Drishyam", type="movie")

    assert items[0]["title"] == "Drishyam"
    assert items[0]["item_type"] == "movie"
    assert len(items) == 12


async def test_misspelt_title_is_still_found(catalogue_client: httpx.AsyncClient) -> None:
    items = await search(catalogue_client, q="Bahubali", type="movie", limit=3)

    assert {item["title"] for item in items[:2]} == {"Baahubali: The Beginning", "Baahubali 2: The Conclusion"}


async def test_author_name_finds_their_books(catalogue_client: httpx.AsyncClient) -> None:
    items = await search(catalogue_client, q="Tolkien", type="book", limit=5)

    assert all("J. R. R. Tolkien" in item["authors"] for item in items[:2])


async def test_descriptive_query_finds_meaning_not_words(catalogue_client: httpx.AsyncClient) -> None:
    items = await search(catalogue_client, q="astronauts searching for a new home for humanity", type="movie", limit=5)

    assert "Interstellar" in [item["title"] for item in items]


async def test_results_mix_movies_and_books_by_default(catalogue_client: httpx.AsyncClient) -> None:
    items = await search(catalogue_client, q="partition of India 1947", limit=20)

    assert {item["item_type"] for item in items} == {"movie", "book"}


async def test_every_result_meets_the_threshold(catalogue_client: httpx.AsyncClient) -> None:
    items = await search(catalogue_client, q="a family drama set in Kerala", threshold=0.35, limit=50)
    none = await search(catalogue_client, q="a family drama set in Kerala", threshold=0.99)

    assert items
    assert all(item["similarity"] >= 0.35 for item in items)
    assert none == []


async def test_another_limit_or_threshold_is_cut_from_the_cached_ranking(
    catalogue_client: httpx.AsyncClient, catalogue_conn, embedder: Embedder
) -> None:
    question = "a family drama set in Kerala"
    misses_before = cache_requests.labels("search", "miss")._value.get()
    wide = await search(catalogue_client, q=question, limit=50)
    narrow = await search(catalogue_client, q=question, limit=5, threshold=0.35)
    misses = cache_requests.labels("search", "miss")._value.get() - misses_before
    uncached = await search_service.search(
        catalogue_conn,
        embedder=embedder,
        query=question,
        scope=SearchScope.ALL,
        limit=5,
        threshold=0.35,
        filters=SearchFilters(),
    )

    assert misses == 1
    assert [(i["item_type"], i["id"]) for i in narrow] == [(h.item_type, h.id) for h in uncached]
    assert narrow == [item for item in wide if item["similarity"] is not None and item["similarity"] >= 0.35][:5]
    assert len(narrow) == 5


async def test_status_is_counted_once_for_calls_close_together(
    catalogue_client: httpx.AsyncClient, catalogue_conn
) -> None:
    first = (await catalogue_client.get("/search/status")).json()
    await catalogue_conn.execute(
        "DELETE FROM movie_embeddings WHERE movie_id = (SELECT min(movie_id) FROM movie_embeddings)"
    )
    second = (await catalogue_client.get("/search/status")).json()

    assert first["missing"] == 0
    assert second == first  # the count of a moment ago, not a new one


async def test_filters_restrict_every_retriever(catalogue_client: httpx.AsyncClient) -> None:
    items = await search(
        catalogue_client, q="crime thriller", type="movie", language="ta", genre="thriller", year_from=2010, limit=50
    )

    assert items
    assert all(item["original_language"] == "ta" and "Thriller" in item["genres"] for item in items)
    assert all(item["year"] >= 2010 for item in items)


async def test_vector_mode_ranks_by_similarity(catalogue_client: httpx.AsyncClient) -> None:
    items = await search(catalogue_client, q="haunted house", mode="vector", limit=20)

    similarities = [item["similarity"] for item in items]
    assert len(items) == 20
    assert similarities == sorted(similarities, reverse=True)


@pytest.mark.parametrize(
    "query",
    ["drama & | ! :*", "'; DROP TABLE movies; --", '"unbalanced', "बाहुबली", "பாட்ஷா", "🎬🍿", "a:*|b", "(((", "-"],
)
async def test_odd_queries_are_searched_not_errors(catalogue_client: httpx.AsyncClient, query: str) -> None:
    response = await catalogue_client.get("/search/semantic", params={"q": query})

    assert response.status_code == 200
    assert isinstance(response.json()["items"], list)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "query.q"),
        ({"q": "   "}, "query.q"),
        ({"q": "x" * 501}, "query.q"),
        ({"q": "x", "threshold": 1.5}, "query.threshold"),
        ({"q": "x", "threshold": -0.1}, "query.threshold"),
        ({"q": "x", "limit": 0}, "query.limit"),
        ({"q": "x", "limit": 101}, "query.limit"),
        ({"q": "x", "type": "song"}, "query.type"),
        ({}, "query.q"),
    ],
)
async def test_bad_search_parameters_are_422(catalogue_client: httpx.AsyncClient, params: dict, field: str) -> None:
    response = await catalogue_client.get("/search/semantic", params=params)

    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [field]


async def test_signed_in_searches_are_recorded(catalogue_client: httpx.AsyncClient, catalogue_conn) -> None:
    headers = await register(catalogue_client)

    await catalogue_client.get("/search/semantic", params={"q": "kerala backwaters"}, headers=headers)
    await catalogue_client.get("/search/semantic", params={"q": "anonymous search"})

    mine = await catalogue_client.get("/interactions/my", headers=headers)
    assert [(i["kind"], i["query"]) for i in mine.json()["items"]] == [("search", "kerala backwaters")]
    total = await (await catalogue_conn.execute("SELECT count(*) AS n FROM interactions")).fetchone()
    assert total["n"] == 1


async def test_vectors_of_another_model_are_never_compared(catalogue_client: httpx.AsyncClient, catalogue_conn) -> None:
    drishyam = await movie_id(catalogue_conn, "Drishyam")
    await catalogue_conn.execute(
        "UPDATE movie_embeddings SET model = 'some-other-model' WHERE movie_id = %s", (drishyam,)
    )

    vector_hits = await search(catalogue_client, q="Drishyam", mode="vector", limit=100)
    hybrid_hits = await search(catalogue_client, q="Drishyam", type="movie")
    status = (await catalogue_client.get("/search/status")).json()

    assert drishyam not in [item["id"] for item in vector_hits]
    assert hybrid_hits[0]["id"] == drishyam  # still found by its title, without a similarity
    assert hybrid_hits[0]["similarity"] is None
    assert (status["other_model"], status["other_models"]) == (1, ["some-other-model"])


async def test_hybrid_beats_vector_only_and_full_text_only(catalogue_conn, embedder: Embedder) -> None:
    judgements = await quality.load_judgements(catalogue_conn, quality.read_relevance_set(RELEVANCE_SET))

    scores = {mode: (await quality.evaluate(catalogue_conn, embedder, judgements, mode))["all"] for mode in SearchMode}

    assert len(judgements) >= 40
    assert scores[SearchMode.HYBRID] > scores[SearchMode.VECTOR]
    assert scores[SearchMode.HYBRID] > scores[SearchMode.FULLTEXT]


# ----- similar items ----------------------------------------------------------------------------


async def test_similar_movies_exclude_the_movie_itself(catalogue_client: httpx.AsyncClient, catalogue_conn) -> None:
    source = await movie_id(catalogue_conn, "The Lord of the Rings: The Fellowship of the Ring")

    response = await catalogue_client.get(f"/recommendations/similar/movie/{source}", params={"limit": 10})

    items = response.json()["items"]
    assert response.status_code == 200
    assert len(items) == 10
    assert source not in [item["id"] for item in items]
    assert {"The Lord of the Rings: The Two Towers", "The Lord of the Rings: The Return of the King"} <= {
        item["title"] for item in items
    }
    # The film has demo raters enough for co-ratings to join, so the fused score orders the list.
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


async def test_a_film_can_ask_for_books(catalogue_client: httpx.AsyncClient, catalogue_conn) -> None:
    source = await movie_id(catalogue_conn, "The Lord of the Rings: The Fellowship of the Ring")

    response = await catalogue_client.get(f"/recommendations/similar/movie/{source}", params={"target_type": "book"})

    items = response.json()["items"]
    assert len(items) == 12
    assert {item["item_type"] for item in items} == {"book"}
    assert "J. R. R. Tolkien" in items[0]["authors"]


async def test_similar_to_an_unknown_item_is_404(catalogue_client: httpx.AsyncClient) -> None:
    response = await catalogue_client.get("/recommendations/similar/book/9999999")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Book 9999999 does not exist."


async def test_similar_to_an_item_not_embedded_yet_is_empty(
    catalogue_client: httpx.AsyncClient, catalogue_conn
) -> None:
    # Too few demo raters for co-ratings to join, so meaning alone would answer.
    source = await movie_id(catalogue_conn, "Mother India")
    assert await catalog_service.rating_count(catalogue_conn, ItemType.MOVIE, source) == 3
    await catalogue_conn.execute("DELETE FROM movie_embeddings WHERE movie_id = %s", (source,))

    response = await catalogue_client.get(f"/recommendations/similar/movie/{source}")

    assert response.status_code == 200
    assert response.json()["items"] == []


# ----- keeping embeddings current ---------------------------------------------------------------


LINES = [
    '{"item_type": "movie", "title": "Kaithi", "year": 2019, "original_language": "ta", "genres": ["Action"], '
    '"directors": ["Lokesh Kanagaraj"], "cast": ["Karthi"], "overview": "A convict drives a lorry all night.", '
    '"tmdb_id": 592350}',
    "not json at all",
    '{"item_type": "book", "title": "Godaan", "year": 1936, "language": "hi", "categories": ["Fiction"], '
    '"authors": ["Premchand"], "description": "A farmer longs for a cow.", "isbn13": "9788126415922"}',
    '{"item_type": "movie", "title": "", "year": 2000}',
    '{"item_type": "song", "title": "x"}',
]


async def test_catalogue_import_reports_bad_lines_and_goes_on(conn) -> None:
    report = await catalog_service.import_catalogue(conn, LINES)

    assert dict(report.counts) == {UpsertOutcome.INSERTED: 2}
    assert [number for number, _ in report.bad_lines] == [2, 4, 5]
    assert "title" in report.bad_lines[1][1]


async def test_catalogue_import_is_idempotent_and_updates_changes(conn) -> None:
    await catalog_service.import_catalogue(conn, LINES)

    again = await catalog_service.import_catalogue(conn, LINES)
    changed = await catalog_service.import_catalogue(conn, [LINES[0].replace("all night", "through the night")])

    assert dict(again.counts) == {UpsertOutcome.UNCHANGED: 2}
    assert dict(changed.counts) == {UpsertOutcome.UPDATED: 1}
    row = await (await conn.execute("SELECT count(*) AS n, max(overview) AS o FROM movies")).fetchone()
    assert (row["n"], row["o"]) == (1, "A convict drives a lorry through the night.")


async def test_only_new_changed_or_other_model_items_are_embedded(server_url: str, settings) -> None:
    url = recreate_database(server_url, "cinelibre_embedding_test")
    migrate.upgrade_to_head(url)
    with psycopg.connect(url) as setup:
        setup.execute("INSERT INTO movies (title, overview) VALUES ('One', 'first film'), ('Two', 'second film')")
    pool = await open_pool(url, settings)
    bundled = Embedder(settings)
    renamed = Embedder(
        settings.model_copy(
            update={
                "embedding_model": "local-minilm",
                "embedding_model_path": bundled_model_dir(settings.data_dir / "m"),
            }
        )
    )
    try:
        first = await search_service.embed_pending(pool, bundled)
        unchanged = await search_service.embed_pending(pool, bundled)
        async with pool.connection() as conn:
            await conn.execute("UPDATE movies SET overview = 'changed' WHERE title = 'One'")
        after_change = await search_service.embed_pending(pool, bundled)
        other_model = await search_service.embed_pending(pool, renamed)
    finally:
        await pool.close()

    assert (first.embedded, unchanged.embedded, after_change.embedded, other_model.embedded) == (2, 0, 1, 2)
    with psycopg.connect(url) as check:
        models = check.execute("SELECT DISTINCT model FROM movie_embeddings").fetchall()
    assert models == [("local-minilm",)]


@pytest.mark.parametrize("breakage", ["missing", "corrupt"])
async def test_a_broken_model_degrades_search_to_full_text(
    breakage: str, catalogue_conn, settings, pool, tmp_path, caplog
) -> None:
    model_dir = tmp_path / "model"
    if breakage == "corrupt":
        model_dir.mkdir()
        (model_dir / "model.onnx").write_bytes(b"this is not an ONNX graph" * 100)
    broken = Embedder(settings.model_copy(update={"embedding_model_path": model_dir}))
    app = app_on(catalogue_conn, settings, pool, broken)
    async with client_for(app) as http:
        hybrid = await http.get("/search/semantic", params={"q": "Sholay", "type": "movie"})
        vector_only = await http.get("/search/semantic", params={"q": "Sholay", "type": "movie", "mode": "vector"})
        ready = await http.get("/health/ready")

    sholay = await movie_id(catalogue_conn, "Sholay")
    assert hybrid.status_code == vector_only.status_code == 200
    assert hybrid.json()["items"][0]["id"] == sholay
    assert vector_only.json()["items"][0]["id"] == sholay
    assert {item["similarity"] for item in hybrid.json()["items"]} == {None}
    assert ready.json()["status"] == "degraded"
    assert ready.json()["embedding_model"].startswith("failed: ")
    assert [r.levelname for r in caplog.records if r.name == "cinelibre.search.embedder"] == ["ERROR"]
