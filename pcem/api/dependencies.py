"""What controllers receive: the caller and the container's services."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from pcem.api.auth import Principal
from pcem.api.consistency import ReadYourWrites
from pcem.api.idempotency import Idempotency
from pcem.bootstrap import Container
from pcem.commands.calendar import CalendarApplication
from pcem.commands.people import PeopleApplication
from pcem.commands.settings import SettingsApplication
from pcem.projections.calendar_view import CalendarView
from pcem.projections.people_view import PeopleView
from pcem.projections.relationships_view import RelationshipsView
from pcem.projections.tracking import ProjectionTracking
from pcem.support.history import SupportHistory


def _principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


def container_of(state: State) -> Container:
    container: Container = state.container
    return container


def _people(state: State) -> PeopleApplication:
    return container_of(state).people


def _people_view(state: State) -> PeopleView:
    return container_of(state).people_view


def _read_your_writes(state: State) -> ReadYourWrites:
    return container_of(state).read_your_writes


def _idempotency(state: State) -> Idempotency:
    return container_of(state).idempotency


def _relationships_view(state: State) -> RelationshipsView:
    return container_of(state).relationships_view


def _calendar(state: State) -> CalendarApplication:
    return container_of(state).calendar


def _calendar_view(state: State) -> CalendarView:
    return container_of(state).calendar_view


def _settings(state: State) -> SettingsApplication:
    return container_of(state).settings_app


def _tracking(state: State) -> ProjectionTracking:
    return container_of(state).tracking


def _support_history(state: State) -> SupportHistory:
    return container_of(state).support_history


DEPENDENCIES = {
    "calendar": Provide(_calendar, sync_to_thread=False),
    "calendar_view": Provide(_calendar_view, sync_to_thread=False),
    "settings": Provide(_settings, sync_to_thread=False),
    "principal": Provide(_principal, sync_to_thread=False),
    "people": Provide(_people, sync_to_thread=False),
    "people_view": Provide(_people_view, sync_to_thread=False),
    "ryw": Provide(_read_your_writes, sync_to_thread=False),
    "idempotency": Provide(_idempotency, sync_to_thread=False),
    "relationships_view": Provide(_relationships_view, sync_to_thread=False),
    "tracking": Provide(_tracking, sync_to_thread=False),
    "support_history": Provide(_support_history, sync_to_thread=False),
}
