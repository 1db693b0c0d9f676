"""The company greeting: what callers of the organisation's main number hear, and the digit
choices it offers (1 -> extension 101, 0 -> the operator...).

Only greetings managers change it (upload a file, record it by phone from their mailbox's
options with 9, change the choices); anyone else is refused and nothing changes. Every change
is logged with who made it.
"""

import logging
import re
from datetime import datetime
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from toc.accounts import audit
from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.voicemail.models import CompanyGreeting
from toc.voicemail.services import VoicemailError, audio_from_upload, pending_name, wav_file

logger = logging.getLogger(__name__)

_DIGIT = re.compile(r"^[0-9]\Z")


def greeting_of(organisation_id: int) -> CompanyGreeting:
    greeting, _ = CompanyGreeting.objects.get_or_create(organisation_id=organisation_id)
    return greeting


def _check_manager(user: User) -> int:
    organisation_id = organisation_id_of(user)
    if organisation_id is None or not user.is_greetings_manager:
        raise VoicemailError("forbidden", "Only greetings managers can change the company greeting.")
    return organisation_id


def _locked(organisation_id: int) -> CompanyGreeting:
    return CompanyGreeting.objects.select_for_update().get(pk=greeting_of(organisation_id).pk)


def set_options(*, user: User, options: object, now: datetime | None = None) -> CompanyGreeting:
    """The digit choices: each digit 0-9 to an extension of a user of the organisation."""
    organisation_id = _check_manager(user)
    if not isinstance(options, dict):
        raise VoicemailError("invalid", "Choices are digits, each with the extension it connects to.")
    extensions = set(
        User.objects.filter(organisation_id=organisation_id, is_active=True)
        .exclude(extension="")
        .values_list("extension", flat=True)
    )
    for digit, extension in options.items():
        if not isinstance(digit, str) or not _DIGIT.match(digit):
            raise VoicemailError("invalid", f"“{str(digit)[:10]}” is not a key: choices are the digits 0 to 9.")
        if not isinstance(extension, str) or extension not in extensions:
            raise VoicemailError("invalid", f"Key {digit}: there is no extension “{str(extension)[:10]}” here.")
    with transaction.atomic():
        greeting = _locked(organisation_id)
        before = dict(greeting.options)
        greeting.options = dict(sorted(options.items()))
        _touch(greeting, user, now)
    logger.info("company greeting of %s: %s changed the choices %s -> %s", organisation_id, user.pk, before, options)
    return greeting


def upload_audio(*, user: User, upload: "File[bytes]", now: datetime | None = None) -> CompanyGreeting:
    organisation_id = _check_manager(user)
    samples = audio_from_upload(upload)
    with wav_file(samples) as path, transaction.atomic():
        greeting = _locked(organisation_id)
        with path.open("rb") as audio:
            _replace_audio(greeting, audio)
        _touch(greeting, user, now)
    logger.info("company greeting of %s: %s uploaded a new greeting", organisation_id, user.pk)
    return greeting


def accept_recorded(*, user: User, call_id: object, now: datetime | None = None) -> bool:
    """A greetings manager accepted the company greeting they recorded by phone in this call."""
    organisation_id = _check_manager(user)
    name = pending_name(call_id=call_id, kind="company")
    if not default_storage.exists(name):
        return False
    with transaction.atomic():
        greeting = _locked(organisation_id)
        with default_storage.open(name, "rb") as audio:
            _replace_audio(greeting, audio)
        _touch(greeting, user, now)
    default_storage.delete(name)
    logger.info("company greeting of %s: %s recorded a new greeting by phone", organisation_id, user.pk)
    return True


def delete_audio(*, user: User, now: datetime | None = None) -> CompanyGreeting:
    """Back to the default greeting (made from the choices)."""
    organisation_id = _check_manager(user)
    with transaction.atomic():
        greeting = _locked(organisation_id)
        old = greeting.audio.name or ""
        greeting.audio = ""
        _touch(greeting, user, now)
        if old:
            transaction.on_commit(lambda: default_storage.delete(old))
    logger.info("company greeting of %s: %s removed the recorded greeting", organisation_id, user.pk)
    return greeting


def _replace_audio(greeting: CompanyGreeting, audio: IO[bytes]) -> None:
    old = greeting.audio.name or ""
    greeting.audio.save(f"{greeting.organisation_id}/greeting.wav", File(audio), save=False)
    if old and old != greeting.audio.name:
        transaction.on_commit(lambda: default_storage.delete(old))


def _touch(greeting: CompanyGreeting, user: User, now: datetime | None) -> None:
    greeting.updated_by = user
    greeting.updated_at = now or timezone.now()
    greeting.save()


def sounds_of(greeting: CompanyGreeting) -> list[str]:
    """What a caller of the main number hears: the recorded greeting, or one made of the choices
    ("For extension 1 0 1, press 1")."""
    if greeting.audio:
        return [f"file:{greeting.audio.name}"]
    sounds = ["prompt:company-welcome"]
    for digit, extension in sorted(greeting.options.items()):
        spoken = [f"prompt:digit-{character}" for character in extension if character.isdigit()]
        sounds += ["prompt:company-for-extension", *spoken, "prompt:company-press", f"prompt:digit-{digit}"]
    return sounds


# --- the portal's changes (audited) -------------------------------------------------


def _greeting_error(error: VoicemailError, field: str) -> Exception:
    if error.code == "forbidden":
        return PermissionDenied(error.message)
    return ValidationError({field: [error.message]})


def _choices_text(options: dict[str, Any]) -> str:
    return ", ".join(f"{digit} → {extension}" for digit, extension in sorted(options.items())) or "none"


def _organisation_id_of_member(user: User) -> int:
    if user.organisation_id is None or not user.is_active:
        raise PermissionDenied("Only members of an organisation can do that.")
    return user.organisation_id


def set_greeting_choices(*, user: User, options: dict[str, str]) -> None:
    """The digit choices of the company greeting (digit -> extension)."""
    organisation_id = _organisation_id_of_member(user)
    with transaction.atomic():
        before = _choices_text(greeting_of(organisation_id).options)
        try:
            greeting = set_options(user=user, options=options)
        except VoicemailError as error:
            raise _greeting_error(error, "options") from error
        after = _choices_text(greeting.options)
        if before == after:
            return
        audit.record(
            actor=user,
            action="greeting.choices_changed",
            target_type="company_greeting",
            target_id=greeting.pk,
            target_label="Company greeting",
            before={"choices": before},
            after={"choices": after},
        )


def upload_greeting(*, user: User, upload: "File[bytes]") -> None:
    organisation_id = _organisation_id_of_member(user)
    with transaction.atomic():
        had_audio = bool(greeting_of(organisation_id).audio)
        try:
            greeting = upload_audio(user=user, upload=upload)
        except VoicemailError as error:
            raise _greeting_error(error, "file") from error
        audit.record(
            actor=user,
            action="greeting.uploaded",
            target_type="company_greeting",
            target_id=greeting.pk,
            target_label="Company greeting",
            before={"greeting": "a recorded greeting" if had_audio else "the default greeting"},
            after={"greeting": f"uploaded {str(getattr(upload, 'name', '') or 'a file')[:100]}"},
        )


def remove_greeting(*, user: User) -> None:
    """Back to the default greeting made from the choices (nothing happens without a recording)."""
    organisation_id = _organisation_id_of_member(user)
    with transaction.atomic():
        if not greeting_of(organisation_id).audio:
            if not user.is_greetings_manager:
                raise PermissionDenied("Only greetings managers can change the company greeting.")
            return
        try:
            greeting = delete_audio(user=user)
        except VoicemailError as error:
            raise _greeting_error(error, "file") from error
        audit.record(
            actor=user,
            action="greeting.removed",
            target_type="company_greeting",
            target_id=greeting.pk,
            target_label="Company greeting",
            before={"greeting": "a recorded greeting"},
            after={"greeting": "the default greeting"},
        )
