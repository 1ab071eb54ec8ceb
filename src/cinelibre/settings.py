"""Service configuration, read once from the environment (and an optional `.env` file)."""

import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from limits import parse as parse_rate_limit
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cinelibre.types import LanguageCode

# Supabase's transaction pooler (Supavisor) listens on this port; it cannot keep
# server-side prepared statements between transactions.
SUPABASE_TRANSACTION_POOLER_PORT = 6543
MIN_JWT_SECRET_LENGTH = 32
# What `secrets.token_urlsafe(32)` comfortably exceeds (about 200 by the estimate below).
MIN_JWT_SECRET_BITS = 128
MAKE_A_JWT_SECRET = "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
DEFAULT_JWT_ISSUER = "cinelibre"
DEFAULT_JWT_AUDIENCE = "cinelibre-api"
# What a browser origin looks like to the CORS check: scheme, host and port, nothing after.
ORIGIN_PATTERN = re.compile(r"^https?://[^/\s]+$")
# The folder holding src/ and web/ when CineLibre runs from its source checkout (pip install -e).
SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]


class ConfigurationError(RuntimeError):
    """The environment cannot run the service; the message tells the operator what to change."""


def estimated_entropy_bits(secret: str) -> float:
    """A cautious guess of how many bits an attacker must guess: the Shannon entropy of the
    secret's own characters, times the length of the unit it repeats ("abab..." counts as "ab",
    "passwordpassword..." as "password"). Random secrets score close to their true strength;
    repetitive or few-character ones score low."""
    counts = Counter(secret)
    per_character = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return per_character * _repeating_unit_length(secret)


def _repeating_unit_length(text: str) -> int:
    """The length of the shortest prefix that `text` repeats (its last copy may be cut short),
    from the Knuth-Morris-Pratt border table in linear time."""
    border = [0] * len(text)
    for i in range(1, len(text)):
        k = border[i - 1]
        while k and text[i] != text[k]:
            k = border[k - 1]
        border[i] = k + 1 if text[i] == text[k] else 0
    return len(text) - border[-1] if text else 0


# The documentation of every setting lives in its Field(description=...); settings_reference.py
# renders .env.example and docs/configuration.md from it, one section per group below (in the
# order the groups first appear). `examples` gives the value a commented-out line shows when a
# setting has no default; `shown_default` replaces a default that depends on the machine.
SERVICE_SECTION = {"section": "Service"}
DATABASE_SECTION = {"section": "Database"}
SEARCH_SECTION = {"section": "Semantic search (embeddings)"}
CACHING_SECTION = {"section": "Caching"}
MODELS_SECTION = {"section": "Recommendation models"}
SYNC_SECTION = {"section": "Catalogue sync (`cinelibre sync`)"}
AUTH_SECTION = {"section": "Accounts, tokens and requests"}
RATE_LIMITING_SECTION = {"section": "Rate limits"}
BROWSERS_SECTION = {"section": "Browsers (CORS)"}
WEB_APP_SECTION = {"section": "Web app"}
EXPERIMENTS_SECTION = {"section": "Experiments"}
NOT_USED_SECTION = {"section": "No longer used"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses to start without a `JWT_SECRET_KEY` of at least 32 characters that is "
        "hard to guess, answers `/docs`, `/openapi.json` and `/metrics` 404 unless `API_DOCS_ENABLED`, "
        "`METRICS_ENABLED` or `METRICS_TOKEN` turn them on, and adds a Strict-Transport-Security header to every "
        "answer. `development` makes up a JWT secret when none is set (see `JWT_SECRET_KEY`).",
        json_schema_extra=SERVICE_SECTION,
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address `cinelibre serve` listens on (its `--host` option wins); `0.0.0.0` in a container. "
        "The gunicorn command of the Procfile and the Dockerfile binds `0.0.0.0:$PORT` itself.",
        json_schema_extra=SERVICE_SECTION,
    )
    port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        description="Port `cinelibre serve` listens on (its `--port` option wins). The gunicorn command takes "
        "`$PORT` from the real environment, not from `.env`.",
        json_schema_extra=SERVICE_SECTION,
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="Least severe log records written (to stderr).",
        json_schema_extra=SERVICE_SECTION,
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="`json`: one JSON object per line, each with the request id, for log collectors; "
        "`text`: plain lines for reading in a terminal; `auto`: `text` when stderr is a terminal, `json` when "
        "it is not (a file, a pipe, a container's log) and always with `ENVIRONMENT=production`.",
        json_schema_extra=SERVICE_SECTION,
    )
    metrics_enabled: bool | None = Field(
        default=None,
        description="Serve `GET /metrics` in Prometheus' text format; `false` answers it 404. Unset: on in "
        "development; with `ENVIRONMENT=production` on only when `METRICS_TOKEN` is set.",
        examples=[True],
        json_schema_extra=SERVICE_SECTION,
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, `GET /metrics` answers only requests with `Authorization: Bearer <this token>` "
        "(others get 401); in Prometheus, the scrape job's `authorization: {credentials: ...}`. Unset: "
        "`/metrics` asks for no token, so keep it off the public network.",
        examples=["<a-long-random-token>"],
        json_schema_extra=SERVICE_SECTION,
    )
    api_docs_enabled: bool | None = Field(
        default=None,
        description="Serve the interactive API documentation (`/docs`, `/redoc`) and the OpenAPI schema "
        "(`/openapi.json`); when off they answer 404. Unset: on in development, off with "
        "`ENVIRONMENT=production`.",
        examples=[True],
        json_schema_extra=SERVICE_SECTION,
    )

    data_dir: Path = Field(
        default=Path.home() / ".cinelibre",
        validation_alias=AliasChoices("CINELIBRE_DATA_DIR", "data_dir"),
        description="Folder for the embedded PostgreSQL's files (`pgdata/`), the prepared copy of the bundled "
        "embedding model (`models/`) and the development JWT secret (`jwt-secret`). Default: `.cinelibre` in "
        "the home folder of the user running the service. Give an absolute path: `~` is not expanded.",
        examples=["/var/lib/cinelibre"],
        json_schema_extra={**DATABASE_SECTION, "shown_default": "~/.cinelibre"},
    )
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL 15 or later with the pgvector extension. Unset: CineLibre starts its embedded "
        "PostgreSQL, with its files in the data folder. On Supabase, press Connect in the dashboard and copy the "
        "session pooler (port 5432) or transaction pooler (port 6543) URI, with the database password filled in.",
        examples=["postgresql://postgres.<project-ref>:<password>@aws-0-<region>.pooler.supabase.com:5432/postgres"],
        json_schema_extra=DATABASE_SECTION,
    )
    database_read_url: str | None = Field(
        default=None,
        description="A read replica, or a read-only role on the same server: catalogue lists, popular items and "
        "similar items are read through it (and may lag the primary as the replica does); writes and everything "
        "about the caller use `DATABASE_URL`. It gets a connection pool of its own, sized like the primary's. "
        "Unset: everything goes to `DATABASE_URL`.",
        examples=["postgresql://postgres.<project-ref>:<password>@<replica-host>:5432/postgres"],
        json_schema_extra=DATABASE_SECTION,
    )
    database_transaction_pooler: bool | None = Field(
        default=None,
        description="Whether connections go through a transaction pooler, which cannot keep server-side prepared "
        "statements (CineLibre then prepares none). When set, it holds for `DATABASE_URL` and `DATABASE_READ_URL` "
        "alike. Unset: decided for each URL by its port, 6543 (Supabase's transaction pooler) meaning yes.",
        examples=[True],
        json_schema_extra=DATABASE_SECTION,
    )
    database_pool_min_size: int = Field(
        default=1,
        ge=0,
        le=100,
        description="Connections each process keeps open to each database (the primary, and the replica when "
        "`DATABASE_READ_URL` is set).",
        json_schema_extra=DATABASE_SECTION,
    )
    database_pool_max_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description="Most connections each process opens to each database. Counting every instance and scheduled "
        "job, keep the total under the database's connection limit.",
        json_schema_extra=DATABASE_SECTION,
    )
    database_pool_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a request waits for a free connection, while the database is up but busy, before "
        "it is answered 503. Once the database has stopped answering, requests wait at most 2 seconds.",
        json_schema_extra=DATABASE_SECTION,
    )
    database_statement_timeout_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Longest an API query may run before PostgreSQL cancels it and the request is answered 503 "
        "with `Retry-After` (0: no limit). Commands such as `cinelibre train`, `sync` and `import` run without "
        "this limit.",
        json_schema_extra=DATABASE_SECTION,
    )
    load_demo_catalogue: bool = Field(
        default=True,
        description="On start, load the bundled demo catalogue (films, books and the demo raters' ratings) into "
        "an empty catalogue. `cinelibre serve --no-demo` skips it for one run.",
        json_schema_extra=DATABASE_SECTION,
    )

    embedding_model: str = Field(
        default="all-MiniLM-L6-v2-int8",
        description="The model that embeds items and search queries, and the name their vectors are stored "
        "under. The default is the bundled all-MiniLM-L6-v2 quantised to int8 (installed with CineLibre, no "
        "download); any FastEmbed text model that makes 384-dimensional vectors can replace it. After a change, "
        "search ignores the old vectors until the items are embedded again by `cinelibre embed` or, with "
        "`EMBED_ON_START`, on the next start.",
        json_schema_extra=SEARCH_SECTION,
    )
    embedding_model_path: Path | None = Field(
        default=None,
        description="A folder holding `model.onnx`, `tokenizer.json` and `tokenizer_config.json`, loaded instead "
        "of the bundled or FastEmbed model; its vectors (384 dimensions) are stored under `EMBEDDING_MODEL`, so "
        "give that a name of its own. Unset: the bundled model, or FastEmbed's copy of `EMBEDDING_MODEL`.",
        examples=["/opt/models/my-model"],
        json_schema_extra=SEARCH_SECTION,
    )
    embedding_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="ONNX Runtime threads each process uses for embedding.",
        json_schema_extra=SEARCH_SECTION,
    )
    embedding_batch_size: int = Field(
        default=32,
        ge=1,
        le=1024,
        description="Most texts per model call when embedding the catalogue; long texts go fewer at a time, "
        "so that a batch's memory stays bounded.",
        json_schema_extra=SEARCH_SECTION,
    )
    query_embedding_cache_size: int = Field(
        default=1024,
        ge=0,
        le=1_000_000,
        description="Search query vectors each process keeps in memory, least recently used out first (0: none). "
        "With `REDIS_URL`, query vectors are also shared through Redis for a week.",
        json_schema_extra=SEARCH_SECTION,
    )
    search_relevance_floor: float = Field(
        default=0.45,
        ge=-1.0,
        le=1.0,
        description="For a search none of whose words the catalogue holds, the cosine similarity below which "
        "a hit is left out unless the query names it by its title or a person: a query that means nothing to "
        "the catalogue then finds nothing, and the answer carries a `hint`. Calibrated for the bundled model "
        "(docs/search.md); another model needs its own value. A caller's `threshold` above it cuts further.",
        json_schema_extra=SEARCH_SECTION,
    )
    embed_on_start: bool = Field(
        default=True,
        description="After start, embed new or changed catalogue items (and items another model embedded) in "
        "the background while the API serves.",
        json_schema_extra=SEARCH_SECTION,
    )

    redis_url: str | None = Field(
        default=None,
        description="Redis shared by every instance for the caches (popular, personalized, search and similar "
        "answers, query vectors) and the rate-limit counters. Unset: each process keeps its own cache (see "
        "`CACHE_MAX_MEGABYTES`) and counts rate limits alone, so N instances allow N times the limits. A Redis "
        "that fails or takes over 250 ms counts as a cache miss and lets rate-limited requests through, with a "
        "warning. Deployments sharing one Redis server should each use their own database number.",
        examples=["redis://:<password>@<host>:6379/0"],
        json_schema_extra=CACHING_SECTION,
    )
    popular_cache_seconds: float = Field(
        default=30,
        ge=0,
        le=86_400,
        description="Seconds a popular list is served from the cache: new ratings show there after at most this "
        "long (plus the replica's lag with `DATABASE_READ_URL`). 0: not cached.",
        json_schema_extra=CACHING_SECTION,
    )
    personalized_cache_seconds: float = Field(
        default=300,
        ge=0,
        le=86_400,
        description="Longest a personalized list is served from the cache. The user's own ratings, rating "
        "removals and interactions, and a newly trained model, replace it at once on every instance; new "
        "catalogue items show within this long. 0: not cached.",
        json_schema_extra=CACHING_SECTION,
    )
    search_cache_seconds: float = Field(
        default=60,
        ge=0,
        le=86_400,
        description="Longest a semantic search answer is served from the cache. New vectors and new items "
        "replace it at once on every instance; answers while items wait for their vectors are never cached. "
        "0: not cached.",
        json_schema_extra=CACHING_SECTION,
    )
    similar_cache_seconds: float = Field(
        default=300,
        ge=0,
        le=86_400,
        description="Seconds a similar-items list is served from the cache: new models and embeddings show there "
        "after at most this long. 0: not cached.",
        json_schema_extra=CACHING_SECTION,
    )
    cache_max_megabytes: float = Field(
        default=32,
        ge=0,
        le=100_000,
        description="Size of each process's own cache in megabytes of cached answers, least recently used out "
        "first (a personalized list takes about 15 kB). Not used with `REDIS_URL`.",
        json_schema_extra=CACHING_SECTION,
    )

    retrain_after_new_ratings: int = Field(
        default=1000,
        ge=0,
        description="The API trains new rating and ranking models in a child process (`cinelibre train`) once "
        "there are this many more ratings than the active models learnt from. 0: never; then run `cinelibre "
        "train` on a schedule, which is the way where the API and a training run do not both fit in memory "
        "(a 512 MB instance).",
        json_schema_extra=MODELS_SECTION,
    )
    retrain_check_seconds: float = Field(
        default=600,
        gt=0,
        description="How often, in seconds, the API checks whether retraining is due.",
        json_schema_extra=MODELS_SECTION,
    )
    ranking_model_max_items: int = Field(
        default=5000,
        ge=10,
        le=40_000,
        description="Training considers at most this many of the most-rated items: the ranking model (EASE) "
        "learns over them and the rating model finds each item's neighbours among them. The ranking model "
        "needs about 4 bytes × this² of memory (100 MB at 5,000) on top of the ratings; lower it where "
        "training runs short of memory.",
        json_schema_extra=MODELS_SECTION,
    )

    tmdb_api_key: SecretStr | None = Field(
        default=None,
        description="TMDB credentials: a v3 API key (sent as the `api_key` parameter) or a v4 read access token "
        "(recognised by its JWT shape and sent as a Bearer header). Unset: `cinelibre sync` skips films.",
        examples=["<your-tmdb-api-key>"],
        json_schema_extra=SYNC_SECTION,
    )
    tmdb_api_base_url: str = Field(
        default="https://api.themoviedb.org/3",
        description="Where TMDB's API v3 answers; tests and mirrors point it elsewhere.",
        json_schema_extra=SYNC_SECTION,
    )
    tmdb_languages: list[LanguageCode] = Field(
        default=["hi", "ta", "te", "ml", "kn", "bn", "mr", "pa"],
        description="Original languages whose most popular films are synced (ISO 639 codes). `cinelibre sync "
        "--languages hi,ta` replaces them for one run.",
        json_schema_extra=SYNC_SECTION,
    )
    tmdb_films_per_language: int = Field(
        default=260,
        ge=1,
        le=10_000,
        description="Most popular films synced per language (8 languages × 260 = 2,080 films by default).",
        json_schema_extra=SYNC_SECTION,
    )
    google_books_api_key: SecretStr | None = Field(
        default=None,
        description="Google Books API key; optional, it raises the daily quota. Unset: anonymous requests.",
        examples=["<your-google-books-api-key>"],
        json_schema_extra=SYNC_SECTION,
    )
    google_books_api_base_url: str = Field(
        default="https://www.googleapis.com/books/v1",
        description="Where Google Books' API v1 answers; tests and mirrors point it elsewhere.",
        json_schema_extra=SYNC_SECTION,
    )
    google_books_queries: list[str] = Field(
        default=[
            "subject:fiction india",
            "indian literature",
            "indian english novel",
            "hindi literature",
            "tamil literature",
            "bengali literature",
            "indian history",
            "indian mythology",
            "subject:mystery",
            "subject:science fiction",
            "subject:fantasy",
            "subject:romance",
            "subject:biography",
            "subject:thriller",
        ],
        description="Google Books searches whose volumes are synced; Google's operators such as `subject:` work.",
        json_schema_extra=SYNC_SECTION,
    )
    google_books_per_query: int = Field(
        default=80,
        ge=1,
        le=1000,
        description="Most volumes fetched per search (Google Books hands them out 40 at a time).",
        json_schema_extra=SYNC_SECTION,
    )
    google_books_language: LanguageCode | None = Field(
        default=None,
        description="Restrict every search to one language (Google's `langRestrict`, an ISO 639 code). "
        "Unset: any language.",
        examples=["en"],
        json_schema_extra=SYNC_SECTION,
    )
    sync_requests_per_second: float = Field(
        default=20.0,
        gt=0,
        le=1000,
        description="Upstream requests per second, evenly spaced; TMDB allows about 50, so the default stays "
        "well inside.",
        json_schema_extra=SYNC_SECTION,
    )
    sync_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Upstream requests in flight at once.",
        json_schema_extra=SYNC_SECTION,
    )
    sync_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Seconds one upstream request may take.",
        json_schema_extra=SYNC_SECTION,
    )
    sync_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Tries per upstream request (after a 429, a 5xx answer, a timeout or a network error) "
        "before that item or page is given up and the run goes on.",
        json_schema_extra=SYNC_SECTION,
    )
    sync_backoff_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Seconds before the first retry, plus a random jitter of up to as much again; the wait "
        "doubles with each retry, up to 30 seconds. An answer's `Retry-After` is waited instead, and one of "
        "more than 120 seconds fails the request at once.",
        json_schema_extra=SYNC_SECTION,
    )

    jwt_secret_key: SecretStr | None = Field(
        default=None,
        description="The key that signs access tokens (HS256), at least 32 characters, the same on every "
        "instance; required when `ENVIRONMENT=production`, which also refuses one that repeats itself or uses "
        "few distinct characters (under about 128 bits of estimated entropy). Unset in development: a random "
        "key is generated once and kept in the data folder. Make one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`.",
        examples=["CHANGE_ME"],
        json_schema_extra=AUTH_SECTION,
    )
    access_token_expire_minutes: int = Field(
        default=7 * 24 * 60,
        ge=1,
        description="Access token lifetime in minutes (10080: 7 days).",
        json_schema_extra=AUTH_SECTION,
    )
    jwt_issuer: str | None = Field(
        default=DEFAULT_JWT_ISSUER,
        description="Issuer (`iss`) written into access tokens; tokens naming another are refused, so a token "
        "made for another service that shares the key does not open this one. Empty: no such claim is written "
        "or checked.",
        json_schema_extra=AUTH_SECTION,
    )
    jwt_audience: str | None = Field(
        default=DEFAULT_JWT_AUDIENCE,
        description="Audience (`aud`) written into access tokens and required of them, like `JWT_ISSUER`. "
        "Empty: no such claim is written or checked.",
        json_schema_extra=AUTH_SECTION,
    )
    bcrypt_rounds: int = Field(
        default=12,
        ge=4,
        le=16,
        description="bcrypt cost factor for new password hashes; each step doubles the hashing time.",
        json_schema_extra=AUTH_SECTION,
    )
    max_request_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Request bodies larger than this many bytes (65536: 64 KiB) are answered 413, whether or "
        "not they declare their length.",
        json_schema_extra=AUTH_SECTION,
    )
    max_request_url_bytes: int = Field(
        default=8 * 1024,
        ge=1024,
        description="A request whose path and query string together are longer than this many bytes (8192: "
        "8 KiB) is answered 414 before any route, log filter or validation reads them.",
        json_schema_extra=AUTH_SECTION,
    )
    max_request_header_bytes: int = Field(
        default=16 * 1024,
        ge=4096,
        description="A request whose header names and values together are larger than this many bytes (16384: "
        "16 KiB) is answered 431 before any token, cookie or request id in them is read.",
        json_schema_extra=AUTH_SECTION,
    )
    request_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        description="A request that has not begun its answer after this many seconds is answered 503 with "
        "`Retry-After`, and its work is cancelled: the bound on a request when the database or the network "
        "to it stops answering without closing the connection. Keep it above "
        "`DATABASE_POOL_TIMEOUT_SECONDS` + `DATABASE_STATEMENT_TIMEOUT_SECONDS`.",
        json_schema_extra=AUTH_SECTION,
    )

    rate_limits: Literal["on", "off"] = Field(
        default="on",
        description="`off` lifts every rate limit below and the login backoff, not the interaction quotas (for "
        "load tests and trusted networks). "
        "Counters are kept in Redis when `REDIS_URL` is set, else in each process. A limit reads like "
        "`10/minute` or `100 per 2 hours` (second, minute, hour, day, month or year).",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    login_rate_limit: str = Field(
        default="10/minute",
        description="Login attempts per client address (an IPv6 client counts by its /64 network). Behind a "
        "proxy, see `FORWARDED_ALLOW_IPS`.",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    login_account_rate_limit: str = Field(
        default="5/minute",
        description="Failed logins per email, from any address, whether or not an account has that email. "
        "Once over, the addresses that failed for that email are refused until the window has room; an address "
        "that has not failed for it still has its password checked, so guessing from elsewhere never locks the "
        "owner out. Changing the password and deleting the account check a password too and count here.",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    register_rate_limit: str = Field(
        default="10/hour",
        description="Registrations per client address.",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    login_backoff_after_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="After this many failed logins in a row for one email from one client address, each further "
        "attempt from that address is refused (429) until 2^(failures − this) seconds have passed: 1, 2, 4, ... "
        "seconds; other addresses are not held up. A successful login from the address starts the count again; "
        "failures are forgotten a day after the first.",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    login_backoff_max_seconds: int = Field(
        default=900,
        ge=1,
        le=86_400,
        description="Longest wait, in seconds, that the login backoff imposes.",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    search_rate_limit: str = Field(
        default="60/minute",
        description="Semantic searches and `/search/status` calls per client address, and again per signed-in "
        "user (from any address): a person using the web app stays well under it.",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    recommendation_rate_limit: str = Field(
        default="60/minute",
        description="Recommendation requests (popular, personalized, similar and predicted ratings) per client "
        "address, and again per signed-in user (from any address).",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    interactions_per_minute: int = Field(
        default=120,
        ge=0,
        le=1_000_000,
        description="Most interactions one account records in a minute, counting the searches a signed-in user "
        "makes (each is recorded). Over it, recording answers 429 and writes nothing. 0: no such quota. Not "
        "lifted by `RATE_LIMITS=off`: it bounds what an account keeps.",
        json_schema_extra=RATE_LIMITING_SECTION,
    )
    interactions_per_day: int = Field(
        default=5000,
        ge=0,
        le=10_000_000,
        description="Most interactions one account records in 24 hours, as `INTERACTIONS_PER_MINUTE`. 0: no such "
        "quota.",
        json_schema_extra=RATE_LIMITING_SECTION,
    )

    cors_origins: list[str] = Field(
        default=[],
        description="Browser origins whose pages may call the API: scheme, host and optional port, no path "
        'and no trailing slash, e.g. `["https://cinelibre.example"]`; `["*"]` allows any. Empty: no '
        "cross-origin access.",
        json_schema_extra=BROWSERS_SECTION,
    )
    cors_allow_credentials: bool = Field(
        default=False,
        description='Let those origins send cookies; Bearer tokens do not need it. Refused together with `["*"]`.',
        json_schema_extra=BROWSERS_SECTION,
    )

    exposure_queue_size: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Served lists waiting to be written to `list_exposures`, per process. When the database "
        "falls behind and the queue is full, further lists are not recorded (the answer is unaffected) and "
        "counted in `cinelibre_exposures_dropped`.",
        json_schema_extra=EXPERIMENTS_SECTION,
    )
    exposure_flush_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often each process writes the lists it served to the database, in one batch.",
        json_schema_extra=EXPERIMENTS_SECTION,
    )
    exposure_retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Lists served outside any experiment are deleted after this many days; lists of an "
        "experiment are kept with it.",
        json_schema_extra=EXPERIMENTS_SECTION,
    )
    experiments_refresh_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long a process goes on using the running experiments it read: the instance that "
        "starts, pauses or stops an experiment applies it at once, the others within this long. 0: read them "
        "for every list.",
        json_schema_extra=EXPERIMENTS_SECTION,
    )
    experiment_rating_window_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="An experiment counts an exposed item as rated when its user rates it within this many "
        "days of first seeing it in a list.",
        json_schema_extra=EXPERIMENTS_SECTION,
    )

    web_app_enabled: bool = Field(
        default=True,
        description="Serve the web app on the API's origin: a browser opening a page (`/`, `/movies/12`, "
        "`/search?q=x`) gets the app's `index.html`, its files come from `/assets/`; API clients keep getting "
        "JSON. `false`: the API alone, and a browser opening `/` gets the JSON status as any client does.",
        json_schema_extra=WEB_APP_SECTION,
    )
    web_app_dir: Path = Field(
        default=SOURCE_CHECKOUT / "web",
        description="The web app's folder: its sources (`package.json`, `src/`) and, once built, `dist/`, which "
        "is what the API serves. Default: `web/` of the CineLibre checkout.",
        examples=["/srv/cinelibre/web"],
        json_schema_extra={**WEB_APP_SECTION, "shown_default": "web/ of the checkout"},
    )
    web_build: Literal["auto", "never"] = Field(
        default="auto",
        description="`auto`: `cinelibre serve` builds the web app (`npm ci` when its packages are missing or "
        "older than `package-lock.json`, then `npm run build`) when `dist/` is missing or older than its sources, "
        "and serves the API without it when that fails or npm is not installed. `never`: serve `dist/` as it is "
        "(build it with `cinelibre web build`).",
        json_schema_extra=WEB_APP_SECTION,
    )

    supabase_url: str | None = Field(
        default=None,
        description="Supabase's client settings (`SUPABASE_URL`/`SUPABASE_KEY`), which older set-ups used. "
        "CineLibre talks to PostgreSQL directly and reads them only to explain the change: set without "
        "`DATABASE_URL`, they stop the service with directions to the connection string to copy into "
        "`DATABASE_URL`.",
        examples=["https://<project-ref>.supabase.co"],
        json_schema_extra=NOT_USED_SECTION,
    )
    supabase_key: SecretStr | None = Field(
        default=None,
        description="The Supabase API key of older set-ups; not used, read only as `SUPABASE_URL` is.",
        examples=["<service-role-key>"],
        json_schema_extra=NOT_USED_SECTION,
    )

    @field_validator("jwt_issuer", "jwt_audience")
    @classmethod
    def _empty_means_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator(
        "login_rate_limit",
        "login_account_rate_limit",
        "register_rate_limit",
        "search_rate_limit",
        "recommendation_rate_limit",
    )
    @classmethod
    def _is_a_rate_limit(cls, value: str) -> str:
        parse_rate_limit(value)  # raises ValueError with the offending text
        return value

    @model_validator(mode="after")
    def _check_cors(self) -> "Settings":
        for origin in self.cors_origins:
            if origin != "*" and not ORIGIN_PATTERN.match(origin):
                raise ConfigurationError(
                    f"CORS_ORIGINS entry {origin!r} is not an origin: write scheme, host and port only, "
                    "e.g. https://cinelibre.example (no path, no trailing slash)."
                )
        if "*" in self.cors_origins and self.cors_allow_credentials:
            raise ConfigurationError(
                'CORS_ORIGINS ["*"] cannot be combined with CORS_ALLOW_CREDENTIALS=true: list the origins instead.'
            )
        return self

    @model_validator(mode="after")
    def _check_secrets(self) -> "Settings":
        secret = self.jwt_secret_key.get_secret_value() if self.jwt_secret_key else None
        if self.environment == "production" and (secret is None or len(secret) < MIN_JWT_SECRET_LENGTH):
            raise ConfigurationError(
                f"JWT_SECRET_KEY must be set to at least {MIN_JWT_SECRET_LENGTH} characters when "
                f"ENVIRONMENT=production. {MAKE_A_JWT_SECRET}"
            )
        if secret is not None and len(secret) < MIN_JWT_SECRET_LENGTH:
            raise ConfigurationError(f"JWT_SECRET_KEY must be at least {MIN_JWT_SECRET_LENGTH} characters long.")
        if self.environment == "production" and secret is not None:
            bits = estimated_entropy_bits(secret)
            if bits < MIN_JWT_SECRET_BITS:
                raise ConfigurationError(
                    f"JWT_SECRET_KEY is too easy to guess: about {bits:.0f} bits of entropy, at least "
                    f"{MIN_JWT_SECRET_BITS} needed (it repeats itself or uses few distinct characters). "
                    f"{MAKE_A_JWT_SECRET}"
                )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def serves_api_docs(self) -> bool:
        return self.is_development if self.api_docs_enabled is None else self.api_docs_enabled

    @property
    def serves_metrics(self) -> bool:
        if self.metrics_enabled is not None:
            return self.metrics_enabled
        return self.is_development or self.metrics_token is not None

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits == "on"

    @property
    def uses_transaction_pooler(self) -> bool:
        return self.transaction_pooler_at(self.database_url)

    def transaction_pooler_at(self, url: str | None) -> bool:
        """Whether connections to `url` go through a transaction pooler (DATABASE_TRANSACTION_POOLER
        decides for every URL when set)."""
        if self.database_transaction_pooler is not None:
            return self.database_transaction_pooler
        if not url:
            return False
        return urlsplit(url).port == SUPABASE_TRANSACTION_POOLER_PORT

    def check_database_configuration(self) -> None:
        """Stop early, with directions, when only Supabase's client settings (SUPABASE_URL/SUPABASE_KEY,
        which older set-ups used) are present."""
        if self.database_url is None and (self.supabase_url or self.supabase_key):
            raise ConfigurationError(
                "SUPABASE_URL/SUPABASE_KEY are set but DATABASE_URL is not. CineLibre talks to PostgreSQL "
                "directly: set DATABASE_URL to your project's connection string. In the Supabase dashboard "
                "press 'Connect' (Project Settings > Database) and copy the URI of the Session pooler "
                "(port 5432) or of the Transaction pooler (port 6543), with your database password filled "
                "in, e.g. postgresql://postgres.<project-ref>:<password>@aws-0-<region>.pooler.supabase.com:6543/postgres"
            )


class EnvironmentVariable(NamedTuple):
    """A variable that other programs read from the real environment (a `.env` line does not reach
    them); documented with the settings because it configures the service all the same."""

    name: str
    default: str
    example: str
    description: str


OTHER_ENVIRONMENT_VARIABLES = (
    EnvironmentVariable(
        "FORWARDED_ALLOW_IPS",
        "127.0.0.1",
        "10.0.0.0/8",
        "Addresses of the proxy or load balancer in front of the service, read by uvicorn (`cinelibre serve`) "
        "and gunicorn: for requests from them the client address comes from `X-Forwarded-For`, so rate limits "
        "count clients rather than the proxy. `*` trusts every sender: use it only where nothing but the proxy "
        "can reach the service, and even then a client can write the address it is counted under (the "
        "per-account limits and the login backoff still hold).",
    ),
    EnvironmentVariable(
        "OMP_NUM_THREADS",
        "1",
        "1",
        "OpenMP threads of numerical libraries. CineLibre sets this and the next two to 1 unless the "
        "environment already does: on a small instance one worker serves everything, and a thread per core "
        "would compete with it.",
    ),
    EnvironmentVariable("OPENBLAS_NUM_THREADS", "1", "1", "OpenBLAS threads (numpy, SciPy)."),
    EnvironmentVariable("MKL_NUM_THREADS", "1", "1", "Intel MKL threads, where numpy is built with MKL."),
)


@lru_cache
def get_settings() -> Settings:
    return Settings()
