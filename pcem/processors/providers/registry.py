"""The providers of every channel, as the delivery worker uses them."""

from __future__ import annotations

import redis
import urllib3

from pcem.processors.providers.base import Provider, Unconfigured
from pcem.processors.providers.in_app import InAppProvider
from pcem.processors.providers.sms import TwilioSmsProvider
from pcem.processors.providers.smtp import EmailProvider
from pcem.processors.providers.webhook import WebhookProvider
from pcem.settings import Settings


def providers_for(
    settings: Settings, redis_client: redis.Redis[bytes], http_client: urllib3.PoolManager
) -> dict[str, Provider]:
    """One provider per channel type of the user's settings, keyed by that type.

    The clients come from the wiring (``Container.redis``, ``Container.http``). A
    channel the server is not configured for still has a provider: its sends
    fail, not retryable, naming the variable to set.
    """
    channels = settings.channels
    email: Provider = (
        EmailProvider(channels.smtp) if channels.smtp else Unconfigured("email", "PCEM_SMTP_HOST")
    )
    sms: Provider = (
        TwilioSmsProvider(channels.sms, http_client)
        if channels.sms
        else Unconfigured("sms", "PCEM_SMS_ACCOUNT_SID")
    )
    return {
        "email": email,
        "sms": sms,
        "webhook": WebhookProvider(channels.webhook, http_client),
        "in_app": InAppProvider(redis_client),
    }
