"""Mailboxes (one per user, with a hashed PIN and its lockout) and the messages left in them.

The PIN's wrong-attempt count and lockout mirror `toc.voicemail.pins.PinGuard`; only
`toc.voicemail.services` changes them, under a row lock on the mailbox. Recordings are files
in Django's storage (`voicemail/<organisation>/...`), never served directly: playback goes
through a view that checks the listener.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class GreetingChoice(models.TextChoices):
    UNAVAILABLE = "unavailable", "Unavailable"
    BUSY = "busy", "Busy when on a call"


class Mailbox(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailbox")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    pin_hash = models.CharField(max_length=200, blank=True, help_text="Empty: no PIN set yet (the phone menu refuses).")
    failed_pin_attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    greeting_choice = models.CharField(
        max_length=12, choices=GreetingChoice.choices, default=GreetingChoice.UNAVAILABLE
    )
    unavailable_greeting = models.FileField(upload_to="voicemail/greetings/", blank=True)
    busy_greeting = models.FileField(upload_to="voicemail/greetings/", blank=True)
    name_recording = models.FileField(upload_to="voicemail/greetings/", blank=True)
    email_enabled = models.BooleanField(default=False, help_text="Send each new message to the user's e-mail.")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"mailbox of {self.user_id}"


class Folder(models.TextChoices):
    NEW = "new", "New"
    OLD = "old", "Old"


class VoicemailMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="messages")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    caller_name = models.CharField(max_length=200, blank=True)
    caller_number = models.CharField(max_length=32, blank=True)
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    audio = models.FileField(upload_to="voicemail/messages/")
    duration_seconds = models.FloatField(default=0)
    folder = models.CharField(max_length=3, choices=Folder.choices, default=Folder.NEW)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["mailbox", "folder", "created_at"])]

    def __str__(self) -> str:
        return f"message {self.pk} for {self.mailbox_id}"


class CompanyGreeting(models.Model):
    """The auto attendant on the organisation's main number: a greeting and the digit choices
    it offers (`options`: {"1": "101", "0": "100"}, digit -> extension). Only greetings managers
    change it (`toc.voicemail.company`)."""

    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    audio = models.FileField(upload_to="voicemail/company/", blank=True)
    options = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"company greeting of {self.organisation_id}"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class VoicemailEmail(models.Model):
    """The outbox of voicemail to e-mail: written with the message, in the same transaction, then
    sent by a Celery task (`toc.voicemail.email`); retried with backoff until it is sent or has
    failed `MAX_ATTEMPTS` times."""

    message = models.ForeignKey(VoicemailMessage, null=True, on_delete=models.SET_NULL, related_name="+")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    to_address = models.EmailField()
    status = models.CharField(max_length=8, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"voicemail e-mail {self.pk} to {self.to_address} ({self.status})"


class SessionKind(models.TextChoices):
    DEPOSIT = "deposit", "Leaving a message"
    MENU = "menu", "Mailbox menu"
    GREETING = "greeting", "Hearing a greeting"
    ATTENDANT = "attendant", "The company greeting (main number)"


class VoicemailCall(models.Model):
    """A call that reached voicemail: someone leaving a message, in the mailbox menu (*86, *84),
    or hearing a greeting (*85). `menu` holds the menu's state between keypad events
    (`toc.voicemail.menu.dump`); only the call engine changes it, under the call's row lock."""

    call = models.OneToOneField("calls.Call", primary_key=True, on_delete=models.CASCADE, related_name="voicemail")
    mailbox = models.ForeignKey(
        Mailbox,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="None: the company greeting.",
    )
    kind = models.CharField(max_length=10, choices=SessionKind.choices)
    menu = models.JSONField(default=dict, blank=True)
    is_finished = models.BooleanField(default=False, help_text="Deposit: the message is in (or was dropped).")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} on {self.mailbox_id} ({self.call_id})"
