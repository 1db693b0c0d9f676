"""`python manage.py make_sounds`: writes the client's sounds (static/sounds/*.wav) from code.

The files are committed; this command is how they were made, so anyone can change a tone and
regenerate them instead of editing audio by hand. Everything is synthesised (numpy, stdlib
`wave`): 16 kHz, mono, 16-bit PCM, deterministic, so re-running it changes nothing.

- `ringtone.wav`: one cadence of the softphone's ring, looped by the client: about 2 s of a
  soft two-note chime, then 4 s of silence.
- `waiting.wav`: the call-waiting indication, two short quiet beeps, played every few seconds
  instead of the ringtone while the user is already in a call.
- `hold-music.wav`: the music on hold, looped by the media engine: 20 s of a slow C-major
  pentatonic melody (C4 to G4) over a soft bass (C3 to G3), each note a sine with a raised-cosine
  attack and an exponential decay. It starts and ends at silence, so the loop has no click;
  RMS -20 dBFS. Its energy stays below 450 Hz (fundamentals 130 to 392 Hz, only the bass notes
  carry an octave): audio tests tell held music apart from their test tones, all 500 Hz or higher.
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


PITCHES = {
    "C3": 130.81,
    "E3": 164.81,
    "F3": 174.61,
    "G3": 196.00,
    "A3": 220.00,
    "C4": 261.63,
    "D4": 293.66,
    "E4": 329.63,
    "G4": 392.00,
}
HOLD_BEAT_SECONDS = 0.625  # 96 beats a minute
# One bar per line, four beats each: (pitch, beats); None is a rest.
HOLD_MELODY: list[list[tuple[str | None, int]]] = [
    [("E4", 1), ("G4", 1), ("E4", 1), ("D4", 1)],
    [("C4", 2), ("A3", 1), ("C4", 1)],
    [("A3", 1), ("C4", 1), ("D4", 2)],
    [("G4", 1), ("E4", 1), ("D4", 2)],
    [("C4", 1), ("E4", 1), ("G4", 2)],
    [("E4", 1), ("D4", 1), ("C4", 1), ("A3", 1)],
    [("A3", 1), ("C4", 1), ("D4", 2)],
    [("C4", 3), (None, 1)],
]
HOLD_BASS = ["C3", "E3", "F3", "G3", "C3", "E3", "F3", "C3"]  # one note a bar


def soft_note(
    frequency: float,
    seconds: float,
    *,
    decay_seconds: float,
    attack_seconds: float = 0.06,
    release_seconds: float = 0.15,
    octave_level: float = 0.0,
) -> Samples:
    """A mellow note: raised-cosine attack and release (no splatter above the note), exponential decay."""
    time = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * frequency * time) + octave_level * np.sin(2 * np.pi * 2 * frequency * time)
    attack = 0.5 - 0.5 * np.cos(np.pi * np.minimum(1.0, time / attack_seconds))
    release = 0.5 - 0.5 * np.cos(np.pi * np.minimum(1.0, (seconds - time) / release_seconds))
    return tone * attack * release * np.exp(-time / decay_seconds)


def hold_music() -> Samples:
    bar_seconds = 4 * HOLD_BEAT_SECONDS
    total_seconds = len(HOLD_MELODY) * bar_seconds
    music = np.zeros(round(total_seconds * SAMPLE_RATE))

    def add(start_seconds: float, note: Samples) -> None:
        start = round(start_seconds * SAMPLE_RATE)
        note = note[: music.size - start]
        music[start : start + note.size] += note

    for bar, notes in enumerate(HOLD_MELODY):
        position = bar * bar_seconds
        for pitch, beats in notes:
            if pitch is not None:
                # Each note rings on under the next one, but is faded out before the loop point.
                ring_seconds = min(beats * HOLD_BEAT_SECONDS + 0.5, total_seconds - position)
                add(position, 0.5 * soft_note(PITCHES[pitch], ring_seconds, decay_seconds=0.6))
            position += beats * HOLD_BEAT_SECONDS
        bass = PITCHES[HOLD_BASS[bar]]
        octave_level = 0.2 if 2 * bass < 450 else 0.0
        note = soft_note(
            bass, bar_seconds, decay_seconds=1.2, attack_seconds=0.1, release_seconds=0.3, octave_level=octave_level
        )
        add(bar * bar_seconds, 0.35 * note)
    target_rms = 10 ** (-20 / 20)
    return music * target_rms / np.sqrt(np.mean(np.square(music)))


def write_wav(path: Path, samples: Samples) -> None:
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(2)
        output.setframerate(SAMPLE_RATE)
        output.writeframes(pcm.tobytes())


SOUNDS = {"ringtone.wav": ringtone, "waiting.wav": waiting, "hold-music.wav": hold_music}


class Command(BaseCommand):
    help = "Write the sounds (ringtone, call waiting, music on hold) to static/sounds/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output-dir", default=str(Path(settings.BASE_DIR) / "static" / "sounds"))

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["output_dir"])
        directory.mkdir(parents=True, exist_ok=True)
        for name, make in SOUNDS.items():
            path = directory / name
            write_wav(path, make())
            self.stdout.write(f"{path} ({path.stat().st_size // 1024} KB)")
