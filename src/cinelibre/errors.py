"""One error shape for every failure the API reports:

{"error": {"code": "not_found", "message": "...", "details": [{"field": "...", "message": "..."}]}}
"""

import json
import logging
from http import HTTPStatus
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class ServiceError(Exception):
    """A failure the caller can do something about; services raise these, the API maps them."""

    status_code = HTTPStatus.BAD_REQUEST
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(ServiceError):
    status_code = HTTPStatus.NOT_FOUND
    code = "not_found"


class ConflictError(ServiceError):
    status_code = HTTPStatus.CONFLICT
    code = "conflict"


class InvalidInputError(ServiceError):
    status_code = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "validation_error"


class AuthenticationError(ServiceError):
    status_code = HTTPStatus.UNAUTHORIZED
    code = "not_authenticated"


class ForbiddenError(ServiceError):
    """The caller is known but may not do this."""

    status_code = HTTPStatus.FORBIDDEN
    code = "forbidden"


class TooManyRequestsError(ServiceError):
    status_code = HTTPStatus.TOO_MANY_REQUESTS
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    431: "headers_too_large",
    503: "service_unavailable",
}


def error_response(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(
            code=code or STATUS_CODES.get(status_code, "error"),
            message=message,
            details=details or [],
        )
    )
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "is invalid"))
    # pydantic prefixes messages raised by our validators with "Value error, ".
    return message.removeprefix("Value error, ")


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if (malformed := _malformed_json(exc)) is not None:
        return error_response(
            422, f"Invalid request: body: {malformed}", details=[ErrorDetail(field="body", message=malformed)]
        )
    if isinstance(exc.body, bytes) and exc.body:
        # FastAPI leaves a body as bytes when its Content-Type does not say JSON, and the route's
        # model then fails on it with a message about dictionaries that explains nothing.
        return error_response(415, _not_json_message(request.headers.get("content-type")))
    details = [
        ErrorDetail(field=_field_name(tuple(error.get("loc", ()))), message=_validation_message(error))
        for error in exc.errors()
    ]
    summary = "; ".join(f"{d.field}: {d.message}" for d in details[:3])
    return error_response(422, f"Invalid request: {summary}", details=details)


def _malformed_json(exc: RequestValidationError) -> str | None:
    """ "invalid JSON at line L, column C: <reason>" when the body did not parse: FastAPI reports
    only the character offset, as if it were a field of the body."""
    for error in exc.errors():
        if error.get("type") == "json_invalid" and isinstance(exc.body, str | bytes):
            document = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
            reason = str(error.get("ctx", {}).get("error", "not JSON"))
            offset = error["loc"][-1] if isinstance(error["loc"][-1], int) else 0
            position = json.JSONDecodeError(reason, document, offset)
            return f"invalid JSON at line {position.lineno}, column {position.colno}: {reason}"
    return None


def _not_json_message(content_type: str | None) -> str:
    sent = f"it was sent as {content_type}" if content_type else "it was sent without a Content-Type"
    return f"This route takes a JSON body with 'Content-Type: application/json'; {sent}."


async def _handle_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    details = [ErrorDetail(field=exc.field, message=exc.message)] if exc.field else []
    return error_response(int(exc.status_code), exc.message, code=exc.code, details=details, headers=_headers(exc))


def _headers(exc: ServiceError) -> dict[str, str] | None:
    if isinstance(exc, AuthenticationError):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyRequestsError):
        return {"Retry-After": str(exc.retry_after_seconds)}
    return None


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


# Seconds a client is asked to wait after a 503 about the database: about one reconnection attempt.
DATABASE_RETRY_AFTER_SECONDS = 2


async def _handle_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", exc)
    return error_response(
        503,
        "The database is not reachable right now; try again shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _handle_query_cancelled(request: Request, exc: Exception) -> JSONResponse:
    # DATABASE_STATEMENT_TIMEOUT_SECONDS ran out (or an operator cancelled the query): the database
    # is up, but too busy or this query too slow; a retry may find it less busy.
    logger.error("query cancelled on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503,
        "The database took too long to answer; try again shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _handle_transient_conflict(request: Request, exc: Exception) -> JSONResponse:
    # A deadlock or serialization failure (that survived its retry, where the operation has one):
    # the database is fine, the request collided with others changing the same rows, and sending
    # it again is the right move.
    logger.warning("transient conflict on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        409,
        "Other requests were changing the same data at the same moment; send this one again.",
        headers={"Retry-After": "1"},
    )


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "Internal server error", code="internal_error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(ServiceError, _handle_service_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(psycopg_pool.PoolTimeout, _handle_database_unavailable)
    app.add_exception_handler(psycopg.OperationalError, _handle_database_unavailable)
    # Subclasses of OperationalError, but no outage: the most specific handler wins.
    app.add_exception_handler(psycopg.errors.DeadlockDetected, _handle_transient_conflict)
    app.add_exception_handler(psycopg.errors.SerializationFailure, _handle_transient_conflict)
    app.add_exception_handler(psycopg.errors.QueryCanceled, _handle_query_cancelled)
    app.add_exception_handler(Exception, _handle_unexpected)
