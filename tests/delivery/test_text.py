"""Splitting Telegram HTML: boundaries, balanced tags, Telegram's way of counting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.text import split_caption, split_html, utf16_len, visible_length
from bot.sandbox.htmlcheck import parse_telegram_html


@pytest.mark.parametrize(
    ("html", "limit", "parts"),
    [
        ("short enough", 20, ["short enough"]),
        ("one two\nthree\n\nfour five", 18, ["one two\nthree", "four five"]),
        ("one two\nthree four", 15, ["one two", "three four"]),
        ("alpha beta gamma", 11, ["alpha beta", "gamma"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
        ("<b>bold words here</b>", 10, ["<b>bold words</b>", "<b>here</b>"]),
        (
            '<a href="https://x.org/?a=1&amp;b=2">link text</a> after',
            5,
            [
                '<a href="https://x.org/?a=1&amp;b=2">link</a>',
                '<a href="https://x.org/?a=1&amp;b=2">text</a>',
                "after",
            ],
        ),
        ("<b>a <i>b c</i> d</b>", 3, ["<b>a <i>b</i></b>", "<b><i>c</i> d</b>"]),
        ("a&amp;b&lt;c&gt;d", 3, ["a&amp;b", "&lt;c&gt;", "d"]),
        ("😀😀😀", 4, ["😀😀", "😀"]),
        ("   \n\n  ", 5, []),
        ("", 5, []),
        ("<b></b>", 5, []),
    ],
)
def test_split_html(html: str, limit: int, parts: list[str]) -> None:
    assert split_html(html, limit) == parts


@pytest.mark.parametrize(
    ("html", "length"),
    [("plain", 5), ("<b>bold</b>", 4), ("a &amp; b", 5), ("😀", 2), ("é", 1), ("&#128512;", 2)],
)
def test_visible_length_counts_utf16_units_of_the_visible_text(html: str, length: int) -> None:
    assert visible_length(html) == length


def test_a_caption_takes_what_fits_and_the_rest_follows_as_text() -> None:
    caption, rest = split_caption(
        "First part.\n\nSecond part is longer.", caption_limit=12, limit=12
    )
    assert caption == "First part."
    assert rest == ["Second part", "is longer."]
    assert split_caption("fits", caption_limit=10) == ("fits", [])
    assert split_caption("") == ("", [])


def test_a_text_that_fits_is_returned_unchanged() -> None:
    text = "  <b>keep</b>   my\n\nspacing  "
    assert split_html(text, 100) == [text]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_html("text", 0)


_words = st.text(alphabet="abcdéßя😀", min_size=1, max_size=12)
_plain = st.one_of(
    _words,
    st.sampled_from([" ", "\n", "\n\n", "&amp;", "&lt;", "&gt;", "&quot;"]),
)


def _wrap(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    tags = st.sampled_from(
        [("<b>", "</b>"), ("<i>", "</i>"), ('<a href="https://e.org/?q=1&amp;r=2">', "</a>")]
    )
    return st.tuples(tags, st.lists(children, min_size=1, max_size=6)).map(
        lambda t: t[0][0] + "".join(t[1]) + t[0][1]
    )


_html = st.lists(st.recursive(_plain, _wrap, max_leaves=20), min_size=1, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(html=_html, limit=st.integers(min_value=2, max_value=60))
def test_parts_fit_parse_and_keep_every_visible_character_in_order(html: str, limit: int) -> None:
    parts = split_html(html, limit)
    original = parse_telegram_html(html).text
    shown = []
    for part in parts:
        parsed = parse_telegram_html(part)  # raises if a part is not valid Telegram HTML
        assert 0 < utf16_len(parsed.text) <= limit
        shown.append(parsed.text)
    assert "".join("".join(shown).split()) == "".join(original.split())
