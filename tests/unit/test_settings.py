from __future__ import annotations

from pathlib import Path

import pytest

from pcem.settings import ConfigError, load_settings

GOOD = {
    "PCEM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/pcem",
    "PCEM_REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_valid_environment_is_read() -> None:
    settings = load_settings({**GOOD, "PCEM_LOG_LEVEL": "debug", "PCEM_DATA_DIR": "/tmp/x"})

    assert (
        settings.require_database().sqlalchemy_url
        == "postgresql+psycopg://postgres@127.0.0.1:5432/pcem"
    )
    assert settings.require_redis().broker_url == "redis://127.0.0.1:6379/0"
    assert settings.log_level == "DEBUG"
    assert settings.data_dir == Path("/tmp/x")


def test_broker_defaults_to_redis_and_unix_sockets_are_translated_for_celery() -> None:
    settings = load_settings({**GOOD, "PCEM_REDIS_URL": "unix:///tmp/redis.sock"})

    assert settings.require_redis().broker_url == "redis+socket:///tmp/redis.sock"


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        (
            "PCEM_DATABASE_URL",
            "mysql://localhost/pcem",
            "PCEM_DATABASE_URL must be a postgresql:// URL",
        ),
        ("PCEM_DATABASE_URL", "postgresql://localhost", "must name a database"),
        ("PCEM_REDIS_URL", "http://localhost", "PCEM_REDIS_URL must be a URL"),
        ("PCEM_BROKER_URL", "kafka://localhost", "PCEM_BROKER_URL must be a URL"),
        ("PCEM_LOG_LEVEL", "LOUD", "PCEM_LOG_LEVEL must be one of"),
        ("PCEM_JWT_SECRET", "short", "at least 32 characters"),
        ("PCEM_JWT_PUBLIC_KEY", "not a key", "must be a PEM public key"),
        ("PCEM_JWT_JWKS_FILE", "/nonexistent/jwks.json", "missing file"),
    ],
)
def test_bad_value_is_one_clear_line_naming_the_variable(
    name: str, value: str, complaint: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({**GOOD, name: value})

    message = str(error.value)
    assert complaint in message
    assert name in message or name == "PCEM_DATABASE_URL"
    assert "\n" not in message


def test_missing_database_url_is_reported_when_needed() -> None:
    settings = load_settings({})

    with pytest.raises(ConfigError, match="PCEM_DATABASE_URL is not set"):
        settings.require_database()
