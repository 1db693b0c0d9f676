"""Races: two sessions answering the same call at once, or an answer racing the ring timeout,
end with exactly one winner (row locks on PostgreSQL, IMMEDIATE transactions on SQLite)."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django import db

from tests.calls.conftest import OFFER, online
from toc.accounts.models import User
from toc.calls import services
from toc.calls.models import Call, Leg
from toc.calls.services import CallError
from toc.media.models import MediaWorker

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions on their own threads (own connections), released together."""
    start = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        start.wait(timeout=10)
        try:
            results[index] = action()
        except CallError as error:
            results[index] = error.code
        finally:
            db.connections.close_all()

    threads = [threading.Thread(target=run, args=(index, action)) for index, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_sessions_answering_at_once_one_wins(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], attempt: int
) -> None:
    # given
    online(bob)
    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER)

    # when
    results = at_once(
        lambda: services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b1", sdp=OFFER),
        lambda: services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b2", sdp=OFFER),
    )

    # then
    assert sorted(isinstance(result, Call) for result in results) == [False, True]
    assert "conflict" in results
    assert Leg.objects.filter(call=call, party="callee").count() == 1
    assert Call.objects.get(pk=call.pk).state == "answered"


def test_decline_and_cancel_at_once_one_wins(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER)

    # when bob declines as alice hangs up
    results = at_once(
        lambda: services.decline_call(user=bob, call_id=call.pk),
        lambda: services.hang_up(user=alice, call_id=call.pk),
    )

    # then either the decline won (the call went to voicemail, where alice hung up) or the
    # cancel did (the decline is a conflict); the call ended once either way
    stored = Call.objects.get(pk=call.pk)
    if isinstance(results[0], Call):
        assert isinstance(results[1], Call)
        assert (stored.state, stored.end_reason, stored.voicemail.kind) == ("ended", "completed", "deposit")
    else:
        assert (results[0], isinstance(results[1], Call)) == ("conflict", True)
        assert (stored.state, stored.end_reason) == ("ended", "cancelled")
    assert [command["type"] for command in commands].count("media.hangup") == 1


# --- call handling ------------------------------------------------------------------------
# (Imports are local here: this part was appended to the module.)


def answered_call(caller: User, callee: User) -> Call:
    from tests.calls.conftest import answered_call as answered

    return answered(caller, callee)


def outcomes_of(call: Call) -> dict[int, str]:
    """Each history line's outcome for the call, by owner."""
    from toc.calls.models import CallRecord

    return {record.owner_id: record.outcome for record in CallRecord.objects.filter(call=call)}


def parked_notes() -> list[str]:
    from toc.calls.models import CallRecord

    return sorted(CallRecord.objects.filter(outcome="parked").values_list("note", flat=True))


@pytest.mark.parametrize("attempt", range(3))
def test_two_pickups_of_one_parked_call_have_exactly_one_winner(
    alice: User,
    bob: User,
    dave: User,
    erin: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    attempt: int,
) -> None:
    # given bob parked alice at 601
    call = answered_call(alice, bob)
    services.park_call(user=bob, call_id=call.pk)

    # when dave and erin dial 601 at once
    results = at_once(
        lambda: services.place_call(user=dave, channel_name="socket.dave", destination="601", sdp=OFFER),
        lambda: services.place_call(user=erin, channel_name="socket.erin", destination="601", sdp=OFFER),
    )

    # then one talks to alice, the other is told nothing is parked there
    assert sorted(isinstance(result, Call) for result in results) == [False, True]
    assert "refused" in results
    winner = dave if isinstance(results[0], Call) else erin
    stored = Call.objects.get(pk=call.pk)
    assert (stored.state, stored.caller_id, stored.callee_id, stored.park_slot) == (
        "answered",
        alice.pk,
        winner.pk,
        "",
    )
    assert sorted(Leg.objects.filter(call=call).exclude(state="ended").values_list("user_id", flat=True)) == sorted(
        [alice.pk, winner.pk]
    )
    assert Call.objects.count() == 1
    assert [command["type"] for command in commands].count("media.create_leg") == 3  # alice, bob, the winner


@pytest.mark.parametrize("attempt", range(3))
def test_a_transfer_racing_the_other_sides_hang_up_ends_consistently(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    attempt: int,
) -> None:
    # given
    online(dave)
    call = answered_call(alice, bob)

    # when bob transfers alice to dave as alice hangs up
    transferred, hung_up = at_once(
        lambda: services.transfer_call(user=bob, call_id=call.pk, destination="103"),
        lambda: services.hang_up(user=alice, call_id=call.pk),
    )

    # then either the hang-up came first and the transfer found the call ended, or the
    # transfer came first and alice's hang-up cancelled the call ringing dave
    stored = Call.objects.get(pk=call.pk)
    records = outcomes_of(call)
    assert isinstance(hung_up, Call)
    if transferred == "conflict":
        assert (stored.state, stored.end_reason, stored.callee_id) == ("ended", "completed", bob.pk)
        assert records == {alice.pk: "completed", bob.pk: "completed"}
    else:
        assert isinstance(transferred, Call)
        assert (stored.state, stored.end_reason, stored.callee_id) == ("ended", "cancelled", dave.pk)
        assert records == {alice.pk: "cancelled", bob.pk: "transferred", dave.pk: "cancelled"}
    assert not Leg.objects.filter(call=call).exclude(state="ended").exists()


@pytest.mark.parametrize("attempt", range(3))
def test_two_parks_at_once_take_two_different_slots(
    alice: User,
    bob: User,
    dave: User,
    erin: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    attempt: int,
) -> None:
    # given two calls in one organisation
    first = answered_call(alice, bob)
    second = answered_call(dave, erin)

    # when both are parked at once
    results = at_once(
        lambda: services.park_call(user=bob, call_id=first.pk),
        lambda: services.park_call(user=erin, call_id=second.pk),
    )

    # then
    assert [isinstance(result, Call) for result in results] == [True, True]
    slots = dict(Call.objects.filter(state="parked").values_list("pk", "park_slot"))
    assert sorted(slots.values()) == ["601", "602"]
    assert set(slots) == {first.pk, second.pk}
    assert parked_notes() == ["Parked at 601.", "Parked at 602."]


@pytest.mark.parametrize("attempt", range(3))
def test_a_pickup_racing_the_ring_back_has_one_winner(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    attempt: int,
) -> None:
    # given a parked call whose park timeout has just passed
    call = answered_call(alice, bob)
    services.park_call(user=bob, call_id=call.pk)
    deadline = Call.objects.get(pk=call.pk).park_deadline
    assert deadline is not None

    # when dave dials 601 as the ring-back task runs
    picked, rang_back = at_once(
        lambda: services.place_call(user=dave, channel_name="socket.dave", destination="601", sdp=OFFER),
        lambda: services.ring_back_parked_call(call_id=call.pk, now=deadline),
    )

    # then
    stored = Call.objects.get(pk=call.pk)
    if isinstance(picked, Call):
        assert (rang_back, stored.state, stored.callee_id) == (False, "answered", dave.pk)
    else:
        assert (picked, rang_back, stored.state, stored.callee_id) == ("refused", True, "ringing", bob.pk)


@pytest.mark.parametrize("attempt", range(3))
def test_completing_a_transfer_racing_the_held_callers_hang_up_ends_consistently(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    attempt: int,
) -> None:
    # given bob consulted dave, who answered
    online(dave)
    original = answered_call(alice, bob)
    consultation = services.start_consultation(
        user=bob, call_id=original.pk, destination="103", channel_name="socket.bob", sdp=OFFER
    )
    services.answer_call(user=dave, call_id=consultation.pk, channel_name="socket.dave", sdp=OFFER)

    # when bob completes the transfer as alice hangs up
    completed, hung_up = at_once(
        lambda: services.complete_transfer(user=bob, call_id=consultation.pk),
        lambda: services.hang_up(user=alice, call_id=original.pk),
    )

    # then the original call has ended either way; the consultation goes on only if alice won
    assert isinstance(hung_up, Call)
    stored_original = Call.objects.get(pk=original.pk)
    stored_consultation = Call.objects.get(pk=consultation.pk)
    assert (stored_original.state, stored_original.end_reason) == ("ended", "completed")
    if completed == "conflict":
        assert (stored_original.callee_id, stored_consultation.state) == (bob.pk, "answered")
        assert Leg.objects.filter(call=consultation).exclude(state="ended").count() == 2
    else:
        assert isinstance(completed, Call)
        assert (stored_original.callee_id, stored_consultation.state) == (dave.pk, "ended")
        assert not Leg.objects.exclude(state="ended").exists()


@pytest.mark.parametrize("attempt", range(3))
def test_two_consultations_of_one_call_at_once_ring_one_person(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[Any],
    attempt: int,
) -> None:
    # given
    online(dave)
    original = answered_call(alice, bob)

    # when bob's Consult goes out twice at once
    results = at_once(
        *[
            lambda: services.start_consultation(
                user=bob, call_id=original.pk, destination="103", channel_name="socket.bob", sdp=OFFER
            )
        ]
        * 2
    )

    # then
    assert sorted(isinstance(result, Call) for result in results) == [False, True]
    assert "refused" in results
    assert Call.objects.filter(consult_for=original).count() == 1
    assert Call.objects.get(pk=original.pk).held_by == "callee"


# --- voicemail ----------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(3))
def test_an_answer_racing_the_ring_timeout_either_answers_or_goes_to_voicemail(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], attempt: int
) -> None:
    # given a call at its ring deadline
    from toc.voicemail.models import VoicemailCall

    online(bob)
    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER)
    call.refresh_from_db()

    # when bob answers as the timeout sends it to voicemail
    results = at_once(
        lambda: services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b", sdp=OFFER),
        lambda: services.end_unanswered_call(call_id=call.pk, now=call.ring_deadline),
    )

    # then exactly one of them happened
    stored = Call.objects.get(pk=call.pk)
    if isinstance(results[0], Call):
        assert (results[1], stored.callee_id, VoicemailCall.objects.count()) == (False, bob.pk, 0)
    else:
        assert results[0] in ("conflict", "not_found")
        assert (results[1], stored.callee_id, VoicemailCall.objects.count()) == (True, None, 1)
    assert stored.state == "answered"
    assert [command["type"] for command in commands].count("media.record") == (0 if stored.callee_id else 1)


@pytest.mark.parametrize("attempt", range(3))
def test_hash_and_hang_up_at_once_keep_the_message_once(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], attempt: int, tmp_path: Any
) -> None:
    # given alice is leaving bob (not signed in) a message, and the worker reports it twice at once
    from tests.audio import write_wav
    from toc.voicemail.models import VoicemailMessage

    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER)
    recording = write_wav(tmp_path / "r.wav", hz=700, seconds=2)

    # when
    at_once(
        lambda: services.recording_finished(
            call_id=str(call.pk), recording_id=str(call.pk), recording=recording, reason="stopped"
        ),
        lambda: services.recording_finished(
            call_id=str(call.pk), recording_id=str(call.pk), recording=recording, reason="hangup"
        ),
        lambda: services.hang_up(user=alice, call_id=call.pk),
    )

    # then one message, and the call ended
    assert VoicemailMessage.objects.count() == 1
    assert Call.objects.get(pk=call.pk).state == "ended"
