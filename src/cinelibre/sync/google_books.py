"""Google Books' API v1: searching volumes."""

from typing import Any

from cinelibre.sync.http import ClientOptions, PoliteClient, UpstreamError

PAGE_SIZE = 40  # the most /volumes returns at once
# Google APIs read the key from this header as well as from `key=`: in a header it stays out of
# URLs, which client libraries, proxies and error messages write down.
API_KEY_HEADER = "X-Goog-Api-Key"


def client(base_url: str, key: str | None, options: ClientOptions) -> PoliteClient:
    headers = {"Accept": "application/json"} | ({API_KEY_HEADER: key} if key else {})
    return PoliteClient(base_url, options, headers=headers)


async def search(
    http: PoliteClient, query: str, page: int, *, language: str | None
) -> tuple[list[dict[str, Any]], int]:
    """One page (0-based) of volumes for a query, and how many pages the total promises."""
    params: dict[str, Any] = {"q": query, "startIndex": page * PAGE_SIZE, "maxResults": PAGE_SIZE, "printType": "books"}
    if language:
        params["langRestrict"] = language
    answer = await http.get_json("/volumes", params)
    if not isinstance(answer, dict):
        raise UpstreamError(f"/volumes {query!r} page {page}: not a JSON object")
    items = answer.get("items", [])  # absent past the last page
    if not isinstance(items, list):
        raise UpstreamError(f"/volumes {query!r} page {page}: items is not a list")
    total = answer.get("totalItems")
    pages = -(-total // PAGE_SIZE) if isinstance(total, int) and total >= 0 else page + 1
    return [item for item in items if isinstance(item, dict)], pages
