"""Schemathesis, every check and phase, against the API served by uvicorn.

Bounded and seeded, so it runs on every `make test` (docs/reliability.md has the
longer runs, on other seeds). Any failure fails the test, with Schemathesis' report
in its output, and so does a run whose stateful phase (sequences of calls along the
document's links) did not get to run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TokenFactory

HERE = Path(__file__).parent
ST = Path(sys.executable).with_name("st")
# A seed drawn at random (not one chosen for passing), few examples per operation, and
# time enough for the stateful phase after the others.
BOUNDED = ["--seed", "129544", "--max-examples", "4", "--max-time", "240"]


@pytest.mark.slow
@pytest.mark.timeout(330)
def test_schemathesis_finds_no_failure(
    live_url: str, token_for: TokenFactory, tmp_path: Path
) -> None:
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps(_identities(token_for)))

    command = [str(ST), "--config-file", str(HERE / "schemathesis.toml"), "run"]
    # A generous timeout: the suite's other worker may hold both cores for seconds, and a
    # slow answer then is not a contract broken (a hang still fails, after 30 s).
    target = [f"{live_url}/schema/openapi.json", "--checks", "all", "--request-timeout", "30"]
    run = subprocess.run(
        # One worker: Hypothesis describes its filters by parsing their source with `ast`,
        # and CPython 3.11 parsing in two threads at once can fail with "AST constructor
        # recursion depth mismatch" (a Schemathesis error, not an answer of PCEM).
        [*command, *target, "--workers", "1", "--no-color", *BOUNDED],
        env={
            **os.environ,
            "PCEM_SCHEMATHESIS_AUTH": str(auth),
            "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert run.returncode == 0, _report(run.stdout) + run.stderr[-2000:]
    assert "Scenarios:" in run.stdout, run.stdout[-4000:]  # the stateful phase ran


def _report(stdout: str) -> str:
    """Schemathesis' errors and failures, then its summary: the log lines before are noise."""
    starts = [i for i in (stdout.find("ERRORS"), stdout.find("FAILURES")) if i >= 0]
    return stdout[min(starts) :] if starts else stdout[-4000:]


def _identities(token_for: TokenFactory) -> dict[str, object]:
    """Two users who must not see each other's data, and one with both staff roles."""
    users = {
        "alice": token_for("contract-alice"),
        "bob": token_for("contract-bob"),
        "staff": token_for("contract-staff", "support", "operator"),
    }
    return {
        "auth": [
            {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {t}"}]}
            for name, t in users.items()
        ]
    }
