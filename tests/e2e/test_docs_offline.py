"""The interactive docs at /schema, in a real browser cut off from everything but loopback.

Headless Chromium (Debian's ``chromium``; ``make test`` installs it with apt when it
is missing and it can) loads the page of a live PCEM. Every host name but 127.0.0.1
fails to resolve and every other request goes to a dead proxy, so a page that needs
a CDN renders no operation; Chromium's net log then shows what the page asked for.
Without a browser the test fails saying what to install: it is not skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

BROWSER_ENV = "PCEM_CHROMIUM"
_BROWSER_SECONDS = 60  # the page settles within the 15 s virtual-time budget
_PAGE_SITE = "http://127.0.0.1"  # the docs' site: what the page's own requests are keyed by


def test_docs_show_the_operations_with_no_request_beyond_loopback(
    live_url: str, tmp_path: Path
) -> None:
    net_log = tmp_path / "net-log.json"
    page = subprocess.run(
        [
            _chromium(),
            *_headless_offline(tmp_path / "profile"),
            f"--log-net-log={net_log}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{live_url}/schema",
        ],
        capture_output=True,
        text=True,
        timeout=_BROWSER_SECONDS,
        check=False,
    )

    assert page.returncode == 0, page.stderr[-2000:]
    asked = _requests_of_the_page(net_log)
    assert f"{live_url}/schema" in asked  # the log holds the page's requests
    assert [url for url in asked if urlsplit(url).hostname != "127.0.0.1"] == []
    dom = page.stdout
    assert 'data-path="/api/v1/people"' in dom, dom[-2000:]
    assert 'data-path="/api/v1/events/{event_id}"' in dom
    assert '"opblock-summary-description">CreatePerson<' in dom  # the operation's summary


def _chromium() -> str:
    browser = os.environ.get(BROWSER_ENV) or shutil.which("chromium")
    if browser is None:
        pytest.fail(
            "The docs' offline test needs headless Chromium: `apt-get install chromium` "
            f"(`make test` does it as root where apt is), or set {BROWSER_ENV} to a "
            "Chromium or Chrome binary."
        )
    return browser


def _headless_offline(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",  # discard: nothing listens
        "--proxy-bypass-list=127.0.0.1",
    ]


def _requests_of_the_page(net_log: Path) -> list[str]:
    """The URLs the page (its frame, scripts, styles, fetches) asked for.

    Chromium keys each request by the site it is made for; its own calls home
    (updates, sign-in, network time) are keyed otherwise and are not the page's.
    """
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        params["url"]
        for event in log["events"]
        if event["type"] == start
        and (params := event.get("params") or {}).get("url")
        and params.get("network_isolation_key", "").startswith(_PAGE_SITE)
    ]
