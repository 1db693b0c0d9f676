"""`python manage.py make_prompts`: records the voice prompts (static/prompts/<name>.wav) with espeak-ng.

The files are committed; this command is how they were made, so a prompt's wording is changed in
`toc.media.prompts.PROMPTS` and re-recorded here instead of edited by hand. espeak-ng is needed
only to run this command (`apt-get install espeak-ng`), never to run TOC or its tests.

Each prompt is spoken by espeak-ng's American English voice at 150 words a minute, decoded and
resampled with PyAV to 16 kHz mono 16-bit (the format of `make_sounds`), trimmed to its speech
plus 60 ms of quiet at each end (faded, so it starts and ends at silence), and normalised to a
peak of -3 dBFS so that all the prompts sound equally loud. The same espeak-ng version gives
byte-identical files.
"""

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from toc.lib.management.commands.make_sounds import SAMPLE_RATE, Samples, write_wav
from toc.media.prompts import PROMPTS, PROMPTS_DIR

VOICE = "en-us"
WORDS_PER_MINUTE = 150
# espeak-ng spells words in capitals letter by letter ("P I N"); callers hear them as words.
SPOKEN_AS = {"PIN": "pin"}
PEAK_DBFS = -3.0
SPEECH_BELOW_LOUDEST_DB = 40.0  # a 10 ms block this far below the loudest one is silence
KEEP_SECONDS = 0.06
FADE_SECONDS = 0.01
TIMEOUT_SECONDS = 30


def speak(text: str) -> bytes:
    """The WAV file espeak-ng makes of `text`."""
    for written, spoken in SPOKEN_AS.items():
        text = text.replace(written, spoken)
    command = ["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "--stdout", text]
    # The words are our own (PROMPTS), passed as one argument, never through a shell.
    result = subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT_SECONDS)  # noqa: S603
    return result.stdout


def decode(wav: bytes) -> Samples:
    """Any audio file's bytes as 16 kHz mono samples in [-1, 1]."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    frames: list[av.AudioFrame] = []
    with av.open(io.BytesIO(wav), mode="r") as container:
        for frame in container.decode(container.streams.audio[0]):
            frames.extend(resampler.resample(frame))
        frames.extend(resampler.resample(None))
    return np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames]).astype(np.float64) / 32768.0


def faded(samples: Samples) -> Samples:
    """`samples` with a short linear fade in and out, so they start and end without a click."""
    fade = np.linspace(0.0, 1.0, round(FADE_SECONDS * SAMPLE_RATE))
    result = samples.copy()
    result[: fade.size] *= fade
    result[-fade.size :] *= fade[::-1]
    return result


def trim(samples: Samples) -> Samples:
    """The speech in `samples` with `KEEP_SECONDS` of quiet around it."""
    keep = round(KEEP_SECONDS * SAMPLE_RATE)
    # espeak-ng starts a word that opens on a vowel at full level on its very first sample.
    padded = np.concatenate((np.zeros(keep), faded(samples), np.zeros(keep)))
    block = SAMPLE_RATE // 100
    levels = np.sqrt(np.mean(np.square(padded[: padded.size // block * block].reshape(-1, block)), axis=1))
    speech = np.flatnonzero(levels > levels.max() * 10 ** (-SPEECH_BELOW_LOUDEST_DB / 20))
    start = max(0, speech[0] * block - keep)
    end = min(padded.size, (speech[-1] + 1) * block + keep)
    return faded(padded[start:end])


def normalise(samples: Samples) -> Samples:
    return samples * 10 ** (PEAK_DBFS / 20) / np.max(np.abs(samples))


class Command(BaseCommand):
    help = "Record the voice prompts (toc.media.prompts.PROMPTS) to static/prompts/ with espeak-ng."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output-dir", default=str(PROMPTS_DIR))

    def handle(self, *args: Any, **options: Any) -> None:
        if shutil.which("espeak-ng") is None:
            raise CommandError("espeak-ng is not installed: apt-get install espeak-ng")
        directory = Path(options["output_dir"])
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in PROMPTS.items():
            samples = normalise(trim(decode(speak(text))))
            path = directory / f"{name}.wav"
            write_wav(path, samples)
            self.stdout.write(f"{path} ({samples.size / SAMPLE_RATE:.2f} s, {path.stat().st_size // 1024} KB)")
