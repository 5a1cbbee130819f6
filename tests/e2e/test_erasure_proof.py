"""Erasure that holds, proved from outside: real `pcem api`, `projector`, `worker` and
`scheduler` processes; reminders sent and pending, an import, a calendar feed; then one
person purged and one account erased. A `pg_dump` of the whole database and every
process's log hold none of what was erased — while another person of the same user,
and another user, are still found whole — and a rebuild verifies clean.

Strings are searched as they would sit in the dump: as text (read tables, JSON) and as
the hexadecimal pg_dump writes a ``bytea`` in (the event store's ``state``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pgserver
import pytest

from pcem.settings import Settings
from tests.conftest import TokenFactory
from tests.e2e.notification_helpers import next_minute
from tests.integration.api_helpers import bearer
from tests.integration.projection_helpers import pcem_env
from tests.integration.receivers import Answer, Mailbox, Request, http_server, smtp_server
from tests.polling import wait_until

pytestmark = pytest.mark.slow

TAG = secrets.token_hex(3)  # this run's own strings: nothing else in the database has them


def words(*parts: str) -> list[str]:
    return [f"{part}{TAG}" for part in parts]


# The person purged (user "keeper"), and what only they carried.
PURGED = words(
    "Quillonwy", "Zarathustrel", "Bramblefoot", "+1555010", "purged-mail-", "Verbena-note-"
)
# The account erased (user "leaver"): people, an imported contact, channels.
ERASED = words(
    "Ottoline", "Wrenfield", "Marzipan-pet-", "+4477009", "leaver-mail-", "leaver-hook-",
    "Imported-Isembard", "Imported-Kingdom-", "Tamarind-note-",
)  # fmt: skip
# What must survive: the keeper's other person, the keeper's channel, a bystander.
KEPT = words("Keepsake", "Yarrowmont", "Persimmon-", "keeper-hook-", "Bystander-Belisama")


def forms(word: str) -> tuple[str, str]:
    """A word as text, and as pg_dump writes it inside a bytea (lowercase hex)."""
    return word, word.encode().hex()


def found_in(haystack: str, word: str) -> bool:
    return any(form in haystack for form in forms(word))


@pytest.fixture
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def logged_process(
    settings: Settings, env: dict[str, str], log: Path, *command: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A `pcem` process writing everything it prints to ``log``; SIGTERM at the end."""
    with log.open("wb") as output:
        popen = subprocess.Popen(
            [sys.executable, "-m", "pcem.cli.main", *command],
            env=pcem_env(settings, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield popen
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


def pg_dump(settings: Settings) -> str:
    binary = shutil.which("pg_dump")
    if binary is None:  # a laptop with only the embedded server: its own pg_dump
        binary = str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump")
    dumped = subprocess.run(
        [binary, "--no-owner", settings.require_database().url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dumped.stdout.decode()


def vcard(given: str, family: str, note: str, birthday: date) -> str:
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"N:{family};{given};;;\r\nFN:{given} {family}\r\n"
        f"NOTE:{note}\r\nBDAY:1985-{birthday:%m-%d}\r\nEND:VCARD\r\n"
    )


class Account:
    """One user, driven only through the HTTP API."""

    def __init__(self, api: httpx.Client, user_id: str, token_for: TokenFactory) -> None:
        self.api, self.user_id = api, user_id
        self.auth = bearer(token_for(user_id, ttl=timedelta(hours=1)))

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        answer = self.api.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        assert answer.status_code == expect, (method, path, answer.status_code, answer.text)
        return answer

    def settings(self, due: datetime, channels: list[dict[str, Any]]) -> None:
        notifications = {
            "enabled": True,
            "lead_time_days": [0],
            "delivery_time": due.strftime("%H:%M"),
            "channels": channels,
        }
        body = {"timezone": "UTC", "notifications": notifications}
        self.call("PUT", "/me/settings", 200, json=body)

    def person(self, first: str, last: str, **fields: Any) -> str:
        body = {"first_name": first, "last_name": last, **fields}
        return str(self.call("POST", "/people", 201, json=body).json()["id"])

    def birthday(self, person_id: str, on: date, notes: str = "") -> str:
        body = {
            "person_id": person_id,
            "title": "Birthday",
            "event_date": f"1980-{on:%m-%d}",
            "is_special_event": True,
            "recurrence": "yearly",
            "notes": notes,
        }
        return str(self.call("POST", "/events", 201, json=body).json()["id"])


def test_a_purged_person_and_an_erased_account_leave_nothing_in_a_dump_or_a_log(
    isolated: Settings, token_for: TokenFactory, free_port: int, tmp_path: Path
) -> None:
    p_first, p_last, p_nick, p_phone, p_mail, p_note = PURGED
    l_first, l_last, l_pet, l_phone, l_mail, l_hook, i_given, i_family, i_note = ERASED
    k_first, k_last, k_fruit, k_hook, bystander = KEPT
    hooks: list[Request] = []

    def receive(request: Request) -> Answer:
        hooks.append(request)
        return Answer(204)

    logs = {name: tmp_path / f"{name}.log" for name in ("api", "projector", "worker", "sched")}
    with (
        http_server(receive) as hook,
        smtp_server(Mailbox()) as smtp,
        ExitStack() as running,
        httpx.Client(base_url=f"http://127.0.0.1:{free_port}", timeout=30) as api,
    ):
        env = {
            "PCEM_BROKER_URL": isolated.require_redis().broker_url,
            "PCEM_SCHEDULER_TICK_SECONDS": "1",
            "PCEM_LOG_LEVEL": "INFO",
            "PCEM_RATE_LIMIT_PER_MINUTE": "1000000",  # the test polls: not an abuser
            "PCEM_SMTP_HOST": "127.0.0.1",
            "PCEM_SMTP_PORT": str(smtp.port),
            "PCEM_SMTP_FROM": "reminders@pcem.test",
        }
        commands = {
            "api": ("api", "--port", str(free_port)),
            "projector": ("projector",),
            "worker": ("worker",),
            "sched": ("scheduler",),
        }
        for name, command in commands.items():
            running.enter_context(logged_process(isolated, env, logs[name], *command))
        wait_until(lambda: _live(api), 60, "the API to start")

        keeper = Account(api, f"keeper-{TAG}", token_for)
        leaver = Account(api, f"leaver-{TAG}", token_for)
        other = Account(api, f"bystander-{TAG}", token_for)
        due = next_minute(ZoneInfo("UTC"))
        today, later = due.date(), due.date() + timedelta(days=3)

        # The keeper: a person to purge (birthday reminders sent today, one pending), and
        # one to keep; related both ways; the purged one created under an Idempotency-Key.
        keeper.settings(
            due, [{"type": "webhook", "url": f"{hook.url}/{k_hook}", "secret": "s" * 24}]
        )
        purged = keeper.call(
            "POST",
            "/people",
            201,
            json={
                "first_name": p_first,
                "last_name": p_last,
                "primary_contact": f"{p_mail}@example.org",
                "metadata": {"nickname": p_nick, "phones": [f"{p_phone}7731"]},
            },
            headers={"Idempotency-Key": f"create-{TAG}"},
        ).json()["id"]
        kept = keeper.person(k_first, k_last, metadata={"fruit": k_fruit})
        keeper.birthday(purged, today, notes=p_note)
        keeper.birthday(purged, later)
        keeper.birthday(kept, today)
        for source, target in ((purged, kept), (kept, purged)):
            keeper.call(
                "POST",
                f"/people/{source}/relationships",
                201,
                json={"target_id": target, "type": "friend"},
            )

        # The leaver: channels of their own, a person, an import, a feed.
        leaver.settings(
            due,
            [
                {"type": "webhook", "url": f"{hook.url}/{l_hook}", "secret": "t" * 24},
                {"type": "email", "address": f"{l_mail}@example.org"},
            ],
        )
        own = leaver.person(
            l_first, l_last, primary_contact=f"{l_phone}55", metadata={"pet": l_pet}
        )
        leaver.birthday(own, today)
        leaver.birthday(own, later)
        leaver.call(
            "POST",
            "/imports",
            202,
            content=vcard(i_given, i_family, i_note, today).encode(),
            headers={"Content-Type": "text/vcard"},
        )
        feed_url = leaver.call("POST", "/me/calendar-feed", 201).json()["url"]

        other.birthday(other.person(bystander, "Stays"), today)
        other.settings(due, [{"type": "in_app"}])

        # Every reminder due now sent: keeper 2 webhooks, leaver 2 people x 2 channels
        # (the imported contact's birthday is today too), bystander 1 in-app.
        wait_until(
            lambda: _sent(keeper) == 2 and _sent(leaver) == 4 and _sent(other) == 1,
            timeout=(due - datetime.now(UTC)).total_seconds() + 90,
            what="the reminders due now to be sent",
        )
        dump = pg_dump(isolated)
        assert all(found_in(dump, word) for word in PURGED + ERASED + KEPT)  # the probe works

        keeper.call("POST", f"/people/{purged}/purge", 204)
        leaver.call("DELETE", "/me", 202, params={"confirm": leaver.user_id})

        def erased_from_dump() -> bool:
            nonlocal dump
            dump = pg_dump(isolated)
            return not any(found_in(dump, word) for word in PURGED + ERASED)

        wait_until(erased_from_dump, 60, "the erased words to leave the database")
        missing = [word for word in KEPT if not found_in(dump, word)]
        assert missing == []  # everyone else whole

        # Every read of the purged person is a 404; the leaver's token sees a new account.
        for path in (f"/people/{purged}", f"/people/{purged}/history"):
            keeper.call("GET", path, 404)
        relationships = f"/people/{kept}/relationships"
        related = keeper.call("GET", relationships, 200, params={"direction": "both"})
        assert related.json()["items"] == []
        assert api.get(feed_url).status_code == 404
        assert leaver.call("GET", "/people", 200).json()["items"] == []
        assert leaver.call("GET", "/me/settings", 200).json()["notifications"]["channels"] == [
            {"type": "in_app"}
        ]
        leaver.person("Afresh", "Again")

        # Rebuilt from the events, the read models verify clean.
        for command in (("rebuild", "--all"), ("verify", "people_and_dates")):
            done = subprocess.run(
                [sys.executable, "-m", "pcem.cli.main", "projections", *command],
                env=pcem_env(isolated),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stdout + done.stderr

    written = {name: log.read_text() for name, log in logs.items()}
    assert all(written.values())  # every process logged: the scan below reads something
    leaked = {
        name: [word for word in PURGED + ERASED if word in text] for name, text in written.items()
    }
    assert leaked == {name: [] for name in logs}


def _live(api: httpx.Client) -> bool:
    try:
        return api.get("/health/live").status_code == 200
    except httpx.HTTPError:
        return False


def _sent(account: Account) -> int:
    answer = account.call("GET", "/notifications", 200, params={"status": "sent"})
    return len(answer.json()["items"])
