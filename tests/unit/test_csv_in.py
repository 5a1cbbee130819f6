"""Google Contacts' (current and older) and Outlook's CSV exports, read into contacts."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pcem.contacts.csv_in import count_csv, looks_like_contacts_csv, read_csv
from pcem.contacts.model import BadRecord, Contact, ContactDate, Relation

DATA = Path(__file__).resolve().parents[1] / "data" / "contacts"
CSV_FILES = ["google_new.csv", "google_old.csv", "outlook.csv"]


def read(name: str) -> list[Contact | BadRecord]:
    return list(read_csv((DATA / name).read_bytes()))


def contacts(name: str) -> list[Contact]:
    records = read(name)
    assert all(isinstance(record, Contact) for record in records), records
    return [record for record in records if isinstance(record, Contact)]


def table(*rows: list[str], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def row(header: list[str], values: list[str]) -> Contact | BadRecord:
    (record,) = read_csv(table(header, values))
    return record


# Google, the current export


def test_a_google_row_keeps_every_field_with_its_label() -> None:
    ada = contacts("google_new.csv")[0]

    assert ada.record == "row 1 (Ada Lovelace)"
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assert ada.primary_contact == "ada@example.org"  # "* Home": Google's primary
    assert ada.metadata == GOOGLE_ADA


GOOGLE_ADA = {
    "name_prefix": "Countess",
    "nickname": "Ada",
    "organization": "Analytical Engine Society",
    "job_title": "Mathematician",
    "department": "Research",
    "note": 'Wrote the first algorithm.\n"Notes" on the Menabrea paper.',
    "photo_url": "https://lh3.googleusercontent.com/contacts/AOxHs6x3bY0VqZ2u",
    "categories": ["myContacts", "starred", "Friends"],
    "emails": [  # two values in one cell, " ::: ", sharing its label
        {"value": "ada@example.org", "label": "home"},
        {"value": "ada.l@example.org", "label": "home"},
        {"value": "ada@analytical.example", "label": "work"},
    ],
    "phones": [{"value": "+44 7700 900123", "label": "mobile"}],
    "addresses": [  # the parts; "Formatted" is only them laid out
        {
            "street": "12 St James's Square",
            "locality": "London",
            "postal_code": "SW1Y 4JH",
            "country": "United Kingdom",
            "label": "home",
        }
    ],
    "urls": [{"value": "https://ada.example.org/blog", "label": "blog"}],
    # Columns without a key of their own, and the custom field by its label.
    "phonetic_first_name": "Ay-da",
    "file_as": "Lovelace, Ada",
    "favourite_engine": "Analytical",
}


def test_a_google_row_gives_its_dates_and_relations() -> None:
    ada, charles, _company = contacts("google_new.csv")

    assert ada.dates == [
        ContactDate("birthday", date(1815, 12, 10)),
        ContactDate("anniversary", date(1835, 7, 8)),
    ]
    assert ada.relations == [Relation("spouse", name="William King")]
    assert charles.dates == [ContactDate("birthday", date(1604, 12, 26))]  # "--12-26"
    assert charles.dates[0].yearless
    assert charles.metadata["dates"] == [{"date": "1816-03-14", "label": "Royal Society"}]
    assert charles.relations == [Relation("friend", name="Ada Lovelace")]


def test_a_google_custom_label_is_kept_as_written() -> None:
    charles = contacts("google_new.csv")[1]

    assert charles.metadata["phones"] == [
        {"value": "+44 20 7946 0958", "label": "work"},
        {"value": "+44 20 7946 0959", "label": "Workshop"},
    ]
    assert charles.primary_contact == "charles@example.org"  # an email before any phone


def test_a_google_row_with_only_an_organisation_is_named_by_it() -> None:
    company = contacts("google_new.csv")[2]

    assert (company.record, company.first_name, company.last_name) == (
        "row 3 (Difference Engines Ltd)",
        "Difference Engines Ltd",
        "",
    )
    assert company.primary_contact == "+44 20 7946 0000"


# Google, the older export


def test_an_older_google_row_keeps_its_name_columns_and_organisation() -> None:
    grace = contacts("google_old.csv")[0]

    assert (grace.first_name, grace.last_name) == ("Grace", "Hopper")
    assert grace.primary_contact == "grace@navy.example"
    assert grace.metadata == {
        "display_name": "Dr. Grace Hopper",  # "Name", when it is not "Given Family"
        "middle_name": "Brewster",
        "gender": "female",
        "note": "Found the first bug.",
        "languages": ["English"],
        "categories": ["My Contacts", "Navy"],
        "emails": [
            {"value": "grace@navy.example", "label": "work"},
            {"value": "grace@home.example", "label": "home"},
        ],
        "phones": [{"value": "+1 202 555 0143", "label": "mobile"}],
        "addresses": [{"street": "1 Navy Way\nArlington, VA 22201", "label": "home"}],
        "organization": "US Navy",
        "job_title": "Rear Admiral",
        "urls": [{"value": "https://navy.example/hopper", "label": "profile"}],
        "maiden_name": "Murray",
        "occupation": "Computer scientist",
        "organization_symbol": "USN",
        "favourite_language": "COBOL",
    }


def test_an_older_google_row_gives_dates_relations_and_names_without_a_name() -> None:
    grace, alan, nameless = contacts("google_old.csv")

    assert grace.dates == [
        ContactDate("birthday", date(1906, 12, 9)),
        ContactDate("anniversary", date(1930, 6, 15)),
    ]
    assert grace.relations == [Relation("mother", name="Mary Campbell Van Horne")]
    assert alan.dates == [ContactDate("birthday", date(1604, 6, 23))]
    assert "display_name" not in alan.metadata
    assert (nameless.record, nameless.first_name) == (
        "row 3 (no.name@example.com)",
        "no.name@example.com",
    )


# Outlook


def test_the_outlook_file_is_windows_1252() -> None:
    with pytest.raises(UnicodeDecodeError):
        (DATA / "outlook.csv").read_bytes().decode("utf-8")


def test_an_outlook_row_keeps_its_fields_without_outlooks_defaults() -> None:
    juergen = contacts("outlook.csv")[0]

    assert (juergen.first_name, juergen.last_name) == ("Jürgen", "Müller")
    assert juergen.primary_contact == "juergen@baeckerei-mueller.example"
    assert juergen.metadata == {
        "name_prefix": "Dr.",  # Outlook's "Title"
        "organization": "Bäckerei Müller GmbH",
        "department": "Verkauf",
        "job_title": "Geschäftsführer",
        "phones": [
            {"value": "+49 30 1234568", "label": "work, fax"},
            {"value": "+49 30 1234567", "label": "work"},
            {"value": "+49 170 1234567", "label": "cell"},
        ],
        "categories": ["Kunden", "VIP"],
        "emails": [{"value": "juergen@baeckerei-mueller.example"}],  # not "SMTP", no display name
        "gender": "Male",
        "hobby": "Backen",
        "initials": "J.M.",
        "note": "Preis: 5 € pro Brötchen.\nLiefert freitags.",
        "urls": [{"value": "http://www.baeckerei-mueller.example"}],
        "addresses": [
            {
                "street": "Hauptstraße 5\nHinterhaus",
                "locality": "Berlin",
                "postal_code": "10115",
                "country": "Deutschland",
                "label": "work",
            }
        ],
    }


def test_an_outlook_row_gives_its_dates_and_relations() -> None:
    juergen, francois, contoso = contacts("outlook.csv")

    assert juergen.dates == [
        ContactDate("anniversary", date(1992, 8, 15)),  # 8/15/1992
        ContactDate("birthday", date(1967, 3, 12)),
    ]
    assert juergen.relations == [
        Relation("child", name="Lena"),
        Relation("child", name="Max"),
        Relation("spouse", name="Käthe Müller"),
    ]
    assert francois.dates == [ContactDate("birthday", date(1988, 2, 29))]  # "0/0/00" is none
    assert "dates" not in francois.metadata
    assert (contoso.first_name, contoso.primary_contact) == ("Contoso Ltd", "+1 425 555 0100")


@pytest.mark.parametrize("name", CSV_FILES)
def test_each_export_is_recognised_and_counted(name: str) -> None:
    data = (DATA / name).read_bytes()

    assert looks_like_contacts_csv(data)
    assert count_csv(data) == len(read(name)) == 3


# Rows written here


def test_rows_are_numbered_after_the_header_and_blank_rows_skipped() -> None:
    data = table(["First Name", "Last Name", "Notes"], ["Ada", "", ""], ["", "", ""])
    data += b"\r\n" + table(["", "", "only a note"], ["Bob", "Smith", ""])

    assert [(r.record, type(r).__name__) for r in read_csv(data)] == [
        ("row 1 (Ada)", "Contact"),
        ("row 4", "BadRecord"),
        ("row 5 (Bob Smith)", "Contact"),
    ]
    assert count_csv(data) == 3


def test_a_row_the_csv_module_cannot_read_is_a_bad_record_and_reading_goes_on() -> None:
    data = table(["First Name", "Notes"], ["Ada", "x" * 200_000], ["Bob", "fine"])

    records = list(read_csv(data))

    assert records[0] == BadRecord(
        "row 1", "cannot be read as CSV (field larger than field limit (131072))"
    )
    assert [r.record for r in records[1:]] == ["row 2 (Bob)"]


def test_an_outlook_export_separated_by_semicolons() -> None:
    data = table(
        ["First Name", "Last Name", "Birthday"], ["Jürgen", "Müller", "15.04.1985"], delimiter=";"
    )

    (juergen,) = read_csv(data)

    assert isinstance(juergen, Contact)
    assert juergen.dates == [ContactDate("birthday", date(1985, 4, 15))]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("4/15/1985", date(1985, 4, 15)),
        ("15/4/1985", date(1985, 4, 15)),  # cannot be month first
        ("4/15/85", date(1985, 4, 15)),
        ("1985-04-15", date(1985, 4, 15)),
        ("--04-15", date(1604, 4, 15)),
    ],
)
def test_each_way_an_export_writes_a_birthday(text: str, day: date) -> None:
    ada = row(["First Name", "Birthday"], ["Ada", text])

    assert isinstance(ada, Contact)
    assert ada.dates == [ContactDate("birthday", day)]


def test_unknown_columns_and_custom_fields_get_readable_keys() -> None:
    ada = row(
        ["First Name", "Shoe Size", "Emails", "Custom Field 1 - Label", "Custom Field 1 - Value"],
        ["Ada", "39", "a list?", "Tea, Preferred", "Earl Grey"],
    )

    assert isinstance(ada, Contact)
    assert ada.metadata == {"shoe_size": "39", "x_emails": "a list?", "tea_preferred": "Earl Grey"}


def test_a_name_over_the_limit_is_a_bad_record() -> None:
    assert row(["First Name", "Last Name"], ["A" * 101, "Smith"]) == BadRecord(
        f"row 1 ({'A' * 59}…)", "first name is over 100 characters"
    )


def test_what_is_not_a_contacts_csv() -> None:
    assert not looks_like_contacts_csv(table(["Date", "Amount"], ["2024-01-01", "12.50"]))
    assert not looks_like_contacts_csv((DATA / "apple.vcf").read_bytes())
    assert not looks_like_contacts_csv(b"")
    assert looks_like_contacts_csv("\ufeffName,E-mail 1 - Value\r\n".encode())


@given(st.lists(st.lists(st.text(max_size=20), max_size=6), max_size=5))
def test_no_rows_raise_out_of_the_reader(rows: list[list[str]]) -> None:
    data = table(["First Name", "Last Name", "E-mail 1 - Value", "Birthday"], *rows)

    records = list(read_csv(data))

    assert len(records) == count_csv(data)
