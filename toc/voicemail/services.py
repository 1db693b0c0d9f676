"""Writes of voicemail: mailboxes and their PINs, and the messages in them.

PIN checks lock the mailbox row (`select_for_update`) and apply the pure rules of
`toc.voicemail.pins`, so wrong PINs count across calls, and two attempts at once cannot both
slip under the limit. Every wrong PIN and every lockout is logged (who, which mailbox, when).
"""

import logging
import tempfile
import uuid
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import av
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.lib.events import send_event
from toc.media.tracks import SAMPLE_RATE, load_audio_file, rms_dbfs
from toc.voicemail import email, pins, selectors
from toc.voicemail.models import Folder, GreetingChoice, Mailbox, VoicemailMessage

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)


class VoicemailError(Exception):
    """A request voicemail refuses; nothing was changed. `code` is for clients; `errors` says
    which fields were wrong, in sentences, when there are several."""

    def __init__(self, code: str, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or {}


def get_mailbox(*, user: User) -> Mailbox:
    """The user's mailbox, made on first use."""
    mailbox, _ = Mailbox.objects.get_or_create(user=user, defaults={"organisation_id": organisation_id_of(user)})
    return mailbox


def set_pin(*, user: User, pin: object) -> Mailbox:
    """The user chooses a new PIN (at least 4 digits, not trivial, not their extension)."""
    problem = pins.pin_problem(pin, extension=user.extension)
    if problem:
        raise VoicemailError("invalid", problem)
    assert isinstance(pin, str)
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=get_mailbox(user=user).pk)
        _store_pin(mailbox, pin)
    logger.info("voicemail: user %s changed the PIN of their mailbox %s", user.pk, mailbox.pk)
    return mailbox


def reset_pin(*, admin: User, user_id: object, pin: object) -> Mailbox:
    """An admin of the same organisation sets a user's PIN (and lifts a lockout)."""
    target = User.objects.filter(pk=user_id if isinstance(user_id, int) else -1).first()
    if target is None or target.organisation_id != admin.organisation_id or admin.organisation_id is None:
        raise VoicemailError("not_found", "That user does not exist.")
    if not admin.is_org_admin:
        raise VoicemailError("forbidden", "Only an admin can reset someone's voicemail PIN.")
    problem = pins.pin_problem(pin, extension=target.extension)
    if problem:
        raise VoicemailError("invalid", problem)
    assert isinstance(pin, str)
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=get_mailbox(user=target).pk)
        _store_pin(mailbox, pin)
    logger.warning("voicemail: admin %s reset the PIN of user %s (mailbox %s)", admin.pk, target.pk, mailbox.pk)
    return mailbox


def _store_pin(mailbox: Mailbox, pin: str) -> None:
    mailbox.pin_hash = make_password(pin)
    mailbox.failed_pin_attempts = 0
    mailbox.locked_until = None
    mailbox.save(update_fields=["pin_hash", "failed_pin_attempts", "locked_until"])


def verify_pin(*, mailbox_id: int, pin: str, caller: str, now: datetime | None = None) -> pins.PinCheck:
    """One PIN attempt on a mailbox from the phone (`caller` says who, for the log)."""
    moment = now or timezone.now()
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().filter(pk=mailbox_id).first()
        if mailbox is None:
            raise VoicemailError("not_found", "That mailbox does not exist.")
        if not mailbox.pin_hash:
            raise VoicemailError("no_pin", "This mailbox has no PIN yet.")
        guard = pins.PinGuard(failures=mailbox.failed_pin_attempts, locked_until=mailbox.locked_until)
        is_right = not guard.is_locked(moment) and check_password(pin, mailbox.pin_hash)
        after, outcome = pins.check(guard, is_right=is_right, now=moment)
        if after != guard:
            mailbox.failed_pin_attempts = after.failures
            mailbox.locked_until = after.locked_until
            mailbox.save(update_fields=["failed_pin_attempts", "locked_until"])
    if outcome is pins.PinCheck.WRONG:
        logger.warning("voicemail: wrong PIN %d for mailbox %s from %s", after.failures, mailbox_id, caller)
    elif outcome is pins.PinCheck.LOCKED and after != guard:
        logger.warning(
            "voicemail: mailbox %s locked until %s after %d wrong PINs (last from %s)",
            mailbox_id,
            after.locked_until,
            after.failures,
            caller,
        )
    elif outcome is pins.PinCheck.LOCKED:
        logger.warning("voicemail: PIN attempt on locked mailbox %s from %s", mailbox_id, caller)
    return outcome


# --- messages -------------------------------------------------------------------------------

MIN_MESSAGE_SECONDS = 1.0
SILENCE_DBFS = -55.0


def store_message(
    *,
    mailbox: Mailbox,
    recording: Path,
    caller_name: str,
    caller_number: str,
    caller: User | None = None,
    call_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> VoicemailMessage | None:
    """Keep a recorded message (a WAV the media engine wrote); None when it was empty or silent
    (shorter than a second, or never above -55 dBFS), which is dropped. The file is copied into
    Django's storage; the recording itself is the caller's to remove."""
    try:
        samples = load_audio_file(recording)
    except (OSError, ValueError, av.FFmpegError) as error:
        logger.warning("voicemail: recording %s cannot be read (%s); dropped", recording, error)
        return None
    seconds = samples.size / SAMPLE_RATE
    loudest = max((rms_dbfs(block) for block in _blocks(samples)), default=-200.0)
    if seconds < MIN_MESSAGE_SECONDS or loudest < SILENCE_DBFS:
        logger.info("voicemail: %.1f s message for mailbox %s was silent or empty; dropped", seconds, mailbox.pk)
        return None
    with transaction.atomic():
        message = VoicemailMessage(
            mailbox=mailbox,
            organisation_id=mailbox.organisation_id,
            caller_name=caller_name[:200],
            caller_number=caller_number[:32],
            caller=caller,
            call_id=call_id,
            duration_seconds=round(seconds, 2),
            created_at=now or timezone.now(),
        )
        with recording.open("rb") as audio:
            message.audio.save(f"{mailbox.organisation_id}/{message.pk}.wav", File(audio), save=False)
        message.save()
        email.queue_email(mailbox=mailbox, message=message)
        _announce_count(mailbox)
    return message


def _blocks(samples: "npt.NDArray[np.int16]", seconds: float = 0.1) -> list["npt.NDArray[np.int16]"]:
    size = int(SAMPLE_RATE * seconds)
    return [samples[start : start + size] for start in range(0, samples.size - size + 1, size)]


def _message_of(user: User, message_id: object) -> VoicemailMessage:
    message = selectors.get_message_for_user(user=user, message_id=message_id)
    if message is None:
        raise VoicemailError("not_found", "That message does not exist.")
    return message


def save_message(*, user: User, message_id: object) -> VoicemailMessage:
    """Move a message to the old messages (its owner only)."""
    with transaction.atomic():
        message = _message_of(user, message_id)
        if message.folder != Folder.OLD:
            message.folder = Folder.OLD
            message.save(update_fields=["folder"])
            _announce_count(message.mailbox)
    return message


def delete_message(*, user: User, message_id: object) -> None:
    """Delete a message and its audio (its owner only)."""
    with transaction.atomic():
        message = _message_of(user, message_id)
        mailbox = message.mailbox
        audio_name = message.audio.name or ""
        message.delete()
        _announce_count(mailbox)
        if audio_name:
            transaction.on_commit(lambda: default_storage.delete(audio_name))


def _announce_count(mailbox: Mailbox) -> None:
    send_event(
        event_type="voicemail.changed",
        payload={"new_count": selectors.count_new(mailbox=mailbox)},
        user_ids=[mailbox.user_id],
    )


# --- greetings and the name recording ---------------------------------------------------------

GREETING_FIELDS = {"unavailable": "unavailable_greeting", "busy": "busy_greeting", "name": "name_recording"}
RECORDABLE = (*GREETING_FIELDS, "company")  # what the phone menu records


def pending_name(*, call_id: object, kind: str) -> str:
    """Where a greeting recorded by phone waits for "1 to accept" (Django's storage)."""
    if kind not in RECORDABLE:
        raise ValueError(f"{kind!r} is not a greeting.")
    return f"voicemail/pending/{uuid.UUID(str(call_id))}-{kind}.wav"


def keep_pending(*, call_id: uuid.UUID, kind: str, recording: Path) -> str:
    """Keep a greeting just recorded by phone, replacing the one recorded before in this call."""
    name = pending_name(call_id=call_id, kind=kind)
    default_storage.delete(name)
    with recording.open("rb") as audio:
        saved = default_storage.save(name, File(audio))
    assert saved == name, f"storage saved {saved}, not {name}"
    return name


def drop_pending(*, call_id: uuid.UUID) -> None:
    for kind in RECORDABLE:
        default_storage.delete(pending_name(call_id=call_id, kind=kind))


def accept_pending(*, mailbox_id: int, call_id: uuid.UUID, kind: str) -> bool:
    """ "1 to accept": the greeting recorded in this call becomes the mailbox's. False when
    there is no recording (it was empty)."""
    name = pending_name(call_id=call_id, kind=kind)
    if not default_storage.exists(name):
        return False
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=mailbox_id)
        with default_storage.open(name, "rb") as audio:
            _replace_recording(mailbox, kind, audio)
    default_storage.delete(name)
    logger.info("voicemail: mailbox %s has a new %s recording", mailbox_id, kind)
    return True


def greeting_in_use(mailbox: Mailbox, *, is_busy: bool) -> str:
    """The stored greeting callers hear ("" for the default one): the Busy greeting when the user
    is on a call and chose it, else the Unavailable one."""
    if is_busy and mailbox.greeting_choice == GreetingChoice.BUSY and mailbox.busy_greeting:
        return str(mailbox.busy_greeting.name)
    return str(mailbox.unavailable_greeting.name or "")


# --- settings and uploaded greetings ------------------------------------------------------------

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def update_settings(*, user: User, greeting_choice: object = None, email_enabled: object = None) -> Mailbox:
    """Change which greeting callers hear (Unavailable, or Busy while on a call) and whether new
    messages are e-mailed; a value that is not one changes nothing."""
    errors: dict[str, str] = {}
    if greeting_choice is not None and greeting_choice not in GreetingChoice.values:
        errors["greeting_choice"] = "Choose unavailable or busy."
    if email_enabled is not None and not isinstance(email_enabled, bool):
        errors["email_enabled"] = "Choose true or false."
    if errors:
        raise VoicemailError("invalid", " ".join(errors.values()), errors=errors)
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=get_mailbox(user=user).pk)
        if greeting_choice is not None:
            mailbox.greeting_choice = str(greeting_choice)
        if email_enabled is not None:
            mailbox.email_enabled = bool(email_enabled)
        mailbox.save(update_fields=["greeting_choice", "email_enabled"])
    return mailbox


def upload_greeting(*, user: User, kind: str, upload: "File[bytes]") -> Mailbox:
    """A greeting (or the name) from an audio file: any format FFmpeg reads, at most 10 MB and
    VOICEMAIL_MAX_GREETING_SECONDS long, with sound in it. It is stored as 48 kHz mono WAV."""
    if kind not in GREETING_FIELDS:
        raise VoicemailError("not_found", "There is no such greeting.")
    samples = audio_from_upload(upload)
    with wav_file(samples) as path, transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=get_mailbox(user=user).pk)
        _replace_recording(mailbox, kind, path)
    logger.info("voicemail: user %s uploaded a %s recording", user.pk, kind)
    return mailbox


def delete_greeting(*, user: User, kind: str) -> Mailbox:
    """Go back to the default greeting (or no recorded name)."""
    if kind not in GREETING_FIELDS:
        raise VoicemailError("not_found", "There is no such greeting.")
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=get_mailbox(user=user).pk)
        field = getattr(mailbox, GREETING_FIELDS[kind])
        old = field.name or ""
        setattr(mailbox, GREETING_FIELDS[kind], "")
        mailbox.save(update_fields=[GREETING_FIELDS[kind]])
        if old:
            transaction.on_commit(lambda: default_storage.delete(old))
    return mailbox


def audio_from_upload(upload: "File[bytes]") -> "npt.NDArray[np.int16]":
    """The samples of an uploaded greeting; VoicemailError unless it is audio FFmpeg reads, at
    most 10 MB and VOICEMAIL_MAX_GREETING_SECONDS long, and not empty or silent."""
    size = getattr(upload, "size", None) or 0
    if size > MAX_UPLOAD_BYTES:
        raise VoicemailError("invalid", "A greeting file can be at most 10 MB.")
    with tempfile.NamedTemporaryFile(suffix=".upload") as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        try:
            samples = load_audio_file(Path(copy.name))
        except (OSError, ValueError, av.FFmpegError) as error:
            raise VoicemailError("invalid", "That file is not audio that can be played.") from error
    seconds = samples.size / SAMPLE_RATE
    limit = settings.VOICEMAIL_MAX_GREETING_SECONDS
    if seconds > limit:
        raise VoicemailError("invalid", f"A greeting can be at most {limit} seconds long; that one is {seconds:.0f}.")
    if seconds < MIN_MESSAGE_SECONDS or max((rms_dbfs(b) for b in _blocks(samples)), default=-200.0) < SILENCE_DBFS:
        raise VoicemailError("invalid", "That recording is empty or silent.")
    return samples


@contextmanager
def wav_file(samples: "npt.NDArray[np.int16]") -> Iterator[Path]:
    """The samples as a 48 kHz mono WAV in a temporary folder, for as long as the block lasts."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "greeting.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(samples.astype("<i2").tobytes())
        yield path


def _replace_recording(mailbox: Mailbox, kind: str, source: "Path | IO[bytes]") -> None:
    """Store a greeting on the locked mailbox; the file it replaces goes after commit."""
    field = getattr(mailbox, GREETING_FIELDS[kind])
    old = field.name or ""
    if isinstance(source, Path):
        with source.open("rb") as audio:
            field.save(f"{mailbox.organisation_id}/{mailbox.pk}-{kind}.wav", File(audio), save=False)
    else:
        field.save(f"{mailbox.organisation_id}/{mailbox.pk}-{kind}.wav", File(source), save=False)
    mailbox.save(update_fields=[GREETING_FIELDS[kind]])
    if old and old != field.name:
        transaction.on_commit(lambda: default_storage.delete(old))
