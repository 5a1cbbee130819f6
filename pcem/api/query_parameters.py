"""A query parameter that takes one value is refused when it is given several.

Litestar reads the last of repeated values, so ``?q=a&q=b&q=c`` searched for "c"
and said nothing. Which parameters take one value is what Litestar itself built
for each route (its handler's parameters and its dependencies', ``paging``'s
``limit`` and ``cursor`` too), read once when the app is built; the check runs
before every handler, in :func:`pcem.api.conventions.before_request`.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.enums import ParamType
from litestar.routes import HTTPRoute

from pcem.api.problems import FieldError, InvalidInputError

SINGLE_VALUED = "single_valued_query"
"""The key of a handler's ``opt`` naming the query parameters it reads one value of."""


def note_single_valued(app: Litestar) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, model in route.route_handler_map.values():
            handler.opt[SINGLE_VALUED] = frozenset(
                parameter.field_alias
                for parameter in model.expected_query_params
                if parameter.param_type is ParamType.QUERY and not parameter.is_sequence
            )


def refuse_repeated(request: Request[Any, Any, Any]) -> None:
    """A 400 naming each single-valued query parameter given more than once."""
    names: frozenset[str] = request.route_handler.opt.get(SINGLE_VALUED, frozenset())
    counts = {name: len(request.query_params.getall(name, [])) for name in sorted(names)}
    repeated = [
        FieldError(name, f"takes one value, and was given {count}")
        for name, count in counts.items()
        if count > 1
    ]
    if repeated:
        raise InvalidInputError(repeated)
