"""Calls, their legs, the log of every transition, and each user's call history.

A call's state and timestamps mirror `toc.calls.state.CallValue`; only the services change
them, under a row lock on the call. Names and numbers are copied onto the call when it is
placed, so history still reads right after someone is renamed or leaves.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from toc.calls.state import CallState, EndReason, LegState, Party
from toc.presence.models import PresenceStatus


class CallStatus(models.TextChoices):
    DIALING = CallState.DIALING.value, "Dialing"
    RINGING = CallState.RINGING.value, "Ringing"
    ANSWERED = CallState.ANSWERED.value, "Answered"
    PARKED = CallState.PARKED.value, "Parked"
    ENDED = CallState.ENDED.value, "Ended"


class CallEndReason(models.TextChoices):
    COMPLETED = EndReason.COMPLETED.value, "Completed"
    BUSY = EndReason.BUSY.value, "Busy"
    NO_ANSWER = EndReason.NO_ANSWER.value, "No answer"
    DECLINED = EndReason.DECLINED.value, "Declined"
    CANCELLED = EndReason.CANCELLED.value, "Cancelled"
    UNREACHABLE = EndReason.UNREACHABLE.value, "Unreachable"
    FAILED = EndReason.FAILED.value, "Failed"


class LegStatus(models.TextChoices):
    NEW = LegState.NEW.value, "New"
    CONNECTED = LegState.CONNECTED.value, "Connected"
    ENDED = LegState.ENDED.value, "Ended"


class PartyRole(models.TextChoices):
    CALLER = Party.CALLER.value, "Caller"
    CALLEE = Party.CALLEE.value, "Callee"
    SYSTEM = Party.SYSTEM.value, "System"


class Call(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    caller = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    callee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    dialled = models.CharField(max_length=32)
    caller_name = models.CharField(max_length=200)
    caller_number = models.CharField(max_length=32)
    callee_name = models.CharField(max_length=200)
    callee_number = models.CharField(max_length=32)
    state = models.CharField(max_length=10, choices=CallStatus.choices, default=CallStatus.DIALING)
    end_reason = models.CharField(max_length=12, choices=CallEndReason.choices, blank=True)
    end_detail = models.CharField(max_length=200, blank=True, help_text="Why a failed call failed, in words.")
    media_worker = models.ForeignKey("media.MediaWorker", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ringing_at = models.DateTimeField(null=True, blank=True)
    ring_deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0, help_text="Counts changes: clients keep the newest.")
    held_by = models.CharField(max_length=10, choices=PartyRole.choices, blank=True)
    transferred_by_name = models.CharField(max_length=200, blank=True, help_text="Who sent the call to the callee.")
    consult_for = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For an attended transfer's consultation call: the call being transferred.",
    )
    park_slot = models.CharField(max_length=6, blank=True)
    parked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    park_deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    conference = models.ForeignKey(
        "calls.Conference", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    pin_attempts = models.PositiveSmallIntegerField(default=0)
    pin_digits = models.CharField(max_length=16, blank=True, help_text="Keypad digits of a PIN being entered.")
    is_awaiting_pin = models.BooleanField(default=False)
    routed_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The dialled user whose forwarding and rules the call follows; their voicemail ends it.",
    )
    route_steps = models.JSONField(
        default=list, blank=True, help_text="Who still rings, in order: [{user_id, extension, name, seconds}]."
    )

    class Meta:
        indexes = [models.Index(fields=["state", "media_worker"])]
        constraints = [
            # Two parks at once can never take the same slot.
            models.UniqueConstraint(
                fields=["organisation", "park_slot"],
                condition=models.Q(state=CallState.PARKED.value),
                name="one_parked_call_per_slot",
            )
        ]

    def __str__(self) -> str:
        return f"{self.caller_number} -> {self.dialled} ({self.state})"


class Leg(models.Model):
    """One endpoint's media connection to the engine (a softphone session in a call)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="legs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    party = models.CharField(max_length=10, choices=PartyRole.choices)
    channel_name = models.CharField(max_length=200, db_index=True, help_text="The socket that signals for it.")
    state = models.CharField(max_length=10, choices=LegStatus.choices, default=LegStatus.NEW)
    detached_at = models.DateTimeField(null=True, blank=True, help_text="When its socket went away.")
    answer_sdp = models.TextField(blank=True, help_text="The engine's answer, replayed to a reclaiming socket.")
    is_muted = models.BooleanField(default=False, help_text="Muted in a conference by its owner or an admin.")
    created_at = models.DateTimeField(default=timezone.now)
    connected_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.party} leg of {self.call_id}"


class ConferenceRoom(models.Model):
    """A standing conference room of an organisation, dialled by its extension (7xx)."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    extension = models.CharField(max_length=4)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pin_hash = models.CharField(max_length=200, blank=True, help_text="Empty: no PIN.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["extension"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "extension"], name="one_room_per_extension"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.extension})"


class Conference(models.Model):
    """A conference going on: in a room, or instant (people added to a call, or started from the
    Conference window). Its participants are the live legs of its calls, in one bridge."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(ConferenceRoom, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    media_worker = models.ForeignKey("media.MediaWorker", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One conference going on per room at a time: everyone who dials it meets there.
            models.UniqueConstraint(
                fields=["room"], condition=models.Q(ended_at__isnull=True), name="one_live_conference_per_room"
            )
        ]

    def __str__(self) -> str:
        return f"conference {self.pk}"

    @property
    def bridge_id(self) -> str:
        return f"conference-{self.pk}"


class CallTransition(models.Model):
    """The log of every change of a call's state: what happened, caused by whom, when."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transitions")
    event = models.CharField(max_length=12)
    party = models.CharField(max_length=10, choices=PartyRole.choices)
    from_state = models.CharField(max_length=10, choices=CallStatus.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=CallStatus.choices)
    detail = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.call_id}: {self.from_state} -{self.event}-> {self.to_state}"


class RecordOutcome(models.TextChoices):
    """How a call ended for one person: how the call ended, or how they left it before."""

    COMPLETED = EndReason.COMPLETED.value, "Completed"
    BUSY = EndReason.BUSY.value, "Busy"
    NO_ANSWER = EndReason.NO_ANSWER.value, "No answer"
    DECLINED = EndReason.DECLINED.value, "Declined"
    CANCELLED = EndReason.CANCELLED.value, "Cancelled"
    UNREACHABLE = EndReason.UNREACHABLE.value, "Unreachable"
    FAILED = EndReason.FAILED.value, "Failed"
    TRANSFERRED = "transferred", "Transferred"
    PARKED = "parked", "Parked"
    VOICEMAIL = "voicemail", "Sent to voicemail"
    FORWARDED = "forwarded", "Forwarded"


class HistoryDirection(models.TextChoices):
    OUTGOING = "outgoing", "Outgoing"
    INCOMING = "incoming", "Incoming"
    MISSED = "missed", "Missed"


class CallRecord(models.Model):
    """One line of one user's call history, written when the call ends."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=10, choices=HistoryDirection.choices)
    outcome = models.CharField(max_length=12, choices=RecordOutcome.choices)
    note = models.CharField(max_length=200, blank=True, help_text="How this person left the call, in words.")
    counterpart_name = models.CharField(max_length=200)
    counterpart_number = models.CharField(max_length=32)
    counterpart_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField()
    is_seen = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["owner", "call"], name="one_record_per_call_and_owner")]
        indexes = [models.Index(fields=["owner", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.direction} {self.counterpart_number}"


class CallForwarding(models.Model):
    """A user's Call Forwarding (Self Care > Services): destinations are stored as typed in the
    portal after checking (an extension, 999, "mobile" or an E.164 number); empty is off."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="call_forwarding"
    )
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    always_destination = models.CharField(max_length=20, blank=True)
    busy_destination = models.CharField(max_length=20, blank=True)
    no_answer_destination = models.CharField(max_length=20, blank=True)
    no_answer_seconds = models.PositiveSmallIntegerField(default=20)
    unreachable_destination = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"forwarding of {self.user_id}"


class PresenceRule(models.Model):
    """An App Presence rule: while the user has this presence (and the rule is ticked), calls
    ring `lines` in order, each [destination, seconds]; `local_lines` (when set) for local calls."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_rules")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=PresenceStatus.choices)
    is_enabled = models.BooleanField(default=True)
    lines = models.JSONField(default=list)
    local_lines = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "status"]
        constraints = [models.UniqueConstraint(fields=["user", "status"], name="one_presence_rule_per_status")]

    def __str__(self) -> str:
        return f"{self.status} rule of {self.user_id}"
