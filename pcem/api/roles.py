"""Role checks for support and operator routes: one guard, used on every such controller.

Authentication (401) happens before, in the JWT middleware; a valid token
without the role is a 403 problem.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from pcem.api.auth import Principal

SUPPORT = "support"
OPERATOR = "operator"


def requires_role(role: str) -> Guard:
    def guard(connection: ASGIConnection[Any, Principal, Any, Any], _: BaseRouteHandler) -> None:
        if role not in connection.user.roles:
            raise PermissionDeniedException(f"this route needs the {role!r} role")

    return guard
