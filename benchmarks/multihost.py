"""POST /people throughput with one app host, then two, as deployed on three hosts.

    sudo PYTHONPATH=.. python multihost.py [--seconds 10] [--clients 16] [--rounds 2]

Builds the topology of tests/e2e/test_multihost.py (tests/multihost.py: network
namespaces joined by a switch, PostgreSQL and Redis on a data host, `pcem api`,
`projector`, `worker` and `scheduler` on each of two app hosts; needs root), then
runs ``--clients`` threads creating people for ``--seconds``, first all against
app host 1, then split evenly over both, ``--rounds`` times each in turn. Prints
creates per second, latency and any answer other than 201 for each run. The
clients run in this process, in the root namespace: on a small machine they
compete with the servers for the same cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ helpers

from machine import describe  # benchmarks/machine.py (scripts run from this folder)

from tests.e2e.fault_fixtures import tokens_for
from tests.multihost import creates_per_second, deployment


def main() -> int:
    args = parse_args()
    print(describe())
    with deployment() as pcem:
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
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
