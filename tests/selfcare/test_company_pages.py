"""Self Care > Admin pages (Users, Numbers, Call settings, Conference rooms, Company greetings,
Audit log): who may open them, plain form posts and htmx requests, errors next to fields, and
another organisation's users and rooms out of reach."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from tests.factories import make_user
from toc.accounts import administration, audit
from toc.accounts.models import AuditEntry, Organisation, User
from toc.calls.models import Conference, ConferenceRoom
from toc.calls.services import create_room, rooms
from toc.voicemail import company

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}
PAGES = [
    "/selfcare/admin/users/",
    "/selfcare/admin/users/new/",
    "/selfcare/admin/numbers/",
    "/selfcare/admin/call-settings/",
    "/selfcare/admin/rooms/",
    "/selfcare/admin/audit/",
]
NEW_USER = {
    "email": "dana@acme.example",
    "first_name": "Dana",
    "last_name": "Scully",
    "extension": "103",
    "direct_number": "",
    "licence_tier": "starter",
    "password": "",
}
SETTINGS = {
    "ring_timeout_seconds": "25",
    "park_first_slot": "601",
    "park_slot_count": "20",
    "park_timeout_seconds": "60",
}


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def organisation_state(organisation: Organisation) -> tuple[object, ...]:
    organisation.refresh_from_db()
    return (organisation.main_number, organisation.ring_timeout_seconds, organisation.park_slot_count)


@pytest.fixture
def room(acme: Organisation) -> ConferenceRoom:
    return create_room(organisation_id=acme.pk, name="Board", extension="701")


def posts(bob: User, room: ConferenceRoom) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/selfcare/admin/users/new/", NEW_USER),
        (f"/selfcare/admin/users/{bob.pk}/", {**NEW_USER, "email": bob.email, "extension": "150"}),
        (f"/selfcare/admin/users/{bob.pk}/disable/", {}),
        (f"/selfcare/admin/users/{bob.pk}/voicemail-pin/", {"pin": "4826"}),
        ("/selfcare/admin/numbers/", {"main_number": "+14165550100"}),
        ("/selfcare/admin/call-settings/", SETTINGS),
        ("/selfcare/admin/rooms/", {"name": "Sales", "extension": "702", "pin": ""}),
        (f"/selfcare/admin/rooms/{room.pk}/rename/", {"name": "Mine"}),
        (f"/selfcare/admin/rooms/{room.pk}/pin/", {"pin": "1234"}),
        (f"/selfcare/admin/rooms/{room.pk}/delete/", {}),
        ("/selfcare/admin/greetings/", {"digit-1": "101"}),
        ("/selfcare/admin/greetings/remove/", {}),
    ]


# --- who may ----------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(bob: User, room: ConferenceRoom) -> None:
    for url in [*PAGES, f"/selfcare/admin/users/{bob.pk}/", "/selfcare/admin/greetings/"]:
        response = Client().get(url)
        assert (response.status_code, response["Location"]) == (302, f"/login/?next={url.replace('/', '%2F')}")
    for url, data in posts(bob, room):
        assert Client().post(url, data).status_code == 302
    assert (User.objects.count(), ConferenceRoom.objects.count(), AuditEntry.objects.count()) == (1, 1, 0)


def test_a_plain_user_is_refused_every_page_and_change(
    alice: User, bob: User, acme: Organisation, room: ConferenceRoom
) -> None:
    # given
    client = client_of(bob)
    before = (organisation_state(acme), list(User.objects.values_list("email", "extension", "is_active")))

    # when / then
    for url in [*PAGES, f"/selfcare/admin/users/{alice.pk}/", "/selfcare/admin/greetings/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Only" in text(response)
    for url, data in posts(bob, room):
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **HTMX).status_code == 403, url
    room.refresh_from_db()
    assert (organisation_state(acme), list(User.objects.values_list("email", "extension", "is_active"))) == before
    assert (room.name, room.pin_hash, company.greeting_of(acme.pk).options, AuditEntry.objects.count()) == (
        "Board",
        "",
        {},
        0,
    )


def test_the_admin_nav_is_shown_only_to_admins_and_greetings_to_managers(
    alice: User, bob: User, acme: Organisation
) -> None:
    # given
    manager = make_user(acme, "gwen", extension="110", is_greetings_manager=True)

    # when
    as_alice = text(client_of(alice).get("/selfcare/admin/users/"))
    as_bob = text(client_of(bob).get("/selfcare/services/"))
    as_manager = text(client_of(manager).get("/selfcare/admin/greetings/"))

    # then
    assert 'aria-labelledby="nav-admin-heading"' in as_alice
    assert '<a href="/selfcare/admin/users/" aria-current="page">Users</a>' in as_alice
    assert "/selfcare/admin/" not in as_bob
    assert '<a href="/selfcare/admin/greetings/" aria-current="page">Company greetings</a>' in as_manager
    assert "/selfcare/admin/users/" not in as_manager


def test_another_organisations_user_and_room_are_not_found(alice: User, carol: User, globex: Organisation) -> None:
    # given
    theirs = create_room(organisation_id=globex.pk, name="Globex HQ", extension="701")
    client = client_of(alice)

    # when
    responses = [
        client.get(f"/selfcare/admin/users/{carol.pk}/"),
        client.post(f"/selfcare/admin/users/{carol.pk}/", {**NEW_USER, "email": carol.email}),
        client.post(f"/selfcare/admin/users/{carol.pk}/disable/"),
        client.post(f"/selfcare/admin/rooms/{theirs.pk}/rename/", {"name": "Mine"}),
        client.post(f"/selfcare/admin/rooms/{theirs.pk}/pin/", {"pin": "1234"}),
        client.post(f"/selfcare/admin/rooms/{theirs.pk}/delete/"),
    ]

    # then
    assert [response.status_code for response in responses] == [404] * 6
    carol.refresh_from_db()
    theirs.refresh_from_db()
    assert (carol.first_name, carol.is_active, theirs.name, theirs.pin_hash) == ("Carol", True, "Globex HQ", "")
    assert AuditEntry.objects.count() == 0


# --- users -------------------------------------------------------------------------------------------


def test_the_users_page_lists_the_organisation_only(alice: User, bob: User, carol: User) -> None:
    page = text(client_of(alice).get("/selfcare/admin/users/"))

    assert f'<a href="/selfcare/admin/users/{bob.pk}/">Bob Tester</a>' in page
    assert "carol@" not in page


def test_adding_a_user_by_a_plain_post_redirects_with_a_message(alice: User) -> None:
    response = client_of(alice).post(
        "/selfcare/admin/users/new/", {**NEW_USER, "is_greetings_manager": "on"}, follow=True
    )

    assert response.redirect_chain == [("/selfcare/admin/users/", 302)]
    assert "Dana Scully was added." in text(response)
    dana = User.objects.get(email="dana@acme.example")
    assert (dana.extension, dana.is_greetings_manager, dana.is_org_admin) == ("103", True, False)
    assert AuditEntry.objects.get().action == "user.created"


def test_adding_a_user_with_htmx_sends_the_browser_to_the_list(alice: User) -> None:
    response = client_of(alice).post("/selfcare/admin/users/new/", NEW_USER, **HTMX)

    assert (response.status_code, response["HX-Redirect"]) == (200, "/selfcare/admin/users/")
    assert User.objects.filter(email="dana@acme.example").exists()


def test_a_wrong_user_shows_errors_next_to_the_fields_and_keeps_the_values(alice: User, bob: User) -> None:
    # when
    response = client_of(alice).post("/selfcare/admin/users/new/", {**NEW_USER, "extension": "102"}, **HTMX)

    # then
    page = text(response)
    assert response.status_code == 422
    assert page.lstrip().startswith('<form class="card" id="user-form"')
    assert '<p class="field-error" id="extension-error">Extension 102 is already Bob Tester&#x27;s.</p>' in page
    assert 'value="dana@acme.example"' in page
    assert not User.objects.filter(email="dana@acme.example").exists()


def test_editing_a_user_with_htmx_returns_the_saved_form(alice: User, bob: User) -> None:
    # when
    data = {**NEW_USER, "email": bob.email, "first_name": "Bob", "last_name": "Tester", "extension": "105"}
    response = client_of(alice).post(f"/selfcare/admin/users/{bob.pk}/", {**data, "licence_tier": "platinum"}, **HTMX)

    # then
    assert response.status_code == 200
    assert "Saved." in text(response)
    bob.refresh_from_db()
    assert (bob.extension, bob.licence_tier, bob.direct_number) == ("105", "platinum", "")
    assert AuditEntry.objects.get().after == {"extension": "105", "licence_tier": "platinum", "direct_number": ""}


def test_an_admin_changing_their_own_password_stays_signed_in(alice: User) -> None:
    # given
    client = client_of(alice)
    data = {**NEW_USER, "email": alice.email, "first_name": "Alice", "last_name": "Tester", "extension": "101"}

    # when
    response = client.post(
        f"/selfcare/admin/users/{alice.pk}/",
        {**data, "direct_number": "+14165550101", "is_org_admin": "on", "password": "a-brand-new-passphrase-3"},
    )

    # then
    assert (response.status_code, response["Location"]) == (302, f"/selfcare/admin/users/{alice.pk}/")
    assert client.get("/selfcare/admin/users/").status_code == 200
    assert AuditEntry.objects.get().after == {"password": "changed"}


def test_disabling_and_enabling_with_htmx_swap_the_sign_in_card(alice: User, bob: User) -> None:
    client = client_of(alice)

    disabled = client.post(f"/selfcare/admin/users/{bob.pk}/disable/", **HTMX)
    bob.refresh_from_db()
    assert (disabled.status_code, bob.is_active) == (200, False)
    assert text(disabled).startswith('<section class="card" id="user-status"')
    assert "Bob Tester can no longer sign in." in text(disabled)

    enabled = client.post(f"/selfcare/admin/users/{bob.pk}/enable/")
    bob.refresh_from_db()
    assert (enabled.status_code, enabled["Location"], bob.is_active) == (302, f"/selfcare/admin/users/{bob.pk}/", True)


def test_a_voicemail_pin_is_reset_with_htmx_and_a_weak_one_refused_next_to_the_field(alice: User, bob: User) -> None:
    client = client_of(alice)

    weak = client.post(f"/selfcare/admin/users/{bob.pk}/voicemail-pin/", {"pin": "1111"}, **HTMX)
    reset = client.post(f"/selfcare/admin/users/{bob.pk}/voicemail-pin/", {"pin": "4826"}, **HTMX)

    assert weak.status_code == 422
    assert '<p class="field-error" id="voicemail_pin-error">A PIN cannot be one digit repeated.</p>' in text(weak)
    assert reset.status_code == 200
    assert "Bob Tester&#x27;s voicemail PIN was reset." in text(reset)
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["user.voicemail_pin_reset"]


def test_an_admin_disabling_themselves_is_told_why(alice: User) -> None:
    response = client_of(alice).post(f"/selfcare/admin/users/{alice.pk}/disable/", **HTMX)

    assert response.status_code == 422
    assert "You cannot disable your own account." in text(response)
    alice.refresh_from_db()
    assert (alice.is_active, AuditEntry.objects.count()) == (True, 0)


# --- numbers and call settings --------------------------------------------------------------------


def test_the_numbers_page_lists_who_has_each_number(alice: User, bob: User, carol: User, acme: Organisation) -> None:
    # given
    administration.set_main_number(admin=alice, main_number="+14165550100")

    # when
    page = text(client_of(alice).get("/selfcare/admin/numbers/"))

    # then
    assert '<td data-label="Number">+14165550100</td>' in page
    assert f'<a href="/selfcare/admin/users/{bob.pk}/">Bob Tester</a> (102)' in page
    assert "+16135550101" not in page


def test_a_main_number_of_another_organisation_is_refused_next_to_the_field(alice: User, carol: User) -> None:
    response = client_of(alice).post("/selfcare/admin/numbers/", {"main_number": "+16135550101"}, **HTMX)

    assert response.status_code == 422
    assert '<p class="field-error" id="main_number-error">(613) 555-0101 belongs to another organisation.</p>' in text(
        response
    )
    assert AuditEntry.objects.count() == 0


def test_call_settings_by_a_plain_post_redirect_with_a_message(alice: User, acme: Organisation) -> None:
    response = client_of(alice).post("/selfcare/admin/call-settings/", SETTINGS, follow=True)

    assert response.redirect_chain == [("/selfcare/admin/call-settings/", 302)]
    assert "Call settings saved." in text(response)
    assert organisation_state(acme) == ("", 25, 20)


def test_call_settings_that_are_not_numbers_are_refused_with_htmx(alice: User, acme: Organisation) -> None:
    response = client_of(alice).post(
        "/selfcare/admin/call-settings/", {**SETTINGS, "ring_timeout_seconds": "soon", "park_slot_count": "200"}, **HTMX
    )

    page = text(response)
    assert response.status_code == 422
    assert '<p class="field-error" id="ring_timeout_seconds-error">Enter a whole number.</p>' in page
    assert organisation_state(acme) == ("", 20, 20)


# --- rooms --------------------------------------------------------------------------------------------


def test_rooms_are_created_renamed_given_a_pin_and_deleted(alice: User, acme: Organisation) -> None:
    client = client_of(alice)

    created = client.post("/selfcare/admin/rooms/", {"name": "Board", "extension": "701", "pin": ""}, **HTMX)
    room = ConferenceRoom.objects.get()
    renamed = client.post(f"/selfcare/admin/rooms/{room.pk}/rename/", {"name": "Boardroom"}, **HTMX)
    pinned = client.post(f"/selfcare/admin/rooms/{room.pk}/pin/", {"pin": "2468"}, **HTMX)
    deleted = client.post(f"/selfcare/admin/rooms/{room.pk}/delete/", follow=True)

    assert [created.status_code, renamed.status_code, pinned.status_code] == [200, 200, 200]
    assert "Board (701) was created." in text(created)
    assert 'value="Boardroom"' in text(renamed)
    assert "PIN set." in text(pinned)
    assert "The room was deleted." in text(deleted)
    assert ConferenceRoom.objects.count() == 0
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "room.created",
        "room.renamed",
        "room.pin_changed",
        "room.deleted",
    ]


def test_a_room_in_use_is_not_deleted_and_the_row_says_why(
    alice: User, acme: Organisation, room: ConferenceRoom
) -> None:
    # given
    Conference.objects.create(organisation=acme, room=room)

    # when
    response = client_of(alice).post(f"/selfcare/admin/rooms/{room.pk}/delete/", **HTMX)

    # then
    assert response.status_code == 422
    assert "A conference is going on in Board (701). Delete the room when it is over." in text(response)
    assert '<span class="badge">In use</span>' in text(response)
    assert ConferenceRoom.objects.filter(pk=room.pk).exists()


def test_a_wrong_new_room_is_shown_with_its_errors_without_javascript(alice: User, room: ConferenceRoom) -> None:
    client = client_of(alice)

    taken = client.post("/selfcare/admin/rooms/", {"name": "Sales", "extension": "701", "pin": ""})
    short_pin = client.post("/selfcare/admin/rooms/", {"name": "Sales", "extension": "702", "pin": "1"})

    assert (taken.status_code, short_pin.status_code) == (422, 422)
    assert '<p class="field-error" id="extension-error">There is a conference room at 701 already.</p>' in text(taken)
    assert 'value="Sales"' in text(taken)
    assert '<p class="field-error" id="pin-error">A PIN is 4 to 8 digits (or empty for no PIN).</p>' in text(short_pin)
    assert (ConferenceRoom.objects.count(), AuditEntry.objects.count()) == (1, 0)


# --- the company greeting ---------------------------------------------------------------------------


def test_a_greetings_manager_saves_the_choices(alice: User, bob: User, acme: Organisation) -> None:
    manager = make_user(acme, "gwen", extension="110", is_greetings_manager=True)

    response = client_of(manager).post("/selfcare/admin/greetings/", {"digit-1": "101", "digit-0": "110"}, **HTMX)

    assert response.status_code == 200
    assert "The choices were saved." in text(response)
    assert company.greeting_of(acme.pk).options == {"0": "110", "1": "101"}
    assert AuditEntry.objects.get().action == "greeting.choices_changed"


def test_an_admin_who_is_not_a_greetings_manager_sees_the_greeting_read_only(alice: User, acme: Organisation) -> None:
    client = client_of(alice)

    page = text(client.get("/selfcare/admin/greetings/"))
    refused = client.post("/selfcare/admin/greetings/", {"digit-1": "101"})

    assert "Only greetings managers change the company greeting." in page
    assert "Save choices" not in page
    assert refused.status_code == 403
    assert (company.greeting_of(acme.pk).options, AuditEntry.objects.count()) == ({}, 0)


# --- the audit log -----------------------------------------------------------------------------------


def test_the_audit_log_shows_the_organisations_entries_in_its_time_zone(
    alice: User, bob: User, carol: User, acme: Organisation
) -> None:
    # given
    entry = audit.record(
        actor=alice,
        action="user.updated",
        target_type="user",
        target_id=bob.pk,
        target_label="Bob Tester",
        before={"extension": "102"},
        after={"extension": "105"},
    )
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=datetime(2026, 3, 1, 14, 30, tzinfo=UTC))
    audit.record(
        actor=carol,
        action="user.created",
        target_type="user",
        target_id=1,
        target_label="Secret Globex",
        before=None,
        after={},
    )

    # when
    page = text(client_of(alice).get("/selfcare/admin/audit/"))

    # then
    assert acme.timezone == "America/Toronto"
    assert '<time datetime="2026-03-01T09:30:00-05:00">2026-03-01 09:30</time>' in page
    assert "<li>extension: 102 → 105</li>" in page
    assert "Changed user Bob Tester" in page
    assert '<td data-label="Who">Alice Tester</td>' in page
    assert "Secret Globex" not in page


def test_the_audit_log_is_filtered_by_kind_of_change(alice: User, bob: User) -> None:
    # given
    administration.disable_user(admin=alice, user_id=bob.pk)
    rooms.create_conference_room(admin=alice, name="Board", extension="701")

    # when
    response = client_of(alice).get("/selfcare/admin/audit/", {"action": "room."}, **HTMX)

    # then
    page = text(response)
    assert page.lstrip().startswith('<section class="card" id="audit-entries"')
    assert "Created conference room Board (701)" in page
    assert "user.disabled" not in page
