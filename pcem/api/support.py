"""Support endpoints: any user's record, its owner and whole history. Each read is logged."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from pcem.api.audit import AggregateHistoryOut, support_history_of
from pcem.api.auth import Principal
from pcem.api.observability import request_id_of
from pcem.api.roles import SUPPORT, requires_role
from pcem.support.history import SupportHistory


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
        request: Request[Principal, Any, Any],
        aggregate_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        support_history: NamedDependency[SupportHistory],
    ) -> AggregateHistoryOut:
        """Owner and every event (person, event or settings aggregate of any user).

        The read is recorded in the support access log (who, what, when) before
        it is answered; unknown ids are recorded too, and answer 404.
        """
        history = support_history.read(
            aggregate_id,
            actor=principal.user_id,
            channel="api",
            request_id=request_id_of(request.scope),
        )
        return support_history_of(history)
