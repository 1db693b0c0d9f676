"""`python manage.py make_sounds`: writes the client's sounds (static/sounds/*.wav) from code.

The files are committed; this command is how they were made, so anyone can change a tone and
regenerate them instead of editing audio by hand. Everything is synthesised (numpy, stdlib
`wave`): 16 kHz, mono, 16-bit PCM, deterministic, so re-running it changes nothing.

- `ringtone.wav`: one cadence of the softphone's ring, looped by the client: about 2 s of a
  soft two-note chime, then 4 s of silence.
- `waiting.wav`: the call-waiting indication, two short quiet beeps, played every few seconds
  instead of the ringtone while the user is already in a call.
"""

import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

SAMPLE_RATE = 16_000
Samples = npt.NDArray[np.float64]


def silence(seconds: float) -> Samples:
    return np.zeros(round(seconds * SAMPLE_RATE))


def chime(frequency: float, seconds: float, *, decay_seconds: float = 0.22) -> Samples:
    """A bell-like note: a fundamental with a quiet octave, a 8 ms attack, an exponential decay."""
    time = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * frequency * time) + 0.25 * np.sin(2 * np.pi * 2 * frequency * time)
    attack = np.minimum(1.0, time / 0.008)
    release = np.minimum(1.0, (seconds - time) / 0.02)  # no click where the note is cut
    return tone * attack * release * np.exp(-time / decay_seconds)


def beep(frequency: float, seconds: float) -> Samples:
    time = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    ramp = np.minimum(1.0, np.minimum(time, seconds - time) / 0.01)
    return np.sin(2 * np.pi * frequency * time) * ramp


def ringtone() -> Samples:
    high, low = 880.0, 659.25  # A5 and E5: a fifth apart, soft rather than shrill
    burst = np.concatenate([chime(high, 0.25), chime(low, 0.25), chime(high, 0.25), chime(low, 0.25)])
    ring = np.concatenate([burst, silence(0.1), burst])
    return np.concatenate([0.55 * ring / np.max(np.abs(ring)), silence(6.0 - len(ring) / SAMPLE_RATE)])


def waiting() -> Samples:
    return 0.3 * np.concatenate([beep(440.0, 0.15), silence(0.12), beep(440.0, 0.15)])


def write_wav(path: Path, samples: Samples) -> None:
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(2)
        output.setframerate(SAMPLE_RATE)
        output.writeframes(pcm.tobytes())


SOUNDS = {"ringtone.wav": ringtone, "waiting.wav": waiting}


class Command(BaseCommand):
    help = "Write the client's sounds (ringtone, call waiting) to static/sounds/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output-dir", default=str(Path(settings.BASE_DIR) / "static" / "sounds"))

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["output_dir"])
        directory.mkdir(parents=True, exist_ok=True)
        for name, make in SOUNDS.items():
            path = directory / name
            write_wav(path, make())
            self.stdout.write(f"{path} ({path.stat().st_size // 1024} KB)")
