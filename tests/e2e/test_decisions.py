"""Decisions end to end: a coordinator puts a proposal (/propose) to a committee or to members;
votes come by button in private or as a native poll in the committee's bound group (named
through `poll_answer`, anonymous only as totals); one reminder goes to those who have not
voted; at closing the coordinator writes the outcome (/decide), which reaches everyone asked
and the group, and the decision log (/decisions); a ticket answer can name a decision; the k
rule hides small anonymous tallies; and the shell (`partnerbot decisions`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ADMIN, Database, Phone, begin_flow, go_on_without_media, onboard, wait_drained
from sqlalchemy import update

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.decision_models import Decision, DecisionVote, DecisionVoter, SentPoll
from bot.storage.group_models import CommitteeGroup, GroupPurpose
from bot.storage.groups import bind_group, set_thread
from bot.storage.models import AuditEntry, Ballot, Member, Schedule, ScheduleStatus

K = 3
AMINA, KOFI, LENA, MARC = 1001, 1004, 1005, 1003
QUESTION = "Repave the market road before the rains?"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Anonymous totals need at least three people."""
    return settings.model_copy(update={"report_min_group": K})


async def person(emulator: BotAPIEmulator, app: BotApp, user_id: int, name: str) -> Phone:
    phone = Phone(emulator, app, user_id=user_id, first_name=name)
    await onboard(phone, "Community member")
    return phone


async def committee(admin: Phone, *members: int) -> None:
    """Committee #1, the Water board, with these members (the coordinator is not one)."""
    await admin.send("/committee new Water board")
    for member in members:
        await admin.send(f"/committee staff 1 {member}")
    admin.new()


async def propose(admin: Phone, target: str, *steps: str) -> str:
    """/propose to `target` (a committee's button, or members), then each button (or typed
    text, when it starts with '>'); what the coordinator read at the end."""
    admin.new()
    await admin.send("/propose")
    await admin.press(target)
    for step in steps:
        if step.startswith(">"):
            await admin.send(step[1:])
        else:
            await admin.press(step)
    return admin.new_text()


async def quiet_checkins(app: BotApp) -> None:
    """Pause the default check-in schedules: the scheduler's passes then only follow
    decisions (a weekly pulse would otherwise open a conversation that holds a reminder)."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        await session.exec(update(Schedule).values(status=ScheduleStatus.PAUSED))
        await session.commit()


async def tick(app: BotApp) -> None:
    assert app.scheduler is not None and app.session_factory is not None
    await app.scheduler.tick()
    await wait_drained(app.session_factory)


async def bound_group(
    emulator: BotAPIEmulator, app: BotApp, *members: int, forum: bool = False
) -> int:
    """A group with the members and the bot in it, bound to committee #1; a forum gets a
    decisions topic, made by the bot."""
    chat = emulator.create_group(
        "Water board", creator=ADMIN, supergroup=True, forum=forum, members=members
    )
    for update_id in emulator.set_bot_status(chat, "administrator"):
        await app.tracker.wait_handled(update_id)
    assert app.session_factory is not None and app.ready is not None
    async with app.session_factory() as session:
        group = await bind_group(
            session,
            committee_id=1,
            chat_id=chat,
            title="Water board",
            is_forum=forum,
            bound_by=None,
            now=app.clock.now(),
        )
        if forum:
            topic = await app.ready.bot.create_forum_topic(chat, "Decisions")
            await set_thread(
                session,
                group=group,
                purpose=GroupPurpose.DECISIONS,
                thread_id=topic.message_thread_id,
            )
        await session.commit()
    return chat


async def poll_in(emulator: BotAPIEmulator, app: BotApp, chat: int) -> str:
    """The poll the bot sent to the group, once its id is recorded."""
    assert app.session_factory is not None
    await wait_drained(app.session_factory)
    [poll] = [m for m in emulator.messages(chat) if m.kind == "poll"]
    assert poll.content is not None
    return str(poll.content["poll"]["id"])


async def vote(
    emulator: BotAPIEmulator, app: BotApp, user_id: int, poll_id: str, *options: int
) -> None:
    for update_id in emulator.vote(user_id, poll_id, list(options)):
        await app.tracker.wait_handled(update_id)


async def voters(db: Database) -> dict[int, tuple[bool, int | None]]:
    """Each asked member's Telegram id: (voted, named option)."""
    telegram = {m.id: m.telegram_user_id for m in await db.rows(Member)}
    return {telegram[r.member_id]: (r.voted, r.option) for r in await db.rows(DecisionVoter)}


async def water_board(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone
) -> tuple[Phone, Phone, Phone]:
    """Amina, Kofi and Lena on committee #1, check-ins paused."""
    phones = (
        await person(emulator, app, AMINA, "Amina"),
        await person(emulator, app, KOFI, "Kofi"),
        await person(emulator, app, LENA, "Lena"),
    )
    await committee(admin, AMINA, KOFI, LENA)
    await quiet_checkins(app)
    return phones


async def test_a_named_proposal_in_private_is_voted_reminded_closed_and_decided(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, db: Database, clock: ManualClock
) -> None:
    amina, kofi, lena = await water_board(emulator, app, admin)

    said = await propose(
        admin,
        "The committee Water board",
        f">{QUESTION}",
        "Agree / abstain",
        "In 3 day(s)",
        "Named",
    )
    assert f"Proposal: “{QUESTION}”" in said
    assert "Options: Agree, Abstain, Disagree, Block" in said
    assert "It goes to 3 member(s). Put it?" in said
    await admin.press("Put the proposal")
    assert "Proposal #1 put to 3 member(s), in private." in admin.new_text()

    # Each member is asked in private; a vote may be changed until closing.
    asked = await amina.wait_for("Proposal #1")
    assert QUESTION in asked.plain_text and "You may change your vote" in asked.plain_text
    await amina.press("Agree")
    assert amina.toast() == "Your vote is counted: Agree."
    await amina.press("Disagree")
    assert amina.toast() == "Your vote is changed: Disagree."
    await kofi.wait_for("Proposal #1")
    await kofi.press("Agree")
    assert await voters(db) == {AMINA: (True, 2), KOFI: (True, 0), LENA: (False, None)}
    outsider = Phone(emulator, app, user_id=MARC, first_name="Marc")
    await onboard(outsider, "Municipality")
    update_id = emulator.press_button(MARC, outsider.last.message_id, "dv:1:0")
    await app.tracker.wait_handled(update_id)
    assert outsider.toast() == "This proposal was not put to you."

    # The one reminder, a day before closing, goes only to who has not voted, and never over
    # a conversation they are in: Lena is answering a questionnaire, so the next pass asks.
    await begin_flow(app, lena, "roles")
    lena.new()
    clock.advance(timedelta(days=2, minutes=1))
    await tick(app)
    assert not [m for m in lena.new() if "you have not voted yet" in m.plain_text]
    await lena.send("/cancel")
    await tick(app)
    reminder = await lena.wait_for("A reminder: you have not voted yet.")
    assert "Proposal #1" in reminder.plain_text
    for voted in (amina, kofi):
        assert not [m for m in voted.messages if "you have not voted yet" in m.plain_text]
    await tick(app)  # once only
    assert len([m for m in lena.messages if "you have not voted yet" in m.plain_text]) == 1

    # Closing: votes stop, the coordinator gets the totals and writes the outcome.
    admin.new()
    clock.advance(timedelta(days=1))
    await tick(app)
    closed = (await admin.wait_for("votes are closed")).plain_text
    assert "Result: not passed" in closed
    assert "Agree 1 · Abstain 0 · Disagree 1 · Block 0 (2 of 3 voted)" in closed
    assert "/decide 1" in closed
    await amina.press("Agree")
    assert amina.toast() == "Votes on this proposal are closed."

    admin.new()
    await admin.press("Write the outcome")
    assert "Proposal #1: write the outcome statement" in admin.new_text()
    await admin.send("We repave after the rains, with the savings group's help.")
    assert "Decision #1: the outcome went to 3 member(s)" in admin.new_text()
    for phone in (amina, kofi, lena):
        outcome = (await phone.wait_for("Decision #1")).plain_text
        assert QUESTION in outcome and "Result: not passed" in outcome
        assert "We repave after the rains" in outcome
    assert not [m for m in outsider.messages if "Decision #1" in m.plain_text]

    # The decision log, for every member: date, question, result and statement.
    await kofi.send("/help")
    assert "/decisions – the decision log" in kofi.last.plain_text
    await kofi.send("/decisions")
    log = kofi.last.plain_text
    assert "Decision log" in log
    assert f"#1 · 2026-01-08 · {QUESTION}" in log
    assert "Result: not passed. We repave after the rains" in log

    actions = [e.action for e in await db.rows(AuditEntry) if e.action.startswith("decision.")]
    assert actions == ["decision.proposed", "decision.decided"]


@pytest.mark.parametrize(
    ("press", "typed", "told"),
    [
        ("Answer", "See #D1.", "See #D1."),
        ("Decline", "The committee chose March, see #D1.", "was declined"),
    ],
)
async def test_a_ticket_answer_or_decline_names_a_decision(
    emulator: BotAPIEmulator,
    app: BotApp,
    admin: Phone,
    clock: ManualClock,
    press: str,
    typed: str,
    told: str,
) -> None:
    amina = await person(emulator, app, AMINA, "Amina")
    await committee(admin, AMINA)
    await quiet_checkins(app)
    await propose(
        admin,
        "The committee Water board",
        f">{QUESTION}",
        "Agree / abstain",
        "In 1 day(s)",
        "Named",
    )
    await admin.press("Put the proposal")
    await amina.wait_for("Proposal #1")
    await amina.press("Agree")
    clock.advance(timedelta(days=1, minutes=1))
    await tick(app)
    await admin.send("/decide 1")
    await admin.send("Repaving starts in March.")

    await amina.send("/concern")
    for label in ("Trust", "The municipality", "Urgent"):
        await amina.press(f". {label}")
    await amina.send("The market road floods every week.")
    await amina.press("Give my name")
    await go_on_without_media(amina)
    new = await admin.wait_for("New concern")
    await admin.press(press, message=new)
    await admin.send(typed)
    said = (await amina.wait_for(told)).plain_text
    assert f"(Decided on 2026-01-06: {QUESTION}: passed. Repaving starts in March.)" in said


async def test_a_named_poll_in_the_group_records_each_members_vote(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, db: Database, clock: ManualClock
) -> None:
    amina, kofi, lena = await water_board(emulator, app, admin)
    chat = await bound_group(emulator, app, AMINA, KOFI, LENA, forum=True)
    assert app.ready is not None
    assert {"poll", "poll_answer"} <= set(app.ready.dispatcher.resolve_used_update_types())

    said = await propose(
        admin,
        "The committee Water board",
        f">{QUESTION}",
        "My own options",
        ">Now\nAfter the rains\nNever",
        "In 3 day(s)",
        "Named",
    )
    assert "Options: Now, After the rains, Never" in said
    await admin.press("Put the proposal")
    assert "put as a poll in the committee's group (3 member(s))" in admin.new_text()
    poll_id = await poll_in(emulator, app, chat)
    [poll] = [m for m in emulator.messages(chat) if m.kind == "poll"]
    assert poll.content is not None
    assert poll.content["poll"]["question"] == f"#1 {QUESTION}"
    assert poll.content["poll"]["is_anonymous"] is False
    assert poll.thread_id is not None  # the forum's decisions topic
    assert not [m for m in amina.messages if "Proposal #1" in m.plain_text]  # the group only

    await vote(emulator, app, AMINA, poll_id, 0)
    await vote(emulator, app, KOFI, poll_id, 2)
    await vote(emulator, app, AMINA, poll_id, 1)  # a changed vote
    assert await voters(db) == {AMINA: (True, 1), KOFI: (True, 2), LENA: (False, None)}
    await vote(emulator, app, KOFI, poll_id)  # taken back
    assert (await voters(db))[KOFI] == (False, None)
    await vote(emulator, app, KOFI, poll_id, 1)

    clock.advance(timedelta(days=2, minutes=1))
    await tick(app)
    reminder = await lena.wait_for("Vote in the committee's group.")
    assert not reminder.buttons
    assert not [m for m in kofi.messages if "not voted yet" in m.plain_text]

    clock.advance(timedelta(days=1))
    await tick(app)
    await emulator.wait_for_calls("stopPoll")
    assert poll.content["poll"]["is_closed"] is True
    closed = (await admin.wait_for("votes are closed")).plain_text
    assert "Result: After the rains" in closed
    assert "Now 0 · After the rains 2 · Never 0 (2 of 3 voted)" in closed

    await admin.send("/decide 1")
    await admin.send("After the rains, then.")
    group = Phone(emulator, app, user_id=chat)
    posted_message = await group.wait_for("Decision #1")
    assert posted_message.thread_id == poll.thread_id
    posted = posted_message.plain_text
    assert "Result: After the rains" in posted and "After the rains, then." in posted
    for phone in (amina, kofi, lena):
        await phone.wait_for("Decision #1")


async def test_a_poll_for_a_deleted_decisions_topic_opens_a_new_one(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, db: Database
) -> None:
    await water_board(emulator, app, admin)
    chat = await bound_group(emulator, app, AMINA, KOFI, LENA, forum=True)
    [group] = await db.rows(CommitteeGroup)
    gone = group.thread_for(GroupPurpose.DECISIONS)
    assert gone is not None
    emulator.set_topic(chat, gone, deleted=True)  # someone deletes the decisions topic

    await propose(
        admin,
        "The committee Water board",
        f">{QUESTION}",
        "Agree / abstain",
        "In 3 day(s)",
        "Named",
    )
    await admin.press("Put the proposal")
    await poll_in(emulator, app, chat)
    [poll] = [m for m in emulator.messages(chat) if m.kind == "poll"]
    [group] = await db.rows(CommitteeGroup)
    fresh = group.thread_for(GroupPurpose.DECISIONS)
    assert fresh is not None and fresh != gone and poll.thread_id == fresh
    assert [t["name"] for t in emulator.topics(chat)] == ["Decisions"]


async def test_an_anonymous_poll_keeps_no_voter(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, db: Database, clock: ManualClock
) -> None:
    await water_board(emulator, app, admin)
    chat = await bound_group(emulator, app, AMINA, KOFI, LENA)
    await propose(
        admin,
        "The committee Water board",
        f">{QUESTION}",
        "Agree / abstain",
        "In 3 day(s)",
        "Anonymous",
    )
    await admin.press("Put the proposal")
    poll_id = await poll_in(emulator, app, chat)
    [poll] = [m for m in emulator.messages(chat) if m.kind == "poll"]
    assert poll.content is not None and poll.content["poll"]["is_anonymous"] is True

    await vote(emulator, app, AMINA, poll_id, 0)
    await vote(emulator, app, KOFI, poll_id, 0)
    await vote(emulator, app, LENA, poll_id, 3)
    # Telegram tells the bot only the totals: nobody's vote is stored, nobody is marked.
    assert await db.count(DecisionVote) == 0
    assert set((await voters(db)).values()) == {(False, None)}
    [decision] = await db.rows(Decision)
    assert decision.poll_totals == {"0": 2, "3": 1}
    # Nobody can be told apart as not having voted: no personal reminder.
    clock.advance(timedelta(days=2, minutes=1))
    await tick(app)
    for user_id in (AMINA, KOFI, LENA):
        assert not [m for m in emulator.messages(user_id) if "not voted yet" in m.plain_text]
    clock.advance(timedelta(days=1))
    await tick(app)
    closed = (await admin.wait_for("votes are closed")).plain_text
    assert "Result: not passed" in closed  # a block
    assert "Agree 2 · Abstain 0 · Disagree 0 · Block 1 (3 of 3 voted)" in closed
    assert await db.count(SentPoll) == 1


async def test_anonymous_button_votes_are_nobodys_and_small_tallies_stay_hidden(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, db: Database, clock: ManualClock
) -> None:
    phones = [
        await person(emulator, app, user_id, name)
        for user_id, name in ((AMINA, "Amina"), (KOFI, "Kofi"), (LENA, "Lena"), (1006, "Jo"))
    ]
    marc = Phone(emulator, app, user_id=MARC, first_name="Marc")
    await onboard(marc, "Municipality")
    await quiet_checkins(app)
    said = await propose(
        admin,
        "Members I choose",
        "Community member",
        "Continue",
        f">{QUESTION}",
        "Agree / abstain",
        "In 3 day(s)",
        "Anonymous",
    )
    assert "It goes to 4 member(s)" in said
    await admin.press("Put the proposal")
    assert "Proposal #1 put to 4 member(s), in private." in admin.new_text()
    assert not [m for m in marc.messages if "Proposal #1" in m.plain_text]

    for phone, choice in zip(phones[:2], ("Agree", "Disagree"), strict=True):
        await phone.wait_for("Proposal #1")
        await phone.press(choice)
    await phones[0].press("Abstain")  # changed: still one vote
    # The voters' transactions sealed their votes; the leader files them in its own.
    assert app.scheduler is not None
    await app.scheduler.file_sealed()
    assert await db.count(Ballot) == 0
    assert await db.count(DecisionVote) == 2
    # The voters' rows say who voted, never what; the votes say what, never who.
    rows = await db.rows(DecisionVoter)
    assert sorted(r.voted for r in rows) == [False, False, True, True]
    assert {r.option for r in rows} == {None}
    votes = await db.rows(DecisionVote)
    members = {str(r.member_id) for r in rows} | {str(p.user_id) for p in phones}
    assert not {v.voter_tag for v in votes} & members
    assert sorted(v.option for v in votes) == [1, 2]

    # Under k votes, the log shows no totals while open.
    await marc.send("/decisions")
    assert "Fewer than 3 votes so far" in marc.last.plain_text
    await phones[2].wait_for("Proposal #1")
    await phones[2].press("Agree")
    await marc.send("/decisions")
    assert "Agree 1 · Abstain 1 · Disagree 1 · Block 0 (3 of 4 voted)" in marc.last.plain_text

    # A proposal to fewer than k people: once closed, only pass or fail.
    small = await propose(
        admin, "Members I choose", "Municipality", "Continue", ">Move the Friday meeting?",
        "Agree / abstain", "In 1 day(s)", "Anonymous",
    )  # fmt: skip
    assert "It goes to 2 member(s)" in small  # Marc and the coordinator
    await admin.press("Put the proposal")
    await marc.wait_for("Proposal #2")
    await marc.press("Agree")
    clock.advance(timedelta(days=1, minutes=1))
    admin.new()
    await tick(app)
    closed = (await admin.wait_for("Proposal #2: votes are closed")).plain_text
    assert "Result: passed. Fewer than 3 people were asked: only the outcome is shown." in closed
    assert "Agree 1" not in closed
    await admin.send("/decide 2")
    await admin.send("We meet on Thursdays from now on.")
    outcome = (await marc.wait_for("Decision #2")).plain_text
    assert "Result: passed. Fewer than 3 people were asked" in outcome
    assert "Agree 1" not in outcome
