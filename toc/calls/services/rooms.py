"""Conference rooms as things an organisation keeps: renaming and deleting them.

Creating a room and setting its PIN live with the conferences (`conferences.create_room`,
`conferences.set_room_pin`). Who may is the caller's concern (the admin services in
`toc.accounts.administration` check it and write the audit log); these functions only keep the
room consistent. A room with a conference going on is not deleted: the people in it would lose
the room they dialled.
"""

from django.db import transaction

from toc.calls.models import Conference, ConferenceRoom
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
