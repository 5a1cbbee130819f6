"""Every read model the projector runs, and the names routes wait on.

To add a read model: write its ``Projection`` beside ``people.py`` (the pattern:
``base.py``), its view beside ``people_view.py``, name it here, and add a migration
for its tables. The engine (``pcem.projector``) runs whatever is listed.
"""

from __future__ import annotations

from pcem.projections.base import Projection
from pcem.projections.people_and_dates import PeopleAndDatesProjection

PEOPLE_AND_DATES = PeopleAndDatesProjection.name
# Names a projection had before, still accepted wherever an operator names one
# (`pcem projections rebuild|verify`, the admin rebuild route): scripts keep working.
FORMER_NAMES = {"people": PEOPLE_AND_DATES}


def all_projections() -> list[Projection]:
    return [PeopleAndDatesProjection()]


def projection_named(name: str) -> Projection | None:
    """The projection an operator names, by its name or a former one."""
    name = FORMER_NAMES.get(name, name)
    return next((p for p in all_projections() if p.name == name), None)
