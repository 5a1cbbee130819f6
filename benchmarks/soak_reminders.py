"""The soak's notifications: webhook reminders for some of its users, falling due at
whole minutes spread over the run, and the check at the end that each one due was
delivered once, to its own user's hook.

Each user's hook has a path and a secret of its own; the receiver checks the
signature as it arrives (Standard Webhooks refuses a timestamp older than five
minutes), so a delivery to the wrong hook, or signed with another user's secret,
is a leak.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from pcem.wiring import Container
from tests.e2e.notification_helpers import next_minute, reminders_at
from tests.integration.receivers import Answer, Request, http_server

# Half-hour and negative offsets too: the delivery time is the user's local time.
ZONES = tuple(ZoneInfo(z) for z in ("UTC", "America/St_Johns", "Asia/Kolkata", "Pacific/Auckland"))
# After the last due time, how long a reminder may take to arrive before it counts as lost.
DELIVERY_ALLOWANCE = timedelta(seconds=60)
HOOKS = "/hooks/"


@dataclass(frozen=True)
class Arrival:
    hook_user: str  # whose hook it was sent to (the URL's path)
    webhook_id: str
    signed_by_owner: bool  # the signature verifies with that user's own secret


@dataclass
class Receiver:
    """Every user's webhook, on one local HTTP server; what arrived, by hook."""

    secrets_by_user: dict[str, str] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Answer:
        user = request.path.removeprefix(HOOKS)
        secret = self.secrets_by_user.get(user)
        try:
            signed = secret is not None and bool(
                Webhook(secret.encode()).verify(request.body, request.headers)
            )
        except WebhookVerificationError:
            signed = False
        with self.lock:
            self.arrivals.append(Arrival(user, request.headers.get("webhook-id", ""), signed))
        return Answer(204)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


@dataclass(frozen=True)
class Delivered:
    """The check at the end: each reminder due, by its ledger row and its arrivals."""

    due: int
    sent: int  # the ledger's sent webhook rows of those users
    arrived: int  # requests at the receiver
    missing: list[str]  # users due, with no sent row or no arrival of it
    twice: list[str]  # webhook ids that arrived more than once
    leaked: list[str]  # arrivals at a hook not of the row's user, or not signed by them
    unknown: list[str]  # arrivals of no sent row
    latest_seconds: float  # the slowest delivery: sent_at after the due time

    def clean(self) -> bool:
        return not (self.missing or self.twice or self.leaked or self.unknown)

    def summary(self) -> str:
        return (
            f"notifications: {self.due} due, {self.sent} sent, {self.arrived} arrived;"
            f" {len(self.missing)} missing, {len(self.twice)} twice, {len(self.leaked)} leaked,"
            f" {len(self.unknown)} unknown; slowest {self.latest_seconds:.1f} s after due"
        )


class Reminders:
    """``users`` with a webhook reminder each, due round-robin at the whole minutes
    from the next one (at least 12 s away) to ``until``: at least one minute."""

    def __init__(self, receiver: Receiver, hook_url: str) -> None:
        self.receiver = receiver
        self.hook_url = hook_url
        self.due: dict[str, datetime] = {}  # user -> due instant (UTC)

    def arrange(self, container: Container, users: list[str], until: datetime) -> None:
        first = next_minute(ZoneInfo("UTC"))
        minutes = max(1, int((until - first) / timedelta(minutes=1)) + 1)
        for n, user in enumerate(users):
            due = (first + timedelta(minutes=n % minutes)).astimezone(ZONES[n % len(ZONES)])
            secret = secrets.token_urlsafe(24)
            self.receiver.secrets_by_user[user] = secret
            hook = {"type": "webhook", "url": f"{self.hook_url}{HOOKS}{user}", "secret": secret}
            reminders_at(container, user, due, (hook,))
            self.due[user] = due.astimezone(UTC)

    def deadline(self) -> datetime:
        return max(self.due.values()) + DELIVERY_ALLOWANCE

    def minutes(self) -> int:
        return len(set(self.due.values()))

    def delivered(self, database_url: str) -> Delivered:
        rows = _sent_webhooks(database_url, list(self.due))
        with self.receiver.lock:
            arrivals = list(self.receiver.arrivals)
        times = Counter(a.webhook_id for a in arrivals)
        owner = {str(row["id"]): row["user_id"] for row in rows}
        sent_users = {row["user_id"]: str(row["id"]) for row in rows}
        rows_per_user = Counter(row["user_id"] for row in rows)
        return Delivered(
            due=len(self.due),
            sent=len(rows),
            arrived=len(arrivals),
            missing=sorted(u for u in self.due if times[sent_users.get(u, "")] == 0),
            twice=sorted(i for i, n in times.items() if n > 1)
            + sorted(f"{u}: {n} sent rows" for u, n in rows_per_user.items() if n > 1),
            leaked=sorted(
                a.webhook_id
                for a in arrivals
                if a.webhook_id in owner
                and (owner[a.webhook_id] != a.hook_user or not a.signed_by_owner)
            ),
            unknown=sorted(a.webhook_id for a in arrivals if a.webhook_id not in owner),
            latest_seconds=max(
                ((row["sent_at"] - self.due[row["user_id"]]).total_seconds() for row in rows),
                default=0.0,
            ),
        )

    def all_sent(self, database_url: str) -> bool:
        """Every reminder arrived and is sent in the ledger (the receiver asked first:
        it costs no query)."""
        if self.receiver.count() < len(self.due):
            return False
        return len(_sent_webhooks(database_url, list(self.due))) >= len(self.due)


def _sent_webhooks(database_url: str, users: list[str]) -> list[dict[str, Any]]:
    """The ledger's sent webhook notifications of ``users`` (read as the tables' owner)."""
    with psycopg.connect(database_url) as conn:
        cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
        return cursor.execute(
            "SELECT id, user_id, sent_at FROM notifications"
            " WHERE channel = 'webhook' AND status = 'sent' AND user_id = ANY(%s)",
            (users,),
        ).fetchall()


@contextmanager
def webhook_receiver() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    with http_server(receiver) as server:
        yield receiver, server.url
