"""The voicemail phone menu (*86, *84 + extension) as a pure state machine: keys in, actions out.

No audio, no database, no clock: the call engine feeds it events (`Key`, `PinResult`,
`RecordingDone`) and carries out the actions it returns (say prompts, play a message, record,
check or set the PIN, save or delete a message, hang up). Prompt names are those of
`toc.media.prompts`.

    PIN ──#──> (CheckPin) ──accepted──> MAIN ──1/2──> LISTEN (new / old messages)
                            └─wrong──> PIN;  locked ──> goodbye
    MAIN ──0──> OPTIONS ──1/2/3/9──> RECORDING (Unavailable / Busy greeting / name / company)
                        └──5──> NEW_PIN ──#──> CONFIRM_PIN ──#──> (SetPin) OPTIONS
    RECORDING ──#──> STOPPING ──(RecordingDone)──> REVIEW: 1 accept ──> SAVING ──(SaveResult)──> OPTIONS,
    2 hear it, 3 record again.   LISTEN: 1 replay, 2 save, 3 delete, # next.
    * goes back (MAIN from LISTEN and OPTIONS; clears the digits while typing a PIN).
"""

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from toc.voicemail.pins import MAX_LENGTH, pin_problem


class Step(StrEnum):
    PIN = "pin"
    CHECKING_PIN = "checking_pin"
    MAIN = "main"
    LISTEN = "listen"
    OPTIONS = "options"
    RECORDING = "recording"
    STOPPING = "stopping"  # # pressed: waiting for the recording to be in
    REVIEW = "review"
    SAVING = "saving"  # 1 pressed: waiting to hear whether there was anything to save
    NEW_PIN = "new_pin"
    CONFIRM_PIN = "confirm_pin"
    GOODBYE = "goodbye"


class Recording(StrEnum):
    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    NAME = "name"
    COMPANY = "company"  # the company greeting: greetings managers only


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    key: str  # one of 0-9 * #


@dataclass(frozen=True)
class PinResult:
    accepted: bool
    locked: bool = False


@dataclass(frozen=True)
class RecordingDone:
    """The recording is in (after #, or at its longest length)."""


@dataclass(frozen=True)
class SaveResult:
    saved: bool  # False: nothing had been recorded


Event = Key | PinResult | RecordingDone | SaveResult


# --- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class PlayMessage:
    message_id: str


@dataclass(frozen=True)
class Record:
    kind: Recording


@dataclass(frozen=True)
class StopRecording:
    pass


@dataclass(frozen=True)
class PlayRecording:
    kind: Recording


@dataclass(frozen=True)
class SaveRecording:
    kind: Recording


@dataclass(frozen=True)
class CheckPin:
    pin: str


@dataclass(frozen=True)
class SetPin:
    pin: str


@dataclass(frozen=True)
class SaveMessage:
    message_id: str


@dataclass(frozen=True)
class DeleteMessage:
    message_id: str


@dataclass(frozen=True)
class HangUp:
    pass


Action = (
    Say
    | PlayMessage
    | Record
    | StopRecording
    | PlayRecording
    | SaveRecording
    | CheckPin
    | SetPin
    | SaveMessage
    | DeleteMessage
    | HangUp
)


# --- the machine ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Menu:
    extension: str  # the mailbox's, for the PIN rules
    new: tuple[str, ...] = ()  # message ids, oldest first
    old: tuple[str, ...] = ()
    step: Step = Step.PIN
    digits: str = ""
    folder: str = "new"
    index: int = 0
    recording: Recording | None = None
    first_pin: str = ""
    can_record_company: bool = False  # the mailbox's owner is a greetings manager: options offer 9
    history: tuple[str, ...] = field(default=(), compare=False)  # steps taken, for logs


def dump(menu: Menu) -> dict[str, Any]:
    """The menu as JSON-ready values, to keep between keypad events."""
    return asdict(menu)


def load(data: dict[str, Any]) -> Menu:
    """The menu `dump` gave; ValueError for data that is not one."""
    try:
        recording = data.get("recording")
        return Menu(
            extension=str(data["extension"]),
            new=tuple(str(item) for item in data.get("new", ())),
            old=tuple(str(item) for item in data.get("old", ())),
            step=Step(data.get("step", Step.PIN)),
            digits=str(data.get("digits", "")),
            folder=str(data.get("folder", "new")),
            index=int(data.get("index", 0)),
            recording=Recording(recording) if recording else None,
            first_pin=str(data.get("first_pin", "")),
            can_record_company=bool(data.get("can_record_company", False)),
            history=tuple(str(item) for item in data.get("history", ())),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"That is not a voicemail menu: {error}") from error


def start(
    *, extension: str, new: tuple[str, ...], old: tuple[str, ...], can_record_company: bool = False
) -> tuple[Menu, list[Action]]:
    menu = Menu(extension=extension, new=new, old=old, can_record_company=can_record_company)
    return menu, [Say(("voicemail-enter-pin",))]


def _options_menu(menu: Menu) -> tuple[str, ...]:
    if menu.can_record_company:
        return ("voicemail-options-menu", "voicemail-options-company")
    return ("voicemail-options-menu",)


def _digits_of(number: int) -> tuple[str, ...]:
    return tuple(f"digit-{digit}" for digit in str(number))


def _main_menu(menu: Menu) -> list[Action]:
    counts = ("voicemail-you-have", *_digits_of(len(menu.new)), "voicemail-new-and", *_digits_of(len(menu.old)))
    return [Say((*counts, "voicemail-old-messages", "voicemail-main-menu"))]


def _to(menu: Menu, step: Step, **changes: object) -> Menu:
    return replace(menu, step=step, history=(*menu.history, step.value), **changes)  # type: ignore[arg-type]


def handle(menu: Menu, event: Event) -> tuple[Menu, list[Action]]:
    """The menu after `event`, and what to do. Keys that mean nothing where the caller is are
    ignored (a real phone menu does not punish a stray key)."""
    if menu.step is Step.GOODBYE:
        return menu, []
    if isinstance(event, PinResult):
        return _pin_result(menu, event)
    if isinstance(event, RecordingDone):
        if menu.step in (Step.RECORDING, Step.STOPPING):
            return _to(menu, Step.REVIEW), [Say(("voicemail-review-menu",))]
        return menu, []
    if isinstance(event, SaveResult):
        if menu.step is not Step.SAVING:
            return menu, []
        said = "voicemail-recording-saved" if event.saved else "voicemail-nothing-recorded"
        return _to(menu, Step.OPTIONS, recording=None), [Say((said, *_options_menu(menu)))]
    handlers = {
        Step.PIN: _typing_pin,
        Step.MAIN: _main,
        Step.LISTEN: _listen,
        Step.OPTIONS: _options,
        Step.RECORDING: _recording,
        Step.REVIEW: _review,
        Step.NEW_PIN: _typing_pin,
        Step.CONFIRM_PIN: _typing_pin,
    }
    handler = handlers.get(menu.step)
    return handler(menu, event.key) if handler is not None else (menu, [])


def _typing_pin(menu: Menu, key: str) -> tuple[Menu, list[Action]]:
    if key == "*":
        return replace(menu, digits=""), []
    if key != "#":
        return (replace(menu, digits=(menu.digits + key)[-MAX_LENGTH:]), []) if key.isdigit() else (menu, [])
    pin = menu.digits
    menu = replace(menu, digits="")
    if menu.step is Step.PIN:
        return _to(menu, Step.CHECKING_PIN), [CheckPin(pin)]
    if menu.step is Step.NEW_PIN:
        if pin_problem(pin, extension=menu.extension):
            return menu, [Say(("voicemail-pin-invalid", "voicemail-enter-new-pin"))]
        return _to(menu, Step.CONFIRM_PIN, first_pin=pin), [Say(("voicemail-enter-pin-again",))]
    if pin != menu.first_pin:
        return _to(menu, Step.NEW_PIN, first_pin=""), [Say(("voicemail-pins-differ", "voicemail-enter-new-pin"))]
    return _to(menu, Step.OPTIONS, first_pin=""), [
        SetPin(pin),
        Say(("voicemail-pin-changed", *_options_menu(menu))),
    ]


def _pin_result(menu: Menu, result: PinResult) -> tuple[Menu, list[Action]]:
    if menu.step is not Step.CHECKING_PIN:
        return menu, []
    if result.accepted:
        menu = _to(menu, Step.MAIN)
        return menu, _main_menu(menu)
    if result.locked:
        return _to(menu, Step.GOODBYE), [Say(("voicemail-locked",)), HangUp()]
    return _to(menu, Step.PIN), [Say(("voicemail-pin-wrong", "voicemail-enter-pin"))]


def _main(menu: Menu, key: str) -> tuple[Menu, list[Action]]:
    if key in ("1", "2"):
        folder = "new" if key == "1" else "old"
        if not (menu.new if folder == "new" else menu.old):
            return menu, [Say(("voicemail-no-messages",)), *_main_menu(menu)]
        return _play(_to(menu, Step.LISTEN, folder=folder, index=0))
    if key == "0":
        return _to(menu, Step.OPTIONS), [Say(_options_menu(menu))]
    if key == "*":
        return menu, _main_menu(menu)
    return menu, []


def _messages(menu: Menu) -> tuple[str, ...]:
    return menu.new if menu.folder == "new" else menu.old


def _play(menu: Menu) -> tuple[Menu, list[Action]]:
    messages = _messages(menu)
    if menu.index >= len(messages):
        menu = _to(menu, Step.MAIN, index=0)
        return menu, [Say(("voicemail-no-more-messages",)), *_main_menu(menu)]
    return menu, [PlayMessage(messages[menu.index]), Say(("voicemail-message-menu",))]


def _listen(menu: Menu, key: str) -> tuple[Menu, list[Action]]:
    messages = _messages(menu)
    current = messages[menu.index]
    if key == "1":
        return _play(menu)
    if key == "2":
        if menu.folder == "new":  # saved: it moves to the old messages, the next one takes its place
            menu = replace(menu, new=tuple(m for m in menu.new if m != current), old=(*menu.old, current))
            moved, actions = _play(menu)
            return moved, [SaveMessage(current), Say(("voicemail-message-saved",)), *actions]
        moved, actions = _play(replace(menu, index=menu.index + 1))
        return moved, [Say(("voicemail-message-saved",)), *actions]
    if key == "3":
        menu = replace(
            menu, new=tuple(m for m in menu.new if m != current), old=tuple(m for m in menu.old if m != current)
        )
        moved, actions = _play(menu)
        return moved, [DeleteMessage(current), Say(("voicemail-message-deleted",)), *actions]
    if key == "#":
        return _play(replace(menu, index=menu.index + 1))
    if key == "*":
        menu = _to(menu, Step.MAIN, index=0)
        return menu, _main_menu(menu)
    return menu, []


def _options(menu: Menu, key: str) -> tuple[Menu, list[Action]]:
    kinds = {"1": Recording.UNAVAILABLE, "2": Recording.BUSY, "3": Recording.NAME}
    if menu.can_record_company:
        kinds["9"] = Recording.COMPANY
    if key in kinds:
        return _record(menu, kinds[key])
    if key == "5":
        return _to(menu, Step.NEW_PIN, digits=""), [Say(("voicemail-enter-new-pin",))]
    if key == "*":
        menu = _to(menu, Step.MAIN)
        return menu, _main_menu(menu)
    return menu, []


def _record(menu: Menu, kind: Recording) -> tuple[Menu, list[Action]]:
    return _to(menu, Step.RECORDING, recording=kind), [Say(("voicemail-record-after-tone",)), Record(kind)]


def _recording(menu: Menu, key: str) -> tuple[Menu, list[Action]]:
    """# stops the recording; the review is offered once it is in (`RecordingDone`), so a quick
    "1 to accept" never races the recording."""
    if key == "#":
        return _to(menu, Step.STOPPING), [StopRecording()]
    return menu, []


def _review(menu: Menu, key: str) -> tuple[Menu, list[Action]]:
    kind = menu.recording
    assert kind is not None
    if key == "1":
        return _to(menu, Step.SAVING), [SaveRecording(kind)]
    if key == "2":
        return menu, [PlayRecording(kind), Say(("voicemail-review-menu",))]
    if key == "3":
        return _record(menu, kind)
    return menu, []
