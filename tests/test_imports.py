"""POST /me/imports and its neighbours: histories from Letterboxd, IMDb and Goodreads become
ratings and wants, against a real database; bad files are refused with nothing stored."""

import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from cinelibre.database.connection import Connection
from cinelibre.imports import service
from cinelibre.recommend import model_repository
from cinelibre.recommend import repository as recommend_repository
from cinelibre.recommend.training import CLICK_WEIGHT, IMPLICIT_WEIGHTS
from tests.factories import add_book, add_movie, register

SAMPLES = Path(__file__).parent / "data" / "imports"
LETTERBOXD_RATINGS_HEADER = "Date,Name,Year,Letterboxd URI,Rating\n"


def letterboxd_zip() -> bytes:
    """The sample Letterboxd export as the service hands it out: one ZIP of its CSVs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("ratings.csv", "watched.csv", "watchlist.csv"):
            archive.writestr(name, (SAMPLES / "letterboxd" / name).read_bytes())
    return buffer.getvalue()


def letterboxd_ratings(*rows: str) -> bytes:
    return (LETTERBOXD_RATINGS_HEADER + "".join(f"{row}\n" for row in rows)).encode()


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], source: str, filename: str, data: bytes
) -> httpx.Response:
    return await client.post(
        "/me/imports", params={"source": source}, headers=headers, files={"file": (filename, data, "text/csv")}
    )


async def imported(
    client: httpx.AsyncClient, headers: dict[str, str], source: str, filename: str, data: bytes
) -> dict[str, Any]:
    response = await upload(client, headers, source, filename, data)
    assert response.status_code == 201, response.text
    return response.json()


async def my_ratings(conn: Connection, headers_user_email: str = "reader@example.com") -> dict[str, float]:
    """The user's ratings by item title."""
    rows = await (
        await conn.execute(
            """SELECT coalesce(m.title, b.title) AS title, r.rating::float8 AS rating
            FROM ratings r JOIN users u ON u.id = r.user_id
            LEFT JOIN movies m ON m.id = r.movie_id LEFT JOIN books b ON b.id = r.book_id
            WHERE u.email = %s""",
            (headers_user_email,),
        )
    ).fetchall()
    return {row["title"]: row["rating"] for row in rows}


async def my_wants(conn: Connection, email: str = "reader@example.com") -> list[str]:
    rows = await (
        await conn.execute(
            """SELECT coalesce(m.title, b.title) AS title FROM interactions i JOIN users u ON u.id = i.user_id
            LEFT JOIN movies m ON m.id = i.movie_id LEFT JOIN books b ON b.id = i.book_id
            WHERE u.email = %s AND i.kind = 'want' ORDER BY title""",
            (email,),
        )
    ).fetchall()
    return [row["title"] for row in rows]


async def stored_counts(conn: Connection) -> dict[str, int]:
    row = await (
        await conn.execute(
            """SELECT (SELECT count(*) FROM ratings) AS ratings, (SELECT count(*) FROM interactions) AS interactions,
                      (SELECT count(*) FROM history_imports) AS imports,
                      (SELECT coalesce(sum(rating_count), 0) FROM movies) AS movie_rating_count,
                      (SELECT coalesce(sum(rating_count), 0) FROM books) AS book_rating_count"""
        )
    ).fetchone()
    assert row is not None
    return dict(row)


async def aggregates(conn: Connection, table: str, item_id: int) -> tuple[int, float | None]:
    row = await (
        await conn.execute(
            f"SELECT rating_count, average_rating::float8 AS average FROM {table} WHERE id = %s", (item_id,)
        )
    ).fetchone()
    assert row is not None
    return row["rating_count"], row["average"]


async def test_a_letterboxd_export_becomes_ratings_and_wants(client: httpx.AsyncClient, conn: Connection) -> None:
    headers = await register(client)
    kahaani = await add_movie(conn, title="Kahaani", year=2012)
    await add_movie(conn, title="Drishyam", year=2015)
    # Two years off the row's 2015: not the film the row means.
    await add_movie(conn, title="Drishyam", year=2013)
    await add_movie(conn, title="Gangs of Wasseypur", year=2012)
    await add_movie(conn, title="Talvar", year=2015)
    # Only in watched.csv, without a rating: neither a rating nor a want.
    await add_movie(conn, title="Andhadhun", year=2018)

    answer = await imported(client, headers, "letterboxd", "letterboxd-export.zip", letterboxd_zip())

    assert {k: v for k, v in answer.items() if k not in ("import_id", "created_at")} == {
        "source": "letterboxd",
        "rows": 8,
        "matched": 5,
        "ambiguous": [],
        "not_found": [
            {"row": 5, "file": "ratings.csv", "title": "Monsters, Inc.", "year": 2001, "authors": []},
            {"row": 6, "file": "ratings.csv", "title": "+1", "year": 2013, "authors": []},
            {"row": 4, "file": "watchlist.csv", "title": "Paani", "year": None, "authors": []},
        ],
        "ratings_added": 3,
        "ratings_updated": 0,
        "wants_added": 2,
    }
    assert await my_ratings(conn) == {"Kahaani": 4.5, "Drishyam": 5.0, "Gangs of Wasseypur": 3.5}
    assert await my_wants(conn) == ["Kahaani", "Talvar"]
    assert await aggregates(conn, "movies", kahaani) == (1, 4.5)


async def test_an_imdb_export_matches_films_by_their_imdb_id(client: httpx.AsyncClient, conn: Connection) -> None:
    headers = await register(client)
    await add_movie(conn, title="Kahaani", year=2012, imdb_id="tt9900001")
    await add_movie(conn, title="Drishyam", year=2015, imdb_id="tt9900002")
    # The row's title ("The Untitled Sequel") shares nothing with this one: the id alone matches it.
    await add_movie(conn, title="Ek Aur Kahani", year=2019, imdb_id="tt9900003")
    await add_movie(conn, title="Talvar", year=2015, imdb_id="tt9900005")

    answer = await imported(client, headers, "imdb", "ratings.csv", (SAMPLES / "imdb_ratings.csv").read_bytes())

    assert (answer["rows"], answer["matched"], answer["ambiguous"]) == (5, 4, [])
    assert answer["not_found"] == [
        {"row": 5, "file": "ratings.csv", "title": "Sacred Games", "year": 2018, "authors": []}
    ]
    assert (answer["ratings_added"], answer["ratings_updated"], answer["wants_added"]) == (4, 0, 0)
    # IMDb's ten-point ratings halved: 9 -> 4.5, 7 -> 3.5, 1 -> 0.5, 6 -> 3.
    assert await my_ratings(conn) == {"Kahaani": 4.5, "Drishyam": 3.5, "Ek Aur Kahani": 0.5, "Talvar": 3.0}


async def test_a_goodreads_export_matches_books_by_isbn_then_title_and_author(
    client: httpx.AsyncClient, conn: Connection
) -> None:
    headers = await register(client)
    guide = await add_book(conn, title="The Guide", authors=["R. K. Narayan"], isbn13="9780141000022")
    await add_book(conn, title="Train to Pakistan", authors=["Khushwant Singh"])
    # The same title by another writer is not the row's book.
    await add_book(conn, title="Train to Pakistan", authors=["Margaret Bourke-White"])
    await add_book(conn, title="Q & A", authors=["Vikas Swarup"])
    await add_book(conn, title="The White Tiger", authors=["Aravind Adiga"])
    await add_book(conn, title="Devdas", authors=["Sarat Chandra Chattopadhyay"], isbn13="9789354000126")

    answer = await imported(
        client,
        headers,
        "goodreads",
        "goodreads_library_export.csv",
        (SAMPLES / "goodreads_library_export.csv").read_bytes(),
    )

    # The White Tiger is on the currently-reading shelf, unrated: neither a rating nor a want.
    assert (answer["rows"], answer["matched"], answer["ambiguous"], answer["not_found"]) == (4, 4, [], [])
    assert (answer["ratings_added"], answer["ratings_updated"], answer["wants_added"]) == (3, 0, 1)
    assert await my_ratings(conn) == {"The Guide": 5.0, "Train to Pakistan": 4.0, "Devdas": 3.0}
    assert await my_wants(conn) == ["Q & A"]
    assert await aggregates(conn, "books", guide) == (1, 5.0)
    khushwant = await (
        await conn.execute("SELECT rating_count FROM books WHERE 'Khushwant Singh' = ANY(authors)")
    ).fetchone()
    assert khushwant == {"rating_count": 1}


async def test_importing_the_same_file_twice_changes_nothing(client: httpx.AsyncClient, conn: Connection) -> None:
    headers = await register(client)
    kahaani = await add_movie(conn, title="Kahaani", year=2012)
    for title, year in [("Drishyam", 2015), ("Gangs of Wasseypur", 2012), ("Talvar", 2015)]:
        await add_movie(conn, title=title, year=year)
    first = await imported(client, headers, "letterboxd", "export.zip", letterboxd_zip())
    after_first = await stored_counts(conn)

    second = await imported(client, headers, "letterboxd", "export.zip", letterboxd_zip())

    assert (first["ratings_added"], first["wants_added"]) == (3, 2)
    assert (second["matched"], second["ratings_added"], second["ratings_updated"], second["wants_added"]) == (
        5,
        0,
        0,
        0,
    )
    assert await stored_counts(conn) == {**after_first, "imports": after_first["imports"] + 1}
    assert await aggregates(conn, "movies", kahaani) == (1, 4.5)


async def test_a_rating_made_here_later_is_kept_and_an_older_one_is_updated(
    client: httpx.AsyncClient, conn: Connection
) -> None:
    headers = await register(client)
    later = await add_movie(conn, title="Kahaani", year=2012)
    older = await add_movie(conn, title="Drishyam", year=2015)
    undated = await add_movie(conn, title="Talvar", year=2015, imdb_id="tt9900005")
    for film in (later, older, undated):
        response = await client.post(
            "/ratings", headers=headers, json={"item_id": film, "item_type": "movie", "rating": 2}
        )
        assert response.status_code == 201
    # The rating of Drishyam was last set here before the export's row (2023-02-03).
    await conn.execute("UPDATE ratings SET updated_at = '2023-01-01T00:00:00Z' WHERE item_id = %s", (older,))

    answer = await imported(
        client,
        headers,
        "letterboxd",
        "ratings.csv",
        letterboxd_ratings("2023-01-14,Kahaani,2012,u,4.5", "2023-02-03,Drishyam,2015,u,5"),
    )
    # IMDb's Talvar row (6/10) has no date: it never replaces a rating.
    undated_answer = await imported(client, headers, "imdb", "ratings.csv", (SAMPLES / "imdb_ratings.csv").read_bytes())

    assert (answer["matched"], answer["ratings_added"], answer["ratings_updated"]) == (2, 0, 1)
    # Its Kahaani and Drishyam rows (matched by title) are dated before the ratings set here since.
    assert (undated_answer["matched"], undated_answer["ratings_added"], undated_answer["ratings_updated"]) == (3, 0, 0)
    assert await my_ratings(conn) == {"Kahaani": 2.0, "Drishyam": 5.0, "Talvar": 2.0}
    assert await aggregates(conn, "movies", older) == (1, 5.0)
    assert await aggregates(conn, "movies", later) == (1, 2.0)


async def ambiguous_devdas(
    client: httpx.AsyncClient, conn: Connection, headers: dict[str, str]
) -> tuple[dict, int, int]:
    """An import whose row "Devdas" (no year) could be either of two films."""
    old = await add_movie(conn, title="Devdas", year=1955)
    new = await add_movie(conn, title="Devdas", year=2002)
    answer = await imported(
        client,
        headers,
        "letterboxd",
        "ratings.csv",
        letterboxd_ratings("2023-01-15,Devdas,,u,4", "2023-01-16,Kahaani,2012,u,3"),
    )
    return answer, old, new


async def test_rows_matching_several_films_wait_for_a_choice(client: httpx.AsyncClient, conn: Connection) -> None:
    headers = await register(client)
    await add_movie(conn, title="Kahaani", year=2012)
    answer, old, new = await ambiguous_devdas(client, conn, headers)

    assert (answer["rows"], answer["matched"], answer["ratings_added"], answer["not_found"]) == (2, 1, 1, [])
    assert answer["ambiguous"] == [
        {
            "row": 2,
            "file": "ratings.csv",
            "title": "Devdas",
            "year": None,
            "authors": [],
            "rating": 4.0,
            "want": False,
            "candidates": [
                {"item_type": "movie", "id": old, "title": "Devdas", "year": 1955, "authors": []},
                {"item_type": "movie", "id": new, "title": "Devdas", "year": 2002, "authors": []},
            ],
        }
    ]

    resolved = await client.post(
        f"/me/imports/{answer['import_id']}/resolve",
        headers=headers,
        json={"choices": [{"row": 2, "file": "ratings.csv", "item_id": new}]},
    )

    assert resolved.status_code == 200, resolved.text
    assert {k: resolved.json()[k] for k in ("rows", "matched", "ambiguous", "not_found", "ratings_added")} == {
        "rows": 2,
        "matched": 2,
        "ambiguous": [],
        "not_found": [],
        "ratings_added": 2,
    }
    assert await my_ratings(conn) == {"Kahaani": 3.0, "Devdas": 4.0}
    assert await aggregates(conn, "movies", new) == (1, 4.0)
    assert await aggregates(conn, "movies", old) == (0, None)
    listed = (await client.get("/me/imports", headers=headers)).json()["items"]
    assert listed == [resolved.json()]


async def test_a_skipped_ambiguous_row_moves_to_not_found(client: httpx.AsyncClient, conn: Connection) -> None:
    headers = await register(client)
    answer, _, _ = await ambiguous_devdas(client, conn, headers)

    resolved = await client.post(
        f"/me/imports/{answer['import_id']}/resolve",
        headers=headers,
        json={"choices": [{"row": 2, "file": "ratings.csv", "item_id": None}]},
    )

    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["matched"], body["ambiguous"], body["ratings_added"]) == (0, [], 0)
    # Kahaani is not in this catalogue: the import found nothing for it.
    assert body["not_found"] == [
        {"row": 3, "file": "ratings.csv", "title": "Kahaani", "year": 2012, "authors": []},
        {"row": 2, "file": "ratings.csv", "title": "Devdas", "year": None, "authors": []},
    ]
    assert await my_ratings(conn) == {}


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        (
            {"row": 3, "file": "ratings.csv", "item_id": None},
            "Row 3 of ratings.csv is not awaiting a choice in this import.",
        ),
        (
            {"row": 2, "file": "watched.csv", "item_id": None},
            "Row 2 of watched.csv is not awaiting a choice in this import.",
        ),
        (
            {"row": 2, "file": "ratings.csv", "item_id": 999999},
            "Item 999999 is not among the candidates of row 2 of ratings.csv.",
        ),
    ],
)
async def test_a_choice_for_a_row_not_waiting_or_an_item_not_offered_is_refused(
    client: httpx.AsyncClient, conn: Connection, choice: dict[str, Any], message: str
) -> None:
    headers = await register(client)
    answer, _, _ = await ambiguous_devdas(client, conn, headers)
    before = await stored_counts(conn)

    response = await client.post(
        f"/me/imports/{answer['import_id']}/resolve", headers=headers, json={"choices": [choice]}
    )

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": message,
        "details": [{"field": "choices", "message": message}],
    }
    assert await stored_counts(conn) == before
    listed = (await client.get("/me/imports", headers=headers)).json()["items"]
    assert [len(item["ambiguous"]) for item in listed] == [1]


async def test_a_row_resolved_once_cannot_be_resolved_again(client: httpx.AsyncClient, conn: Connection) -> None:
    headers = await register(client)
    answer, old, new = await ambiguous_devdas(client, conn, headers)
    url = f"/me/imports/{answer['import_id']}/resolve"
    first = await client.post(
        url, headers=headers, json={"choices": [{"row": 2, "file": "ratings.csv", "item_id": new}]}
    )

    again = await client.post(
        url, headers=headers, json={"choices": [{"row": 2, "file": "ratings.csv", "item_id": old}]}
    )

    assert first.status_code == 200
    assert again.status_code == 422
    assert await my_ratings(conn) == {"Devdas": 4.0}


async def test_resolving_an_unknown_or_another_users_import_is_not_found(
    client: httpx.AsyncClient, conn: Connection
) -> None:
    owner = await register(client)
    answer, _, new = await ambiguous_devdas(client, conn, owner)
    other = await register(client, email="other@example.com")
    choices = {"choices": [{"row": 2, "file": "ratings.csv", "item_id": new}]}

    theirs = await client.post(f"/me/imports/{answer['import_id']}/resolve", headers=other, json=choices)
    unknown = await client.post("/me/imports/00000000-0000-4000-8000-000000000000/resolve", headers=owner, json=choices)

    assert theirs.status_code == 404
    assert theirs.json()["error"]["message"] == f"Import {answer['import_id']} does not exist."
    assert unknown.status_code == 404
    assert (await client.get("/me/imports", headers=other)).json() == {"items": []}
    assert await my_ratings(conn, "other@example.com") == {}


async def test_wants_are_stored_once_and_count_like_a_click(client: httpx.AsyncClient, conn: Connection) -> None:
    headers = await register(client)
    talvar = await add_movie(conn, title="Talvar", year=2015)
    kahaani = await add_movie(conn, title="Kahaani", year=2012)
    watchlist = (SAMPLES / "letterboxd" / "watchlist.csv").read_bytes()

    first = await imported(client, headers, "letterboxd", "watchlist.csv", watchlist)
    second = await imported(client, headers, "letterboxd", "watchlist.csv", watchlist)
    sent = await client.post(
        "/interactions", headers=headers, json={"kind": "want", "item_id": talvar, "item_type": "movie"}
    )

    assert (first["matched"], first["wants_added"], second["wants_added"]) == (2, 2, 0)
    assert sent.status_code == 201
    assert await my_wants(conn) == ["Kahaani", "Talvar"]
    user = await (await conn.execute("SELECT id FROM users WHERE email = 'reader@example.com'")).fetchone()
    feedback = await recommend_repository.user_feedback(conn, user["id"], IMPLICIT_WEIGHTS)
    assert sorted((row["item_id"], row["value"], row["times"]) for row in feedback if row["source"] == "view") == [
        (min(talvar, kahaani), CLICK_WEIGHT, 1),
        (max(talvar, kahaani), CLICK_WEIGHT, 1),
    ]
    # Training reads them with the same weight (float4 in its arrays).
    viewed = await model_repository.all_viewed(conn, IMPLICIT_WEIGHTS)
    assert sorted((int(row["item_id"]), float(row["value"])) for row in viewed if row["user_id"] == user["id"]) == [
        (min(talvar, kahaani), pytest.approx(CLICK_WEIGHT)),
        (max(talvar, kahaani), pytest.approx(CLICK_WEIGHT)),
    ]


async def test_a_choice_keeps_a_rating_made_here_after_the_rows_date(
    client: httpx.AsyncClient, conn: Connection
) -> None:
    headers = await register(client)
    answer, _, new = await ambiguous_devdas(client, conn, headers)
    # Rated here now, after the row's date (2023-01-15).
    rated = await client.post("/ratings", headers=headers, json={"item_id": new, "item_type": "movie", "rating": 1})
    assert rated.status_code == 201

    resolved = await client.post(
        f"/me/imports/{answer['import_id']}/resolve",
        headers=headers,
        json={"choices": [{"row": 2, "file": "ratings.csv", "item_id": new}]},
    )

    assert resolved.status_code == 200
    assert {k: resolved.json()[k] for k in ("matched", "ratings_added", "ratings_updated", "ambiguous")} == {
        "matched": 1,
        "ratings_added": 0,
        "ratings_updated": 0,
        "ambiguous": [],
    }
    assert await my_ratings(conn) == {"Devdas": 1.0}
    assert await aggregates(conn, "movies", new) == (1, 1.0)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


BAD_FILES = {
    "another service's export": ("letterboxd", "ratings.csv", (SAMPLES / "imdb_ratings.csv").read_bytes()),
    "missing columns": ("imdb", "ratings.csv", b"Const,Your Rating,Title\ntt9900001,9,Kahaani\n"),
    "not UTF-8": (
        "letterboxd",
        "ratings.csv",
        letterboxd_ratings("2023-01-14,Kahaani,2012,u,4.5") + b"2023-01-15,Caf\xe9,2001,u,3\n",
    ),
    "a formula cell": (
        "letterboxd",
        "ratings.csv",
        letterboxd_ratings('2023-01-14,"=HYPERLINK(""http://x"")",2012,u,4'),
    ),
    "an empty file": ("letterboxd", "ratings.csv", b""),
    "a ZIP without the export's files": ("letterboxd", "export.zip", zipped({"diary.csv": b"Date,Name\n"})),
    "a ZIP bomb": (
        "letterboxd",
        "export.zip",
        zipped({"ratings.csv": LETTERBOXD_RATINGS_HEADER.encode() + b" " * (5 * 1024 * 1024)}),
    ),
}
BAD_FILE_MESSAGES = {
    "another service's export": "ratings.csv: this looks like an IMDb ratings export, not Letterboxd's",
    "missing columns": "ratings.csv lacks the columns 'Date Rated', 'Year' of an IMDb ratings export",
    "not UTF-8": "ratings.csv is not UTF-8 text: line 3 holds the byte 0xe9, which UTF-8 does not allow; "
    "save the file as UTF-8 and upload it again",
    "a formula cell": "ratings.csv, line 2, column Name: the cell starts with '=' as a spreadsheet formula does; "
    "remove it and upload the file again",
    "an empty file": "ratings.csv is empty",
    "a ZIP without the export's files": "export.zip holds none of ratings.csv, watched.csv and watchlist.csv of a "
    "Letterboxd export",
    "a ZIP bomb": "export.zip: ratings.csv expands more than 100 times its packed size, as a ZIP bomb does; "
    "it is refused",
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_a_file_the_import_cannot_read_is_refused_with_nothing_stored(
    client: httpx.AsyncClient, conn: Connection, case: str
) -> None:
    headers = await register(client)
    await add_movie(conn, title="Kahaani", year=2012, imdb_id="tt9900001")
    before = await stored_counts(conn)
    source, filename, data = BAD_FILES[case]

    response = await upload(client, headers, source, filename, data)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": BAD_FILE_MESSAGES[case],
        "details": [{"field": "file", "message": BAD_FILE_MESSAGES[case]}],
    }
    assert await stored_counts(conn) == before


async def test_a_failure_after_rows_were_stored_stores_nothing(
    client: httpx.AsyncClient, conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await register(client)
    await add_movie(conn, title="Kahaani", year=2012)
    await add_movie(conn, title="Talvar", year=2015)
    before = await stored_counts(conn)

    async def failing_insert(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the import's own row could not be written")

    # Ratings and wants are written by then; recording the import fails (the test client raises
    # what the server answers 500 to).
    monkeypatch.setattr(service.repository, "insert", failing_insert)
    with pytest.raises(RuntimeError, match="the import's own row could not be written"):
        await upload(client, headers, "letterboxd", "export.zip", letterboxd_zip())

    assert await stored_counts(conn) == before


async def test_a_request_or_a_file_over_twenty_megabytes_is_too_large(
    client: httpx.AsyncClient, conn: Connection
) -> None:
    headers = await register(client)
    before = await stored_counts(conn)
    past_the_body_limit = b"x" * (20 * 1024 * 1024 + 64 * 1024 + 1)
    # Within the body's allowance for the multipart framing, but one byte over the file's limit.
    one_byte_over = b"x" * (20 * 1024 * 1024 + 1)

    body = await upload(client, headers, "letterboxd", "ratings.csv", past_the_body_limit)
    file = await upload(client, headers, "letterboxd", "ratings.csv", one_byte_over)

    assert body.status_code == 413
    assert body.json()["error"] == {
        "code": "payload_too_large",
        "message": f"The request body is larger than {20 * 1024 * 1024 + 64 * 1024} bytes.",
        "details": [],
    }
    assert file.status_code == 413
    assert file.json()["error"] == {
        "code": "payload_too_large",
        "message": "The file is larger than 20 MB.",
        "details": [{"field": "file", "message": "The file is larger than 20 MB."}],
    }
    assert await stored_counts(conn) == before


async def test_other_routes_keep_the_ordinary_body_limit(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    padding = "x" * (64 * 1024)

    rating = await client.post("/ratings", headers=headers, content=f'{{"pad": "{padding}"}}')
    resolve = await client.post(
        "/me/imports/00000000-0000-4000-8000-000000000000/resolve", headers=headers, content=f'{{"pad": "{padding}"}}'
    )

    for response in (rating, resolve):
        assert response.status_code == 413
        assert response.json()["error"]["message"] == "The request body is larger than 65536 bytes."


@pytest.mark.parametrize(
    ("params", "files", "field"),
    [
        ({"source": "netflix"}, {"file": ("ratings.csv", b"Date\n", "text/csv")}, "query.source"),
        ({}, {"file": ("ratings.csv", b"Date\n", "text/csv")}, "query.source"),
        ({"source": "imdb"}, {"other": ("ratings.csv", b"Date\n", "text/csv")}, "body.file"),
    ],
)
async def test_an_upload_without_a_known_source_or_a_file_is_refused(
    client: httpx.AsyncClient, conn: Connection, params: dict[str, str], files: dict[str, Any], field: str
) -> None:
    headers = await register(client)
    before = await stored_counts(conn)

    response = await client.post("/me/imports", params=params, headers=headers, files=files)

    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [field]
    assert await stored_counts(conn) == before


async def test_the_import_routes_need_a_token(client: httpx.AsyncClient) -> None:
    choices = {"choices": [{"row": 2, "file": "ratings.csv", "item_id": 1}]}

    answers = [
        await client.post("/me/imports", params={"source": "imdb"}, files={"file": ("r.csv", b"x", "text/csv")}),
        await client.get("/me/imports"),
        await client.post("/me/imports/00000000-0000-4000-8000-000000000000/resolve", json=choices),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert {a.json()["error"]["code"] for a in answers} == {"not_authenticated"}


@pytest.mark.parametrize(
    ("candidates", "decision"),
    [
        ([], (None, [])),
        ([{"id": 1, "score": 0.62}], (1, [])),
        ([{"id": 1, "score": 0.59}], (None, [1])),
        ([{"id": 2, "score": 0.619}, {"id": 1, "score": 1.0}], (1, [])),
        ([{"id": 1, "score": 1.0}, {"id": 2, "score": 0.95}], (None, [1, 2])),
        ([{"id": i, "score": 0.9} for i in range(7, 0, -1)], (None, [1, 2, 3, 4, 5])),
    ],
)
def test_a_clear_best_title_match_is_taken_and_close_ones_are_offered(
    candidates: list[dict[str, Any]], decision: tuple[int | None, list[int]]
) -> None:
    match, offered = service.decide(candidates)

    assert (match["id"] if match else None, [c["id"] for c in offered]) == decision


@pytest.mark.parametrize(
    ("title", "looked_up"),
    [
        ("The Fellowship of the Ring (The Lord of the Rings, #1)", "The Fellowship of the Ring"),
        ("Dune (Dune #1.5)", "Dune"),
        ("Q & A", "Q & A"),
        ("Midnight's Children (Oxford)", "Midnight's Children (Oxford)"),
    ],
)
def test_a_series_in_brackets_is_left_out_of_the_title_looked_up(title: str, looked_up: str) -> None:
    assert service.matching_title(title) == looked_up


INDIAN_LANGUAGES = {"hi", "ta", "te", "ml", "kn", "bn", "mr", "pa", "gu", "or", "ur", "as"}


async def test_an_imported_taste_shapes_the_next_recommendations(
    catalogue_client: httpx.AsyncClient, catalogue_conn: Connection
) -> None:
    headers = await register(catalogue_client)
    crime = [
        ("Satya", 1998),
        ("Gangs of Wasseypur", 2012),
        ("Vikram Vedha", 2017),
        ("Ratsasan", 2018),
        ("Nayakan", 1987),
        ("Subramaniapuram", 2008),
    ]
    history = letterboxd_ratings(*(f"2024-01-0{n},{title},{year},u,5" for n, (title, year) in enumerate(crime, 1)))
    maqbool = await (await catalogue_conn.execute("SELECT id FROM movies WHERE title = 'Maqbool'")).fetchone()
    assert maqbool is not None
    predict = f"/recommendations/predict/movie/{maqbool['id']}"
    personalized = "/recommendations/personalized"
    params = {"limit": 10, "item_type": "movie"}
    list_before = (await catalogue_client.get(personalized, headers=headers, params=params)).json()["items"]
    predicted_before = (await catalogue_client.get(predict, headers=headers)).json()

    answer = await imported(catalogue_client, headers, "letterboxd", "ratings.csv", history)
    list_after = (await catalogue_client.get(personalized, headers=headers, params=params)).json()["items"]
    predicted_after = (await catalogue_client.get(predict, headers=headers)).json()

    assert (answer["rows"], answer["matched"], answer["ratings_added"]) == (6, 6, 6)
    assert all(item["reason"].startswith("popular") for item in list_before)
    leading = list_after[:5]
    languages = await (
        await catalogue_conn.execute(
            "SELECT id, original_language FROM movies WHERE id = ANY(%s)", ([item["id"] for item in leading],)
        )
    ).fetchall()
    # The list now opens with Indian films, each brought by one of the imported crime films.
    assert {row["original_language"] for row in languages} <= INDIAN_LANGUAGES
    assert {item["reason"] for item in leading} <= {f"because you rated {title} 5★" for title, _ in crime}
    assert list_after[0]["title"] == "Drishyam"
    assert not {item["title"] for item in list_after} & {title for title, _ in crime}
    # Without a trained model the prediction starts from the user's mean, now 5 stars.
    assert predicted_before["method"] == predicted_after["method"] == "baseline"
    assert predicted_before["predicted_rating"] < 5.0
    assert predicted_after["predicted_rating"] == 5.0
