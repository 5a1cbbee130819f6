"""Support endpoints: any user's record, its owner and whole history. Each read is logged."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from pcem.api.conventions import Caller, Paging
from pcem.api.history import after_version, page_of
from pcem.api.observability import request_id_of
from pcem.api.roles import SUPPORT, requires_role
from pcem.support.audit import AggregateHistoryOut, support_history_of


class SupportController(Controller):
    path = "/api/v1/support"
    tags = ["support"]
    guards = [requires_role(SUPPORT)]

    @get(
        "/aggregates/{aggregate_id:uuid}/history",
        operation_id="supportAggregateHistory",
        sync_to_thread=True,
    )
    def aggregate_history(
        self,
        aggregate_id: FromPath[UUID],
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
    ) -> AggregateHistoryOut:
        """Owner and every event (person, event or settings aggregate of any user),
        oldest first, paged by version.

        Each read is recorded in the support access log (who, what, when) before
        it is answered; unknown ids are recorded too, and answer 404.
        """
        history = caller.services.support_history.read(
            aggregate_id,
            actor=caller.user_id,
            channel="api",
            request_id=request_id_of(caller.request.scope),
            after=after_version(paging, aggregate_id),
            limit=paging.fetch,
        )
        return support_history_of(history, *page_of(paging, aggregate_id, history.events))
