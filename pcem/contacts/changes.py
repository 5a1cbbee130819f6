"""What importing a contact again would change about the person it made: pure.

An import sets; it never removes. A field the file gives is set when it differs;
a metadata key the file gives is set when its value differs, lists compared as sets
(the same emails in another order are the same emails); keys the file does not
give are left alone, whether the user added them in PCEM or an earlier file did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from pcem.contacts.model import Contact

PERSON_FIELDS = ("first_name", "last_name", "primary_contact")


@dataclass(frozen=True)
class PersonChanges:
    fields: dict[str, Any]
    metadata_patch: dict[str, Any]

    def __bool__(self) -> bool:
        return bool(self.fields or self.metadata_patch)


def person_changes(current: Mapping[str, Any], contact: Contact) -> PersonChanges:
    """``current``: the person's fields and ``metadata`` as they are now."""
    fields = {
        name: getattr(contact, name)
        for name in PERSON_FIELDS
        if current.get(name) != getattr(contact, name)
    }
    metadata: Mapping[str, Any] = current.get("metadata") or {}
    patch = {
        key: value
        for key, value in contact.metadata.items()
        if value is not None and not same_value(metadata.get(key), value)
    }
    return PersonChanges(fields, patch)


def same_value(old: Any, new: Any) -> bool:
    """Equal, with lists compared as sets of their items (JSON items: by content)."""
    if isinstance(old, list) and isinstance(new, list):
        return _as_set(old) == _as_set(new)
    return bool(old == new and type(old) is type(new))


def _as_set(items: list[Any]) -> set[bytes]:
    return {msgspec.json.encode(item, order="sorted") for item in items}
