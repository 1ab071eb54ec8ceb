import os
import secrets
import stat
import subprocess
import sys

import pytest
from psycopg.rows import dict_row

from cinelibre.auth.security import resolve_jwt_secret
from cinelibre.database.connection import connection_kwargs
from cinelibre.settings import ConfigurationError, Settings, estimated_entropy_bits


def test_production_refuses_to_start_without_a_jwt_secret() -> None:
    with pytest.raises(ConfigurationError, match="JWT_SECRET_KEY must be set to at least 32 characters"):
        Settings(_env_file=None, environment="production")


def test_short_jwt_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        Settings(_env_file=None, environment="production", jwt_secret_key="too-short")


def test_development_secret_is_generated_once_and_kept_private(tmp_path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)

    first = resolve_jwt_secret(settings)
    second = resolve_jwt_secret(settings)

    assert first == second
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / "jwt-secret").stat().st_mode) == 0o600


def test_supabase_port_6543_turns_on_transaction_pooler_mode() -> None:
    pooled = Settings(_env_file=None, database_url="postgresql://u:p@aws-0-eu.pooler.supabase.com:6543/postgres")
    session = Settings(_env_file=None, database_url="postgresql://u:p@aws-0-eu.pooler.supabase.com:5432/postgres")

    assert pooled.uses_transaction_pooler is True
    assert session.uses_transaction_pooler is False


def test_a_read_url_through_the_transaction_pooler_gets_pooler_connections() -> None:
    settings = Settings(
        _env_file=None,
        database_url="postgresql://u:p@db.example.supabase.co:5432/postgres",
        database_read_url="postgresql://u:p@aws-0-eu.pooler.supabase.com:6543/postgres",
    )

    assert connection_kwargs(settings)["row_factory"] is dict_row
    assert "prepare_threshold" not in connection_kwargs(settings)
    assert connection_kwargs(settings, settings.database_read_url)["prepare_threshold"] is None


def test_supabase_client_settings_without_database_url_stop_startup_with_directions(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_KEY": "key", "CINELIBRE_DATA_DIR": str(tmp_path)}

    result = subprocess.run(
        [sys.executable, "-m", "cinelibre", "serve"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )

    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "Transaction pooler" in result.stderr
    assert not (tmp_path / "pgdata").exists()


@pytest.mark.parametrize(
    "secret",
    [
        "a" * 64,
        "ab" * 32,
        "password" * 5,
        "correcthorsebatterystaple" * 3,
        "0123456789" * 4,
        "CHANGE_ME_" * 4,
    ],
)
def test_production_refuses_a_long_but_guessable_jwt_secret(secret: str) -> None:
    with pytest.raises(ConfigurationError, match=r"too easy to guess.*secrets\.token_urlsafe\(32\)"):
        Settings(_env_file=None, environment="production", jwt_secret_key=secret)


def test_production_accepts_generated_jwt_secrets() -> None:
    generated = [secrets.token_urlsafe(32) for _ in range(200)] + [secrets.token_hex(32) for _ in range(200)]

    accepted = [Settings(_env_file=None, environment="production", jwt_secret_key=s) for s in generated]

    assert len(accepted) == 400


@pytest.mark.parametrize(
    ("secret", "bits"),
    [
        ("a" * 40, 0.0),
        ("ab" * 20, 2.0),
        ("abcd" * 10, 8.0),
        ("abcdabcdab", pytest.approx(7.884, abs=1e-3)),
        ("abcdefgh", 24.0),
    ],
)
def test_entropy_is_estimated_over_the_unit_a_secret_repeats(secret: str, bits: object) -> None:
    assert estimated_entropy_bits(secret) == bits
