"""Reading the vCard files under tests/data/contacts/ in the readers' tests."""

from __future__ import annotations

from pathlib import Path

from pcem.contacts.model import BadRecord, Contact
from pcem.contacts.vcard_in import read_vcards

DATA = Path(__file__).resolve().parents[1] / "data" / "contacts"
VCARD_FILES = sorted(path.name for path in DATA.glob("*.vcf"))


def read(name: str) -> list[Contact | BadRecord]:
    return list(read_vcards((DATA / name).read_bytes()))


def contacts(name: str) -> list[Contact]:
    records = read(name)
    assert all(isinstance(record, Contact) for record in records), records
    return [record for record in records if isinstance(record, Contact)]


def card(text: str) -> Contact | BadRecord:
    """One card of lines written here, CRLF-separated."""
    lines = ["BEGIN:VCARD", *text.strip().split("\n"), "END:VCARD"]
    (record,) = read_vcards("\r\n".join(lines).encode())
    return record


def person(text: str) -> Contact:
    record = card(text)
    assert isinstance(record, Contact), record
    return record
