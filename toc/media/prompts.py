"""The recorded voice prompts and the music on hold that the call engine plays, and how to find them.

`PROMPTS` (name -> the words spoken) is the one list of prompts: `manage.py make_prompts` records
each of them to static/prompts/<name>.wav (committed files), and call code asks for them by name
here. Numbers are read digit by digit ("six zero one"), which needs no grammar and suits park slots
and extensions alike. The music on hold is synthesised by `manage.py make_sounds`.
"""

import re
import shutil
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

PROMPTS: dict[str, str] = {
    "digit-0": "zero",
    "digit-1": "one",
    "digit-2": "two",
    "digit-3": "three",
    "digit-4": "four",
    "digit-5": "five",
    "digit-6": "six",
    "digit-7": "seven",
    "digit-8": "eight",
    "digit-9": "nine",
    "parked-at": "Parked at",
    "park-empty": "There is no call parked there.",
    "conference-pin": "Please enter the conference PIN, then press the hash key.",
    "conference-pin-wrong": "That PIN is not correct. Please try again.",
    "conference-goodbye": "That PIN was wrong three times. Goodbye.",
    "conference-joined": "You are now in the conference.",
    "conference-alone": "You are the only person in this conference.",
    "conference-full": "This conference is full.",
    "voicemail-enter-pin": "Please enter your voicemail PIN, then press the hash key.",
    "voicemail-pin-wrong": "That PIN is not correct.",
    "voicemail-locked": "This mailbox is locked after too many wrong PINs. Please try again later. Goodbye.",
    "voicemail-you-have": "You have",
    "voicemail-new-and": "new and",
    "voicemail-old-messages": "old messages.",
    "voicemail-main-menu": "Press 1 to listen to new messages, 2 for old messages, or 0 for mailbox options.",
    "voicemail-no-messages": "There are no messages there.",
    "voicemail-no-more-messages": "There are no more messages.",
    "voicemail-message-menu": "Press 1 to replay, 2 to save, 3 to delete, or hash for the next message. "
    "Press star for the main menu.",
    "voicemail-message-saved": "Message saved.",
    "voicemail-message-deleted": "Message deleted.",
    "voicemail-options-menu": "Press 1 to record your unavailable greeting, 2 for your busy greeting, "
    "3 to record your name, or 5 to change your PIN. Press star for the main menu.",
    "voicemail-record-after-tone": "Record after the tone, then press the hash key.",
    "voicemail-review-menu": "Press 1 to accept, 2 to listen to it, or 3 to record it again.",
    "voicemail-recording-saved": "Saved.",
    "voicemail-nothing-recorded": "Nothing was recorded.",
    "voicemail-enter-new-pin": "Please enter your new PIN, then press the hash key.",
    "voicemail-enter-pin-again": "Please enter the new PIN again, then press the hash key.",
    "voicemail-pin-invalid": "That PIN is too simple. Use four to eight digits that are not a run or your extension.",
    "voicemail-pins-differ": "The two PINs were different.",
    "voicemail-pin-changed": "Your PIN has been changed.",
    "voicemail-no-pin": "This mailbox has no PIN yet. Set one in the Voicemail settings. Goodbye.",
    "voicemail-the-person-at": "The person at extension",
    "voicemail-is-not-available": "is not available. Please leave a message after the tone, "
    "and press the hash key when you are done.",
    "voicemail-deposit-saved": "Your message has been saved. Goodbye.",
    "voicemail-goodbye": "Goodbye.",
    "voicemail-options-company": "Press 9 to record the company greeting.",
    "company-welcome": "Thank you for calling.",
    "company-for-extension": "For extension",
    "company-press": "press",
    "company-not-an-option": "That is not one of the choices.",
    "company-no-choices": "Nobody can take your call right now. Please call again later. Goodbye.",
}

PROMPTS_DIR = Path(settings.BASE_DIR) / "static" / "prompts"
HOLD_MUSIC = Path(settings.BASE_DIR) / "static" / "sounds" / "hold-music.wav"


_STORED_NAME = re.compile(r"^voicemail/[A-Za-z0-9_/-]{1,200}\.wav\Z")


def stored_file(name: str) -> Path:
    """A recording in Django's storage (voicemail greetings and messages only) as a local file:
    the storage's own path, or a copy in the media cache when the storage is remote. ValueError
    for a name outside voicemail/, OSError when it is missing."""
    if not _STORED_NAME.match(name) or "//" in name:
        raise ValueError(f"{name!r} is not a voicemail recording.")
    if not default_storage.exists(name):
        raise FileNotFoundError(f"The recording {name} does not exist.")
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:
        cached = Path(settings.VAR_DIR) / "media-cache" / name
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".part")
            with default_storage.open(name, "rb") as source, partial.open("wb") as target:
                shutil.copyfileobj(source, target)
            partial.replace(cached)
        return cached


def prompt_path(name: str) -> Path:
    """The recording of prompt `name`; ValueError for a name that is not in `PROMPTS`."""
    if name not in PROMPTS:
        raise ValueError(f"There is no prompt called {name!r}.")
    return PROMPTS_DIR / f"{name}.wav"


def digits(number: str) -> list[Path]:
    """One recording per digit of `number`, in order; ValueError unless it is made of digits 0-9 only."""
    if not number or not all(character in "0123456789" for character in number):
        raise ValueError(f"{number!r} is not a number made of digits.")
    return [prompt_path(f"digit-{digit}") for digit in number]


def parked_at(slot: str) -> list[Path]:
    """The "Parked at" prompt, then `slot` read digit by digit; ValueError unless `slot` is digits."""
    return [prompt_path("parked-at"), *digits(slot)]
