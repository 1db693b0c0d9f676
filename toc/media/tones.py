"""Call-progress and keypad tones as values: what a caller hears while waiting, and DTMF.

A `Tone` is a repeating cadence of summed sines. Frequencies and cadences follow the North
American precise tone plan (ringback 440+480 Hz, 2 s on / 4 s off; busy 480+620 Hz, 0.5 s on /
0.5 s off) and the DTMF keypad grid. Turning a tone into samples is `toc.media.tracks`' job.
"""

from dataclasses import dataclass

DTMF_DIGITS = "0123456789*#"

# Keypad grid: row frequency, column frequency.
_DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
_DTMF_COLUMNS = (1209.0, 1336.0, 1477.0)
_DTMF_LAYOUT = ("123", "456", "789", "*0#")

DTMF_ON_MS = 150
DTMF_GAP_MS = 80


@dataclass(frozen=True)
class Tone:
    """`frequencies` summed, `on_ms` of sound then `off_ms` of silence; `level_dbfs` is the peak of the sum."""

    frequencies: tuple[float, ...]
    on_ms: int
    off_ms: int
    level_dbfs: float = -12.0

    def __post_init__(self) -> None:
        if not self.frequencies or any(not 0 < frequency < 24_000 for frequency in self.frequencies):
            raise ValueError("A tone needs at least one frequency between 0 and 24000 Hz.")
        if self.on_ms <= 0 or self.off_ms < 0:
            raise ValueError("A tone needs a positive on time and an off time of zero or more.")
        if self.level_dbfs > 0:
            raise ValueError("A tone's level cannot be above 0 dBFS.")


RINGBACK = Tone((440.0, 480.0), 2000, 4000)
BUSY = Tone((480.0, 620.0), 500, 500)
BEEP = Tone((1000.0,), 400, 150)  # "record after the tone"


def dtmf_tone(digit: str) -> Tone:
    """The keypad tone of one digit (`0-9`, `*`, `#`): its two frequencies, ~150 ms on, 80 ms gap."""
    for row, keys in enumerate(_DTMF_LAYOUT):
        column = keys.find(digit) if len(digit) == 1 else -1
        if column >= 0:
            return Tone((_DTMF_ROWS[row], _DTMF_COLUMNS[column]), DTMF_ON_MS, DTMF_GAP_MS)
    raise ValueError(f"{digit!r} is not a keypad digit (0-9, * or #).")
