"""A local stand-in for Twilio's Messages API that checks each request as Twilio
documents it (``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, a form
with ``To``, ``From`` and ``Body``, basic auth with the account SID and auth token)
and answers as Twilio does: ``201`` with the Message resource, or an error
``{"code", "message", "more_info", "status"}``.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.integration.receivers import Answer, Request

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Twilio's test credentials treat this number as invalid (error 21211).
INVALID_NUMBER = "+15005550001"
MAX_BODY = 1600
FIELDS = {
    "To": (21604, "A 'To' phone number is required."),
    "From": (21603, "A 'From' phone number is required."),
    "Body": (21602, "Message body is required."),
}


def twilio_error(status: int, code: int, message: str) -> Answer:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    answer: Answer | None = None  # answer this instead once a request is valid
    accepted: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: Request) -> Answer:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        form = {name: values[0] for name, values in _form(request).items()}
        refusal = _invalid_fields(form)
        if refusal is not None:
            return refusal
        if self.answer is not None:
            return self.answer
        self.accepted.append(form)
        return Answer(
            201, json.dumps(self._message(form)).encode(), {"Content-Type": "application/json"}
        )

    def _refusal(self, request: Request) -> Answer | None:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if request.path != path:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        if request.method != "POST":
            return twilio_error(405, 20004, "Method not allowed")
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {credentials}":
            return twilio_error(401, 20003, "Authenticate")
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return twilio_error(415, 20415, "Unsupported media type")
        return None

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + uuid.uuid4().hex
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form["From"],
            "num_segments": "1",
            "sid": sid,
            "status": "queued",
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }


def _form(request: Request) -> dict[str, list[str]]:
    return parse_qs(request.body.decode(), keep_blank_values=True, strict_parsing=True)


def _invalid_fields(form: dict[str, str]) -> Answer | None:
    for name, (code, message) in FIELDS.items():
        if not form.get(name):
            return twilio_error(400, code, message)
    if set(form) != set(FIELDS):
        return twilio_error(400, 21600, f"Unexpected parameters: {sorted(set(form) - set(FIELDS))}")
    if not E164.fullmatch(form["To"]) or form["To"] == INVALID_NUMBER:
        return twilio_error(
            400, 21211, f"The 'To' number {form['To']} is not a valid phone number."
        )
    if not E164.fullmatch(form["From"]):
        return twilio_error(
            400, 21212, f"The 'From' number {form['From']} is not a valid phone number."
        )
    if len(form["Body"]) > MAX_BODY:
        return twilio_error(
            400, 21617, "The concatenated message body exceeds the 1600 character limit."
        )
    return None
