"""Contact imports: a vCard or CSV file in, a job the worker runs, its counts out."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from pcem.api import raw_body
from pcem.api.conventions import Caller, Paging, command
from pcem.api.pagination import Page, decode_time_cursor, encode_time_cursor
from pcem.api.problems import FieldError, InvalidInputError
from pcem.commands.idempotency import StoredResult, current_key
from pcem.contacts.csv_in import count_csv, looks_like_contacts_csv
from pcem.contacts.vcard_in import count_vcards
from pcem.imports.view import ImportRow

PATH = "/api/v1/imports"
MAX_FILE_BYTES = 10 * 1024 * 1024
FILE = raw_body.RawBody(
    # As sent -> read as: vCard's own type, and the older names exporters still send.
    media_types={
        "text/vcard": "vcard",
        "text/x-vcard": "vcard",
        "text/directory": "vcard",
        "text/csv": "csv",
    },
    max_bytes=MAX_FILE_BYTES,
    limit="10 MiB",
    description="The file as exported: vCards (2.1, 3.0 or 4.0) or a Google/Outlook CSV.",
)
COUNTS = {"vcard": count_vcards, "csv": count_csv}


def _replay_submitted(caller: Caller, stored: StoredResult) -> Response[ImportRow]:
    row = caller.services.imports.get(caller.user_id, stored.result_id)
    if row is None:  # the import's row is the record's: gone only with the account
        raise NotFoundException("no such import")
    return _accepted(row)


def _accepted(row: ImportRow) -> Response[ImportRow]:
    return Response(row, status_code=202, headers={"Location": f"{PATH}/{row.id}"})


# A change outside the event store (the import's row), replayed for an Idempotency-Key.
_SUBMIT = command(replay=_replay_submitted, writes_events=False)
_SUBMIT["opt"] = {**_SUBMIT["opt"], "raw_body": FILE}


class ImportsController(Controller):
    path = PATH
    tags = ["imports"]

    @post(
        "/",
        operation_id="createImport",
        status_code=202,
        request_max_body_size=FILE.max_bytes,
        response_headers=[
            ResponseHeader(
                name="Location",
                description="The import, where its counts can be followed.",
                documentation_only=True,
            )
        ],
        **_SUBMIT,
    )
    async def create_import(
        self, caller: NamedDependency[Caller], dry_run: FromQuery[bool] = False
    ) -> Response[ImportRow]:
        """Import contacts from a file (the body, as exported). 202: the worker runs it;
        follow its counts at ``Location``. A dry run counts and changes nothing."""
        received = await raw_body.read(caller.request, FILE)
        total = _checked(received)
        now = datetime.now(UTC)
        submitted = await caller.in_thread(
            lambda: caller.services.imports.submit(
                uuid4(),
                caller.user_id,
                format=received.format,
                dry_run=dry_run,
                content=received.content,
                total=total,
                now=now,
                key=current_key.get(),
            )
        )
        row = ImportRow(
            id=submitted.id,
            status="queued",
            format=received.format,
            dry_run=dry_run,
            total=total,
            processed=0,
            created=0,
            updated=0,
            unchanged=0,
            skipped=0,
            problems=[],
            created_at=submitted.created_at,
            finished_at=None,
        )
        return _accepted(row)

    @get("/", operation_id="listImports")
    async def list_imports(
        self, caller: NamedDependency[Caller], paging: NamedDependency[Paging]
    ) -> Page[ImportRow]:
        """Your imports, newest first."""
        before = decode_time_cursor(paging.cursor) if paging.cursor else None
        rows = await caller.serving.imports.page(caller.user_id, before=before, limit=paging.fetch)
        return paging.page(rows, lambda row: encode_time_cursor(*row.sort_key))

    @get("/{import_id:uuid}", operation_id="getImport")
    async def get_import(
        self, import_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> ImportRow:
        """One of your imports, its counts as they are now."""
        row = await caller.serving.imports.get(caller.user_id, import_id)
        if row is None:
            raise NotFoundException("no such import")
        return row


def _checked(received: raw_body.Received) -> int:
    """How many contacts the file holds; a 400 for a file of none."""
    if received.format == "csv" and not looks_like_contacts_csv(received.content):
        raise _unreadable("a CSV file with a header row naming the contacts' columns")
    total = COUNTS[received.format](received.content)
    if received.format == "vcard" and total == 0:
        raise _unreadable("vCards (BEGIN:VCARD … END:VCARD)")
    return total


def _unreadable(expected: str) -> InvalidInputError:
    return InvalidInputError([FieldError("body", f"is not {expected}")])
