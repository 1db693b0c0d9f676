"""Conferences against the database: adding people to a call, rooms with and without a PIN,
leaving, muting and removing, and who may change a room's PIN."""

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password

from tests.calls.conftest import OFFER, answered_call, channel_of, everything, live_leg, online
from tests.factories import make_organisation, make_user
from toc.accounts.models import Organisation, User
from toc.calls import selectors, services
from toc.calls.models import Call, CallRecord, Conference, ConferenceRoom, Leg
from toc.calls.services import CallError
from toc.media.models import MediaWorker

pytestmark = pytest.mark.django_db


def dial(user: User, destination: str) -> Call:
    return services.place_call(user=user, channel_name=channel_of(user), destination=destination, sdp=OFFER)


def answer(user: User, call: Call) -> None:
    services.answer_call(user=user, call_id=call.pk, channel_name=channel_of(user), sdp=OFFER)


def room(organisation: Organisation, *, owner: User | None = None, pin: str = "", extension: str = "701") -> Any:
    return services.create_room(
        organisation_id=organisation.pk, name="Board room", extension=extension, owner=owner, pin=pin
    )


def participants(call: Call, viewer: User) -> list[tuple[str, bool, bool]]:
    """(name, is_muted, is_you) of everyone in the call's conference, as `viewer` sees them."""
    described = selectors.describe_call(Call.objects.get(pk=call.pk), viewer=viewer)["conference"]
    assert described is not None
    return [(person["name"], person["is_muted"], person["is_you"]) for person in described["participants"]]


def conference_of(call: Call) -> Conference:
    return Conference.objects.get(calls=call)


def play(worker: MediaWorker, call: Call, leg: Leg, sounds: list[str], hangup_after: bool = False) -> dict[str, Any]:
    return {
        "to": worker.channel_name,
        "type": "media.play",
        "call_id": str(call.pk),
        "leg_ids": [str(leg.pk)],
        "sounds": sounds,
        "loop": False,
        "hangup_after": hangup_after,
    }


# --- adding people to a call ----------------------------------------------------------------


def test_adding_someone_turns_the_call_into_a_conference_and_rings_them(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    call = answered_call(alice, bob)
    alice_leg, bob_leg = live_leg(call, alice), live_leg(call, bob)
    commands.clear()

    # when alice adds dave
    invited = services.add_people(user=alice, call_id=call.pk, destination="103")

    # then
    call.refresh_from_db()
    invited.refresh_from_db()
    conference = Conference.objects.get()
    assert (call.conference_id, call.state, conference.owner_id, conference.room_id) == (
        conference.pk,
        "answered",
        alice.pk,
        None,
    )
    assert commands == [
        {
            "to": worker.channel_name,
            "type": "media.bridge",
            "call_id": str(call.pk),
            "bridge_id": f"conference-{conference.pk}",
            "leg_ids": [str(alice_leg.pk), str(bob_leg.pk)],
        }
    ]
    assert (invited.state, invited.caller_id, invited.callee_id, invited.conference_id) == (
        "ringing",
        None,
        dave.pk,
        conference.pk,
    )
    assert (invited.caller_name, invited.caller_number, invited.transferred_by_name) == (
        "Alice Tester",
        "101",
        "Alice Tester",
    )
    described = selectors.describe_call(call, viewer=bob)["conference"]
    assert described == {
        "id": str(conference.pk),
        "name": "Instant conference",
        "extension": None,
        "can_manage": False,
        "participants": [
            {
                "leg_id": str(alice_leg.pk),
                "user_id": alice.pk,
                "name": "Alice Tester",
                "number": "101",
                "is_muted": False,
                "is_on_hold": False,
                "is_you": False,
            },
            {
                "leg_id": str(bob_leg.pk),
                "user_id": bob.pk,
                "name": "Bob Tester",
                "number": "102",
                "is_muted": False,
                "is_on_hold": False,
                "is_you": True,
            },
        ],
        "ringing": [{"name": "Dave Tester", "number": "103"}],
    }
    for_dave = selectors.describe_call(invited, viewer=dave)
    assert (for_dave["state"], for_dave["counterpart"]["name"], for_dave["conference"]["name"]) == (
        "ringing",
        "Alice Tester",
        "Instant conference",
    )


def test_the_invitee_answering_joins_the_conference_bridge(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    call = answered_call(alice, bob)
    invited = services.add_people(user=alice, call_id=call.pk, destination="103")
    conference = conference_of(call)
    commands.clear()

    # when
    answer(dave, invited)

    # then
    invited.refresh_from_db()
    dave_leg = live_leg(invited, dave)
    assert invited.state == "answered"
    assert commands == [
        {
            "to": worker.channel_name,
            "type": "media.create_leg",
            "call_id": str(invited.pk),
            "leg_id": str(dave_leg.pk),
            "sdp": OFFER,
            "reply_channel": "socket.dave",
            "bridge_id": f"conference-{conference.pk}",
            "bridge_leg_ids": [],
            "sounds": [],
            "loop": False,
        }
    ]
    assert participants(call, alice) == [
        ("Alice Tester", False, True),
        ("Bob Tester", False, False),
        ("Dave Tester", False, False),
    ]
    assert participants(invited, dave) == [
        ("Alice Tester", False, False),
        ("Bob Tester", False, False),
        ("Dave Tester", False, True),
    ]


def test_someone_already_in_the_conference_or_offline_cannot_be_added(
    alice: User, bob: User, dave: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given dave is being rung into the conference, erin is not signed in
    online(dave)
    call = answered_call(alice, bob)
    services.add_people(user=alice, call_id=call.pk, destination="103")
    before = everything()
    commands.clear()

    # when / then
    for destination, message in [
        ("102", "Bob Tester is in this conference already."),
        ("103", "Dave Tester is in this conference already."),
        ("104", "Erin Tester is not signed in to take calls."),
        ("150", "There is no extension 150 in your organisation."),
    ]:
        with pytest.raises(CallError) as error:
            services.add_people(user=bob, call_id=call.pk, destination=destination)
        assert (error.value.code, error.value.message) == ("refused", message)
    assert (everything(), commands) == (before, [])


def test_people_cannot_be_added_to_a_held_or_ringing_call(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    held = answered_call(alice, bob)
    services.hold_call(user=alice, call_id=held.pk)
    ringing = dial(alice, "103")
    before = everything()
    commands.clear()

    # when / then
    with pytest.raises(CallError) as on_hold:
        services.add_people(user=alice, call_id=held.pk, destination="103")
    assert (on_hold.value.code, on_hold.value.message) == ("refused", "Resume the call before adding people to it.")
    with pytest.raises(CallError) as not_answered:
        services.add_people(user=alice, call_id=ringing.pk, destination="102")
    assert (not_answered.value.code, not_answered.value.message) == (
        "conflict",
        "People can be added only to an answered call.",
    )
    assert (everything(), commands) == (before, [])


def test_a_stranger_cannot_add_people_to_a_call(
    alice: User, bob: User, carol: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    before = everything()

    # when
    with pytest.raises(CallError) as error:
        services.add_people(user=carol, call_id=call.pk, destination="101")

    # then
    assert (error.value.code, error.value.message) == ("not_found", "That call does not exist or is not yours.")
    assert everything() == before


def test_leaving_a_conference_leaves_the_others_talking(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given alice, bob and dave in a conference
    online(dave)
    call = answered_call(alice, bob)
    invited = services.add_people(user=alice, call_id=call.pk, destination="103")
    answer(dave, invited)
    bob_leg = live_leg(call, bob)
    commands.clear()

    # when bob hangs up
    with django_capture_on_commit_callbacks(execute=True):
        services.hang_up(user=bob, call_id=call.pk)

    # then alice and dave go on; bob sees it ended, with a line in his history
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id, call.callee_name) == ("answered", alice.pk, None, "Conference")
    assert commands == [
        {
            "to": worker.channel_name,
            "type": "media.hangup",
            "call_id": str(call.pk),
            "leg_ids": [str(bob_leg.pk)],
        }
    ]
    assert participants(call, alice) == [("Alice Tester", False, True), ("Dave Tester", False, False)]
    for_bob = selectors.describe_call(call, viewer=bob)
    assert (for_bob["state"], for_bob["end_message"], for_bob["conference"]) == (
        "ended",
        "You left the conference.",
        None,
    )
    record = CallRecord.objects.get(owner=bob, call=call)
    assert (record.direction, record.outcome, record.note) == ("incoming", "completed", "You left the conference.")
    assert conference_of(call).ended_at is None


def test_when_the_caller_leaves_the_callee_stays_in_the_conference(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    online(dave)
    call = answered_call(alice, bob)
    invited = services.add_people(user=alice, call_id=call.pk, destination="103")
    answer(dave, invited)

    # when alice (the caller, and the owner) hangs up
    with django_capture_on_commit_callbacks(execute=True):
        services.hang_up(user=alice, call_id=call.pk)

    # then bob and dave go on
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id) == ("answered", bob.pk, None)
    assert live_leg(call, bob).party == "caller"
    assert participants(call, bob) == [("Bob Tester", False, True), ("Dave Tester", False, False)]
    record = CallRecord.objects.get(owner=alice, call=call)
    assert (record.direction, record.outcome, record.counterpart_name) == ("outgoing", "completed", "Bob Tester")


def test_an_instant_conference_with_one_person_left_ends(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given dave left already: alice and bob remain
    online(dave)
    call = answered_call(alice, bob)
    invited = services.add_people(user=alice, call_id=call.pk, destination="103")
    answer(dave, invited)
    with django_capture_on_commit_callbacks(execute=True):
        services.hang_up(user=dave, call_id=invited.pk)
    assert Call.objects.get(pk=call.pk).state == "answered"

    # when bob leaves too
    with django_capture_on_commit_callbacks(execute=True):
        services.hang_up(user=bob, call_id=call.pk)

    # then alice is alone: her call and the conference end
    call.refresh_from_db()
    invited.refresh_from_db()
    assert (call.state, call.end_reason, invited.state, invited.end_reason) == (
        "ended",
        "completed",
        "ended",
        "completed",
    )
    assert conference_of(call).ended_at is not None
    assert not Leg.objects.exclude(state="ended").exists()
    assert selectors.describe_call(call, viewer=alice)["state"] == "ended"


def test_an_unanswered_invitation_does_not_end_the_conference_early(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given alice and bob in a conference that rings dave
    online(dave)
    call = answered_call(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        invited = services.add_people(user=alice, call_id=call.pk, destination="103")
    invited.refresh_from_db()
    assert invited.ring_deadline is not None
    assert scheduled == [("end_unanswered_call", (str(invited.pk),), 20.05)]

    # when dave does not answer
    with django_capture_on_commit_callbacks(execute=True):
        services.end_unanswered_call(call_id=invited.pk, now=invited.ring_deadline)

    # then alice and bob still talk
    invited.refresh_from_db()
    assert (invited.state, invited.end_reason) == ("ended", "no_answer")
    assert Call.objects.get(pk=call.pk).state == "answered"
    assert conference_of(call).ended_at is None
    assert participants(call, alice) == [("Alice Tester", False, True), ("Bob Tester", False, False)]


def test_a_conference_started_from_the_window_rings_the_invited(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    online(dave)

    # when
    call = services.start_conference(
        user=alice, room_id=None, invitees=["102", "103", "102"], channel_name="socket.alice", sdp=OFFER
    )

    # then
    call.refresh_from_db()
    conference = conference_of(call)
    assert (call.state, call.caller_id, call.callee_id, conference.owner_id) == ("answered", alice.pk, None, alice.pk)
    ringing = Call.objects.filter(conference=conference, state="ringing").order_by("callee__extension")
    assert [(rung.callee_id, rung.caller_name) for rung in ringing] == [
        (bob.pk, "Alice Tester"),
        (dave.pk, "Alice Tester"),
    ]
    assert [command["type"] for command in commands] == ["media.create_leg"]
    assert commands[0]["bridge_id"] == f"conference-{conference.pk}"


def test_starting_an_instant_conference_needs_other_people(
    alice: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # when / then
    with pytest.raises(CallError) as nobody:
        services.start_conference(user=alice, room_id=None, invitees=[], channel_name="socket.alice", sdp=OFFER)
    assert (nobody.value.code, nobody.value.message) == (
        "refused",
        "Invite at least one person to an instant conference.",
    )
    with pytest.raises(CallError) as myself:
        services.start_conference(user=alice, room_id=None, invitees=["101"], channel_name="socket.alice", sdp=OFFER)
    assert (myself.value.code, myself.value.message) == (
        "refused",
        "You are in the conference already; invite other people.",
    )
    assert (Call.objects.count(), Conference.objects.count(), commands) == (0, 0, [])


def test_a_conference_call_cannot_be_transferred_or_parked(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    call = answered_call(alice, bob)
    services.add_people(user=alice, call_id=call.pk, destination="103")
    before = everything()
    commands.clear()

    # when / then
    for action, attempt in [
        ("transferred", lambda: services.transfer_call(user=bob, call_id=call.pk, destination="103")),
        ("parked", lambda: services.park_call(user=bob, call_id=call.pk)),
    ]:
        with pytest.raises(CallError) as error:
            attempt()
        assert (error.value.code, error.value.message) == (
            "refused",
            f"A conference call cannot be {action}; leave it or mute yourself instead.",
        )
    assert (everything(), commands) == (before, [])


def test_hold_in_a_conference_steps_only_this_user_out_and_resume_brings_them_back(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice, bob and dave in a conference
    online(dave)
    call = answered_call(alice, bob)
    invite = services.add_people(user=alice, call_id=call.pk, destination="103")
    services.answer_call(user=dave, call_id=invite.pk, channel_name=channel_of(dave), sdp=OFFER)
    bob_leg = live_leg(call, bob)
    call.refresh_from_db()
    bridge = f"conference-{call.conference_id}"
    commands.clear()

    # when bob holds
    services.hold_call(user=bob, call_id=call.pk)

    # then only bob's leg leaves the bridge, nobody gets music, and the others see him on hold
    assert [(c["type"], c.get("leg_ids")) for c in commands] == [("media.unbridge", [str(bob_leg.pk)])]
    call.refresh_from_db()
    alice_view = selectors.describe_call(call, viewer=alice)
    bob_view = selectors.describe_call(call, viewer=bob)
    assert (alice_view["on_hold"], bob_view["held_by_me"]) == (False, True)
    held = {person["name"]: person["is_on_hold"] for person in alice_view["conference"]["participants"]}
    assert held == {"Alice Tester": False, "Bob Tester": True, "Dave Tester": False}

    # when bob resumes
    commands.clear()
    services.resume_call(user=bob, call_id=call.pk)

    # then his leg (with alice's, already there) is in the conference's bridge again
    bridged = [c for c in commands if c["type"] == "media.bridge"]
    assert [(c["bridge_id"], str(bob_leg.pk) in c["leg_ids"]) for c in bridged] == [(bridge, True)]


def test_answering_a_call_while_in_a_conference_steps_out_of_the_conference(
    alice: User, bob: User, dave: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice, bob and dave in a conference
    online(dave)
    online(erin)
    call = answered_call(alice, bob)
    invite = services.add_people(user=alice, call_id=call.pk, destination="103")
    services.answer_call(user=dave, call_id=invite.pk, channel_name=channel_of(dave), sdp=OFFER)

    # when erin calls dave and he answers
    other = services.place_call(user=erin, channel_name=channel_of(erin), destination="103", sdp=OFFER)
    services.answer_call(user=dave, call_id=other.pk, channel_name=channel_of(dave), sdp=OFFER)

    # then dave's conference call is on hold by him
    invite.refresh_from_db()
    assert invite.held_by == "callee"


# --- rooms ------------------------------------------------------------------------------------


def test_a_blind_transfer_to_a_room_puts_the_other_side_in_its_conference(
    alice: User, bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given a room with a PIN: the transferring member vouches for the caller
    room(acme, pin="4321")
    call = answered_call(alice, bob)
    alice_leg, bob_leg = live_leg(call, alice), live_leg(call, bob)
    commands.clear()

    # when bob sends alice to room 701
    services.transfer_call(user=bob, call_id=call.pk, destination="701")

    # then
    call.refresh_from_db()
    conference = conference_of(call)
    assert (call.state, call.caller_id, call.callee_id, call.callee_name, call.is_awaiting_pin) == (
        "answered",
        alice.pk,
        None,
        "Board room",
        False,
    )
    assert commands == [
        {"to": worker.channel_name, "type": "media.hangup", "call_id": str(call.pk), "leg_ids": [str(bob_leg.pk)]},
        {
            "to": worker.channel_name,
            "type": "media.bridge",
            "call_id": str(call.pk),
            "bridge_id": conference.bridge_id,
            "leg_ids": [str(alice_leg.pk)],
        },
    ]
    assert participants(call, alice) == [("Alice Tester", False, True)]
    record = CallRecord.objects.get(owner=bob, call=call)
    assert (record.direction, record.outcome, record.note, record.counterpart_name) == (
        "incoming",
        "transferred",
        "Transferred to Board room (701).",
        "Alice Tester",
    )
    assert selectors.describe_call(call, viewer=bob)["end_message"] == "Transferred to Board room (701)."


def test_dialling_a_room_without_a_pin_joins_at_once(
    alice: User, bob: User, dave: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    board = room(acme, owner=alice)

    # when bob, then dave, dial 701
    first = dial(bob, "701")
    second = dial(dave, "701")

    # then both are in one conference
    first.refresh_from_db()
    second.refresh_from_db()
    conference = Conference.objects.get()
    assert (conference.room_id, conference.owner_id, conference.media_worker_id) == (board.pk, alice.pk, worker.pk)
    assert (first.state, first.conference_id, first.is_awaiting_pin, second.conference_id) == (
        "answered",
        conference.pk,
        False,
        conference.pk,
    )
    assert (first.callee_id, first.callee_name, first.callee_number, first.dialled) == (
        None,
        "Board room",
        "701",
        "701",
    )
    bob_leg, dave_leg = live_leg(first, bob), live_leg(second, dave)
    assert [command["type"] for command in commands] == [
        "media.create_leg",
        "media.play",
        "media.create_leg",
        "media.play",
    ]
    assert (commands[0]["bridge_id"], commands[0]["sounds"], commands[2]["bridge_id"]) == (
        conference.bridge_id,
        [],
        conference.bridge_id,
    )
    assert commands[1] == play(worker, first, bob_leg, ["prompt:conference-alone"])
    assert commands[3] == play(worker, second, dave_leg, ["prompt:conference-joined"])
    assert participants(first, bob) == [("Bob Tester", False, True), ("Dave Tester", False, False)]
    described = selectors.describe_call(first, viewer=bob)["conference"]
    assert (described["name"], described["extension"], described["can_manage"]) == ("Board room", "701", False)


def test_a_room_with_a_pin_admits_after_the_right_pin(
    alice: User, bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    room(acme, pin="4321")
    call = dial(bob, "701")
    call.refresh_from_db()
    leg = live_leg(call, bob)
    conference = conference_of(call)
    assert (call.state, call.is_awaiting_pin) == ("answered", True)
    assert (commands[0]["bridge_id"], commands[0]["sounds"]) == (str(call.pk), ["prompt:conference-pin"])
    assert selectors.describe_call(call, viewer=bob)["awaiting_pin"] is True
    assert participants(call, bob) == []
    commands.clear()

    # when a wrong PIN, then the right one
    services.send_dtmf(user=bob, call_id=call.pk, digits="1111#")
    wrong = list(commands)
    services.send_dtmf(user=bob, call_id=call.pk, digits="43")
    services.send_dtmf(user=bob, call_id=call.pk, digits="21#")

    # then
    call.refresh_from_db()
    assert wrong == [play(worker, call, leg, ["prompt:conference-pin-wrong"])]
    assert (call.is_awaiting_pin, call.pin_attempts, call.pin_digits, call.state) == (False, 1, "", "answered")
    assert commands[1:] == [
        {
            "to": worker.channel_name,
            "type": "media.bridge",
            "call_id": str(call.pk),
            "bridge_id": conference.bridge_id,
            "leg_ids": [str(leg.pk)],
        },
        play(worker, call, leg, ["prompt:conference-alone"]),
    ]
    assert selectors.describe_call(call, viewer=bob)["awaiting_pin"] is False
    assert participants(call, bob) == [("Bob Tester", False, True)]
    # keys after admission go to the media as tones
    commands.clear()
    services.send_dtmf(user=bob, call_id=call.pk, digits="5")
    assert [command["type"] for command in commands] == ["media.dtmf"]


def test_three_wrong_pins_say_goodbye_and_end_the_call(
    alice: User,
    bob: User,
    acme: Organisation,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    room(acme, pin="4321")
    call = dial(bob, "701")
    leg = live_leg(call, bob)
    commands.clear()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.send_dtmf(user=bob, call_id=call.pk, digits="1111#2222#")
        services.send_dtmf(user=bob, call_id=call.pk, digits="3333#4321#")

    # then
    call.refresh_from_db()
    leg.refresh_from_db()
    assert commands == [
        play(worker, call, leg, ["prompt:conference-pin-wrong"]),
        play(worker, call, leg, ["prompt:conference-pin-wrong"]),
        play(worker, call, leg, ["prompt:conference-goodbye"], hangup_after=True),
    ]
    assert (call.state, call.end_reason, call.end_detail, call.pin_attempts) == (
        "ended",
        "failed",
        "The conference PIN was wrong three times.",
        3,
    )
    assert leg.state == "ended"
    for_bob = selectors.describe_call(call, viewer=bob)
    assert (for_bob["state"], for_bob["end_message"]) == ("ended", "The conference PIN was wrong three times.")
    assert conference_of(call).ended_at is not None


def test_a_star_starts_the_pin_again(
    bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    room(acme, pin="4321")
    call = dial(bob, "701")

    # when
    services.send_dtmf(user=bob, call_id=call.pk, digits="99*4321#")

    # then
    call.refresh_from_db()
    assert (call.is_awaiting_pin, call.pin_attempts) == (False, 0)


def test_people_cannot_be_added_while_the_pin_is_asked(
    bob: User, dave: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    room(acme, pin="4321")
    call = dial(bob, "701")
    before = everything()

    # when
    with pytest.raises(CallError) as error:
        services.add_people(user=bob, call_id=call.pk, destination="103")

    # then
    assert (error.value.code, error.value.message) == ("refused", "Enter the room's PIN first.")
    assert everything() == before


def test_leaving_an_empty_room_ends_its_conference(
    bob: User,
    acme: Organisation,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    room(acme)
    call = dial(bob, "701")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.hang_up(user=bob, call_id=call.pk)

    # then
    call.refresh_from_db()
    assert (call.state, call.end_reason) == ("ended", "completed")
    assert conference_of(call).ended_at is not None
    # the next caller starts a new conference in the room
    again = dial(bob, "701")
    assert Call.objects.get(pk=again.pk).conference_id != call.conference_id


def test_dialling_a_room_of_another_organisation_is_refused(
    carol: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    room(acme)
    before = everything()

    # when
    with pytest.raises(CallError) as error:
        dial(carol, "701")

    # then
    assert (error.value.code, error.value.message) == (
        "refused",
        "There is no conference room 701 in your organisation.",
    )
    assert (everything(), commands) == (before, [])


# --- mute and remove ------------------------------------------------------------------------


@pytest.fixture
def board_meeting(
    alice: User, bob: User, dave: User, erin: User, acme: Organisation, worker: MediaWorker
) -> dict[str, Call]:
    """Room 701, owned by dave (not an admin); alice (an admin), bob, dave and erin dialled in."""
    room(acme, owner=dave)
    return {user.first_name.lower(): dial(user, "701") for user in (alice, bob, dave, erin)}


@pytest.mark.parametrize("manager", ["dave", "alice"])
def test_the_owner_or_an_admin_mutes_a_participant(
    board_meeting: dict[str, Call],
    bob: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    request: pytest.FixtureRequest,
    manager: str,
) -> None:
    # given
    user = request.getfixturevalue(manager)
    bob_leg = live_leg(board_meeting["bob"], bob)
    conference = conference_of(board_meeting["bob"])
    commands.clear()

    # when
    services.mute_participant(user=user, conference_id=str(conference.pk), leg_id=str(bob_leg.pk), muted=True)

    # then
    bob_leg.refresh_from_db()
    assert bob_leg.is_muted is True
    assert commands == [
        {
            "to": worker.channel_name,
            "type": "media.mute",
            "call_id": str(board_meeting["bob"].pk),
            "leg_id": str(bob_leg.pk),
            "muted": True,
        }
    ]
    assert participants(board_meeting[manager], user)[1] == ("Bob Tester", True, False)
    described = selectors.describe_call(Call.objects.get(pk=board_meeting[manager].pk), viewer=user)
    assert described["conference"]["can_manage"] is True
    # and unmutes
    services.mute_participant(user=user, conference_id=str(conference.pk), leg_id=str(bob_leg.pk), muted=False)
    bob_leg.refresh_from_db()
    assert (bob_leg.is_muted, commands[-1]["muted"]) == (False, False)


def test_another_participant_cannot_mute_or_remove(
    board_meeting: dict[str, Call], bob: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    bob_leg = live_leg(board_meeting["bob"], bob)
    conference = conference_of(board_meeting["bob"])
    before = everything()
    commands.clear()

    # when / then
    with pytest.raises(CallError) as mute:
        services.mute_participant(user=erin, conference_id=str(conference.pk), leg_id=str(bob_leg.pk), muted=True)
    assert (mute.value.code, mute.value.message) == (
        "forbidden",
        "Only the conference's owner or an admin can do that.",
    )
    with pytest.raises(CallError) as remove:
        services.remove_participant(user=erin, conference_id=str(conference.pk), leg_id=str(bob_leg.pk))
    assert (remove.value.code, remove.value.message) == (
        "forbidden",
        "Only the conference's owner or an admin can do that.",
    )
    assert (everything(), commands) == (before, [])
    assert selectors.describe_call(board_meeting["erin"], viewer=erin)["conference"]["can_manage"] is False


def test_someone_not_in_the_conference_cannot_manage_it(
    board_meeting: dict[str, Call], bob: User, carol: User, acme: Organisation, worker: MediaWorker, commands: list[Any]
) -> None:
    # given another admin of acme who is not in the conference, and carol of another organisation
    frank = make_user(acme, "frank", extension="105", is_org_admin=True)
    bob_leg = live_leg(board_meeting["bob"], bob)
    conference = conference_of(board_meeting["bob"])
    before = everything()
    commands.clear()

    # when / then
    for user in (frank, carol):
        with pytest.raises(CallError) as error:
            services.mute_participant(user=user, conference_id=str(conference.pk), leg_id=str(bob_leg.pk), muted=True)
        assert (error.value.code, error.value.message) == (
            "not_found",
            "That conference does not exist or you are not in it.",
        )
    assert (everything(), commands) == (before, [])


@pytest.mark.parametrize("manager", ["dave", "alice"])
def test_the_owner_or_an_admin_removes_a_participant(
    board_meeting: dict[str, Call],
    bob: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    request: pytest.FixtureRequest,
    manager: str,
) -> None:
    # given
    user = request.getfixturevalue(manager)
    bob_call = board_meeting["bob"]
    bob_leg = live_leg(bob_call, bob)
    conference = conference_of(bob_call)
    commands.clear()

    # when
    services.remove_participant(user=user, conference_id=str(conference.pk), leg_id=str(bob_leg.pk))

    # then bob's call ends, telling him who removed him; the others go on
    bob_call.refresh_from_db()
    assert (bob_call.state, bob_call.end_reason, bob_call.end_detail) == (
        "ended",
        "failed",
        f"{user.display_name} removed you from the conference.",
    )
    assert commands == [
        {
            "to": worker.channel_name,
            "type": "media.hangup",
            "call_id": str(bob_call.pk),
            "leg_ids": [str(bob_leg.pk)],
        }
    ]
    assert [name for name, _, _ in participants(board_meeting[manager], user)] == [
        "Alice Tester",
        "Dave Tester",
        "Erin Tester",
    ]
    assert selectors.describe_call(bob_call, viewer=bob)["end_message"] == (
        f"{user.display_name} removed you from the conference."
    )
    assert conference_of(bob_call).ended_at is None


def test_removing_yourself_is_refused(
    board_meeting: dict[str, Call], dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    conference = conference_of(board_meeting["dave"])
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        services.remove_participant(
            user=dave, conference_id=str(conference.pk), leg_id=str(live_leg(board_meeting["dave"], dave).pk)
        )

    # then
    assert (error.value.code, error.value.message) == ("refused", "To leave the conference, hang up.")
    assert (everything(), commands) == (before, [])


def test_removing_one_side_of_a_call_in_a_conference_keeps_the_other(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice added dave to her call with bob (alice owns the instant conference)
    online(dave)
    call = answered_call(alice, bob)
    invited = services.add_people(user=alice, call_id=call.pk, destination="103")
    answer(dave, invited)
    conference = conference_of(call)

    # when alice removes bob
    services.remove_participant(user=alice, conference_id=conference.pk, leg_id=live_leg(call, bob).pk)

    # then alice stays on the call, bob is off it
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id) == ("answered", alice.pk, None)
    assert participants(call, alice) == [("Alice Tester", False, True), ("Dave Tester", False, False)]
    assert selectors.describe_call(call, viewer=bob)["state"] == "ended"


# --- a room's PIN ---------------------------------------------------------------------------


def test_an_admin_sets_a_pin_stored_hashed(alice: User, acme: Organisation) -> None:
    # given
    board = room(acme)

    # when
    services.set_room_pin(user=alice, room_id=board.pk, pin="24681357")

    # then
    board.refresh_from_db()
    assert board.pin_hash != ""
    assert "24681357" not in board.pin_hash
    assert check_password("24681357", board.pin_hash) is True
    assert selectors.describe_room(board, viewer=alice)["has_pin"] is True
    # and clears it
    services.set_room_pin(user=alice, room_id=board.pk, pin="")
    board.refresh_from_db()
    assert board.pin_hash == ""


def test_create_room_stores_the_pin_hashed(acme: Organisation) -> None:
    # when
    board = room(acme, pin="97531864")

    # then
    assert "97531864" not in board.pin_hash
    assert check_password("97531864", board.pin_hash) is True


def test_only_an_admin_sets_a_pin(alice: User, bob: User, acme: Organisation, globex: Organisation) -> None:
    # given
    board = room(acme, owner=bob, pin="4321")
    before = everything()

    # when / then: not the room's owner either
    with pytest.raises(CallError) as owner:
        services.set_room_pin(user=bob, room_id=board.pk, pin="1234")
    assert (owner.value.code, owner.value.message) == ("forbidden", "Only an admin can change a conference room's PIN.")
    # an admin of another organisation does not see the room
    other_admin = make_user(globex, "grace", extension="109", is_org_admin=True)
    with pytest.raises(CallError) as stranger:
        services.set_room_pin(user=other_admin, room_id=board.pk, pin="1234")
    assert (stranger.value.code, stranger.value.message) == ("not_found", "That conference room does not exist.")
    assert everything() == before


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", " 1234", "1234\n", 1234, None])
def test_invalid_pins_are_refused(alice: User, acme: Organisation, pin: Any) -> None:
    # given
    board = room(acme, pin="4321")
    before = everything()

    # when
    with pytest.raises(CallError) as error:
        services.set_room_pin(user=alice, room_id=board.pk, pin=pin)

    # then
    assert (error.value.code, error.value.message) == ("invalid", "A PIN is 4 to 8 digits (or empty for no PIN).")
    assert everything() == before


@pytest.mark.parametrize(
    ("extension", "pin", "code", "message"),
    [
        ("650", "", "invalid", "A conference room's extension is 700 to 799."),
        ("702", "12", "invalid", "A PIN is 4 to 8 digits (or empty for no PIN)."),
        ("701", "", "conflict", "There is a conference room at 701 already."),
    ],
)
def test_create_room_refuses_bad_rooms(acme: Organisation, extension: str, pin: str, code: str, message: str) -> None:
    # given
    room(acme)

    # when
    with pytest.raises(CallError) as error:
        room(acme, extension=extension, pin=pin)

    # then
    assert (error.value.code, error.value.message) == (code, message)
    assert ConferenceRoom.objects.count() == 1


def test_the_same_extension_in_another_organisation_is_another_room() -> None:
    # given
    acme = make_organisation(name="Acme")
    globex = make_organisation(name="Globex")

    # when
    rooms = [room(acme), room(globex)]

    # then
    assert [board.organisation_id for board in rooms] == [acme.pk, globex.pk]
