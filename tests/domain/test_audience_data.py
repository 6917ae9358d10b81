"""An audience as data: everyone, its JSON and its words (who it holds is the storage's filter,
tests/storage/test_audiences.py)."""

from __future__ import annotations

from bot.domain.audiences import Audience


def test_an_empty_audience_is_everyone() -> None:
    assert Audience().everyone and Audience().labels() == []
    assert not Audience(committees=(1,)).everyone


def test_an_audience_keeps_through_json_and_says_its_parts() -> None:
    audience = Audience(groups=("community",), languages=("fr",), committees=(2,))
    assert Audience.from_json(audience.to_json()) == audience
    assert Audience.from_json({}) == Audience()
    assert audience.labels() == [
        ("group.community", {}),
        ("language.name.fr", {}),
        ("committee.number", {"id": 2}),
    ]
