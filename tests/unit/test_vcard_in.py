"""vCard read into contacts, a property at a time; other people's code (``vobject``)
reads the files of tests/data/contacts/ too, which proves each is a real vCard and not
only our reading of one; and what PCEM itself exports is read back exactly. (Each
exporter's file, as a user sees it: test_vcard_files.py.)"""

from __future__ import annotations

import re
from datetime import date
from uuid import UUID

import pytest
import vobject
from hypothesis import given
from hypothesis import strategies as st

from pcem.contacts.model import BadRecord, Contact, ContactDate, Relation
from pcem.contacts.vcard_in import count_vcards, read_vcards
from pcem.contacts.vcard_out import CardPerson
from pcem.contacts.vcard_out import card as written_card
from tests.unit.vcard_files import DATA, VCARD_FILES, card, contacts, person, read

# What a single property becomes


@pytest.mark.parametrize(
    ("line", "day"),
    [
        ("BDAY:--0415", date(1604, 4, 15)),
        ("BDAY:--04-15", date(1604, 4, 15)),
        ("BDAY:19850415", date(1985, 4, 15)),
        ("BDAY:1985-04-15", date(1985, 4, 15)),
        ("BDAY:1985-04-15T00:00:00Z", date(1985, 4, 15)),
        ("BDAY;VALUE=date:1604-04-15", date(1604, 4, 15)),
        ("BDAY;X-APPLE-OMIT-YEAR=1604:1604-02-29", date(1604, 2, 29)),
        ("BDAY;X-APPLE-OMIT-YEAR=1900:1900-04-15", date(1604, 4, 15)),  # any stand-in year
    ],
)
def test_each_way_of_writing_a_birthday(line: str, day: date) -> None:
    assert person(f"VERSION:4.0\nFN:Ada\n{line}").dates == [ContactDate("birthday", day)]


def test_a_date_labelled_anniversary_by_hand_is_the_anniversary_and_others_stay_labelled() -> None:
    ada = person(
        "VERSION:3.0\nFN:Ada\nitem1.X-ABDATE:1835-07-08\nitem1.X-ABLabel:Anniversary\n"
        "item2.X-ABDATE;X-APPLE-OMIT-YEAR=1604:1604-06-01\nitem2.X-ABLabel:_$!<Other>!$_\n"
        "BDAY:1815-12-10\nBDAY:1815-12-11"
    )

    assert ada.dates == [
        ContactDate("anniversary", date(1835, 7, 8)),
        ContactDate("birthday", date(1815, 12, 10)),
    ]
    assert ada.metadata == {
        "dates": [
            {"date": "--06-01", "label": "other"},
            {"date": "1815-12-11", "label": "birthday"},  # a second birthday is not dropped
        ]
    }


def test_a_21_card_with_bare_params_and_declared_charsets() -> None:
    ada = person(
        "VERSION:2.1\nN;CHARSET=UTF-8;QUOTED-PRINTABLE:Lovel=C3=A5ce;Ada\n"
        "TEL;HOME;VOICE:+44 1\nTEL;WORK;PREF:+44 2\n"
        "NOTE;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Caf=E9 =93quoted=94"
    )

    assert ada.last_name == "Lovelåce"
    assert ada.metadata["phones"] == [
        {"value": "+44 1", "label": "home"},
        {"value": "+44 2", "label": "work"},
    ]
    assert ada.primary_contact == "+44 2"
    assert ada.metadata["note"] == "Café “quoted”"  # ISO-8859-1 read as windows-1252


def test_escapes_are_undone_and_escaped_separators_kept() -> None:
    ada = person(
        "VERSION:3.0\nN:Lovelace;Ada;;;\nNOTE:a\\, b\\; c\\nd \\\\ e\n"
        "ADR;TYPE=home:;;Flat 2\\; 12 Road;Town\\, Shire;;;\nORG:Acme\\; Co;Dept A;Team B"
    )

    assert ada.metadata["note"] == "a, b; c\nd \\ e"
    assert ada.metadata["addresses"] == [
        {"street": "Flat 2; 12 Road", "locality": "Town, Shire", "label": "home"}
    ]
    assert (ada.metadata["organization"], ada.metadata["department"]) == (
        "Acme; Co",
        "Dept A, Team B",
    )


def test_a_whole_file_in_utf16_or_windows_1252_is_read() -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë Ørsted\r\nEND:VCARD\r\n"

    for data in (text.encode("utf-16"), text.encode("utf-16-le"), text.encode("cp1252")):
        (zoe,) = read_vcards(data)
        assert isinstance(zoe, Contact)
        assert zoe.first_name == "Zoë Ørsted"


def test_lf_line_ends_tab_folds_and_nul_characters() -> None:
    data = b"BEGIN:VCARD\nVERSION:3.0\nFN:Ada\n\tLove\x00lace\nNOTE:x\x00y\nEND:VCARD\n"

    (ada,) = read_vcards(data)

    assert isinstance(ada, Contact)
    assert (ada.first_name, ada.metadata["note"]) == ("AdaLovelace", "xy")


def test_a_21_fold_keeps_its_space_where_3_0_drops_it() -> None:
    # 2.1 folds as RFC 822 does, at a space it keeps; 3.0 and 4.0 insert the space.
    data = b"BEGIN:VCARD\r\nVERSION:%s\r\nFN:Ada\r\nNOTE:Hello\r\n World\r\nEND:VCARD\r\n"

    notes = [
        record.metadata["note"]
        for version in (b"2.1", b"3.0")
        for record in read_vcards(data % version)
        if isinstance(record, Contact)
    ]

    assert notes == ["Hello World", "HelloWorld"]


def test_other_properties_get_readable_keys_strings_lists_or_labelled_items() -> None:
    ada = person(
        "VERSION:3.0\nFN:Ada Lovelace\nN:Lovelace;Ada;;;\nX-PHONETIC-FIRST-NAME:Ay-da\n"
        "X-FAVOURITE:tea\nX-FAVOURITE:cake\nX-WORK-ID;TYPE=work:A-42\n"
        "X-EMAILS:not a list\nLOGO;VALUE=uri:https://example.org/logo.png\n"
        "PHOTO;VALUE=uri:https://example.org/ada.jpg\nKIND:individual\nREV:20240101T000000Z"
    )

    assert ada.metadata == {
        "phonetic_first_name": "Ay-da",
        "favourite": ["tea", "cake"],
        "work_id": [{"value": "A-42", "label": "work"}],
        "x_emails": "not a list",  # never the vocabulary's own key
        "logo": "https://example.org/logo.png",
        "photo_url": "https://example.org/ada.jpg",
    }


def test_related_as_uri_or_text_and_the_x_spouse_kind() -> None:
    ada = person(
        "VERSION:4.0\nFN:Ada\nRELATED;TYPE=friend,colleague:urn:uuid:0b1c\n"
        "RELATED;VALUE=text:Charles Babbage\nX-MS-SPOUSE:William King\nX-ASSISTANT:Mary"
    )

    assert ada.relations == [
        Relation("friend", uid="0b1c"),
        Relation("colleague", uid="0b1c"),
        Relation("related", name="Charles Babbage"),
        Relation("spouse", name="William King"),
        Relation("assistant", name="Mary"),
    ]


def test_a_card_inside_a_card_is_left_out_and_named() -> None:
    ada = person(
        "VERSION:2.1\nN:Lovelace;Ada\nAGENT:\nBEGIN:VCARD\nVERSION:2.1\nN:Secretary;Sam\n"
        "END:VCARD\nEMAIL;INTERNET:ada@example.org"
    )

    assert (ada.first_name, ada.primary_contact) == ("Ada", "ada@example.org")
    assert ada.problems == ["agent not stored (a card inside the card)"]


def test_limits_of_the_persons_fields() -> None:
    long_email = f"{'a' * 195}@example.org"

    assert card(f"VERSION:3.0\nN:{'L' * 101};Ada;;;") == BadRecord(
        f"card 1 (Ada {'L' * 55}…)", "last name is over 100 characters"
    )
    assert person(f"VERSION:3.0\nFN:Ada\nEMAIL:{long_email}").primary_contact is None
    assert person("VERSION:3.0\nFN:Ada  Lovelace\nN:Lovelace;Ada;;;").metadata == {}


@given(st.binary(max_size=300))
def test_no_bytes_inside_a_card_raise_or_lose_the_next_card(junk: bytes) -> None:
    data = b"BEGIN:VCARD\r\n" + junk + b"\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Ada\r\nEND:VCARD\r\n"

    records = list(read_vcards(data))

    assert len(records) == count_vcards(data)
    assert isinstance(records[-1], Contact)
    assert records[-1].first_name == "Ada"


# Other people's code reads the same files


def vobject_cards(name: str) -> list[vobject.base.Component]:
    raw = (DATA / name).read_bytes()
    # vobject reads text, so it cannot follow a fold inside a UTF-8 character (which
    # RFC 6350 3.2 allows): undo folds at the byte level first, as the RFC describes.
    raw = re.sub(rb"\r\n[ \t]", b"", raw) if name == "bom_folded.vcf" else raw
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return list(vobject.readComponents(text, allowQP=True))


@pytest.mark.parametrize("name", [name for name in VCARD_FILES if name != "broken_middle.vcf"])
def test_vobject_reads_each_file_and_the_same_formatted_names(name: str) -> None:
    theirs = vobject_cards(name)
    ours = read(name)

    assert len(theirs) == len(ours)
    for their, our in zip(theirs, ours, strict=True):
        if "fn" in their.contents and isinstance(our, Contact):
            assert our.metadata.get("display_name", our.full_name) == their.fn.value


def test_vobject_reads_outlooks_quoted_printable_note_up_to_its_soft_break() -> None:
    # vobject joins a soft line break but its content-line pattern stops at it.
    their_note = vobject_cards("outlook_21.vcf")[0].note.value.replace("\r\n", "\n")

    assert contacts("outlook_21.vcf")[0].metadata["note"].startswith(their_note)
    assert their_note.endswith("Brötchen für das Büro")


def test_vobject_also_finds_the_broken_card_broken() -> None:
    with pytest.raises(vobject.base.ParseError, match="this line has no colon"):
        vobject_cards("broken_middle.vcf")


def test_what_pcem_itself_exported_is_read_back_exactly() -> None:
    metadata = {
        "kids": [{"name": "Byron", "born": 1836}],
        "vip": True,
        "emails": "not a list",
        "display_name": "Ada Lovelace",
        "Favourite Book": "Sybil",
        "note": "a; b, c\\ d\nline",
    }
    person = CardPerson(
        id=UUID(int=1), first_name="Ada", last_name="Lovelace", primary_contact="  odd  ",
        metadata=metadata,
    )  # fmt: skip

    [contact] = list(read_vcards(written_card(person).encode()))

    assert isinstance(contact, Contact)
    assert contact.metadata == metadata
    assert contact.primary_contact == "  odd  "
