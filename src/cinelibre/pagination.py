"""The list envelope every paged endpoint returns, and its query parameters."""

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from cinelibre.types import DEFAULT_LIMIT, Limit, Skip

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    skip: int
    limit: int


@dataclass(frozen=True)
class PageRequest:
    skip: int
    limit: int


# `skip` as a query parameter, also for ranked lists (search, recommendations) that take it
# beside a `limit` of their own default.
SkipParam = Annotated[Skip, Query()]


def _page_request(skip: SkipParam = 0, limit: Annotated[Limit, Query()] = DEFAULT_LIMIT) -> PageRequest:
    return PageRequest(skip=skip, limit=limit)


PageParams = Annotated[PageRequest, Depends(_page_request)]
