"""Reads of SMS threads and messages, always through the user who owns them (anyone else gets
None, which the API turns into 404), and their JSON descriptions (docs/sms.md)."""

import uuid
from typing import Any

from django.db.models import OuterRef, Prefetch, Subquery, Sum

from toc.accounts.models import User
from toc.directory.selectors import names_by_number
from toc.lib.ids import as_uuid
from toc.lib.phone import format_for_display
from toc.sms.models import Direction, Media, Message, OptOut, Status, Thread


def get_thread_for_user(*, user: User, thread_id: object) -> Thread | None:
    key = as_uuid(thread_id)
    return None if key is None else Thread.objects.filter(pk=key, user=user).first()


def get_media_for_user(*, user: User, media_id: object) -> Media | None:
    key = as_uuid(media_id)
    return None if key is None else Media.objects.filter(pk=key, message__thread__user=user).first()


def get_public_media(token: str) -> Media | None:
    """An outbound picture the carrier fetches by its unguessable address."""
    if not token:
        return None
    return (
        Media.objects.filter(public_token=token, message__direction=Direction.OUTBOUND)
        .select_related("message")
        .first()
    )


def get_message_by_client_id(*, thread: Thread, client_id: uuid.UUID) -> Message | None:
    return _messages().filter(thread=thread, client_id=client_id).first()


def unread_total(*, user: User) -> int:
    return int(Thread.objects.filter(user=user).aggregate(total=Sum("unread_count"))["total"] or 0)


def is_opted_out(*, local_number: str, remote_number: str) -> bool:
    return OptOut.objects.filter(local_number=local_number, remote_number=remote_number).exists()


def _messages() -> Any:
    return Message.objects.prefetch_related(Prefetch("media", queryset=Media.objects.order_by("position")))


def list_messages(*, thread: Thread, before: Message | None = None, limit: int = 50) -> tuple[list[Message], bool]:
    """Up to `limit` messages before `before` (or the newest), oldest first, and whether more exist."""
    query = _messages().filter(thread=thread)
    if before is not None:
        query = query.filter(created_at__lte=before.created_at).exclude(pk=before.pk)
        query = query.exclude(created_at=before.created_at, pk__gt=before.pk)
    page = list(query.order_by("-created_at", "-pk")[: limit + 1])
    has_more = len(page) > limit
    return list(reversed(page[:limit])), has_more


def describe_media(media: Media) -> dict[str, Any]:
    return {
        "id": str(media.id),
        "url": f"/api/sms/media/{media.id}/",
        "content_type": media.content_type,
        "size": media.size,
        "name": media.name,
        "ready": media.is_ready,
        "error": media.download_error,
    }


def describe_message(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "thread_id": str(message.thread_id),
        "direction": message.direction,
        "body": message.body,
        "status": message.status,
        "status_label": Status(message.status).label,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "segments": message.segments,
        "encoding": message.encoding,
        "client_id": str(message.client_id) if message.client_id else None,
        "created_at": message.created_at.isoformat(),
        "status_changed_at": message.status_changed_at.isoformat(),
        "media": [describe_media(media) for media in message.media.all()],
    }


def _last_messages(thread_ids: list[uuid.UUID]) -> dict[uuid.UUID, Message]:
    newest = Message.objects.filter(thread_id=OuterRef("pk")).order_by("-created_at", "-pk").values("pk")[:1]
    last_ids = (
        Thread.objects.filter(pk__in=thread_ids).annotate(last_id=Subquery(newest)).values_list("last_id", flat=True)
    )
    messages = Message.objects.filter(pk__in=[key for key in last_ids if key]).prefetch_related("media")
    return {message.thread_id: message for message in messages}


def _describe_thread(thread: Thread, *, name: str | None, last: Message | None, opted_out: bool) -> dict[str, Any]:
    return {
        "id": str(thread.id),
        "remote_number": thread.remote_number,
        "remote_display": format_for_display(thread.remote_number),
        "name": name,
        "local_number": thread.local_number,
        "unread_count": thread.unread_count,
        "opted_out": opted_out,
        "last_message": None
        if last is None
        else {
            "body": last.body,
            "direction": last.direction,
            "has_media": bool(last.media.all()),
            "created_at": last.created_at.isoformat(),
        },
        "last_message_at": thread.last_message_at.isoformat() if thread.last_message_at else None,
    }


def describe_threads(*, user: User, threads: list[Thread]) -> list[dict[str, Any]]:
    names = names_by_number(user=user, numbers=[thread.remote_number for thread in threads])
    last = _last_messages([thread.id for thread in threads])
    opted_out = set(
        OptOut.objects.filter(
            local_number__in={thread.local_number for thread in threads},
            remote_number__in={thread.remote_number for thread in threads},
        ).values_list("local_number", "remote_number")
    )
    return [
        _describe_thread(
            thread,
            name=names.get(thread.remote_number),
            last=last.get(thread.id),
            opted_out=(thread.local_number, thread.remote_number) in opted_out,
        )
        for thread in threads
    ]


def describe_thread(*, user: User, thread: Thread) -> dict[str, Any]:
    return describe_threads(user=user, threads=[thread])[0]


def list_threads(*, user: User) -> list[Thread]:
    return list(Thread.objects.filter(user=user).order_by("-last_message_at", "-created_at"))
