"""The mailbox by phone: *86 and 999 (your own), *84 + extension (any, with its PIN), *85 +
extension (its greeting), driven by keypad keys through the call engine."""

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from tests.audio import write_wav
from tests.calls.conftest import OFFER, channel_of, live_leg, online
from toc.accounts.models import User
from toc.calls import selectors, services
from toc.calls.models import Call
from toc.calls.services import CallError
from toc.media.models import MediaWorker
from toc.voicemail import company, pins
from toc.voicemail import services as mailboxes
from toc.voicemail.models import Mailbox, VoicemailMessage

pytestmark = pytest.mark.django_db

PIN = "2580"
MAIN_MENU_EMPTY = [
    "prompt:voicemail-you-have",
    "prompt:digit-0",
    "prompt:voicemail-new-and",
    "prompt:digit-0",
    "prompt:voicemail-old-messages",
    "prompt:voicemail-main-menu",
]


def dial(user: User, destination: str) -> Call:
    return services.place_call(user=user, channel_name=channel_of(user), destination=destination, sdp=OFFER)


def press(user: User, call: Call, keys: str) -> None:
    services.send_dtmf(user=user, call_id=call.pk, digits=keys)


def played(commands: list[dict[str, Any]]) -> list[tuple[list[str], bool]]:
    """What was played, in order: (sounds, whether it hangs up after)."""
    return [(command["sounds"], command["hangup_after"]) for command in commands if command["type"] == "media.play"]


def with_pin(user: User, pin: str = PIN) -> Mailbox:
    return mailboxes.set_pin(user=user, pin=pin)


def leave(user: User, tmp_path: Path, name: str) -> VoicemailMessage:
    message = mailboxes.store_message(
        mailbox=mailboxes.get_mailbox(user=user),
        recording=write_wav(tmp_path / f"{name}.wav", hz=700, seconds=2),
        caller_name=name,
        caller_number="103",
    )
    assert message is not None
    return message


def test_dialling_86_without_a_pin_says_so_and_hangs_up(
    alice: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # when
    call = dial(alice, "*86")

    # then the system answered and plays the reason, then hangs up
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.callee_name, call.callee_number) == ("answered", None, "Voicemail", "*86")
    assert [command["type"] for command in commands] == ["media.create_leg", "media.play"]
    assert played(commands) == [(["prompt:voicemail-no-pin"], True)]
    assert selectors.describe_call(call, viewer=alice)["voicemail"] == "menu"


@pytest.mark.parametrize("code", ["*86", "999"])
def test_a_wrong_then_the_right_pin_opens_the_main_menu(
    alice: User, worker: MediaWorker, commands: list[dict[str, Any]], code: str
) -> None:
    # given
    with_pin(alice)
    call = dial(alice, code)
    assert played(commands) == [(["prompt:voicemail-enter-pin"], False)]

    # when a wrong PIN, then the right one
    press(alice, call, "1111#")
    press(alice, call, PIN + "#")

    # then
    assert played(commands)[1:] == [
        (["prompt:voicemail-pin-wrong", "prompt:voicemail-enter-pin"], False),
        (MAIN_MENU_EMPTY, False),
    ]
    assert Mailbox.objects.get(user=alice).failed_pin_attempts == 0


def test_listening_saving_and_deleting_messages(
    alice: User, worker: MediaWorker, commands: list[dict[str, Any]], tmp_path: Path
) -> None:
    # given two new messages
    with_pin(alice)
    first, second = leave(alice, tmp_path, "First"), leave(alice, tmp_path, "Second")
    call = dial(alice, "*86")
    press(alice, call, PIN + "#")
    commands.clear()

    # when: 1 (new messages), 2 (save the first), 3 (delete the second)
    press(alice, call, "1")
    press(alice, call, "2")
    press(alice, call, "3")

    # then
    assert played(commands) == [
        ([f"file:{first.audio.name}", "prompt:voicemail-message-menu"], False),
        (
            ["prompt:voicemail-message-saved", f"file:{second.audio.name}", "prompt:voicemail-message-menu"],
            False,
        ),
        (
            [
                "prompt:voicemail-message-deleted",
                "prompt:voicemail-no-more-messages",
                "prompt:voicemail-you-have",
                "prompt:digit-0",
                "prompt:voicemail-new-and",
                "prompt:digit-1",
                "prompt:voicemail-old-messages",
                "prompt:voicemail-main-menu",
            ],
            False,
        ),
    ]
    assert list(VoicemailMessage.objects.values_list("pk", "folder")) == [(first.pk, "old")]


def test_recording_the_unavailable_greeting_by_phone_then_hearing_it_with_85(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], tmp_path: Path
) -> None:
    # given alice is in her mailbox options
    with_pin(alice)
    call = dial(alice, "*86")
    leg = live_leg(call, alice)
    press(alice, call, PIN + "#")
    press(alice, call, "0")
    commands.clear()

    # when she presses 1, speaks, presses #, hears it back (2) and accepts it (1)
    press(alice, call, "1")
    recorded = [command for command in commands if command["type"] == "media.record"]
    assert [
        {key: command[key] for key in ("leg_id", "recording_id", "sounds", "max_seconds")} for command in recorded
    ] == [
        {
            "leg_id": str(leg.pk),
            "recording_id": f"{call.pk}-unavailable",
            "sounds": ["prompt:voicemail-record-after-tone", "beep"],
            "max_seconds": 60,
        }
    ]
    press(alice, call, "#")
    assert commands[-1]["type"] == "media.stop_record"
    greeting = write_wav(tmp_path / "g.wav", hz=900, seconds=2)
    services.recording_finished(
        call_id=str(call.pk), recording_id=f"{call.pk}-unavailable", recording=greeting, reason="stopped"
    )
    pending = f"voicemail/pending/{call.pk}-unavailable.wav"
    press(alice, call, "2")
    press(alice, call, "1")

    # then the greeting is hers, and the pending recording is gone
    mailbox = Mailbox.objects.get(user=alice)
    assert mailbox.unavailable_greeting.name
    assert mailbox.unavailable_greeting.read() == greeting.read_bytes()
    assert not default_storage.exists(pending)
    assert played(commands)[-3:] == [
        (["prompt:voicemail-review-menu"], False),
        ([f"file:{pending}", "prompt:voicemail-review-menu"], False),
        (["prompt:voicemail-recording-saved", "prompt:voicemail-options-menu"], False),
    ]

    # and bob dialling *85101 hears it, then is hung up (no PIN asked)
    commands.clear()
    listening = dial(bob, "*85101")
    assert played(commands) == [([f"file:{mailbox.unavailable_greeting.name}"], True)]
    assert Call.objects.get(pk=listening.pk).callee_name == "Voicemail of Alice Tester"


def test_85_plays_the_default_greeting_when_none_was_recorded(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # when
    dial(alice, "*85102")

    # then
    assert played(commands) == [
        (
            [
                "prompt:voicemail-the-person-at",
                "prompt:digit-1",
                "prompt:digit-0",
                "prompt:digit-2",
                "prompt:voicemail-is-not-available",
            ],
            True,
        )
    ]


def test_a_recording_that_reaches_its_longest_length_goes_to_review(
    alice: User,
    worker: MediaWorker,
    commands: list[dict[str, Any]],
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given alice is recording her name
    with_pin(alice)
    call = dial(alice, "*86")
    press(alice, call, PIN + "#")
    press(alice, call, "03")

    # when the worker stops it at the longest length
    name = write_wav(tmp_path / "n.wav", hz=900, seconds=2)
    services.recording_finished(call_id=str(call.pk), recording_id=f"{call.pk}-name", recording=name, reason="limit")

    # then she is asked to review it, and hanging up drops it unaccepted
    assert played(commands)[-1] == (["prompt:voicemail-review-menu"], False)
    pending = f"voicemail/pending/{call.pk}-name.wav"
    assert default_storage.exists(pending)
    with django_capture_on_commit_callbacks(execute=True):
        services.hang_up(user=alice, call_id=call.pk)
    assert not default_storage.exists(pending)
    assert not Mailbox.objects.get(user=alice).name_recording


def test_changing_the_pin_by_phone(alice: User, worker: MediaWorker, commands: list[dict[str, Any]]) -> None:
    # given
    with_pin(alice)
    call = dial(alice, "*86")
    press(alice, call, PIN + "#")

    # when: options, 5, the new PIN twice
    press(alice, call, "05")
    press(alice, call, "4826#4826#")

    # then
    assert played(commands)[-1] == (["prompt:voicemail-pin-changed", "prompt:voicemail-options-menu"], False)
    mailbox = Mailbox.objects.get(user=alice)
    assert mailboxes.verify_pin(mailbox_id=mailbox.pk, pin="4826", caller="test") is pins.PinCheck.ACCEPTED


def test_84_opens_a_colleagues_mailbox_with_their_pin(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    with_pin(bob, "7391")
    call = dial(alice, "*84102")
    assert Call.objects.get(pk=call.pk).callee_name == "Voicemail of Bob Tester"

    # when alice tries her own PIN habits, then bob's PIN
    press(alice, call, PIN + "#")
    press(alice, call, "7391#")

    # then
    assert played(commands)[-1] == (MAIN_MENU_EMPTY, False)
    assert Mailbox.objects.get(user=bob).failed_pin_attempts == 0


def test_84_cannot_reach_another_organisations_mailbox(
    alice: User, carol: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given carol (globex) has extension 101 and a PIN; alice (acme) is 101 too
    with_pin(carol)

    # when alice dials *84 with an extension only globex has
    with pytest.raises(CallError) as refused:
        dial(alice, "*84109")

    # then
    assert refused.value.message == "There is no extension 109 in your organisation."
    assert not Call.objects.exists()


def test_five_wrong_pins_over_separate_calls_lock_the_mailbox(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given three wrong PINs in one call, then the caller hangs up
    with_pin(bob, "7391")
    first = dial(alice, "*84102")
    press(alice, first, "1111#2222#3333#")
    services.hang_up(user=alice, call_id=first.pk)

    # when two more wrong PINs in a second call
    second = dial(alice, "*84102")
    commands.clear()
    press(alice, second, "4444#")
    press(alice, second, "5555#")

    # then the fifth locks the mailbox, says so and hangs up
    assert played(commands) == [
        (["prompt:voicemail-pin-wrong", "prompt:voicemail-enter-pin"], False),
        (["prompt:voicemail-locked"], True),
    ]
    mailbox = Mailbox.objects.get(user=bob)
    assert (mailbox.failed_pin_attempts, mailbox.locked_until is not None) == (5, True)

    # and even the right PIN is refused while it is locked
    third = dial(bob, "*86")
    commands.clear()
    press(bob, third, "7391#")
    assert played(commands) == [(["prompt:voicemail-locked"], True)]


# --- the company greeting (the main number) -------------------------------------------------


@pytest.fixture
def main_number(acme: Any) -> str:
    acme.main_number = "+14165550100"
    acme.save()
    return acme.main_number


def test_the_main_number_plays_the_company_greeting_and_a_choice_rings(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], main_number: str, scheduled: Any
) -> None:
    # given choices: 2 rings bob (102); alice is the greetings manager in the demo sense here
    User.objects.filter(pk=alice.pk).update(is_greetings_manager=True)
    company.set_options(user=User.objects.get(pk=alice.pk), options={"2": "102"})
    online(bob)

    # when alice dials the main number (as an outside caller would)
    call = dial(alice, "416-555-0100")

    # then the system answers with the greeting made of the choices
    call.refresh_from_db()
    assert (call.state, call.callee_name, call.callee_number) == ("answered", "Acme", main_number)
    spoken_102 = ["prompt:digit-1", "prompt:digit-0", "prompt:digit-2"]
    greeting = [
        "prompt:company-welcome",
        "prompt:company-for-extension",
        *spoken_102,
        "prompt:company-press",
        "prompt:digit-2",
    ]
    assert played(commands) == [(greeting, False)]

    # when she presses 7 (no such choice), then 2
    press(alice, call, "7")
    assert played(commands)[-1] == (["prompt:company-not-an-option", *greeting], False)
    press(alice, call, "2")

    # then bob rings, with the caller hearing ringback, and unanswered it goes to his voicemail
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.callee_name) == ("ringing", bob.pk, "Bob Tester")
    assert played(commands)[-1] == (["ringback"], False)
    assert call.ring_deadline is not None
    services.end_unanswered_call(call_id=call.pk, now=call.ring_deadline)
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.voicemail.kind) == ("answered", None, "deposit")


def test_the_main_number_without_choices_or_greeting_says_goodbye(
    alice: User, worker: MediaWorker, commands: list[dict[str, Any]], main_number: str
) -> None:
    dial(alice, main_number)
    assert played(commands) == [(["prompt:company-welcome", "prompt:company-no-choices"], True)]


def test_another_organisations_main_number_needs_a_carrier(
    alice: User, carol: User, worker: MediaWorker, commands: list[dict[str, Any]], globex: Any
) -> None:
    # given globex has a main number
    globex.main_number = "+16135550100"
    globex.save()

    # when alice (acme) dials it, it is an outside call like any other
    with pytest.raises(CallError) as refused:
        dial(alice, "+16135550100")

    # then
    assert refused.value.message == "Outside calls need a phone carrier, and none is configured for your organisation."
    assert not Call.objects.exists()


def test_a_greetings_manager_records_the_company_greeting_by_phone(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], tmp_path: Path, main_number: str
) -> None:
    # given alice manages greetings; bob does not and gets no option 9
    User.objects.filter(pk=alice.pk).update(is_greetings_manager=True)
    alice = User.objects.get(pk=alice.pk)
    with_pin(bob, "7391")
    bobs = dial(bob, "*86")
    press(bob, bobs, "7391#")
    press(bob, bobs, "0")
    assert played(commands)[-1] == (["prompt:voicemail-options-menu"], False)
    press(bob, bobs, "9")
    assert not [command for command in commands if command["type"] == "media.record"]
    services.hang_up(user=bob, call_id=bobs.pk)

    # when alice records it: *86, PIN, 0, 9, speaks, #, 1
    with_pin(alice)
    call = dial(alice, "*86")
    press(alice, call, PIN + "#")
    press(alice, call, "0")
    assert played(commands)[-1] == (["prompt:voicemail-options-menu", "prompt:voicemail-options-company"], False)
    press(alice, call, "9")
    press(alice, call, "#")
    spoken = write_wav(tmp_path / "c.wav", hz=650, seconds=2)
    services.recording_finished(
        call_id=str(call.pk), recording_id=f"{call.pk}-company", recording=spoken, reason="stopped"
    )
    press(alice, call, "1")

    # then callers of the main number hear it
    greeting = company.greeting_of(acme_id(alice))
    assert greeting.audio.read() == spoken.read_bytes()
    assert greeting.updated_by_id == alice.pk
    commands.clear()
    dial(bob, main_number)
    assert played(commands) == [([f"file:{greeting.audio.name}"], False)]


def acme_id(user: User) -> int:
    assert user.organisation_id is not None
    return user.organisation_id


def test_a_quick_hash_and_1_never_says_saved_before_the_recording_is_in(
    alice: User, worker: MediaWorker, commands: list[dict[str, Any]], tmp_path: Path
) -> None:
    # given alice records her name
    with_pin(alice)
    call = dial(alice, "*86")
    press(alice, call, PIN + "#")
    press(alice, call, "03")
    commands.clear()

    # when # and 1 arrive together, before the worker has handed the recording back
    press(alice, call, "#1")

    # then only the stop went out: nothing was said, nothing saved
    assert [command["type"] for command in commands] == ["media.stop_record"]
    assert not Mailbox.objects.get(user=alice).name_recording

    # when the recording is in, she is offered the review, and 1 saves it
    name = write_wav(tmp_path / "n.wav", hz=900, seconds=2)
    services.recording_finished(call_id=str(call.pk), recording_id=f"{call.pk}-name", recording=name, reason="stopped")
    press(alice, call, "1")
    assert played(commands) == [
        (["prompt:voicemail-review-menu"], False),
        (["prompt:voicemail-recording-saved", "prompt:voicemail-options-menu"], False),
    ]
    assert Mailbox.objects.get(user=alice).name_recording.read() == name.read_bytes()


def test_accepting_an_empty_recording_says_nothing_was_recorded(
    alice: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice pressed # before the beep: the worker hands back no recording
    with_pin(alice)
    call = dial(alice, "*86")
    press(alice, call, PIN + "#")
    press(alice, call, "01#")
    services.recording_finished(
        call_id=str(call.pk), recording_id=f"{call.pk}-unavailable", recording=None, reason="stopped"
    )

    # when she accepts
    press(alice, call, "1")

    # then
    assert played(commands)[-1] == (["prompt:voicemail-nothing-recorded", "prompt:voicemail-options-menu"], False)
    assert not Mailbox.objects.get(user=alice).unavailable_greeting
