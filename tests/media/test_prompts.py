"""The committed voice prompts and music on hold: present, decodable by the engine, loud enough, quiet at the edges.

The music must stay below 450 Hz: the engine's audio tests tell held music apart from their
test tones (500 Hz and up) by frequency.
"""

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from tests.audio import RATE, loudest_block_dbfs, rms_dbfs
from toc.media.prompts import HOLD_MUSIC, PROMPTS, PROMPTS_DIR, digits, parked_at, prompt_path
from toc.media.tracks import load_audio_file

EDGE = RATE // 100  # 10 ms
MILLISECOND = RATE // 1000
SOUNDS_DIR = HOLD_MUSIC.parent


def test_every_prompt_has_a_recording_and_there_are_no_others():
    # given
    expected = {f"{name}.wav" for name in PROMPTS}

    # when
    recorded = {path.name for path in PROMPTS_DIR.glob("*.wav")}

    # then
    assert recorded == expected


@pytest.mark.parametrize("name", list(PROMPTS))
def test_a_prompt_decodes_to_clear_speech_between_silences(name):
    # given
    path = prompt_path(name)

    # when
    samples = load_audio_file(path)

    # then
    assert 0.25 <= samples.size / RATE <= 12.0  # a menu with four choices takes about ten seconds
    assert loudest_block_dbfs(samples, block=RATE // 10) > -25.0
    assert rms_dbfs(samples[:EDGE]) < -45.0
    assert rms_dbfs(samples[-EDGE:]) < -45.0


def test_parked_at_is_the_prompt_then_the_slot_digit_by_digit():
    # given
    slot = "601"

    # when
    paths = parked_at(slot)

    # then
    assert paths == [
        PROMPTS_DIR / "parked-at.wav",
        PROMPTS_DIR / "digit-6.wav",
        PROMPTS_DIR / "digit-0.wav",
        PROMPTS_DIR / "digit-1.wav",
    ]


def test_digits_reads_every_digit_including_repeats():
    # given
    number = "1000"

    # when
    paths = digits(number)

    # then
    assert paths == [PROMPTS_DIR / "digit-1.wav", *[PROMPTS_DIR / "digit-0.wav"] * 3]


def test_an_unknown_prompt_is_refused():
    # given
    name = "digit-10"

    # when
    with pytest.raises(ValueError) as error:
        prompt_path(name)

    # then
    assert str(error.value) == "There is no prompt called 'digit-10'."


@pytest.mark.parametrize("number", ["", "60a", "+601", "6 01", "٣"])  # the last: an Arabic-Indic three
def test_a_number_that_is_not_plain_digits_is_refused(number):
    # when
    with pytest.raises(ValueError) as digits_error:
        digits(number)
    with pytest.raises(ValueError) as parked_at_error:
        parked_at(number)

    # then
    assert str(digits_error.value) == f"{number!r} is not a number made of digits."
    assert str(parked_at_error.value) == f"{number!r} is not a number made of digits."


def test_hold_music_is_a_calm_loop_of_the_right_length_and_level():
    # when
    samples = load_audio_file(HOLD_MUSIC)

    # then
    assert 16.0 <= samples.size / RATE <= 24.0
    assert -26.0 < rms_dbfs(samples) < -14.0
    assert float(np.abs(samples.astype(np.float64)).max()) <= 32768 * 10 ** (-3 / 20)
    # It starts and ends at silence, so looping it makes no click.
    assert rms_dbfs(samples[:MILLISECOND]) < -60.0
    assert rms_dbfs(samples[-MILLISECOND:]) < -60.0


def test_hold_music_has_no_energy_where_the_test_tones_are():
    # given
    samples = load_audio_file(HOLD_MUSIC).astype(np.float64)

    # when
    energy = np.square(np.abs(np.fft.rfft(samples)))
    frequencies = np.fft.rfftfreq(samples.size, 1 / RATE)

    # then
    assert energy[frequencies > 450].sum() / energy.sum() < 0.01
    assert frequencies[int(np.argmax(energy))] < 450


def test_make_sounds_rewrites_the_committed_sounds_byte_for_byte(tmp_path: Path):
    # given
    committed = sorted(path.name for path in SOUNDS_DIR.glob("*.wav"))

    # when
    call_command("make_sounds", output_dir=str(tmp_path), stdout=io.StringIO())

    # then
    assert sorted(path.name for path in tmp_path.iterdir()) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (SOUNDS_DIR / name).read_bytes(), name


@pytest.mark.parametrize("name", ["../secret.wav", "voicemail/../x.wav", "static/prompts/a.wav", "voicemail//a.wav"])
def test_only_voicemail_recordings_can_be_played_from_storage(name: str) -> None:
    from toc.media import prompts

    with pytest.raises(ValueError):
        prompts.stored_file(name)
