from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from psycopg.rows import dict_row

from cinelibre.database import migrate
from cinelibre.database.connection import Pool, open_pool
from cinelibre.errors import InvalidInputError
from cinelibre.movielens.reader import Layout, open_dataset, parse_title, read_movies, read_tags
from cinelibre.movielens.service import import_and_embed, import_dataset
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from tests.conftest import recreate_database
from tests.factories import add_movie

U_GENRE = "unknown|0\nAction|1\nChildren's|2\nComedy|3\nSci-Fi|4\n\n"
U_ITEM = (
    "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|1|1|0\n"
    "2|Shawshank Redemption, The (1994)|01-Jan-1994||http://x|0|0|0|0|0\n"
    "3|Stargate (1994)|01-Jan-1994||http://x|0|1|0|0|1\n"
)
U_DATA = "1\t1\t5\t881250949\n1\t2\t4\t881250950\n2\t1\t3\t881250951\n2\t3\t2\t881250952\n"

MOVIES_CSV = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    '2,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",Adventure|Drama|Fantasy|Mystery|Sci-Fi\n'
    "3,Babylon 5,Sci-Fi\n"
    "4,Twin Film (2001),(no genres listed)\n"
)
LINKS_CSV = "movieId,imdbId,tmdbId\n1,0114709,862\n2,0112682,902\n3,0105946,\n4,0200000,862\n"
TAGS_CSV = (
    "userId,movieId,tag,timestamp\n"
    "336,1,pixar,1139045764\n"
    "474,1,Pixar,1137206825\n"
    "567,1,fun,1525286013\n"
    "567,1,  toys   come alive ,1525286014\n"
    "161,2,Something for everyone in this one... saw it without kids!,1176498861\n"
    "161,2,dreamlike,1176498862\n"
)
RATINGS_CSV = (
    "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n7,1,0.5,964982224\n7,3,5.0,964983815\n"
)


@pytest.fixture
def ml_100k(tmp_path: Path) -> Path:
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.genre").write_text(U_GENRE, encoding="latin-1")
    (folder / "u.item").write_text(U_ITEM, encoding="latin-1")
    (folder / "u.data").write_text(U_DATA)
    return folder


@pytest.fixture
def ml_csv(tmp_path: Path) -> Path:
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    (folder / "movies.csv").write_text(MOVIES_CSV, encoding="utf-8")
    (folder / "links.csv").write_text(LINKS_CSV)
    (folder / "tags.csv").write_text(TAGS_CSV)
    (folder / "ratings.csv").write_text(RATINGS_CSV)
    return folder


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Toy Story (1995)", ("Toy Story", None, 1995)),
        ("Shawshank Redemption, The (1994)", ("The Shawshank Redemption", None, 1994)),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            ("The City of Lost Children", "La Cité des enfants perdus", 1995),
        ),
        ("Seven (a.k.a. Se7en) (1995)", ("Seven", "Se7en", 1995)),
        ("Ecstasy of Saint Theresa, The (1994) ", ("The Ecstasy of Saint Theresa", None, 1994)),
        ("Babylon 5", ("Babylon 5", None, None)),
        ("Fawlty Towers (1975-1979)", ("Fawlty Towers", None, 1975)),
        ("Ami, L' (1984)", ("L'Ami", None, 1984)),
        ("unknown", ("unknown", None, None)),
    ],
)
def test_titles_split_into_title_alternate_and_year(raw: str, expected: tuple) -> None:
    assert parse_title(raw) == expected


def test_ml_100k_movies_are_read_with_genres_in_catalogue_names(ml_100k: Path) -> None:
    dataset = open_dataset(ml_100k)

    movies = list(read_movies(dataset))

    assert dataset.layout is Layout.ML_100K
    assert dataset.name == "ml-100k"
    assert [(m.movielens_id, m.title, m.year, m.genres) for m in movies] == [
        (1, "Toy Story", 1995, ["Family", "Comedy"]),
        (2, "The Shawshank Redemption", 1994, []),
        (3, "Stargate", 1994, ["Action", "Science Fiction"]),
    ]


def test_folder_without_movielens_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is not a MovieLens folder"):
        open_dataset(tmp_path)


async def test_ml_100k_import_brings_movies_users_and_ratings(conn, ml_100k: Path) -> None:
    report = await import_dataset(conn, open_dataset(ml_100k))

    assert (report.movies_read, report.movies_added, report.users_added, report.ratings_written) == (3, 3, 2, 4)
    rows = await (
        await conn.execute(
            """SELECT m.title, m.movielens_100k_id, m.movielens_id, m.rating_count, m.average_rating::float8 AS avg
            FROM movies m ORDER BY m.movielens_100k_id"""
        )
    ).fetchall()
    assert [tuple(r.values()) for r in rows] == [
        ("Toy Story", 1, None, 2, 4.0),
        ("The Shawshank Redemption", 2, None, 1, 4.0),
        ("Stargate", 3, None, 1, 2.0),
    ]
    users = await (
        await conn.execute("SELECT external_id, email FROM users WHERE imported_from = 'ml-100k' ORDER BY 1")
    ).fetchall()
    assert [(u["external_id"], u["email"]) for u in users] == [(1, None), (2, None)]
    stamp = await (
        await conn.execute("SELECT extract(epoch FROM min(created_at))::bigint AS t FROM ratings")
    ).fetchone()
    assert stamp["t"] == 881250949


async def test_importing_twice_changes_nothing(conn, ml_100k: Path) -> None:
    await import_dataset(conn, open_dataset(ml_100k))
    before = await (await conn.execute("SELECT count(*) AS n, max(xmin::text) AS x FROM ratings")).fetchone()

    again = await import_dataset(conn, open_dataset(ml_100k))

    assert (again.movies_added, again.movies_linked, again.users_added, again.ratings_written) == (0, 0, 0, 0)
    counts = await (
        await conn.execute("SELECT (SELECT count(*) FROM movies) AS movies, (SELECT count(*) FROM users) AS users")
    ).fetchone()
    assert (counts["movies"], counts["users"]) == (3, 2)
    after = await (await conn.execute("SELECT count(*) AS n FROM ratings")).fetchone()
    assert after["n"] == before["n"] == 4


async def test_csv_layout_import_reads_links_and_dedupes_tmdb_ids(conn, ml_csv: Path) -> None:
    report = await import_dataset(conn, open_dataset(ml_csv))

    assert (report.movies_added, report.users_added, report.ratings_written) == (4, 2, 4)
    rows = await (
        await conn.execute(
            "SELECT movielens_id, title, original_title, year, genres, imdb_id, tmdb_id FROM movies ORDER BY 1"
        )
    ).fetchall()
    assert [tuple(r.values()) for r in rows] == [
        (1, "Toy Story", None, 1995, ["Adventure", "Animation", "Family", "Comedy", "Fantasy"], "tt0114709", 862),
        (
            2,
            "The City of Lost Children",
            "La Cité des enfants perdus",
            1995,
            ["Adventure", "Drama", "Fantasy", "Mystery", "Science Fiction"],
            "tt0112682",
            902,
        ),
        (3, "Babylon 5", None, None, ["Science Fiction"], "tt0105946", None),
        (4, "Twin Film", None, 2001, [], "tt0200000", None),
    ]


async def test_import_without_ratings_brings_only_movies(conn, ml_csv: Path) -> None:
    report = await import_dataset(conn, open_dataset(ml_csv), with_ratings=False)

    assert (report.movies_added, report.users_added, report.ratings_written) == (4, 0, 0)
    assert (await (await conn.execute("SELECT count(*) AS n FROM ratings")).fetchone())["n"] == 0


async def test_films_already_in_the_catalogue_are_linked_not_duplicated(conn, ml_csv: Path) -> None:
    by_tmdb = await add_movie(conn, title="Toy Story", year=1995, tmdb_id=862, overview="kept")
    by_title = await add_movie(conn, title="babylon 5")

    report = await import_dataset(conn, open_dataset(ml_csv))

    assert (report.movies_linked, report.movies_added) == (1, 3)
    linked = await (
        await conn.execute("SELECT id, movielens_id, overview FROM movies WHERE id = %s", (by_tmdb,))
    ).fetchone()
    assert (linked["movielens_id"], linked["overview"]) == (1, "kept")
    unlinked = await (await conn.execute("SELECT movielens_id FROM movies WHERE id = %s", (by_title,))).fetchone()
    # Title matching needs the year too: 'Babylon 5' has none, so it stays a separate film.
    assert unlinked["movielens_id"] is None


async def test_real_ml_latest_small_imports_completely_and_idempotently(conn, shared_data: Path) -> None:
    dataset = open_dataset(shared_data / "movielens" / "ml-latest-small")

    first = await import_dataset(conn, dataset)
    second = await import_dataset(conn, dataset)

    assert (first.movies_read, first.movies_added, first.users_added, first.ratings_written) == (
        9742,
        9742,
        610,
        100836,
    )
    assert (second.movies_added, second.users_added, second.ratings_written) == (0, 0, 0)
    toy_story = await (
        await conn.execute(
            "SELECT title, year, tmdb_id, imdb_id, rating_count, tags FROM movies WHERE movielens_id = 1"
        )
    ).fetchone()
    assert tuple(toy_story.values()) == ("Toy Story", 1995, 862, "tt0114709", 215, ["pixar", "fun"])


def test_tags_are_read_lower_cased_most_used_first_without_long_remarks(ml_csv: Path) -> None:
    assert read_tags(ml_csv) == {1: ["pixar", "fun", "toys come alive"], 2: ["dreamlike"]}


async def test_films_known_only_by_title_year_genres_and_tags_get_a_document_of_sentences(conn, ml_csv: Path) -> None:
    await import_dataset(conn, open_dataset(ml_csv), with_ratings=False)

    documents = await (await conn.execute("SELECT movielens_id, document FROM movies ORDER BY 1")).fetchall()

    assert [(row["movielens_id"], row["document"]) for row in documents] == [
        (1, "Toy Story (1995). Adventure, Animation, Family, Comedy, Fantasy film. Tags: pixar, fun, toys come alive."),
        (
            2,
            "The City of Lost Children (La Cité des enfants perdus, 1995). "
            "Adventure, Drama, Fantasy, Mystery, Science Fiction film. Tags: dreamlike.",
        ),
        (3, "Babylon 5. Science Fiction film."),
        (4, "Twin Film (2001). Film."),
    ]


async def test_linked_catalogue_films_gain_the_ids_they_lack_and_keep_those_they_have(conn, ml_csv: Path) -> None:
    toy_story = await add_movie(conn, title="Toy Story", year=1995)
    city = await add_movie(conn, title="The City of Lost Children", year=1995, imdb_id="tt0000001")
    # Linked to MovieLens film 3 already, with the IMDb id links.csv gives Toy Story: ids stay unique.
    holder = await add_movie(conn, title="Babylon 5", imdb_id="tt0114709")
    await conn.execute("UPDATE movies SET movielens_id = 3 WHERE id = %s", (holder,))

    first = await import_dataset(conn, open_dataset(ml_csv), with_ratings=False)
    again = await import_dataset(conn, open_dataset(ml_csv), with_ratings=False)

    assert (first.movies_linked, first.movies_added, first.movies_given_ids) == (2, 1, 2)
    assert (again.movies_linked, again.movies_added, again.movies_given_ids) == (0, 0, 0)
    films = await (
        await conn.execute(
            "SELECT id, movielens_id, tmdb_id, imdb_id, tags FROM movies WHERE id = ANY(%s) ORDER BY id",
            ([toy_story, city, holder],),
        )
    ).fetchall()
    assert [tuple(film.values()) for film in films] == [
        (toy_story, 1, 862, None, ["pixar", "fun", "toys come alive"]),
        (city, 2, 902, "tt0000001", ["dreamlike"]),
        (holder, 3, None, "tt0114709", []),
    ]


@pytest.fixture(scope="session")
def embedding_template(server_url: str) -> str:
    url = recreate_database(server_url, "cinelibre_movielens_template")
    migrate.upgrade_to_head(url)
    return "cinelibre_movielens_template"


@pytest.fixture
async def fresh_pool(server_url: str, embedding_template: str, settings: Settings) -> AsyncIterator[Pool]:
    """A database of its own: the import commits, then embedding commits batch by batch."""
    pool = await open_pool(recreate_database(server_url, "cinelibre_movielens", template=embedding_template), settings)
    yield pool
    await pool.close()


async def missing_embeddings(pool: Pool, embedder: Embedder) -> int:
    async with pool.connection() as conn:
        conn.row_factory = dict_row
        return (await search_service.embedding_status(conn, model=embedder.model_name)).missing


async def test_an_import_embeds_every_film_it_adds(fresh_pool: Pool, embedder: Embedder, ml_csv: Path) -> None:
    run = await import_and_embed(fresh_pool, ml_csv, embedder)

    assert (run.report.movies_added, run.embedded, run.not_embedded) == (4, 4, 0)
    assert await missing_embeddings(fresh_pool, embedder) == 0


async def test_an_import_told_not_to_embed_counts_what_is_left_for_cinelibre_embed(
    fresh_pool: Pool, embedder: Embedder, ml_csv: Path
) -> None:
    run = await import_and_embed(fresh_pool, ml_csv, embedder, embed=False)

    assert (run.report.movies_added, run.embedded, run.not_embedded) == (4, 0, 4)
    assert await missing_embeddings(fresh_pool, embedder) == 4
