"""Anonymous raisers, as a reader of the database finds them: concerns filed together are not
numbered in their raisers' order, and /forget reaches a concern waiting to be filed."""

from __future__ import annotations

from conftest import Database, Phone, onboard

from bot.app import BotApp
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.ballots import SEALED_CONCERNS
from bot.storage.models import Ballot, Ticket

RAISERS = 8
WORDS = "the treasurer of the Zarqa board keeps the fees"


async def raise_anonymously(phone: Phone, text: str) -> str:
    """/concern through to "Stay anonymous"; the handle the raiser is told."""
    await phone.send("/concern")
    for label in ("Trust", "The municipality", "Urgent"):
        await phone.press(f". {label}")
    await phone.send(text)
    phone.new()
    await phone.press("Stay anonymous")
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
    await app.scheduler.file_concerns()
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
    await app.scheduler.file_concerns()
    assert WORDS not in [t.text for t in await db.rows(Ticket)]
