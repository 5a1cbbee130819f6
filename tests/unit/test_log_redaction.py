"""Secrets never reach a log line, whatever field they hide in."""

from __future__ import annotations

from pcem.logs import REDACTED, redact_secrets

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"


def redacted(**event: object) -> dict[str, object]:
    return dict(redact_secrets(None, "info", dict(event)))


def test_values_under_secret_sounding_keys_are_replaced() -> None:
    event = redacted(authorization="Bearer abc", webhook_secret="s3", password="p", ok="fine")

    assert event == {
        "authorization": REDACTED,
        "webhook_secret": REDACTED,
        "password": REDACTED,
        "ok": "fine",
    }


def test_jwts_and_bearer_credentials_are_cut_out_of_any_text() -> None:
    event = redacted(event="header was Bearer abc.def-ghi", error=f"cannot decode {JWT} here")

    assert event["event"] == f"header was {REDACTED}"
    assert event["error"] == f"cannot decode {REDACTED} here"


def test_nested_structures_such_as_rendered_exceptions_are_scrubbed() -> None:
    event = redacted(exception=[{"exc_value": f"bad token {JWT}", "frames": [{"token": "x"}]}])

    assert JWT not in str(event)
    assert event["exception"][0]["frames"][0]["token"] == REDACTED  # type: ignore[index]


def test_ordinary_fields_are_left_alone() -> None:
    event = redacted(event="http.request", route="/api/v1/people/{person_id}", status=200)

    assert event == {"event": "http.request", "route": "/api/v1/people/{person_id}", "status": 200}
