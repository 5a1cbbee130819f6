"""Text messages through an API of the shape of Twilio's Messages resource.

``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``, a form with ``To``,
``From`` and ``Body``, HTTP basic auth (account SID, auth token); ``201`` with the
message's ``sid`` and ``status`` when accepted, else Twilio's error JSON
``{"code", "message", "more_info", "status"}``. The API has no idempotency key,
so an attempt whose answer was lost (a timeout) may send a second text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import msgspec
import urllib3

from pcem.processors.providers.base import (
    ChannelConfig,
    Delivered,
    DeliveryFailed,
    Message,
    without_secrets,
)
from pcem.processors.providers.outgoing_http import (
    Failure,
    post,
    retryable_status,
    transport_failure,
)
from pcem.settings import SmsSettings

API_VERSION = "2010-04-01"


class TwilioSmsProvider:
    channel = "sms"

    def __init__(self, settings: SmsSettings, http: urllib3.PoolManager) -> None:
        self.settings = settings
        self.http = http
        account = quote(settings.account_sid, safe="")
        self.url = f"{settings.base_url}/{API_VERSION}/Accounts/{account}/Messages.json"

    def send(self, message: Message, channel: ChannelConfig) -> Delivered:
        settings = self.settings
        form = {"To": channel["phone"], "From": settings.sender, "Body": message.text}
        body = urlencode(form).encode()
        headers = {
            **urllib3.make_headers(basic_auth=f"{settings.account_sid}:{settings.auth_token}"),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        try:
            status, answered = post(self.http, self.url, body, headers, settings.timeout_seconds)
        except Failure as error:
            failure = transport_failure(error, "the SMS API did not answer", settings.auth_token)
            raise failure from None
        answer = _json(answered)
        if 200 <= status < 300:
            accepted = answer.get("status", "accepted")
            return Delivered(f"accepted by the SMS API ({accepted})", reference=answer.get("sid"))
        raise self._refused(status, answer)

    def _refused(self, status: int, answer: dict[str, Any]) -> DeliveryFailed:
        said = " ".join(str(answer[key]) for key in ("code", "message") if answer.get(key))
        reason = f"the SMS API refused the message (HTTP {status}) {said}".strip()
        reason = without_secrets(reason, self.settings.auth_token)[:300]
        return DeliveryFailed(reason, retryable=retryable_status(status))


def _json(body: bytes) -> dict[str, Any]:
    try:
        answer = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return {}
    return answer if isinstance(answer, dict) else {}
