from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, UUIDAsHex
from hypothesis import given
from hypothesis import strategies as st

from pcem.eventstore.transcoder import UserJSONSafeTranscoder


def transcoder() -> UserJSONSafeTranscoder:
    t = UserJSONSafeTranscoder()
    t.register(UUIDAsHex())
    t.register(DatetimeAsISO())
    return t


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["_type_", "_data_", "a", "b"]) | st.text(), children, max_size=4
        )
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_any_user_json_object_round_trips_unchanged(metadata: dict[str, Any]) -> None:
    t = transcoder()

    assert t.decode(t.encode({"metadata": metadata})) == {"metadata": metadata}


def test_user_object_shaped_like_a_type_marker_is_not_decoded_as_one() -> None:
    t = transcoder()
    sneaky = {"_type_": "uuid_hex", "_data_": uuid.uuid4().hex}

    assert t.decode(t.encode({"metadata": sneaky})) == {"metadata": sneaky}


def test_library_types_still_round_trip() -> None:
    t = transcoder()
    value = {"id": uuid.uuid4(), "at": datetime(2026, 2, 28, 9, 30, tzinfo=UTC)}

    assert t.decode(t.encode(value)) == value


def test_subclass_of_a_registered_type_encodes_as_its_base() -> None:
    class LocalDatetime(datetime):
        pass

    t = transcoder()
    value = LocalDatetime(2026, 2, 28, 9, 30, tzinfo=UTC)

    assert t.decode(t.encode({"at": value})) == {"at": datetime(2026, 2, 28, 9, 30, tzinfo=UTC)}
