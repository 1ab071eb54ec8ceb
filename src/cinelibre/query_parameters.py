"""Unknown query parameters are refused (422, naming them) on every route: a misspelt filter such
as `/movies?titel=x` would otherwise be ignored and the whole catalogue answered as if it had
matched.

What a route takes is read from the parameters it declares, its dependencies' included, so a
parameter added to a route or to a shared dependency is accepted without a list to keep."""

from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.requests import HTTPConnection
from fastapi.routing import APIRoute
from pydantic import BaseModel


def accepted_query_parameters(route: APIRoute) -> set[str]:
    # Read afresh each time (a few attribute reads, and only for a request with a query string):
    # routes cannot be keys of a cache.
    return _declared_query_names(route.dependant)


async def reject_unknown_query_parameters(connection: HTTPConnection) -> None:
    """A dependency of every route (see app.py). An HTTPConnection, not a Request, so that it can
    be solved for the WebSocket route too, which it leaves alone."""
    route = connection.scope.get("route")
    if not connection.query_params or not isinstance(route, APIRoute):
        return
    accepted = accepted_query_parameters(route)
    unknown = [name for name in dict.fromkeys(connection.query_params.keys()) if name not in accepted]
    if unknown:
        takes = ", ".join(sorted(accepted)) if accepted else "no query parameters"
        raise RequestValidationError(
            [
                {
                    "type": "unknown_parameter",
                    "loc": ("query", name),
                    "msg": f"unknown parameter; this route takes {takes}",
                    "input": connection.query_params[name],
                }
                for name in unknown
            ]
        )


def _declared_query_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for field in dependant.query_params:
        if (model := _parameter_model(field.field_info.annotation)) is not None:
            # A Pydantic model as the query: each of its fields is a parameter.
            names.update(info.alias or name for name, info in model.model_fields.items())
        else:
            names.add(field.alias)
    for dependency in dependant.dependencies:
        names |= _declared_query_names(dependency)
    return names


def _parameter_model(annotation: Any) -> type[BaseModel] | None:
    if get_origin(annotation) in (Union, UnionType):
        annotation = next((arg for arg in get_args(annotation) if arg is not NoneType), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
