"""SMS and MMS threads, their messages and pictures, opt-outs, and the per-number send pace.

A thread is one user's conversation, from their direct number (`local_number`), with one
outside number. Outbound messages are outbox rows first: the row exists, committed, before any
worker talks to the carrier, and workers only move it forward (`toc.sms.services.sending`), so a
crash or a restart never loses one. A message's `status` only ever moves up `STATUS_RANK`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Sent by us"
    INBOUND = "inbound", "Received"


class Status(models.TextChoices):
    OUTBOX = "outbox", "Sending…"
    UNCONFIRMED = "unconfirmed", "Not confirmed"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Not delivered"
    FAILED = "failed", "Failed"
    NOT_SENT = "not_sent", "Not sent — no SMS carrier is configured"
    RECEIVED = "received", "Received"


# `unconfirmed` (TOC gave up without learning whether the carrier took it) ranks below every
# carrier status, so a late callback from the carrier still tells the truth.
FINAL_RANK = 5
STATUS_RANK: dict[str, int] = {
    Status.OUTBOX: 0,
    Status.UNCONFIRMED: 1,
    Status.QUEUED: 2,
    Status.SENDING: 3,
    Status.SENT: 4,
    Status.DELIVERED: FINAL_RANK,
    Status.UNDELIVERED: FINAL_RANK,
    Status.FAILED: FINAL_RANK,
    Status.NOT_SENT: FINAL_RANK,
    Status.RECEIVED: FINAL_RANK,
}


class Thread(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sms_threads")
    local_number = models.CharField(max_length=16, help_text="The user's direct number (E.164).")
    remote_number = models.CharField(max_length=16, help_text="The outside number (E.164).")
    unread_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "local_number", "remote_number"], name="sms_one_thread_per_pair")
        ]
        indexes = [models.Index(fields=["user", "-last_message_at"])]

    def __str__(self) -> str:
        return f"{self.local_number} ↔ {self.remote_number}"


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    local_number = models.CharField(max_length=16)
    remote_number = models.CharField(max_length=16)
    body = models.TextField(blank=True)
    segments = models.PositiveSmallIntegerField(default=0)
    encoding = models.CharField(max_length=5, default="GSM-7")
    status = models.CharField(max_length=12, choices=Status.choices)
    error_code = models.CharField(max_length=10, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    backend = models.CharField(max_length=10, help_text="The SMS backend that sent or received it.")
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_id = models.UUIDField(null=True, blank=True)
    # Sending (outbound only): see toc.sms.services.sending.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    handover_started_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while a worker hands the message to the carrier."
    )
    first_handover_at = models.DateTimeField(
        null=True, blank=True, help_text="The first hand-over: the carrier cannot have it from before."
    )
    outcome_unknown = models.BooleanField(
        default=False, help_text="A hand-over ended without an answer: ask the carrier before sending again."
    )
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "client_id"],
                condition=Q(client_id__isnull=False),
                name="sms_one_message_per_client_id",
            )
        ]
        indexes = [
            models.Index(fields=["thread", "created_at"]),
            models.Index(fields=["local_number", "created_at"], condition=Q(status="outbox"), name="sms_outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.status} {self.pk}"


class Media(models.Model):
    """A picture (or, inbound, any file) of an MMS. Outbound pictures are fetched by the
    carrier from a public, unguessable URL (`public_token`); inbound ones are downloaded from
    the carrier and stored here (`source_url` until then), never linked to."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="media")
    file = models.FileField(upload_to="sms/%Y/%m/", blank=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(default=0)
    public_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    source_url = models.URLField(max_length=500, blank=True)
    download_error = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ready(self) -> bool:
        return bool(self.file)


class OptOut(models.Model):
    """`remote_number` replied STOP (or UNSUBSCRIBE, CANCEL, END, QUIT) to `local_number`."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    local_number = models.CharField(max_length=16)
    remote_number = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["local_number", "remote_number"], name="sms_one_opt_out")]

    def __str__(self) -> str:
        return f"{self.remote_number} opted out of {self.local_number}"


class SendingPace(models.Model):
    """When `local_number` may next hand a message to the carrier (1 per second per number)."""

    local_number = models.CharField(max_length=16, primary_key=True)
    next_handover_at = models.DateTimeField(default=timezone.now)
    wake_token = models.CharField(max_length=32, blank=True, help_text="The task planned to wake at `wake_at`.")
    wake_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.local_number} next at {self.next_handover_at}"
