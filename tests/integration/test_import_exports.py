"""Real address books' exports imported twice: each contact a person once, with every
field the reader kept, and the second import changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from pcem.contacts.csv_in import read_csv
from pcem.contacts.model import Contact
from pcem.contacts.vcard_in import read_vcards
from pcem.wiring import Container
from tests.integration.import_helpers import CONTACTS, by_name, imported, people

Client = TestClient[Any]
FILES = sorted(
    path.name
    for path in CONTACTS.iterdir()
    if path.suffix in (".vcf", ".csv") and path.name != "round.vcf"
)


def contacts_in(name: str) -> list[Contact]:
    content = (CONTACTS / name).read_bytes()
    records = read_csv(content) if name.endswith(".csv") else read_vcards(content)
    return [record for record in records if isinstance(record, Contact)]


@pytest.mark.parametrize("name", FILES)
def test_an_export_imports_without_losing_a_field_and_twice_without_a_duplicate(
    client: Client, container: Container, auth: dict[str, str], name: str
) -> None:
    content = (CONTACTS / name).read_bytes()
    media_type = "text/csv" if name.endswith(".csv") else "text/vcard"
    expected = contacts_in(name)

    first = imported(client, container, auth, content, media_type)
    made = people(client, container, auth)
    second = imported(client, container, auth, content, media_type)

    assert first["status"] == "done"
    assert first["created"] == len({contact.key for contact in expected})
    assert first["skipped"] == first["total"] - len(expected)
    assert second["created"] == second["updated"] == 0  # nothing twice, nothing changed
    assert people(client, container, auth) == made
    found = by_name(made)
    for contact in expected:
        person = found[contact.full_name]
        assert person["primary_contact"] == contact.primary_contact
        for key, value in contact.metadata.items():
            if key != "related":  # relations within the file became relationships
                assert person["metadata"][key] == value, (contact.record, key)
