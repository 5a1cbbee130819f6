"""POST /people throughput with one app host, then two, as deployed on three hosts.

    sudo PYTHONPATH=.. python multihost.py [--seconds 10] [--clients 16] [--rounds 2] [--cpus 0.5]

Builds the topology of tests/e2e/test_multihost.py (tests/multihost.py: network
namespaces joined by a switch, PostgreSQL and Redis on a data host, `pcem api`,
`projector`, `worker` and `scheduler` on each of two app hosts; needs root), then
runs ``--clients`` threads creating people for ``--seconds``, first all against
app host 1, then split evenly over both, ``--rounds`` times each in turn, every
app host capped at ``--cpus`` of CPU (a cgroup each: tests/cpu_budget.py), as if it
had cores of its own. Prints creates per second, latency, the seconds the hosts
waited on their budget and any answer other than 201 for each run. The clients
and the data host are not capped; the clients run in this process, in the root
namespace.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ helpers

from machine import describe  # benchmarks/machine.py (scripts run from this folder)

from tests.e2e.fault_fixtures import tokens_for
from tests.multihost import APP_HOST_CPUS, budgeted, creates_per_second, deployment


def main() -> int:
    args = parse_args()
    print(describe())
    with deployment() as pcem, budgeted(pcem.apps, args.cpus):
        tokens = tokens_for(pcem.settings, 20)
        for round_ in range(args.rounds):
            for apps in ([pcem.apps[0]], pcem.apps):
                name = f"r{round_}h{len(apps)}-"
                measured = creates_per_second(apps, tokens, args.clients, args.seconds, name)
                print(measured.summary(), flush=True)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--clients", type=int, default=16, help="client threads in all")
    parser.add_argument("--rounds", type=int, default=2, help="one-host/two-host pairs")
    parser.add_argument("--cpus", type=float, default=APP_HOST_CPUS,
                        help="each app host's CPU budget while measuring, in cores")  # fmt: skip
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
