"""The fake TMDB / Google Books server answers like the real APIs, and its faults fire as queued."""

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fake_upstream import (
    INDIAN_LANGUAGES,
    TMDB_GENRES,
    FakeUpstream,
    isbn10_check_digit,
    isbn13_check_digit,
    make_books,
    make_movies,
)

API_KEY = "fake-v3-key"
READ_TOKEN = "eyJfake.read.token"
# 200 films over 8 languages: 25 Hindi films, at indexes 0, 8, 16, ...
MOVIES = make_movies(200)
# 30 books over 2 queries: 15 each.
BOOKS = make_books(30)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(movies=MOVIES, books=BOOKS) as server:
        yield server


@pytest.fixture
def client(upstream: FakeUpstream) -> Iterator[httpx.Client]:
    upstream.clear_requests()
    # trust_env=False: a proxy configured in the environment must not intercept 127.0.0.1.
    with httpx.Client(base_url=upstream.base_url, trust_env=False, timeout=5) as http:
        yield http


def tmdb(client: httpx.Client, route: str, timeout: float = 5, **params: object) -> httpx.Response:
    return client.get(f"/tmdb/3{route}", params={"api_key": API_KEY, **params}, timeout=timeout)


def test_generators_are_deterministic_and_well_formed() -> None:
    assert make_movies(200) == MOVIES
    assert make_movies(5, seed=2) != make_movies(5, seed=1)
    assert [m["id"] for m in MOVIES[:3]] == [100001, 100002, 100003]
    assert [m["original_language"] for m in MOVIES[:9]] == [*INDIAN_LANGUAGES, "hi"]
    assert len({m["title"] for m in MOVIES}) == len(MOVIES)
    popularity = [m["popularity"] for m in MOVIES]
    assert popularity == sorted(popularity, reverse=True) and len(set(popularity)) == len(popularity)
    for movie in MOVIES:
        assert movie["imdb_id"].startswith("tt") and len(movie["imdb_id"]) == 9
        assert 80 <= movie["runtime"] <= 190 and 1960 <= int(movie["release_date"][:4]) <= 2025
        assert len(movie["poster_path"]) == 1 + 27 + 4
        assert movie["credits"]["crew"][0]["job"] == "Director"
    assert make_books(30) == BOOKS
    assert [b["_queries"] for b in BOOKS[:3]] == [["subject:fiction"], ["indian literature"], ["subject:fiction"]]
    for book in BOOKS:
        isbn13, isbn10 = (entry["identifier"] for entry in book["volumeInfo"]["industryIdentifiers"])
        assert isbn13.startswith("978") and isbn13[-1] == isbn13_check_digit(isbn13[:12])
        assert isbn10[-1] == isbn10_check_digit(isbn10[:9]) and isbn13[3:12] == isbn10[:9]
    # Known values pin the check-digit arithmetic itself.
    assert isbn13_check_digit("978030640615") == "7"
    assert isbn10_check_digit("030640615") == "2"


def test_discover_pages_by_popularity(client: httpx.Client, upstream: FakeUpstream) -> None:
    hindi_ids = [100001 + 8 * k for k in range(25)]

    first = tmdb(client, "/discover/movie", with_original_language="hi", sort_by="popularity.desc")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    body = first.json()
    assert (body["page"], body["total_results"], body["total_pages"]) == (1, 25, 2)
    assert [film["id"] for film in body["results"]] == hindi_ids[:20]
    summary = body["results"][0]
    assert summary["genre_ids"] == [genre["id"] for genre in MOVIES[0]["genres"]]
    assert summary["title"] == MOVIES[0]["title"] and summary["adult"] is False and "credits" not in summary

    second = tmdb(client, "/discover/movie", with_original_language="hi", page=2).json()
    assert [film["id"] for film in second["results"]] == hindi_ids[20:]
    past_end = tmdb(client, "/discover/movie", with_original_language="hi", page=3).json()
    assert past_end["results"] == [] and past_end["total_results"] == 25

    everything = tmdb(client, "/discover/movie").json()
    assert everything["total_results"] == 200 and everything["total_pages"] == 10

    invalid = tmdb(client, "/discover/movie", with_original_language="hi", page=501)
    assert invalid.status_code == 422 and invalid.json()["status_code"] == 22
    assert upstream.count("/tmdb/3/discover/movie") == 5
    assert upstream.requests[0].query["with_original_language"] == "hi"


def test_movie_details_and_append_to_response(client: httpx.Client, upstream: FakeUpstream) -> None:
    plain = tmdb(client, "/movie/100002").json()
    assert plain["id"] == 100002 and plain["title"] == MOVIES[1]["title"]
    assert "credits" not in plain and "keywords" not in plain

    full = tmdb(client, "/movie/100002", append_to_response="credits,keywords").json()
    assert full["credits"] == MOVIES[1]["credits"] and full["keywords"] == MOVIES[1]["keywords"]

    missing = tmdb(client, "/movie/999")
    assert missing.status_code == 404 and missing.json()["status_code"] == 34

    # The server owns a copy, so a test can edit a film without touching the shared list.
    upstream.movies[100002]["overview"] = "Rewritten."
    try:
        assert tmdb(client, "/movie/100002").json()["overview"] == "Rewritten."
        assert MOVIES[1]["overview"] != "Rewritten."
    finally:
        upstream.movies[100002]["overview"] = MOVIES[1]["overview"]


def test_tmdb_needs_a_key_or_the_read_token(client: httpx.Client, upstream: FakeUpstream) -> None:
    anonymous = client.get("/tmdb/3/genre/movie/list")
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "status_code": 7,
        "status_message": "Invalid API key: You must be granted a valid key.",
        "success": False,
    }
    assert client.get("/tmdb/3/genre/movie/list", params={"api_key": "wrong"}).status_code == 401

    bearer = client.get("/tmdb/3/genre/movie/list", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert bearer.status_code == 200
    assert bearer.json()["genres"] == [{"id": id_, "name": name} for id_, name in TMDB_GENRES]
    assert len(bearer.json()["genres"]) == 19
    assert upstream.requests[-1].headers["authorization"] == f"Bearer {READ_TOKEN}"
    assert upstream.count("/tmdb/3/genre") == 3


def test_books_paging(client: httpx.Client, upstream: FakeUpstream) -> None:
    fiction_ids = sorted(b["id"] for b in BOOKS if b["_queries"] == ["subject:fiction"])

    def volumes(**params: object) -> httpx.Response:
        return client.get("/books/v1/volumes", params=params)

    first = volumes(q="subject:fiction", key="ignored").json()
    assert first["kind"] == "books#volumes" and first["totalItems"] == 15
    assert [item["id"] for item in first["items"]] == fiction_ids[:10]
    assert "_queries" not in first["items"][0]
    assert first["items"][0]["volumeInfo"] == next(b for b in BOOKS if b["id"] == fiction_ids[0])["volumeInfo"]
    assert upstream.requests[-1].query["key"] == "ignored"

    rest = volumes(q="subject:fiction", startIndex=10, maxResults=10).json()
    assert [item["id"] for item in rest["items"]] == fiction_ids[10:]
    past_end = volumes(q="subject:fiction", startIndex=15, maxResults=10).json()
    assert past_end == {"kind": "books#volumes", "totalItems": 15}

    english = volumes(q="subject:fiction", langRestrict="en", maxResults=40).json()
    expected = sorted(
        b["id"] for b in BOOKS if b["_queries"] == ["subject:fiction"] and b["volumeInfo"]["language"] == "en"
    )
    assert [item["id"] for item in english.get("items", [])] == expected and english["totalItems"] == len(expected)

    too_many = volumes(q="subject:fiction", maxResults=41)
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == 400
    no_query = volumes()
    assert no_query.status_code == 400 and no_query.json()["error"]["message"] == "Missing query."


def test_fault_with_retry_after_is_served_once(client: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.fail("/tmdb/3/discover/movie", status=429, retry_after=2)
    upstream.fail("/tmdb/3/discover/movie", status=503, retry_after=1.5)

    limited = tmdb(client, "/discover/movie", with_original_language="ta")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.json()["status_code"] == 25
    offline = tmdb(client, "/discover/movie", with_original_language="ta")
    assert offline.status_code == 503 and offline.headers["retry-after"] == "1.5"
    normal = tmdb(client, "/discover/movie", with_original_language="ta")
    assert normal.status_code == 200 and "retry-after" not in normal.headers
    assert normal.json()["total_results"] == 25
    assert upstream.count("/tmdb/3/discover/movie") == 3

    upstream.fail("/books/v1/volumes", status=500)
    broken = client.get("/books/v1/volumes", params={"q": "indian literature"})
    assert broken.status_code == 500 and broken.json()["error"]["code"] == 500


def test_replaced_response_is_served_verbatim(client: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.replace_response("/tmdb/3/movie/100003", body=b"<html>oops</html>", content_type="text/html")
    odd = tmdb(client, "/movie/100003")
    assert odd.status_code == 200 and odd.content == b"<html>oops</html>"
    assert odd.headers["content-type"] == "text/html"
    assert tmdb(client, "/movie/100003").json()["id"] == 100003


def test_delayed_responses(client: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.fail("/tmdb/3/movie/100004", status=200, delay=0.3)
    with pytest.raises(httpx.ReadTimeout):
        tmdb(client, "/movie/100004", timeout=0.1)

    upstream.fail("/tmdb/3/movie/100004", status=200, delay=0.2)
    started = time.monotonic()
    late = tmdb(client, "/movie/100004")
    assert time.monotonic() - started >= 0.2
    assert late.status_code == 200 and late.json()["id"] == 100004

    started = time.monotonic()
    assert tmdb(client, "/movie/100004").status_code == 200
    assert time.monotonic() - started < 0.2


def test_unknown_route_is_a_json_404(client: httpx.Client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json; charset=utf-8"
