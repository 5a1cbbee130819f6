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
        ("PCEM_DATABASE_URL", "postgresql://u:pw@db:abc/pcem", "has port 'abc'"),
        ("PCEM_DATABASE_URL", "postgresql://a:5432,b:99999/pcem", "has port '99999'"),
        ("PCEM_REDIS_URL", "redis://r:abc/0", "PCEM_REDIS_URL has port 'abc'"),
        ("PCEM_BROKER_URL", "amqp://g:g@[::1]:x//", "PCEM_BROKER_URL has port 'x'"),
        ("PCEM_LOG_LEVEL", "LOUD", "PCEM_LOG_LEVEL must be one of"),
        ("PCEM_JWT_SECRET", "short", "at least 32 characters"),
        ("PCEM_JWT_PUBLIC_KEY", "not a key", "must be a PEM public key"),
        ("PCEM_JWT_JWKS_FILE", "/nonexistent/jwks.json", "missing file"),
        ("PCEM_RATE_LIMIT_PER_MINUTE", "0", "from 1 to 10000000, not '0'"),
        ("PCEM_RATE_LIMIT_PER_MINUTE", "100/minute", "PCEM_RATE_LIMIT_PER_MINUTE must be"),
        ("PCEM_RATE_LIMIT_ANON_PER_MINUTE", "²", "PCEM_RATE_LIMIT_ANON_PER_MINUTE must be"),
        ("PCEM_TRUSTED_PROXIES", "10.0.0.1,*", "PCEM_TRUSTED_PROXIES must be IP addresses"),
        ("PCEM_TRUSTED_PROXIES", "proxy.local", "not 'proxy.local'"),
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


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@[::1]:5432/pcem",
        "postgresql://a:5432,b:5433/pcem",
        "postgresql:///pcem?host=/run/postgresql",
    ],
)
def test_database_urls_with_good_ports_or_none_are_accepted(url: str) -> None:
    assert load_settings({**GOOD, "PCEM_DATABASE_URL": url}).require_database()


def test_missing_database_url_is_reported_when_needed() -> None:
    settings = load_settings({})

    with pytest.raises(ConfigError, match="PCEM_DATABASE_URL is not set"):
        settings.require_database()


SMTP = {"PCEM_SMTP_HOST": "smtp.example.org", "PCEM_SMTP_FROM": "PCEM <reminders@example.org>"}
SMS = {
    "PCEM_SMS_ACCOUNT_SID": "AC" + "0" * 32,
    "PCEM_SMS_AUTH_TOKEN": "twilio-auth-token-value",
    "PCEM_SMS_FROM": "+15005550006",
}


def test_channels_are_unconfigured_by_default_and_webhooks_wait_ten_seconds() -> None:
    channels = load_settings(GOOD).channels

    assert channels.smtp is None
    assert channels.sms is None
    assert channels.webhook.timeout_seconds == 10.0


def test_smtp_is_read_with_the_submission_port_when_starttls_is_on() -> None:
    smtp = load_settings(
        {
            **SMTP,
            "PCEM_SMTP_STARTTLS": "yes",
            "PCEM_SMTP_USERNAME": "pcem",
            "PCEM_SMTP_PASSWORD": "hunter2-hunter2",
            "PCEM_SMTP_TIMEOUT_SECONDS": "2.5",
        }
    ).channels.smtp

    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.starttls, smtp.timeout_seconds) == (
        "smtp.example.org",
        587,
        True,
        2.5,
    )
    assert smtp.sender_domain == "example.org"
    assert load_settings(SMTP).channels.smtp.port == 25  # type: ignore[union-attr]


def test_sms_is_read_with_twilio_as_the_default_base_url() -> None:
    sms = load_settings({**SMS, "PCEM_SMS_BASE_URL": "http://127.0.0.1:9999/"}).channels.sms

    assert sms is not None
    assert sms.base_url == "http://127.0.0.1:9999"
    assert load_settings(SMS).channels.sms.base_url == "https://api.twilio.com"  # type: ignore[union-attr]


def test_channel_secrets_stay_out_of_the_settings_repr() -> None:
    settings = load_settings(
        {**SMTP, **SMS, "PCEM_SMTP_USERNAME": "pcem", "PCEM_SMTP_PASSWORD": "hunter2-hunter2"}
    )

    assert "hunter2-hunter2" not in repr(settings)
    assert "twilio-auth-token-value" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"PCEM_SMTP_FROM": "a@example.org"}, "PCEM_SMTP_FROM is set but PCEM_SMTP_HOST is not"),
        ({"PCEM_SMTP_HOST": "smtp.example.org"}, "PCEM_SMTP_FROM is required"),
        ({**SMTP, "PCEM_SMTP_HOST": "smtp://x"}, "PCEM_SMTP_HOST must be a host name"),
        ({**SMTP, "PCEM_SMTP_FROM": "nobody"}, "PCEM_SMTP_FROM must be an ASCII address"),
        ({**SMTP, "PCEM_SMTP_FROM": "zoë@exämple.org"}, "PCEM_SMTP_FROM must be an ASCII"),
        ({**SMTP, "PCEM_SMTP_PORT": "70000"}, "PCEM_SMTP_PORT must be a port number"),
        ({**SMTP, "PCEM_SMTP_STARTTLS": "maybe"}, "PCEM_SMTP_STARTTLS must be true or false"),
        ({**SMTP, "PCEM_SMTP_USERNAME": "pcem"}, "must be set together"),
        ({**SMTP, "PCEM_SMTP_TIMEOUT_SECONDS": "0"}, "PCEM_SMTP_TIMEOUT_SECONDS must be a number"),
        ({"PCEM_SMS_AUTH_TOKEN": "t"}, "PCEM_SMS_AUTH_TOKEN is set but PCEM_SMS_ACCOUNT_SID"),
        ({**SMS, "PCEM_SMS_AUTH_TOKEN": ""}, "PCEM_SMS_AUTH_TOKEN is required"),
        ({**SMS, "PCEM_SMS_ACCOUNT_SID": "AC/../x"}, "PCEM_SMS_ACCOUNT_SID must be an account id"),
        ({**SMS, "PCEM_SMS_FROM": "015112345678"}, "PCEM_SMS_FROM must be an E.164 number"),
        ({**SMS, "PCEM_SMS_BASE_URL": "ftp://x"}, "PCEM_SMS_BASE_URL must be an http"),
        ({**SMS, "PCEM_SMS_BASE_URL": "https://u:p@x"}, "PCEM_SMS_BASE_URL must be a plain URL"),
        ({"PCEM_WEBHOOK_TIMEOUT_SECONDS": "ten"}, "PCEM_WEBHOOK_TIMEOUT_SECONDS must be a number"),
        ({"PCEM_WEBHOOK_TIMEOUT_SECONDS": "nan"}, "PCEM_WEBHOOK_TIMEOUT_SECONDS must be a number"),
        ({"PCEM_WEBHOOK_TIMEOUT_SECONDS": "301"}, "at most 300"),
    ],
)
def test_bad_channel_configuration_is_one_clear_line(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({**GOOD, **env})

    assert complaint in str(error.value)
    assert "\n" not in str(error.value)


def test_an_alphanumeric_sms_sender_id_is_accepted() -> None:
    sms = load_settings({**SMS, "PCEM_SMS_FROM": "PCEM"}).channels.sms

    assert sms is not None and sms.sender == "PCEM"


def test_rate_limits_default_to_600_a_user_and_60_an_address_trusting_no_proxy() -> None:
    limits = load_settings(GOOD).rate_limits

    assert (limits.per_user_per_minute, limits.anonymous_per_minute) == (600, 60)
    assert limits.trusted_proxies == ()


def test_trusted_proxies_are_addresses_and_networks() -> None:
    env = {**GOOD, "PCEM_TRUSTED_PROXIES": " 10.0.0.5, 10.1.0.0/16 ,::1"}

    assert load_settings(env).rate_limits.trusted_proxies == ("10.0.0.5", "10.1.0.0/16", "::1")
