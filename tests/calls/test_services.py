"""Call services against the database: placing, ringing, answering, ending, history, failures."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.calls.conftest import OFFER, online
from tests.factories import make_user
from toc.accounts.models import Organisation, User
from toc.calls import services
from toc.calls.models import Call, CallRecord, CallTransition, Leg
from toc.calls.services import CallError
from toc.media.models import MediaWorker

pytestmark = pytest.mark.django_db


def transitions(call: Call) -> list[tuple[str, str, str, str]]:
    return [(row.event, row.party, row.from_state, row.to_state) for row in CallTransition.objects.filter(call=call)]


def place(caller: User, destination: str = "102", channel: str = "socket.caller") -> Call:
    return services.place_call(user=caller, channel_name=channel, destination=destination, sdp=OFFER)


def test_placing_a_call_rings_the_callee_and_plays_ringback_to_the_caller(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)

    # when
    call = place(alice)

    # then
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id, call.media_worker_id) == (
        "ringing",
        alice.pk,
        bob.pk,
        worker.pk,
    )
    assert (call.caller_name, call.caller_number, call.callee_name, call.callee_number) == (
        "Alice Tester",
        "101",
        "Bob Tester",
        "102",
    )
    assert call.ringing_at is not None
    assert call.ring_deadline == call.ringing_at + timedelta(seconds=20)
    leg = Leg.objects.get(call=call)
    assert (leg.user_id, leg.party, leg.channel_name, leg.state) == (alice.pk, "caller", "socket.caller", "new")
    assert commands == [
        {
            "to": worker.channel_name,
            "type": "media.create_leg",
            "call_id": str(call.pk),
            "leg_id": str(leg.pk),
            "sdp": OFFER,
            "reply_channel": "socket.caller",
            "bridge_id": str(call.pk),
            "bridge_leg_ids": [],
            "sounds": ["ringback"],
            "loop": True,
        }
    ]
    assert transitions(call) == [
        ("create", "caller", "", "dialing"),
        ("route", "system", "dialing", "dialing"),
        ("ring", "system", "dialing", "ringing"),
    ]


def test_answering_bridges_the_new_leg_with_the_caller(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice)
    caller_leg = Leg.objects.get(call=call)

    # when
    services.answer_call(user=bob, call_id=str(call.pk), channel_name="socket.bob", sdp=OFFER)

    # then
    call.refresh_from_db()
    assert call.state == "answered"
    assert call.answered_at is not None
    callee_leg = Leg.objects.get(call=call, party="callee")
    assert commands[-1] == {
        "to": worker.channel_name,
        "type": "media.create_leg",
        "call_id": str(call.pk),
        "leg_id": str(callee_leg.pk),
        "sdp": OFFER,
        "reply_channel": "socket.bob",
        "bridge_id": str(call.pk),
        "bridge_leg_ids": [str(caller_leg.pk)],
        "sounds": [],
        "loop": False,
    }


def test_only_the_callee_answers_and_only_once(
    alice: User, bob: User, carol: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice)

    # when / then: the caller cannot answer their own call
    with pytest.raises(CallError) as caller_answers:
        services.answer_call(user=alice, call_id=call.pk, channel_name="socket.a2", sdp=OFFER)
    assert caller_answers.value.code == "conflict"
    # someone of another organisation cannot even see it
    with pytest.raises(CallError) as stranger_answers:
        services.answer_call(user=carol, call_id=call.pk, channel_name="socket.c", sdp=OFFER)
    assert (stranger_answers.value.code, stranger_answers.value.message) == (
        "not_found",
        "That call does not exist or is not yours.",
    )
    services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b1", sdp=OFFER)
    with pytest.raises(CallError) as second_answer:
        services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b2", sdp=OFFER)
    assert (second_answer.value.code, second_answer.value.message) == ("conflict", "That call was already answered.")
    assert Leg.objects.filter(call=call, party="callee").count() == 1


def test_the_caller_cancelling_is_a_missed_call_for_the_callee(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice)

    # when
    services.hang_up(user=alice, call_id=call.pk)

    # then
    call.refresh_from_db()
    assert (call.state, call.end_reason) == ("ended", "cancelled")
    bob_record = CallRecord.objects.get(owner=bob)
    assert (bob_record.direction, bob_record.outcome, bob_record.is_seen) == ("missed", "cancelled", False)
    assert (bob_record.counterpart_name, bob_record.counterpart_number) == ("Alice Tester", "101")


def test_the_callee_cannot_cancel_a_ringing_call_but_declines_it(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice)

    # when / then
    with pytest.raises(CallError) as error:
        services.hang_up(user=bob, call_id=call.pk)
    assert error.value.code == "conflict"
    call.refresh_from_db()
    assert call.state == "ringing"


def test_hanging_up_an_answered_call_completes_it_with_its_duration(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    start = timezone.now()
    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER, now=start)
    services.answer_call(
        user=bob, call_id=call.pk, channel_name="socket.b", sdp=OFFER, now=start + timedelta(seconds=4)
    )

    # when
    services.hang_up(user=bob, call_id=call.pk, now=start + timedelta(seconds=69))

    # then
    call.refresh_from_db()
    assert (call.state, call.end_reason) == ("ended", "completed")
    assert sorted(commands[-1]["leg_ids"]) == sorted(str(leg.pk) for leg in Leg.objects.filter(call=call))
    record = CallRecord.objects.get(owner=alice)
    assert record.answered_at is not None
    assert (record.direction, record.outcome, (record.ended_at - record.answered_at).seconds) == (
        "outgoing",
        "completed",
        65,
    )
    assert CallRecord.objects.get(owner=bob).direction == "incoming"
    with pytest.raises(CallError) as again:
        services.hang_up(user=alice, call_id=call.pk)
    assert (again.value.code, again.value.message) == ("conflict", "That call has already ended.")


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("150", "There is no extension 150 in your organisation."),
        ("101", "That is your own extension."),
        ("601", "No call is parked at 601."),
        ("799", "There is no conference room 799 in your organisation."),
        ("*84150", "There is no extension 150 in your organisation."),
        ("4165550123", "Outside calls need a phone carrier, and none is configured for your organisation."),
        (
            "911",
            "Emergency calls need a phone carrier, and none is configured for your organisation. "
            "Call 911 from another phone now.",
        ),
        ("hello", "A number can hold only digits, *, # and a leading +."),
    ],
)
def test_refused_destinations_create_nothing(
    alice: User,
    globex: Organisation,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    destination: str,
    message: str,
) -> None:
    # given: extension 150 exists, but in another organisation
    online(make_user(globex, "dave", extension="150"))

    # when
    with pytest.raises(CallError) as error:
        place(alice, destination)

    # then
    assert (error.value.code, error.value.message) == ("refused", message)
    assert Call.objects.count() == 0
    assert commands == []


@pytest.mark.parametrize(
    ("sdp", "message"),
    [
        ("", "The call offer is missing."),
        (None, "The call offer is missing."),
        ("hello world", "The call offer is not valid SDP."),
        (OFFER.replace("m=audio", "m=video"), "The call offer has no audio."),
        (
            "\r\n".join(line for line in OFFER.split("\r\n") if "fingerprint" not in line),
            "The call offer has no DTLS fingerprint.",
        ),
        (OFFER + "a=x:" + "y" * 20000, "The call offer is too large."),
    ],
)
def test_malformed_offers_create_nothing(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], sdp: Any, message: str
) -> None:
    # given
    online(bob)

    # when
    with pytest.raises(CallError) as error:
        services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=sdp)

    # then
    assert (error.value.code, error.value.message) == ("invalid", message)
    assert Call.objects.count() == 0
    assert commands == []


def test_no_media_capacity_means_system_busy_and_nothing_created(
    alice: User, bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given: the only worker holds one call, its capacity
    online(bob)
    worker.capacity = 1
    worker.save()
    place(make_user(acme, "dave", extension="104"))

    # when
    with pytest.raises(CallError) as error:
        place(alice)

    # then
    assert (error.value.code, error.value.message) == (
        "busy_system",
        "The phone system is busy. Try again in a moment.",
    )
    assert Call.objects.count() == 1


def test_a_dead_worker_is_never_picked(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    MediaWorker.objects.filter(pk=worker.pk).update(last_seen_at=timezone.now() - timedelta(seconds=60))

    # when / then
    with pytest.raises(CallError) as error:
        place(alice)
    assert error.value.code == "busy_system"


def test_the_least_loaded_worker_takes_the_call(
    alice: User, bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    second = MediaWorker.objects.create(
        name="worker-2", channel_name="media.worker-2!y", hostname="t", pid=2, capacity=12, last_seen_at=timezone.now()
    )
    first_call = place(make_user(acme, "dave", extension="104"))

    # when
    call = place(alice)

    # then
    assert (first_call.media_worker_id, call.media_worker_id) == (worker.pk, second.pk)


def test_calls_of_a_dead_worker_fail_and_users_are_told_why(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice)
    services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b", sdp=OFFER)
    MediaWorker.objects.filter(pk=worker.pk).update(last_seen_at=timezone.now() - timedelta(seconds=30))

    # when
    failed = services.sweep_dead_workers()

    # then
    call.refresh_from_db()
    assert failed == 1
    assert (call.state, call.end_reason, call.end_detail) == (
        "ended",
        "failed",
        "The media server stopped, so the call ended.",
    )
    assert not MediaWorker.objects.exists()
    assert transitions(call)[-1] == ("fail", "system", "answered", "ended")


def test_dtmf_needs_an_answered_call_and_keypad_characters(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice)

    # when / then
    with pytest.raises(CallError) as early:
        services.send_dtmf(user=alice, call_id=call.pk, digits="5")
    assert early.value.code == "conflict"
    services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b", sdp=OFFER)
    for digits in ["", "12a", "5" * 33, 5, None]:
        with pytest.raises(CallError) as bad:
            services.send_dtmf(user=alice, call_id=call.pk, digits=digits)
        assert bad.value.code == "invalid"
    services.send_dtmf(user=alice, call_id=call.pk, digits="5#")
    assert commands[-1] == {
        "to": worker.channel_name,
        "type": "media.dtmf",
        "call_id": str(call.pk),
        "leg_id": str(Leg.objects.get(call=call, party="caller").pk),
        "digits": "5#",
    }


def test_ice_candidates_only_from_the_socket_that_holds_the_leg(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice, channel="socket.a")
    leg = Leg.objects.get(call=call)
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}

    # when / then
    for user, channel, leg_id in [(alice, "socket.other", leg.pk), (bob, "socket.a", leg.pk), (alice, "socket.a", "x")]:
        with pytest.raises(CallError) as error:
            services.add_ice_candidate(user=user, leg_id=str(leg_id), channel_name=channel, candidate=candidate)
        assert error.value.code == "not_found"
    with pytest.raises(CallError) as malformed:
        services.add_ice_candidate(user=alice, leg_id=str(leg.pk), channel_name="socket.a", candidate={"candidate": 5})
    assert malformed.value.code == "invalid"
    sent_before = len(commands)
    services.add_ice_candidate(user=alice, leg_id=str(leg.pk), channel_name="socket.a", candidate=candidate)
    assert commands[sent_before:] == [
        {
            "to": worker.channel_name,
            "type": "media.ice",
            "call_id": str(call.pk),
            "leg_id": str(leg.pk),
            "candidate": candidate,
        }
    ]


def test_a_lost_socket_keeps_the_leg_for_the_grace_time_then_hangs_up(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], settings: Any
) -> None:
    # given
    settings.CALL_RECONNECT_GRACE_SECONDS = 10
    online(bob)
    call = place(alice, channel="socket.a")
    services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b", sdp=OFFER)
    start = timezone.now()

    # when: alice's socket drops; within the grace time nothing ends
    assert services.detach_socket(channel_name="socket.a", now=start) == 1
    assert services.end_detached_legs(now=start + timedelta(seconds=5)) == 0
    # bob's socket drops too, and comes back in time on another socket
    services.detach_socket(channel_name="socket.b", now=start)
    bob_leg = Leg.objects.get(call=call, party="callee")
    services.reclaim_leg(user=bob, leg_id=str(bob_leg.pk), channel_name="socket.b2")
    assert services.end_detached_legs(now=start + timedelta(seconds=11)) == 1

    # then
    call.refresh_from_db()
    assert (call.state, call.end_reason) == ("ended", "completed")
    assert transitions(call)[-1] == ("hangup", "caller", "answered", "ended")


def test_someone_else_cannot_reclaim_a_leg(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice, channel="socket.a")
    leg = Leg.objects.get(call=call)

    # when / then
    with pytest.raises(CallError) as error:
        services.reclaim_leg(user=bob, leg_id=str(leg.pk), channel_name="socket.b")
    assert error.value.code == "not_found"
    leg.refresh_from_db()
    assert leg.channel_name == "socket.a"


def test_a_failed_leg_fails_the_call(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice)
    leg = Leg.objects.get(call=call)

    # when
    services.leg_connected(leg_id=str(leg.pk))
    services.leg_failed(leg_id=str(leg.pk), detail="The call's audio connection failed.")

    # then
    call.refresh_from_db()
    leg.refresh_from_db()
    assert (call.state, call.end_reason, call.end_detail) == ("ended", "failed", "The call's audio connection failed.")
    assert leg.state == "ended"
    assert leg.connected_at is not None


def test_a_caller_with_calls_in_progress_cannot_start_more(
    alice: User, bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given: alice has two live calls
    online(bob)
    online(make_user(acme, "dave", extension="104"))
    place(alice, "102")
    place(alice, "104")

    # when
    with pytest.raises(CallError) as error:
        place(alice, "102")

    # then
    assert (error.value.code, error.value.message) == (
        "conflict",
        "You already have calls in progress; hang one up first.",
    )
    assert Call.objects.filter(caller=alice).count() == 2


def test_a_leg_whose_media_closed_by_itself_hangs_up_the_call(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given an answered call
    online(bob)
    call = place(alice)
    services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b", sdp=OFFER)
    callee_leg = Leg.objects.get(call=call, party="callee")

    # when the engine reports bob's leg closed without anyone hanging up (consent expired)
    services.leg_closed(leg_id=str(callee_leg.pk))

    # then that party hung up: the call ends for both, and the other leg is hung up too
    call.refresh_from_db()
    assert (call.state, call.end_reason) == ("ended", "completed")
    assert transitions(call)[-1] == ("hangup", "callee", "answered", "ended")
    assert commands[-1]["type"] == "media.hangup"
    assert set(Leg.objects.filter(call=call).values_list("state", flat=True)) == {"ended"}


def test_a_leg_closed_after_our_own_hang_up_changes_nothing(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given a call that alice hung up
    online(bob)
    call = place(alice)
    leg = Leg.objects.get(call=call)
    services.hang_up(user=alice, call_id=call.pk)
    transitions_before = CallTransition.objects.filter(call=call).count()

    # when the engine confirms the leg closed
    services.leg_closed(leg_id=str(leg.pk))

    # then
    call.refresh_from_db()
    assert (call.end_reason, CallTransition.objects.filter(call=call).count()) == ("cancelled", transitions_before)
