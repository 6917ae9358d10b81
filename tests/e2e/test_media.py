"""Voice notes, photos and places sent with a concern, and the `ask: media` question kind.

Everything through the bot and the emulator: media are kept as Telegram file ids, shown to the
committee's coordinators sent again by file id, refused politely when not accepted; an anonymous
raiser is warned before any media is taken, and no document is taken from them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, ROOT, Database, Phone, onboard
from test_export import csv_rows

from bot.app import BotApp
from bot.config import Settings
from bot.sandbox.emulator import BotAPIEmulator, SentMessage
from bot.sandbox.emulator.people import Posted
from bot.storage.media_models import TicketMedia
from bot.storage.models import Ticket

RAISER = 1_500_001
PLACE = (12.6392, -8.0029)  # Bamako's market
EVIDENCE_FLOW = """
schema: 1
id: evidence
version: 1
title: concern.title
command: evidence
start: photos
nodes:
  - id: photos
    ask: media
    text: concern.ask_evidence
    accepts: [photo, voice]
    max_items: 2
    skippable: true
    next: thanks
  - id: thanks
    end: true
"""


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped flows, and one more that collects media as answers (`/evidence`)."""
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    (flows / "evidence.yaml").write_text(EVIDENCE_FLOW, encoding="utf-8")
    return settings.model_copy(update={"flows_dir": flows})


@pytest.fixture
async def raiser(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    phone = Phone(emulator, app, user_id=RAISER, first_name="Awa")
    await onboard(phone)
    return phone


async def sent(phone: Phone, posted: Posted) -> dict[str, Any]:
    """Wait until the bot handled what the person sent; the message as Telegram carried it."""
    assert posted.update_id is not None
    await phone.app.tracker.wait_handled(posted.update_id)
    return posted.message


async def up_to_identity(phone: Phone, text: str) -> None:
    await phone.send("/concern")
    for label in ("Trust", "The municipality", "Urgent"):
        await phone.press(f". {label}")
    await phone.send(text)


async def media_after(admin: Phone, handle: str, count: int) -> list[SentMessage]:
    """The coordinator's messages after the line announcing a ticket's media."""
    heading = await admin.wait_for(f"Sent with concern {handle}: {count}")
    first = admin.messages.index(heading) + 1
    shown = await admin.emulator.wait_for_messages(admin.user_id, first + count)
    return shown[first : first + count]


def handle_in(text: str) -> str:
    return text.split("ticket ")[1].split(" ")[0].rstrip(";")


async def test_a_voice_note_a_photo_and_a_place_reach_the_committee_with_a_named_concern(
    admin: Phone, raiser: Phone, emulator: BotAPIEmulator, db: Database
) -> None:
    await up_to_identity(raiser, "The market drains overflow.")
    raiser.new()
    await raiser.press("Give my name")
    asked = raiser.new_text()
    assert "add a voice note, photos, a document or a place" in asked
    assert raiser.last.buttons[-1][0] == "Skip"

    voice = (await sent(raiser, emulator.send_voice(RAISER)))["voice"]
    assert "Received: 1." in raiser.new_text() and raiser.last.buttons[-1][0] == "✔ Done"
    photo = (await sent(raiser, emulator.send_photo(RAISER)))["photo"][-1]  # the largest size
    await sent(raiser, emulator.send_location(RAISER, *PLACE))
    assert "Received: 3." in raiser.new_text()
    await raiser.press("Done")
    handle = handle_in(raiser.new_text())

    card = await admin.wait_for(f"New concern {handle}")
    assert "From: Awa" in card.plain_text
    shown = await media_after(admin, handle, 3)
    assert [m.kind for m in shown] == ["voice", "photo", "location"]
    assert shown[0].file_id == voice["file_id"] and shown[1].file_id == photo["file_id"]
    assert shown[0].plain_text == handle == shown[1].plain_text
    assert shown[0].to_api()["voice"]["duration"] == voice["duration"]
    assert shown[2].content == {"location": {"latitude": PLACE[0], "longitude": PLACE[1]}}

    [ticket] = await db.rows(Ticket)
    member = await db.member(RAISER)
    assert member is not None and ticket.member_id == member.id
    stored = sorted(await db.rows(TicketMedia), key=lambda m: m.position)
    assert [(m.kind, m.file_id, m.file_unique_id) for m in stored[:2]] == [
        ("voice", voice["file_id"], voice["file_unique_id"]),
        ("photo", photo["file_id"], photo["file_unique_id"]),
    ]
    assert (stored[2].kind, stored[2].latitude, stored[2].longitude) == ("location", *PLACE)


async def test_an_anonymous_raiser_is_warned_before_any_media_and_no_document_is_taken(
    admin: Phone, raiser: Phone, emulator: BotAPIEmulator, db: Database
) -> None:
    await up_to_identity(raiser, "The inspector asks for money.")
    raiser.new()
    await raiser.press("Stay anonymous")
    warning = raiser.new_text()
    assert "a voice note lets anyone who hears it recognise your voice" in warning
    assert "I take no documents on an anonymous concern" in warning
    assert [label for label, _ in raiser.last.buttons] == ["Yes", "No"]
    # Nothing is taken before the raiser says yes to it, having read the warning.
    await sent(raiser, emulator.send_voice(RAISER))
    refused = raiser.new_text()
    assert "I can only read text and buttons here" in refused
    assert "Would you still like to add" in refused

    await raiser.press("Yes")
    assert "your voice can be recognised" in raiser.new_text()
    await sent(raiser, emulator.send_document(RAISER, b"%PDF-1.4", file_name="minutes.pdf"))
    refused = raiser.new_text()
    assert "I take no documents or files here (they can carry your name)" in refused
    assert "a voice note, a photo, a location" in refused
    voice = (await sent(raiser, emulator.send_voice(RAISER)))["voice"]
    await sent(raiser, emulator.send_photo(RAISER))
    await raiser.send("done")
    handle = handle_in(raiser.new_text())

    card = await admin.wait_for(f"New concern {handle}")
    assert "From: anonymous" in card.plain_text and "Awa" not in card.plain_text
    shown = await media_after(admin, handle, 2)
    assert [m.kind for m in shown] == ["voice", "photo"]
    assert shown[0].file_id == voice["file_id"]

    # A reader of the database finds the media beside the ticket, and nothing of the raiser.
    [ticket] = await db.rows(Ticket)
    member = await db.member(RAISER)
    assert member is not None and ticket.anonymous and ticket.member_id is None
    stored = await db.rows(TicketMedia)
    assert sorted(m.kind for m in stored) == ["photo", "voice"]
    assert set(TicketMedia.model_fields) == {
        "id", "ticket_id", "position", "kind", "file_id", "file_unique_id", "latitude",
        "longitude",
    }  # fmt: skip
    raiser_values = {member.id, member.chat_id, member.telegram_user_id}
    for row in stored:
        held = row.model_dump(exclude={"id", "ticket_id", "position"}).values()
        assert not raiser_values & {v for v in held if v is not None}


async def test_skip_by_button_and_by_typing_and_unaccepted_media_refused_politely(
    admin: Phone, raiser: Phone, emulator: BotAPIEmulator, db: Database
) -> None:
    # A sticker to a question that takes buttons: what the bot reads, and the question again.
    await raiser.send("/concern")
    raiser.new()
    await sent(raiser, emulator.send_sticker(RAISER))
    assert "I can only read text and buttons here" in raiser.new_text()
    assert raiser.last.buttons, "the question is asked again with its buttons"
    await raiser.send("/cancel")

    await up_to_identity(raiser, "Nobody collects the rubbish.")
    await raiser.press("Give my name")
    raiser.new()
    await sent(raiser, emulator.send_sticker(RAISER))
    refused = raiser.new_text()
    assert "Sorry, I cannot take that here. I can take a voice note, a photo, a location" in (
        refused
    )
    assert raiser.last.buttons[-1][0] == "Skip", "Skip is always offered"
    await raiser.send("here is my photo")
    assert "I can take a voice note" in raiser.new_text()
    await raiser.send("skip")
    assert "with your name" in raiser.new_text()

    await up_to_identity(raiser, "The streetlights are out.")
    await raiser.press("Give my name")
    await raiser.press("Skip")
    assert "with your name" in raiser.new_text()
    assert await db.count(TicketMedia) == 0
    assert await db.count(Ticket) == 2


async def test_mydata_lists_a_named_raisers_media(
    admin: Phone, raiser: Phone, emulator: BotAPIEmulator
) -> None:
    await up_to_identity(raiser, "The well is dry.")
    await raiser.press("Give my name")
    photo = (await sent(raiser, emulator.send_photo(RAISER)))["photo"][-1]
    await sent(raiser, emulator.send_location(RAISER, *PLACE))
    await raiser.press("Done")
    raiser.new()

    await raiser.send("/mydata")
    document = json.loads(raiser.new()[-1].file_bytes or b"")
    [concern] = document["concerns"]
    assert concern["media"] == [
        {"position": 0, "kind": "photo", "file_id": photo["file_id"],
         "file_unique_id": photo["file_unique_id"], "latitude": None, "longitude": None},
        {"position": 1, "kind": "location", "file_id": None, "file_unique_id": None,
         "latitude": PLACE[0], "longitude": PLACE[1]},
    ]  # fmt: skip


async def test_a_media_question_of_any_flow_is_exported_by_kind_and_file_id(
    admin: Phone, emulator: BotAPIEmulator, db: Database
) -> None:
    await admin.send("/evidence")
    assert "Send a photo, a voice note; several if you like, up to 2." in admin.new_text()
    photo = (await sent(admin, emulator.send_photo(ADMIN)))["photo"][-1]
    voice = (await sent(admin, emulator.send_voice(ADMIN)))["voice"]
    admin.new()  # the second of two: the question is answered

    assert sorted(await answers_of(db)) == sorted(
        [
            f"photo:{photo['file_id']}:{photo['file_unique_id']}",
            f"voice:{voice['file_id']}:{voice['file_unique_id']}",
        ]
    )
    await admin.send("/export csv evidence")
    rows = csv_rows(admin.new()[-1].file_bytes or b"")
    assert sorted((r["question"], r["kind"], r["value"]) for r in rows) == sorted(
        [
            ("photos", "media", f"photo:{photo['file_id']}:{photo['file_unique_id']}"),
            ("photos", "media", f"voice:{voice['file_id']}:{voice['file_unique_id']}"),
        ]
    )


async def answers_of(db: Database) -> list[str]:
    value = (await db.answers(ADMIN, "evidence"))["photos"]
    return value if isinstance(value, list) else [value]


async def test_forget_takes_a_raisers_media_from_their_named_and_anonymous_tickets(
    admin: Phone, raiser: Phone, emulator: BotAPIEmulator, db: Database
) -> None:
    await up_to_identity(raiser, "The clinic is closed on market days.")
    await raiser.press("Give my name")
    await sent(raiser, emulator.send_voice(RAISER))
    await raiser.press("Done")
    await up_to_identity(raiser, "The clerk sells the permits.")
    await raiser.press("Stay anonymous")
    await raiser.press("Yes")
    await sent(raiser, emulator.send_voice(RAISER))
    await raiser.press("Done")
    await admin.wait_for("The clerk sells the permits.")  # filed by the leader
    assert await db.count(TicketMedia) == 2

    await raiser.send("/forget")
    await raiser.send("Yes")
    assert "everything about you is erased" in raiser.new_text()
    assert await db.count(TicketMedia) == 0
    assert await db.count(Ticket) == 2  # the tickets stay, without them
