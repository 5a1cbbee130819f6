"""Mixed load over real HTTP: concurrent clients creating, changing and reading
people across many users, remembering exactly which commands were acknowledged.

Each command carries a token of its own (a created person's first name, a
change's last name), so the event store can be asked afterwards which
commands it holds, and how many times (``tests.reliability``).
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

PEOPLE = "/api/v1/people"
# The mix, and each action's weight. Reads dominate, as in use.
ACTIONS = ("create", "update", "list", "read")
WEIGHTS = (3, 2, 3, 2)
REQUEST_TIMEOUT_SECONDS = 30.0  # far beyond any bounded wait: a timeout is a hang


@dataclass
class Outcome:
    """Everything the clients saw, shared between their threads."""

    acknowledged: dict[str, tuple[str, int]] = field(default_factory=dict)  # token -> id, version
    attempted: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, every request
    slowest: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, status: str, seconds: float) -> None:
        with self.lock:
            self.statuses[f"{what} {status}"] += 1
            self.latencies.append(seconds)
            self.slowest = max(self.slowest, seconds)

    def server_errors(self, allowed: frozenset[str] = frozenset()) -> dict[str, int]:
        """Answers 5xx (or no answer at all) other than ``allowed`` statuses."""
        return {
            key: n
            for key, n in self.statuses.items()
            if (status := key.rsplit(" ", 1)[1]) not in allowed
            and (status.startswith("5") or not status.isdigit())
        }

    def percentile(self, q: float) -> float:
        with self.lock:
            ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def median(self) -> float:
        with self.lock:
            return statistics.median(self.latencies) if self.latencies else 0.0


class Load:
    """``clients`` threads against ``base_url``, each for users chosen at random
    (seeded) among ``tokens`` (user id -> bearer token), until stopped. ``weights``
    other than the mix's (e.g. creates only), a shorter ``timeout`` and a ``name``
    for its tokens may be given."""

    def __init__(
        self, base_url: str, tokens: dict[str, str], clients: int, seed: int,
        weights: tuple[int, ...] = WEIGHTS, timeout: float = REQUEST_TIMEOUT_SECONDS,
        name: str = "t",
    ) -> None:  # fmt: skip
        self.base_url = base_url
        self.name = name  # the tokens' prefix: two loads on one store need two
        self.weights = weights
        self.timeout = timeout
        self.tokens = tokens
        self.users = sorted(tokens)
        self.outcome = Outcome()
        self.people: dict[str, list[str]] = {user: [] for user in self.users}
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(seed + n, n), daemon=True)
            for n in range(clients)
        ]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> Outcome:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        return self.outcome

    def requests(self) -> int:
        with self.outcome.lock:
            return len(self.outcome.latencies)

    def _client(self, seed: int, number: int) -> None:
        rng = random.Random(seed)
        actions: dict[str, Callable[[httpx.Client, str, str], None]] = {
            "create": self._create,
            "update": self._update,
            "list": self._list,
            "read": self._read,
        }
        with httpx.Client(base_url=self.base_url, timeout=self.timeout) as http:
            sent = 0
            while not self._stop.is_set():
                user = rng.choice(self.users)
                what = rng.choices(ACTIONS, self.weights)[0]
                actions[what](http, user, f"{self.name}{number}-{sent}")
                sent += 1

    def _send(self, http: httpx.Client, what: str, user: str, method: str, url: str,
              **kwargs: Any) -> httpx.Response | None:  # fmt: skip
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        started = time.monotonic()
        try:
            response = http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            self.outcome.record(what, type(error).__name__, time.monotonic() - started)
            return None
        self.outcome.record(what, str(response.status_code), time.monotonic() - started)
        return response

    def _create(self, http: httpx.Client, user: str, token: str) -> None:
        self.outcome.attempted.add(token)
        response = self._send(http, "create", user, "POST", PEOPLE, json={"first_name": token})
        if response is not None and response.status_code == 201:
            person = response.json()
            with self.outcome.lock:
                self.outcome.acknowledged[token] = (person["id"], person["version"])
                self.people[user].append(person["id"])

    def _update(self, http: httpx.Client, user: str, token: str) -> None:
        if not (person_id := self._someone(user)):
            return self._create(http, user, token)
        self.outcome.attempted.add(token)
        url = f"{PEOPLE}/{person_id}"
        response = self._send(http, "update", user, "PATCH", url, json={"last_name": token})
        if response is not None and response.status_code == 200:
            with self.outcome.lock:
                self.outcome.acknowledged[token] = (person_id, response.json()["version"])
        return None

    def _list(self, http: httpx.Client, user: str, _: str) -> None:
        self._send(http, "list", user, "GET", PEOPLE, params={"limit": 20})

    def _read(self, http: httpx.Client, user: str, _: str) -> None:
        if person_id := self._someone(user):
            self._send(http, "read", user, "GET", f"{PEOPLE}/{person_id}")
        else:
            self._list(http, user, "")

    def _someone(self, user: str) -> str | None:
        with self.outcome.lock:
            people = self.people[user]
            return people[len(people) // 2] if people else None
