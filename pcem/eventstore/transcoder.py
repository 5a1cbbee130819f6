"""A JSON transcoder that round-trips any user-supplied JSON object unchanged.

eventsourcing's JSONTranscoder marks custom types as ``{"_type_": ..., "_data_": ...}``
and decodes every two-key object with those keys as such a marker. Person metadata is
arbitrary user JSON, so a user could store exactly that shape; without care it would
come back as something else (or fail to decode at all). Before encoding we wrap any
such user object in an ``escaped_object`` marker whose data is a list of pairs, which
the decoder never mistakes for a marker.

Subclasses of registered types encode as their registered base, so (for example)
a frozen clock's datetime subclass is stored as a plain datetime.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

_MARKER_KEYS = frozenset(("_type_", "_data_"))


class EscapedObject:
    """A user object that looks like a transcoder marker (only exists while encoding).

    Not a dict subclass: the json module would encode one as a plain object.
    """

    def __init__(self, items: dict[str, Any]) -> None:
        self.items = items


class EscapedObjectAsPairs(Transcoding):
    type = EscapedObject
    name = "escaped_object"

    def encode(self, obj: EscapedObject) -> list[list[Any]]:
        return [[key, value] for key, value in obj.items.items()]

    def decode(self, data: list[list[Any]]) -> dict[str, Any]:
        return {key: value for key, value in data}


class UserJSONSafeTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        self.register(EscapedObjectAsPairs())

    def encode(self, obj: Any) -> bytes:
        return super().encode(_escape_markers(obj))

    def _encode_obj(self, o: Any) -> dict[str, Any]:
        # Subclasses of registered types (e.g. a datetime subclass) encode as their base.
        for kind in type(o).__mro__:
            if kind in self.types:
                transcoding = self.types[kind]
                return {"_type_": transcoding.name, "_data_": transcoding.encode(o)}
        return super()._encode_obj(o)


def _escape_markers(obj: Any) -> Any:
    if isinstance(obj, dict):
        escaped = {key: _escape_markers(value) for key, value in obj.items()}
        return EscapedObject(escaped) if escaped.keys() == _MARKER_KEYS else escaped
    if isinstance(obj, list):
        return [_escape_markers(item) for item in obj]
    return obj
