"""TMDB's API v3, the three calls a sync needs."""

import re
from typing import Any

from cinelibre.sync.http import ClientOptions, PoliteClient, UpstreamError

PAGE_SIZE = 20  # results per /discover page, fixed by TMDB
MAX_PAGE = 500  # TMDB refuses pages past this
_READ_TOKEN = re.compile(r"^eyJ[\w-]*\.[\w-]*\.[\w-]*$")  # a JWT: the v4 read access token


def credentials(key: str) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters for a key: a v4 read access token (a JWT) goes as a Bearer
    header, a v3 API key as the api_key parameter."""
    if _READ_TOKEN.match(key.strip()):
        return {"Authorization": f"Bearer {key.strip()}"}, {}
    return {}, {"api_key": key.strip()}


def client(base_url: str, key: str, options: ClientOptions) -> PoliteClient:
    headers, params = credentials(key)
    return PoliteClient(base_url, options, headers={"Accept": "application/json", **headers}, params=params)


async def genre_names(http: PoliteClient) -> dict[int, str]:
    answer = await http.get_json("/genre/movie/list")
    genres = answer.get("genres") if isinstance(answer, dict) else None
    if not isinstance(genres, list):
        raise UpstreamError("/genre/movie/list: no genres list")
    return {
        g["id"]: g["name"]
        for g in genres
        if isinstance(g, dict) and isinstance(g.get("id"), int) and isinstance(g.get("name"), str)
    }


async def discover(http: PoliteClient, language: str, page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of a language's films, most popular first, and how many pages there are."""
    answer = await http.get_json(
        "/discover/movie",
        {"with_original_language": language, "sort_by": "popularity.desc", "page": page, "include_adult": "false"},
    )
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
        raise UpstreamError(f"/discover/movie {language} page {page}: no results list")
    total_pages = answer.get("total_pages")
    pages = min(total_pages, MAX_PAGE) if isinstance(total_pages, int) and total_pages >= 0 else page
    return [entry for entry in answer["results"] if isinstance(entry, dict)], pages


async def details(http: PoliteClient, tmdb_id: int) -> Any:
    return await http.get_json(f"/movie/{tmdb_id}", {"append_to_response": "credits,keywords"})
