"""Anonymous votes by button, as a reader of the database finds them: the vote is not written
in its voter's transaction (only that they voted is), a changed vote counts once, the latest,
whichever of its ballots the leader files first, and closing files the ballots still waiting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import Database, Phone, onboard
from forensics import (
    Person,
    beside_a_member,
    move_member_ids,
    sqlite_transactions,
    transactions_pairing,
    wal_position,
)
from sqlalchemy import insert

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.ballots import SEALED_VOTES
from bot.storage.decision_models import Decision, DecisionVote
from bot.storage.models import Ballot

K = 3
TELEGRAM_ID = 7_100_000_321
MEMBER_IDS = 8_200_000_000
QUESTION = "Move the Zarqa water point to the school?"
AGREE, DISAGREE = 0, 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Totals shown from three people; no background sweep (the test files when it means to)."""
    return settings.model_copy(update={"report_min_group": K, "checkin_sweep_s": 3600.0})


async def asked(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, *people: tuple[int, str]
) -> list[Phone]:
    """These people on committee #1, an anonymous proposal put to it (in private, by button),
    and the scheduler stopped: sealed votes wait until the test files them."""
    phones = []
    for user_id, name in people:
        phone = Phone(emulator, app, user_id=user_id, first_name=name)
        await onboard(phone)
        phones.append(phone)
    await admin.send("/committee new Water board")
    for phone in phones:
        await admin.send(f"/committee staff 1 {phone.user_id}")
    assert app.scheduler is not None and app.ready is not None and app.session_factory
    await app.scheduler.stop()
    async with app.session_factory() as session:
        await app.ready.services.decisions.propose(
            session,
            question=QUESTION,
            closes_at=app.clock.now() + timedelta(days=3),
            anonymous=True,
            committee="1",
            actor_label="test",
        )
        await session.commit()
    for phone in phones:
        await phone.wait_for("Proposal #1")
    return phones


async def file(app: BotApp) -> None:
    """The leader's filing pass."""
    assert app.scheduler is not None
    await app.scheduler.file_sealed()


async def test_an_anonymous_vote_is_not_written_in_its_voters_transaction(
    emulator: BotAPIEmulator, app: BotApp, db: Database, admin: Phone, database_url: str
) -> None:
    """A member votes on an anonymous proposal. The vote used to be written in their own
    transaction, beside the mark that they voted: the WAL (and PostgreSQL's `xmin`) paired
    the vote with its voter."""
    await move_member_ids(app, MEMBER_IDS)
    postgres = not database_url.startswith("sqlite")
    since = await wal_position(app) if postgres else ""
    [phone] = await asked(emulator, app, admin, (TELEGRAM_ID, "Quorrinne"))
    await phone.press("Agree")
    assert phone.toast() == "Your vote is counted: Agree."
    await file(app)
    [vote] = await db.rows(DecisionVote)
    assert vote.option == AGREE
    member = await db.member(TELEGRAM_ID)
    assert member is not None and member.id is not None
    if postgres:
        assert await beside_a_member(app, since, "SELECT xmin::text FROM decision_vote") == []
    else:
        voter = Person(TELEGRAM_ID, member.id, phone.first_name, frozenset({vote.voter_tag}))
        written = sqlite_transactions(Path(database_url.removeprefix("sqlite:///")))
        filed = [t for t in written if any(vote.voter_tag in "\n".join(p.texts) for p in t)]
        assert filed, "the WAL holds the transaction that filed the vote"
        assert transactions_pairing(written, vote.voter_tag, voter) == 0, (
            "the vote beside its voter"
        )


@pytest.mark.parametrize("first", ["earlier", "later"])
async def test_a_changed_vote_counts_once_the_latest_whichever_is_filed_first(
    emulator: BotAPIEmulator, app: BotApp, db: Database, admin: Phone, first: str
) -> None:
    """A member votes Agree, then Disagree, while the leader is busy: two sealed ballots wait.
    Filed in either order, one vote stands, Disagree."""
    [phone] = await asked(emulator, app, admin, (TELEGRAM_ID, "Quorrinne"))
    await phone.press("Agree")
    await phone.press("Disagree")
    assert phone.toast() == "Your vote is changed: Disagree."
    assert await db.count(DecisionVote) == 0
    ballots = {b.id: b for b in await db.rows(Ballot) if b.flow_id == SEALED_VOTES}
    assert len(ballots) == 2
    revision = {i: app.sealer.unseal_json(b.sealed)["revision"] for i, b in ballots.items()}
    # The other ballot is held back (as if sealed while the leader filed this one).
    held = (max if first == "earlier" else min)(ballots, key=revision.__getitem__)
    kept = ballots[held]
    assert app.session_factory is not None
    async with app.session_factory() as session:
        await session.delete(await session.get(Ballot, held))
        await session.commit()
    await file(app)
    assert [v.option for v in await db.rows(DecisionVote)] == [
        AGREE if first == "earlier" else DISAGREE
    ]
    async with app.session_factory() as session:
        row = {"id": kept.id, "flow_id": kept.flow_id, "day": kept.day, "sealed": kept.sealed}
        await session.exec(insert(Ballot).values(row))
        await session.commit()
    await file(app)
    assert [v.option for v in await db.rows(DecisionVote)] == [DISAGREE]
    assert await db.rows(Ballot) == []
    [decision] = await db.rows(Decision)
    async with app.session_factory() as session:
        assert app.ready is not None
        assert await app.ready.services.decisions.counts(session, decision) == {DISAGREE: 1}


async def test_closing_files_the_votes_still_waiting(
    emulator: BotAPIEmulator,
    app: BotApp,
    db: Database,
    admin: Phone,
    clock: ManualClock,
) -> None:
    """Three members vote while the leader is busy; the proposal's time runs out before it
    files their ballots. The closing pass files them first: all three are in the totals."""
    people = ((7_400_201, "Amina"), (7_400_202, "Kofi"), (7_400_203, "Lena"))
    phones = await asked(emulator, app, admin, *people)
    for phone, choice in zip(phones, ("Agree", "Agree", "Disagree"), strict=True):
        await phone.press(choice)
    assert await db.count(DecisionVote) == 0
    assert len(await db.rows(Ballot)) == 3
    clock.advance(timedelta(days=3, minutes=1))
    admin.new()
    assert app.session_factory is not None and app.ready is not None
    async with app.session_factory() as session:
        await app.ready.services.decisions.run_due(session, clock.now())
        await session.commit()
    closed = (await admin.wait_for("Proposal #1: votes are closed")).plain_text
    assert "Agree 2 · Abstain 0 · Disagree 1 · Block 0 (3 of 3 voted)" in closed
    assert await db.rows(Ballot) == []
    assert sorted(v.option for v in await db.rows(DecisionVote)) == [AGREE, AGREE, DISAGREE]
    [decision] = await db.rows(Decision)
    assert decision.totals == {"0": 2, "2": 1}
