"""Concurrent writers over real HTTP never silently overwrite each other."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.integration.api_helpers import PEOPLE, create_person


def test_ten_patches_with_the_same_etag_one_wins_the_rest_412(
    live_url: str, auth: dict[str, str]
) -> None:
    with httpx.Client(base_url=live_url, headers=auth) as http:
        ada = create_person(http, auth)
        url = f"{PEOPLE}/{ada['id']}"

        def attempt(i: int) -> int:
            response = http.patch(
                url, json={"last_name": f"Writer {i}"}, headers={"If-Match": 'W/"1"'}
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = Counter(pool.map(attempt, range(10)))
        final = http.get(url).json()

    assert statuses == {200: 1, 412: 9}
    assert final["version"] == 2
    assert final["last_name"].startswith("Writer ")


def test_ten_unconditional_patches_on_different_keys_are_all_kept(
    live_url: str, auth: dict[str, str]
) -> None:
    with httpx.Client(base_url=live_url, headers=auth) as http:
        ada = create_person(http, auth)
        url = f"{PEOPLE}/{ada['id']}"

        def attempt(i: int) -> int:
            return http.patch(url, json={"metadata": {f"key_{i}": i}}).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(attempt, range(10)))
        final = http.get(url).json()

    assert statuses == [200] * 10
    assert final["metadata"] == {f"key_{i}": i for i in range(10)}
    assert final["version"] == 11
