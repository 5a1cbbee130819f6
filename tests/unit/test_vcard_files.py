"""vCard files as the address books that write them write them — Google, Apple,
Outlook, Monica, Nextcloud, Evolution — read into contacts: what a user would see of
each. (What a single property becomes, and vobject reading the same files:
test_vcard_in.py.)"""

from __future__ import annotations

from datetime import date

import pytest

from pcem.contacts.model import BadRecord, Contact, ContactDate, Relation
from pcem.contacts.vcard_in import count_vcards
from tests.unit.vcard_files import DATA, VCARD_FILES, contacts, read

# Google Contacts (vCard 3.0, Apple-style groups, no UID)


def test_a_google_card_keeps_its_names_labels_and_photo_url() -> None:
    ada = contacts("google.vcf")[0]

    assert ada.record == "card 1 (Ada Lovelace)"
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assert ada.primary_contact == "ada@example.org"
    assert ada.uid is None
    assert ada.metadata == {
        "name_prefix": "Countess",
        "nickname": "Ada",
        "emails": [
            {"value": "ada@example.org", "label": "home"},
            {"value": "ada.lovelace@analytical.example", "label": "work"},
        ],
        "phones": [{"value": "+44 7700 900123", "label": "cell"}],
        "addresses": [
            {
                "street": "12 St James's Square",
                "locality": "London",
                "postal_code": "SW1Y 4JH",
                "country": "United Kingdom",
                "label": "home",
            }
        ],
        "organization": "Analytical Engine Society",
        "job_title": "Mathematician",
        "urls": [{"value": "https://example.org/ada", "label": "homepage"}],  # "https\://"
        "note": "Wrote the first algorithm, for Babbage's engine.\nNotes on the Menabrea paper.",
        "photo_url": "https://lh3.googleusercontent.com/contacts/AOxHs6x3bY0VqZ2u=s512",
        "categories": ["myContacts", "Friends"],
    }


def test_a_google_card_gives_its_x_abdate_anniversary_and_related_names() -> None:
    ada, charles, _company = contacts("google.vcf")

    assert ada.dates == [
        ContactDate("birthday", date(1815, 12, 10)),
        ContactDate("anniversary", date(1835, 7, 8)),
    ]
    assert ada.relations == [Relation("spouse", name="William King")]
    assert charles.dates == [ContactDate("birthday", date(1604, 12, 26))]
    assert charles.dates[0].yearless
    assert charles.relations == [Relation("collaborator", name="Ada Lovelace")]
    assert charles.metadata["phones"][1] == {"value": "+44 20 7946 0959", "label": "Workshop"}


def test_a_google_company_card_is_named_by_its_formatted_name() -> None:
    company = contacts("google.vcf")[2]

    assert (company.first_name, company.last_name) == ("Difference Engines Ltd", "")
    assert company.primary_contact == "+44 20 7946 0000"
    assert "display_name" not in company.metadata


# Apple Contacts (vCard 3.0, itemN groups with X-ABLabel)


def test_an_apple_card_keeps_every_field_with_its_label() -> None:
    john = contacts("apple.vcf")[0]

    assert (john.first_name, john.last_name) == ("John", "Appleseed")
    assert john.primary_contact == "john@example.com"  # type=pref
    assert john.metadata == APPLE_JOHN


APPLE_JOHN = {
    "display_name": "Mr. John Quincy Appleseed Jr.",
    "middle_name": "Quincy",
    "name_prefix": "Mr.",
    "name_suffix": "Jr.",
    "nickname": "Johnny",
    "organization": "Apple Inc.",
    "department": "Engineering",
    "job_title": "Engineer",
    "emails": [
        {"value": "john@example.com", "label": "home"},
        {"value": "j.appleseed@apple.example", "label": "work"},
        {"value": "johnny@school.example", "label": "School"},
    ],
    "phones": [
        {"value": "+1 (408) 555-0100", "label": "cell"},
        {"value": "+1 (408) 555-0101", "label": "iphone, cell"},
        {"value": "+1 (408) 555-0102", "label": "Boat"},
    ],
    "addresses": [
        {
            "street": "1 Infinite Loop",
            "locality": "Cupertino",
            "region": "CA",
            "postal_code": "95014",
            "country": "United States",
            "label": "home",
        }
    ],
    "urls": [{"value": "https://www.example.com/john", "label": "homepage"}],
    "dates": [{"date": "2005-09-01", "label": "Graduation"}],
    "social_profiles": [
        {"value": "https://twitter.com/johnappleseed", "label": "twitter"},
        {"value": "https://www.linkedin.com/in/johnappleseed", "label": "linkedin"},
    ],
    # IMPP and the older X-JABBER say the same: kept once.
    "instant_messaging": [{"value": "xmpp:john@jabber.example", "label": "home"}],
    "note": "Met at WWDC.\nLikes hiking, photography.",
    "phonetic_first_name": "Jon",
    "phonetic_last_name": "Apple-seed",
}


def test_an_apple_card_gives_its_year_less_birthday_and_anniversary() -> None:
    john = contacts("apple.vcf")[0]

    assert john.dates == [
        ContactDate("anniversary", date(2010, 6, 12)),  # X-ABDATE labelled _$!<Anniversary>!$_
        ContactDate("birthday", date(1604, 4, 15)),  # X-APPLE-OMIT-YEAR=1604
    ]
    assert [day.yearless for day in john.dates] == [False, True]


def test_an_apple_29_february_stays_a_real_date_with_and_without_a_year() -> None:
    _john, jane, tim, _apple = contacts("apple.vcf")

    assert jane.dates == [ContactDate("birthday", date(1988, 2, 29))]
    assert tim.dates == [ContactDate("birthday", date(1604, 2, 29))]
    assert tim.dates[0].yearless


def test_apple_related_names_point_to_the_other_cards_of_the_file() -> None:
    john, jane, tim, _apple = contacts("apple.vcf")

    assert john.relations == [
        Relation("spouse", name="Jane Appleseed"),
        Relation("child", name="Tim Appleseed"),
    ]
    assert jane.relations == [
        Relation("spouse", name="John Appleseed"),
        Relation("favourite person", name="Mr. John Quincy Appleseed Jr."),  # a custom label
    ]
    assert tim.relations == [Relation("father", name="John Appleseed")]
    names = {c.full_name for c in (john, jane, tim)}
    assert {"Jane Appleseed", "Tim Appleseed", "John Appleseed"} <= names


def test_an_apple_photo_is_not_stored_but_named_in_problems() -> None:
    john = contacts("apple.vcf")[0]

    assert john.problems == ["photo not stored (binary, 2 KB)"]
    assert not {"photo", "photo_url"} & set(john.metadata)


def test_an_apple_company_card_keeps_show_as_and_drops_apples_bookkeeping() -> None:
    apple = contacts("apple.vcf")[3]

    assert (apple.first_name, apple.last_name) == ("Apple Inc.", "")
    assert apple.metadata["show_as"] == "COMPANY"
    assert apple.metadata["addresses"][0]["label"] == "work"
    assert not {"abadr", "abuid", "prodid", "version"} & set(apple.metadata)


# Outlook (vCard 2.1, windows-1252 bytes, quoted-printable)


def test_the_outlook_file_is_not_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        (DATA / "outlook_21.vcf").read_bytes().decode("utf-8")


def test_an_outlook_card_is_read_in_its_charset_with_soft_line_breaks() -> None:
    juergen = contacts("outlook_21.vcf")[0]

    assert (juergen.first_name, juergen.last_name) == ("Jürgen", "Müller")
    assert juergen.primary_contact == "juergen@baeckerei-mueller.example"  # EMAIL;PREF;INTERNET
    assert juergen.metadata["display_name"] == "Dr. Jürgen Müller"
    assert juergen.metadata["note"] == (
        "Kunde seit 1998.\nBestellt jeden Freitag Brötchen für das Büro, Preis 5 € das Stück."
    )
    assert juergen.metadata["job_title"] == "Geschäftsführer"  # raw bytes, no CHARSET
    assert (juergen.metadata["organization"], juergen.metadata["department"]) == (
        "Bäckerei Müller GmbH",
        "Verkauf",
    )


def test_an_outlook_card_keeps_bare_type_labels_and_one_address() -> None:
    juergen = contacts("outlook_21.vcf")[0]

    assert juergen.metadata["phones"] == [
        {"value": "+49 30 1234567", "label": "work"},
        {"value": "+49 30 7654321", "label": "home"},
        {"value": "+49 170 1234567", "label": "cell"},
        {"value": "+49 30 1234568", "label": "work, fax"},
    ]
    assert juergen.metadata["addresses"] == [  # LABEL repeats the ADR: not a second one
        {
            "street": "Hauptstraße 5",
            "locality": "Berlin",
            "postal_code": "10115",
            "country": "Deutschland",
            "label": "work",
        }
    ]
    assert juergen.metadata["instant_messaging"] == [{"value": "juergen@im.example"}]
    assert not {"ms_ol_design", "ms_ol_default_postal_address"} & set(juergen.metadata)


def test_an_outlook_card_gives_its_dates_relations_and_photo_problem() -> None:
    juergen, francois = contacts("outlook_21.vcf")

    assert juergen.dates == [
        ContactDate("birthday", date(1967, 3, 12)),
        ContactDate("anniversary", date(1992, 8, 15)),
    ]
    assert juergen.relations == [
        Relation("spouse", name="Käthe Müller"),
        Relation("manager", name="Hans Becker"),
    ]
    assert juergen.problems == ["photo not stored (binary, 2 KB)"]
    assert (francois.first_name, francois.last_name) == ("François", "Lefèvre")  # QP name
    assert francois.primary_contact == "+33 1 42 68 53 00"
    assert francois.dates == [ContactDate("birthday", date(1988, 2, 29))]
    assert francois.relations == [Relation("child", name="Zoé Lefèvre")]


# Monica (vCard 4.0)


def test_a_monica_card_prefers_the_email_with_pref_1() -> None:
    grace = contacts("monica.vcf")[0]

    assert grace.primary_contact == "grace@navy.example"  # the second EMAIL, PREF=1
    assert grace.uid == "f2b2d2a5-6b9f-4c1e-9e7a-3b7c2d1e0a11"
    assert {key: grace.metadata[key] for key in ("middle_name", "name_prefix", "nickname")} == {
        "middle_name": "Brewster Murray",
        "name_prefix": "Rear Admiral",
        "nickname": "Amazing Grace, Grandma COBOL",
    }
    assert grace.metadata["gender"] == "F"
    assert grace.metadata["categories"] == ["Computing", "Navy"]
    assert grace.metadata["social_profiles"] == [
        {"value": "https://www.linkedin.com/in/gracehopper", "label": "linkedin"}
    ]
    assert grace.metadata["source"].startswith("https://app.monicahq.example/dav/")
    assert grace.problems == ["photo not stored (binary, 216 bytes)"]  # a data: URI


def test_a_birthday_that_is_text_is_kept_in_metadata_dates() -> None:
    tom = contacts("monica.vcf")[1]

    assert tom.dates == []
    assert tom.metadata["dates"] == [{"date": "circa 1821", "label": "birthday"}]


def test_a_monica_card_gives_a_year_less_birthday_an_anniversary_and_a_text_relation() -> None:
    katherine = contacts("monica.vcf")[2]

    assert katherine.dates == [
        ContactDate("birthday", date(1604, 8, 26)),  # BDAY:--0826
        ContactDate("anniversary", date(1959, 8, 26)),
    ]
    assert katherine.relations == [Relation("spouse", name="James Johnson")]
    assert katherine.primary_contact == "+1-757-555-0123"  # tel: URI, scheme left out


# Nextcloud (3.0 and 4.0 cards in one file)


def test_nextcloud_relations_name_the_uids_of_the_other_cards() -> None:
    marie, pierre, irene = contacts("nextcloud.vcf")

    assert marie.relations == [Relation("spouse", uid=pierre.uid)]
    assert pierre.relations == [
        Relation("spouse", uid=marie.uid),
        Relation("child", uid=irene.uid),
    ]
    assert irene.relations == [
        Relation("parent", uid=marie.uid),
        Relation("parent", uid=pierre.uid),
    ]
    assert irene.uid == "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c"  # UID:urn:uuid:… on a 4.0 card


def test_nextcloud_cards_keep_categories_dates_and_4_0_fields() -> None:
    marie, pierre, irene = contacts("nextcloud.vcf")

    assert marie.metadata["categories"] == ["Science", "Family"]
    assert marie.metadata["phones"] == [{"value": "+33 1 23 45 67 89", "label": "home"}]
    assert marie.dates == [
        ContactDate("birthday", date(1867, 11, 7)),
        ContactDate("anniversary", date(1895, 7, 26)),
    ]
    assert pierre.dates == [ContactDate("birthday", date(1604, 5, 15))]
    assert {key: irene.metadata[key] for key in ("gender", "languages", "timezone", "geo")} == {
        "gender": "F",
        "languages": ["fr", "en"],
        "timezone": "Europe/Paris",
        "geo": "geo:48.8462,2.3464",
    }
    assert irene.problems == ["photo not stored (binary, 2 KB)"]


# A BOM, folded lines; no UID and no FN; a broken card among good ones


def test_a_file_with_a_bom_and_folds_inside_characters_is_unfolded_whole() -> None:
    heloise, bjorn = contacts("bom_folded.vcf")

    assert (heloise.first_name, heloise.last_name) == ("Héloïse", "Ødegård-Łukasiewicz")
    assert heloise.metadata["note"] == (
        "Héloïse studierte erfolgreich in Zürich und São Paulo; später leitete sie das Büro "
        "in Kraków — mit Kolleginnen aus Île-de-France, Łódź und Ærøskøbing."
    )
    assert heloise.metadata["addresses"][0]["locality"] == "Łódź"
    assert bjorn.metadata == {
        "job_title": "Senior Vice President of Very Long Titles and Things That Need Folding Twice"
    }
    assert (bjorn.first_name, bjorn.last_name) == ("Björn", "Ström")  # FN folded with a tab


def test_cards_without_uid_or_fn_are_named_by_n_organisation_or_email() -> None:
    records = read("no_uid_no_fn.vcf")

    assert [(r.record, getattr(r, "primary_contact", None)) for r in records] == [
        ("card 1 (Ada Lovelace)", "ada@example.org"),
        ("card 2 (Acme Corporation)", "+1 555 0100"),
        ("card 3 (someone@example.net)", "someone@example.net"),
        ("card 4", None),
        ("card 5 (Smith)", None),
    ]
    assert records[3] == BadRecord("card 4", "has no name, organisation or email")
    assert all(r.uid is None for r in records if isinstance(r, Contact))
    assert records[0].key == "name:Ada\x00Lovelace\x00ada@example.org"  # type: ignore[union-attr]
    assert records[4].metadata == {"display_name": "Mr. Smith", "name_prefix": "Mr."}  # type: ignore[union-attr]


def test_a_broken_card_is_a_bad_record_and_the_cards_after_it_are_read() -> None:
    records = read("broken_middle.vcf")

    assert [r for r in records if isinstance(r, BadRecord)] == [
        BadRecord(
            "card 2 (Bob Broken)",
            'has a line that is not a property: "this line has no colon and is not a property"',
        ),
        BadRecord("card 4 (Dave Unended)", "has no END:VCARD (the file may be cut short)"),
        BadRecord(
            "card 6 (Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewi…)",
            "first name is over 100 characters",
        ),
        BadRecord("card 7 (Book club)", "is a group of contacts (KIND:group), not a person"),
    ]
    assert [r.record for r in records if isinstance(r, Contact)] == [
        "card 1 (Alice Example)",
        "card 3 (Carol Example)",
        "card 5 (Erin Example)",
        "card 8 (Frank Example)",
    ]


def test_evolution_and_kaddressbook_relations_and_extensions() -> None:
    linus, konqi = contacts("evolution_kaddressbook.vcf")

    assert linus.relations == [
        Relation("spouse", name="Tove Example"),
        Relation("manager", name="Greg Boss"),
        Relation("assistant", name="Sam Helper"),
    ]
    assert linus.dates == [ContactDate("anniversary", date(1996, 3, 2))]
    assert {key: linus.metadata[key] for key in ("file_as", "caluri", "fburl", "mozilla_html")} == {
        "file_as": "Example, Linus",
        "caluri": "https://cal.example.org/linus",
        "fburl": "https://cal.example.org/linus/freebusy",
        "mozilla_html": "FALSE",
    }
    assert linus.metadata["instant_messaging"] == [{"value": "aim:linus_aim", "label": "home"}]
    assert konqi.relations == [Relation("spouse", name="Katie Dragon")]  # two properties, once
    assert konqi.metadata == {"kaddressbook_x_profession": "Mascot"}


@pytest.mark.parametrize("name", VCARD_FILES)
def test_the_count_is_the_number_of_records_read(name: str) -> None:
    assert count_vcards((DATA / name).read_bytes()) == len(read(name))
