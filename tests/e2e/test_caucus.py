"""Caucus rounds end to end: a coordinator opens a round for one stakeholder group (in chat
or from the shell), that group alone answers and sees its results first (k-anonymous, words
only where consented), reacts, and the brief goes to the committee named at the start; two
groups' parallel rounds go side by side in the joint brief."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ADMIN, Database, Phone, onboard

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.caucus_models import CaucusEntry, CaucusReaction, CaucusSeat
from bot.storage.models import AuditEntry

K = 3
INVITE = "Your group's own round"
RESULTS = "what you said together"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Results need at least three people."""
    return settings.model_copy(update={"report_min_group": K})


async def person(
    emulator: BotAPIEmulator, app: BotApp, user_id: int, name: str, group: str
) -> Phone:
    phone = Phone(emulator, app, user_id=user_id, first_name=name)
    await onboard(phone, group)
    return phone


async def forum(admin: Phone, *members: int) -> None:
    """The committee the briefs go to: Ada and the given members sit on it."""
    await admin.send("/committee new Joint forum")
    for member in (ADMIN, *members):
        await admin.send(f"/committee staff 1 {member}")
    admin.new()


async def answer(phone: Phone, kind: str, text: str, priority: int, quote: bool) -> str:
    """Take part through the round's invitation (or Add a point) and answer every question."""
    await phone.press(kind)
    await phone.send(text)
    await phone.press(str(priority))
    await phone.press("Yes" if quote else "No")
    return phone.new_text()


async def take_part(phone: Phone, kind: str, text: str, priority: int, quote: bool) -> str:
    await phone.wait_for(INVITE)
    await phone.press("Take part")
    return await answer(phone, kind, text, priority, quote)


async def forged(phone: Phone, data: str) -> None:
    """Press a button with this data under the last message the phone received."""
    update_id = phone.emulator.press_button(phone.user_id, phone.last.message_id, data)
    await phone.app.tracker.wait_handled(update_id)


async def guided(admin: Phone, *steps: str) -> str:
    """/caucus, then each button (or typed text, when it starts with '>')."""
    admin.new()
    await admin.send("/caucus")
    for step in steps:
        if step.startswith(">"):
            await admin.send(step[1:])
        else:
            await admin.press(step)
    return admin.new_text()


async def test_a_group_answers_sees_its_results_first_reacts_and_briefs_the_committee(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, db: Database
) -> None:
    amina = await person(emulator, app, 1001, "Amina", "Community member")
    kofi = await person(emulator, app, 1004, "Kofi", "Community member")
    lena = await person(emulator, app, 1005, "Lena", "Community member")
    marc = await person(emulator, app, 1003, "Marc", "Municipality")
    await forum(admin, 1003)

    said = await guided(
        admin, "Open a round", "Community member", "Joint forum", ">Water services review"
    )
    assert "Open a round for Community member about “Water services review”" in said
    assert "briefing Joint forum? 3 member(s) will be invited." in said
    await admin.press("Confirm")
    assert "Round #1 opened for Community member (“Water services review”)" in admin.new_text()

    # The group, and only the group, is invited and answers.
    thanks = await take_part(amina, "An issue", "The standpipes run dry by noon", 5, quote=True)
    assert "your point is in the Community member round “Water services review”" in thanks
    await take_part(kofi, "An issue", "Bills we cannot read", 4, quote=False)
    await take_part(lena, "An opportunity", "Our youth group can map the leaks", 3, quote=True)
    assert not [m for m in marc.messages if INVITE in m.plain_text]
    await forged(marc, "cc:join:1")  # another group's member, the same button
    assert marc.toast() == "This round is for another stakeholder group."
    assert await db.count(CaucusEntry) == 3
    # No entry names its author; who answered is kept apart from what they said.
    seats = await db.rows(CaucusSeat)
    assert sorted(s.answered for s in seats) == [True, True, True]
    entries = await db.rows(CaucusEntry)
    assert len({e.respondent for e in entries}) == 3
    assert not {str(s.member_id) for s in seats} & {e.respondent for e in entries}

    # Results go to the group first: the coordinator only learns how many saw them.
    said = await guided(admin, "#1 Community member: show the group its results")
    assert "Show round #1's results to its group (Community member, 3 member(s))" in said
    await admin.press("Confirm")
    assert "Round #1: results shown to Community member, 3 member(s)." in admin.new_text()
    results = (await amina.wait_for(RESULTS)).plain_text
    assert "3 took part. Only your group sees this." in results
    assert "The standpipes run dry by noon" in results
    assert "Our youth group can map the leaks" in results
    assert "Bills we cannot read" not in results  # not consented
    # Two issues and one opportunity: each kind is under three people, the whole is not.
    assert "• An issue: not shown (fewer than 3 people)" in results
    assert "• All points brought: 3 (how pressing, on average: 4.0 of 5)" in results
    for outsider in (marc, admin):
        assert not [m for m in outsider.messages if RESULTS in m.plain_text]

    # The group reacts: agree, disagree (once each), or adds a point.
    await kofi.wait_for(RESULTS)
    await amina.press("Agree")
    assert "your reaction is counted" in amina.new_text()
    await amina.press("Disagree")
    assert amina.toast() == "You have already reacted to this round."
    await kofi.press("Disagree")
    await lena.wait_for(RESULTS)
    await lena.press("Agree")
    await lena.press("Add a point")
    added = await answer(lena, "An opportunity", "Rainwater tanks at the school", 4, quote=True)
    assert "your point is in the Community member round" in added
    assert await db.count(CaucusReaction) == 3

    # Closing sends the committee its brief: consented words only, figures k-anonymous.
    said = await guided(admin, "#1 Community member: close, brief the committee", "Confirm")
    assert "Round #1 (Community member) closed: the brief went to Joint forum, 2 member(s)." in said
    brief = (await marc.wait_for("Brief from the Community member round")).plain_text
    assert "3 of 3 took part" in brief
    assert "Rainwater tanks at the school" in brief
    assert "Bills we cannot read" not in brief
    assert "On seeing their results: fewer than 3 agreed, fewer than 3 disagreed." in brief
    await lena.press("Agree")
    assert lena.toast() == "Reactions to this round are closed."
    await lena.press("Add a point")
    assert lena.toast() == "This round is closed: your answer was not kept."

    actions = [e.action for e in await db.rows(AuditEntry) if e.action.startswith("caucus.")]
    assert actions == ["caucus.opened", "caucus.shared", "caucus.closed"]

    # Amina's own data names the round she was invited to, not what she said there.
    await amina.send("/mydata")
    sent = amina.last
    assert sent.kind == "document"
    document = json.loads(sent.file_bytes or b"")
    assert document["caucus_rounds"] == [
        {
            "round": 1,
            "group": "community",
            "topic": "Water services review",
            "answered": True,
            "reacted": True,
        }
    ]
    assert "standpipes" not in json.dumps(document["caucus_rounds"])


@pytest.fixture
def clock() -> ManualClock:
    """The bot's time is the shell's (see `shell`)."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def cli_env(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REPORT_MIN_GROUP", str(K))
    return cli_env


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["caucus", *args])
    out, err = capsys.readouterr()
    # The bot's own log lines (its loop-lag warning under load) share stderr: only ours count.
    own = [line for line in err.splitlines() if line.startswith("partnerbot:")]
    return code, out.strip(), "\n".join(own)


async def shell(
    clock: ManualClock, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """The command runs its own event loop: off the test's loop. It reads the system's time,
    which the bot's clock then catches up with, so that what it queued is due."""
    done = await asyncio.to_thread(cli, capsys, *args)
    clock.advance(max(timedelta(0), datetime.now(UTC) - clock.now()))
    return done


async def test_a_small_group_sees_no_figure_and_no_quote(
    emulator: BotAPIEmulator,
    app: BotApp,
    admin: Phone,
    db: Database,
    cli_env: Settings,
    capsys: pytest.CaptureFixture[str],
    clock: ManualClock,
) -> None:
    jo = await person(emulator, app, 1006, "Jo", "Private company")
    kim = await person(emulator, app, 1007, "Kim", "Private company")
    await forum(admin)
    assert await shell(clock, capsys, "open", "nobody", "1", "Budget") == (
        1,
        "",
        "partnerbot: There is no stakeholder group “nobody”.",
    )
    assert await shell(clock, capsys, "open", "private_sector", "Joint forum", "Budget lines") == (
        0,
        "Round #1 opened for Private company (“Budget lines”): 2 member(s) invited.",
        "",
    )
    await take_part(jo, "An issue", "Late payments to contractors", 5, quote=True)
    await take_part(kim, "An issue", "Permits take months", 4, quote=True)
    assert await shell(clock, capsys, "close", "1") == (
        1,
        "",
        "partnerbot: Show the round's results to its group first: the group sees them before "
        "the committee.",
    )
    code, out, _ = await shell(clock, capsys, "list")
    assert (code, out) == (
        0,
        "Caucus rounds\n#1 Private company · “Budget lines” · open · brief to Joint forum · "
        "2 of 2 answered",
    )
    assert (await shell(clock, capsys, "share", "1"))[:2] == (
        0,
        "Round #1: results shown to Private company, 2 member(s).",
    )
    results = (await kim.wait_for(RESULTS)).plain_text
    assert "2 took part" in results
    assert "Fewer than 3 people took part: no figures and no words are shown" in results
    assert "Permits take months" not in results and "Late payments" not in results
    assert "•" not in results

    assert (await shell(clock, capsys, "close", "#1"))[:2] == (
        0,
        "Round #1 (Private company) closed: the brief went to Joint forum, 1 member(s).",
    )
    brief = (await admin.wait_for("Brief from the Private company round")).plain_text
    assert "Fewer than 3 people took part" in brief
    assert "No words are quoted" in brief
    assert "Permits take months" not in brief and "agreed" not in brief
    actions = [(e.action, e.actor_label) for e in await db.rows(AuditEntry)]
    assert [a for a in actions if a[0].startswith("caucus.")] == [
        ("caucus.opened", "cli"),
        ("caucus.shared", "cli"),
        ("caucus.closed", "cli"),
    ]


async def test_two_groups_rounds_in_parallel_go_side_by_side_in_the_joint_brief(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, db: Database
) -> None:
    community = [
        await person(emulator, app, 1001 + n, name, "Community member")
        for n, name in enumerate(("Amina", "Kofi", "Lena"))
    ]
    town = [
        await person(emulator, app, 1011 + n, name, "Municipality")
        for n, name in enumerate(("Marc", "Ines"))
    ]
    await forum(admin, 1011)
    await guided(admin, "Open a round", "Community member", "Joint forum", ">Water", "Confirm")
    await guided(admin, "Open a round", "Municipality", "Joint forum", ">Water", "Confirm")
    for n, phone in enumerate(community):
        await take_part(phone, "An issue", f"Dry standpipe {n}", 4 + n % 2, quote=n < 2)
    for n, phone in enumerate(town):
        await take_part(phone, "An opportunity", f"Budget line {n}", 3, quote=True)
    # Ada is in the municipality group too: three people in all.
    await take_part(admin, "An opportunity", "Shared maintenance crews", 5, quote=True)
    said = await guided(admin)
    assert "Joint brief" not in said  # no round closed yet
    for number, group in ((1, "Community member"), (2, "Municipality")):
        await guided(admin, f"#{number} {group}: show the group its results", "Confirm")
    for number, group in ((1, "Community member"), (2, "Municipality")):
        await guided(admin, f"#{number} {group}: close, brief the committee", "Confirm")
    said = await guided(admin, "Joint brief to Joint forum", "Confirm")
    assert "Joint brief of 2 round(s) sent to Joint forum, 2 member(s)." in said
    joint = (await town[0].wait_for("Joint brief for Joint forum")).plain_text
    community_part, town_part = joint.split("Municipality: “Water”")
    assert "Community member: “Water”, 3 took part" in community_part
    assert "• An issue: 3 (how pressing, on average: 4.3 of 5)" in community_part
    assert "Dry standpipe 0" in community_part and "Dry standpipe 2" not in joint
    assert "3 took part" in town_part
    assert "• An opportunity: 3 (how pressing, on average: 3.7 of 5)" in town_part
    assert "Shared maintenance crews" in town_part
    said = await guided(admin)
    assert "Joint brief" not in said  # both rounds are in it
    actions = [e.action for e in await db.rows(AuditEntry) if e.action.startswith("caucus.")]
    assert actions.count("caucus.joint") == 1 and actions.count("caucus.closed") == 2


async def test_the_caucus_questions_are_not_offered_without_a_round(admin: Phone) -> None:
    """Only a round's invitation starts them: neither /proxy nor a schedule can."""
    await admin.send("/help")
    assert "/caucus – a stakeholder group's own round before the joint forum" in admin.new_text()
    await admin.send("/proxy")
    offered = [label for m in admin.new() for label, _ in m.buttons]
    assert "Trust pulse" in offered and "Your group's own round" not in offered
    await admin.send("/schedules")
    await admin.press("New schedule")
    offered = [label for m in admin.new() for label, _ in m.buttons]
    assert "Trust pulse" in offered and "Your group's own round" not in offered
