"""An in-process fake of the TMDB v3 and Google Books v1 HTTP APIs, for tests and benchmarks.

Only the routes cinelibre's importers call are served, with the response shapes, error bodies and status
codes of the real services. Faults (errors, slow answers, malformed pages) can be queued per path prefix.
"""

from __future__ import annotations

import copy
import json
import math
import random
import socket
import string
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "GOOGLE_BOOKS_PREFIX",
    "INDIAN_LANGUAGES",
    "TMDB_GENRES",
    "TMDB_PREFIX",
    "FakeUpstream",
    "Recorded",
    "make_books",
    "make_movies",
]

TMDB_PREFIX = "/tmdb/3"
GOOGLE_BOOKS_PREFIX = "/books/v1"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

DISCOVER_PAGE_SIZE = 20
DISCOVER_MAX_PAGE = 500
BOOKS_DEFAULT_MAX_RESULTS = 10
BOOKS_MAX_RESULTS = 40

INDIAN_LANGUAGES = ("hi", "ta", "te", "ml", "kn", "bn", "mr", "pa")

TMDB_GENRES: tuple[tuple[int, str], ...] = (
    (28, "Action"),
    (12, "Adventure"),
    (16, "Animation"),
    (35, "Comedy"),
    (80, "Crime"),
    (99, "Documentary"),
    (18, "Drama"),
    (10751, "Family"),
    (14, "Fantasy"),
    (36, "History"),
    (27, "Horror"),
    (10402, "Music"),
    (9648, "Mystery"),
    (10749, "Romance"),
    (878, "Science Fiction"),
    (10770, "TV Movie"),
    (53, "Thriller"),
    (10752, "War"),
    (37, "Western"),
)

# (english_name, native name) as TMDB's spoken_languages reports them.
LANGUAGE_NAMES: dict[str, tuple[str, str]] = {
    "en": ("English", "English"),
    "hi": ("Hindi", "हिन्दी"),
    "ta": ("Tamil", "தமிழ்"),
    "te": ("Telugu", "తెలుగు"),
    "ml": ("Malayalam", "മലയാളം"),
    "kn": ("Kannada", "ಕನ್ನಡ"),
    "bn": ("Bengali", "বাংলা"),
    "mr": ("Marathi", "मराठी"),
    "pa": ("Punjabi", "ਪੰਜਾਬੀ"),
}

TMDB_UNAUTHORIZED = {
    "status_code": 7,
    "status_message": "Invalid API key: You must be granted a valid key.",
    "success": False,
}
TMDB_NOT_FOUND = {
    "status_code": 34,
    "status_message": "The resource you requested could not be found.",
    "success": False,
}
TMDB_INVALID_PAGE = {
    "status_code": 22,
    "status_message": "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer.",
    "success": False,
}
# Error bodies TMDB sends for the statuses a fault is likely to use; anything else gets the 500 one.
TMDB_FAULT_BODIES: dict[int, tuple[int, str]] = {
    401: (7, "Invalid API key: You must be granted a valid key."),
    404: (34, "The resource you requested could not be found."),
    429: (25, "Your request count (#) is over the allowed limit of (40)."),
    500: (11, "Internal error: Something went wrong, contact TMDb."),
    502: (11, "Internal error: Something went wrong, contact TMDb."),
    503: (9, "Service offline: This service is temporarily offline, try again later."),
    504: (24, "Your request to the backend server timed out. Try again."),
}
# What Google answers a request whose API key it does not accept.
GOOGLE_BAD_KEY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "errors": [
            {"message": "API key not valid. Please pass a valid API key.", "domain": "global", "reason": "badRequest"}
        ],
        "status": "INVALID_ARGUMENT",
    }
}
GOOGLE_FAULT_REASONS: dict[int, str] = {
    400: "invalid",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}


@dataclass
class Recorded:
    """One request the server answered."""

    method: str
    path: str  # without the query string
    query: dict[str, str]  # last value wins when a parameter repeats
    headers: dict[str, str]  # names lower-cased, so lookups do not depend on the client's spelling
    at: float  # time.monotonic() when the request arrived


@dataclass
class _Fault:
    prefix: str
    status: int
    remaining: int
    retry_after: float | None
    body: bytes | None
    content_type: str
    delay: float


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = JSON_CONTENT_TYPE
    retry_after: float | None = None


def _json_answer(status: int, payload: Any) -> _Answer:
    return _Answer(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def _google_error(status: int, message: str, reason: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
    }


def _format_retry_after(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _default_fault_body(path: str, status: int) -> bytes:
    """An error body shaped like the service's own, chosen by the path being answered."""
    if path.startswith(GOOGLE_BOOKS_PREFIX):
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        payload: dict[str, Any] = _google_error(status, phrase, GOOGLE_FAULT_REASONS.get(status, "backendError"))
    else:
        code, message = TMDB_FAULT_BODIES.get(status, TMDB_FAULT_BODIES[500])
        payload = {"status_code": code, "status_message": message, "success": False}
    return json.dumps(payload).encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    upstream: FakeUpstream


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as a real client pool expects; every answer sets Content-Length.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each answer waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.upstream._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.upstream._untrack(self.connection)

    def log_message(self, *args: Any) -> None:
        pass  # keep test and benchmark output clean

    def _dispatch(self) -> None:
        # Drain any request body so the next request on a kept-alive connection starts at the right byte.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = self.server.upstream._answer(self.command, self.path, dict(self.headers.items()))
        if answer is None:  # the server stopped while a delayed answer was waiting
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            if answer.retry_after is not None:
                self.send_header("Retry-After", _format_retry_after(answer.retry_after))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            # A client that timed out has already gone; that is the point of a delayed fault.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class FakeUpstream:
    """Fake TMDB + Google Books server on 127.0.0.1 and a free port; use start()/stop() or `with`."""

    def __init__(
        self,
        *,
        movies: list[dict] | None = None,
        books: list[dict] | None = None,
        tmdb_api_key: str = "fake-v3-key",
        tmdb_read_token: str = "eyJfake.read.token",
        google_books_api_key: str | None = None,
    ) -> None:
        """With `google_books_api_key`, Google Books answers only requests that send it in the
        X-Goog-Api-Key header, and refuses any that carry a `key` in the URL; without it,
        anonymous requests are answered, as Google does within its anonymous quota."""
        # Deep copies: tests mutate these, and the same generated list is often shared by several servers.
        self.movies: dict[int, dict] = {int(movie["id"]): copy.deepcopy(movie) for movie in movies or []}
        self.books: dict[str, dict] = {str(book["id"]): copy.deepcopy(book) for book in books or []}
        self.tmdb_api_key = tmdb_api_key
        self.tmdb_read_token = tmdb_read_token
        self.google_books_api_key = google_books_api_key
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeUpstream is not started")
        return self._base_url

    @property
    def tmdb_base_url(self) -> str:
        return self.base_url + TMDB_PREFIX

    @property
    def google_books_base_url(self) -> str:
        return self.base_url + GOOGLE_BOOKS_PREFIX

    def start(self) -> FakeUpstream:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.upstream = self
        self._server = server
        self._base_url = f"http://127.0.0.1:{server.server_address[1]}"
        # A short poll interval keeps stop() fast: shutdown() waits for the loop to notice.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-upstream", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping on a delayed fault
        server.shutdown()
        # Kept-alive connections would otherwise outlive the server and keep answering.
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    # -- test helpers ----------------------------------------------------------------------------------------

    def count(self, path_prefix: str) -> int:
        """How many recorded requests have a path starting with path_prefix."""
        with self._lock:
            return sum(1 for request in self.requests if request.path.startswith(path_prefix))

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def fail(
        self,
        path_prefix: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: float | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` matching requests with this fault (status 200 + no body = normal answer late)."""
        self._queue(_Fault(path_prefix, status, times, retry_after, body, content_type, delay))

    def replace_response(
        self,
        path_prefix: str,
        *,
        status: int = 200,
        body: bytes,
        content_type: str = "application/json",
        times: int = 1,
    ) -> None:
        """Serve exactly `body` to the next `times` matching requests (for malformed pages)."""
        self._queue(_Fault(path_prefix, status, times, None, body, content_type, 0.0))

    def _queue(self, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if path.startswith(fault.prefix):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        del self._faults[index]
                    return fault
        return None

    # -- request handling ------------------------------------------------------------------------------------

    def _answer(self, method: str, raw_path: str, raw_headers: dict[str, str]) -> _Answer | None:
        parts = urlsplit(raw_path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {name.lower(): value for name, value in raw_headers.items()}
        with self._lock:
            self.requests.append(Recorded(method, path, query, headers, time.monotonic()))

        fault = self._take_fault(path)
        if fault is not None:
            if fault.delay > 0 and self._stopping.wait(fault.delay):
                return None
            if not (fault.status == 200 and fault.body is None):
                body = fault.body if fault.body is not None else _default_fault_body(path, fault.status)
                return _Answer(fault.status, body, fault.content_type, fault.retry_after)
        return self._route(method, path, query, headers)

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> _Answer:
        if path == TMDB_PREFIX or path.startswith(TMDB_PREFIX + "/"):
            if not self._tmdb_authorized(query, headers):
                return _json_answer(401, TMDB_UNAUTHORIZED)
            if method != "GET":
                return _json_answer(404, TMDB_NOT_FOUND)
            return self._tmdb(path[len(TMDB_PREFIX) :], query)
        if path == GOOGLE_BOOKS_PREFIX or path.startswith(GOOGLE_BOOKS_PREFIX + "/"):
            if not self._google_books_authorized(query, headers):
                return _json_answer(400, GOOGLE_BAD_KEY)
            if method != "GET":
                return _json_answer(404, _google_error(404, "Not Found", "notFound"))
            return self._google_books(path[len(GOOGLE_BOOKS_PREFIX) :], query)
        return _json_answer(404, {"error": "Not Found", "path": path})

    def _tmdb_authorized(self, query: dict[str, str], headers: dict[str, str]) -> bool:
        if query.get("api_key") == self.tmdb_api_key:
            return True
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.tmdb_read_token

    def _google_books_authorized(self, query: dict[str, str], headers: dict[str, str]) -> bool:
        if self.google_books_api_key is None:
            return True
        return "key" not in query and headers.get("x-goog-api-key") == self.google_books_api_key

    def _tmdb(self, route: str, query: dict[str, str]) -> _Answer:
        if route == "/genre/movie/list":
            return _json_answer(200, {"genres": [{"id": id_, "name": name} for id_, name in TMDB_GENRES]})
        if route == "/discover/movie":
            return self._tmdb_discover(query)
        segments = route.strip("/").split("/")
        if len(segments) == 2 and segments[0] == "movie" and segments[1].isdigit():
            return self._tmdb_movie(int(segments[1]), query)
        return _json_answer(404, TMDB_NOT_FOUND)

    def _tmdb_discover(self, query: dict[str, str]) -> _Answer:
        try:
            page = int(query.get("page", "1"))
        except ValueError:
            return _json_answer(422, TMDB_INVALID_PAGE)
        if not 1 <= page <= DISCOVER_MAX_PAGE:
            return _json_answer(422, TMDB_INVALID_PAGE)
        language = query.get("with_original_language")
        films = [m for m in list(self.movies.values()) if not language or m.get("original_language") == language]
        # Popularity ties fall back to id so paging never repeats or skips a film.
        if query.get("sort_by") == "popularity.asc":
            films.sort(key=lambda m: (m.get("popularity", 0.0), m["id"]))
        else:
            films.sort(key=lambda m: (-m.get("popularity", 0.0), m["id"]))
        start = (page - 1) * DISCOVER_PAGE_SIZE
        return _json_answer(
            200,
            {
                "page": page,
                "results": [_movie_summary(m) for m in films[start : start + DISCOVER_PAGE_SIZE]],
                "total_pages": max(1, math.ceil(len(films) / DISCOVER_PAGE_SIZE)),
                "total_results": len(films),
            },
        )

    def _tmdb_movie(self, movie_id: int, query: dict[str, str]) -> _Answer:
        movie = self.movies.get(movie_id)
        if movie is None:
            return _json_answer(404, TMDB_NOT_FOUND)
        appended = {part.strip() for part in query.get("append_to_response", "").split(",") if part.strip()}
        details = {key: value for key, value in movie.items() if key not in ("credits", "keywords")}
        if "credits" in appended:
            details["credits"] = movie.get("credits", {"cast": [], "crew": []})
        if "keywords" in appended:
            details["keywords"] = movie.get("keywords", {"keywords": []})
        return _json_answer(200, details)

    def _google_books(self, route: str, query: dict[str, str]) -> _Answer:
        if route == "/volumes":
            return self._google_volumes(query)
        segments = route.strip("/").split("/")
        if len(segments) == 2 and segments[0] == "volumes":
            book = self.books.get(segments[1])
            if book is None:
                return _json_answer(404, _google_error(404, "The volume ID could not be found.", "notFound"))
            return _json_answer(200, _public_volume(book))
        return _json_answer(404, _google_error(404, "Not Found", "notFound"))

    def _google_volumes(self, query: dict[str, str]) -> _Answer:
        q = query.get("q", "")
        if not q:
            return _json_answer(400, _google_error(400, "Missing query.", "queryRequired"))
        try:
            start = int(query.get("startIndex", "0"))
            size = int(query.get("maxResults", str(BOOKS_DEFAULT_MAX_RESULTS)))
        except ValueError:
            return _json_answer(400, _google_error(400, "Invalid value.", "invalid"))
        if not 0 <= size <= BOOKS_MAX_RESULTS:
            message = f"Invalid value at 'max_results' ({size}), Values must be within the range: [0, 40]"
            return _json_answer(400, _google_error(400, message, "invalid"))
        if start < 0:
            message = f"Invalid value at 'start_index' ({start}), Value must be non-negative"
            return _json_answer(400, _google_error(400, message, "invalid"))
        language = query.get("langRestrict")
        matches = sorted(
            (
                book
                for book in list(self.books.values())
                if q in book.get("_queries", ())
                and (not language or book.get("volumeInfo", {}).get("language") == language)
            ),
            key=lambda book: book["id"],
        )
        payload: dict[str, Any] = {"kind": "books#volumes", "totalItems": len(matches)}
        page = matches[start : start + size]
        if page:  # the real API leaves "items" out rather than sending an empty list
            payload["items"] = [_public_volume(book) for book in page]
        return _json_answer(200, payload)


def _movie_summary(movie: dict) -> dict[str, Any]:
    """The shape of one discover result."""
    return {
        "adult": movie.get("adult", False),
        "backdrop_path": movie.get("backdrop_path"),
        "genre_ids": [genre["id"] for genre in movie.get("genres", [])],
        "id": movie["id"],
        "original_language": movie.get("original_language"),
        "original_title": movie.get("original_title"),
        "overview": movie.get("overview", ""),
        "popularity": movie.get("popularity", 0.0),
        "poster_path": movie.get("poster_path"),
        "release_date": movie.get("release_date", ""),
        "title": movie.get("title"),
        "video": movie.get("video", False),
        "vote_average": movie.get("vote_average", 0.0),
        "vote_count": movie.get("vote_count", 0),
    }


def _public_volume(book: dict) -> dict[str, Any]:
    return {key: value for key, value in book.items() if key != "_queries"}


# -- generators --------------------------------------------------------------------------------------------------

FIRST_SYLLABLES = ("a", "ra", "vi", "ka", "sa", "ma", "ni", "de", "pra", "su", "la", "ja", "ha", "ve", "ta", "shi")
MIDDLE_SYLLABLES = ("ru", "na", "ya", "ti", "ka", "vi", "la", "dha", "ra", "mi", "sha", "ja")
LAST_SYLLABLES = ("n", "sh", "m", "ya", "ti", "", "ra", "l", "ka", "ni", "th", "v")
FAMILY_NAMES = (
    "Iyer",
    "Menon",
    "Reddy",
    "Sharma",
    "Banerjee",
    "Gill",
    "Kulkarni",
    "Nair",
    "Rao",
    "Chatterjee",
    "Pillai",
    "Deshpande",
    "Sandhu",
    "Gowda",
    "Mukherjee",
    "Verma",
)

TITLE_FIRST = (
    "The Last",
    "Silent",
    "Monsoon",
    "Golden",
    "Broken",
    "Midnight",
    "Distant",
    "Crimson",
    "Hidden",
    "Burning",
    "Little",
    "Endless",
    "Second",
    "Wild",
    "Paper",
)
TITLE_SECOND = (
    "River",
    "Promise",
    "Harvest",
    "Letters",
    "Kingdom",
    "Train",
    "Festival",
    "Shadow",
    "Song",
    "Horizon",
    "Garden",
    "Storm",
    "Bridge",
    "Lantern",
    "Frontier",
    "Mirror",
    "Village",
    "Tiger",
)

OVERVIEW_ADJECTIVES = ("restless", "young", "retired", "stubborn", "fearless", "widowed", "ambitious", "reluctant")
OVERVIEW_ROLES = ("farmer", "police officer", "teacher", "dancer", "fisherman", "journalist", "cricketer", "doctor")
OVERVIEW_PLACES = ("Chennai", "Kolkata", "a coastal village", "Mumbai", "the hills of Coorg", "Hyderabad", "Kochi")
OVERVIEW_GOALS = (
    "must clear the family name",
    "sets out to find a missing sister",
    "takes on a corrupt landlord",
    "falls for a stranger on a night train",
    "returns home after twenty years",
    "tries to save the ancestral house",
    "joins a travelling theatre troupe",
    "uncovers a conspiracy at the port",
)
OVERVIEW_STARTS = ("a simple favour", "a summer holiday", "a village wedding", "a foolish bet", "an election")
OVERVIEW_ENDS = ("a fight for survival", "an unlikely friendship", "a reckoning with the past", "a national scandal")

CREW_JOBS = (
    ("Screenplay", "Writing"),
    ("Original Music Composer", "Sound"),
    ("Director of Photography", "Camera"),
    ("Editor", "Editing"),
    ("Producer", "Production"),
)
KEYWORDS = tuple(
    (200001 + index, name)
    for index, name in enumerate(
        (
            "based on novel or book",
            "revenge",
            "friendship",
            "small town",
            "family drama",
            "corruption",
            "coming of age",
            "musical",
            "village life",
            "police",
            "love triangle",
            "partition",
            "heist",
            "road trip",
            "biography",
        )
    )
)

BOOK_PUBLISHERS = (
    "Penguin India",
    "HarperCollins India",
    "Rupa Publications",
    "Westland",
    "Juggernaut",
    "Aleph Book Company",
    "Orient Blackswan",
    "Sahitya Akademi",
    "Picador India",
    "Speaking Tiger",
)
BOOK_CATEGORIES = (
    "Fiction",
    "Literary Criticism",
    "History",
    "Biography & Autobiography",
    "Poetry",
    "Social Science",
    "Drama",
    "Juvenile Fiction",
    "Travel",
)
BOOK_SUBTITLES = ("A Novel", "Stories", "A Memoir", "Collected Essays", "Poems 1970-2000", "A History")
VOLUME_ID_ALPHABET = string.ascii_letters + string.digits + "_-"


def _person_name(rng: random.Random) -> str:
    given = rng.choice(FIRST_SYLLABLES) + rng.choice(MIDDLE_SYLLABLES) + rng.choice(LAST_SYLLABLES)
    return f"{given.capitalize()} {rng.choice(FAMILY_NAMES)}"


def _phrase(rng: random.Random, words: int) -> str:
    return " ".join((rng.choice(FIRST_SYLLABLES) + rng.choice(LAST_SYLLABLES)).capitalize() for _ in range(words))


def _unique_title(rng: random.Random, seen: set[str]) -> str:
    """A title not in `seen`; numbered sequels once the word combinations run short."""
    title = f"{rng.choice(TITLE_FIRST)} {rng.choice(TITLE_SECOND)}"
    for _ in range(4):
        if title not in seen:
            break
        title = f"{rng.choice(TITLE_FIRST)} {rng.choice(TITLE_SECOND)}"
    base, number = title, 2
    while title in seen:
        title, number = f"{base} {number}", number + 1
    seen.add(title)
    return title


def _image_path(rng: random.Random) -> str:
    return "/" + "".join(rng.choices(string.ascii_letters, k=27)) + ".jpg"


def _spoken_language(code: str) -> dict[str, str]:
    english_name, name = LANGUAGE_NAMES.get(code, (code, ""))
    return {"iso_639_1": code, "english_name": english_name, "name": name}


def make_movies(count: int, languages: tuple[str, ...] = INDIAN_LANGUAGES, seed: int = 1) -> list[dict]:
    """`count` TMDB details dicts, round-robin over `languages`, ids from 100001; the same seed gives the same films."""
    rng = random.Random(seed)
    titles: set[str] = set()
    people: list[tuple[int, str]] = []

    def person() -> tuple[int, str]:
        # Reuse people now and then so films share directors and actors, as real catalogues do.
        if people and rng.random() < 0.3:
            return rng.choice(people)
        people.append((1_000_001 + len(people), _person_name(rng)))
        return people[-1]

    movies = []
    for index in range(count):
        language = languages[index % len(languages)]
        cast = []
        for order in range(rng.randint(3, 8)):
            person_id, name = person()
            cast.append({"id": person_id, "name": name, "character": _person_name(rng), "order": order})
        director_id, director = person()
        crew = [{"id": director_id, "name": director, "job": "Director", "department": "Directing"}]
        for job, department in rng.sample(CREW_JOBS, rng.randint(1, 2)):
            crew_id, crew_name = person()
            crew.append({"id": crew_id, "name": crew_name, "job": job, "department": department})
        overview = (
            f"A {rng.choice(OVERVIEW_ADJECTIVES)} {rng.choice(OVERVIEW_ROLES)} from {rng.choice(OVERVIEW_PLACES)} "
            f"{rng.choice(OVERVIEW_GOALS)}."
        )
        if rng.random() < 0.6:
            overview += f" What begins as {rng.choice(OVERVIEW_STARTS)} turns into {rng.choice(OVERVIEW_ENDS)}."
        spoken = [_spoken_language(language)]
        if rng.random() < 0.2:
            spoken.append(_spoken_language("en"))
        movies.append(
            {
                "adult": False,
                "backdrop_path": _image_path(rng),
                "id": 100001 + index,
                "imdb_id": f"tt{(1_000_000 + index * 7 + rng.randrange(7)) % 10_000_000:07d}",
                "title": _unique_title(rng, titles),
                "original_title": _phrase(rng, rng.randint(1, 3)),
                "original_language": language,
                "overview": overview,
                "release_date": f"{rng.randint(1960, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "runtime": rng.randint(80, 190),
                "genres": [{"id": id_, "name": name} for id_, name in rng.sample(TMDB_GENRES, rng.randint(1, 3))],
                "poster_path": _image_path(rng),
                # Strictly decreasing with index for any realistic count, so discover order is the index order.
                "popularity": round(1000.0 / (1 + index / 100), 4),
                "vote_average": round(rng.uniform(0, 10), 1),
                "vote_count": rng.randint(0, 20_000),
                "spoken_languages": spoken,
                "video": False,
                "credits": {"cast": cast, "crew": crew},
                "keywords": {
                    "keywords": [{"id": id_, "name": name} for id_, name in rng.sample(KEYWORDS, rng.randint(0, 5))]
                },
            }
        )
    return movies


def isbn13_check_digit(first_twelve: str) -> str:
    total = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(first_twelve))
    return str((10 - total % 10) % 10)


def isbn10_check_digit(first_nine: str) -> str:
    total = sum(int(digit) * (10 - position) for position, digit in enumerate(first_nine))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def make_books(
    count: int, queries: tuple[str, ...] = ("subject:fiction", "indian literature"), seed: int = 1
) -> list[dict]:
    """`count` Google Books volumes, each answering one of `queries` round-robin; the same seed gives the same books."""
    rng = random.Random(seed)
    titles: set[str] = set()
    ids: set[str] = set()
    books = []
    for index in range(count):
        volume_id = "".join(rng.choices(VOLUME_ID_ALPHABET, k=12))
        while volume_id in ids:
            volume_id = "".join(rng.choices(VOLUME_ID_ALPHABET, k=12))
        ids.add(volume_id)
        core = "".join(str(rng.randrange(10)) for _ in range(9))
        isbn13 = "978" + core + isbn13_check_digit("978" + core)
        isbn10 = core + isbn10_check_digit(core)
        year = rng.randint(1950, 2024)
        shape = rng.randrange(3)
        published = (
            str(year)
            if shape == 0
            else f"{year}-{rng.randint(1, 12):02d}"
            if shape == 1
            else f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        )
        cover = f"http://books.google.com/books/content?id={volume_id}&printsec=frontcover&img=1"
        info: dict[str, Any] = {"title": _unique_title(rng, titles)}
        if rng.random() < 0.4:
            info["subtitle"] = rng.choice(BOOK_SUBTITLES)
        info["authors"] = [_person_name(rng) for _ in range(rng.randint(1, 2))]
        info["publisher"] = rng.choice(BOOK_PUBLISHERS)
        info["publishedDate"] = published
        if rng.random() < 0.75:
            info["description"] = (
                f"The story of a {rng.choice(OVERVIEW_ADJECTIVES)} {rng.choice(OVERVIEW_ROLES)} who "
                f"{rng.choice(OVERVIEW_GOALS)}, told across three generations in {rng.choice(OVERVIEW_PLACES)}."
            )
        info["industryIdentifiers"] = [
            {"type": "ISBN_13", "identifier": isbn13},
            {"type": "ISBN_10", "identifier": isbn10},
        ]
        info["pageCount"] = rng.randint(60, 900)
        info["printType"] = "BOOK"
        info["categories"] = rng.sample(BOOK_CATEGORIES, rng.randint(1, 2))
        if rng.random() < 0.5:
            info["averageRating"] = rng.choice((2.5, 3, 3.5, 4, 4.5, 5))
            info["ratingsCount"] = rng.randint(1, 400)
        info["language"] = "en" if rng.random() < 0.7 else rng.choice(("hi", "ta", "bn"))
        info["imageLinks"] = {"smallThumbnail": cover + "&zoom=5", "thumbnail": cover + "&zoom=1"}
        books.append(
            {
                "kind": "books#volume",
                "id": volume_id,
                "etag": "".join(rng.choices(VOLUME_ID_ALPHABET, k=11)),
                "selfLink": f"https://www.googleapis.com/books/v1/volumes/{volume_id}",
                "volumeInfo": info,
                "_queries": [queries[index % len(queries)]],
            }
        )
    return books
