"""A user's calendar on an isolated database, at chosen moments, and their schedule rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from freezegun import freeze_time

from pcem.aggregates.settings import Preferences
from pcem.commands.calendar import CalendarApplication
from pcem.commands.settings import SettingsApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.projections.horizon import Horizon
from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector.runner import ProjectionRunner
from tests.integration.projection_helpers import Database

EMAIL = {"type": "email", "address": "ada@example.org"}
IN_APP = {"type": "in_app"}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Calendar:
    """Commands as a user gives them at a frozen moment (``at``), and the projection."""

    def __init__(self, db: Database, today: date) -> None:
        self.db = db
        env = eventsourcing_env(db.settings.require_database(), db.settings.require_master_key())
        self.calendar = CalendarApplication(env=env)
        self.settings = SettingsApplication(env=env)
        self.pin_horizon(today)

    def pin_horizon(self, today: date) -> None:
        horizon = Horizon.around(today)
        self.db.execute(
            "UPDATE occurrence_horizon SET starts_at = :starts_at, ends_at = :ends_at",
            starts_at=horizon.starts_at,
            ends_at=horizon.ends_at,
        )

    def person(self, user_id: str, at: datetime, first_name: str = "Ada") -> UUID:
        with freeze_time(at):
            written = self.db.app.create_person(
                user_id, first_name=first_name, last_name="Lovelace", primary_contact=None,
                metadata={},
            )  # fmt: skip
        return written.aggregate.id

    def event(self, user_id: str, person_id: UUID, at: datetime, **fields: Any) -> UUID:
        fields = {"title": "Birthday", "is_special_event": True, "recurrence": "yearly",
                  "notes": "", **fields}  # fmt: skip
        with freeze_time(at):
            written = self.calendar.create_event(user_id, person_id=person_id, **fields)
        return written.aggregate.id

    def edit(self, user_id: str, event_id: UUID, at: datetime, **fields: Any) -> None:
        with freeze_time(at):
            self.calendar.update_event(user_id, event_id, fields)

    def delete_event(self, user_id: str, event_id: UUID, at: datetime) -> None:
        with freeze_time(at):
            self.calendar.delete_event(user_id, event_id)

    def delete_person(self, user_id: str, person_id: UUID, at: datetime) -> None:
        with freeze_time(at):
            self.db.app.delete_person(user_id, person_id)

    def restore_person(self, user_id: str, person_id: UUID, at: datetime) -> None:
        with freeze_time(at):
            self.db.app.restore_person(user_id, person_id)

    def rename(self, user_id: str, person_id: UUID, at: datetime, first_name: str) -> None:
        with freeze_time(at):
            self.db.app.update_person(
                user_id, person_id, fields={"first_name": first_name}, metadata_patch=None
            )

    def prefer(self, user_id: str, at: datetime, **fields: Any) -> None:
        with freeze_time(at):
            self.settings.replace_settings(user_id, Preferences(**fields))

    def catch_up(self) -> None:
        ProjectionRunner(
            projection=PeopleAndDatesProjection(),
            engine=self.db.engine,
            app=self.db.app,
            listen_dsn="",
        ).catch_up()

    def rows(self, user_id: str) -> list[Any]:
        """The user's schedule, by due time, once the projection has caught up."""
        self.catch_up()
        with self.db.engine.connect() as conn:
            return list(
                conn.exec_driver_sql(
                    "SELECT * FROM notification_schedule WHERE user_id = %(user_id)s"
                    " ORDER BY due_at, lead_time_days, channel",
                    {"user_id": user_id},
                )
            )

    def close(self) -> None:
        self.calendar.close()
        self.settings.close()
