"""Conference rooms as things an organisation keeps: renaming and deleting them.

Creating a room and setting its PIN live with the conferences (`conferences.create_room`,
`conferences.set_room_pin`). The admin services at the end (`create_conference_room`, ...)
check who may and write the audit log, with the policy of `toc.accounts.administration`; the
plain functions only keep the room consistent. A room with a conference going on is not
deleted: the people in it would lose the room they dialled.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from toc.accounts import audit
from toc.accounts.administration import NotFoundError, lock_organisation, organisation_id_of_admin
from toc.accounts.models import User
from toc.calls.models import Conference, ConferenceRoom
from toc.calls.services import conferences
from toc.calls.services.base import CallError

MAX_NAME_LENGTH = 100


def clean_room_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise CallError("invalid", "A conference room needs a name.")
    if len(clean) > MAX_NAME_LENGTH:
        raise CallError("invalid", f"A room name is at most {MAX_NAME_LENGTH} characters.")
    return clean


def has_live_conference(*, room: ConferenceRoom) -> bool:
    return Conference.objects.filter(room=room, ended_at__isnull=True).exists()


def live_room_ids(*, organisation_id: int) -> set[int]:
    """The organisation's rooms with a conference going on (for the admin's list)."""
    live = Conference.objects.filter(organisation_id=organisation_id, room__isnull=False, ended_at__isnull=True)
    return {room_id for room_id in live.values_list("room_id", flat=True) if room_id is not None}


def rename_room(*, organisation_id: int, room_id: int, name: str) -> ConferenceRoom:
    clean = clean_room_name(name)
    with transaction.atomic():
        room = ConferenceRoom.objects.select_for_update().filter(pk=room_id, organisation_id=organisation_id).first()
        if room is None:
            raise CallError("not_found", "That conference room does not exist.")
        room.name = clean
        room.save(update_fields=["name"])
    return room


def delete_room(*, organisation_id: int, room_id: int) -> ConferenceRoom:
    """Delete a room that nobody is in; the returned (unsaved) room says what was deleted."""
    with transaction.atomic():
        room = ConferenceRoom.objects.select_for_update().filter(pk=room_id, organisation_id=organisation_id).first()
        if room is None:
            raise CallError("not_found", "That conference room does not exist.")
        if has_live_conference(room=room):
            raise CallError(
                "conflict",
                f"A conference is going on in {room.name} ({room.extension}). Delete the room when it is over.",
            )
        room.delete()
    return room


# --- what admins do in Self Care (audited) ---------------------------------------------------------------------------


def _pin_marker(room: ConferenceRoom) -> str:
    return "a PIN" if room.pin_hash else "no PIN"


def _room_error(error: CallError, field: str) -> Exception:
    if error.code == "not_found":
        return NotFoundError(error.message)
    if error.code == "forbidden":
        return PermissionDenied(error.message)
    return ValidationError({field: [error.message]})


def create_conference_room(*, admin: User, name: str, extension: str, pin: str = "") -> ConferenceRoom:
    """A room dialled at 700-799, with an optional PIN of 4 to 8 digits."""
    organisation_id = organisation_id_of_admin(admin)
    errors: dict[str, list[str]] = {}
    clean_name = ""
    try:
        clean_name = clean_room_name(name)
    except CallError as error:
        errors["name"] = [error.message]
    if pin and not conferences.PIN_PATTERN.match(pin):
        errors["pin"] = ["A PIN is 4 to 8 digits (or empty for no PIN)."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        lock_organisation(admin)
        try:
            room = conferences.create_room(
                organisation_id=organisation_id, name=clean_name, extension=extension.strip(), pin=pin
            )
        except CallError as error:
            raise _room_error(error, "extension") from error
        audit.record(
            actor=admin,
            action="room.created",
            target_type="conference_room",
            target_id=room.pk,
            target_label=str(room),
            before=None,
            after={"name": room.name, "extension": room.extension, "pin": _pin_marker(room)},
        )
    return room


def rename_conference_room(*, admin: User, room_id: int, name: str) -> ConferenceRoom:
    organisation_id = organisation_id_of_admin(admin)
    with transaction.atomic():
        room = _room_of(organisation_id, room_id)
        try:
            clean_name = clean_room_name(name)
        except CallError as error:
            raise _room_error(error, "name") from error
        if clean_name == room.name:
            return room
        before = room.name
        room = rename_room(organisation_id=organisation_id, room_id=room_id, name=clean_name)
        audit.record(
            actor=admin,
            action="room.renamed",
            target_type="conference_room",
            target_id=room.pk,
            target_label=str(room),
            before={"name": before},
            after={"name": room.name},
        )
    return room


def _room_of(organisation_id: int, room_id: int) -> ConferenceRoom:
    room = ConferenceRoom.objects.select_for_update().filter(pk=room_id, organisation_id=organisation_id).first()
    if room is None:
        raise NotFoundError("That conference room does not exist.")
    return room


def set_conference_room_pin(*, admin: User, room_id: int, pin: str) -> ConferenceRoom:
    """Set (4 to 8 digits) or clear (empty) a room's PIN; the log says only that it changed."""
    organisation_id = organisation_id_of_admin(admin)
    with transaction.atomic():
        before = _pin_marker(_room_of(organisation_id, room_id))
        if not pin and before == "no PIN":
            return _room_of(organisation_id, room_id)
        try:
            room = conferences.set_room_pin(user=admin, room_id=room_id, pin=pin)
        except CallError as error:
            raise _room_error(error, "pin") from error
        after = "no PIN" if not pin else ("a new PIN" if before == "a PIN" else "a PIN")
        audit.record(
            actor=admin,
            action="room.pin_changed",
            target_type="conference_room",
            target_id=room.pk,
            target_label=str(room),
            before={"pin": before},
            after={"pin": after},
        )
    return room


def delete_conference_room(*, admin: User, room_id: int) -> None:
    """Refused while a conference is going on in the room."""
    organisation_id = organisation_id_of_admin(admin)
    with transaction.atomic():
        _room_of(organisation_id, room_id)
        try:
            room = delete_room(organisation_id=organisation_id, room_id=room_id)
        except CallError as error:
            raise _room_error(error, "room") from error
        audit.record(
            actor=admin,
            action="room.deleted",
            target_type="conference_room",
            target_id=room_id,
            target_label=str(room),
            before={"name": room.name, "extension": room.extension, "pin": _pin_marker(room)},
            after=None,
        )
