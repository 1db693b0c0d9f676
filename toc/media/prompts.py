"""The recorded voice prompts and the music on hold that the call engine plays, and how to find them.

`PROMPTS` (name -> the words spoken) is the one list of prompts: `manage.py make_prompts` records
each of them to static/prompts/<name>.wav (committed files), and call code asks for them by name
here. Numbers are read digit by digit ("six zero one"), which needs no grammar and suits park slots
and extensions alike. The music on hold is synthesised by `manage.py make_sounds`.
"""

from pathlib import Path

from django.conf import settings

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
}

PROMPTS_DIR = Path(settings.BASE_DIR) / "static" / "prompts"
HOLD_MUSIC = Path(settings.BASE_DIR) / "static" / "sounds" / "hold-music.wav"


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
