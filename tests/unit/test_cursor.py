from __future__ import annotations

import pytest

from pcem.api.pagination import decode_cursor, encode_cursor
from pcem.api.problems import InvalidInputError


def test_cursor_round_trips_the_sort_key() -> None:
    key = ("Lovelace", "Ada", "2b7c6a8e-0d5c-4a53-9a8e-3f1f0c1d2e3f")

    assert decode_cursor(encode_cursor(key), length=3) == key


@pytest.mark.parametrize("position", [0, 5, 20, -3])
def test_any_edited_character_makes_the_cursor_invalid(position: int) -> None:
    cursor = encode_cursor(("Lovelace", "Ada", "2b7c6a8e-0d5c-4a53-9a8e-3f1f0c1d2e3f"))
    index = position % len(cursor)
    replacement = "A" if cursor[index] != "A" else "B"
    tampered = cursor[:index] + replacement + cursor[index + 1 :]

    with pytest.raises(InvalidInputError, match="cursor"):
        decode_cursor(tampered, length=3)


@pytest.mark.parametrize("garbage", ["", "abc", "!!!!", "eyJmb28iOiJiYXIifQ"])
def test_garbage_is_not_a_cursor(garbage: str) -> None:
    with pytest.raises(InvalidInputError, match="cursor"):
        decode_cursor(garbage, length=3)


def test_cursor_of_another_shape_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        decode_cursor(encode_cursor(("only-one",)), length=3)
