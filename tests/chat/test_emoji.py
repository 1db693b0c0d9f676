"""The emoji catalogue, reaction validation and `:shortcode:` replacement (toc/chat/emoji.py)."""

import json
import re

import pytest

from toc.chat import emoji


def entry_for(char: str) -> dict[str, object]:
    return next(entry for entry in emoji.catalogue() if entry["char"] == char)


def test_the_catalogue_lists_each_base_emoji_once_with_its_name_and_shortcodes():
    # when
    catalogue = emoji.catalogue()

    # then
    # emoji==2.16.0 (pinned) has 3963 fully-qualified emoji, 2040 of them skin-tone variants.
    # The number changes only when the package is upgraded: then look at the new ones and update it.
    assert len(catalogue) == 1923
    assert len({entry["char"] for entry in catalogue}) == 1923
    assert entry_for("😀") == {
        "char": "😀",
        "name": "grinning face",
        "shortcodes": ["grinning_face", "grinning"],
        "version": 1,
    }
    assert entry_for("👍") == {
        "char": "👍",
        "name": "thumbs up",
        "shortcodes": ["thumbs_up", "thumbsup", "+1"],
        "version": 0.6,
    }
    assert entry_for("❤️") == {"char": "❤️", "name": "red heart", "shortcodes": ["red_heart", "heart"], "version": 0.6}
    assert entry_for("🅰️")["name"] == "A button (blood type)"
    assert entry_for("🫩")["version"] == 16


def test_the_catalogue_leaves_out_skin_tone_variants_and_unqualified_forms():
    # when
    chars = {entry["char"] for entry in emoji.catalogue()}

    # then
    assert "👍🏽" not in chars
    assert "🏽" not in chars
    assert "🫱🏻‍🫲🏿" not in chars
    assert "❤" not in chars
    assert not any(0x1F3FB <= ord(c) <= 0x1F3FF for char in chars for c in char)
    assert {"🤝", "👨‍👩‍👧", "🏳️‍🌈"} <= chars


def test_the_catalogue_starts_with_smileys_and_ends_with_flags():
    # when
    chars = [entry["char"] for entry in emoji.catalogue()]

    # then
    assert chars[:5] == ["😀", "😁", "😂", "😃", "😄"]
    assert chars.index("😶‍🌫️") == chars.index("😶") + 1
    assert chars.index("🤔") < chars.index("👍") < chars.index("🇯🇵")
    assert chars[-4:] == ["🏴‍☠️", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁷󠁬󠁳󠁿"]


def test_the_catalogue_json_is_the_api_body_and_its_etag_follows_it():
    # when
    body = emoji.catalogue_json()

    # then
    assert json.loads(body) == {"emoji": emoji.catalogue()}
    assert "😀".encode() in body
    assert re.fullmatch(r"[0-9a-f]{32}", emoji.catalogue_etag())
    assert emoji.catalogue_json() is body


@pytest.mark.parametrize("value", ["👍", "❤️", "❤", "👍🏽", "🇯🇵", "👨‍👩‍👧", "#️⃣"])
def test_a_single_emoji_is_a_reaction(value: str):
    # when
    result = emoji.is_reaction_emoji(value)

    # then
    assert result is True


@pytest.mark.parametrize("value", ["a", "👍👍", "👍 ", "", "<script>", ":thumbs_up:", "#", "1", "👍" * 40])
def test_anything_but_one_emoji_is_not_a_reaction(value: str):
    # when
    result = emoji.is_reaction_emoji(value)

    # then
    assert result is False


def test_a_reaction_is_stored_in_its_fully_qualified_form():
    # then
    assert emoji.canonical_reaction("❤") == "❤️"
    assert emoji.canonical_reaction("❤️") == "❤️"
    assert emoji.canonical_reaction("👍🏽") == "👍🏽"
    assert emoji.canonical_reaction("☺") == "☺️"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":thumbs_up:", "👍"),
        ("Great :+1: :thumbsup:!", "Great 👍 👍!"),
        (":smile::heart:", "😄❤️"),
        ("(:grinning:)", "(😀)"),
        (":Japan: :japan:", "🇯🇵 🗾"),
        (":CAT: :cat:", "🐈 🐈"),
        (":A_button_(blood_type):", "🅰️"),
        (":100:", "💯"),
        ("line one\n:tada:", "line one\n🎉"),
    ],
)
def test_known_shortcodes_become_emoji(text: str, expected: str):
    # when
    result = emoji.replace_shortcodes(text)

    # then
    assert result == expected


@pytest.mark.parametrize(
    "text",
    [
        ":no_such_emoji:",
        "10:30:45",
        "at 10:100:20 sharp",
        "http://a:b@c",
        "https://user:cat@example.com:8080/x",
        "fe80::1:2:3",
        "a:cat:b",
        "word:smile:",
        ":smile",
        "::",
        ": smile :",
        "",
    ],
)
def test_anything_else_stays_as_it_is(text: str):
    # when
    result = emoji.replace_shortcodes(text)

    # then
    assert result == text


def test_an_english_name_wins_over_another_emojis_alias():
    # then
    assert emoji.emoji_for_shortcode("cat") == "🐈"
    assert emoji.emoji_for_shortcode("cat_face") == "🐱"
    assert emoji.emoji_for_shortcode("nope") is None
