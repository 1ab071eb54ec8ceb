import time

import httpx
import pytest

from cinelibre.search import repository as search_repository
from cinelibre.search import service as search_service
from cinelibre.search import understanding
from cinelibre.search.embedder import Embedder
from cinelibre.search.repository import FullTextQuery, SearchFilters
from cinelibre.search.schemas import Candidate, NameMatch
from cinelibre.search.understanding import LikeRequest, QueryKind
from cinelibre.types import ItemType

MOVIE, BOOK = ItemType.MOVIE, ItemType.BOOK


# ----- telling look-ups from descriptions -------------------------------------------------------


@pytest.mark.parametrize(
    ("title_match", "person_match", "kind"),
    [
        (1.0, 0.0, QueryKind.TITLE),  # "harry potter"
        (0.89, 0.0, QueryKind.TITLE),  # "Bahubali" against "Baahubali: The Beginning"
        (0.6, 0.6, QueryKind.TITLE),  # as close to a title as to a name: the title
        (0.0, 0.85, QueryKind.PERSON),  # "Satyajit Rai" against "Satyajit Ray"
        (0.3, 0.5, QueryKind.PERSON),  # "Tolkein" against "J. R. R. Tolkien"
        (0.45, 0.31, QueryKind.DESCRIPTIVE),  # "astronauts looking for a new home" and Home Alone
        (0.59, 0.49, QueryKind.DESCRIPTIVE),
        (0.0, 0.0, QueryKind.DESCRIPTIVE),
    ],
)
def test_a_query_is_a_look_up_only_when_it_closely_matches_a_whole_title_or_name(
    title_match: float, person_match: float, kind: QueryKind
) -> None:
    assert understanding.classify(title_match=title_match, person_match=person_match) is kind


@pytest.mark.parametrize(
    ("query", "request_"),
    [
        ("movies like Drishyam", LikeRequest("Drishyam", MOVIE)),
        ("  Films   similar to  Pather Panchali ", LikeRequest("Pather Panchali", MOVIE)),
        ("books like The God of Small Things", LikeRequest("The God of Small Things", BOOK)),
        ("something like toy story", LikeRequest("toy story", None)),
        ("similar to Interstellar", LikeRequest("Interstellar", None)),
        ("anime like Spirited Away", LikeRequest("Spirited Away", MOVIE)),
        ("Like Stars on Earth", None),
        ("Some Like It Hot", None),
        ("movies like", None),
        ("feel-good films", None),
    ],
)
def test_like_requests_name_their_reference_and_the_type_asked_for(query: str, request_: LikeRequest | None) -> None:
    assert understanding.like_request(query) == request_


def test_a_query_knows_words_when_the_catalogue_holds_one_of_them() -> None:
    assert understanding.knows_words([("zzzzqqq", 0), ("home", 12)]) is True
    assert understanding.knows_words([("zzzzqqq", 0), ("jkl", 0)]) is False
    assert understanding.knows_words([]) is False


def test_the_hint_quotes_the_query_with_its_spaces_tidied() -> None:
    assert understanding.no_results_hint("  zzzz   qqq ") == "Nothing close enough to 'zzzz qqq'; try other words."


# ----- fusing and cutting -----------------------------------------------------------------------


def test_weighted_fusion_lets_meaning_lead_over_a_word_match_alone() -> None:
    meaning = [Candidate(MOVIE, 1, 0.5, 0.5), Candidate(MOVIE, 2, 0.4, 0.4), Candidate(MOVIE, 3, 0.3, 0.3)]
    words = [Candidate(MOVIE, 9, 2.0, 0.1), Candidate(MOVIE, 3, 1.5, 0.3)]

    descriptive = search_service.fuse([(meaning, 1.0), (words, 0.3)])
    equal = search_service.fuse([(meaning, 1.0), (words, 1.0)])

    # Item 3: 1/63 + 0.3/62 = 0.02071 beats item 1's 1/61 = 0.01639; item 9 (0.3/61) comes last.
    assert descriptive == [(MOVIE, 3, 0.3), (MOVIE, 1, 0.5), (MOVIE, 2, 0.4), (MOVIE, 9, 0.1)]
    # With equal weights the word match alone (1/61) ties meaning's first and wins on... nothing:
    # the tie goes to the closer item, and item 9 still outranks item 2.
    assert equal == [(MOVIE, 3, 0.3), (MOVIE, 1, 0.5), (MOVIE, 9, 0.1), (MOVIE, 2, 0.4)]


def test_a_list_of_weight_zero_adds_nothing() -> None:
    names = [Candidate(BOOK, 7, 1.0, 0.2)]

    assert search_service.fuse([([Candidate(MOVIE, 1, 0.5, 0.5)], 1.0), (names, 0.0)]) == [(MOVIE, 1, 0.5)]


def test_a_look_up_keeps_only_the_titles_or_people_it_names_closest_first() -> None:
    names = [
        NameMatch(MOVIE, 1, 0.85, 0.36, title_match=0.1, person_match=0.85),  # Satyajit Ray's film
        NameMatch(MOVIE, 2, 0.85, 0.44, title_match=0.0, person_match=0.85),  # another, closer in meaning
        NameMatch(MOVIE, 3, 0.31, 0.50, title_match=0.0, person_match=0.31),  # Aishwarya Rai's film
        NameMatch(MOVIE, 4, 0.9, 0.2, title_match=0.9, person_match=0.0),
    ]

    assert [n.item_id for n in search_service.looked_up_items(names, QueryKind.PERSON)] == [2, 1]
    assert [n.item_id for n in search_service.looked_up_items(names, QueryKind.TITLE)] == [4]
    assert search_service.looked_up_items(names, QueryKind.DESCRIPTIVE) == []


def test_of_titles_holding_the_whole_query_the_one_most_like_it_comes_first() -> None:
    names = [
        NameMatch(MOVIE, 3, 1.0, 0.62, title_match=1.0, person_match=0.0, whole_title_match=0.77),  # Toy Story 3
        NameMatch(MOVIE, 1, 1.0, 0.55, title_match=1.0, person_match=0.0, whole_title_match=1.0),  # Toy Story
        NameMatch(MOVIE, 2, 1.0, 0.58, title_match=1.0, person_match=0.0, whole_title_match=0.77),  # Toy Story 2
        NameMatch(MOVIE, 9, 0.7, 0.70, title_match=0.7, person_match=0.0, whole_title_match=0.5),  # Tokyo Story
    ]

    assert [n.item_id for n in search_service.looked_up_items(names, QueryKind.TITLE)] == [1, 3, 2, 9]


def test_the_floor_drops_distant_hits_unless_named_or_without_a_vector() -> None:
    fused = [(MOVIE, 1, 0.5), (MOVIE, 2, 0.2), (BOOK, 3, None), (BOOK, 4, 0.1)]

    kept = search_service.above_floor(fused, floor=0.35, looked_up={(BOOK, 4)})

    assert kept == [(MOVIE, 1, 0.5), (BOOK, 3, None), (BOOK, 4, 0.1)]


def test_description_words_are_looked_for_outside_titles() -> None:
    query = search_service.full_text_query([("home", 12), ("astronaut", 3)], 10_000, sections="BCD")

    assert query == FullTextQuery(
        all_words="'home':BCD & 'astronaut':BCD",
        any_word="('home':BCD & 'astronaut':BCD) | 'home':BCD | 'astronaut':BCD",
    )


# ----- over the demo catalogue ------------------------------------------------------------------


async def answer(client: httpx.AsyncClient, **params) -> dict:
    response = await client.get("/search/semantic", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def titles(client: httpx.AsyncClient, **params) -> list[str]:
    return [item["title"] for item in (await answer(client, **params))["items"]]


async def test_a_description_is_answered_by_meaning_not_by_a_title_word(catalogue_client: httpx.AsyncClient) -> None:
    found = await titles(catalogue_client, q="astronauts looking for a new home", type="movie", limit=3)

    assert "Interstellar" in found
    assert "Home Alone" not in found


async def test_a_book_about_space_is_not_the_jungle_book(catalogue_client: httpx.AsyncClient) -> None:
    found = await titles(catalogue_client, q="a book about space exploration", type="book", limit=10)

    assert found[0] == "Cosmos"
    assert "The Jungle Book" not in found


async def test_a_misspelt_director_finds_that_director_not_a_namesake(catalogue_client: httpx.AsyncClient) -> None:
    items = (await answer(catalogue_client, q="Satyajit Rai", limit=5))["items"]

    assert [item["directors"] for item in items] == [["Satyajit Ray"]] * 5
    assert not any("Aishwarya Rai" in item["cast"] for item in items)


async def test_movies_like_a_title_answer_the_films_closest_to_it(
    catalogue_client: httpx.AsyncClient, catalogue_conn, embedder: Embedder
) -> None:
    row = await (await catalogue_conn.execute("SELECT id FROM movies WHERE title = 'Drishyam'")).fetchone()
    similar = await search_service.similar_to(
        catalogue_conn, embedder=embedder, item_type=MOVIE, item_id=row["id"], target_type=MOVIE, limit=5
    )

    items = (await answer(catalogue_client, q="movies like Drishyem", limit=5))["items"]

    assert similar is not None
    assert [item["id"] for item in items] == [hit.id for hit in similar]
    assert row["id"] not in [item["id"] for item in items]
    assert {item["item_type"] for item in items} == {"movie"}


async def test_a_like_query_naming_no_title_is_searched_as_it_is(catalogue_client: httpx.AsyncClient) -> None:
    found = await titles(catalogue_client, q="something like a heist that goes wrong", type="movie", limit=10)

    assert found
    assert "Some Like It Hot" not in found[:3]


@pytest.mark.parametrize("query", ["zzzzqqq", "asdf jkl", "qwerty uiop"])
async def test_nonsense_finds_nothing_and_says_so(catalogue_client: httpx.AsyncClient, query: str) -> None:
    body = await answer(catalogue_client, q=query)

    assert body["items"] == []
    assert body["hint"] == f"Nothing close enough to '{query}'; try other words."


async def test_an_answer_with_results_has_no_hint(catalogue_client: httpx.AsyncClient) -> None:
    body = await answer(catalogue_client, q="Drishyam", limit=1)

    assert [item["title"] for item in body["items"]] == ["Drishyam"]
    assert body["hint"] is None


async def test_a_threshold_above_the_floor_still_cuts(catalogue_client: httpx.AsyncClient) -> None:
    body = await answer(catalogue_client, q="dinosaurs escape in an island theme park", threshold=0.5, limit=50)

    # The film and the novel it adapts.
    assert [(item["item_type"], item["title"]) for item in body["items"]] == [
        ("movie", "Jurassic Park"),
        ("book", "Jurassic Park"),
    ]
    assert all(item["similarity"] >= 0.5 for item in body["items"])


async def test_a_500_character_query_is_answered_within_a_second(catalogue_client: httpx.AsyncClient) -> None:
    query = ("a family drama set in Kerala about an old house and three brothers " * 8)[:500]
    await answer(catalogue_client, q="warm up the model")

    started = time.perf_counter()
    body = await answer(catalogue_client, q=query, limit=5)
    elapsed = time.perf_counter() - started

    assert len(body["items"]) == 5
    assert elapsed < 1.0


@pytest.mark.parametrize(
    "query", ["भूत बंगला", "காதல் கதை", "🚀👨‍🚀🌌", "فيلم عن الفضاء", "סרט על חלל", "  \u200f\u200e x  "]
)
async def test_queries_in_any_script_are_answered(catalogue_client: httpx.AsyncClient, query: str) -> None:
    body = await answer(catalogue_client, q=query)

    assert isinstance(body["items"], list)
    assert (body["hint"] is None) == bool(body["items"])


def test_indian_words_in_latin_script_are_glossed_in_english() -> None:
    assert understanding.glossed("prem kahani") == "prem kahani (love story)"
    assert understanding.glossed("Bhoot movie") == "Bhoot movie (ghost)"
    assert understanding.glossed("astronauts looking for a new home") == "astronauts looking for a new home"


async def test_a_hindi_word_finds_films_about_what_it_means(catalogue_client: httpx.AsyncClient) -> None:
    ghosts = await titles(catalogue_client, q="bhoot", type="movie", limit=3)
    love_stories = await titles(catalogue_client, q="prem kahani", type="movie", limit=3)

    assert {"Bhooter Bhabishyat", "Sardaar Ji"} <= set(ghosts)
    assert {"96", "Premam"} <= set(love_stories)


# ----- items without a description --------------------------------------------------------------


async def add_undescribed_movie(conn, embedder: Embedder, title: str) -> int:
    """A film known only by its title, year and genre (as MovieLens films are), embedded."""
    row = await (
        await conn.execute(
            "INSERT INTO movies (title, year, genres) VALUES (%s, 1992, '{Comedy}') "
            "RETURNING id, document, md5(document) AS content_hash",
            (title,),
        )
    ).fetchone()
    [vector] = embedder.embed_documents([row["document"]])
    rows = [(row["id"], row["content_hash"], vector)]
    assert await search_repository.store_embeddings(conn, MOVIE, model=embedder.model_name, rows=rows) == 1
    await search_repository.refresh_vocabulary(conn)  # as embedding does, so that its title is a known word
    return row["id"]


async def test_an_undescribed_item_ranks_by_its_similarity_less_the_penalty(catalogue_conn, embedder: Embedder) -> None:
    toys = await add_undescribed_movie(catalogue_conn, embedder, "Toys")
    vector = embedder.embed_query("toys that come alive")

    async def nearest(penalty: float) -> list[tuple[str, float, float]]:
        found = await search_repository.nearest(
            catalogue_conn, [MOVIE], vector=vector, model=embedder.model_name, limit=3, undescribed_penalty=penalty
        )
        names = {c.item_id: await title_of(catalogue_conn, c.item_id) for c in found}
        return [(names[c.item_id], round(c.similarity, 2), round(c.score, 2)) for c in found]

    described = await (
        await catalogue_conn.execute(
            "SELECT movie_id, described FROM movie_embeddings WHERE movie_id IN (%s, %s)",
            (toys, await movie_id(catalogue_conn, "Toy Story 3")),
        )
    ).fetchall()

    assert {row["movie_id"]: row["described"] for row in described} == {
        toys: False,
        await movie_id(catalogue_conn, "Toy Story 3"): True,
    }
    assert await nearest(0.0) == [("Toys", 0.53, 0.53), ("Toy Story 3", 0.47, 0.47), ("Toy Story", 0.42, 0.42)]
    assert await nearest(0.1) == [("Toy Story 3", 0.47, 0.47), ("Toys", 0.53, 0.43), ("Toy Story", 0.42, 0.42)]


async def test_a_description_ranks_described_items_first_and_a_title_look_up_still_finds_the_title(
    catalogue_client: httpx.AsyncClient, catalogue_conn, embedder: Embedder
) -> None:
    await add_undescribed_movie(catalogue_conn, embedder, "Toys")

    described_first = await answer(catalogue_client, q="toys that come alive", type="movie", mode="hybrid", limit=4)
    by_similarity = await answer(catalogue_client, q="toys that come alive", type="movie", mode="vector", limit=1)
    looked_up = await titles(catalogue_client, q="Toys", type="movie", limit=1)

    assert [(i["title"], round(i["similarity"], 2)) for i in described_first["items"]] == [
        ("Toy Story 3", 0.47),
        ("Toy Story", 0.42),
        ("Toy Story 2", 0.37),
        ("Toys", 0.53),
    ]
    assert [i["title"] for i in by_similarity["items"]] == ["Toys"]
    assert looked_up == ["Toys"]


async def test_filtered_neighbours_are_the_exact_nearest_of_the_items_the_filter_keeps(
    catalogue_conn, embedder: Embedder
) -> None:
    vector = embedder.embed_query("a village wedding")

    found = await search_repository.nearest(
        catalogue_conn,
        [MOVIE],
        vector=vector,
        model=embedder.model_name,
        limit=5,
        filters=SearchFilters(language="hi", year_from=1990),
    )
    exact = await (
        await catalogue_conn.execute(
            """SELECT m.id FROM movies m JOIN movie_embeddings e ON e.movie_id = m.id
            WHERE m.original_language = 'hi' AND m.year >= 1990
            ORDER BY e.embedding <=> %s, m.id LIMIT 5""",
            (vector,),
        )
    ).fetchall()

    assert [c.item_id for c in found] == [row["id"] for row in exact]
    assert len(found) == 5


async def title_of(conn, item_id: int) -> str:
    row = await (await conn.execute("SELECT title FROM movies WHERE id = %s", (item_id,))).fetchone()
    return row["title"]


async def movie_id(conn, title: str) -> int:
    row = await (await conn.execute("SELECT id FROM movies WHERE title = %s", (title,))).fetchone()
    return row["id"]
