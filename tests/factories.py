"""Small helpers that create rows through the real repositories and API."""

from typing import Any

import httpx

from cinelibre.catalog import repository as catalog_repository
from cinelibre.catalog.schemas import BookCreate, MovieCreate
from cinelibre.database.connection import Connection


async def _insert_returning_id(conn: Connection, table: str, fields: str, values: tuple[Any, ...]) -> int:
    """Insert one row with the repository's column list and values, and read back its own id (a
    `max(id)` read afterwards could see another transaction's row)."""
    placeholders = ", ".join(["%s"] * len(values))
    cursor = await conn.execute(f"INSERT INTO {table} ({fields}) VALUES ({placeholders}) RETURNING id", values)
    row = await cursor.fetchone()
    assert row is not None
    return row["id"]


async def add_movie(conn: Connection, **fields: Any) -> int:
    movie = MovieCreate(**{"title": "Test Movie", **fields})
    return await _insert_returning_id(
        conn, "movies", catalog_repository._MOVIE_FIELDS, catalog_repository._movie_values(movie)
    )


async def add_book(conn: Connection, **fields: Any) -> int:
    book = BookCreate(**{"title": "Test Book", **fields})
    return await _insert_returning_id(
        conn, "books", catalog_repository._BOOK_FIELDS, catalog_repository._book_values(book)
    )


async def register(
    client: httpx.AsyncClient, email: str = "reader@example.com", password: str = "test1234", name: str = "Reader"
) -> dict[str, str]:
    """Register an account; returns the Authorization header for it."""
    response = await client.post("/auth/register", json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
