"""The ``people_and_dates`` projection: a user's people and relationships, their
dates (events, occurrences, settings) and the reminders those dates ask for.

They are one projection because relationships and events reference people, and
the schedule references events and follows settings: applying them in one
ordered stream keeps every foreign key satisfied, and a reminder changes in the
transaction of the event that changed it. (Until December 2026 it was called
``people``; ``pcem.projections.catalog`` still accepts that name from operators.)
"""

from __future__ import annotations

from pcem.projections.base import CompositeProjection
from pcem.projections.calendar import CalendarTables
from pcem.projections.people import PeopleTables
from pcem.projections.schedule import ScheduleTables


class PeopleAndDatesProjection(CompositeProjection):
    name = "people_and_dates"
    parts = (PeopleTables, CalendarTables, ScheduleTables)
    tables = PeopleTables.tables + CalendarTables.tables + ScheduleTables.tables
