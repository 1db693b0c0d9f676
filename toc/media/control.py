"""The control plane's side of the media engine: live workers, and commands sent to them.

Workers register a `MediaWorker` row and heart-beat it (`toc.media.worker`). The call engine
picks a worker per call and sends it commands over the channel layer, always after the
transaction that decided them commits, so a worker never acts on a change that rolled back.
Command types and their fields are documented in `toc.media.worker`.
"""

from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from toc.media.models import MediaWorker


def alive_since(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.MEDIA_WORKER_DEAD_AFTER_SECONDS)


def list_alive_workers(*, now: datetime) -> QuerySet[MediaWorker]:
    return MediaWorker.objects.filter(last_seen_at__gte=alive_since(now)).order_by("name")


def list_dead_workers(*, now: datetime) -> QuerySet[MediaWorker]:
    return MediaWorker.objects.filter(last_seen_at__lt=alive_since(now)).order_by("name")


def send_command(*, channel_name: str, command: dict[str, Any]) -> None:
    """Send `command` to a worker (or a reply to a socket) once the current transaction commits."""

    def deliver() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.send)(channel_name, command)

    transaction.on_commit(deliver)
