"""Exports: pseudonymous members, anonymous answers that link to nobody, proxy answers flagged."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import (
    ADMIN,
    Database,
    Phone,
    add_anonymous_concern,
    begin_flow,
    onboard,
    release_ballots,
)
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlmodel import col, select

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator, SentMessage
from bot.storage import audit
from bot.storage.models import Answer

MEMBER = 7_700_001
NAMED_TEXT = "Please repair the Zarqa well pump"
ANONYMOUS_TEXT = "Nobody listens to the Zarqa elders"
CONCERN_TEXT = "The Zarqa treasurer keeps the receipts"


async def answer_roles(phone: Phone) -> None:
    """A named flow: multi-choices, a free text, skips and a scale."""
    await phone.send("/roles")
    await phone.send("1, 4")
    await phone.send("4")  # leads: community links
    await phone.send(NAMED_TEXT)
    for _ in range(3):
        await phone.press("Skip")
    await phone.send("4")
    phone.new()


async def answer_trust_pulse(phone: Phone, app: BotApp) -> None:
    """An anonymous flow, as a check-in would open it, answered over the chat."""
    await begin_flow(app, phone, "trust_pulse")
    for value in ("4", "3", "2", "5", "4", "3"):
        await phone.send(value)
    await phone.send(ANONYMOUS_TEXT)
    await phone.send("no")  # may committees quote it? (asked when the flow has that question)
    phone.new()
    await release_ballots(app)


@pytest.fixture
async def member(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    phone = Phone(emulator, app, user_id=MEMBER, first_name="Zephyrine")
    await onboard(phone, "Community member")
    await answer_roles(phone)
    await answer_trust_pulse(phone, app)
    return phone


async def raise_anonymous_concern(app: BotApp, telegram_user_id: int) -> None:
    """An anonymous concern as the concerns service stores it: a sealed route, no member."""
    assert app.session_factory is not None and app.sealer is not None
    async with app.session_factory() as session:
        from bot.storage import repo

        raiser = await repo.get_member_by_telegram_id(session, telegram_user_id=telegram_user_id)
        assert raiser is not None and raiser.id is not None
        await add_anonymous_concern(
            session, app.sealer, raiser_id=raiser.id, text=CONCERN_TEXT, now=datetime.now(UTC)
        )
        await session.commit()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[dict[str, str]]:
    sheet = load_workbook(io.BytesIO(data), read_only=True)["answers"]
    values = [
        [c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)
    ]
    header = values[0]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


async def pseudonym_of(db: Database, app: BotApp, telegram_user_id: int) -> str:
    found = await db.member(telegram_user_id)
    assert found is not None and found.id is not None and app.sealer is not None
    return app.sealer.pseudonym(found.id)


def assert_unlinkable(rows: list[dict[str, str]], raw: bytes, pseudonym: str) -> None:
    """Anonymous rows name nobody and come after every named one; nothing names the member;
    the pseudonym is new for this export and never beside a profile answer."""
    kinds = [r["anonymous"] for r in rows]
    assert "yes" in kinds and "no" in kinds
    named = [r for r in rows if r["respondent"]]
    assert rows[: len(named)] == named, "unlinked answers must come after the linked ones"
    anonymous = [r for r in rows if r["anonymous"] == "yes"]
    (exported,) = {r["respondent"] for r in named if r["flow"] == "roles"}
    assert exported.startswith("m-") and exported != pseudonym
    assert not any(r["flow"] == "onboarding" for r in named)
    assert all(r["respondent"].startswith("m-") for r in named)
    assert all(r["response"].startswith("r-") for r in named)
    assert {(r["respondent"], r["response"]) for r in anonymous} == {("", "")}
    assert all(date.fromisoformat(r["date"]).weekday() == 0 for r in anonymous)
    assert {r["stakeholder_group"] for r in rows if r["flow"] != "onboarding"} == {"community"}
    comment = next(r for r in anonymous if r["question"] == "comment")
    assert comment["value"] == ANONYMOUS_TEXT
    named_text = next(r for r in named if r["question"] == "expect_municipality")
    assert named_text["value"] == NAMED_TEXT
    for needle in (str(MEMBER), "Zephyrine", CONCERN_TEXT, "C-TEST1"):
        assert needle.encode() not in raw


async def others_answer_the_pulse(app: BotApp, count: int) -> None:
    """Anonymous trust pulses of `count` more community members, the same week."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        today = app.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        for index in range(count):
            for question, value in (("municipality", 3.0), ("community", 4.0)):
                session.add(
                    Answer(
                        flow_id="trust_pulse",
                        question_key=question,
                        kind="scale",
                        value_number=value,
                        anonymous=True,
                        stakeholder_group="community",
                        created_at=today,
                    )
                )
            session.add(
                Answer(
                    flow_id="trust_pulse",
                    question_key="comment",
                    kind="text",
                    value_text=f"comment {index}",
                    anonymous=True,
                    stakeholder_group="community",
                    created_at=today,
                )
            )
        await session.commit()


def without_pseudonyms(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows with only whether each had a respondent and a response."""
    return [
        {**r, "respondent": str(bool(r["respondent"])), "response": str(bool(r["response"]))}
        for r in rows
    ]


async def test_a_coordinator_exports_csv_and_xlsx(
    admin: Phone, member: Phone, app: BotApp, db: Database, clock: ManualClock
) -> None:
    await others_answer_the_pulse(app, 9)  # ten commenters in the week: enough to export
    await raise_anonymous_concern(app, MEMBER)
    pseudonym = await pseudonym_of(db, app, MEMBER)
    clock.advance(timedelta(days=7))  # the week is over: its anonymous answers may go

    await admin.send("/export")
    assert "Export all answers as which kind of file?" in admin.new_text()
    await admin.press("CSV")
    document = await admin.wait_for("answers. Keep this file safe")
    assert document.kind == "document" and document.file_name is not None
    assert document.file_name.endswith(".csv")
    assert document.file_bytes is not None
    rows = csv_rows(document.file_bytes)
    assert_unlinkable(rows, document.file_bytes, pseudonym)
    assert f"{len(rows)} answers." in document.plain_text
    admin.new()

    await admin.send("/export xlsx")
    workbook = admin.new()[-1]
    assert workbook.file_name is not None and workbook.file_name.endswith(".xlsx")
    assert workbook.file_bytes is not None
    sheet_rows = xlsx_rows(workbook.file_bytes)
    assert without_pseudonyms(sheet_rows) == without_pseudonyms(rows)
    respondents = {r["respondent"] for r in sheet_rows} - {""}
    assert respondents and not respondents & {r["respondent"] for r in rows}, "new each time"
    # The sheet's XML, uncompressed, names nobody either.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(workbook.file_bytes)) as archive:
        xml = b"".join(archive.read(name) for name in archive.namelist())
    assert_unlinkable(sheet_rows, xml, pseudonym)

    await admin.send("/export csv trust_pulse 2020-01-01")
    only_pulse = csv_rows(admin.new()[-1].file_bytes or b"")
    assert only_pulse and {r["flow"] for r in only_pulse} == {"trust_pulse"}
    await admin.send("/export csv nowhere")
    assert "I did not understand “nowhere”" in admin.new_text()

    async with app.session_factory() as session:
        entries = await audit.list_entries(session)
    exports = [e for e in entries if e.action == "export"]
    assert [e.detail["format"] for e in reversed(exports)] == ["csv", "xlsx", "csv"]
    assert {e.actor_label for e in exports} == {f"admin {ADMIN}"}
    assert exports[0].detail["flow"] == "trust_pulse"


async def test_only_coordinators_export_and_a_stale_button_grants_nothing(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp
) -> None:
    helper = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(helper, "Civil-society organisation")
    await helper.send("/export")
    assert "Only coordinators can export answers." in helper.new_text()

    await admin.send("/promote 1001")
    await helper.send("/export")
    offer: SentMessage = helper.new()[-1]
    await admin.send("/demote 1001")
    await helper.press("CSV", message=offer)
    assert helper.toast() == "You are no longer allowed to do this."
    assert [m for m in helper.new() if m.kind == "document"] == []


async def test_the_command_line_export_is_audited(
    member: Phone,
    app: BotApp,
    db: Database,
    cli_env: Settings,
    tmp_path: Path,
) -> None:
    out = tmp_path / "answers.xlsx"

    args = ["export", "--format", "xlsx", "--out", str(out)]
    assert await asyncio.to_thread(main, [*args, "--longitudinal"]) == 0
    rows = xlsx_rows(out.read_bytes())
    pseudonym = await pseudonym_of(db, app, MEMBER)
    assert {r["respondent"] for r in rows if r["flow"] == "roles"} == {pseudonym}
    assert await asyncio.to_thread(main, args) == 0
    again = xlsx_rows(out.read_bytes())
    assert pseudonym not in {r["respondent"] for r in again}

    code = await asyncio.to_thread(main, ["audit", "--since", "2000-01-01"])
    assert code == 0
    async with app.session_factory() as session:
        entries = await audit.list_entries(session)
    assert [
        (e.actor_label, e.action, e.detail["rows"], e.detail.get("longitudinal"))
        for e in reversed(entries)
    ] == [("cli", "export", len(rows), True), ("cli", "export", len(rows), None)]


async def test_a_lone_members_anonymous_answers_are_not_exported(
    admin: Phone, member: Phone, app: BotApp, clock: ManualClock
) -> None:
    """The member is alone in answering the pulse this week: their ratings and comment would
    be theirs in all but name, so none of them leaves the bot."""
    await admin.send("/export csv trust_pulse")
    document = admin.new()[-1]
    assert document.file_bytes is not None
    assert ANONYMOUS_TEXT.encode() not in document.file_bytes
    assert [r for r in csv_rows(document.file_bytes) if r["anonymous"] == "yes"] == []
    await others_answer_the_pulse(app, 4)  # five raters: the ratings go, the comments stay
    clock.advance(timedelta(days=7))  # once their week is over
    await admin.send("/export csv trust_pulse")
    rows = csv_rows(admin.new()[-1].file_bytes or b"")
    assert {r["question"] for r in rows} == {"municipality", "community"}
    assert len([r for r in rows if r["question"] == "municipality"]) == 5


async def test_a_control_character_in_a_free_text_answer_does_not_break_the_xlsx_export(
    admin: Phone, member: Phone, app: BotApp
) -> None:
    """Text stored before the chat cleaned its input (or pasted into the database) may hold
    control characters, which an XLSX file cannot: they are left out, the rest is exported."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        said = (
            await session.exec(select(Answer).where(col(Answer.value_text) == NAMED_TEXT))
        ).one()
        said.value_text = "The pump\x07 broke\x1b again"
        session.add(said)
        await session.commit()
    await admin.send("/export xlsx roles")
    workbook = admin.new()[-1]
    assert workbook.kind == "document" and workbook.file_bytes is not None
    rows = xlsx_rows(workbook.file_bytes)
    assert next(r for r in rows if r["question"] == "expect_municipality")["value"] == (
        "The pump broke again"
    )


def test_the_csv_guard_catches_formulas_after_leading_whitespace() -> None:
    from bot.services.export import ExportRow, to_csv

    texts = [' =HYPERLINK("http://x")', "\n\t+1+2", "\r\n@SUM(A1)", "  -2+3"]
    rows = [
        ExportRow("", "", "roles", "q", "text", t, "no", "no", "no", "", "2026-01-05")
        for t in texts
    ]
    written = list(csv.DictReader(io.StringIO(to_csv(rows).decode("utf-8-sig"))))
    assert [r["value"] for r in written] == ["'" + t for t in texts]


def test_every_cell_of_the_xlsx_export_is_text() -> None:
    """Nothing a member types becomes a formula, a number, an error, a link or markup."""
    from bot.services.export import ExportRow, to_xlsx

    texts = [
        '=HYPERLINK("http://x","x")',
        "#N/A",
        "#REF!",
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "http://x",
        "plain",
        "3",
        "  spaced  ",
        "<r>x</r>",
        # XlsxWriter writes text shaped like a rich string's XML as it is, unless guarded
        '<r><t>a</t></r></is></c><c><f>1+1</f></c><c t="inlineStr"><is><r><t>b</t></r>',
    ]
    rows = [
        ExportRow("", "", "roles", "q", "text", t, "no", "no", "no", "", "2026-01-05")
        for t in texts
    ]
    sheet = load_workbook(io.BytesIO(to_xlsx(rows)))["answers"]
    cells = [row[5] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == texts
    assert {c.data_type for c in cells} == {"s"}


def test_the_xlsx_export_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XlsxWriter's constant_memory mode writes the rows to a temporary file first: it is gone
    once the export is made, and when it fails half-way."""
    import tempfile

    from bot.services.export import ExportRow, to_xlsx

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    row = ExportRow("", "", "roles", "q", "text", "fine", "no", "no", "no", "", "2026-01-05")
    assert to_xlsx([row] * 3)
    broken = ExportRow("", "", "roles", "q", "text", None, "no", "no", "no", "", "2026-01-05")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_xlsx([row, broken])
    assert list(tmp_path.iterdir()) == []
