"""Small helpers that create rows through the real repositories and API."""

from typing import Any

import httpx

from cinelibre.catalog import repository as catalog_repository
from cinelibre.catalog.schemas import BookCreate, MovieCreate
from cinelibre.database.connection import Connection


async def add_movie(conn: Connection, **fields: Any) -> int:
    movie = MovieCreate(**{"title": "Test Movie", **fields})
    await catalog_repository.insert_movies(conn, [movie])
    row = await (await conn.execute("SELECT max(id) AS id FROM movies")).fetchone()
    assert row is not None
    return row["id"]


async def add_book(conn: Connection, **fields: Any) -> int:
    book = BookCreate(**{"title": "Test Book", **fields})
    await catalog_repository.insert_books(conn, [book])
    row = await (await conn.execute("SELECT max(id) AS id FROM books")).fetchone()
    assert row is not None
    return row["id"]


async def register(
    client: httpx.AsyncClient, email: str = "reader@example.com", password: str = "test123", name: str = "Reader"
) -> dict[str, str]:
    """Register an account; returns the Authorization header for it."""
    response = await client.post("/auth/register", json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
