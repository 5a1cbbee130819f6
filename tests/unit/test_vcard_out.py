"""The vCard writer: what each person becomes, read back by ``vobject``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import vobject
from hypothesis import given
from hypothesis import strategies as st

from pcem.contacts.content_lines import folded
from pcem.contacts.model import METADATA_KEYS
from pcem.contacts.vcard_out import CardPerson, card

ADA = uuid.UUID("00000000-0000-4000-8000-000000000001")


def person(**fields: Any) -> CardPerson:
    values: dict[str, Any] = {
        "id": ADA,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "primary_contact": None,
        "metadata": {},
        **fields,
    }
    return CardPerson(**values)


def read(text: str) -> Any:
    return vobject.readOne(text)


def lines(text: str) -> list[str]:
    return text.removesuffix("\r\n").split("\r\n")


def test_a_card_names_the_person_by_uid_fn_and_n() -> None:
    text = card(person())

    assert lines(text) == [
        "BEGIN:VCARD",
        "VERSION:4.0",
        f"UID:urn:uuid:{ADA}",
        "FN:Ada Lovelace",
        "N:Lovelace;Ada;;;",
        "END:VCARD",
    ]


def test_text_is_escaped_and_read_back_unchanged() -> None:
    note = "back\\slash, comma; semicolon\nnew line"
    read_back = read(card(person(last_name="King, Countess; of Lovelace", metadata={"note": note})))

    assert read_back.note.value == note
    assert read_back.fn.value == "Ada King, Countess; of Lovelace"
    assert read_back.n.value.family == "King, Countess; of Lovelace"
    assert "NOTE:back\\\\slash\\, comma\\; semicolon\\nnew line" in lines(
        card(person(metadata={"note": note}))
    )


def test_long_lines_fold_at_75_octets_never_inside_a_utf8_character() -> None:
    note = "Geburtstag " + "ä€😀" * 60  # 2-, 3- and 4-octet characters
    text = card(person(metadata={"note": note}))

    physical = text.encode().split(b"\r\n")
    assert all(len(line) <= 75 for line in physical)
    assert "".join(line.decode() for line in physical)  # each one valid UTF-8 on its own
    assert len([line for line in physical if line.startswith(b" ")]) > 3
    assert read(text).note.value == note


def test_folding_leaves_short_lines_alone_and_continues_with_one_space() -> None:
    assert folded("A" * 75) == "A" * 75 + "\r\n"
    assert folded("A" * 76) == "A" * 75 + "\r\n A\r\n"


def test_a_birthday_without_a_year_is_written_year_less() -> None:
    text = card(person(birthday="1604-06-01", anniversary="1985-09-14"))

    assert "BDAY:--0601" in lines(text)
    assert "ANNIVERSARY:19850914" in lines(text)


def test_29_february_with_and_without_a_year() -> None:
    assert "BDAY:--0229" in lines(card(person(birthday="1604-02-29")))
    assert "BDAY:19960229" in lines(card(person(birthday="1996-02-29")))
    assert read(card(person(birthday="1604-02-29"))).bday.value == "--0229"


def test_labelled_lists_become_their_properties_with_the_label_as_type() -> None:
    metadata = {
        "emails": [{"value": "ada@example.org", "label": "work"}, {"value": "a@home.example"}],
        "phones": [{"value": "+44 20 7946 0000", "label": "cell"}],
        "urls": [{"value": "https://example.org/ada?a=1,b=2", "label": "blog"}],
        "instant_messaging": [{"value": "xmpp:ada@example.org"}],
        "social_profiles": [{"value": "https://mastodon.example/@ada", "label": "mastodon"}],
    }
    text = card(person(metadata=metadata))

    assert {
        "EMAIL;TYPE=work:ada@example.org",
        "EMAIL:a@home.example",
        "TEL;VALUE=text;TYPE=cell:+44 20 7946 0000",
        "URL;TYPE=blog:https://example.org/ada?a=1,b=2",  # a URI as it is
        "IMPP:xmpp:ada@example.org",
        "X-SOCIALPROFILE;TYPE=mastodon:https://mastodon.example/@ada",
    } <= set(lines(text))
    assert [e.params.get("TYPE") for e in read(text).contents["email"]] == [["work"], None]


def test_the_rest_of_the_vocabulary_has_its_properties() -> None:
    metadata = {
        "addresses": [{"label": "home", "street": "12 St James's Sq", "locality": "London"}],
        "organization": "Analytical Engines; Ltd",
        "department": "Notes",
        "job_title": "Mathematician",
        "role": "Author",
        "nickname": "Enchantress of Numbers",
        "middle_name": "Augusta",
        "name_prefix": "Countess",
        "gender": "F",
        "timezone": "Europe/London",
        "geo": "geo:51.5074,-0.1350",
        "photo_url": "https://example.org/ada.jpg",
        "categories": ["family, close", "science"],
        "languages": ["en-GB", "fr"],
    }
    text = card(person(metadata=metadata))

    assert {
        "ADR;TYPE=home:;;12 St James's Sq;London;;;",
        "ORG:Analytical Engines\\; Ltd;Notes",
        "TITLE:Mathematician",
        "ROLE:Author",
        "NICKNAME:Enchantress of Numbers",
        "N:Lovelace;Ada;Augusta;Countess;",
        "GENDER:F",
        "TZ:Europe/London",
        "GEO:geo:51.5074,-0.1350",
        "PHOTO:https://example.org/ada.jpg",
        "CATEGORIES:family\\, close,science",
        "LANG:en-GB",
        "LANG:fr",
    } <= set(lines(text))
    assert not [line for line in lines(text) if line.startswith("X-")]  # nothing left over
    assert read(text).categories.value == ["family, close", "science"]


def test_a_gender_other_than_a_sex_letter_is_its_identity_text() -> None:
    assert "GENDER:;non-binary" in lines(card(person(metadata={"gender": "non-binary"})))


def test_relationships_are_related_uids_with_their_type() -> None:
    bob, cy = uuid.uuid4(), uuid.uuid4()
    text = card(person(related=(("spouse", bob), ('old friend, "best"', cy))))

    assert f"RELATED;TYPE=spouse:urn:uuid:{bob}" in lines(text)
    related = read(text).contents["related"]
    assert [(r.params["TYPE"], r.value) for r in related] == [
        (["spouse"], f"urn:uuid:{bob}"),
        (["old friend, ^'best^'"], f"urn:uuid:{cy}"),  # RFC 6868 escapes: vobject keeps them
    ]


def test_other_metadata_is_x_properties_strings_as_text_the_rest_as_json() -> None:
    metadata = {
        "phonetic_first_name": "AY-da",
        "kids": [{"name": "Byron", "born": 1836}, {"name": "Anne"}],
        "vip": True,
        "emails": "not a list",  # a known key of another shape
        "Favourite Book": "Sybil",  # no property name spells it
        "pcem_json": 1,  # nor one of PCEM's own
    }
    text = card(person(metadata=metadata))
    read_back = read(text)

    assert "X-PHONETIC-FIRST-NAME:AY-da" in lines(text)
    assert read_back.x_phonetic_first_name.value == "AY-da"
    kids = read_back.x_kids
    assert kids.params == {"VALUE": ["text"], "X-PCEM-JSON": ["true"]}
    assert json.loads(kids.value) == metadata["kids"]
    assert json.loads(read_back.x_vip.value) is True
    assert json.loads(read_back.x_emails.value) == "not a list"  # exactly, not an email
    carried = [json.loads(c.value) for c in read_back.contents["x-pcem-metadata"]]
    assert carried == [{"Favourite Book": "Sybil"}, {"pcem_json": 1}]


def test_a_display_name_is_fn_unless_it_is_the_full_name() -> None:
    other = card(person(metadata={"display_name": "Lady Lovelace"}))
    same = card(person(metadata={"display_name": "Ada Lovelace"}))

    assert "FN:Lady Lovelace" in lines(other)
    assert "X-DISPLAY-NAME" not in other
    # else the reader would drop it; as JSON, so it comes back under its own key
    assert 'X-DISPLAY-NAME;VALUE=text;X-PCEM-JSON=true:"Ada Lovelace"' in lines(same)


def test_the_primary_contact_travels_as_it_is() -> None:
    text = card(person(primary_contact="ada@example.org"))

    assert read(text).x_pcem_primary_contact.value == "ada@example.org"


def test_a_carriage_return_makes_text_json_so_it_comes_back_exactly() -> None:
    read_back = read(card(person(metadata={"note": "one\r\ntwo"})))

    assert json.loads(read_back.x_note.value) == "one\r\ntwo"


_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_KEYS = (st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True) | _TEXT.filter(bool)).filter(
    lambda key: key not in METADATA_KEYS
)


@given(st.dictionaries(_KEYS, _JSON, max_size=6))
def test_any_other_metadata_parses_back_to_the_same_values(metadata: dict[str, Any]) -> None:
    text = card(person(metadata=metadata))

    assert all(len(line) <= 75 for line in text.encode().split(b"\r\n"))
    assert written_back(read(text)) == metadata


def written_back(vcard: Any) -> dict[str, Any]:
    """The metadata of a card's X- properties, by the rules of the writer's docstring."""
    found: dict[str, Any] = {}
    for child in vcard.getChildren():
        name = child.name.upper()
        if not name.startswith("X-") or name == "X-PCEM-PRIMARY-CONTACT":
            continue
        is_json = child.params.get("X-PCEM-JSON") == ["true"]
        value = json.loads(child.value) if is_json else child.value
        if name == "X-PCEM-METADATA":
            found.update(value)
        else:
            found[name.removeprefix("X-").lower().replace("-", "_")] = value
    return found
