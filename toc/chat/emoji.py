"""The emoji catalogue for the chat picker, reactions and `:shortcodes:`.

Everything comes from the pinned `emoji` package (Unicode's emoji-test.txt in Python): the
catalogue is its fully-qualified emoji without the skin-tone variants, ordered faces first by
Unicode block (the package has no CLDR groups; blocks are as close as we get reliably). The
client (web/emoji.js) receives the catalogue once (`catalogue_json`, served with
`catalogue_etag`) and applies the same shortcode rules as `replace_shortcodes` here.

Shortcode rules: `:code:` where code is one of an emoji's shortcodes (its English name, then
its aliases), not glued to a letter or digit on either side, so that times (10:30:45),
ports and credentials in URLs (http://a:b@c:8080) stay as they are. An English name wins
over another emoji's alias with the same text; an exact match wins over a case-insensitive
one. Anything unknown is left untouched.
"""

import functools
import hashlib
import json
import re
from typing import Any

import emoji

# Skin-tone modifiers (Fitzpatrick types 1-2 to 6): variants that carry one are left out.
SKIN_TONES = frozenset(chr(codepoint) for codepoint in range(0x1F3FB, 0x1F400))

# Unicode blocks in the order the picker shows them: faces and hands first, flags last.
BLOCK_ORDER: tuple[tuple[int, int], ...] = (
    (0x1F600, 0x1F64F),  # Emoticons: smileys, cat faces, gestures
    (0x1F900, 0x1F9FF),  # Supplemental Symbols and Pictographs: more faces, people, animals, food
    (0x1FA70, 0x1FAFF),  # Symbols and Pictographs Extended-A: the newest ones
    (0x1F300, 0x1F5FF),  # Miscellaneous Symbols and Pictographs: nature, food, people, objects
    (0x1F680, 0x1F6FF),  # Transport and Map Symbols
    (0x2600, 0x27BF),  # Miscellaneous Symbols and Dingbats (❤️, ✅, ☀️)
)
REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)
BLACK_FLAG = 0x1F3F4  # 🏴 followed by tag characters: England, Scotland, Wales

MAX_REACTION_LENGTH = 32
SHORTCODE_CHARACTERS = r"\w+\-&.’()!#*"
SHORTCODE_PATTERN = re.compile(rf"(?<!\w):([{SHORTCODE_CHARACTERS}]+):(?!\w)")


def _order(char: str) -> tuple[int, tuple[int, ...]]:
    codepoints = tuple(ord(c) for c in char)
    first = codepoints[0]
    is_flag = REGIONAL_INDICATORS[0] <= first <= REGIONAL_INDICATORS[1] or (first == BLACK_FLAG and len(codepoints) > 2)
    if is_flag:
        return (len(BLOCK_ORDER) + 2, codepoints)
    for rank, (low, high) in enumerate(BLOCK_ORDER):
        if low <= first <= high:
            return (rank, codepoints)
    if first < 0x80:  # keycaps: #️⃣ *️⃣ 0️⃣ … 9️⃣
        return (len(BLOCK_ORDER) + 1, codepoints)
    return (len(BLOCK_ORDER), codepoints)


def _entry(char: str, data: dict[str, Any]) -> dict[str, Any]:
    english = data["en"].strip(":")
    aliases = [alias.strip(":") for alias in data.get("alias", [])]
    return {
        "char": char,
        "name": english.replace("_", " "),
        "shortcodes": list(dict.fromkeys([english, *aliases])),
        "version": data["E"],
    }


@functools.cache
def catalogue() -> list[dict[str, Any]]:
    """Every fully-qualified emoji without skin-tone variants, faces first:
    `{"char": "😀", "name": "grinning face", "shortcodes": ["grinning_face", "grinning"], "version": 1}`.
    The first shortcode is always the English name; `version` is the Emoji version that added it
    (0.6 … 18), so that the client can hide those its fonts cannot draw yet."""
    fully_qualified = emoji.STATUS["fully_qualified"]
    chars = [
        char
        for char, data in emoji.EMOJI_DATA.items()
        if data["status"] == fully_qualified and SKIN_TONES.isdisjoint(char)
    ]
    return [_entry(char, emoji.EMOJI_DATA[char]) for char in sorted(chars, key=_order)]


@functools.cache
def _shortcode_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in catalogue():
        table.setdefault(entry["shortcodes"][0], entry["char"])
    for entry in catalogue():
        for shortcode in entry["shortcodes"][1:]:
            table.setdefault(shortcode, entry["char"])
    for shortcode, char in list(table.items()):
        table.setdefault(shortcode.lower(), char)
    return table


def emoji_for_shortcode(shortcode: str) -> str | None:
    """The emoji for `shortcode` (without colons), or None when there is none."""
    table = _shortcode_table()
    return table.get(shortcode) or table.get(shortcode.lower())


def replace_shortcodes(text: str) -> str:
    """`text` with every known `:shortcode:` replaced by its emoji (rules in the module docstring)."""

    def replace(match: re.Match[str]) -> str:
        return emoji_for_shortcode(match.group(1)) or match.group(0)

    return SHORTCODE_PATTERN.sub(replace, text)


def is_reaction_emoji(value: str) -> bool:
    """Whether `value` is exactly one emoji the package knows (qualified or not, any skin tone)."""
    return 0 < len(value) <= MAX_REACTION_LENGTH and emoji.is_emoji(value)


def canonical_reaction(value: str) -> str:
    """The fully-qualified form of a reaction emoji, so that "❤" and "❤️" count as one reaction.
    `value` must pass `is_reaction_emoji`."""
    return _fully_qualified_by_name().get(emoji.EMOJI_DATA[value]["en"], value)


@functools.cache
def _fully_qualified_by_name() -> dict[str, str]:
    fully_qualified = emoji.STATUS["fully_qualified"]
    return {data["en"]: char for char, data in emoji.EMOJI_DATA.items() if data["status"] == fully_qualified}


@functools.cache
def catalogue_json() -> bytes:
    """The body of GET /api/chat/emoji/: `{"emoji": catalogue()}` as compact UTF-8 JSON."""
    return json.dumps({"emoji": catalogue()}, ensure_ascii=False, separators=(",", ":")).encode()


@functools.cache
def catalogue_etag() -> str:
    """The ETag value (unquoted: 32 hex digits) for `catalogue_json`; it changes only with the emoji package."""
    return hashlib.sha256(catalogue_json()).hexdigest()[:32]
