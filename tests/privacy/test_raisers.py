"""Anonymous raisers, as a reader of the database finds them: concerns filed together are not
numbered in their raisers' order, a raiser's reply is not written beside them, and /forget
reaches a concern waiting to be filed."""

from __future__ import annotations

from pathlib import Path

from conftest import Database, Phone, go_on_without_media, onboard
from forensics import (
    Person,
    beside_a_member,
    move_member_ids,
    sqlite_transactions,
    transactions_pairing,
    wal_position,
)

from bot.app import BotApp
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.ballots import SEALED_CONCERNS
from bot.storage.models import Ballot, Ticket

RAISERS = 8
WORDS = "the treasurer of the Zarqa board keeps the fees"
REPLY = "the receipts are in the blue folder at the Zarqa office"
TELEGRAM_ID = 7_100_000_123
MEMBER_IDS = 8_200_000_000


async def raise_anonymously(phone: Phone, text: str) -> str:
    """/concern through to "Stay anonymous"; the handle the raiser is told."""
    await phone.send("/concern")
    for label in ("Trust", "The municipality", "Urgent"):
        await phone.press(f". {label}")
    await phone.send(text)
    phone.new()
    await phone.press("Stay anonymous")
    await go_on_without_media(phone)
    return phone.new_text().split("ticket ")[1].split(" ")[0].rstrip(";")


async def test_concerns_filed_together_are_not_numbered_in_their_raisers_order(
    emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    """Eight concerns wait, sealed, while the leader is busy; it then files them together.
    Their ticket ids used to follow the order they were raised in (and so who raised them,
    by the time each raiser was last seen)."""
    phones = [
        Phone(emulator, app, user_id=7_400_000 + n, first_name=f"Raiser{n}") for n in range(RAISERS)
    ]
    for phone in phones:
        await onboard(phone)
    assert app.scheduler is not None
    await app.scheduler.stop()  # no filing at once: the concerns wait for the next pass
    handles = [await raise_anonymously(p, f"concern number {n}") for n, p in enumerate(phones)]
    assert await db.count(Ticket) == 0
    await app.scheduler.file_sealed()
    filed = [t.handle for t in sorted(await db.rows(Ticket), key=lambda t: t.id or 0)]
    assert sorted(filed) == sorted(handles)
    # By chance alone, shuffled tickets keep the raisers' order once in 8! = 40,320.
    assert filed != handles


async def test_forget_reaches_a_concern_not_yet_filed(
    emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    """A member raises an anonymous concern and erases their data before the leader files it:
    the concern used to be filed afterwards, their words with it, and the sealed concern kept
    the way back to them meanwhile."""
    phone = Phone(emulator, app, user_id=7_400_100, first_name="Raiser")
    await onboard(phone)
    assert app.scheduler is not None
    await app.scheduler.stop()  # the leader is busy: the concern waits, sealed
    await raise_anonymously(phone, WORDS)
    assert [b.flow_id for b in await db.rows(Ballot)] == [SEALED_CONCERNS]
    await phone.send("/forget")
    await phone.send("Yes")
    assert "everything about you is erased" in phone.new_text()
    assert await db.rows(Ballot) == []
    await app.scheduler.file_sealed()
    assert WORDS not in [t.text for t in await db.rows(Ticket)]


async def test_a_raisers_reply_is_not_written_in_their_transaction(
    emulator: BotAPIEmulator, app: BotApp, db: Database, admin: Phone, database_url: str
) -> None:
    """An anonymous raiser replies to the coordinators' answer. The reply used to be written in
    the raiser's own transaction, beside the deletion of their draft and a message to their
    chat naming the ticket: the WAL (and PostgreSQL's dead tuples) paired them."""
    await move_member_ids(app, MEMBER_IDS)
    postgres = not database_url.startswith("sqlite")
    since = await wal_position(app) if postgres else ""
    phone = Phone(emulator, app, user_id=TELEGRAM_ID, first_name="Quorrinne")
    await onboard(phone)
    handle = await raise_anonymously(phone, WORDS)
    card = await admin.wait_for(f"New concern {handle}")
    await admin.press("Answer", message=card)
    await admin.send("Which office do you mean?")
    relayed = await phone.wait_for("Which office do you mean?")
    await phone.press("Reply", message=relayed)
    await phone.send(REPLY)
    await admin.wait_for(REPLY)
    member = await db.member(TELEGRAM_ID)
    assert member is not None and member.id is not None
    if postgres:
        writers = "SELECT xmin::text FROM ticketevent WHERE from_raiser"
        assert await beside_a_member(app, since, writers) == []
    else:
        raiser = Person(TELEGRAM_ID, member.id, phone.first_name, frozenset({REPLY, handle}))
        written = sqlite_transactions(Path(database_url.removeprefix("sqlite:///")))
        assert transactions_pairing(written, REPLY, raiser) == 0, "the reply beside its raiser"
        assert transactions_pairing(written, handle, raiser) == 0, "the handle beside its raiser"
