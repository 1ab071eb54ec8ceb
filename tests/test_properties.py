"""Property tests: hostile values for every kind of input (ratings, item ids, paging, search text,
path ids) get a 2xx or a 4xx in the one error shape, never a 500, and a refused write stores
nothing. Run with --hypothesis-show-statistics to see how many examples each test tried."""

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cinelibre.database.connection import Connection
from cinelibre.types import MAX_LIMIT, MAX_SKIP, POSTGRES_BIGINT_MAX
from tests.factories import add_book, add_movie, register


def hostile(examples: int) -> settings:
    """Fixtures are set up once per test and shared by its examples; an example that writes does
    so in a savepoint it rolls back, so every example starts from the same rows."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


# The characters pydantic's strip_whitespace removes (Unicode White_Space; Python's str.strip()
# also removes U+001C..U+001F, which pydantic keeps).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" + (
    "\u2028\u2029\u202f\u205f\u3000"
)
# Python's json refuses to read integers longer than this (its guard against quadratic parsing);
# FastAPI answers such a body with its own 400.
PYTHON_INT_DIGITS_LIMIT = 4300


def assert_error_shape(response: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"], body
    if field is not None:
        assert field in [detail["field"] for detail in body["error"]["details"]], body


def is_plain_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_half_star(value: Any) -> bool:
    return is_plain_number(value) and math.isfinite(value) and 0.5 <= value <= 5 and float(value * 2).is_integer()


# How an integer is written in a query or a path, with nothing pydantic would have to be lenient about.
INTEGER = re.compile(r"-?[0-9]+")


def as_item_id(value: Any) -> int | None:
    """The id a JSON number stands for (pydantic reads 12.0 as 12), None if it cannot be one."""
    if not is_plain_number(value) or not math.isfinite(value) or not float(value).is_integer():
        return None
    return int(value) if 1 <= value <= POSTGRES_BIGINT_MAX else None


# -- strategies ----------------------------------------------------------------------------------------------------

half_stars = st.integers(min_value=1, max_value=10).map(lambda n: n / 2)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**300), max_value=10**300)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
# Written out by hand: spellings json.dumps never produces, and integers too long for Python.
number_literals = st.sampled_from(
    [
        "4.50",
        "45e-1",
        "0.05e1",
        "5.0000000000000001",
        "4.4999999999999999",
        "1e400",
        "-1e400",
        "-0",
        "0.0",
        "1E1",
        "5e-324",
        "9" * (PYTHON_INT_DIGITS_LIMIT + 1),
        "4" + "0" * 20_000,
    ]
)
rating_texts = st.one_of(
    half_stars.map(json.dumps),
    half_stars.map(lambda h: json.dumps(int(h)) if h.is_integer() else json.dumps(h)),
    half_stars.flatmap(lambda h: st.floats(h - 1e-9, h + 1e-9)).map(json.dumps),
    st.floats(allow_nan=True, allow_infinity=True).map(json.dumps),
    json_values.map(json.dumps),
    number_literals,
)
item_id_values = st.one_of(
    st.integers(),
    st.integers(min_value=-5, max_value=5000),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, POSTGRES_BIGINT_MAX, POSTGRES_BIGINT_MAX + 1, 2**64, -(2**63)]),
    json_values,
)
paging_values = st.one_of(
    st.none(),  # left out
    st.integers(min_value=-5, max_value=150),
    st.integers(min_value=MAX_SKIP - 2, max_value=MAX_SKIP + 2),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", " 5", "5 ", "+5", "5.0", "5.5", "1e3", "0x10", "1_0", "٣", "NaN", "true", "-0"]),
    st.text(max_size=12),
)
tsquery_and_sql = st.sampled_from(
    [
        "'",
        '"',
        "\\",
        "%",
        "_",
        ";",
        "--",
        "/*",
        "*/",
        "$$",
        "&",
        "|",
        "!",
        "<->",
        "<2>",
        ":*",
        ":A",
        "(",
        ")",
        "' OR '1'='1",
        "'; DROP TABLE movies; --",
        "a & !b | (c <-> d)",
        "\x00",
        "\n",
        "\t",
        "\u200b",
        "\ufeff",
        "🎬",
        "बाहुबली",
        "ஜெயிலர்",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "ǅ",
        "ﷺ",
        "\u0301",
    ]
)
search_texts = st.one_of(
    st.text(max_size=600),
    st.lists(tsquery_and_sql | st.text(max_size=5), max_size=12).map("".join),
    st.integers(min_value=495, max_value=505).map(lambda n: "x" * n),
    st.tuples(st.text(WHITE_SPACE, max_size=40), st.integers(1, 510), st.text(WHITE_SPACE, max_size=40)).map(
        lambda parts: parts[0] + "é" * parts[1] + parts[2]
    ),
    st.text(WHITE_SPACE + "\x1c\x1d\x1e\x1f", max_size=20),
)
path_ids = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=0, max_value=700).map(str),  # the demo catalogue's ids, and beyond
    st.sampled_from(["0", "00", "007", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x1", "1_0", "٣", "NaN", ".", ".."]),
    st.text(min_size=1, max_size=40),
)


# -- fixtures ------------------------------------------------------------------------------------------------------


@dataclass
class Rater:
    headers: dict[str, str]
    user_id: int
    movie_id: int


@pytest.fixture
async def rater(client: httpx.AsyncClient, conn: Connection) -> Rater:
    headers = await register(client, email="hostile@example.com")
    me = (await client.get("/auth/me", headers=headers)).json()
    return Rater(headers, me["id"], await add_movie(conn, title="Rated Under Fire"))


async def one_row(conn: Connection, query: str, params: tuple = ()) -> dict[str, Any]:
    row = await (await conn.execute(query, params)).fetchone()
    assert row is not None
    return row


async def rating_state(conn: Connection, rater: Rater) -> tuple[list[float], int, float]:
    """The user's stored ratings of the movie, and the movie's count and sum."""
    rows = await (
        await conn.execute(
            "SELECT rating::float8 AS rating FROM ratings WHERE user_id = %s AND item_type = 'movie' AND item_id = %s",
            (rater.user_id, rater.movie_id),
        )
    ).fetchall()
    movie = await one_row(
        conn, "SELECT rating_count, rating_sum::float8 AS rating_sum FROM movies WHERE id = %s", (rater.movie_id,)
    )
    return [row["rating"] for row in rows], movie["rating_count"], movie["rating_sum"]


# -- ratings -------------------------------------------------------------------------------------------------------


@hostile(600)
@given(rating_text=rating_texts, already_rated=st.booleans())
async def test_only_a_half_star_from_half_to_five_is_stored_as_sent(
    client: httpx.AsyncClient, conn: Connection, rater: Rater, rating_text: str, already_rated: bool
) -> None:
    body = f'{{"item_id": {rater.movie_id}, "item_type": "movie", "rating": {rating_text}}}'
    note(f"body {body[:200]!r}, already rated: {already_rated}")
    async with conn.transaction(force_rollback=True):
        if already_rated:
            first = await client.post(
                "/ratings", headers=rater.headers, json={"item_id": rater.movie_id, "item_type": "movie", "rating": 3}
            )
            assert first.status_code == 201, first.text

        response = await client.post(
            "/ratings", headers=rater.headers | {"Content-Type": "application/json"}, content=body
        )

        stored, count, total = await rating_state(conn, rater)
    try:
        sent = json.loads(rating_text)
    except ValueError:  # an integer too long for Python
        assert_error_shape(response, 400, "bad_request")
        sent = None
    if is_half_star(sent):
        assert response.status_code == (200 if already_rated else 201), response.text
        assert response.json()["rating"] == sent
        assert (stored, count, total) == ([sent], 1, sent)
    else:
        if sent is not None:
            assert_error_shape(response, 422, "validation_error", "body.rating")
        assert (stored, count, total) == (([3.0], 1, 3.0) if already_rated else ([], 0, 0.0))


@hostile(300)
@given(item_id=item_id_values)
async def test_any_item_id_is_rated_404_or_422_and_never_stored_unless_it_exists(
    client: httpx.AsyncClient, conn: Connection, rater: Rater, item_id: Any
) -> None:
    body = f'{{"item_id": {json.dumps(item_id)}, "item_type": "movie", "rating": 4.5}}'
    note(f"body {body[:200]!r}")
    async with conn.transaction(force_rollback=True):
        response = await client.post(
            "/ratings", headers=rater.headers | {"Content-Type": "application/json"}, content=body
        )
        rows = await one_row(conn, "SELECT count(*) AS n FROM ratings WHERE user_id = %s", (rater.user_id,))

    if is_plain_number(item_id) and as_item_id(item_id) == rater.movie_id:
        assert (response.status_code, rows["n"]) == (201, 1), response.text
    elif as_item_id(item_id) is not None:
        assert_error_shape(response, 404, "not_found")
        assert rows["n"] == 0
    elif is_plain_number(item_id) or item_id is None or isinstance(item_id, list | dict):
        assert_error_shape(response, 422, "validation_error", "body.item_id")
        assert rows["n"] == 0
    else:
        # Strings and booleans: pydantic reads "12", " 12" or true as numbers.
        assert response.status_code in (201, 404, 422), response.text
        assert rows["n"] == (1 if response.status_code == 201 else 0)
        if response.status_code != 201:
            code = "not_found" if response.status_code == 404 else "validation_error"
            assert_error_shape(response, response.status_code, code)


# -- paging --------------------------------------------------------------------------------------------------------


@pytest.fixture
async def paged(client: httpx.AsyncClient, conn: Connection, rater: Rater) -> dict[str, int]:
    """Rows behind every paged list, and each list's exact total."""
    for title in ("Page One", "Page Two", "Page Three"):
        await add_movie(conn, title=title)
    for title in ("Book One", "Book Two"):
        await add_book(conn, title=title)
    for movie_id in (rater.movie_id, await add_movie(conn, title="Page Four")):
        rated = await client.post(
            "/ratings", headers=rater.headers, json={"item_id": movie_id, "item_type": "movie", "rating": 4}
        )
        assert rated.status_code == 201, rated.text
    for _ in range(3):
        viewed = await client.post(
            "/interactions",
            headers=rater.headers,
            json={"kind": "view", "item_id": rater.movie_id, "item_type": "movie"},
        )
        assert viewed.status_code == 201, viewed.text
    counts = await one_row(
        conn,
        """SELECT (SELECT count(*) FROM movies) AS movies, (SELECT count(*) FROM books) AS books,
                  (SELECT count(*) FROM ratings WHERE user_id = %(user)s) AS ratings,
                  (SELECT count(*) FROM interactions WHERE user_id = %(user)s) AS interactions""",
        {"user": rater.user_id},
    )
    assert (counts["ratings"], counts["interactions"]) == (2, 3)
    return {"/movies": counts["movies"], "/books": counts["books"], "/ratings/my": 2, "/interactions/my": 3}


@pytest.mark.parametrize("path", ["/movies", "/books", "/ratings/my", "/interactions/my"])
@hostile(200)
@given(skip=paging_values, limit=paging_values)
async def test_any_skip_and_limit_give_the_exact_page_or_422(
    client: httpx.AsyncClient, rater: Rater, paged: dict[str, int], path: str, skip: Any, limit: Any
) -> None:
    params = {name: str(value) for name, value in (("skip", skip), ("limit", limit)) if value is not None}
    note(f"GET {path} {params!r}")

    response = await client.get(path, params=params, headers=rater.headers)

    total = paged[path]
    if all(value is None or isinstance(value, int) or INTEGER.fullmatch(value) for value in (skip, limit)):
        skip, limit = (None if value is None else int(value) for value in (skip, limit))
        skip_valid = skip is None or 0 <= skip <= MAX_SKIP
        limit_valid = limit is None or 1 <= limit <= MAX_LIMIT
        if not (skip_valid and limit_valid):
            assert_error_shape(response, 422, "validation_error", "query.skip" if not skip_valid else "query.limit")
            return
        assert response.status_code == 200, response.text
        expected_skip, expected_limit = (0 if skip is None else skip), (20 if limit is None else limit)
        page = response.json()
        assert (page["total"], page["skip"], page["limit"]) == (total, expected_skip, expected_limit)
        assert len(page["items"]) == max(0, min(expected_limit, total - expected_skip))
        return
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_error_shape(response, 422, "validation_error")
    else:
        page = response.json()
        assert page["total"] == total and 0 <= page["skip"] <= MAX_SKIP and 1 <= page["limit"] <= MAX_LIMIT
        assert len(page["items"]) == max(0, min(page["limit"], total - page["skip"]))


# -- search --------------------------------------------------------------------------------------------------------


@hostile(300)
@given(q=search_texts)
async def test_any_search_text_is_answered_or_refused_by_its_length_never_500(
    catalogue_client: httpx.AsyncClient, q: str
) -> None:
    note(f"q {q!r}")
    response = await catalogue_client.get("/search/semantic", params={"q": q})

    if "\x00" in q or not 1 <= len(q.strip(WHITE_SPACE)) <= 500:
        assert_error_shape(response, 422, "validation_error", "query.q")
    else:
        assert response.status_code == 200, response.text
        assert all(item["item_type"] in ("movie", "book") for item in response.json()["items"])


# -- path ids ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def catalogue_caller(catalogue_client: httpx.AsyncClient) -> dict[str, str]:
    return await register(catalogue_client, email="path-prober@example.com")


@pytest.mark.parametrize(
    ("template", "table"),
    [
        ("/movies/{}", "movies"),
        ("/books/{}", "books"),
        ("/recommendations/similar/movie/{}", "movies"),
        ("/recommendations/similar/book/{}", "books"),
        ("/recommendations/predict/movie/{}", "movies"),
    ],
)
@hostile(200)
@given(item_id=path_ids)
async def test_any_path_id_is_found_missing_or_refused_never_500(
    catalogue_client: httpx.AsyncClient,
    catalogue_conn: Connection,
    catalogue_caller: dict[str, str],
    template: str,
    table: str,
    item_id: str,
) -> None:
    # Every character escaped, dots too, so the id reaches the route as one path segment.
    segment = quote(item_id, safe="").replace(".", "%2E")
    note(f"GET {template.format(segment)}")

    response = await catalogue_client.get(template.format(segment), headers=catalogue_caller)

    if INTEGER.fullmatch(item_id) and 1 <= int(item_id) <= POSTGRES_BIGINT_MAX:
        exists = await one_row(catalogue_conn, f"SELECT count(*) AS n FROM {table} WHERE id = %s", (int(item_id),))
        if exists["n"]:
            assert response.status_code == 200, response.text
        else:
            assert_error_shape(response, 404, "not_found")
    elif INTEGER.fullmatch(item_id):
        assert_error_shape(response, 422, "validation_error")
    elif "/" in item_id:
        # %2F is a path separator once decoded: no route has that many segments, and the
        # framework redirects a path that ends in one to the path without it.
        assert response.status_code in (307, 404), response.text
    elif not any("0" <= character <= "9" for character in item_id):
        assert_error_shape(response, 422, "validation_error")
    else:
        assert response.status_code in (200, 404, 422), response.text
        if response.status_code != 200:
            assert response.json()["error"]["code"] in ("not_found", "validation_error")


@hostile(100)
@given(item_type=st.text(min_size=1, max_size=20))
async def test_any_item_type_in_a_path_is_one_of_two_or_422(
    catalogue_client: httpx.AsyncClient, catalogue_caller: dict[str, str], item_type: str
) -> None:
    segment = quote(item_type, safe="").replace(".", "%2E")
    note(f"item type {item_type!r}")

    response = await catalogue_client.get(f"/recommendations/predict/{segment}/1", headers=catalogue_caller)

    if item_type in ("movie", "book"):
        assert response.status_code in (200, 404), response.text
    elif "/" in item_type:
        assert response.status_code in (404, 422), response.text
    else:
        assert_error_shape(response, 422, "validation_error", "path.item_type")
