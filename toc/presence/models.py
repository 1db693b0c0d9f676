"""Stored presence per user, and the live client connections that make a user online."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from toc.presence.state import LABELS, Status


class PresenceStatus(models.TextChoices):
    AVAILABLE = Status.AVAILABLE.value, LABELS[Status.AVAILABLE]
    BUSY = Status.BUSY.value, LABELS[Status.BUSY]
    DO_NOT_DISTURB = Status.DO_NOT_DISTURB.value, LABELS[Status.DO_NOT_DISTURB]
    IN_A_MEETING = Status.IN_A_MEETING.value, LABELS[Status.IN_A_MEETING]
    AWAY = Status.AWAY.value, LABELS[Status.AWAY]
    VACATION = Status.VACATION.value, LABELS[Status.VACATION]
    AT_LUNCH = Status.AT_LUNCH.value, LABELS[Status.AT_LUNCH]


class Presence(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="presence"
    )
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=PresenceStatus.choices, default=PresenceStatus.AVAILABLE)
    custom_text = models.CharField(max_length=80, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.status}"


class Connection(models.Model):
    """One connected client socket (a browser tab or the desktop app)."""

    channel_name = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=64, blank=True)
    label = models.CharField(max_length=80, blank=True, help_text="What the device is, for Switch Device.")
    connected_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.channel_name
