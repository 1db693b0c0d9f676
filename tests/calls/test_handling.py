"""Call handling against the database: hold and resume, call waiting, blind and attended
transfer, park and pickup, switch device. Media commands are checked exactly, in order."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.calls.conftest import OFFER, answered_call, channel_of, everything, live_leg, online
from toc.accounts.models import Organisation, User
from toc.calls import selectors, services
from toc.calls.models import Call, CallRecord, CallTransition, Leg
from toc.calls.services import CallError
from toc.media.models import MediaWorker
from toc.presence.models import Connection
from toc.voicemail.models import VoicemailCall

pytestmark = pytest.mark.django_db


def last_transition(call: Call) -> tuple[str, str, str, str]:
    row = CallTransition.objects.filter(call=call).last()
    assert row is not None
    return (row.event, row.party, row.from_state, row.to_state)


def unbridge(worker: MediaWorker, call: Call, *legs: Leg) -> dict[str, Any]:
    return {
        "to": worker.channel_name,
        "type": "media.unbridge",
        "call_id": str(call.pk),
        "leg_ids": [str(leg.pk) for leg in legs],
    }


def bridge(worker: MediaWorker, call: Call, *legs: Leg, bridge_id: str = "") -> dict[str, Any]:
    return {
        "to": worker.channel_name,
        "type": "media.bridge",
        "call_id": str(call.pk),
        "bridge_id": bridge_id or str(call.pk),
        "leg_ids": [str(leg.pk) for leg in legs],
    }


def play(
    worker: MediaWorker, call: Call, *legs: Leg, sounds: list[str], loop: bool = False, hangup_after: bool = False
) -> dict[str, Any]:
    return {
        "to": worker.channel_name,
        "type": "media.play",
        "call_id": str(call.pk),
        "leg_ids": [str(leg.pk) for leg in legs],
        "sounds": sounds,
        "loop": loop,
        "hangup_after": hangup_after,
    }


def hangup(worker: MediaWorker, call: Call, *legs: Leg) -> dict[str, Any]:
    return {
        "to": worker.channel_name,
        "type": "media.hangup",
        "call_id": str(call.pk),
        "leg_ids": [str(leg.pk) for leg in legs],
    }


def create_leg(
    worker: MediaWorker,
    call: Call,
    leg: Leg,
    *,
    bridge_leg_ids: list[Leg],
    sounds: list[str] | None = None,
    loop: bool = False,
) -> dict[str, Any]:
    return {
        "to": worker.channel_name,
        "type": "media.create_leg",
        "call_id": str(call.pk),
        "leg_id": str(leg.pk),
        "sdp": OFFER,
        "reply_channel": leg.channel_name,
        "bridge_id": str(call.pk),
        "bridge_leg_ids": [str(other.pk) for other in bridge_leg_ids],
        "sounds": sounds or [],
        "loop": loop,
    }


def parked_call(caller: User, callee: User, *, parker: User) -> Call:
    call = answered_call(caller, callee)
    services.park_call(user=parker, call_id=call.pk)
    call.refresh_from_db()
    return call


def dial(user: User, destination: str) -> Call:
    return services.place_call(user=user, channel_name=channel_of(user), destination=destination, sdp=OFFER)


def record_of(user: User, call: Call) -> tuple[str, str, str, str, str, int | None]:
    record = CallRecord.objects.get(owner=user, call=call)
    return (
        record.direction,
        record.outcome,
        record.note,
        record.counterpart_name,
        record.counterpart_number,
        record.counterpart_user_id,
    )


# --- hold and resume --------------------------------------------------------------------


def test_holding_plays_hold_music_to_the_other_side_and_silence_to_the_holder(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    alice_leg, bob_leg = live_leg(call, alice), live_leg(call, bob)
    commands.clear()

    # when
    services.hold_call(user=alice, call_id=call.pk)

    # then
    call.refresh_from_db()
    assert (call.state, call.held_by) == ("answered", "caller")
    assert commands == [
        unbridge(worker, call, alice_leg, bob_leg),
        play(worker, call, bob_leg, sounds=["hold"], loop=True),
    ]
    assert last_transition(call) == ("hold", "caller", "answered", "answered")
    mine, theirs = selectors.describe_call(call, viewer=alice), selectors.describe_call(call, viewer=bob)
    assert (mine["state"], mine["held_by_me"], mine["on_hold"]) == ("answered", True, False)
    assert (theirs["state"], theirs["held_by_me"], theirs["on_hold"]) == ("answered", False, True)


def test_only_the_holder_can_resume(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice put the call on hold
    call = answered_call(alice, bob)
    services.hold_call(user=alice, call_id=call.pk)
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        services.resume_call(user=bob, call_id=call.pk)

    # then
    assert (error.value.code, error.value.message) == (
        "conflict",
        "Only the person who put the call on hold can resume it.",
    )
    assert everything() == before
    assert commands == []


def test_resuming_bridges_both_legs_again(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    services.hold_call(user=bob, call_id=call.pk)
    commands.clear()

    # when
    services.resume_call(user=bob, call_id=call.pk)

    # then
    call.refresh_from_db()
    assert (call.state, call.held_by) == ("answered", "")
    assert commands == [bridge(worker, call, live_leg(call, alice), live_leg(call, bob))]
    assert last_transition(call) == ("resume", "callee", "answered", "answered")


def test_holding_twice_or_resuming_a_call_not_on_hold_is_a_conflict(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    before = everything()
    commands.clear()

    # when / then: nothing to resume
    with pytest.raises(CallError) as resume:
        services.resume_call(user=alice, call_id=call.pk)
    assert (resume.value.code, resume.value.message) == ("conflict", "The call is not on hold.")
    assert (everything(), commands) == (before, [])
    # on hold once, not twice, by either side
    services.hold_call(user=alice, call_id=call.pk)
    held = everything()
    commands.clear()
    for user in (alice, bob):
        with pytest.raises(CallError) as again:
            services.hold_call(user=user, call_id=call.pk)
        assert (again.value.code, again.value.message) == ("conflict", "The call is on hold already.")
    assert (everything(), commands) == (held, [])


def test_answering_a_second_call_puts_the_first_on_hold(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob talks to alice, and dave calls bob
    first = answered_call(alice, bob)
    second = dial(dave, "102")
    commands.clear()

    # when bob answers dave (call waiting)
    services.answer_call(user=bob, call_id=second.pk, channel_name="socket.bob", sdp=OFFER)

    # then alice waits with music, bob talks to dave
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.held_by, second.state, second.held_by) == ("answered", "callee", "answered", "")
    assert commands == [
        create_leg(worker, second, live_leg(second, bob), bridge_leg_ids=[live_leg(second, dave)]),
        unbridge(worker, first, live_leg(first, alice), live_leg(first, bob)),
        play(worker, first, live_leg(first, alice), sounds=["hold"], loop=True),
    ]


def test_resuming_a_held_call_puts_the_other_on_hold(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob answered dave's call while talking to alice (alice is on hold)
    first = answered_call(alice, bob)
    second = dial(dave, "102")
    services.answer_call(user=bob, call_id=second.pk, channel_name="socket.bob", sdp=OFFER)
    commands.clear()

    # when bob swaps back to alice
    services.resume_call(user=bob, call_id=first.pk)

    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.held_by, second.held_by) == ("", "callee")
    assert commands == [
        bridge(worker, first, live_leg(first, alice), live_leg(first, bob)),
        unbridge(worker, second, live_leg(second, dave), live_leg(second, bob)),
        play(worker, second, live_leg(second, dave), sounds=["hold"], loop=True),
    ]


def test_a_ringing_call_cannot_be_held(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = dial(alice, "102")
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        services.hold_call(user=alice, call_id=call.pk)

    # then
    assert (error.value.code, error.value.message) == ("conflict", "Only an answered call can be put on hold.")
    assert (everything(), commands) == (before, [])


def test_someone_of_another_organisation_cannot_hold_or_resume_a_call(
    alice: User, bob: User, carol: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    before = everything()
    commands.clear()

    # when / then
    for service in (services.hold_call, services.resume_call):
        with pytest.raises(CallError) as error:
            service(user=carol, call_id=call.pk)
        assert (error.value.code, error.value.message) == ("not_found", "That call does not exist or is not yours.")
    assert (everything(), commands) == (before, [])


# --- blind transfer -----------------------------------------------------------------------


def test_a_blind_transfer_rings_the_target_and_the_transferor_leaves(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice called bob, who transfers her to dave
    online(dave)
    call = answered_call(alice, bob)
    answered_at = call.answered_at
    alice_leg, bob_leg = live_leg(call, alice), live_leg(call, bob)
    commands.clear()

    # when
    services.transfer_call(user=bob, call_id=call.pk, destination="103")

    # then the call rings dave with alice on the caller side
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id, call.transferred_by_name) == (
        "ringing",
        alice.pk,
        dave.pk,
        "Bob Tester",
    )
    assert (call.callee_name, call.callee_number, call.answered_at, call.held_by) == ("Dave Tester", "103", None, "")
    assert call.ringing_at is not None
    assert call.ring_deadline == call.ringing_at + timedelta(seconds=20)
    assert last_transition(call) == ("transfer", "callee", "answered", "ringing")
    bob_leg.refresh_from_db()
    alice_leg.refresh_from_db()
    assert (alice_leg.state, alice_leg.party, bob_leg.state) == ("new", "caller", "ended")
    assert commands == [
        hangup(worker, call, bob_leg),
        unbridge(worker, call, alice_leg),
        play(worker, call, alice_leg, sounds=["ringback"], loop=True),
    ]
    # bob's history is written at once
    assert record_of(bob, call) == (
        "incoming",
        "transferred",
        "Transferred to Dave Tester (103).",
        "Alice Tester",
        "101",
        alice.pk,
    )
    assert CallRecord.objects.get(owner=bob, call=call).answered_at == answered_at
    assert CallRecord.objects.count() == 1
    # and bob sees the call as ended, with how he left it
    for_bob = selectors.describe_call(call, viewer=bob)
    assert (for_bob["state"], for_bob["end_message"], for_bob["leg_id"]) == (
        "ended",
        "Transferred to Dave Tester (103).",
        None,
    )
    for_dave = selectors.describe_call(call, viewer=dave)
    assert (for_dave["state"], for_dave["direction"], for_dave["counterpart"], for_dave["transferred_by"]) == (
        "ringing",
        "incoming",
        {"name": "Alice Tester", "number": "101", "user_id": alice.pk},
        "Bob Tester",
    )


def test_when_the_caller_transfers_the_callee_becomes_the_caller_side(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    call = answered_call(alice, bob)
    bob_leg = live_leg(call, bob)

    # when alice (the caller) transfers bob to dave
    services.transfer_call(user=alice, call_id=call.pk, destination="103")

    # then
    call.refresh_from_db()
    bob_leg.refresh_from_db()
    assert (call.state, call.caller_id, call.caller_name, call.caller_number, call.callee_id) == (
        "ringing",
        bob.pk,
        "Bob Tester",
        "102",
        dave.pk,
    )
    assert (bob_leg.party, bob_leg.state) == ("caller", "new")
    assert last_transition(call) == ("transfer", "caller", "answered", "ringing")
    # alice placed the call: it stays an outgoing call to bob in her history
    assert record_of(alice, call) == (
        "outgoing",
        "transferred",
        "Transferred to Dave Tester (103).",
        "Bob Tester",
        "102",
        bob.pk,
    )
    assert selectors.describe_call(call, viewer=alice)["state"] == "ended"


def test_the_transfer_target_answering_talks_to_the_staying_party(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    call = answered_call(alice, bob)
    services.transfer_call(user=bob, call_id=call.pk, destination="103")
    commands.clear()

    # when
    services.answer_call(user=dave, call_id=call.pk, channel_name="socket.dave", sdp=OFFER)

    # then
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id) == ("answered", alice.pk, dave.pk)
    assert call.answered_at is not None
    assert commands == [create_leg(worker, call, live_leg(call, dave), bridge_leg_ids=[live_leg(call, alice)])]
    assert last_transition(call) == ("answer", "callee", "ringing", "answered")


@pytest.mark.parametrize(
    ("destination", "code", "message"),
    [
        ("150", "refused", "There is no extension 150 in your organisation."),
        ("102", "refused", "You cannot transfer a call to yourself."),
        ("101", "refused", "Alice Tester is already on this call."),
        ("104", "refused", "Erin Tester is not signed in to take calls, so the call stays with you."),
        ("601", "refused", "To park a call, press Park."),
        ("799", "refused", "There is no conference room 799 in your organisation."),
        ("*86", "refused", "To send the caller to someone's voicemail, choose Voicemail."),
        ("hello", "refused", "A number can hold only digits, *, # and a leading +."),
    ],
)
def test_invalid_transfer_targets_are_refused_and_change_nothing(
    alice: User,
    bob: User,
    erin: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    destination: str,
    code: str,
    message: str,
) -> None:
    # given erin exists but is not signed in
    call = answered_call(alice, bob)
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        services.transfer_call(user=bob, call_id=call.pk, destination=destination)

    # then
    assert (error.value.code, error.value.message) == (code, message)
    assert everything() == before
    assert commands == []


def test_a_target_busy_on_other_calls_is_refused(
    alice: User, bob: User, dave: User, erin: User, acme: Organisation, worker: MediaWorker, commands: list[Any]
) -> None:
    # given dave is in two calls already (the most a user takes)
    answered_call(erin, dave)
    online(erin)
    dial(dave, "104")
    call = answered_call(alice, bob)
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        services.transfer_call(user=bob, call_id=call.pk, destination="103")

    # then
    assert (error.value.code, error.value.message) == (
        "refused",
        "Dave Tester is busy on other calls, so the call stays with you.",
    )
    assert (everything(), commands) == (before, [])


def test_transferring_a_call_that_has_just_ended_is_a_conflict(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice hung up a moment ago
    online(dave)
    call = answered_call(alice, bob)
    services.hang_up(user=alice, call_id=call.pk)
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        services.transfer_call(user=bob, call_id=call.pk, destination="103")

    # then
    assert (error.value.code, error.value.message) == ("conflict", "That call has already ended.")
    assert (everything(), commands) == (before, [])


def test_a_ringing_call_cannot_be_transferred_nor_by_a_stranger(
    alice: User, bob: User, carol: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    online(dave)
    call = dial(alice, "102")
    before = everything()
    commands.clear()

    # when / then
    with pytest.raises(CallError) as ringing:
        services.transfer_call(user=alice, call_id=call.pk, destination="103")
    assert (ringing.value.code, ringing.value.message) == ("conflict", "Only an answered call can be transferred.")
    with pytest.raises(CallError) as stranger:
        services.transfer_call(user=carol, call_id=call.pk, destination="103")
    assert stranger.value.code == "not_found"
    assert (everything(), commands) == (before, [])


# --- attended transfer --------------------------------------------------------------------


def consult(user: User, call: Call, destination: str) -> Call:
    return services.start_consultation(
        user=user, call_id=call.pk, destination=destination, channel_name=channel_of(user), sdp=OFFER
    )


def test_a_consultation_holds_the_call_and_rings_the_target(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    original = answered_call(alice, bob)
    alice_leg, bob_leg = live_leg(original, alice), live_leg(original, bob)
    commands.clear()

    # when bob calls dave to announce alice
    consultation = consult(bob, original, "103")

    # then alice hears hold music and dave rings
    original.refresh_from_db()
    consultation.refresh_from_db()
    assert (original.state, original.held_by) == ("answered", "callee")
    assert (consultation.state, consultation.caller_id, consultation.callee_id, consultation.consult_for_id) == (
        "ringing",
        bob.pk,
        dave.pk,
        original.pk,
    )
    assert consultation.media_worker_id == worker.pk
    consult_leg = live_leg(consultation, bob)
    assert commands == [
        unbridge(worker, original, alice_leg, bob_leg),
        play(worker, original, alice_leg, sounds=["hold"], loop=True),
        create_leg(worker, consultation, consult_leg, bridge_leg_ids=[], sounds=["ringback"], loop=True),
    ]
    assert selectors.describe_call(consultation, viewer=bob)["consult_for"] == str(original.pk)


def test_completing_after_the_target_answered_puts_caller_and_target_together(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given dave answered bob's consultation
    online(dave)
    original = answered_call(alice, bob)
    consultation = consult(bob, original, "103")
    services.answer_call(user=dave, call_id=consultation.pk, channel_name="socket.dave", sdp=OFFER)
    alice_leg, bob_leg = live_leg(original, alice), live_leg(original, bob)
    bob_consult_leg, dave_leg = live_leg(consultation, bob), live_leg(consultation, dave)
    commands.clear()

    # when
    services.complete_transfer(user=bob, call_id=consultation.pk)

    # then alice and dave talk in the original call; bob left both
    original.refresh_from_db()
    consultation.refresh_from_db()
    dave_leg.refresh_from_db()
    assert (original.state, original.caller_id, original.callee_id, original.held_by) == (
        "answered",
        alice.pk,
        dave.pk,
        "",
    )
    assert (original.callee_name, original.transferred_by_name) == ("Dave Tester", "Bob Tester")
    assert (dave_leg.call_id, dave_leg.party, dave_leg.state) == (original.pk, "callee", "new")
    assert (consultation.state, consultation.end_reason) == ("ended", "completed")
    assert not Leg.objects.filter(user=bob).exclude(state="ended").exists()
    assert commands == [
        hangup(worker, original, bob_leg),
        bridge(worker, original, alice_leg, dave_leg),
        hangup(worker, consultation, bob_consult_leg),
    ]
    assert last_transition(original) == ("complete", "callee", "answered", "answered")
    assert record_of(bob, original)[:3] == ("incoming", "transferred", "Transferred to Dave Tester (103).")
    for_bob = selectors.describe_call(original, viewer=bob)
    assert (for_bob["state"], for_bob["end_message"]) == ("ended", "Transferred to Dave Tester (103).")
    for_dave = selectors.describe_call(original, viewer=dave)
    assert (for_dave["state"], for_dave["leg_id"], for_dave["counterpart"]["name"]) == (
        "answered",
        str(dave_leg.pk),
        "Alice Tester",
    )


@pytest.mark.parametrize("target_answers", [True, False])
def test_when_the_caller_completes_a_transfer_the_callee_becomes_the_caller_side(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]], target_answers: bool
) -> None:
    # given alice (the caller) consults dave about bob
    online(dave)
    original = answered_call(alice, bob)
    consultation = consult(alice, original, "103")
    if target_answers:
        services.answer_call(user=dave, call_id=consultation.pk, channel_name="socket.dave", sdp=OFFER)

    # when
    services.complete_transfer(user=alice, call_id=consultation.pk)

    # then bob stays as the caller side, dave is the callee side
    original.refresh_from_db()
    assert (original.state, original.caller_id, original.callee_id) == (
        "answered" if target_answers else "ringing",
        bob.pk,
        dave.pk,
    )
    assert live_leg(original, bob).party == "caller"
    # alice placed the call to bob: it stays an outgoing call to him in her history
    assert record_of(alice, original) == (
        "outgoing",
        "transferred",
        "Transferred to Dave Tester (103).",
        "Bob Tester",
        "102",
        bob.pk,
    )


def test_cancelling_a_consultation_resumes_the_call(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    original = answered_call(alice, bob)
    consultation = consult(bob, original, "103")
    bob_consult_leg = live_leg(consultation, bob)
    commands.clear()

    # when
    services.cancel_consultation(user=bob, call_id=consultation.pk)

    # then
    original.refresh_from_db()
    consultation.refresh_from_db()
    assert (original.state, original.held_by, original.callee_id) == ("answered", "", bob.pk)
    assert (consultation.state, consultation.end_reason) == ("ended", "cancelled")
    assert commands == [
        hangup(worker, consultation, bob_consult_leg),
        bridge(worker, original, live_leg(original, alice), live_leg(original, bob)),
    ]
    assert record_of(dave, consultation)[:2] == ("missed", "cancelled")


def test_completing_while_the_target_rings_becomes_a_blind_transfer(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    original = answered_call(alice, bob)
    consultation = consult(bob, original, "103")
    alice_leg, bob_leg = live_leg(original, alice), live_leg(original, bob)
    bob_consult_leg = live_leg(consultation, bob)
    commands.clear()

    # when
    services.complete_transfer(user=bob, call_id=consultation.pk)

    # then alice rings dave with ringback, the consultation is over
    original.refresh_from_db()
    consultation.refresh_from_db()
    assert (original.state, original.caller_id, original.callee_id, original.held_by) == (
        "ringing",
        alice.pk,
        dave.pk,
        "",
    )
    assert original.transferred_by_name == "Bob Tester"
    assert (consultation.state, consultation.end_reason) == ("ended", "cancelled")
    assert commands == [
        hangup(worker, consultation, bob_consult_leg),
        hangup(worker, original, bob_leg),
        play(worker, original, alice_leg, sounds=["ringback"], loop=True),
    ]
    assert last_transition(original) == ("transfer", "callee", "answered", "ringing")
    assert record_of(bob, original)[:3] == ("incoming", "transferred", "Transferred to Dave Tester (103).")


def test_completing_after_the_caller_hung_up_is_a_conflict(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice hung up while bob talked to dave
    online(dave)
    original = answered_call(alice, bob)
    consultation = consult(bob, original, "103")
    services.answer_call(user=dave, call_id=consultation.pk, channel_name="socket.dave", sdp=OFFER)
    services.hang_up(user=alice, call_id=original.pk)
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        services.complete_transfer(user=bob, call_id=consultation.pk)

    # then bob and dave still talk
    assert (error.value.code, error.value.message) == (
        "conflict",
        "The caller has hung up, so there is nobody to transfer.",
    )
    assert (everything(), commands) == (before, [])
    assert Call.objects.get(pk=consultation.pk).state == "answered"


def test_only_the_consulting_user_completes_or_cancels_a_consultation(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(dave)
    original = answered_call(alice, bob)
    consultation = consult(bob, original, "103")
    services.answer_call(user=dave, call_id=consultation.pk, channel_name="socket.dave", sdp=OFFER)
    before = everything()
    commands.clear()

    # when / then: the target, the held caller, or bob naming the original call
    for user, call_id in [(dave, consultation.pk), (alice, consultation.pk), (bob, original.pk)]:
        for service in (services.complete_transfer, services.cancel_consultation):
            with pytest.raises(CallError) as error:
                service(user=user, call_id=call_id)
            assert (error.value.code, error.value.message) == ("not_found", "That is not a consultation call of yours.")
    assert (everything(), commands) == (before, [])


def test_a_consultation_while_the_other_side_holds_the_call_is_refused(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice has the call on hold
    online(dave)
    original = answered_call(alice, bob)
    services.hold_call(user=alice, call_id=original.pk)
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        consult(bob, original, "103")

    # then
    assert (error.value.code, error.value.message) == (
        "refused",
        "The other side has this call on hold; wait until they resume it.",
    )
    assert (everything(), commands) == (before, [])


def test_a_second_consultation_of_the_same_call_is_refused(
    alice: User, bob: User, dave: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob is consulting dave about alice's call (a second click on Consult, or another target)
    online(dave)
    online(erin)
    original = answered_call(alice, bob)
    consult(bob, original, "103")
    before = everything()
    commands.clear()

    # when / then
    for destination in ("103", "104"):
        with pytest.raises(CallError) as error:
            consult(bob, original, destination)
        assert (error.value.code, error.value.message) == (
            "refused",
            "You are consulting someone about this call already; transfer it or go back to the caller first.",
        )
    assert (everything(), commands) == (before, [])


def test_a_new_consultation_after_cancelling_one_rings_the_new_target(
    alice: User, bob: User, dave: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob consulted dave, then went back to alice
    online(dave)
    online(erin)
    original = answered_call(alice, bob)
    first = consult(bob, original, "103")
    services.cancel_consultation(user=bob, call_id=first.pk)

    # when
    second = consult(bob, original, "104")

    # then
    second.refresh_from_db()
    assert (second.state, second.callee_id, second.consult_for_id) == ("ringing", erin.pk, original.pk)


# --- park and pickup ----------------------------------------------------------------------


def test_parking_takes_the_first_slot_and_tells_the_parker_where(
    alice: User,
    bob: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[tuple[str, tuple[Any, ...], float]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    call = answered_call(alice, bob)
    alice_leg, bob_leg = live_leg(call, alice), live_leg(call, bob)
    commands.clear()
    start = timezone.now()

    # when bob parks alice
    with django_capture_on_commit_callbacks(execute=True):
        services.park_call(user=bob, call_id=call.pk, now=start)

    # then
    call.refresh_from_db()
    bob_leg.refresh_from_db()
    assert (call.state, call.park_slot, call.parked_by_id, call.caller_id, call.callee_id) == (
        "parked",
        "601",
        bob.pk,
        alice.pk,
        None,
    )
    assert (call.callee_name, call.callee_number, call.park_deadline) == (
        "Park 601",
        "601",
        start + timedelta(seconds=60),
    )
    assert (bob_leg.state, live_leg(call, alice).pk) == ("ended", alice_leg.pk)
    assert commands == [
        unbridge(worker, call, alice_leg, bob_leg),
        play(worker, call, alice_leg, sounds=["hold"], loop=True),
        play(
            worker,
            call,
            bob_leg,
            sounds=["prompt:parked-at", "prompt:digit-6", "prompt:digit-0", "prompt:digit-1"],
            hangup_after=True,
        ),
    ]
    assert last_transition(call) == ("park", "callee", "answered", "parked")
    assert scheduled == [("ring_back_parked_call", (str(call.pk),), 60.05)]
    assert record_of(bob, call) == ("incoming", "parked", "Parked at 601.", "Alice Tester", "101", alice.pk)
    for_bob = selectors.describe_call(call, viewer=bob)
    assert (for_bob["state"], for_bob["end_message"]) == ("ended", "Parked at 601.")
    for_alice = selectors.describe_call(call, viewer=alice)
    assert (for_alice["state"], for_alice["park_slot"], for_alice["counterpart"]["name"]) == (
        "parked",
        "601",
        "Park 601",
    )


def test_a_second_parked_call_takes_the_next_slot(
    alice: User, bob: User, dave: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    first = parked_call(alice, bob, parker=bob)

    # when
    second = parked_call(dave, erin, parker=erin)

    # then
    assert (first.park_slot, second.park_slot) == ("601", "602")


def test_the_first_slot_is_the_organisations_and_a_freed_slot_is_reused(
    alice: User, bob: User, dave: User, erin: User, acme: Organisation, worker: MediaWorker, commands: list[Any]
) -> None:
    # given slots start at 610 here, and 610 was freed by a pickup
    acme.park_first_slot = 610
    acme.save()
    first = parked_call(alice, bob, parker=bob)
    assert first.park_slot == "610"
    dial(dave, "610")
    commands.clear()

    # when
    second = answered_call(erin, bob)
    services.park_call(user=bob, call_id=second.pk)

    # then
    second.refresh_from_db()
    assert second.park_slot == "610"
    assert commands[-1]["sounds"] == ["prompt:parked-at", "prompt:digit-6", "prompt:digit-1", "prompt:digit-0"]


def test_when_the_caller_parks_the_callee_waits_as_the_caller_side(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    bob_leg = live_leg(call, bob)

    # when alice (the caller) parks bob
    services.park_call(user=alice, call_id=call.pk)

    # then
    call.refresh_from_db()
    bob_leg.refresh_from_db()
    assert (call.state, call.caller_id, call.caller_name, call.callee_id, call.park_slot) == (
        "parked",
        bob.pk,
        "Bob Tester",
        None,
        "601",
    )
    assert (bob_leg.party, bob_leg.state) == ("caller", "new")
    assert record_of(alice, call) == ("outgoing", "parked", "Parked at 601.", "Bob Tester", "102", bob.pk)
    assert selectors.list_parked_calls(user=alice) == [
        {
            "slot": "601",
            "caller": {"name": "Bob Tester", "number": "102"},
            "parked_by": "Alice Tester",
            "ring_back_at": call.park_deadline.isoformat() if call.park_deadline else None,
        }
    ]


def test_parked_calls_are_listed_for_the_same_organisation_only(
    alice: User, bob: User, carol: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = parked_call(alice, bob, parker=bob)
    assert call.park_deadline is not None

    # when
    seen_by_dave = selectors.list_parked_calls(user=dave)
    seen_by_carol = selectors.list_parked_calls(user=carol)

    # then
    assert seen_by_dave == [
        {
            "slot": "601",
            "caller": {"name": "Alice Tester", "number": "101"},
            "parked_by": "Bob Tester",
            "ring_back_at": call.park_deadline.isoformat(),
        }
    ]
    assert seen_by_carol == []


def test_dialling_the_slot_picks_up_the_parked_call(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = parked_call(alice, bob, parker=bob)
    alice_leg = live_leg(call, alice)
    commands.clear()

    # when dave dials 601
    picked = dial(dave, "601")

    # then dave and alice talk
    call.refresh_from_db()
    assert picked.pk == call.pk
    assert (call.state, call.caller_id, call.callee_id, call.callee_name, call.park_slot, call.park_deadline) == (
        "answered",
        alice.pk,
        dave.pk,
        "Dave Tester",
        "",
        None,
    )
    dave_leg = live_leg(call, dave)
    assert (dave_leg.party, dave_leg.channel_name) == ("callee", "socket.dave")
    assert commands == [create_leg(worker, call, dave_leg, bridge_leg_ids=[alice_leg])]
    assert last_transition(call) == ("pickup", "callee", "parked", "answered")
    assert selectors.list_parked_calls(user=dave) == []
    for_dave = selectors.describe_call(call, viewer=dave)
    assert (for_dave["state"], for_dave["direction"], for_dave["counterpart"]["name"]) == (
        "answered",
        "incoming",
        "Alice Tester",
    )


def test_a_second_pickup_or_another_organisation_finds_nothing_parked(
    alice: User, bob: User, carol: User, dave: User, erin: User, worker: MediaWorker, commands: list[Any]
) -> None:
    # given dave picked up the call parked at 601
    call = parked_call(alice, bob, parker=bob)
    dial(dave, "601")
    before = everything()
    commands.clear()

    # when / then
    for user in (erin, carol):
        with pytest.raises(CallError) as error:
            dial(user, "601")
        assert (error.value.code, error.value.message) == ("refused", "No call is parked at 601.")
    assert (everything(), commands) == (before, [])
    assert Call.objects.get(pk=call.pk).callee_id == dave.pk


def test_another_organisation_cannot_pick_up_a_parked_call(
    alice: User, bob: User, carol: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    parked_call(alice, bob, parker=bob)
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        dial(carol, "601")

    # then
    assert (error.value.code, error.value.message) == ("refused", "No call is parked at 601.")
    assert (everything(), commands) == (before, [])


def test_the_waiting_party_cannot_pick_up_their_own_call(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    parked_call(alice, bob, parker=bob)
    before = everything()

    # when
    with pytest.raises(CallError) as error:
        dial(alice, "601")

    # then
    assert (error.value.code, error.value.message) == ("refused", "That is your own call waiting in park.")
    assert everything() == before


def test_a_parked_call_rings_the_parker_back_after_the_timeout_only(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = parked_call(alice, bob, parker=bob)
    assert call.park_deadline is not None
    before = everything()
    commands.clear()

    # when / then: too early changes nothing
    assert services.ring_back_parked_call(call_id=call.pk, now=call.park_deadline - timedelta(seconds=1)) is False
    assert everything() == before
    # at the deadline bob's phone rings
    assert services.ring_back_parked_call(call_id=call.pk, now=call.park_deadline) is True
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id, call.transferred_by_name, call.park_slot) == (
        "ringing",
        alice.pk,
        bob.pk,
        "Park 601",
        "",
    )
    assert call.ring_deadline == call.ringing_at + timedelta(seconds=20) if call.ringing_at else False
    assert last_transition(call) == ("ring_back", "system", "parked", "ringing")
    assert commands == []
    for_bob = selectors.describe_call(call, viewer=bob)
    assert (for_bob["state"], for_bob["transferred_by"]) == ("ringing", "Park 601")
    # and running the task again changes nothing
    assert services.ring_back_parked_call(call_id=call.pk, now=call.park_deadline or timezone.now()) is False


def test_the_parker_answering_the_ring_back_talks_to_the_waiting_party(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = parked_call(alice, bob, parker=bob)
    assert call.park_deadline is not None
    services.ring_back_parked_call(call_id=call.pk, now=call.park_deadline)
    commands.clear()

    # when
    services.answer_call(user=bob, call_id=call.pk, channel_name="socket.bob2", sdp=OFFER)

    # then
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id) == ("answered", alice.pk, bob.pk)
    assert commands == [create_leg(worker, call, live_leg(call, bob), bridge_leg_ids=[live_leg(call, alice)])]


def test_a_ring_back_nobody_answers_goes_to_the_parkers_voicemail(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob parked alice's call, and it rang him back
    call = parked_call(alice, bob, parker=bob)
    assert call.park_deadline is not None
    services.ring_back_parked_call(call_id=call.pk, now=call.park_deadline)
    call.refresh_from_db()
    assert call.ring_deadline is not None

    # when he does not answer
    services.end_unanswered_call(call_id=call.pk, now=call.ring_deadline)

    # then alice leaves bob a message
    call.refresh_from_db()
    mailbox_owner = VoicemailCall.objects.filter(call=call).values_list("mailbox__user_id", flat=True).get()
    assert (call.state, call.caller_id, call.callee_id, mailbox_owner) == ("answered", alice.pk, None, bob.pk)
    assert commands[-1]["type"] == "media.record"


def test_the_sweep_rings_back_parked_calls_whose_task_was_lost(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = parked_call(alice, bob, parker=bob)
    assert call.park_deadline is not None

    # when / then
    assert services.sweep_overdue_parked(now=call.park_deadline + timedelta(seconds=1)) == 0
    assert services.sweep_overdue_parked(now=call.park_deadline + timedelta(seconds=3)) == 1
    assert Call.objects.get(pk=call.pk).state == "ringing"


def test_when_every_slot_is_in_use_parking_is_refused_and_changes_nothing(
    alice: User, bob: User, dave: User, erin: User, acme: Organisation, worker: MediaWorker, commands: list[Any]
) -> None:
    # given a single slot, taken
    acme.park_slot_count = 1
    acme.save()
    parked_call(alice, bob, parker=bob)
    call = answered_call(dave, erin)
    before = everything()
    commands.clear()

    # when dave (the caller) tries to park erin
    with pytest.raises(CallError) as error:
        services.park_call(user=dave, call_id=call.pk)

    # then
    assert (error.value.code, error.value.message) == (
        "refused",
        "Every park slot is in use. Try again in a moment, or transfer the call.",
    )
    assert (everything(), commands) == (before, [])


def test_a_ringing_call_cannot_be_parked(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = dial(alice, "102")
    before = everything()
    commands.clear()

    # when
    with pytest.raises(CallError) as error:
        services.park_call(user=alice, call_id=call.pk)

    # then
    assert (error.value.code, error.value.message) == ("conflict", "Only an answered call can be parked.")
    assert (everything(), commands) == (before, [])


def test_the_waiting_party_can_hang_up_a_parked_call(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = parked_call(alice, bob, parker=bob)
    alice_leg = live_leg(call, alice)
    commands.clear()

    # when
    services.hang_up(user=alice, call_id=call.pk)

    # then
    call.refresh_from_db()
    assert (call.state, call.end_reason, call.park_slot) == ("ended", "completed", "")
    assert commands == [hangup(worker, call, alice_leg)]
    assert selectors.list_parked_calls(user=bob) == []
    assert record_of(bob, call)[:3] == ("incoming", "parked", "Parked at 601.")


# --- switch device ------------------------------------------------------------------------


def test_list_devices_marks_this_socket(bob: User, acme: Organisation) -> None:
    # given
    laptop = online(bob, "socket.laptop")
    desk = Connection.objects.create(channel_name="socket.desk", user=bob, organisation=acme, label="TOC for Windows")

    # when
    devices = services.list_devices(user=bob, channel_name="socket.desk")

    # then
    assert devices == [
        {"id": laptop.pk, "label": "Browser", "connected_at": laptop.connected_at.isoformat(), "is_this": False},
        {"id": desk.pk, "label": "TOC for Windows", "connected_at": desk.connected_at.isoformat(), "is_this": True},
    ]


def test_switching_to_a_device_of_someone_else_is_not_found(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    alices = online(alice, "socket.alice-desk")
    events.clear()

    # when / then
    for connection_id in (alices.pk, str(alices.pk), None):
        with pytest.raises(CallError) as error:
            services.request_switch(user=bob, call_id=call.pk, connection_id=connection_id)
        assert (error.value.code, error.value.message) == ("not_found", "That device is not signed in any more.")
    assert events == []


def test_switching_rings_the_other_device(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    # given bob talks on socket.bob and is signed in on his desk too
    call = answered_call(alice, bob)
    desk = online(bob, "socket.bob-desk")
    events.clear()
    commands.clear()

    # when
    services.request_switch(user=bob, call_id=call.pk, connection_id=desk.pk)

    # then
    assert [(event["type"], event["connection_id"], event["user_ids"]) for event in events] == [
        ("call.switch_requested", desk.pk, [bob.pk])
    ]
    assert events[0]["call"]["id"] == str(call.pk)
    assert commands == []


def test_switching_to_the_device_the_call_is_on_is_refused(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    same = online(bob, channel_of(bob))

    # when / then
    with pytest.raises(CallError) as error:
        services.request_switch(user=bob, call_id=call.pk, connection_id=same.pk)
    assert (error.value.code, error.value.message) == ("refused", "The call is on that device already.")


def test_taking_the_call_on_another_device_moves_the_leg(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    alice_leg, old_leg = live_leg(call, alice), live_leg(call, bob)
    version = call.version
    commands.clear()

    # when bob's desk takes the call
    services.take_call(user=bob, call_id=call.pk, channel_name="socket.bob-desk", sdp=OFFER)

    # then
    call.refresh_from_db()
    old_leg.refresh_from_db()
    new_leg = live_leg(call, bob)
    assert (new_leg.channel_name, new_leg.party, old_leg.state) == ("socket.bob-desk", "callee", "ended")
    assert (call.state, call.version) == ("answered", version + 1)
    assert commands == [
        create_leg(worker, call, new_leg, bridge_leg_ids=[alice_leg], loop=True),
        hangup(worker, call, old_leg),
    ]
    assert selectors.describe_call(call, viewer=bob)["leg_id"] == str(new_leg.pk)


def test_taking_a_held_call_keeps_the_hold(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice holds the call: bob hears music
    call = answered_call(alice, bob)
    services.hold_call(user=alice, call_id=call.pk)
    old_leg = live_leg(call, bob)
    commands.clear()

    # when
    services.take_call(user=bob, call_id=call.pk, channel_name="socket.bob-desk", sdp=OFFER)

    # then the new leg is not bridged and hears the music
    new_leg = live_leg(call, bob)
    assert commands == [
        create_leg(worker, call, new_leg, bridge_leg_ids=[], sounds=["hold"], loop=True),
        hangup(worker, call, old_leg),
    ]


def test_taking_a_muted_conference_call_keeps_it_muted_in_the_media(
    alice: User, bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice (an admin) muted bob in room 701
    services.create_room(organisation_id=acme.pk, name="Board room", extension="701")
    alices = dial(alice, "701")
    bobs = dial(bob, "701")
    conference_id = Call.objects.get(pk=bobs.pk).conference_id
    services.mute_participant(user=alice, conference_id=conference_id, leg_id=live_leg(bobs, bob).pk, muted=True)
    old_leg = live_leg(bobs, bob)
    commands.clear()

    # when bob moves to his desk
    services.take_call(user=bob, call_id=bobs.pk, channel_name="socket.bob-desk", sdp=OFFER)

    # then the new leg joins the conference muted
    new_leg = live_leg(bobs, bob)
    assert new_leg.is_muted is True
    assert commands == [
        {
            **create_leg(worker, bobs, new_leg, bridge_leg_ids=[], loop=True),
            "bridge_id": f"conference-{conference_id}",
        },
        {
            "to": worker.channel_name,
            "type": "media.mute",
            "call_id": str(bobs.pk),
            "leg_id": str(new_leg.pk),
            "muted": True,
        },
        hangup(worker, bobs, old_leg),
    ]
    assert alices.pk != bobs.pk


def test_taking_a_call_that_waits_for_the_rooms_pin_keeps_it_out_of_the_conference(
    bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob dialled a room with a PIN and has not entered it
    services.create_room(organisation_id=acme.pk, name="Board room", extension="701", pin="4321")
    call = dial(bob, "701")
    old_leg = live_leg(call, bob)
    commands.clear()

    # when he moves to his desk
    services.take_call(user=bob, call_id=call.pk, channel_name="socket.bob-desk", sdp=OFFER)

    # then the new leg is in the call's own bridge, not the conference's
    new_leg = live_leg(call, bob)
    assert commands == [
        create_leg(worker, call, new_leg, bridge_leg_ids=[], loop=True),
        hangup(worker, call, old_leg),
    ]
    assert Call.objects.get(pk=call.pk).is_awaiting_pin is True


def test_taking_a_call_on_the_device_it_is_on_or_of_someone_else_changes_nothing(
    alice: User, bob: User, carol: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    call = answered_call(alice, bob)
    before = everything()
    commands.clear()

    # when / then
    with pytest.raises(CallError) as same:
        services.take_call(user=bob, call_id=call.pk, channel_name=channel_of(bob), sdp=OFFER)
    assert (same.value.code, same.value.message) == ("refused", "The call is on this device already.")
    with pytest.raises(CallError) as stranger:
        services.take_call(user=carol, call_id=call.pk, channel_name="socket.carol", sdp=OFFER)
    assert stranger.value.code == "not_found"
    assert (everything(), commands) == (before, [])
