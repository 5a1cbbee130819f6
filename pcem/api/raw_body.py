"""Bodies taken as they are sent — a file — rather than parsed as JSON.

A route declares what it reads (``RawBody``: media types, size limit) in its ``opt``
(``raw_body``) and its ``request_max_body_size``;
``read`` answers 415 for another type and 413 naming the limit, and the OpenAPI
document describes the body and both answers from the same declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge


@dataclass(frozen=True)
class RawBody:
    media_types: dict[str, str]  # as sent -> the format it is read as (several may agree)
    max_bytes: int
    limit: str  # the limit in words, e.g. "10 MiB"
    description: str


@dataclass(frozen=True)
class Received:
    format: str
    content: bytes


async def read(request: Request[Any, Any, Any], raw_body: RawBody) -> Received:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in raw_body.media_types:
        raise HTTPException(
            status_code=415,
            detail=f"send the file as one of: {', '.join(raw_body.media_types)}",
        )
    try:
        content = await request.body()
    except RequestEntityTooLarge:
        raise too_large(raw_body) from None
    return Received(raw_body.media_types[media_type], content)


def too_large(raw_body: RawBody) -> HTTPException:
    return HTTPException(
        status_code=413, detail=f"the body is over {raw_body.limit}; send a smaller file"
    )
