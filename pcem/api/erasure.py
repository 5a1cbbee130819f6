"""Erasure endpoints: purge one of your people, erase your account (API.md, "Erasure")."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from pcem.api.conventions import Caller, command
from pcem.api.problems import FieldError, InvalidInputError
from pcem.api.versions import POSITION_HEADER, no_content


class ErasureController(Controller):
    path = "/api/v1"
    tags = ["erasure"]

    @post(
        "/people/{person_id:uuid}/purge",
        operation_id="purgePerson",
        status_code=204,
        sync_to_thread=True,
        **command(),
    )
    def purge_person(
        self, person_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> Response[None]:
        """Erase one of your people for good, deleted or not: the person, their events,
        relationships both ways and notifications about them. 404 if unknown, someone
        else's or purged already (a purged person is not found by anything)."""
        written = caller.services.purges.person(caller.user_id, person_id, actor=caller.user_id)
        return no_content(written)

    @delete("/me", operation_id="eraseAccount", status_code=202, sync_to_thread=True, **command())
    def erase_account(
        self,
        caller: NamedDependency[Caller],
        confirm: Annotated[str | None, QueryParameter(max_length=128)] = None,
    ) -> Response[None]:
        """Erase your whole account: 202 at once, the work finishes in the background
        (docs/api-decisions.md). ``confirm`` must be your own user id (your token's
        ``sub``); asking again while it runs answers 202 for the same erasure."""
        if confirm != caller.user_id:
            said = "is missing" if confirm is None else "is not your user id"
            message = f"{said}: send confirm={caller.user_id} (your user id) to erase your account"
            raise InvalidInputError([FieldError("confirm", message)])
        _, position = caller.services.account_erasure.request(
            caller.user_id, requested_by=caller.user_id, channel="api"
        )
        return Response(None, status_code=202, headers={POSITION_HEADER: str(position)})
