"""PCEM as deployed on three hosts, on one machine: a network namespace per host,
each joined by a veth pair to a switch (a bridge in a namespace of its own, so
the machine's own firewall and routes never see the traffic), and the test's
driver — the root namespace — on the switch too. Nothing listens on loopback:
PostgreSQL and Redis on the data host's address, each app host's API on its own.

Used by ``tests/e2e/test_multihost.py`` and ``benchmarks/multihost.py``.
"""

from __future__ import annotations

import ipaddress
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field

import httpx
import psutil
import psycopg
import redis
from sqlalchemy import create_engine

from pcem.projector.tracking import ProjectionTracking
from pcem.settings import Settings
from tests.conftest import settings_for
from tests.cpu_budget import CpuGroup
from tests.e2e.notification_helpers import kill_tree
from tests.integration.projection_helpers import pcem_env, start_pcem
from tests.load import Load, Outcome
from tests.polling import wait_until
from tests.private_servers import PrivatePostgres

APP_ROLES = ("app1", "app2")
POSTGRES_PORT = 5432
REDIS_PORT = 6379
API_PORT = 8000
COMMAND_SECONDS = 20  # any `ip` command; a hang there is a broken machine, not a slow one


@dataclass(frozen=True)
class Host:
    role: str  # "data", "app1", "app2": also the name of its port on the switch
    namespace: str
    address: str

    @property
    def launcher(self) -> tuple[str, ...]:
        """The prefix that runs a command on this host."""
        return ("ip", "netns", "exec", self.namespace)


@dataclass(frozen=True)
class Network:
    switch: str  # the switch's namespace
    driver_address: str  # the root namespace's address on the switch
    subnet: ipaddress.IPv4Network
    hosts: dict[str, Host]

    def cut(self, role: str) -> None:
        """Pull the host's cable: its port on the switch goes down, the host itself
        is told nothing (its processes run on, talking into the void)."""
        ip("-n", self.switch, "link", "set", role, "down")


def ip(*args: str) -> None:
    """Run `ip`; a failure says that this machine cannot host the topology."""
    command = ["ip", *args]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True,
                       timeout=COMMAND_SECONDS)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", None) or error
        raise AssertionError(
            f"cannot build the multi-host network on this machine ({' '.join(command)}: "
            f"{detail}); it needs root, iproute2 and network namespaces (`ip netns add`)"
        ) from error


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.231.0.0/16 that no route of this machine covers."""
    taken = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                           text=True, timeout=COMMAND_SECONDS).stdout  # fmt: skip
    routes = [ipaddress.ip_network(w, strict=False) for w in taken.split() if "/" in w]
    candidates = list(ipaddress.IPv4Network("10.231.0.0/16").subnets(new_prefix=24))
    random.shuffle(candidates)
    return next(c for c in candidates if not any(c.overlaps(r) for r in routes))


@contextmanager
def network(roles: tuple[str, ...] = ("data", *APP_ROLES)) -> Iterator[Network]:
    """The switch, one namespace per role, the driver's link; all removed at the end,
    with whatever still runs inside the namespaces."""
    prefix = f"pcem{secrets.token_hex(3)}"
    subnet = free_subnet()
    addresses = [str(a) for a in subnet.hosts()]
    uplink = prefix  # the root namespace's end: 10 characters, under IFNAMSIZ
    net = Network(
        switch=f"{prefix}-switch",
        driver_address=addresses[-1],
        subnet=subnet,
        hosts={r: Host(r, f"{prefix}-{r}", addresses[n]) for n, r in enumerate(roles)},
    )
    made: list[str] = []
    try:
        _switch(net, made)
        for host in net.hosts.values():
            _plug(net, host, made)
        _uplink(net, uplink)
        yield net
    finally:
        for namespace in reversed(made):
            _remove(namespace)
        with suppress(AssertionError):  # gone with its peer, normally
            ip("link", "del", uplink)


def _switch(net: Network, made: list[str]) -> None:
    ip("netns", "add", net.switch)
    made.append(net.switch)
    ip("-n", net.switch, "link", "add", "switch", "type", "bridge")
    ip("-n", net.switch, "link", "set", "switch", "up")


def _plug(net: Network, host: Host, made: list[str]) -> None:
    """A host's namespace and its cable: ``eth0`` inside, ``<role>`` on the switch."""
    ip("netns", "add", host.namespace)
    made.append(host.namespace)
    ip("-n", net.switch, "link", "add", host.role, "type", "veth",
       "peer", "name", "eth0", "netns", host.namespace)  # fmt: skip
    ip("-n", net.switch, "link", "set", host.role, "master", "switch", "up")
    ip("-n", host.namespace, "addr", "add", f"{host.address}/{net.subnet.prefixlen}", "dev", "eth0")
    ip("-n", host.namespace, "link", "set", "eth0", "up")


def _uplink(net: Network, name: str) -> None:
    ip("link", "add", name, "type", "veth", "peer", "name", "driver", "netns", net.switch)
    ip("-n", net.switch, "link", "set", "driver", "master", "switch", "up")
    ip("addr", "add", f"{net.driver_address}/{net.subnet.prefixlen}", "dev", name)
    ip("link", "set", name, "up")


def _remove(namespace: str) -> None:
    """SIGKILL what still runs in the namespace (only this run's processes live
    there), then delete it with its links."""
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True,
                            timeout=COMMAND_SECONDS).stdout  # fmt: skip
    for pid in listed.split():
        with suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    with suppress(AssertionError):
        ip("netns", "del", namespace)


# The data host


@contextmanager
def data_host(net: Network) -> Iterator[Settings]:
    """PostgreSQL and Redis on the data host's address; the settings every host
    (and the driver) uses to reach them."""
    data = net.hosts["data"]
    with ExitStack() as stack:
        postgres = PrivatePostgres(data.address, POSTGRES_PORT, data.launcher, str(net.subnet))
        stack.callback(postgres.close)
        with psycopg.connect(postgres.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE DATABASE pcem")
        stack.enter_context(_redis(data))
        redis_url = f"redis://{data.address}:{REDIS_PORT}"
        yield settings_for(postgres.url("pcem"), f"{redis_url}/0",
                           PCEM_BROKER_URL=f"{redis_url}/1")  # fmt: skip


@contextmanager
def _redis(host: Host) -> Iterator[None]:
    command = [*host.launcher, "redis-server", "--bind", host.address, "--port", str(REDIS_PORT),
               "--save", "", "--appendonly", "no", "--protected-mode", "no"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: server.poll() is not None or _redis_answers(host), 20, "redis-server")
        assert server.poll() is None, "redis-server exited at once"
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def _redis_answers(host: Host) -> bool:
    try:
        return bool(redis.Redis(host=host.address, port=REDIS_PORT, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def migrate(net: Network, settings: Settings) -> None:
    """`pcem migrate`, from the first app host, as an operator's deployment would."""
    subprocess.run(
        [*net.hosts[APP_ROLES[0]].launcher, *_pcem_command("migrate")],
        env=pcem_env(settings), check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def _pcem_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pcem.cli.main", *args]


# The app hosts


@dataclass
class AppHost:
    host: Host
    cpu: CpuGroup  # its processes' CPU budget: unlimited but while measuring
    processes: dict[str, subprocess.Popen[str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host.address}:{API_PORT}"


# Quick ticks and a short lease: what a lost hand-out or a dead host held goes out
# again within seconds, not the production minute.
APP_ENV = {
    "PCEM_SCHEDULER_TICK_SECONDS": "1",
    "PCEM_DELIVERY_LEASE_SECONDS": "5",
    "PCEM_LOG_LEVEL": "WARNING",
}


@contextmanager
def app_host(settings: Settings, host: Host) -> Iterator[AppHost]:
    """`pcem api`, `projector`, `worker` and `scheduler` on ``host``, stopped at the end
    (all told at once, so that their shutdowns overlap). Not yet ready: see ``ready``."""
    app = AppHost(host, CpuGroup(f"pcem-{host.role}"))
    commands = {
        "api": ("api", "--host", host.address, "--port", str(API_PORT)),
        "projector": ("projector",),
        "worker": ("worker", "--concurrency", "1"),
        "scheduler": ("scheduler",),
    }
    env = {**APP_ENV, "PCEM_BROKER_URL": settings.require_redis().broker_url}
    try:
        for name, command in commands.items():
            app.processes[name] = start_pcem(
                settings, *command, env_extra=env, launcher=(*app.cpu.joining(), *host.launcher),
                start_new_session=True,
            )  # fmt: skip
        yield app
    finally:
        _stop_all(list(app.processes.values()))
        app.cpu.remove()


STOP_SECONDS = 10  # a host's processes' shutdown, together; a cut-off one may hang in it


def _stop_all(processes: list[subprocess.Popen[str]]) -> None:
    """SIGTERM all at once, one deadline for all, then SIGKILL what is left."""
    for process in processes:
        with suppress(ProcessLookupError):
            process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes:
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.poll() is None:
            with suppress(psutil.NoSuchProcess):  # it may end meanwhile
                kill_tree(psutil.Process(process.pid))
            process.wait()


def ready(app: AppHost) -> bool:
    exited = {n: p.returncode for n, p in app.processes.items() if p.poll() is not None}
    assert not exited, f"{app.host.role}: exited {exited}"
    try:
        return httpx.get(f"{app.url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def projector_hosts(settings: Settings) -> set[str]:
    """Which processes run a projection now (``application_name`` of each runner)."""
    engine = create_engine(settings.require_database().sqlalchemy_url)
    try:
        return {s.runner for s in ProjectionTracking(engine).statuses() if s.runner}
    finally:
        engine.dispose()


def runs_projections(settings: Settings, app: AppHost) -> bool:
    """Whether ``app``'s projector holds every projection (``ip netns exec`` execs:
    the process started is the projector, with its pid)."""
    return projector_hosts(settings) == {
        f"pcem projector {socket.gethostname()}:{app.processes['projector'].pid}"[:63]
    }


@dataclass(frozen=True)
class Deployment:
    network: Network
    settings: Settings  # the data host's servers, as every host reaches them
    apps: list[AppHost]


@contextmanager
def deployment(roles: tuple[str, ...] = APP_ROLES) -> Iterator[Deployment]:
    """The whole topology running: the data host, then ``roles``' app hosts."""
    with network() as net, data_host(net) as settings, ExitStack() as stack:
        migrate(net, settings)
        apps = [stack.enter_context(app_host(settings, net.hosts[r])) for r in roles]
        wait_until(lambda: all(ready(app) for app in apps), 60, "every pcem api to be ready")
        # Else the first reads wait for a projector still starting: 503s.
        wait_until(lambda: projector_hosts(settings), 60, "a projector to run")
        yield Deployment(net, settings, apps)


def merged(*outcomes: Outcome) -> Outcome:
    """One outcome of several loads (each with tokens of its own), for the tally."""
    whole = Outcome()
    for outcome in outcomes:
        whole.acknowledged.update(outcome.acknowledged)
        whole.attempted |= outcome.attempted
        whole.statuses.update(outcome.statuses)
        whole.latencies += outcome.latencies
    return whole


# Each app host's share of the machine while throughput is measured: half a core,
# as if it had cores of its own. Unbudgeted, every "host" draws on the same two
# cores, and a second one cannot show what it adds (docs/scaling.md).
APP_HOST_CPUS = 0.5


@contextmanager
def budgeted(apps: list[AppHost], cpus: float = APP_HOST_CPUS) -> Iterator[None]:
    """Every app host capped at ``cpus`` for the block (the data host never is)."""
    try:
        for app in apps:
            app.cpu.limit(cpus)
        yield
    finally:
        for app in apps:
            app.cpu.unlimited()


CREATES = (1, 0, 0, 0)  # tests.load's mix weights: POST /people only


@dataclass(frozen=True)
class Throughput:
    hosts: int
    clients: int
    seconds: float
    created: int  # answered 201
    outcome: Outcome
    throttled: float  # seconds the hosts driven waited on their CPU budget, in all

    def summary(self) -> str:
        others = {k: n for k, n in self.outcome.statuses.items() if k != "create 201"}
        return (
            f"{self.hosts} app host(s), {self.clients} clients, {self.seconds:.1f} s: "
            f"{self.created / self.seconds:.1f} creates/s, p50 {self.outcome.median() * 1000:.0f}"
            f" ms, p95 {self.outcome.percentile(0.95) * 1000:.0f} ms, throttled"
            f" {self.throttled:.1f} s, other answers {others}"
        )


def creates_per_second(
    apps: list[AppHost], tokens: dict[str, str], clients: int, seconds: float, name: str
) -> Throughput:
    """``clients`` threads POSTing people, split evenly over ``apps``, for ``seconds``."""
    share = clients // len(apps)
    loads = [
        Load(app.url, tokens, share, seed=n, weights=CREATES, timeout=10, name=f"{name}{n}-")
        for n, app in enumerate(apps)
    ]
    throttled_before = sum(app.cpu.throttled_seconds() for app in apps)
    started = time.monotonic()
    for load in loads:
        load.start()
    time.sleep(seconds)  # the measurement's length, not a wait for something to happen
    outcome = merged(*(load.stop() for load in loads))
    elapsed = time.monotonic() - started
    throttled = sum(app.cpu.throttled_seconds() for app in apps) - throttled_before
    return Throughput(len(apps), clients, elapsed, len(outcome.acknowledged), outcome, throttled)
