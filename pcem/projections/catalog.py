"""Every read model the projector runs, and the names routes wait on.

To add a read model: write its ``Projection`` beside ``people.py`` (the pattern:
``base.py``), its view beside ``people_view.py``, name it here, and add a migration
for its tables. The engine (``pcem.projector``) runs whatever is listed.
"""

from __future__ import annotations

from pcem.projections.base import Projection
from pcem.projections.people import PeopleProjection

PEOPLE = PeopleProjection.name


def all_projections() -> list[Projection]:
    return [PeopleProjection()]
