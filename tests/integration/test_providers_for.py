"""The worker's one entry: a provider for every channel type the settings allow."""

from __future__ import annotations

import pytest
import redis
import urllib3

from pcem.aggregates.settings import CHANNEL_FIELDS
from pcem.processors.providers import DeliveryFailed, providers_for
from pcem.processors.providers.sms import TwilioSmsProvider
from pcem.processors.providers.smtp import EmailProvider
from pcem.settings import load_settings
from tests.integration.delivery_helpers import notification_message

CONFIGURED = {
    "PCEM_SMTP_HOST": "127.0.0.1",
    "PCEM_SMTP_FROM": "reminders@example.org",
    "PCEM_SMS_ACCOUNT_SID": "AC" + "0" * 32,
    "PCEM_SMS_AUTH_TOKEN": "token-" + "0" * 26,
    "PCEM_SMS_FROM": "+15005550006",
}


def test_every_channel_type_of_the_settings_has_its_provider(
    outgoing_http: urllib3.PoolManager,
) -> None:
    providers = providers_for(load_settings(CONFIGURED), redis.Redis(), outgoing_http)

    assert set(providers) == set(CHANNEL_FIELDS)
    assert all(provider.channel == name for name, provider in providers.items())
    assert isinstance(providers["email"], EmailProvider)
    assert isinstance(providers["sms"], TwilioSmsProvider)


@pytest.mark.parametrize(
    ("channel", "variable"),
    [
        ({"type": "email", "address": "a@example.org"}, "PCEM_SMTP_HOST"),
        ({"type": "sms", "phone": "+4915112345678"}, "PCEM_SMS_ACCOUNT_SID"),
    ],
)
def test_an_unconfigured_channel_fails_for_good_naming_what_to_set(
    outgoing_http: urllib3.PoolManager, channel: dict[str, str], variable: str
) -> None:
    providers = providers_for(load_settings({}), redis.Redis(), outgoing_http)

    with pytest.raises(DeliveryFailed) as failure:
        providers[channel["type"]].send(notification_message(), channel)

    assert not failure.value.retryable
    assert failure.value.reason == (
        f"{channel['type']} delivery is not configured on this server ({variable})"
    )
