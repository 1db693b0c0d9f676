"""Files sent in chat: uploaded into a conversation first, then sent by a message that names
them. Stored through Django's storage under a random name (never the user's file name);
served only to members (`toc.chat.api`). Uploads never sent are deleted after
`CHAT_UNSENT_ATTACHMENT_HOURS`.
"""

import math
import posixpath
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from toc.accounts.models import User
from toc.chat import selectors
from toc.chat.models import Attachment, AttachmentKind
from toc.chat.services.base import NOT_FOUND, ChatError

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_VOICE_SECONDS = 15 * 60


def _size_text(size: int) -> str:
    """1001 -> "1001 bytes", 1_500_000 -> "1.4 MB", 100 MB -> "100 MB" (binary units, as the
    client shows sizes)."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.1f}".removesuffix(".0") + " MB" if megabytes < 10 else f"{round(megabytes)} MB"


def _kind(requested: object, content_type: str) -> str:
    if requested == AttachmentKind.VOICE:
        if not content_type.startswith("audio/"):
            raise ChatError("invalid", "A voice message is an audio file.", field="kind")
        return AttachmentKind.VOICE
    if requested not in (None, "", AttachmentKind.FILE, AttachmentKind.IMAGE):
        raise ChatError("invalid", "kind is file, image or voice.", field="kind")
    return AttachmentKind.IMAGE if content_type in IMAGE_TYPES else AttachmentKind.FILE


def _duration(kind: str, duration_seconds: object) -> float | None:
    if kind != AttachmentKind.VOICE:
        return None
    try:
        value = float(str(duration_seconds))
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_VOICE_SECONDS:
        raise ChatError("invalid", "A voice message gives its length in seconds.", field="duration_seconds")
    return round(value, 2)


def _clean_file_name(name: str) -> str:
    base = posixpath.basename(name.replace("\\", "/")).strip().replace("\x00", "")
    return (base or "file")[:255]


def upload_attachment(
    *, user: User, conversation_id: object, upload: UploadedFile, kind: object = None, duration_seconds: object = None
) -> Attachment:
    limit = settings.CHAT_MAX_ATTACHMENT_BYTES
    size = upload.size or 0
    if size > limit:
        raise ChatError(
            "invalid", f"The file is {_size_text(size)}: files up to {_size_text(limit)} can be sent.", field="file"
        )
    if size == 0:
        raise ChatError("invalid", "The file is empty.", field="file")
    content_type = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()[:100]
    chosen = _kind(kind, content_type)
    duration = _duration(chosen, duration_seconds)
    name = _clean_file_name(upload.name or "file")
    conversation = selectors.get_conversation_for_user(user=user, conversation_id=conversation_id)
    if conversation is None:
        raise ChatError("not_found", NOT_FOUND)
    # The copy into storage happens outside the conversation's lock: a big file must not
    # hold up the messages of everyone else in it.
    stored = default_storage.save(f"chat/{timezone.now():%Y/%m}/{uuid.uuid4().hex}", upload)
    try:
        with transaction.atomic():
            # No conversation lock: an upload by someone removed meanwhile is unreachable to
            # them and swept away unsent.
            return Attachment.objects.create(
                conversation=conversation,
                organisation_id=conversation.organisation_id,
                uploaded_by=user,
                file=stored,
                name=name,
                content_type=content_type,
                size=size,
                kind=chosen,
                duration_seconds=duration,
            )
    except BaseException:
        default_storage.delete(stored)
        raise


def delete_unsent_attachments() -> int:
    """Delete uploads that no message took within CHAT_UNSENT_ATTACHMENT_HOURS. Returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.CHAT_UNSENT_ATTACHMENT_HOURS)
    deleted = 0
    for attachment in Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff).iterator():
        with transaction.atomic():
            claimed = Attachment.objects.filter(pk=attachment.pk, message__isnull=True).delete()[0]
        if claimed and attachment.file.name:
            default_storage.delete(attachment.file.name)
            deleted += 1
    return deleted
