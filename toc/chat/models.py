"""Conversations (direct: one per pair; group: named, with members), their messages, reactions
and attachments.

A message's content is an opaque envelope (`envelope_format` + `envelope`): the server stores
and relays it and never renders it, so end-to-end encryption changes the envelope, not these
tables. The one exception, until encryption moves search into the client, is `search_text`:
the plain text of a `toc.plain/1` envelope, kept for server-side search.

Messages are numbered 1, 2, 3… per conversation (`sequence`, assigned under the
conversation's row lock by `toc.chat.services`), which gives every member the same order and
lets read marks be a single number per member.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ConversationKind(models.TextChoices):
    DIRECT = "direct", "Direct chat"
    GROUP = "group", "Group chat"


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=6, choices=ConversationKind.choices)
    name = models.CharField(max_length=100, blank=True, help_text="Groups only.")
    direct_key = models.CharField(
        max_length=50, null=True, blank=True, help_text="Direct chats: '<smaller user id>:<larger user id>'."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_sequence = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "direct_key"],
                condition=Q(direct_key__isnull=False),
                name="chat_one_direct_chat_per_pair",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} chat {self.pk}"


class Membership(models.Model):
    """A current member. Leaving or being removed deletes the row: the conversation, its
    history and its files are then out of reach."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships")
    last_read_sequence = models.PositiveIntegerField(default=0)
    is_muted = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="chat_one_membership")]
        indexes = [models.Index(fields=["user", "conversation"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class MessageKind(models.TextChoices):
    MESSAGE = "message", "Message"
    EVENT = "event", "Notice (member added, group renamed…)"


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=7, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    sender_name = models.CharField(max_length=200, blank=True, help_text="Kept for when the sender is gone.")
    envelope_format = models.CharField(max_length=40, blank=True)
    envelope = models.JSONField(null=True, blank=True, help_text="Opaque to the server; None once deleted.")
    search_text = models.TextField(blank=True, help_text="Plain-text envelopes only, for server-side search.")
    client_id = models.UUIDField(null=True, blank=True, help_text="The sender's id for it: a retry is stored once.")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "sequence"], name="chat_message_sequence"),
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="chat_message_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.sequence} of {self.conversation_id}"


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="chat_one_reaction")]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class AttachmentKind(models.TextChoices):
    FILE = "file", "File"
    IMAGE = "image", "Picture"
    VOICE = "voice", "Voice message"


class Attachment(models.Model):
    """A file uploaded into a conversation. It belongs to the conversation from the upload on
    (only members download it) and to a message once one is sent with its id; uploads never
    sent are swept away (`toc.chat.tasks`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="chat/%Y/%m/", max_length=200)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=5, choices=AttachmentKind.choices, default=AttachmentKind.FILE)
    duration_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"attachment {self.pk} ({self.name})"
