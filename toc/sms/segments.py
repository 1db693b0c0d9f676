"""How many SMS segments a text takes, as carriers count them (web/sms-segments.js counts the
same way, for the composer's live counter).

A text all in the GSM 03.38 alphabet goes as GSM-7: 160 septets in one segment, 153 per
segment when split (the rest carries the join header); the extension table's characters take
two septets. Anything else goes as UCS-2, counted in UTF-16 code units: 70 in one segment, 67
per segment when split.
"""

import math
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str
    units: int
    segments: int


def count_segments(text: str) -> SegmentCount:
    if all(character in GSM7_BASIC or character in GSM7_EXTENSION for character in text):
        septets = sum(2 if character in GSM7_EXTENSION else 1 for character in text)
        return SegmentCount("GSM-7", septets, _segments(septets, GSM7_SINGLE, GSM7_PART))
    units = len(text.encode("utf-16-le")) // 2
    return SegmentCount("UCS-2", units, _segments(units, UCS2_SINGLE, UCS2_PART))


def _segments(units: int, single: int, part: int) -> int:
    if units == 0:
        return 0
    return 1 if units <= single else math.ceil(units / part)
