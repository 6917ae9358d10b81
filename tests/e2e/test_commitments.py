"""The commitments register through the bot: recording commitments (chat and CSV), delivery
check-ins to the owner, the counter-parties' anonymous ratings (k-anonymous in the report),
variations and their outcome, and `/commitments` for every member."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import ADMIN, Database, Phone, begin_flow
from sqlmodel import col, select
from test_data_rights import everything

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.commitments import CommitmentSpec
from bot.sandbox.emulator import BotAPIEmulator
from bot.services.champion_handover import open_commitments
from bot.services.commitments import OpenCommitment, open_commitments_of
from bot.storage.commitment_models import (
    Commitment,
    CommitmentPrompt,
    CommitmentTally,
    CommitmentUpdate,
    Variation,
    VariationResponse,
)
from bot.storage.models import Answer, AuditEntry, FlowRun, Schedule, ScheduleStatus

K = 2  # the fewest raters whose means are shown, in these tests


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """k = 2, so that two raters make a figure visible."""
    return settings.model_copy(update={"report_min_group": K})


async def join(phone: Phone, organisation: str, group: str = "Community member") -> None:
    """Onboard `phone` as a member of `organisation`, declining the roles conversation."""
    english = phone.language_code == "en"
    language, skip = ("English", "Skip") if english else ("Français", "Passer")
    for typed in ("/start", "yes" if english else "oui", language, skip, group, organisation):
        await phone.send(typed)
    await phone.send("Someone")
    await phone.send("no" if english else "non")
    phone.new()


async def tick(app: BotApp) -> None:
    """A pass of the scheduler, as its sweep runs one."""
    assert app.scheduler is not None
    await app.scheduler.tick()


async def pause_default_schedules(app: BotApp, db: Database) -> None:
    """No trust pulse nor review in the way: a member in a conversation is not asked (tested
    apart, below)."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        for schedule in await db.rows(Schedule):
            assert schedule.id is not None
            await app.checkins.set_status(
                session, schedule_id=schedule.id, status=ScheduleStatus.PAUSED, now=app.clock.now()
            )
        await session.commit()


async def record(app: BotApp, spec: CommitmentSpec) -> int:
    """A commitment recorded as the CLI would (creation itself is tested through chat and CSV)."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        made = await app.ready.services.commitments.create(session, spec=spec, actor=None)
        await session.commit()
    assert made.id is not None
    return made.id


async def open_of(app: BotApp, organisation: str) -> list[OpenCommitment]:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        return await open_commitments_of(session, organisation)


async def audit_actions(db: Database) -> list[str]:
    return [e.action for e in await db.rows(AuditEntry)]


async def test_a_coordinator_records_a_commitment_in_chat_and_every_member_sees_it(
    emulator: BotAPIEmulator, app: BotApp, db: Database, phone: Phone, french_phone: Phone
) -> None:
    ada = Phone(emulator, app, user_id=ADMIN, first_name="Ada")
    await join(ada, "City Hall", "Municipality")
    await join(phone, "River Youth")
    await join(french_phone, "River Youth")

    await phone.send("/new_commitment")
    assert phone.last.plain_text == "Only coordinators can do this."

    await ada.send("/new_commitment")
    assert "Which partner commits?" in ada.last.plain_text
    await ada.press("City Hall")
    assert "Who at City Hall owns it?" in ada.last.plain_text
    await ada.press("Ada")
    await ada.send("Repair the water point")
    await ada.send("05/02/2026")
    assert "is not a date" in ada.last.plain_text
    await ada.send("2026-01-01")
    assert "has already passed" in ada.last.plain_text
    await ada.send("2026-01-20")
    await ada.press("River Youth")
    await ada.send("MoU 2026, clause 4")
    summary = ada.last.plain_text
    assert "Who: City Hall (Ada)" in summary and "For: River Youth" in summary
    await ada.press("Save")
    assert "Commitment #1 is recorded" in ada.last.plain_text

    [made] = await db.rows(Commitment)
    owner = await db.member(ADMIN)
    assert owner is not None
    assert (made.owner_org, made.owner_member_id, made.what) == (
        "City Hall",
        owner.id,
        "Repair the water point",
    )
    assert (made.due_on, made.beneficiary, made.source) == (
        date(2026, 1, 20),
        "River Youth",
        "MoU 2026, clause 4",
    )
    assert "commitment.created" in await audit_actions(db)

    await phone.send("/commitments")
    board = phone.last.plain_text
    assert "City Hall" in board
    assert "#1 Repair the water point: for River Youth, by 2026-01-20. not reported yet" in board
    assert "from: MoU 2026, clause 4" in board
    assert [label for label, _ in phone.last.buttons] == ["Propose a change to #1"]
    await french_phone.send("/commitments")
    assert "pour River Youth, d’ici le 2026-01-20. pas encore renseigné" in (
        french_phone.last.plain_text
    )
    await ada.send("/commitments")
    assert "➕ New commitment" in [label for label, _ in ada.last.buttons]


async def cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def test_commitments_are_imported_from_csv_all_or_none(
    app: BotApp,
    cli_env: Settings,
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sheet = tmp_path / "commitments.csv"
    sheet.write_text(
        "owner,what,due,for,source\n"
        "City Hall,Open the depot on Saturdays,2030-03-01,River Youth,MoU clause 2\n"
        "Water Co,Train two youth plumbers,2030-13-01,River Youth,\n",
        encoding="utf-8",
    )
    assert await cli("commitments", "import", str(sheet)) == 1
    assert "line 3: “2030-13-01” is not a date" in capsys.readouterr().err
    assert await db.count(Commitment) == 0

    sheet.write_text(sheet.read_text().replace("2030-13-01", "2030-04-01"), encoding="utf-8")
    assert await cli("commitments", "import", str(sheet)) == 0
    assert capsys.readouterr().out == "2 commitments recorded.\n"
    assert await cli("commitments", "list") == 0
    listed = capsys.readouterr().out
    assert "#1 Open the depot on Saturdays: for River Youth, by 2030-03-01." in listed
    assert "#2 Train two youth plumbers: for River Youth, by 2030-04-01." in listed
    entries = await db.rows(AuditEntry)
    assert [(e.action, e.actor_label) for e in entries] == [("commitment.created", "cli")] * 2


async def test_the_owner_is_asked_before_and_on_the_due_date(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database, phone: Phone
) -> None:
    ada = Phone(emulator, app, user_id=ADMIN, first_name="Ada")
    await join(ada, "Steering", "Municipality")
    await join(phone, "City Hall", "Municipality")
    youth = Phone(emulator, app, user_id=1003, first_name="Yusuf")
    await join(youth, "River Youth")
    await pause_default_schedules(app, db)
    spec = CommitmentSpec("City Hall", "Repair the water point", date(2026, 1, 10), "River Youth")
    commitment_id = await record(app, spec)

    await tick(app)  # 5 January: too early
    assert phone.new() == []

    clock.advance(timedelta(days=2, hours=1, minutes=30))  # 7 January 10:30, three days ahead
    await begin_flow(app, phone, "roles")  # in a conversation: asked once it ends
    phone.new()
    await tick(app)
    assert phone.new() == []
    await phone.send("/cancel")
    await tick(app)
    asked = await phone.wait_for("A commitment is due soon")
    assert "Repair the water point" in asked.plain_text
    assert [label for label, _ in asked.buttons][:4] == [
        "1. Done",
        "2. On track",
        "3. At risk",
        "4. Blocked",
    ]
    await phone.press("At risk")
    await phone.send("Waiting for the pipes")
    await phone.wait_for("the partners see where it stands")
    alert = await ada.wait_for("At risk")
    assert "Waiting for the pipes" in alert.plain_text and "Amina" in alert.plain_text
    [made] = await db.rows(Commitment)
    assert made.status == "at_risk"
    [update] = await db.rows(CommitmentUpdate)
    assert (update.stage, update.status, update.commitment_id) == ("before", "at_risk", 1)
    assert update.note == "Waiting for the pipes"
    runs = {r.flow_id for r in await db.runs(phone.user_id)}
    assert "commitment_checkin" not in runs  # taken over: no run, no answer rows left
    assert await db.answers(phone.user_id, "commitment_checkin") == {}

    phone.new()
    await tick(app)
    assert phone.new() == []  # asked once per stage
    assert youth.new() == []  # not rated before the due date

    assert app.session_factory is not None
    async with app.session_factory() as session:
        briefing = await open_commitments(session, org_key="city hall")
    assert briefing == ["#1 Repair the water point → River Youth · 2026-01-10"]
    [still_open] = await open_of(app, "city hall")  # what a champion's briefing lists
    assert (still_open.what, still_open.status, still_open.due_on) == (
        "Repair the water point",
        "at_risk",
        date(2026, 1, 10),
    )

    clock.advance(timedelta(days=3))  # 10 January 10:30: due
    await tick(app)
    await phone.wait_for("A commitment is due today", unseen=True)
    await phone.press("Done")
    await phone.press("Skip")
    await youth.wait_for("City Hall committed to this for you")
    [made] = await db.rows(Commitment)
    assert made.status == "done" and made.id == commitment_id
    await youth.send("/commitments")
    assert "Repair the water point: for River Youth, by 2026-01-10. Done" in youth.last.plain_text
    assert await open_of(app, "City Hall") == []


async def test_the_partner_it_is_for_rates_it_anonymously_and_k_anonymously(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database, phone: Phone
) -> None:
    ada = Phone(emulator, app, user_id=ADMIN, first_name="Ada")
    await join(ada, "Steering", "Municipality")
    await join(phone, "City Hall", "Municipality")
    raters = [Phone(emulator, app, user_id=1100 + n, first_name=f"R{n}") for n in range(K)]
    for rater in raters:
        await join(rater, "river youth")  # organisations compare without case
    await pause_default_schedules(app, db)
    spec = CommitmentSpec("City Hall", "Open the depot", date(2026, 1, 6), "River Youth")
    await record(app, spec)
    clock.advance(timedelta(days=1, hours=1, minutes=30))  # 6 January 10:30: due
    await tick(app)
    for rater in raters:
        await rater.wait_for("City Hall committed to this for you")
    assert await db.count(CommitmentPrompt) == 1 + K  # the owner's check-in and each rater

    first, second = raters
    await first.press("4")
    await first.press("5")
    await first.wait_for("Your ratings count without your name")
    await ada.send("/commitments report")
    report = ada.last.plain_text
    assert "Open the depot" in report
    assert f"ratings hidden (fewer than {K} raters)" in report
    assert "delivery" not in report.replace("Ratings are", "")

    await second.press("3")
    await second.press("3")
    await second.wait_for("Your ratings count without your name")
    await ada.send("/commitments report")
    report = ada.last.plain_text
    assert "delivery 3.5/5, spirit 4.0/5 (2 ratings)" in report

    # Nothing but the running sums holds a rating: no answer, no run, no rater.
    [tally] = await db.rows(CommitmentTally)
    assert (tally.raters, tally.delivery_sum, tally.spirit_sum) == (2, 7, 8)
    async with app.session_factory() as session:
        rating_rows = await session.exec(
            select(Answer).where(col(Answer.flow_id) == "commitment_rating")
        )
        assert list(rating_rows) == []
    assert all(r.flow_id != "commitment_rating" for r in await db.rows(FlowRun))

    await phone.send("/commitments report")
    assert phone.last.plain_text == "Only coordinators can do this."


async def test_a_partner_proposes_a_change_the_others_respond_and_the_outcome_is_announced(
    emulator: BotAPIEmulator, app: BotApp, db: Database, phone: Phone
) -> None:
    ada = Phone(emulator, app, user_id=ADMIN, first_name="Ada")
    await join(ada, "Steering", "Municipality")
    await join(phone, "City Hall", "Municipality")
    youth = Phone(emulator, app, user_id=1003, first_name="Yusuf")
    await join(youth, "River Youth")
    outsider = Phone(emulator, app, user_id=1004, first_name="Olu")
    await join(outsider, "Elsewhere")
    spec = CommitmentSpec("City Hall", "Repair the water point", date(2026, 1, 20), "River Youth")
    await record(app, spec)

    await outsider.send("/commitments")
    assert outsider.last.buttons == []  # not a party: nothing to propose
    outsider.new()

    await youth.send("/commitments")
    await youth.press("Propose a change to #1")
    await youth.press("Propose a change")
    await youth.send("Move it to February: the rains")
    await youth.send("2026-02-15")
    assert "New due date: 2026-02-15" in youth.last.plain_text
    await youth.press("Send to the partners")
    assert "Sent as variation #1" in youth.last.plain_text

    proposal = await phone.wait_for("River Youth proposes a change")
    assert "Move it to February: the rains" in proposal.plain_text
    assert [label for label, _ in proposal.buttons] == ["👍 Agree", "👎 Disagree"]
    decision = await ada.wait_for("River Youth proposes a change")
    assert [label for label, _ in decision.buttons] == [
        "✅ Accept (coordinator)",
        "✖ Reject (coordinator)",
    ]
    assert outsider.new() == []

    await phone.press("Agree", message=proposal)
    assert phone.toast() == "Your response is recorded."
    owner = await db.member(phone.user_id)
    assert owner is not None
    proposal_reader = owner.id
    # A button pressed by someone no party to the commitment (a forwarded message, say).
    agree = next(data for label, data in proposal.buttons if "Agree" in label)
    assert agree is not None
    pressed = emulator.press_button(
        outsider.user_id, proposal.message_id, agree, chat_id=phone.user_id
    )
    await app.tracker.wait_handled(pressed)
    # (the emulator files the answer under the chat the message is in)
    assert phone.toast() == "Only the partners this commitment concerns can do this."
    assert [r.member_id for r in await db.rows(VariationResponse)] == [proposal_reader]
    reject = next(data for label, data in decision.buttons if "Reject" in label)
    assert reject is not None
    await ada.press("Accept", message=decision)
    assert ada.toast() == "Accepted: the partners concerned are told."

    for partner in (phone, youth):
        outcome = await partner.wait_for("Variation accepted")
        assert "(1 agreed, 0 disagreed)" in outcome.plain_text
    [variation] = await db.rows(Variation)
    assert (variation.status, variation.kind, variation.new_due_on) == (
        "accepted",
        "change",
        date(2026, 2, 15),
    )
    [made] = await db.rows(Commitment)
    assert made.due_on == date(2026, 2, 15)
    assert "commitment.variation_decided" in await audit_actions(db)
    assert decision.message_id in {m.message_id for m in ada.messages}
    assert [b for m in ada.messages if m.message_id == decision.message_id for b in m.buttons] == []
    # A second coordinator's press on their own copy comes too late.
    pressed = emulator.press_button(ADMIN, decision.message_id, reject)
    await app.tracker.wait_handled(pressed)
    assert ada.toast() == "This variation is already settled."


NOTE, PROPOSAL = "The pipes are late again", "Please share the plumbing plan first"
CHANGE = "Move it to March: the pipes"


async def take_part(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database, phone: Phone
) -> Phone:
    """City Hall's `phone` answers a delivery check-in with a note, River Youth's member (returned)
    raises a dispute, and `phone` disagrees with it."""
    ada = Phone(emulator, app, user_id=ADMIN, first_name="Ada")
    await join(ada, "Steering", "Municipality")
    await join(phone, "City Hall", "Municipality")
    youth = Phone(emulator, app, user_id=1003, first_name="Yusuf")
    await join(youth, "River Youth")
    await pause_default_schedules(app, db)
    await record(app, CommitmentSpec("City Hall", "Repair it", date(2026, 1, 7), "River Youth"))
    clock.advance(timedelta(hours=1, minutes=30))  # two days ahead: the first check-in
    await tick(app)
    await phone.wait_for("A commitment is due soon")
    await phone.press("Blocked")
    await phone.send(NOTE)
    await ada.wait_for(NOTE)
    await youth.send("/commitments")
    await youth.press("Propose a change to #1")
    await youth.press("Raise a dispute")
    await youth.send(PROPOSAL)
    await youth.press("Send to the partners")
    await ada.wait_for(PROPOSAL)
    await phone.press("Disagree")
    assert phone.toast() == "Your response is recorded."
    return youth


async def test_mydata_holds_the_members_check_in_notes_proposals_and_responses(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database, phone: Phone
) -> None:
    youth = await take_part(emulator, app, clock, db, phone)
    await phone.send("/commitments")
    await phone.press("Propose a change to #1")
    await phone.press("Propose a change")
    await phone.send(CHANGE)
    await phone.send("2026-03-02")
    await phone.press("Send to the partners")
    assert "Sent as variation #2" in phone.last.plain_text
    phone.new()

    await phone.send("/mydata")
    sent = phone.new()[-1]
    assert sent.kind == "document"
    document = json.loads(sent.file_bytes or b"")
    what = {"commitment": 1, "what": "Repair it"}
    [checkin] = document["commitment_checkins"]
    assert checkin == what | {"stage": "before", "status": "blocked", "note": NOTE} | {
        "at": checkin["at"]
    }
    [proposed] = document["variations_proposed"]
    assert proposed == {"variation": 2} | what | {
        "kind": "change",
        "text": CHANGE,
        "new_due_on": "2026-03-02",
        "status": "open",
        "at": proposed["at"],
    }
    [response] = document["variation_responses"]
    assert response == {"variation": 1} | what | {"choice": "disagree", "at": response["at"]}
    # Asked as a member of the owner organisation; the commitment is City Hall's, not theirs.
    assert [(r["commitment"], r["purpose"]) for r in document["commitment_requests"]] == [
        (1, "before")
    ]
    assert document["commitments"] == []
    # Another member's identity and words are in none of these sections.
    others = await db.member(youth.user_id)
    assert others is not None
    sections = json.dumps(
        [document[k] for k in ("commitments", "commitment_checkins", "variations_proposed")]
        + [document["variation_responses"], document["commitment_requests"]]
    )
    for trace in ("Yusuf", str(youth.user_id), PROPOSAL, "proposed_by", "member_id"):
        assert trace not in sections, trace


async def test_forget_takes_the_members_notes_and_proposals_away(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database, phone: Phone
) -> None:
    youth = await take_part(emulator, app, clock, db, phone)
    members = {p.user_id: await db.member(p.user_id) for p in (phone, youth)}

    for leaver in (phone, youth):
        await leaver.send("/forget")
        await leaver.press("Yes")
    rows = await everything(app)
    ids = {m.id for m in members.values() if m is not None}
    needles = (NOTE, PROPOSAL, "Amina", "Yusuf")
    found = [
        f"{table}.{column}"
        for table, table_rows in rows.items()
        if table.startswith(("commitment", "variation", "outboxmessage", "auditentry"))
        for row in table_rows
        for column, value in row.items()
        if any(n in str(value) for n in needles)
        or (column.endswith(("member_id", "_by")) and value in ids)
    ]
    assert found == []
    [kept] = await db.rows(Commitment)
    assert (kept.what, kept.status) == ("Repair it", "blocked")  # the register stays
    assert await db.rows(Variation) == [] and await db.rows(CommitmentUpdate) == []
