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
from pcem.commands.people import PeopleApplication
from pcem.projections.people_view import PeopleView
from pcem.projections.relationships_view import RelationshipsView
from pcem.projections.tracking import ProjectionTracking
from pcem.support.history import SupportHistory


def _principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


def _container(state: State) -> Container:
    container: Container = state.container
    return container


def _people(state: State) -> PeopleApplication:
    return _container(state).people


def _people_view(state: State) -> PeopleView:
    return _container(state).people_view


def _read_your_writes(state: State) -> ReadYourWrites:
    return _container(state).read_your_writes


def _idempotency(state: State) -> Idempotency:
    return _container(state).idempotency


def _relationships_view(state: State) -> RelationshipsView:
    return _container(state).relationships_view


def _tracking(state: State) -> ProjectionTracking:
    return _container(state).tracking


def _support_history(state: State) -> SupportHistory:
    return _container(state).support_history


DEPENDENCIES = {
    "principal": Provide(_principal, sync_to_thread=False),
    "people": Provide(_people, sync_to_thread=False),
    "people_view": Provide(_people_view, sync_to_thread=False),
    "ryw": Provide(_read_your_writes, sync_to_thread=False),
    "idempotency": Provide(_idempotency, sync_to_thread=False),
    "relationships_view": Provide(_relationships_view, sync_to_thread=False),
    "tracking": Provide(_tracking, sync_to_thread=False),
    "support_history": Provide(_support_history, sync_to_thread=False),
}
