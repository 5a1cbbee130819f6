"""A real sync client fetches the feed by URL: vdirsyncer's ``http`` storage into a
local folder, run as a subprocess against the app on a loopback port. A second run
changes nothing (stable UIDs, DTSTAMPs of the last change, identical bytes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.ical_reader import parsed
from tests.integration.api_helpers import bearer
from tests.integration.feed_helpers import EVENTS, FEED

VDIRSYNCER = Path(sys.executable).with_name("vdirsyncer")


def config(folder: Path, url: str) -> Path:
    (folder / "calendar").mkdir()
    (folder / "status").mkdir()
    path = folder / "config"
    path.write_text(
        f"""
[general]
status_path = "{folder / "status"}/"

[pair feed]
a = "feed_remote"
b = "feed_local"
collections = null
conflict_resolution = "a wins"

[storage feed_remote]
type = "http"
url = "{url}"

[storage feed_local]
type = "filesystem"
path = "{folder / "calendar"}/"
fileext = ".ics"
"""
    )
    return path


def vdirsyncer(path: Path, command: str) -> str:
    done = subprocess.run(
        [str(VDIRSYNCER), "-c", str(path), command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr + done.stdout


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


@pytest.mark.slow  # two real runs of a sync client: about five seconds
def test_vdirsyncer_copies_the_feed_once_and_a_second_run_changes_nothing(
    live_url: str, token_for: TokenFactory, user_id: str, tmp_path: Path
) -> None:
    auth = bearer(token_for(user_id))
    with httpx.Client(base_url=live_url, headers=auth) as api:
        person = api.post("/api/v1/people", json={"first_name": "Ada"}).json()
        for event_date, recurrence in [
            ("2024-02-29", "yearly"),
            ("2025-01-31", "monthly"),
            ("2025-03-06T09:30:00-05:00", "weekly"),
        ]:
            body = {"person_id": person["id"], "title": "Day", "event_date": event_date,
                    "recurrence": recurrence}  # fmt: skip
            assert api.post(EVENTS, json=body).status_code == 201
        assert api.put("/api/v1/me/settings", json=_berlin()).status_code == 200
        assert api.get(EVENTS).status_code == 200  # the read models hold them
        url = api.post(FEED).json()["url"]
    path = config(tmp_path, url)

    vdirsyncer(path, "discover")
    first = vdirsyncer(path, "sync")
    copied = files(tmp_path / "calendar")
    second = vdirsyncer(path, "sync")

    assert len(copied) == 3, first
    assert first.count("Copying (uploading) item") == 3, first
    assert files(tmp_path / "calendar") == copied
    assert "Copying" not in second and "Updating" not in second, second
    uids = {str(parsed(content).walk("VEVENT")[0]["UID"]) for content, _ in copied.values()}
    assert len(uids) == 3


def _berlin() -> dict[str, object]:
    return {
        "timezone": "Europe/Berlin",
        "notifications": {
            "enabled": True,
            "lead_time_days": [7],
            "delivery_time": "09:00",
            "channels": [{"type": "in_app"}],
        },
    }
