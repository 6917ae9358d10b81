"""The coordinator's broadcast draft, step by step."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.broadcasts import DEFAULT, Draft

GROUPS = ("municipality", "private_sector", "civil_society", "community", "other")
LOCALES = ("en", "fr")


def test_a_draft_with_a_text_per_language() -> None:
    draft = Draft().with_text("<b>Water cut</b> on Monday", media_kind=None, media_file_id=None)
    assert draft.step == "audience"
    for group in ("community", "municipality", "community"):
        draft = draft.with_audience(draft.audience.toggled("groups", group, GROUPS))
    assert draft.audience.groups == ("municipality",)
    draft = draft.audience_chosen(locales=LOCALES)
    assert draft.step == "variants"
    draft = draft.text_per_language(locales=LOCALES, own="en")
    assert (draft.step, draft.pending) == ("variant_text", ("fr",))
    draft = draft.with_variant("<b>Coupure d’eau</b> lundi")
    assert draft.step == "urgent"
    assert draft.text_for("fr") == "<b>Coupure d’eau</b> lundi"
    assert draft.text_for("en") == "<b>Water cut</b> on Monday"
    assert draft.text_for("pt") == draft.texts[DEFAULT]
    moment = datetime(2026, 12, 1, 8, tzinfo=UTC)
    draft = draft.with_urgency(True).later().at(moment)
    assert (draft.step, draft.urgent, draft.send_at) == ("preview", True, moment)
    assert Draft.from_json(draft.to_json()) == draft


def test_one_language_audience_skips_the_variants_question() -> None:
    draft = Draft().with_text("hello", media_kind="photo", media_file_id="F1")
    draft = draft.with_audience(draft.audience.toggled("languages", "fr", LOCALES))
    draft = draft.audience_chosen(locales=LOCALES)
    assert draft.step == "urgent"
    assert draft.with_urgency(False).now().step == "preview"
    assert (draft.media_kind, draft.media_file_id) == ("photo", "F1")


def test_one_text_for_all_drops_variants() -> None:
    draft = (
        Draft()
        .with_text("hi", media_kind=None, media_file_id=None)
        .audience_chosen(locales=LOCALES)
    )
    draft = draft.one_text_for_all()
    assert draft.step == "urgent" and draft.variants() == {DEFAULT: "hi"}
