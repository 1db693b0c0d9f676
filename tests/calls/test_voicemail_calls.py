"""Calls that reach voicemail: no answer, declined, busy, not signed in, transferred there; the
message kept from the worker's recording; the mailbox menu (*86, *84, 999) and greetings (*85)."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.audio import write_wav
from tests.calls.conftest import OFFER, answered_call, channel_of, live_leg, online
from tests.factories import make_user
from toc.accounts.models import Organisation, User
from toc.calls import selectors, services
from toc.calls.models import Call, CallRecord, Leg
from toc.calls.services import CallError
from toc.media.models import MediaWorker
from toc.voicemail import services as mailboxes
from toc.voicemail.models import Mailbox, VoicemailCall, VoicemailMessage

pytestmark = pytest.mark.django_db

DEFAULT_GREETING_102 = [
    "prompt:voicemail-the-person-at",
    "prompt:digit-1",
    "prompt:digit-0",
    "prompt:digit-2",
    "prompt:voicemail-is-not-available",
    "beep",
]


def place(caller: User, destination: str = "102") -> Call:
    return services.place_call(user=caller, channel_name=channel_of(caller), destination=destination, sdp=OFFER)


def record_of(user: User, call: Call) -> tuple[str, str, str]:
    record = CallRecord.objects.get(owner=user, call=call)
    return (record.direction, record.outcome, record.note)


def last_transition(call: Call) -> tuple[str, str, str, str, str]:
    row = call.transitions.order_by("-at", "-id").first()
    assert row is not None
    return (row.from_state, row.event, row.party, row.to_state, row.detail)


def recording_command(commands: list[dict[str, Any]]) -> dict[str, Any]:
    recorded = [command for command in commands if command["type"] == "media.record"]
    assert len(recorded) == 1
    return {key: recorded[0][key] for key in ("call_id", "leg_id", "recording_id", "sounds", "max_seconds")}


def assert_in_voicemail_of(call: Call, owner: User, caller: User) -> None:
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.callee_name, call.callee_number) == (
        "answered",
        None,
        owner.display_name,
        owner.extension,
    )
    assert VoicemailCall.objects.filter(call=call).values_list("mailbox__user_id", flat=True).get() == owner.pk
    seen_by_caller = selectors.describe_call(call, viewer=caller)
    seen_by_owner = selectors.describe_call(call, viewer=owner)
    assert (seen_by_caller["state"], seen_by_caller["voicemail"]) == ("answered", "deposit")
    assert (seen_by_owner["state"], seen_by_owner["end_message"]) == ("ended", "Sent to voicemail.")


# --- going to voicemail -------------------------------------------------------------------


def test_no_answer_within_the_ring_timeout_goes_to_voicemail(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    start = timezone.now()
    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER, now=start)
    leg = live_leg(call, alice)

    # when / then: too early changes nothing; at the deadline the mailbox takes the call
    assert services.end_unanswered_call(call_id=call.pk, now=start + timedelta(seconds=19)) is False
    assert Call.objects.get(pk=call.pk).state == "ringing"
    assert services.end_unanswered_call(call_id=call.pk, now=start + timedelta(seconds=20)) is True
    assert_in_voicemail_of(call, bob, alice)
    assert last_transition(call) == ("ringing", "voicemail", "system", "answered", "no_answer")
    assert record_of(bob, call) == ("missed", "voicemail", "Sent to voicemail.")
    assert [command["type"] for command in commands[-2:]] == ["media.unbridge", "media.record"]
    assert recording_command(commands) == {
        "call_id": str(call.pk),
        "leg_id": str(leg.pk),
        "recording_id": str(call.pk),
        "sounds": DEFAULT_GREETING_102,
        "max_seconds": 180,
    }
    assert services.end_unanswered_call(call_id=call.pk, now=start + timedelta(seconds=21)) is False


def test_a_declined_call_goes_to_voicemail_and_the_callee_files_it_as_incoming(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = place(alice)

    # when
    services.decline_call(user=bob, call_id=call.pk)

    # then
    assert_in_voicemail_of(call, bob, alice)
    assert last_transition(call) == ("ringing", "voicemail", "system", "answered", "declined")
    assert record_of(bob, call) == ("incoming", "voicemail", "Sent to voicemail.")
    assert recording_command(commands)["sounds"] == DEFAULT_GREETING_102


def test_a_callee_without_a_session_gets_voicemail_at_once(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # when
    call = place(alice)

    # then the caller's leg is made, then recorded after the greeting
    assert_in_voicemail_of(call, bob, alice)
    assert last_transition(call) == ("dialing", "voicemail", "system", "answered", "unreachable")
    assert [command["type"] for command in commands] == ["media.create_leg", "media.unbridge", "media.record"]
    assert commands[0]["leg_id"] == str(Leg.objects.get(call=call).pk)
    assert record_of(bob, call) == ("missed", "voicemail", "Sent to voicemail.")


def test_a_busy_callee_who_chose_the_busy_greeting_has_it_played(
    alice: User, bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob already has two live calls (the most a user takes) and recorded a Busy greeting
    online(bob)
    mailbox = mailboxes.get_mailbox(user=bob)
    mailbox.busy_greeting.save("busy.wav", ContentFile(b"RIFF"), save=False)
    mailbox.unavailable_greeting.save("away.wav", ContentFile(b"RIFF"), save=False)
    mailbox.greeting_choice = "busy"
    mailbox.save()
    place(make_user(acme, "dave", extension="104"))
    place(make_user(acme, "erin", extension="105"))
    commands.clear()

    # when
    call = place(alice)

    # then
    assert_in_voicemail_of(call, bob, alice)
    assert last_transition(call)[4] == "busy"
    assert recording_command(commands)["sounds"] == [f"file:{mailbox.busy_greeting.name}", "beep"]


def test_the_unavailable_greeting_is_used_unless_busy_is_chosen_and_the_user_is_on_a_call(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob recorded both greetings but chose the Unavailable one
    online(bob)
    mailbox = mailboxes.get_mailbox(user=bob)
    mailbox.busy_greeting.save("busy.wav", ContentFile(b"RIFF"), save=False)
    mailbox.unavailable_greeting.save("away.wav", ContentFile(b"RIFF"), save=False)
    mailbox.save()
    call = place(alice)

    # when
    services.decline_call(user=bob, call_id=call.pk)

    # then
    assert recording_command(commands)["sounds"] == [f"file:{mailbox.unavailable_greeting.name}", "beep"]


def test_without_a_greeting_the_recorded_name_makes_the_default_one(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    mailbox = mailboxes.get_mailbox(user=bob)
    mailbox.name_recording.save("name.wav", ContentFile(b"RIFF"))
    call = place(alice)

    # when
    services.decline_call(user=bob, call_id=call.pk)

    # then
    assert recording_command(commands)["sounds"] == [
        f"file:{mailbox.name_recording.name}",
        "prompt:voicemail-is-not-available",
        "beep",
    ]


def test_declining_a_waiting_call_sends_it_to_voicemail_and_the_first_call_goes_on(
    alice: User, bob: User, acme: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given bob is in an answered call with alice
    first = answered_call(alice, bob)
    dave = make_user(acme, "dave", extension="104")

    # when dave calls bob, and bob declines
    waiting = place(dave)
    assert Call.objects.get(pk=waiting.pk).state == "ringing"
    services.decline_call(user=bob, call_id=waiting.pk)

    # then
    assert_in_voicemail_of(waiting, bob, dave)
    first.refresh_from_db()
    assert (first.state, first.held_by) == ("answered", "")


def test_an_unanswered_blind_transfer_goes_to_the_targets_voicemail(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[tuple[str, tuple[Any, ...], float]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given bob transferred alice to dave, who does not answer
    online(dave)
    call = answered_call(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.transfer_call(user=bob, call_id=call.pk, destination="103")
    call.refresh_from_db()
    assert call.ring_deadline is not None

    # when
    assert services.end_unanswered_call(call_id=call.pk, now=call.ring_deadline) is True

    # then
    assert_in_voicemail_of(call, dave, alice)
    assert record_of(dave, call) == ("missed", "voicemail", "Sent to voicemail.")
    assert record_of(bob, call) == ("incoming", "transferred", "Transferred to Dave Tester (103).")


def test_an_unanswered_consultation_ends_without_voicemail(
    alice: User,
    bob: User,
    dave: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    scheduled: list[tuple[str, tuple[Any, ...], float]],
) -> None:
    # given bob consults dave about alice's call, and dave does not answer
    online(dave)
    call = answered_call(alice, bob)
    consultation = services.start_consultation(
        user=bob, call_id=call.pk, destination="103", channel_name=channel_of(bob), sdp=OFFER
    )
    consultation.refresh_from_db()
    assert consultation.ring_deadline is not None

    # when
    services.end_unanswered_call(call_id=consultation.pk, now=consultation.ring_deadline)

    # then
    consultation.refresh_from_db()
    assert (consultation.state, consultation.end_reason) == ("ended", "no_answer")
    assert not VoicemailCall.objects.exists()


# --- transfer to voicemail ----------------------------------------------------------------


def test_transfer_to_voicemail_sends_the_other_party_to_the_targets_mailbox(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given (dave need not be signed in)
    call = answered_call(alice, bob)
    bob_leg, alice_leg = live_leg(call, bob), live_leg(call, alice)

    # when bob sends alice to dave's voicemail
    services.transfer_to_voicemail(user=bob, call_id=call.pk, destination="103")

    # then
    assert_in_voicemail_of(call, dave, alice)
    assert last_transition(call) == ("answered", "voicemail", "callee", "answered", "transferred")
    assert Leg.objects.get(pk=bob_leg.pk).state == "ended"
    assert recording_command(commands)["leg_id"] == str(alice_leg.pk)
    assert record_of(bob, call) == (
        "incoming",
        "transferred",
        "Transferred to the voicemail of Dave Tester (103).",
    )
    assert selectors.describe_call(call, viewer=bob)["state"] == "ended"


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("4165550123", "Voicemail transfer works only to users of the system."),
        ("*86", "Voicemail transfer works only to users of the system."),
        ("601", "Voicemail transfer works only to users of the system."),
        ("150", "There is no extension 150 in your organisation."),
        ("101", "Alice Tester is already on this call."),
    ],
)
def test_transfer_to_voicemail_refuses_anything_but_a_colleague_and_changes_nothing(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], destination: str, message: str
) -> None:
    # given
    call = answered_call(alice, bob)
    commands.clear()

    # when
    with pytest.raises(CallError) as refused:
        services.transfer_to_voicemail(user=bob, call_id=call.pk, destination=destination)

    # then
    assert (refused.value.code, refused.value.message) == ("refused", message)
    call.refresh_from_db()
    assert (call.state, call.callee_id, commands) == ("answered", bob.pk, [])
    assert not VoicemailCall.objects.exists()


def test_a_user_of_another_organisation_is_not_a_voicemail_target(
    alice: User, bob: User, globex: Organisation, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given gina has extension 109 in another organisation
    gina = make_user(globex, "gina", extension="109")
    call = answered_call(alice, bob)

    # when / then: bob cannot reach her mailbox
    with pytest.raises(CallError) as refused:
        services.transfer_to_voicemail(user=bob, call_id=call.pk, destination="109")
    assert refused.value.message == "There is no extension 109 in your organisation."
    assert not Mailbox.objects.filter(user=gina).exists()
    assert not VoicemailCall.objects.exists()


def test_a_call_in_voicemail_cannot_be_held_transferred_or_parked(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice is leaving bob a message
    call = place(alice)

    # when / then
    for action, verb in (
        (lambda: services.hold_call(user=alice, call_id=call.pk), "put on hold"),
        (lambda: services.transfer_call(user=alice, call_id=call.pk, destination="103"), "transferred"),
        (lambda: services.park_call(user=alice, call_id=call.pk), "parked"),
    ):
        with pytest.raises(CallError) as refused:
            action()
        assert refused.value.message == f"A call in voicemail cannot be {verb}."


# --- the message ----------------------------------------------------------------------------


def test_hash_stops_the_recording_and_the_message_is_kept_then_goodbye(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], tmp_path: Path
) -> None:
    # given alice is leaving bob a message
    call = place(alice)
    leg = live_leg(call, alice)

    # when she presses #, and the worker hands back 2 s of her voice
    services.send_dtmf(user=alice, call_id=call.pk, digits="#")
    assert commands[-1] == {
        "to": worker.channel_name,
        "type": "media.stop_record",
        "call_id": str(call.pk),
        "leg_id": str(leg.pk),
    }
    recording = write_wav(tmp_path / "r.wav", hz=700, seconds=2)
    services.recording_finished(call_id=str(call.pk), recording_id=str(call.pk), recording=recording, reason="stopped")

    # then the message is bob's, new, with alice as the caller; she hears goodbye and is hung up
    message = VoicemailMessage.objects.get()
    assert (message.mailbox.user_id, message.folder, message.caller_id, message.caller_name, message.caller_number) == (
        bob.pk,
        "new",
        alice.pk,
        "Alice Tester",
        "101",
    )
    assert (message.duration_seconds, message.call_id) == (2.0, call.pk)
    assert record_of(bob, call) == ("missed", "voicemail", "Left a voicemail (2 s).")
    assert {key: commands[-1][key] for key in ("type", "leg_ids", "sounds", "hangup_after")} == {
        "type": "media.play",
        "leg_ids": [str(leg.pk)],
        "sounds": ["prompt:voicemail-deposit-saved"],
        "hangup_after": True,
    }

    # and a second report of the same recording changes nothing
    commands.clear()
    services.recording_finished(call_id=str(call.pk), recording_id=str(call.pk), recording=recording, reason="stopped")
    assert (VoicemailMessage.objects.count(), commands) == (1, [])


def test_a_silent_message_is_dropped_and_the_caller_hears_goodbye(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], tmp_path: Path
) -> None:
    # given
    call = place(alice)
    silent = write_wav(tmp_path / "s.wav", hz=700, seconds=3, amplitude=0.0)

    # when the longest message length passed
    services.recording_finished(call_id=str(call.pk), recording_id=str(call.pk), recording=silent, reason="limit")

    # then
    assert not VoicemailMessage.objects.exists()
    assert record_of(bob, call) == ("missed", "voicemail", "Sent to voicemail.")
    assert commands[-1]["sounds"] == ["prompt:voicemail-goodbye"]


def test_hanging_up_while_recording_keeps_the_message(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], tmp_path: Path
) -> None:
    # given alice is leaving bob a message
    call = place(alice)

    # when she hangs up, and then the worker reports the recording
    services.hang_up(user=alice, call_id=call.pk)
    commands.clear()
    recording = write_wav(tmp_path / "r.wav", hz=700, seconds=3)
    services.recording_finished(call_id=str(call.pk), recording_id=str(call.pk), recording=recording, reason="hangup")

    # then
    call.refresh_from_db()
    assert (call.state, call.end_reason) == ("ended", "completed")
    assert VoicemailMessage.objects.get().duration_seconds == 3.0
    assert commands == []
    assert record_of(alice, call)[:2] == ("outgoing", "completed")


def test_placing_another_call_ends_your_own_voicemail_call_and_the_message_is_kept(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice is leaving bob a message
    call = place(alice)

    # when she calls dave
    online(dave)
    other = place(alice, "103")

    # then
    call.refresh_from_db()
    assert (call.state, Call.objects.get(pk=other.pk).state) == ("ended", "ringing")


# --- Phone DND ------------------------------------------------------------------------------


def test_phone_dnd_sends_every_call_straight_to_voicemail_until_it_is_off(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    # given bob is signed in, with Phone DND on
    online(bob)
    services.set_phone_dnd(user=bob, enabled=True)
    assert events[-1] == {
        "type": "call.phone_dnd_changed",
        "enabled": True,
        "user_ids": [bob.pk],
        "organisation_id": None,
    }

    # when alice calls him, he is never rung: the mailbox answers
    call = place(alice)
    assert_in_voicemail_of(call, bob, alice)
    assert [row.to_state for row in call.transitions.order_by("at", "id")] == ["dialing", "dialing", "answered"]
    assert last_transition(call)[4] == "dnd"
    services.hang_up(user=alice, call_id=call.pk)

    # when he turns it off, calls ring again
    services.set_phone_dnd(user=bob, enabled=False)
    assert Call.objects.get(pk=place(alice).pk).state == "ringing"


def test_phone_dnd_api(bob: User, bob_client: Any, carol_client: Any) -> None:
    # when / then
    assert bob_client.get("/api/calls/phone-dnd/").json() == {"enabled": False}
    assert bob_client.put("/api/calls/phone-dnd/", {"enabled": True}, format="json").json() == {"enabled": True}
    assert User.objects.get(pk=bob.pk).phone_dnd is True
    assert bob_client.get("/api/me/").json()["phone_dnd"] is True
    refused = bob_client.put("/api/calls/phone-dnd/", {"enabled": "off"}, format="json")
    assert (refused.status_code, refused.json()["errors"]) == (400, {"enabled": ["Phone DND is true or false."]})
    assert User.objects.get(pk=bob.pk).phone_dnd is True
    # another organisation's user only ever changes their own
    assert carol_client.put("/api/calls/phone-dnd/", {"enabled": False}, format="json").status_code == 200
    assert User.objects.get(pk=bob.pk).phone_dnd is True
