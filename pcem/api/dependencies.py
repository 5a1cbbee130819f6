"""What controllers receive: the caller and the container's services."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from pcem.api.auth import Principal
from pcem.api.consistency import ReadYourWrites
from pcem.bootstrap import Container
from pcem.commands.people import PeopleApplication
from pcem.projections.people_view import PeopleView


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


DEPENDENCIES = {
    "principal": Provide(_principal, sync_to_thread=False),
    "people": Provide(_people, sync_to_thread=False),
    "people_view": Provide(_people_view, sync_to_thread=False),
    "ryw": Provide(_read_your_writes, sync_to_thread=False),
}
