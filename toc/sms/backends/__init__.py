"""SMS backends: who carries messages. `get_backend()` picks Twilio when TWILIO_ACCOUNT_SID and
TWILIO_AUTH_TOKEN are set, otherwise the local backend, which keeps messages and says plainly
that they were not sent (it never pretends to deliver anything).
"""

from functools import cache

from django.conf import settings

from toc.sms.backends.base import (
    CarrierRefusedError,
    CarrierUnavailableError,
    Downloaded,
    Handover,
    Outgoing,
    SmsBackend,
)
from toc.sms.backends.local import LocalBackend
from toc.sms.backends.twilio import TwilioBackend

__all__ = [
    "CarrierRefusedError",
    "CarrierUnavailableError",
    "Downloaded",
    "Handover",
    "Outgoing",
    "SmsBackend",
    "get_backend",
]


@cache
def _backend(account_sid: str, auth_token: str, base_url: str, timeout: float) -> SmsBackend:
    if account_sid and auth_token:
        return TwilioBackend(account_sid=account_sid, auth_token=auth_token, base_url=base_url, timeout=timeout)
    return LocalBackend()


def get_backend() -> SmsBackend:
    return _backend(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        settings.SMS_CARRIER_TIMEOUT_SECONDS,
    )
