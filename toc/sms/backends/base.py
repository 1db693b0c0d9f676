"""The interface every SMS backend provides, and what it answers with."""

import datetime
import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    message_id: uuid.UUID
    from_number: str
    to_number: str
    body: str
    media_urls: tuple[str, ...]
    status_callback: str
    first_handover_at: datetime.datetime


@dataclass(frozen=True)
class Handover:
    """What the carrier said when it took (or, earlier, had taken) a message."""

    sid: str | None
    status: str
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class Downloaded:
    content: bytes
    content_type: str


class CarrierRefusedError(Exception):
    """The carrier refused the message for good (an invalid number, an opted-out recipient)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CarrierUnavailableError(Exception):
    """Try again later. `outcome_unknown`: the carrier may have taken the message (a timeout,
    a 5xx), so ask it before sending again."""

    def __init__(self, reason: str, *, outcome_unknown: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after


class SmsBackend(Protocol):
    name: str
    carries_messages: bool

    def send(self, outgoing: Outgoing) -> Handover: ...

    def find(self, outgoing: Outgoing) -> list[Handover]:
        """Messages the carrier has that an earlier hand-over of `outgoing` may have made (same
        numbers, body and picture count, made since its first hand-over), oldest first."""
        ...

    def download(self, url: str, *, max_bytes: int) -> Downloaded: ...

    def is_signed(self, *, url: str, params: dict[str, str], signature: str) -> bool: ...
