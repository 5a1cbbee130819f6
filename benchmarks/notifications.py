"""Notifications: 10,000 due in one minute, delivered to a local webhook receiver.

    .venv/bin/python benchmarks/notifications.py [--broker redis|rabbitmq]
        [--count 10000] [--concurrency 1,2] [--quick]
        [--profile SECONDS [--profile-from SECONDS]]

For each worker count (`pcem worker --concurrency N`, beside one `pcem
scheduler` ticking every second, PCEM_SCHEDULER_TICK_SECONDS=1; the scheduler
runs the ticks and the relay itself, as deployed), on a fresh database of the local
PostgreSQL (PCEM_BENCH_ADMIN_URL), migrated with pcem.migrate:

1. a warm-up reminder is delivered first, so the worker, the scheduler and the
   relay are known to be up and past their first task;
2. ``--count`` reminders (100 users, ``count / 100`` each) fall due at one
   instant, 5 s ahead, over a webhook channel pointing at a local receiver
   (a ThreadingHTTPServer in its own process, HTTP/1.1 keep-alive, answering
   204 and recording each POST's arrival time and ``webhook-id``);
3. it waits until each has arrived, and prints the time from the due instant
   to the first and the last arrival, the deliveries per second (first to
   last arrival), and the webhook-ids that arrived more than once (must be 0);
4. on the same broker, a bare Celery app of this script (a trivial task that
   only counts, in Redis) runs as a worker with the same concurrency and the
   same settings (acks_late, reject on worker lost, prefetch 1, no results, no
   gossip, no mingle, the same log level); ``--count`` tasks are sent from
   here, and tasks/s is the count over the time from the first send until the
   last task ran. It runs before and after the PCEM round (the load of a shared
   machine drifts; both are printed); the ratio is PCEM deliveries/s / the mean
   of the two bare tasks/s.

While it waits it samples, every 0.2 s, the `delivery` queue's depth (a
passive queue declare through kombu: the Redis list's length, RabbitMQ's ready
messages) against the notifications waiting for a worker (``scheduled``), and
prints the deepest queue and the largest excess of messages over notifications.

Targets: every notification delivered exactly once, within 30 s of the due
time with 2 workers; ratio >= 0.5 with 1 and 2; the queue never holding more
messages than notifications waiting.

The schedule is filled with SQL (``generate_series``: people, events,
user_settings and notification_schedule rows, as the projection would write
them), not by the projection, because this times delivery: the projection's
speed is measured by benchmarks/rebuild.py. What runs afterwards is PCEM's
own: the scheduler's tick turns the due rows into notifications and outbox
rows, the relay publishes them, workers claim, re-check, sign and POST.

Redis (PCEM_BENCH_REDIS_URL, db 11 by default) is flushed before and after.
On RabbitMQ (PCEM_BENCH_RABBITMQ_URL) the run gets a private vhost, made and
deleted with rabbitmqctl, so no other consumer of the `delivery` queue on the
machine can take its messages. Workers log at WARNING (at INFO each delivery
writes a JSON line). Databases, vhost and processes are removed at the end;
the processes' logs are kept only if something went wrong.

Every round also prints the CPU used meanwhile by each process (the worker's
tree, the scheduler, the receiver, PostgreSQL's backends of the round's
database, the broker), by every other process on the machine ("others"), how
busy all cores were, and the share of the time in which some task waited for
a CPU (Linux PSI): the development VMs are shared, and a figure is only as good
as the quiet it was measured in.

``--profile SECONDS`` runs py-spy (``record --idle -f raw``: wall time, waits
included) on the first pool process of the worker for that long, from
``--profile-from`` seconds after the due time, and prints the share of its
time spent in the telling frames (claim, re-check, POST, settle, the tick).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import psutil
import psycopg
import redis
from bare_peer import busy_since, cpu_sample  # benchmarks/bare_peer.py
from http_paths import check_alive, process_times, wait_until  # benchmarks/http_paths.py
from kombu import Connection as BrokerConnection
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from psycopg import sql
from psycopg.types.json import Jsonb

from pcem.aggregates.reminders import channel_keys
from pcem.aggregates.settings import Preferences
from pcem.migrate import migrate
from pcem.processors.tasks import queue_depth
from pcem.settings import load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
RABBITMQ_URL = os.environ.get("PCEM_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")
PY_SPY = Path(sys.executable).with_name("py-spy")
USERS = 100
DUE_AHEAD = 5.0  # seconds from the insert to the due instant
WITHIN_TARGET_S = 30.0  # with 2 workers or more (issue 20)
WITHIN_WORKERS = 2
RATIO_TARGET = 0.5
LOG_LEVEL = "WARNING"
TICK_SECONDS = "1"
SECRET = "bench-webhook-secret-0123456789"
SETTLE_S = 3.0  # after the last expected arrival: time for a duplicate to show up
BARE_QUEUE = "bench-bare"
BARE_TASK = "bench.bare"
COUNTED, FIRST_RUN, LAST_RUN = "bench:bare:count", "bench:bare:first", "bench:bare:last"


@dataclass
class Bare:
    """One bare Celery round: trivial tasks sent from here, run by a bare worker."""

    done: int = 0
    seconds: float = 0.0  # from the first send to the last task run
    sent_s: float = 0.0
    busy: float = 0.0
    waited: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class QueueWatch:
    """The `delivery` queue's depth against the notifications waiting for a worker,
    sampled through the round: the queue should never hold more messages than that."""

    samples: int = 0
    deepest: int = 0
    most_over: int = 0  # the largest excess of messages over notifications waiting
    over_at: tuple[int, int] = (0, 0)  # (messages, waiting) at that sample

    def sample(self, queued: int, waiting: int) -> None:
        self.samples += 1
        self.deepest = max(self.deepest, queued)
        if queued - waiting > self.most_over:
            self.most_over, self.over_at = queued - waiting, (queued, waiting)


@dataclass
class Round:
    """One worker count's figures: PCEM's deliveries, then the bare Celery tasks."""

    concurrency: int
    count: int
    due: float = 0.0  # epoch seconds
    committed_before_due: float = 0.0
    posts: int = 0
    unique: int = 0
    connections: int = 0
    first: float = 0.0
    last: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # percent of one core, by process
    busy: float = 0.0
    waited: float = 0.0  # percent of the round in which some task waited for a CPU
    bare: list[Bare] = field(default_factory=list)  # before and after the PCEM round
    profile: list[str] = field(default_factory=list)
    queue: QueueWatch = field(default_factory=lambda: QueueWatch())

    @property
    def duplicates(self) -> int:
        return self.posts - self.unique

    @property
    def complete(self) -> bool:
        return self.unique == self.count and self.duplicates == 0

    @property
    def due_to_last(self) -> float:
        return self.last - self.due

    @property
    def rate(self) -> float:
        span = self.last - self.first
        return self.unique / span if span > 0 else float("nan")

    @property
    def bare_rate(self) -> float:
        """The mean of the bare rounds before and after: the machine's load drifts."""
        rates = [b.rate for b in self.bare]
        return sum(rates) / len(rates) if rates else float("nan")

    @property
    def ratio(self) -> float:
        return self.rate / self.bare_rate if self.bare_rate > 0 else float("nan")


# --- the receiver (its own process) -------------------------------------------


def serve_receiver() -> None:
    """POSTs are counted by path and webhook-id with their arrival time, and the TCP
    connections they came on; answered 204. ``GET /stats?path=/p`` answers the figures
    of one path as JSON. Prints the port."""
    lock = threading.Lock()
    paths: dict[str, dict[str, Any]] = {}
    connections = itertools.count()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the worker's HTTP pool uses it

        def setup(self) -> None:  # one handler per TCP connection
            super().setup()
            self.connection_number = next(connections)

        def do_POST(self) -> None:
            arrived = time.time()
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            webhook_id = self.headers.get("webhook-id", "")
            with lock:
                figures = paths.setdefault(
                    self.path,
                    {"posts": 0, "ids": set(), "first": arrived, "last": arrived, "conns": set()},
                )
                figures["posts"] += 1
                figures["ids"].add(webhook_id)
                figures["conns"].add(self.connection_number)
                figures["last"] = arrived
            self.send_response_only(204)  # no Content-Length: a 204 has no body
            self.end_headers()

        def do_GET(self) -> None:
            path = parse_qs(urlsplit(self.path).query).get("path", [""])[0]
            with lock:
                empty = {"posts": 0, "ids": set(), "first": 0.0, "last": 0.0, "conns": set()}
                figures = paths.get(path, empty)
                body = json.dumps(
                    {
                        "posts": figures["posts"],
                        "unique": len(figures["ids"]),
                        "connections": len(figures["conns"]),
                        "first": figures["first"],
                        "last": figures["last"],
                    }
                ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()


# --- the bare Celery app (its own process, as a worker) ------------------------


def bare_app(broker: str, counter_url: str) -> Any:
    """A minimal Celery app on PCEM's settings; its one task only counts, in Redis."""
    from celery import Celery

    app = Celery("bench", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=BARE_QUEUE,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    counter = redis.Redis.from_url(counter_url)

    @app.task(name=BARE_TASK)  # type: ignore[untyped-decorator]
    def bare() -> None:
        now = time.time()
        pipe = counter.pipeline(transaction=False)
        pipe.incr(COUNTED)
        pipe.set(FIRST_RUN, now, nx=True)
        pipe.set(LAST_RUN, now)
        pipe.execute()

    return app


def serve_bare_worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--counter", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    args = parser.parse_args(argv)
    bare_app(args.broker, args.counter).worker_main(
        [
            "worker",
            f"--queues={BARE_QUEUE}",
            f"--concurrency={args.concurrency}",
            f"--loglevel={LOG_LEVEL}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


# --- the run -------------------------------------------------------------------


@dataclass
class Run:
    broker_kind: str
    broker: str  # the Celery broker URL
    count: int
    profile: float
    profile_from: float
    workdir: Path
    receiver_url: str
    receiver: subprocess.Popen[bytes]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "receiver":
        serve_receiver()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "bare-worker":
        serve_bare_worker(sys.argv[2:])
        return
    args = parse_args()
    print(describe(), flush=True)
    concurrencies = [1] if args.quick else [int(c) for c in args.concurrency.split(",")]
    count = 1000 if args.quick else args.count
    load = os.getloadavg()
    print(
        f"broker {args.broker}; {count:,} notifications a round, due at one instant"
        f" {DUE_AHEAD:.0f} s after they are inserted; workers {', '.join(map(str, concurrencies))};"
        f" tick {TICK_SECONDS} s; worker and scheduler log level {LOG_LEVEL};"
        f" receiver: ThreadingHTTPServer, own process, 204;"
        f" load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
        f" on {os.cpu_count()} cores",
        flush=True,
    )
    print(
        "the schedule is filled with SQL to time delivery (the projection's speed:"
        " benchmarks/rebuild.py)",
        flush=True,
    )
    redis.Redis.from_url(REDIS_URL).flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="pcem_notifications_"))
    rounds: list[Round] = []
    failed = True
    with ExitStack() as stack:
        stack.callback(lambda: report_logs(workdir, keep=failed))
        stack.callback(lambda: redis.Redis.from_url(REDIS_URL).flushdb())
        broker = stack.enter_context(celery_broker(args.broker))
        receiver, receiver_url = start_receiver(workdir)
        run = Run(
            args.broker,
            broker,
            count,
            args.profile,
            args.profile_from,
            workdir,
            receiver_url,
            receiver,
        )
        run.processes.append(receiver)
        stack.callback(lambda: stop_all(run))
        for concurrency in concurrencies:
            rounds.append(measure(run, concurrency))
        failed = not all(r.complete for r in rounds)
    summarise(rounds, args.broker)
    if failed:
        sys.exit(1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis")
    parser.add_argument("--count", type=int, default=10_000, help="notifications a round")
    parser.add_argument("--concurrency", default="1,2", help="worker processes, by round")
    parser.add_argument("--quick", action="store_true", help="1,000 notifications, 1 worker")
    parser.add_argument(
        "--profile", type=float, default=0.0, help="py-spy a worker for this many seconds"
    )
    parser.add_argument(
        "--profile-from", type=float, default=0.0, help="seconds after the due time"
    )
    args = parser.parse_args()
    if args.count < 1 or not re.fullmatch(r"\d+(,\d+)*", args.concurrency):
        parser.error("--count must be positive, --concurrency a list such as 1,2")
    return args


@contextmanager
def celery_broker(kind: str) -> Iterator[str]:
    """The broker URL: Redis db 11, or a private RabbitMQ vhost for this run."""
    if kind == "redis":
        yield REDIS_URL
        return
    vhost = f"pcem_bench_{secrets.token_hex(4)}"
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        print("!! rabbitmqctl not found: using the vhost '/', shared with its other users")
        yield RABBITMQ_URL + "//"
        return
    user = urlsplit(RABBITMQ_URL).username or "guest"
    subprocess.run([ctl, "-q", "add_vhost", vhost], check=True, timeout=60)
    try:
        subprocess.run(
            [ctl, "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
            check=True,
            timeout=60,
        )
        print(f"RabbitMQ: private vhost {vhost}", flush=True)
        yield f"{RABBITMQ_URL}/{vhost}"
    finally:
        subprocess.run([ctl, "-q", "delete_vhost", vhost], check=False, timeout=60)


def measure(run: Run, concurrency: int) -> Round:
    figures = Round(concurrency, run.count)
    print(f"\n== {concurrency} worker process(es)", flush=True)
    figures.bare.append(bare_round(run, concurrency, "before"))
    with fresh_database() as (database, url):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PCEM_")},
            "PCEM_DATABASE_URL": url,
            "PCEM_REDIS_URL": REDIS_URL,
            "PCEM_SCHEDULER_TICK_SECONDS": TICK_SECONDS,
            "PCEM_LOG_LEVEL": LOG_LEVEL,
            # every process refuses to start without one; the benchmark's data is clear
            "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        }
        if run.broker_kind == "rabbitmq":
            env["PCEM_BROKER_URL"] = run.broker
        migrate(load_settings(env).require_database())
        tag = f"c{concurrency}"
        worker = start(run, [*pcem("worker"), "--concurrency", str(concurrency)], env, tag)
        scheduler = start(run, pcem("scheduler"), env, f"{tag}-scheduler")
        watched = [worker, scheduler, run.receiver]
        try:
            started = time.monotonic()
            warm = f"/warm-{tag}"
            insert_reminders(url, run.receiver_url + warm, 1, time.time(), f"warm{tag}")
            wait_until(
                lambda: arrivals(run, warm)["unique"] >= 1,
                180,
                "the warm-up notification did not arrive",
                watched,
            )
            print(f"processes up, warm-up delivered in {time.monotonic() - started:.1f} s")
            deliver_batch(run, figures, url, database, tag, worker, watched)
        finally:
            for process in (worker, scheduler):
                stop(process)
                run.processes.remove(process)
    figures.bare.append(bare_round(run, concurrency, "after"))
    return figures


def deliver_batch(
    run: Run,
    figures: Round,
    url: str,
    database: str,
    tag: str,
    worker: subprocess.Popen[bytes],
    watched: list[subprocess.Popen[bytes]],
) -> None:
    path = f"/pcem-{tag}"
    inserted_at = time.time()
    figures.due = inserted_at + DUE_AHEAD
    insert_reminders(url, run.receiver_url + path, run.count, figures.due, f"run{tag}")
    figures.committed_before_due = figures.due - time.time()
    print(
        f"{run.count:,} reminders inserted in {time.time() - inserted_at:.2f} s,"
        f" {figures.committed_before_due:.1f} s before they fall due",
        flush=True,
    )
    time.sleep(max(0.0, figures.due - time.time()))
    profiler = start_profile(run, worker, tag, figures.due + run.profile_from)
    pids = {"worker": worker.pid, "scheduler": watched[1].pid, "receiver": run.receiver.pid}
    before, machine, pressure = process_times(), cpu_sample(), cpu_pressure()
    seconds_started = time.monotonic()
    deadline = figures.due + max(120.0, run.count / 15)
    next_report = time.time() + 10
    with (
        BrokerConnection(run.broker) as broker,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        while time.time() < deadline:  # bounded: until every one arrived, or the deadline
            check_alive(watched)
            watch_queue(figures.queue, broker, conn)
            seen = arrivals(run, path)
            if seen["unique"] >= run.count:
                break
            if time.time() >= next_report:
                print(
                    f"  {time.time() - figures.due:5.0f} s after due: {seen['unique']:,} arrived;"
                    f" deepest queue {figures.queue.deepest:,}, most messages over waiting"
                    f" {figures.queue.most_over:,}"
                )
                next_report += 10
            time.sleep(0.2)
    seconds = time.monotonic() - seconds_started
    figures.busy = busy_since(machine)
    figures.waited = 100 * (cpu_pressure() - pressure) / seconds
    figures.cpu = cpu_by_role(before, process_times(), seconds, pids, database, run.broker_kind)
    time.sleep(SETTLE_S)
    seen = arrivals(run, path)
    figures.posts, figures.unique = seen["posts"], seen["unique"]
    figures.connections = seen["connections"]
    figures.first, figures.last = seen["first"], seen["last"]
    figures.statuses, figures.retried = ledger(url, run.count)
    if profiler is not None:
        figures.profile = finish_profile(*profiler)
    print(
        f"  delivered {figures.unique:,} of {run.count:,} ({figures.duplicates} duplicates),"
        f" last {figures.due_to_last:.1f} s after due; ledger {figures.statuses}",
        flush=True,
    )
    print(f"  {describe_queue(figures.queue)}", flush=True)


WAITING = "SELECT count(*) FROM notifications WHERE status = 'scheduled'"


def watch_queue(watch: QueueWatch, broker: BrokerConnection, conn: psycopg.Connection) -> None:
    """One sample: notifications waiting, the queue's depth, notifications waiting again.
    A message leaves the queue before its notification is claimed, and a notification
    is made before its message is published, so the larger of the two counts bounds
    the queue unless it holds a message too many."""
    before = int(conn.execute(WAITING).fetchone()[0])  # type: ignore[index]
    queued = queue_depth(broker, "delivery")
    after = int(conn.execute(WAITING).fetchone()[0])  # type: ignore[index]
    watch.sample(queued, max(before, after))


def bare_round(run: Run, concurrency: int, when: str) -> Bare:
    """The bare Celery round trip: ``count`` trivial tasks through a worker of the same
    concurrency and settings, sent from here; done when the last has counted itself."""
    figures = Bare()
    counter = redis.Redis.from_url(REDIS_URL)
    counter.delete(COUNTED, FIRST_RUN, LAST_RUN)
    command = [sys.executable, str(Path(__file__).resolve()), "bare-worker"]
    command += ["--broker", run.broker, "--counter", REDIS_URL]
    command += ["--concurrency", str(concurrency)]
    worker = start(run, command, dict(os.environ), f"bare-c{concurrency}-{when}")
    app = bare_app(run.broker, REDIS_URL)
    try:
        app.send_task(BARE_TASK, queue=BARE_QUEUE)  # warm-up: the worker is up once it ran
        wait_until(
            lambda: int(counter.get(COUNTED) or 0) >= 1,
            120,
            "the bare worker did not run its warm-up task",
            [worker],
        )
        counter.delete(COUNTED, FIRST_RUN, LAST_RUN)
        before, machine, pressure = process_times(), cpu_sample(), cpu_pressure()
        started_wall, started = time.time(), time.monotonic()
        with app.producer_or_acquire() as producer:
            for _ in range(run.count):
                app.send_task(BARE_TASK, queue=BARE_QUEUE, producer=producer)
        figures.sent_s = time.monotonic() - started
        deadline = time.monotonic() + max(120.0, run.count / 15)
        while time.monotonic() < deadline:  # bounded
            check_alive([worker])
            if int(counter.get(COUNTED) or 0) >= run.count:
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        figures.busy = busy_since(machine)
        figures.waited = 100 * (cpu_pressure() - pressure) / seconds
        figures.cpu = cpu_by_role(
            before, process_times(), seconds, {"worker": worker.pid}, "-", run.broker_kind
        )
        figures.done = int(counter.get(COUNTED) or 0)
        figures.seconds = float(counter.get(LAST_RUN) or started_wall) - started_wall
        print(
            f"bare Celery ({when}): {figures.done:,} of {run.count:,} tasks ran,"
            f" {figures.rate:.0f} tasks/s (sending took {figures.sent_s:.1f} s);"
            f" bare worker {figures.cpu['worker']:.0f}%, others {figures.cpu['others']:.0f}%"
            " of a core",
            flush=True,
        )
    finally:
        app.close()
        stop(worker)
        run.processes.remove(worker)
    return figures


# --- the data --------------------------------------------------------------------

PEOPLE = """
INSERT INTO people (id, user_id, first_name, last_name, version, created_at, updated_at)
SELECT md5(%(run)s::text || '/p/' || n)::uuid, %(run)s::text || '-user-' || (n %% %(users)s),
       'Friend' || n, 'Bench', 1, now(), now()
FROM generate_series(0, %(count)s - 1) AS n
"""
EVENTS = """
INSERT INTO events (id, user_id, person_id, title, event_date, all_day, is_special_event,
                    recurrence, notes, version, created_at, updated_at)
SELECT md5(%(run)s::text || '/e/' || n)::uuid, %(run)s::text || '-user-' || (n %% %(users)s),
       md5(%(run)s::text || '/p/' || n)::uuid, 'Birthday', %(event_date)s, true, true,
       'yearly', '', 1, now(), now()
FROM generate_series(0, %(count)s - 1) AS n
"""
SETTINGS = """
INSERT INTO user_settings (user_id, timezone, notifications, version, updated_at)
SELECT %(run)s::text || '-user-' || u, 'UTC', %(notifications)s, 1, now()
FROM generate_series(0, least(%(users)s, %(count)s) - 1) AS u
"""
SCHEDULE = """
INSERT INTO notification_schedule (id, user_id, event_id, person_id, channel, channel_key,
    lead_time_days, occurrence_date, occurs_at, due_at, status, person_name, title)
SELECT md5(%(run)s::text || '/s/' || n)::uuid, %(run)s::text || '-user-' || (n %% %(users)s),
       md5(%(run)s::text || '/e/' || n)::uuid, md5(%(run)s::text || '/p/' || n)::uuid,
       'webhook', %(channel_key)s, 0, %(occurrence_date)s, %(occurs_at)s, %(due_at)s,
       'scheduled', 'Friend' || n || ' Bench', 'Birthday'
FROM generate_series(0, %(count)s - 1) AS n
"""


def insert_reminders(url: str, webhook_url: str, count: int, due: float, run: str) -> None:
    """``count`` birthdays today, over ``USERS`` users whose one channel is the webhook,
    each reminded (lead time 0) at ``due``: the rows the projection would have written."""
    due_at = datetime.fromtimestamp(due, UTC)
    occurs_at = due_at + timedelta(hours=3)
    channel = {"type": "webhook", "url": webhook_url, "secret": SECRET}
    preferences = Preferences(
        timezone="UTC",
        lead_time_days=(0,),
        delivery_time=due_at.strftime("%H:%M"),
        channels=(channel,),
    )
    params = {
        "run": run,
        "users": USERS,
        "count": count,
        "event_date": f"1992-{due_at:%m-%d}",  # a leap year: any day has a birthday
        "notifications": Jsonb(preferences.as_dict()["notifications"]),
        "channel_key": next(iter(channel_keys([channel]))),  # the one webhook: "webhook"
        "occurrence_date": due_at.date(),
        "occurs_at": occurs_at,
        "due_at": due_at,
    }
    with psycopg.connect(url) as conn:  # one transaction: the tick sees all or none
        for statement in (PEOPLE, EVENTS, SETTINGS, SCHEDULE):
            conn.execute(statement, params)


def ledger(url: str, count: int) -> tuple[dict[str, int], int]:
    """Notifications by status (the warm-up one left out), and how many took >1 attempt."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM notifications WHERE user_id NOT LIKE %s GROUP BY status",
            ["warm%"],
        ).fetchall()
        retried = conn.execute(
            "SELECT count(*) FROM notifications WHERE attempts > 1 AND user_id NOT LIKE %s",
            ["warm%"],
        ).fetchone()
    return {status: n for status, n in rows}, int(retried[0]) if retried else 0


@contextmanager
def fresh_database() -> Iterator[tuple[str, str]]:
    name = f"pcem_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name, ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


# --- processes -------------------------------------------------------------------


def pcem(*command: str) -> list[str]:
    return [sys.executable, "-m", "pcem.cli.main", *command]


def start(run: Run, command: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    log = (run.workdir / f"{name}.log").open("ab")
    run.logs.append(log)
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    run.processes.append(process)
    return process


def start_receiver(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    log = (workdir / "receiver.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "receiver"],
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    log.close()
    assert process.stdout is not None
    port = int(process.stdout.readline() or b"0")
    if not port:
        stop(process)
        raise SystemExit("the webhook receiver did not start (see receiver.log)")
    return process, f"http://127.0.0.1:{port}"


def arrivals(run: Run, path: str) -> dict[str, Any]:
    with urlopen(f"{run.receiver_url}/stats?path={path}", timeout=10) as answer:
        figures: dict[str, Any] = json.loads(answer.read())
    return figures


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a Celery worker's warm shutdown), then SIGKILL to the whole tree."""
    try:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(True)]
    except psutil.NoSuchProcess:
        tree = []
    if process.poll() is None:
        process.terminate()
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    for member in tree:
        with suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(tree, timeout=10)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def stop_all(run: Run) -> None:
    for process in list(reversed(run.processes)):
        stop(process)
    run.processes.clear()
    for log in run.logs:
        log.close()


def cpu_by_role(
    before: dict[int, tuple[int, float, str]],
    after: dict[int, tuple[int, float, str]],
    seconds: float,
    roots: dict[str, int],
    database: str,
    broker_kind: str,
) -> dict[str, float]:
    """Percent of one core used meanwhile by each root process and its descendants, by
    PostgreSQL's backends of ``database``, by the broker (which others may share), and
    by every other process on the machine ("others": work beside this benchmark; at
    least, since processes that ended meanwhile are not seen)."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in after.items():
        children.setdefault(parent, []).append(pid)

    def used(pids: set[int]) -> float:
        total = sum(after[p][1] - (before[p][1] if p in before else 0.0) for p in pids)
        return 100 * total / seconds

    def tree(root: int) -> set[int]:
        members, pending = {root}, [root]
        while pending:
            for child in children.get(pending.pop(), []):
                members.add(child)
                pending.append(child)
        return members & set(after)

    figures, ours = {}, tree(os.getpid())
    for role, root in roots.items():
        figures[role] = used(tree(root))
    backend = re.compile(rf"^postgres: .* {re.escape(database)} (\S+\(\d+\)|\[local\])")
    backends = {p for p, (_, _, c) in after.items() if backend.match(c)}
    figures["postgres"] = used(backends)
    marker = "redis-server" if broker_kind == "redis" else "beam.smp"
    brokers = {p for p, (_, _, c) in after.items() if marker in c.split(" ")[0]}
    figures["broker"] = used(brokers)
    figures["others"] = used(set(after) - ours - backends - brokers)
    return figures


def cpu_pressure() -> float:
    """Seconds so far in which some runnable task waited for a CPU (Linux PSI; 0 if none)."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return 0.0
    return int(some.rsplit("total=", 1)[1]) / 1e6


# --- profiling ---------------------------------------------------------------------

# Frames whose share of a pool process's wall time tells where a delivery goes.
PROFILED = (
    ("Worker.workloop", "the pool process, all of it"),
    ("fast_trace_task", "  running a task (the rest: waiting for one)"),
    ("Delivery.deliver", "    pcem.deliver"),
    ("ClaimSession.claim", "      claim + still wanted? (one statement)"),
    ("WebhookProvider.send", "      webhook POST (signing included)"),
    ("Webhook.sign", "        signing"),
    ("ClaimSession.settle", "      settle + attempt log (one statement)"),
    ("ConnectionPool.getconn", "      the connection's checkout (no pre-ping)"),
    ("Connection.wait", "      waiting on PostgreSQL (psycopg)"),
    ("ProcessManager.tick", "    pcem.tick"),
    ("Ledger._create_due", "      the due rows made notifications (a statement a batch)"),
    ("Relay.relay", "      the relay (a publish each)"),
)


def start_profile(
    run: Run, worker: subprocess.Popen[bytes], tag: str, at: float
) -> tuple[subprocess.Popen[bytes], Path] | None:
    """py-spy on the worker's first pool process, wall time (idle samples included),
    from ``at`` (epoch seconds) on: a shell sleeps until then while the round goes on."""
    if run.profile <= 0:
        return None
    pool = psutil.Process(worker.pid).children()
    if not pool or not PY_SPY.exists():
        print("!! no pool process or no py-spy: not profiled")
        return None
    output = run.workdir / f"profile-{tag}.txt"
    command = [str(PY_SPY), "record", "-p", str(pool[0].pid), "-d", str(int(run.profile))]
    command += ["-f", "raw", "-o", str(output), "--idle", "--nonblocking"]
    if at > time.time():
        command = ["sh", "-c", f"sleep {at - time.time():.2f}; exec {shlex.join(command)}"]
    profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return profiler, output


def finish_profile(profiler: subprocess.Popen[bytes], output: Path) -> list[str]:
    """The share of wall-time samples in which each of the telling frames was on the
    stack, and the frames most often on top."""
    try:
        profiler.wait(timeout=120)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait()
    if not output.exists():
        return ["(py-spy wrote nothing)"]
    stacks: Counter[str] = Counter()
    for line in output.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if samples.isdigit():
            stacks[stack] += int(samples)
    total = sum(stacks.values()) or 1
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for stack, samples in stacks.items():
        frames = [f.split(" (")[0] for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += samples
        leaf[frames[-1]] += samples
    lines = [f"py-spy --idle: {total} samples of a pool process, share of its wall time:"]
    lines += [f"  {100 * inclusive[frame] / total:5.1f}%  {what}" for frame, what in PROFILED]
    lines += ["  on top of the stack most often:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in leaf.most_common(8)]
    lines += [f"  raw profile: {output}"]
    return lines


# --- the report ----------------------------------------------------------------------


def report_logs(workdir: Path, *, keep: bool) -> None:
    noisy = 0
    for log in sorted(workdir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        bad = [line for line in lines if re.search(r'"level": ?"(error|critical)"', line)]
        bad += [line for line in lines if "Traceback" in line]
        noisy += len(bad)
        if bad:
            print(f"{log.name}: {len(lines)} lines, {len(bad)} errors", flush=True)
            for line in bad[:3]:
                print(f"  {line[:300]}")
    if keep or noisy or any(workdir.glob("profile-*")):
        print(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def describe_queue(watch: QueueWatch) -> str:
    over = (
        f"at most {watch.most_over:,} messages more than notifications waiting"
        f" ({watch.over_at[0]:,} queued, {watch.over_at[1]:,} waiting)"
        if watch.most_over > 0
        else "never more messages than notifications waiting"
    )
    return f"delivery queue, {watch.samples} samples: deepest {watch.deepest:,}; {over}"


def summarise(rounds: list[Round], broker: str) -> None:
    print()
    print(
        f"broker {broker}. due→last: from the due instant to the last arrival;"
        " deliv/s: from the first to the last arrival; bare/s: from the first send to"
        " the last task run, the mean of a bare round before and one after the PCEM round;"
        " busy: all cores, during the PCEM round; others: CPU of processes outside this"
        " benchmark during it (100% = one core); cpu wait: share of the round in which"
        " some runnable task waited for a CPU (PSI)"
    )
    header = (
        f"{'workers':>7} {'delivered':>9} {'dups':>4} {'due→first':>9} {'due→last':>9}"
        f" {'deliv/s':>8} {'bare/s':>8} {'ratio':>6}  {'≤ 30 s':<6} {'≥ 0.5':<6}"
        f" {'busy':>5} {'others':>6} {'cpu wait':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rounds:
        within = r.complete and r.due_to_last <= WITHIN_TARGET_S
        judged = ("met" if within else "NOT") if r.concurrency >= WITHIN_WORKERS else "-"
        print(
            f"{r.concurrency:>7} {r.unique:>9,} {r.duplicates:>4} {r.first - r.due:8.1f}s"
            f" {r.due_to_last:8.1f}s {r.rate:8.1f} {r.bare_rate:8.1f} {r.ratio:6.2f}"
            f"  {judged:<6} {'met' if r.ratio >= RATIO_TARGET else 'NOT':<6}"
            f" {r.busy:4.0f}% {r.cpu.get('others', 0.0):5.0f}% {r.waited:7.0f}%"
        )
    for r in rounds:
        cpu = ", ".join(f"{role} {value:.0f}%" for role, value in r.cpu.items())
        bare = "; ".join(
            f"{when} {b.rate:.0f} tasks/s (its worker {b.cpu['worker']:.0f}%, busy"
            f" {b.busy:.0f}%, others {b.cpu['others']:.0f}%, cpu wait {b.waited:.0f}%)"
            for when, b in zip(("before", "after"), r.bare, strict=False)
        )
        print(f"{r.concurrency} worker(s): CPU during delivery, % of one core: {cpu}")
        print(
            f"  ledger {r.statuses}, {r.retried} retried; POSTs on {r.connections:,} TCP connections"
        )
        print(f"  bare Celery {bare}")
        print(f"  {describe_queue(r.queue)}")
        for line in r.profile:
            print(line)
    ok = all(r.complete for r in rounds)
    within = all(
        r.complete and r.due_to_last <= WITHIN_TARGET_S
        for r in rounds
        if r.concurrency >= WITHIN_WORKERS
    )
    ratio = all(r.ratio >= RATIO_TARGET for r in rounds)
    bounded = all(r.queue.most_over == 0 for r in rounds)
    print(
        f"targets: all delivered exactly once: {'met' if ok else 'NOT met'};"
        f" within {WITHIN_TARGET_S:.0f} s of due with {WITHIN_WORKERS}+ workers:"
        f" {'met' if within else 'NOT met'}; ratio ≥ {RATIO_TARGET}:"
        f" {'met' if ratio else 'NOT met'}; queue ≤ waiting: {'met' if bounded else 'NOT met'}"
        + ("" if ok else "   !!! some notifications missing or duplicated !!!")
    )


if __name__ == "__main__":
    main()
