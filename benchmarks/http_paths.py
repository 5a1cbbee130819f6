"""PCEM's HTTP edge against bare peers, interleaved in one run, as ratios.

Starts `pcem api` and `pcem projector` against a fresh database on the local
PostgreSQL (PCEM_BENCH_ADMIN_URL) and Redis (PCEM_BENCH_REDIS_URL, flushed),
seeds one user with N people through POST /api/v1/people, and beside PCEM runs
the bare peers of benchmarks/bare_peer.py on the same database and rows:
  one-row   GET /api/v1/people/{id}        vs a bare Litestar + psycopg_pool app,
                                             the same SELECT by (user_id, id)
  page      GET /api/v1/people?limit=50    vs the same app, the same index range
  POST      POST /api/v1/people            vs a bare eventsourcing Application,
                                             N threads calling app.save() in a loop
Load comes from wrk (installed with apt-get if missing): N connections, keep-alive,
a fixed duration. Each round runs all six measurements, PCEM and peer alternating
which goes first; the medians over the rounds are divided PCEM / peer and checked
against the targets (one-row >= 0.5, page >= 0.5, POST >= 0.8 with p99 < 30 ms,
API resident memory < 150 MB). Beside the rates, each server's CPU per request: on
a machine shared with other work the rates move with the CPU the servers get, the
CPU a request costs much less, so "CPU ratio" (peer µs / PCEM µs per request) says
what the rate ratio would be if both were bound by one core of their own. Any non-2xx response or socket error is flagged
and makes the exit status 1.

Each measurement also shows the CPU of the measured server (100% = one core),
how busy the machine was (100% = every core) and "foreign": the CPU of processes
outside this benchmark (a test run beside it, say), flagged above 10% of a core.

The API logs at INFO, as deployed (one JSON line per request), into a file.

With --profile, py-spy samples each server (on-CPU: the API, the bare peer) through its
measurements of the first round and prints where its time went (benchmarks/profiles.py).

Usage: .venv/bin/python benchmarks/http_paths.py [--rounds 3] [--duration 10]
           [--people 1000] [--connections 8] [--threads 1] [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
import redis
from bare_peer import busy_since, cpu_sample  # benchmarks/bare_peer.py
from machine import describe  # benchmarks/machine.py (scripts run from this folder)
from profiles import record, summary  # benchmarks/profiles.py
from psycopg import sql

from pcem.cli.tokens import mint_token
from pcem.migrate import migrate
from pcem.settings import load_settings

ADMIN_URL = os.environ.get("PCEM_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PCEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
API_PORT = 8767
PEER_PORT = 8768
HERE = Path(__file__).resolve().parent
PCEM = Path(sys.executable).with_name("pcem")  # .venv/bin/pcem beside .venv/bin/python
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POST_BODY = '{"first_name": "Bench", "last_name": "N", "metadata": {"k": 1}}'
TARGETS = {"one-row": 0.5, "page": 0.5, "POST": 0.8}  # issue "Performance with every wall up"
POST_P99_TARGET_MS = 30.0
RSS_TARGET_MB = 150.0
FOREIGN_CPU_LIMIT = 10.0  # percent of one core, beyond which a run says it was shared
ATTEMPTS = 5  # to start pcem api and pcem projector, a minute apart


@dataclass(frozen=True)
class Figure:
    """One measurement: requests (or saves) per second and its latencies."""

    rate: float
    p50_ms: float
    p99_ms: float
    count: int
    errors: str  # "" when every response was 2xx and no socket failed
    server_cpu: float  # percent of one core used by the measured server process
    machine_busy: float  # percent of all cores busy during the measurement
    foreign_cpu: float = 0.0  # percent of one core used by processes not of this benchmark
    foreign_top: str = ""  # the command line of the busiest of them

    @property
    def cpu_us(self) -> float:
        """The measured server's CPU per request, in µs: the figure a busy machine moves
        least (its rate falls when the server gets less CPU, this does not)."""
        return 1e4 * self.server_cpu / self.rate if self.rate else 0.0

    def line(self, unit: str = "req/s") -> str:
        flag = f"   !!! {self.errors} !!!" if self.errors else ""
        return (
            f"{self.rate:9.1f} {unit:<7} p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
            f"  n={self.count:<7} server CPU {self.server_cpu:4.0f}% = {self.cpu_us:5.0f} µs/req"
            f"  machine busy {self.machine_busy:4.0f}%  foreign {self.foreign_cpu:3.0f}%{flag}"
            + (f"  ({self.foreign_top})" if self.foreign_cpu > FOREIGN_CPU_LIMIT else "")
        )


@dataclass
class Bench:
    """What the measurements need: where to send load, and with what."""

    token: str
    person_id: str
    duration: int
    connections: int
    threads: int
    post_script: str
    peer_env: dict[str, str]
    database: str
    api: subprocess.Popen[bytes]
    projector: subprocess.Popen[bytes]
    peer: subprocess.Popen[bytes]
    profile_dir: Path | None = None  # --profile: py-spy the API in the first round


def main() -> None:
    args = parse_args()
    print(describe(), flush=True)
    ensure_wrk()
    redis.Redis.from_url(REDIS_URL).flushdb()

    name = f"pcem_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    env = {
        **os.environ,
        "PCEM_DATABASE_URL": database_url,
        "PCEM_REDIS_URL": REDIS_URL,
        "PCEM_JWT_SECRET": secrets.token_urlsafe(40),
        "PCEM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PCEM_LOG_LEVEL": args.log_level,
        # The limits are on, as deployed, but far above the one user's load (~4,000/s):
        # every request still pays its count in Redis.
        "PCEM_RATE_LIMIT_PER_MINUTE": os.environ.get("PCEM_RATE_LIMIT_PER_MINUTE", "10000000"),
    }
    settings = load_settings(env)
    workdir = Path(tempfile.mkdtemp(prefix="pcem_http_paths_"))
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []
    failed = True
    try:
        migrate(settings.require_database())
        api, projector = start_pcem(env, workdir, processes, logs)
        # A user of this run's own: read-your-writes positions in Redis outlive the database.
        user = f"bench-user-{secrets.token_hex(4)}"
        token = mint_token(settings.jwt, user, ttl=timedelta(hours=2))
        print(f"API resident memory at start: {rss_mb(api.pid):.1f} MB", flush=True)
        person_id = seed(token, args.people, args.connections)
        peer_env = {**os.environ, "PEER_DATABASE_URL": database_url, "PEER_USER_ID": user}
        peer = start_process(
            [sys.executable, str(HERE / "bare_peer.py"), "serve", "--port", str(PEER_PORT)],
            peer_env,
            workdir / "peer.log",
            processes,
            logs,
        )
        wait_until(
            lambda: get_status(f"http://127.0.0.1:{PEER_PORT}/people/{person_id}") == 200,
            60,
            "the bare peer did not answer",
            [peer],
        )
        script = workdir / "post.lua"
        script.write_text(post_lua(token))
        bench = Bench(
            token=token,
            person_id=person_id,
            duration=args.duration,
            connections=args.connections,
            threads=min(args.threads, args.connections),
            post_script=str(script),
            peer_env=peer_env,
            database=name,
            api=api,
            projector=projector,
            peer=peer,
            profile_dir=workdir if args.profile else None,
        )
        failed = run(bench, args.rounds, args.paths, warmup=min(2, args.duration))
    finally:
        for process in processes:
            stop(process)
        for log in logs:
            log.close()
        report_logs(workdir, keep=failed or args.profile)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    if failed:
        sys.exit(1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--people", type=int, default=1000, help="people seeded for the user")
    parser.add_argument(
        "--connections", type=int, default=8, help="wrk connections and bare save threads"
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1-2 on 2 cores)")
    parser.add_argument(
        "--log-level", default="INFO", help="PCEM_LOG_LEVEL of api and projector (as deployed)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1 round of 3 s with 200 people"
    )
    parser.add_argument(
        "--paths",
        default="one-row,page,POST",
        help="which pairs to measure, comma-separated (one-row, page, POST)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy each server (on-CPU) during its measurements of the first round",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.people = 1, 3, 200
    args.paths = [kind.strip() for kind in args.paths.split(",")]
    if not set(args.paths) <= set(TARGETS) or not args.paths:
        parser.error(f"--paths: some of {', '.join(TARGETS)}")
    if args.rounds < 1 or args.duration < 1 or args.people < 1 or args.connections < 1:
        parser.error("--rounds, --people and --connections must be >= 1, --duration >= 1 s")
    return args


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("installing wrk (apt-get install -y wrk)", flush=True)
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, stdout=subprocess.DEVNULL, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL, timeout=600)
        subprocess.run(install, stdout=subprocess.DEVNULL, timeout=600)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing and apt-get could not install it")


# --- processes ---------------------------------------------------------------


def start_process(
    command: list[str],
    env: dict[str, str],
    log_path: Path,
    processes: list[subprocess.Popen[bytes]],
    logs: list[IO[bytes]],
) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    logs.append(log)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    processes.append(process)
    return process


def start_pcem(
    env: dict[str, str],
    workdir: Path,
    processes: list[subprocess.Popen[bytes]],
    logs: list[IO[bytes]],
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """`pcem api` and `pcem projector`; retried a minute later if they do not come up
    (the code under pcem/ may be in the middle of a change)."""
    for attempt in range(1, ATTEMPTS + 1):
        api_log, projector_log = (
            workdir / f"api-{attempt}.log",
            workdir / f"projector-{attempt}.log",
        )
        api = start_process(
            [str(PCEM), "api", "--port", str(API_PORT)], env, api_log, processes, logs
        )
        projector = start_process([str(PCEM), "projector"], env, projector_log, processes, logs)
        try:
            wait_until(
                lambda: get_status(f"http://127.0.0.1:{API_PORT}/health/ready") == 200,
                60,
                "the API did not become ready",
                [api, projector],
            )
            time.sleep(1)
            check_alive([api, projector])
            return api, projector
        except RuntimeError as error:
            print(f"attempt {attempt}: {error}", flush=True)
            for process in (api, projector):
                stop(process)
                processes.remove(process)
            for log in (api_log, projector_log):
                tail = log.read_text(errors="replace").splitlines()[-3:]
                print(f"  {log.name}: " + "\n    ".join(tail), flush=True)
            if attempt < ATTEMPTS:
                print("  retrying in 60 s", flush=True)
                time.sleep(60)
    raise SystemExit(f"pcem api / pcem projector did not start in {ATTEMPTS} attempts")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def check_alive(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, process.args))} exited ({process.returncode})")


def wait_until(
    condition: Callable[[], bool],
    seconds: float,
    failure: str,
    watched: list[subprocess.Popen[bytes]],
) -> float:
    """Poll ``condition`` until true; the seconds it took. Raises after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        check_alive(watched)
        try:
            if condition():
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(failure)


def get_status(url: str) -> int:
    return httpx.get(url, timeout=5).status_code


def rss_mb(pid: int) -> float:
    """VmRSS of a process and its descendants, in MB."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total_kb += int(match.group(1)) if match else 0
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending.extend(int(child) for child in task.read_text().split())
    return total_kb / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


_BACKEND = re.compile(r"^postgres: \S+ (\S+) (?:\S+\(\d+\)|\[local\])")


def process_times() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds so far, command line) of every process."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended meanwhile
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        processes[int(entry.name)] = (int(fields[1]), cpu, command)
    return processes


def foreign_cpu(
    before: dict[int, tuple[int, float, str]],
    after: dict[int, tuple[int, float, str]],
    seconds: float,
    database: str,
) -> tuple[float, str]:
    """Percent of one core that processes outside this benchmark used meanwhile: neither
    this script and its children, nor Redis, nor PostgreSQL's own processes and its
    backends of ``database``. At least: processes that ended meanwhile are not seen.
    Also the command line of the busiest of them, cut to 60 characters."""
    ours = {os.getpid()}
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in after.items():
        children.setdefault(parent, []).append(pid)
    pending = [os.getpid()]
    while pending:
        for child in children.get(pending.pop(), []):
            ours.add(child)
            pending.append(child)
    used: dict[str, float] = {}
    for pid, (_, cpu, command) in after.items():
        if pid in ours or command.startswith("redis-server"):
            continue
        if command.startswith("postgres"):
            backend = _BACKEND.match(command)
            if backend is None or backend[1] == database:
                continue  # the server's own processes, or ours
        delta = cpu - before[pid][1] if pid in before else cpu
        used[command[:60]] = used.get(command[:60], 0.0) + delta
    busiest = max(used, key=used.__getitem__, default="")
    return 100 * sum(used.values()) / seconds, busiest


def report_logs(workdir: Path, *, keep: bool) -> None:
    noisy = 0
    for log in sorted(workdir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        bad = [line for line in lines if re.search(r'"level": ?"(warning|error|critical)"', line)]
        bad += [line for line in lines if "Traceback" in line]
        noisy += len(bad)
        print(f"{log.name}: {len(lines)} lines, {len(bad)} warnings/errors", flush=True)
        for line in bad[:3]:
            print(f"  {line[:300]}")
    if keep or noisy:
        print(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


# --- seeding -----------------------------------------------------------------


def seed(token: str, people: int, connections: int) -> str:
    """``people`` people through the API; returns the first one's id once the
    projection lists them all."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{API_PORT}"
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:

        def create(i: int) -> str:
            body = {"first_name": f"P{i}", "last_name": f"L{i % 97}", "metadata": {"i": i}}
            response = client.post("/api/v1/people", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"seeding: POST answered {response.status_code}")
            return str(response.json()["id"])

        with ThreadPoolExecutor(max_workers=connections) as pool:
            ids = list(pool.map(create, range(people)))

        def listed() -> bool:
            count, cursor = 0, None
            for _ in range(people // 200 + 2):  # bounded: at most every page once
                params: dict[str, Any] = {"limit": 200}
                if cursor:
                    params["cursor"] = cursor
                page = client.get("/api/v1/people", params=params).json()
                count += len(page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            return count >= people

        wait_until(listed, 120, "the projection did not catch up with the seeding", [])
    print(f"seeded {people} people through the API in {time.monotonic() - started:.1f} s")
    return ids[0]


def wait_for_projector(bench: Bench) -> float:
    """Until no live projection lags (after POST load the projector has work left)."""

    def caught_up() -> bool:
        response = httpx.get(f"http://127.0.0.1:{API_PORT}/health/ready", timeout=5)
        lags = response.json().get("projections", {})
        return response.status_code == 200 and all(p["lag"] == 0 for p in lags.values())

    return wait_until(
        caught_up, 300, "the projector did not catch up", [bench.api, bench.projector]
    )


# --- measurements ------------------------------------------------------------


def post_lua(token: str) -> str:
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = '{POST_BODY}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def run_wrk(
    bench: Bench, url: str, server: subprocess.Popen[bytes], duration: float, *, post: bool
) -> Figure:
    command = [
        "wrk",
        f"-t{bench.threads}",
        f"-c{bench.connections}",
        f"-d{int(duration)}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    if post:
        command += ["-s", bench.post_script]
    else:
        command += ["-H", f"Authorization: Bearer {bench.token}"]
    command.append(url)
    check_alive([bench.api, bench.projector, bench.peer])
    processes, machine = process_times(), cpu_sample()
    cpu, started = cpu_seconds(server.pid), time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    seconds = time.monotonic() - started
    server_cpu = 100 * (cpu_seconds(server.pid) - cpu) / seconds
    machine_busy = busy_since(machine)
    foreign, top = foreign_cpu(processes, process_times(), seconds, bench.database)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    figure = parse_wrk(result.stdout, server_cpu, machine_busy)
    return replace(figure, foreign_cpu=foreign, foreign_top=top)


def parse_wrk(output: str, server_cpu: float, machine_busy: float) -> Figure:
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    count = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    latency = {
        int(m[1]): float(m[2]) * _UNITS_MS[m[3]]
        for m in re.finditer(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    }
    if not rate or not count or set(latency) != {50, 99}:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = []
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx and int(non_2xx[1]):
        errors.append(f"{non_2xx[1]} non-2xx responses")
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets and any(int(n) for n in sockets.groups()):
        errors.append(
            "socket errors: connect {}, read {}, write {}, timeout {}".format(*sockets.groups())
        )
    return Figure(
        rate=float(rate[1]),
        p50_ms=latency[50],
        p99_ms=latency[99],
        count=int(count[1]),
        errors="; ".join(errors),
        server_cpu=server_cpu,
        machine_busy=machine_busy,
    )


def run_saves(bench: Bench, duration: float) -> Figure:
    command = [sys.executable, str(HERE / "bare_peer.py"), "saves"]
    command += ["--duration", str(duration), "--threads", str(bench.connections)]
    processes, started = process_times(), time.monotonic()
    result = subprocess.run(
        command, env=bench.peer_env, capture_output=True, text=True, timeout=duration + 120
    )
    # Over the whole subprocess, its start included: the foreign share is diluted a little.
    seconds = time.monotonic() - started
    foreign, top = foreign_cpu(processes, process_times(), seconds, bench.database)
    if result.returncode != 0:
        raise RuntimeError(f"the bare save loop failed:\n{result.stderr[-2000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return Figure(
        rate=figures["saves"] / figures["seconds"],
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        count=figures["saves"],
        errors="",
        server_cpu=figures["cpu_percent"],
        machine_busy=figures["machine_busy"],
        foreign_cpu=foreign,
        foreign_top=top,
    )


def measurements(bench: Bench) -> dict[str, Callable[[float], Figure]]:
    pcem = f"http://127.0.0.1:{API_PORT}/api/v1/people"
    peer = f"http://127.0.0.1:{PEER_PORT}/people"
    one = bench.person_id

    def post(duration: float) -> Figure:
        figure = run_wrk(bench, pcem, bench.api, duration, post=True)
        waited = wait_for_projector(bench)
        print(f"    (projector caught up {waited:.1f} s after the POST load)", flush=True)
        return figure

    return {
        "peer one-row": lambda d: run_wrk(bench, f"{peer}/{one}", bench.peer, d, post=False),
        "pcem one-row": lambda d: run_wrk(bench, f"{pcem}/{one}", bench.api, d, post=False),
        "peer page": lambda d: run_wrk(bench, f"{peer}?limit=50", bench.peer, d, post=False),
        "pcem page": lambda d: run_wrk(bench, f"{pcem}?limit=50", bench.api, d, post=False),
        "bare saves": lambda d: run_saves(bench, d),
        "pcem POST": post,
    }


PAIRS = [("one-row", "peer one-row", "pcem one-row"), ("page", "peer page", "pcem page")]
PAIRS += [("POST", "bare saves", "pcem POST")]


def run(bench: Bench, rounds: int, kinds: list[str], *, warmup: int) -> bool:
    """All rounds of the pairs of ``kinds``, then the table of medians; True when a
    request failed."""
    pairs = [pair for pair in PAIRS if pair[0] in kinds]
    runs = {
        label: measure
        for label, measure in measurements(bench).items()
        if any(label in pair for pair in pairs)
    }
    print(
        f"load: wrk -t{bench.threads} -c{bench.connections} -d{bench.duration}s, keep-alive,"
        f" loopback; bare saves: {bench.connections} threads; {rounds} round(s)",
        flush=True,
    )
    print(f"warm-up: {warmup:.0f} s of each path (not counted)", flush=True)
    for label, measure in runs.items():
        figure = measure(warmup)
        if figure.errors:
            print(f"  warm-up {label}: !!! {figure.errors} !!!", flush=True)
    rss_before = rss_mb(bench.api.pid)
    print(f"API resident memory after seeding and warm-up: {rss_before:.1f} MB", flush=True)

    results: dict[str, list[Figure]] = {label: [] for label in runs}
    for index in range(rounds):
        print(f"round {index + 1}/{rounds}", flush=True)
        for _, peer_label, pcem_label in pairs:
            order = (peer_label, pcem_label) if index % 2 == 0 else (pcem_label, peer_label)
            for label in order:
                figure = measured(bench, label, runs[label], profile=index == 0)
                results[label].append(figure)
                unit = "saves/s" if label == "bare saves" else "req/s"
                print(f"  {label:<13} {figure.line(unit)}", flush=True)
    rss_after = rss_mb(bench.api.pid)
    return summarise(results, pairs, rss_before, rss_after)


def measured(
    bench: Bench, label: str, measure: Callable[[float], Figure], *, profile: bool
) -> Figure:
    """One measurement; with ``--profile``, its server under py-spy (the API, the bare
    peer; not the save loop)."""
    server = {"pcem": bench.api, "peer": bench.peer}.get(label.split()[0])
    if not (profile and bench.profile_dir and server):
        return measure(bench.duration)
    output = bench.profile_dir / f"profile-{label.replace(' ', '-')}.txt"
    profiler = record(server.pid, bench.duration - 1, output)
    figure = measure(bench.duration)
    if profiler is not None:
        print("\n".join(f"    {line}" for line in summary(profiler, output)), flush=True)
    return figure


def summarise(
    results: dict[str, list[Figure]],
    pairs: list[tuple[str, str, str]],
    rss_before: float,
    rss_after: float,
) -> bool:
    """Prints the table of medians; True when a request failed (the figures are void)."""

    def median(label: str, field: str) -> float:
        return statistics.median(getattr(f, field) for f in results[label])

    rounds = len(results[pairs[0][2]])
    print()
    print(f"medians over {rounds} round(s); ratio = PCEM req/s / peer (req/s or saves/s),")
    print(
        "the ratio of the medians; by round: the ratio within each round (the pair ran back to back)"
    )
    header = (
        f"{'path':<28} {'PCEM req/s':>10} {'PCEM p50':>9} {'PCEM p99':>9}"
        f" {'peer /s':>9} {'peer p50':>9} {'peer p99':>9} {'ratio':>6}  {'target':<24} {'met':<3}"
        f"  {'µs/req PCEM, peer':>17} {'CPU ratio':>9}  by round"
    )
    print(header)
    print("-" * len(header))
    paths = {
        "one-row": "GET /api/v1/people/{id}",
        "page": "GET /api/v1/people?limit=50",
        "POST": "POST /api/v1/people",
    }
    for kind, peer_label, pcem_label in pairs:
        rate, peer_rate = median(pcem_label, "rate"), median(peer_label, "rate")
        p99 = median(pcem_label, "p99_ms")
        ratio = rate / peer_rate if peer_rate else float("nan")
        by_round = " ".join(
            f"{a.rate / b.rate:.2f}" if b.rate else "nan"
            for a, b in zip(results[pcem_label], results[peer_label], strict=True)
        )
        cpu, peer_cpu = median(pcem_label, "cpu_us"), median(peer_label, "cpu_us")
        met = ratio >= TARGETS[kind]
        target = f">= {TARGETS[kind]}"
        if kind == "POST":
            met = met and p99 < POST_P99_TARGET_MS
            target += f", p99 < {POST_P99_TARGET_MS:.0f} ms"
        print(
            f"{paths[kind]:<28} {rate:10.1f} {median(pcem_label, 'p50_ms'):6.2f} ms"
            f" {p99:6.2f} ms {peer_rate:9.1f} {median(peer_label, 'p50_ms'):6.2f} ms"
            f" {median(peer_label, 'p99_ms'):6.2f} ms {ratio:6.2f}  {target:<24}"
            f" {'yes' if met else 'NO':<3}  {cpu:>6.0f}, {peer_cpu:>6.0f} µs"
            f" {peer_cpu / cpu if cpu else float('nan'):9.2f}  {by_round}"
        )
    rss_met = max(rss_before, rss_after) < RSS_TARGET_MB
    print(
        f"{'API resident memory':<28} {rss_before:.1f} MB before the rounds,"
        f" {rss_after:.1f} MB after  (target < {RSS_TARGET_MB:.0f} MB)"
        f" {'yes' if rss_met else 'NO'}"
    )
    foreign = [f.foreign_cpu for figures in results.values() for f in figures]
    if max(foreign) > FOREIGN_CPU_LIMIT:
        print(
            f"!! other processes on the machine used up to {max(foreign):.0f}% of a core"
            f" (median {statistics.median(foreign):.0f}%) during the measurements:"
            " the figures share the CPU with them (see 'foreign' by round)"
        )
    errors = [(label, f.errors) for label, figures in results.items() for f in figures if f.errors]
    if errors:
        print()
        print("!" * 78)
        print(f"!!! {len(errors)} measurement(s) had failed requests: figures are not valid")
        for label, text in errors:
            print(f"!!!   {label}: {text}")
        print("!" * 78)
    return bool(errors)


if __name__ == "__main__":
    main()
