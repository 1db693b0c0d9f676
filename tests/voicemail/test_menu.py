"""The voicemail phone menu as a pure state machine: keys in, exact actions out."""

from toc.voicemail import menu as m
from toc.voicemail.menu import (
    CheckPin,
    DeleteMessage,
    HangUp,
    Key,
    Menu,
    PinResult,
    PlayMessage,
    PlayRecording,
    Record,
    Recording,
    RecordingDone,
    SaveMessage,
    SaveRecording,
    SaveResult,
    Say,
    SetPin,
    Step,
    StopRecording,
)

MAIN_2_NEW_1_OLD = Say(
    (
        "voicemail-you-have",
        "digit-2",
        "voicemail-new-and",
        "digit-1",
        "voicemail-old-messages",
        "voicemail-main-menu",
    )
)


def press(menu: Menu, keys: str) -> tuple[Menu, list[m.Action]]:
    actions: list[m.Action] = []
    for key in keys:
        menu, more = m.handle(menu, Key(key))
        actions += more
    return menu, actions


def signed_in(new: tuple[str, ...] = ("n1", "n2"), old: tuple[str, ...] = ("o1",)) -> Menu:
    menu, _ = m.start(extension="104", new=new, old=old)
    menu, _ = press(menu, "2580#")
    menu, _ = m.handle(menu, PinResult(accepted=True))
    return menu


def test_it_asks_for_the_pin_and_checks_it_on_hash() -> None:
    # when
    menu, greeting = m.start(extension="104", new=("n1",), old=())
    menu, actions = press(menu, "25*2580#")

    # then * cleared the first digits; only the PIN typed after it is checked
    assert greeting == [Say(("voicemail-enter-pin",))]
    assert actions == [CheckPin("2580")]
    assert menu.step is Step.CHECKING_PIN


def test_a_right_pin_opens_the_main_menu_with_the_counts() -> None:
    # given
    menu, _ = m.start(extension="104", new=("n1", "n2"), old=("o1",))
    menu, _ = press(menu, "2580#")

    # when
    menu, actions = m.handle(menu, PinResult(accepted=True))

    # then
    assert (menu.step, actions) == (Step.MAIN, [MAIN_2_NEW_1_OLD])


def test_a_wrong_pin_asks_again_and_a_locked_mailbox_says_goodbye() -> None:
    # given
    menu, _ = m.start(extension="104", new=(), old=())
    menu, _ = press(menu, "1111#")

    # when / then
    menu, actions = m.handle(menu, PinResult(accepted=False))
    assert (menu.step, actions) == (Step.PIN, [Say(("voicemail-pin-wrong", "voicemail-enter-pin"))])
    menu, _ = press(menu, "2222#")
    menu, actions = m.handle(menu, PinResult(accepted=False, locked=True))
    assert (menu.step, actions) == (Step.GOODBYE, [Say(("voicemail-locked",)), HangUp()])
    assert m.handle(menu, Key("1")) == (menu, [])


def test_a_pin_result_out_of_turn_changes_nothing() -> None:
    menu = signed_in()
    assert m.handle(menu, PinResult(accepted=True)) == (menu, [])


def test_listening_to_new_messages_save_delete_and_next() -> None:
    # given two new messages and one old
    menu = signed_in()

    # when 1 (new messages): the first plays
    menu, actions = press(menu, "1")
    assert actions == [PlayMessage("n1"), Say(("voicemail-message-menu",))]

    # when 2 (save): it moves to the old messages and the next new one plays
    menu, actions = press(menu, "2")
    assert actions == [
        SaveMessage("n1"),
        Say(("voicemail-message-saved",)),
        PlayMessage("n2"),
        Say(("voicemail-message-menu",)),
    ]
    assert (menu.new, menu.old) == (("n2",), ("o1", "n1"))

    # when 1 (replay)
    menu, actions = press(menu, "1")
    assert actions == [PlayMessage("n2"), Say(("voicemail-message-menu",))]

    # when 3 (delete): nothing is left among the new messages, so back to the main menu
    menu, actions = press(menu, "3")
    assert actions == [
        DeleteMessage("n2"),
        Say(("voicemail-message-deleted",)),
        Say(("voicemail-no-more-messages",)),
        Say(
            (
                "voicemail-you-have",
                "digit-0",
                "voicemail-new-and",
                "digit-2",
                "voicemail-old-messages",
                "voicemail-main-menu",
            )
        ),
    ]
    assert (menu.step, menu.new, menu.old) == (Step.MAIN, (), ("o1", "n1"))


def test_old_messages_next_and_back_to_the_main_menu() -> None:
    # given
    menu = signed_in(new=(), old=("o1", "o2"))

    # when 2 (old), # (next), * (main menu)
    menu, first = press(menu, "2")
    menu, second = press(menu, "#")
    menu, back = press(menu, "*")

    # then
    assert first == [PlayMessage("o1"), Say(("voicemail-message-menu",))]
    assert second == [PlayMessage("o2"), Say(("voicemail-message-menu",))]
    assert menu.step is Step.MAIN
    assert back == [
        Say(
            (
                "voicemail-you-have",
                "digit-0",
                "voicemail-new-and",
                "digit-2",
                "voicemail-old-messages",
                "voicemail-main-menu",
            )
        )
    ]


def test_no_new_messages_says_so() -> None:
    menu = signed_in(new=(), old=())
    menu, actions = press(menu, "1")
    assert menu.step is Step.MAIN
    assert actions[0] == Say(("voicemail-no-messages",))


def test_recording_the_unavailable_greeting_with_review_and_re_record() -> None:
    # given the mailbox options
    menu, actions = press(signed_in(), "0")
    assert actions == [Say(("voicemail-options-menu",))]

    # when 1: record the Unavailable greeting, # ends it
    menu, actions = press(menu, "1")
    assert actions == [Say(("voicemail-record-after-tone",)), Record(Recording.UNAVAILABLE)]
    menu, actions = press(menu, "#")
    assert (menu.step, actions) == (Step.STOPPING, [StopRecording()])

    # then the review is offered once the recording is in (keys meanwhile are ignored)
    assert press(menu, "1") == (menu, [])
    menu, actions = m.handle(menu, RecordingDone())
    assert (menu.step, actions) == (Step.REVIEW, [Say(("voicemail-review-menu",))])

    # when 2 (hear it), then 3 (record again), which stops by itself this time
    menu, actions = press(menu, "2")
    assert actions == [PlayRecording(Recording.UNAVAILABLE), Say(("voicemail-review-menu",))]
    menu, actions = press(menu, "3")
    assert actions == [Say(("voicemail-record-after-tone",)), Record(Recording.UNAVAILABLE)]
    menu, actions = m.handle(menu, RecordingDone())
    assert (menu.step, actions) == (Step.REVIEW, [Say(("voicemail-review-menu",))])

    # when 1 (accept)
    menu, actions = press(menu, "1")
    assert (menu.step, actions) == (Step.SAVING, [SaveRecording(Recording.UNAVAILABLE)])

    # then once it is saved, the options are offered again
    menu, actions = m.handle(menu, SaveResult(saved=True))
    assert actions == [Say(("voicemail-recording-saved", "voicemail-options-menu"))]
    assert (menu.step, menu.recording) == (Step.OPTIONS, None)


def test_accepting_when_nothing_was_recorded_says_so() -> None:
    # given # was pressed before the beep: the recording is in, and empty
    menu, _ = press(signed_in(), "03#")
    menu, _ = m.handle(menu, RecordingDone())

    # when 1 (accept), and nothing could be saved
    menu, _ = press(menu, "1")
    menu, actions = m.handle(menu, SaveResult(saved=False))

    # then
    assert actions == [Say(("voicemail-nothing-recorded", "voicemail-options-menu"))]
    assert menu.step is Step.OPTIONS


def test_the_company_greeting_is_option_9_for_greetings_managers_only() -> None:
    manager, _ = m.start(extension="101", new=(), old=(), can_record_company=True)
    manager, _ = press(manager, "2580#")
    manager, _ = m.handle(manager, PinResult(accepted=True))
    manager, said = press(manager, "0")
    assert said == [Say(("voicemail-options-menu", "voicemail-options-company"))]
    assert press(manager, "9")[1] == [Say(("voicemail-record-after-tone",)), Record(Recording.COMPANY)]
    plain, _ = press(signed_in(), "0")
    assert press(plain, "9") == (plain, [])


def test_busy_greeting_and_name_are_options_2_and_3() -> None:
    menu = signed_in()
    assert press(press(menu, "0")[0], "2")[1][1] == Record(Recording.BUSY)
    assert press(press(menu, "0")[0], "3")[1][1] == Record(Recording.NAME)


def test_changing_the_pin_twice_with_hash() -> None:
    # given
    menu, _ = press(signed_in(), "05")

    # when the new PIN is typed twice
    menu, first = press(menu, "3691#")
    menu, second = press(menu, "3691#")

    # then
    assert first == [Say(("voicemail-enter-pin-again",))]
    assert second == [SetPin("3691"), Say(("voicemail-pin-changed", "voicemail-options-menu"))]
    assert menu.step is Step.OPTIONS


def test_a_trivial_new_pin_or_two_different_ones_change_nothing() -> None:
    # given
    menu, _ = press(signed_in(), "05")

    # when a trivial PIN, then two that differ
    menu, trivial = press(menu, "1234#")
    menu, _ = press(menu, "3691#")
    menu, differ = press(menu, "3692#")

    # then no SetPin, and the caller starts again
    assert trivial == [Say(("voicemail-pin-invalid", "voicemail-enter-new-pin"))]
    assert differ == [Say(("voicemail-pins-differ", "voicemail-enter-new-pin"))]
    assert menu.step is Step.NEW_PIN


def test_stray_keys_are_ignored() -> None:
    menu = signed_in()
    assert press(menu, "9#") == (menu, [])


def test_every_prompt_the_menu_says_is_recorded() -> None:
    import inspect
    import re

    from toc.media.prompts import PROMPTS

    spoken = set(re.findall(r'"(voicemail-[a-z-]+)"', inspect.getsource(m)))
    assert spoken
    assert spoken - set(PROMPTS) == set()
