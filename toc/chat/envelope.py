"""Message envelopes: what the server checks of a message's content, which is otherwise opaque.

An envelope is `{"format": "<name>/<version>", "payload": <any JSON>}`. The server checks only
that the format is one it accepts and that the envelope is not too big; it never renders the
payload. `toc.plain/1` (today's clients) is the one format it reads, and only to keep the plain
text for server-side search until end-to-end encryption (a new format) moves search into the
client. `toc.event/1` is written by the server itself (member added, group renamed…).
"""

import json
from dataclasses import dataclass
from typing import Any

PLAIN = "toc.plain/1"
EVENT = "toc.event/1"
CLIENT_FORMATS = frozenset({PLAIN})
MAX_ENVELOPE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 10_000
MAX_ATTACHMENTS = 10


class EnvelopeError(ValueError):
    """The envelope is refused; the message says why, in a sentence for the user."""


@dataclass(frozen=True)
class CheckedEnvelope:
    format: str
    envelope: dict[str, Any]
    search_text: str


def check(envelope: object, *, attachment_ids: list[str]) -> CheckedEnvelope:
    """Validate an envelope sent by a client with `attachment_ids` (the files the message
    carries) beside it."""
    if not isinstance(envelope, dict) or set(envelope) != {"format", "payload"}:
        raise EnvelopeError('A message is {"format": ..., "payload": ...}.')
    envelope_format = envelope["format"]
    if not isinstance(envelope_format, str) or envelope_format not in CLIENT_FORMATS:
        raise EnvelopeError(f"Unknown message format {str(envelope_format)[:40]!r}.")
    serialised = json.dumps(envelope, ensure_ascii=False)
    if len(serialised.encode()) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"The message is too long (over {MAX_ENVELOPE_BYTES // 1024} KB).")
    if _holds_nul(envelope):
        raise EnvelopeError("The message holds a NUL character, which cannot be stored.")
    search_text = _check_plain(envelope["payload"], attachment_ids=attachment_ids)
    return CheckedEnvelope(format=envelope_format, envelope=envelope, search_text=search_text)


def _holds_nul(value: object) -> bool:
    """PostgreSQL stores no NUL character in text or JSON."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _check_plain(payload: object, *, attachment_ids: list[str]) -> str:
    if not isinstance(payload, dict) or not isinstance(payload.get("text", ""), str):
        raise EnvelopeError('A plain message\'s payload is {"text": ..., "attachments": [...]}.')
    text = str(payload.get("text", ""))
    attachments = payload.get("attachments", [])
    if not isinstance(attachments, list):
        raise EnvelopeError("A plain message's attachments are a list.")
    if len(text) > MAX_TEXT_CHARS:
        raise EnvelopeError(f"The message is too long ({len(text)} characters; at most {MAX_TEXT_CHARS}).")
    if len(attachments) > MAX_ATTACHMENTS or len(attachment_ids) > MAX_ATTACHMENTS:
        raise EnvelopeError(f"At most {MAX_ATTACHMENTS} files go in one message.")
    described = [str(item.get("id", "")) if isinstance(item, dict) else "" for item in attachments]
    if sorted(described) != sorted(attachment_ids):
        raise EnvelopeError("The files the message describes are not the files it carries.")
    if not text.strip() and not attachments:
        raise EnvelopeError("The message is empty.")
    names = " ".join(str(item.get("name", "")) for item in attachments if isinstance(item, dict))
    return f"{text} {names}".strip()


def event(*, event: str, actor_id: int, user_ids: list[int], names: list[str], name: str = "") -> dict[str, Any]:
    """The envelope of a server-written notice ("Alice added Bob")."""
    payload = {"event": event, "actor_id": actor_id, "user_ids": user_ids, "names": names, "name": name}
    return {"format": EVENT, "payload": payload}
