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


class RoleGuard:
    """A 403 unless the caller's token has ``role`` (a class, so the OpenAPI document
    can tell which routes answer 403)."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __call__(
        self, connection: ASGIConnection[Any, Principal, Any, Any], _: BaseRouteHandler
    ) -> None:
        if self.role not in connection.user.roles:
            raise PermissionDeniedException(f"this route needs the {self.role!r} role")


def requires_role(role: str) -> Guard:
    return RoleGuard(role)
