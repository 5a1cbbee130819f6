"""Use cases that change people."""

from __future__ import annotations

from typing import Any

from pcem.aggregates.person import Person
from pcem.commands.base import PcemApplication, Written


class PeopleApplication(PcemApplication):
    def create_person(
        self,
        user_id: str,
        *,
        first_name: str,
        last_name: str,
        primary_contact: str | None,
        metadata: dict[str, Any],
    ) -> Written[Person]:
        person = Person.create(
            user_id=user_id,
            actor=user_id,
            first_name=first_name,
            last_name=last_name,
            primary_contact=primary_contact,
            metadata=metadata,
        )
        return self.save_owned(person)
