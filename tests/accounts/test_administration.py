"""Company administration services: only admins (greetings managers for the greeting), only
within their organisation, clear field errors that change nothing, one audit entry per change
with the changed fields before and after, and none when nothing changed."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.audio import write_wav
from tests.factories import PASSWORD, make_user
from toc.accounts import administration
from toc.accounts.administration import CallSettings, NotFoundError, UserFields
from toc.accounts.models import AuditEntry, Organisation, User
from toc.calls.models import Conference, ConferenceRoom
from toc.calls.services import create_room, forwarding, rooms
from toc.voicemail import company
from toc.voicemail.services import get_mailbox

pytestmark = pytest.mark.django_db

DANA = UserFields(email="dana@acme.example", first_name="Dana", last_name="Scully", extension="103")


def entries() -> list[tuple[str, str, Any, Any]]:
    return [
        (entry.action, entry.target_label, entry.before, entry.after) for entry in AuditEntry.objects.order_by("pk")
    ]


def user_state(user: User) -> dict[str, object]:
    user.refresh_from_db()
    return {**administration.snapshot_of_user(user), "active": user.is_active, "password": user.password}


def with_fields(user: User, **changes: object) -> UserFields:
    values: dict[str, Any] = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "extension": user.extension,
        "direct_number": user.direct_number,
        "licence_tier": user.licence_tier,
        "is_org_admin": user.is_org_admin,
        "is_greetings_manager": user.is_greetings_manager,
        **changes,
    }
    return UserFields(**values)


def field_errors(call: Callable[[], object]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


# --- users ----------------------------------------------------------------------------------------


def test_an_admin_creates_a_user_and_the_log_says_so(alice: User, acme: Organisation) -> None:
    # when
    fields = UserFields(
        email=" Dana@Acme.example ",
        first_name="Dana",
        last_name="Scully",
        extension="103",
        is_greetings_manager=True,
        licence_tier="platinum",
        direct_number="416 555 0103",
        password="a-long-enough-passphrase-7",
    )
    dana = administration.create_user(admin=alice, fields=fields)

    # then
    dana.refresh_from_db()
    assert (dana.organisation_id, dana.email, dana.extension, dana.direct_number, dana.licence_tier) == (
        acme.pk,
        "dana@acme.example",
        "103",
        "+14165550103",
        "platinum",
    )
    assert (dana.is_org_admin, dana.is_greetings_manager, dana.is_active) == (False, True, True)
    assert check_password("a-long-enough-passphrase-7", dana.password)
    assert entries() == [
        (
            "user.created",
            "Dana Scully",
            None,
            {
                "email": "dana@acme.example",
                "first_name": "Dana",
                "last_name": "Scully",
                "extension": "103",
                "direct_number": "+14165550103",
                "licence_tier": "platinum",
                "admin": False,
                "greetings_manager": True,
                "sign_in": "password",
            },
        )
    ]


def test_a_user_created_without_a_password_signs_in_with_sso_only(alice: User) -> None:
    dana = administration.create_user(admin=alice, fields=DANA)

    assert (dana.has_usable_password(), dana.licence_tier) == (False, "starter")
    assert AuditEntry.objects.get().after["sign_in"] == "single sign-on only"  # type: ignore[index]


def test_a_plain_user_cannot_create_users(bob: User) -> None:
    # when
    with pytest.raises(PermissionDenied):
        administration.create_user(admin=bob, fields=DANA)

    # then
    assert not User.objects.filter(email="dana@acme.example").exists()
    assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"extension": "102"}, {"extension": ["Extension 102 is already Bob Tester's."]}),
        (
            {"extension": "601"},
            {"extension": ["3-digit numbers starting with 6 (park) or 7 (conference rooms) are reserved."]},
        ),
        (
            {"extension": "701"},
            {"extension": ["3-digit numbers starting with 6 (park) or 7 (conference rooms) are reserved."]},
        ),
        ({"extension": "999"}, {"extension": ["999 is reserved by the dial plan."]}),
        ({"extension": "12"}, {"extension": ["An extension is 3 or 4 digits and does not start with 0."]}),
        ({"extension": ""}, {"extension": ["Enter an extension: 3 or 4 digits."]}),
        ({"email": "bob@acme.example"}, {"email": ["A user with the e-mail address bob@acme.example exists."]}),
        ({"email": "not-an-address"}, {"email": ["“not-an-address” is not an e-mail address."]}),
        ({"first_name": "  "}, {"first_name": ["Enter a first name."]}),
        ({"licence_tier": "gold"}, {"licence_tier": ["Unknown licence tier “gold”."]}),
        (
            {"direct_number": "12"},
            {"direct_number": ["“12” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."]},
        ),
        (
            {"direct_number": "+14165550102"},
            {"direct_number": ["(416) 555-0102 is already the direct number of Bob Tester."]},
        ),
        ({"direct_number": "+16135550101"}, {"direct_number": ["(613) 555-0101 belongs to another organisation."]}),
        (
            {"password": "123"},
            {
                "password": [
                    "This password is too short. It must contain at least 8 characters.",
                    "This password is too common.",
                    "This password is entirely numeric.",
                ]
            },
        ),
    ],
)
def test_creating_a_user_is_refused_with_a_field_error_and_nothing_changes(
    alice: User, bob: User, carol: User, changes: dict[str, str], errors: dict[str, list[str]]
) -> None:
    # given
    fields = UserFields(**{**DANA.__dict__, **changes})
    count = User.objects.count()

    # when
    problems = field_errors(lambda: administration.create_user(admin=alice, fields=fields))

    # then
    assert problems == errors
    assert (User.objects.count(), AuditEntry.objects.count()) == (count, 0)


def test_every_wrong_field_is_named_at_once(alice: User, bob: User) -> None:
    fields = UserFields(email="x", first_name="", last_name="", extension="102", direct_number="nope")

    problems = field_errors(lambda: administration.create_user(admin=alice, fields=fields))

    assert sorted(problems) == ["direct_number", "email", "extension", "first_name"]


def test_a_number_that_is_another_organisations_main_number_is_refused(
    alice: User, carol: User, globex: Organisation
) -> None:
    # given
    administration.set_main_number(
        admin=make_user(globex, "gus", extension="150", is_org_admin=True), main_number="+16135550199"
    )
    AuditEntry.objects.all().delete()

    # when
    fields = UserFields(**{**DANA.__dict__, "direct_number": "+1 613 555 0199"})
    problems = field_errors(lambda: administration.create_user(admin=alice, fields=fields))

    # then
    assert problems == {"direct_number": ["(613) 555-0199 belongs to another organisation."]}
    assert AuditEntry.objects.count() == 0


def test_an_edit_logs_only_the_changed_fields(alice: User, bob: User) -> None:
    # when
    administration.update_user(
        admin=alice,
        user_id=bob.pk,
        fields=with_fields(bob, extension="105", direct_number="", is_greetings_manager=True),
    )

    # then
    bob.refresh_from_db()
    assert (bob.extension, bob.direct_number, bob.is_greetings_manager) == ("105", "", True)
    assert entries() == [
        (
            "user.updated",
            "Bob Tester",
            {"direct_number": "+14165550102", "extension": "102", "greetings_manager": False},
            {"direct_number": "", "extension": "105", "greetings_manager": True},
        )
    ]


def test_saving_a_user_unchanged_writes_no_entry(alice: User, bob: User) -> None:
    before = user_state(bob)

    administration.update_user(admin=alice, user_id=bob.pk, fields=with_fields(bob))

    assert (user_state(bob), AuditEntry.objects.count()) == (before, 0)


def test_a_new_password_is_logged_as_changed_never_stored(alice: User, bob: User) -> None:
    # when
    administration.update_user(
        admin=alice, user_id=bob.pk, fields=with_fields(bob, password="another-long-passphrase-8")
    )

    # then
    bob.refresh_from_db()
    assert check_password("another-long-passphrase-8", bob.password)
    assert entries() == [("user.updated", "Bob Tester", {"password": ""}, {"password": "changed"})]


def test_keeping_own_extension_and_number_is_not_a_clash(alice: User, bob: User) -> None:
    administration.update_user(admin=alice, user_id=bob.pk, fields=with_fields(bob, first_name="Robert"))

    assert entries() == [("user.updated", "Robert Tester", {"first_name": "Bob"}, {"first_name": "Robert"})]


def test_an_admin_cannot_reach_another_organisations_user(alice: User, carol: User) -> None:
    # given
    before = user_state(carol)

    # when
    with pytest.raises(NotFoundError):
        administration.update_user(admin=alice, user_id=carol.pk, fields=with_fields(carol, first_name="Mallory"))
    with pytest.raises(NotFoundError):
        administration.disable_user(admin=alice, user_id=carol.pk)

    # then
    assert (user_state(carol), AuditEntry.objects.count()) == (before, 0)


def test_a_plain_user_cannot_edit_anyone(alice: User, bob: User) -> None:
    before = user_state(alice)

    with pytest.raises(PermissionDenied):
        administration.update_user(admin=bob, user_id=alice.pk, fields=with_fields(alice, is_org_admin=False))
    with pytest.raises(PermissionDenied):
        administration.disable_user(admin=bob, user_id=alice.pk)

    assert (user_state(alice), AuditEntry.objects.count()) == (before, 0)


def test_the_last_admin_keeps_the_role(alice: User, bob: User) -> None:
    # when
    problems = field_errors(
        lambda: administration.update_user(admin=alice, user_id=alice.pk, fields=with_fields(alice, is_org_admin=False))
    )

    # then
    assert problems == {"is_org_admin": ["Alice Tester is the last administrator: make someone else one first."]}
    alice.refresh_from_db()
    assert (alice.is_org_admin, AuditEntry.objects.count()) == (True, 0)


def test_an_admin_may_step_down_when_another_admin_remains(alice: User, bob: User) -> None:
    # given
    administration.update_user(admin=alice, user_id=bob.pk, fields=with_fields(bob, is_org_admin=True))

    # when
    administration.update_user(admin=alice, user_id=alice.pk, fields=with_fields(alice, is_org_admin=False))

    # then
    alice.refresh_from_db()
    assert alice.is_org_admin is False
    assert [(action, label) for action, label, _, _ in entries()] == [
        ("user.updated", "Bob Tester"),
        ("user.updated", "Alice Tester"),
    ]


def test_an_admin_cannot_disable_themselves(alice: User, bob: User) -> None:
    problems = field_errors(lambda: administration.disable_user(admin=alice, user_id=alice.pk))

    assert problems == {"is_active": ["You cannot disable your own account."]}
    alice.refresh_from_db()
    assert (alice.is_active, AuditEntry.objects.count()) == (True, 0)


def test_disabling_a_user_ends_their_sessions_and_tokens(
    alice: User, bob: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # given bob is signed in twice and has an API token; alice is signed in too
    bob_browser, bob_laptop, alice_browser = Client(), Client(), Client()
    for client, user in ((bob_browser, bob), (bob_laptop, bob), (alice_browser, alice)):
        client.force_login(user)
    Token.objects.create(user=bob)
    bob_keys = {bob_browser.session.session_key, bob_laptop.session.session_key}
    signed_out: list[tuple[int, str]] = []
    monkeypatch.setattr(
        administration, "end_session", lambda *, user, session_key: signed_out.append((user.pk, session_key))
    )
    everywhere: list[int] = []
    monkeypatch.setattr(administration, "end_all_connections", lambda *, user: everywhere.append(user.pk))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        administration.disable_user(admin=alice, user_id=bob.pk)

    # then
    bob.refresh_from_db()
    assert bob.is_active is False
    assert set(Session.objects.values_list("session_key", flat=True)) == {alice_browser.session.session_key}
    assert Token.objects.filter(user=bob).count() == 0
    assert sorted(signed_out) == sorted((bob.pk, key) for key in bob_keys)
    assert everywhere == [bob.pk]  # his token-signed desktop app's sockets close too
    assert bob_browser.get("/selfcare/").status_code == 302
    assert Client().login(email=bob.email, password=PASSWORD) is False
    assert entries() == [("user.disabled", "Bob Tester", {"active": True}, {"active": False})]


def test_disabling_twice_and_enabling_log_each_change_once(alice: User, bob: User) -> None:
    # when
    administration.disable_user(admin=alice, user_id=bob.pk)
    administration.disable_user(admin=alice, user_id=bob.pk)
    administration.enable_user(admin=alice, user_id=bob.pk)
    administration.enable_user(admin=alice, user_id=bob.pk)

    # then
    bob.refresh_from_db()
    assert bob.is_active is True
    assert [action for action, _, _, _ in entries()] == ["user.disabled", "user.enabled"]
    assert Client().login(email=bob.email, password=PASSWORD) is True


def test_an_admin_resets_a_voicemail_pin_and_the_log_keeps_no_pin(alice: User, bob: User) -> None:
    # when
    administration.reset_voicemail_pin(admin=alice, user_id=bob.pk, pin="4826")

    # then
    assert check_password("4826", get_mailbox(user=bob).pin_hash)
    assert entries() == [("user.voicemail_pin_reset", "Bob Tester", None, {"voicemail_pin": "reset"})]


def test_a_weak_voicemail_pin_is_refused(alice: User, bob: User) -> None:
    problems = field_errors(lambda: administration.reset_voicemail_pin(admin=alice, user_id=bob.pk, pin="1234"))

    assert problems == {"voicemail_pin": ["A PIN cannot be a run of digits such as 1234."]}
    assert (get_mailbox(user=bob).pin_hash, AuditEntry.objects.count()) == ("", 0)


def test_another_organisations_voicemail_pin_is_out_of_reach(alice: User, bob: User, carol: User) -> None:
    with pytest.raises(NotFoundError):
        administration.reset_voicemail_pin(admin=alice, user_id=carol.pk, pin="4826")
    with pytest.raises(PermissionDenied):
        administration.reset_voicemail_pin(admin=bob, user_id=alice.pk, pin="4826")

    assert (get_mailbox(user=carol).pin_hash, get_mailbox(user=alice).pin_hash, AuditEntry.objects.count()) == (
        "",
        "",
        0,
    )


# --- numbers and call settings --------------------------------------------------------------------


def test_an_admin_sets_the_main_number(alice: User, acme: Organisation) -> None:
    # when
    administration.set_main_number(admin=alice, main_number="(416) 555-0100")
    administration.set_main_number(admin=alice, main_number="+14165550100")

    # then
    acme.refresh_from_db()
    assert acme.main_number == "+14165550100"
    assert entries() == [
        ("organisation.main_number_changed", "Acme", {"main_number": ""}, {"main_number": "+14165550100"})
    ]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("+14165550102", "(416) 555-0102 is already the direct number of Bob Tester."),
        ("+16135550101", "(613) 555-0101 belongs to another organisation."),
        ("hello", "“hello” is not a phone number."),
    ],
)
def test_a_main_number_in_use_or_wrong_is_refused(
    alice: User, bob: User, carol: User, acme: Organisation, number: str, message: str
) -> None:
    problems = field_errors(lambda: administration.set_main_number(admin=alice, main_number=number))

    assert problems == {"main_number": [message]}
    acme.refresh_from_db()
    assert (acme.main_number, AuditEntry.objects.count()) == ("", 0)


def test_a_plain_user_cannot_change_the_main_number(bob: User, acme: Organisation) -> None:
    with pytest.raises(PermissionDenied):
        administration.set_main_number(admin=bob, main_number="+14165550100")

    acme.refresh_from_db()
    assert (acme.main_number, AuditEntry.objects.count()) == ("", 0)


def test_an_admin_changes_call_settings_and_only_changes_are_logged(alice: User, acme: Organisation) -> None:
    # when
    administration.update_call_settings(
        admin=alice,
        settings=CallSettings(
            ring_timeout_seconds=30, park_first_slot=601, park_slot_count=10, park_timeout_seconds=60
        ),
    )

    # then
    acme.refresh_from_db()
    assert (acme.ring_timeout_seconds, acme.park_first_slot, acme.park_slot_count, acme.park_timeout_seconds) == (
        30,
        601,
        10,
        60,
    )
    assert entries() == [
        (
            "organisation.call_settings_changed",
            "Acme",
            {"park_slot_count": 20, "ring_timeout_seconds": 20},
            {"park_slot_count": 10, "ring_timeout_seconds": 30},
        )
    ]


def test_call_settings_unchanged_write_no_entry(alice: User) -> None:
    settings = CallSettings(ring_timeout_seconds=20, park_first_slot=601, park_slot_count=20, park_timeout_seconds=60)

    administration.update_call_settings(admin=alice, settings=settings)

    assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"ring_timeout_seconds": 4}, {"ring_timeout_seconds": ["Ring for 5 to 120 seconds."]}),
        ({"ring_timeout_seconds": 121}, {"ring_timeout_seconds": ["Ring for 5 to 120 seconds."]}),
        (
            {"park_timeout_seconds": 5},
            {"park_timeout_seconds": ["A parked call waits 15 to 600 seconds before it rings back."]},
        ),
        ({"park_first_slot": 701}, {"park_first_slot": ["Park slots are dialled as 600 to 699."]}),
        ({"park_slot_count": 0}, {"park_slot_count": ["Keep at least one park slot."]}),
        (
            {"park_first_slot": 690, "park_slot_count": 20},
            {"park_slot_count": ["From 690 there is room for 10 slot(s) up to 699."]},
        ),
    ],
)
def test_call_settings_out_of_range_are_refused(
    alice: User, acme: Organisation, changes: dict[str, int], errors: dict[str, list[str]]
) -> None:
    values = {"ring_timeout_seconds": 20, "park_first_slot": 601, "park_slot_count": 20, "park_timeout_seconds": 60}

    problems = field_errors(
        lambda: administration.update_call_settings(admin=alice, settings=CallSettings(**{**values, **changes}))
    )

    assert problems == errors
    acme.refresh_from_db()
    assert (acme.ring_timeout_seconds, acme.park_first_slot, acme.park_slot_count, AuditEntry.objects.count()) == (
        20,
        601,
        20,
        0,
    )


def test_a_plain_user_cannot_change_call_settings(bob: User, acme: Organisation) -> None:
    with pytest.raises(PermissionDenied):
        administration.update_call_settings(
            admin=bob,
            settings=CallSettings(
                ring_timeout_seconds=4, park_first_slot=601, park_slot_count=20, park_timeout_seconds=60
            ),
        )

    acme.refresh_from_db()
    assert (acme.ring_timeout_seconds, AuditEntry.objects.count()) == (20, 0)


# --- conference rooms -----------------------------------------------------------------------------


def test_an_admin_creates_a_room_and_its_pin_is_never_logged(alice: User, acme: Organisation) -> None:
    # when
    room = rooms.create_conference_room(admin=alice, name="  Board   room ", extension="701", pin="2468")

    # then
    room.refresh_from_db()
    assert (room.organisation_id, room.name, room.extension) == (acme.pk, "Board room", "701")
    assert check_password("2468", room.pin_hash)
    assert entries() == [
        ("room.created", "Board room (701)", None, {"name": "Board room", "extension": "701", "pin": "a PIN"})
    ]
    assert "2468" not in str(entries()) and room.pin_hash not in str(entries())


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"extension": "650"}, {"extension": ["A conference room's extension is 700 to 799."]}),
        ({"extension": "701"}, {"extension": ["There is a conference room at 701 already."]}),
        ({"name": " "}, {"name": ["A conference room needs a name."]}),
        ({"pin": "12"}, {"pin": ["A PIN is 4 to 8 digits (or empty for no PIN)."]}),
    ],
)
def test_a_wrong_room_is_refused(
    alice: User, acme: Organisation, values: dict[str, str], errors: dict[str, list[str]]
) -> None:
    # given
    create_room(organisation_id=acme.pk, name="Board", extension="701")

    # when
    problems = field_errors(
        lambda: rooms.create_conference_room(admin=alice, **{"name": "Sales", "extension": "702", **values})
    )

    # then
    assert problems == errors
    assert (ConferenceRoom.objects.count(), AuditEntry.objects.count()) == (1, 0)


def test_renaming_a_room_logs_the_names_and_the_same_name_logs_nothing(alice: User, acme: Organisation) -> None:
    # given
    room = create_room(organisation_id=acme.pk, name="Board", extension="701")

    # when
    rooms.rename_conference_room(admin=alice, room_id=room.pk, name="Boardroom")
    rooms.rename_conference_room(admin=alice, room_id=room.pk, name=" Boardroom ")

    # then
    room.refresh_from_db()
    assert room.name == "Boardroom"
    assert entries() == [("room.renamed", "Boardroom (701)", {"name": "Board"}, {"name": "Boardroom"})]


def test_setting_and_clearing_a_room_pin_logs_markers(alice: User, acme: Organisation) -> None:
    # given
    room = create_room(organisation_id=acme.pk, name="Board", extension="701")

    # when
    rooms.set_conference_room_pin(admin=alice, room_id=room.pk, pin="1357")
    rooms.set_conference_room_pin(admin=alice, room_id=room.pk, pin="97531")
    rooms.set_conference_room_pin(admin=alice, room_id=room.pk, pin="")
    rooms.set_conference_room_pin(admin=alice, room_id=room.pk, pin="")

    # then
    room.refresh_from_db()
    assert room.pin_hash == ""
    assert entries() == [
        ("room.pin_changed", "Board (701)", {"pin": "no PIN"}, {"pin": "a PIN"}),
        ("room.pin_changed", "Board (701)", {"pin": "a PIN"}, {"pin": "a new PIN"}),
        ("room.pin_changed", "Board (701)", {"pin": "a PIN"}, {"pin": "no PIN"}),
    ]


def test_a_wrong_room_pin_is_refused_and_the_old_one_kept(alice: User, acme: Organisation) -> None:
    room = create_room(organisation_id=acme.pk, name="Board", extension="701", pin="1357")

    problems = field_errors(lambda: rooms.set_conference_room_pin(admin=alice, room_id=room.pk, pin="12a4"))

    assert problems == {"pin": ["A PIN is 4 to 8 digits (or empty for no PIN)."]}
    room.refresh_from_db()
    assert (check_password("1357", room.pin_hash), AuditEntry.objects.count()) == (True, 0)


def test_a_room_with_a_conference_going_on_is_not_deleted(alice: User, acme: Organisation) -> None:
    # given
    room = create_room(organisation_id=acme.pk, name="Board", extension="701")
    Conference.objects.create(organisation=acme, room=room)

    # when
    problems = field_errors(lambda: rooms.delete_conference_room(admin=alice, room_id=room.pk))

    # then
    assert problems == {"room": ["A conference is going on in Board (701). Delete the room when it is over."]}
    assert (ConferenceRoom.objects.filter(pk=room.pk).exists(), AuditEntry.objects.count()) == (True, 0)


def test_an_empty_room_is_deleted_and_logged(alice: User, acme: Organisation) -> None:
    room = create_room(organisation_id=acme.pk, name="Board", extension="701", pin="1357")

    rooms.delete_conference_room(admin=alice, room_id=room.pk)

    assert ConferenceRoom.objects.count() == 0
    assert entries() == [("room.deleted", "Board (701)", {"name": "Board", "extension": "701", "pin": "a PIN"}, None)]


def test_another_organisations_room_is_not_found_and_unchanged(alice: User, globex: Organisation) -> None:
    # given
    room = create_room(organisation_id=globex.pk, name="Globex HQ", extension="701", pin="1357")

    # when
    for change in (
        lambda: rooms.rename_conference_room(admin=alice, room_id=room.pk, name="Mine"),
        lambda: rooms.set_conference_room_pin(admin=alice, room_id=room.pk, pin=""),
        lambda: rooms.delete_conference_room(admin=alice, room_id=room.pk),
    ):
        with pytest.raises(NotFoundError):
            change()

    # then
    room.refresh_from_db()
    assert (room.name, check_password("1357", room.pin_hash), AuditEntry.objects.count()) == ("Globex HQ", True, 0)


def test_a_plain_user_cannot_manage_rooms(bob: User, acme: Organisation) -> None:
    room = create_room(organisation_id=acme.pk, name="Board", extension="701")

    for change in (
        lambda: rooms.create_conference_room(admin=bob, name="Sales", extension="702"),
        lambda: rooms.rename_conference_room(admin=bob, room_id=room.pk, name="Mine"),
        lambda: rooms.set_conference_room_pin(admin=bob, room_id=room.pk, pin="1234"),
        lambda: rooms.delete_conference_room(admin=bob, room_id=room.pk),
    ):
        with pytest.raises(PermissionDenied):
            change()

    room.refresh_from_db()
    assert (ConferenceRoom.objects.count(), room.name, room.pin_hash, AuditEntry.objects.count()) == (1, "Board", "", 0)


# --- the company greeting -------------------------------------------------------------------------


@pytest.fixture
def manager(acme: Organisation, alice: User, bob: User) -> User:
    return make_user(acme, "gwen", extension="110", is_greetings_manager=True)


def test_a_manager_changes_the_choices_and_the_log_shows_them(manager: User, acme: Organisation) -> None:
    # when
    company.set_greeting_choices(user=manager, options={"1": "101", "0": "102"})
    company.set_greeting_choices(user=manager, options={"0": "102", "1": "101"})

    # then
    assert company.greeting_of(acme.pk).options == {"0": "102", "1": "101"}
    assert entries() == [
        ("greeting.choices_changed", "Company greeting", {"choices": "none"}, {"choices": "0 → 102, 1 → 101"})
    ]


def test_an_admin_who_is_not_a_greetings_manager_is_refused(alice: User, acme: Organisation) -> None:
    with pytest.raises(PermissionDenied):
        company.set_greeting_choices(user=alice, options={"1": "101"})
    with pytest.raises(PermissionDenied):
        company.remove_greeting(user=alice)

    assert (company.greeting_of(acme.pk).options, AuditEntry.objects.count()) == ({}, 0)


def test_a_wrong_choice_is_refused(manager: User, acme: Organisation) -> None:
    problems = field_errors(lambda: company.set_greeting_choices(user=manager, options={"1": "199"}))

    assert problems == {"options": ["Key 1: there is no extension “199” here."]}
    assert (company.greeting_of(acme.pk).options, AuditEntry.objects.count()) == ({}, 0)


def test_uploading_and_removing_the_greeting_are_logged(manager: User, acme: Organisation, tmp_path: Path) -> None:
    # given
    upload = SimpleUploadedFile("welcome.wav", write_wav(tmp_path / "w.wav", hz=600, seconds=2).read_bytes())

    # when
    company.upload_greeting(user=manager, upload=upload)
    company.remove_greeting(user=manager)
    company.remove_greeting(user=manager)

    # then
    assert company.greeting_of(acme.pk).audio.name in ("", None)
    assert entries() == [
        (
            "greeting.uploaded",
            "Company greeting",
            {"greeting": "the default greeting"},
            {"greeting": "uploaded welcome.wav"},
        ),
        (
            "greeting.removed",
            "Company greeting",
            {"greeting": "a recorded greeting"},
            {"greeting": "the default greeting"},
        ),
    ]


def test_a_file_that_is_not_audio_is_refused(manager: User, acme: Organisation) -> None:
    upload = SimpleUploadedFile("notes.txt", b"not audio at all")

    problems = field_errors(lambda: company.upload_greeting(user=manager, upload=upload))

    assert problems == {"file": ["That file is not audio that can be played."]}
    assert (bool(company.greeting_of(acme.pk).audio), AuditEntry.objects.count()) == (False, 0)


def test_an_extension_someone_forwards_to_is_not_moved(alice: User, bob: User) -> None:
    # given alice forwards busy calls to bob's 102, and the company greeting's 2 rings 102
    forwarding.save_forwarding(user=alice, always="", busy="102", no_answer="", no_answer_seconds=20, unreachable="")
    User.objects.filter(pk=alice.pk).update(is_greetings_manager=True)
    alice.refresh_from_db()
    company.set_options(user=alice, options={"2": "102"})

    # when an admin moves bob to 150
    errors = field_errors(
        lambda: administration.update_user(admin=alice, user_id=bob.pk, fields=with_fields(bob, extension="150"))
    )

    # then it is refused, naming where 102 is used, and nothing changed
    assert errors == {
        "extension": [
            "Extension 102 is still used in the call forwarding of Alice Tester and the company greeting's "
            "choices: change that first."
        ]
    }
    assert User.objects.get(pk=bob.pk).extension == "102"
    assert entries() == []


def test_two_organisations_never_share_a_main_number(alice: User, carol: User) -> None:
    # given globex's main number
    User.objects.filter(pk=carol.pk).update(is_org_admin=True)
    carol.refresh_from_db()
    administration.set_main_number(admin=carol, main_number="+16135550100")

    # when acme's admin claims it
    errors = field_errors(lambda: administration.set_main_number(admin=alice, main_number="613 555 0100"))

    # then
    assert list(errors) == ["main_number"]
    assert Organisation.objects.filter(main_number="+16135550100").count() == 1
