"""Invitation links end to end: made by a coordinator (with a QR code), opened by a person who
is welcomed, consents, confirms the group the link preselected and is counted on the link;
closed links (expired, revoked, used up, unknown) and the committee seat a link offers."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import segno
from conftest import ADMIN, Database, Phone, onboard
from PIL import Image

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.models import AuditEntry, CommitteeMember, ConsentPrompt, Invite, Member

LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


async def make_link(coordinator: Phone, args: str) -> tuple[str, str]:
    """Make a link with `/invite <args>`; its URL and token, from the photo's caption."""
    await coordinator.send(f"/invite {args}")
    sent = coordinator.last
    assert sent.kind == "photo", coordinator.new_text()
    found = LINK.search(sent.plain_text)
    assert found is not None, sent.plain_text
    coordinator.new()
    return found.group(0), found.group(2)


def qr_modules(png: bytes, size: int) -> list[list[bool]]:
    """The dark modules of a QR code PNG drawn `size` modules wide, with segno's default quiet
    zone (4 modules) around it, read at each module's centre."""
    image = Image.open(io.BytesIO(png)).convert("L")
    scale = image.width // (size + 8)

    def dark(x: int, y: int) -> bool:
        centre = (4 * scale + x * scale + scale // 2, 4 * scale + y * scale + scale // 2)
        return int(image.getpixel(centre) or 0) < 128  # type: ignore[arg-type]

    return [[dark(x, y) for x in range(size)] for y in range(size)]


async def answer_up_to_group(phone: Phone) -> str:
    """Consent, English, the partnership's time zone; what was shown up to the group question."""
    await phone.press("Yes")
    await phone.press("English")
    await phone.press("Skip")
    return phone.new_text()


async def test_an_invited_person_confirms_the_preselected_group_and_is_counted(
    admin: Phone, phone: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    url, token = await make_link(admin, "group community 30d 5x")
    assert 1 <= len(token) <= 64
    photo = admin.messages[-1]
    assert "Invitation #1: group Community member, until" in photo.plain_text
    assert ", at most 5 people" in photo.plain_text
    # The QR code is the link's: its modules are those of the link encoded.
    assert photo.file_bytes is not None and photo.file_bytes.startswith(b"\x89PNG")
    code = segno.make(url, error="m")
    expected = [[bool(m) for m in row] for row in code.matrix]
    assert qr_modules(photo.file_bytes, len(expected)) == expected

    await phone.send(f"/start {token}")
    shown = phone.new_text()
    assert "Hello Amina" in shown and "Do you agree?" in shown
    # Before consent nothing personal is kept: only the consent question's tag and the link.
    assert [m.telegram_user_id for m in await db.rows(Member)] == [ADMIN]
    [prompt] = await db.rows(ConsentPrompt)
    assert prompt.invite_id == 1 and str(phone.user_id) not in prompt.tag

    shown = await answer_up_to_group(phone)
    assert "Your invitation says which group you belong to" in shown
    assert [b for b, _ in phone.last.buttons][:2] == ["✓ 1. Community member", "2. Municipality"]
    await phone.press("Community member")
    assert "community group or association" in phone.new_text()
    for typed in ("Skip", "Trader", "no"):
        await phone.send(typed)
    member = await db.member(phone.user_id)
    assert member is not None
    assert (member.stakeholder_group, member.invite_id) == ("community", 1)

    # Someone else typing another group is counted on the link too, with the group chosen.
    other = Phone(emulator, app, user_id=1005, first_name="Binta")
    await other.send(f"/start {token}")
    await answer_up_to_group(other)
    await other.send("Municipality")  # the group as its button shows it, second now
    for typed in ("City of Thiès", "Clerk", "no"):
        await other.send(typed)
    binta = await db.member(other.user_id)
    assert binta is not None and (binta.stakeholder_group, binta.invite_id) == ("municipality", 1)
    [invite] = await db.rows(Invite)
    assert invite.uses == 2
    # A member opening the link again is welcomed back, and not counted again.
    await phone.send(f"/start {token}")
    assert "invitation" not in phone.new_text().lower()
    [invite] = await db.rows(Invite)
    assert invite.uses == 2

    await admin.send("/invite list")
    listed = admin.new_text()
    assert "#1 group Community member" in listed and "2 joined (open)" in listed
    assert url in listed


async def test_closed_links_are_said_politely_and_onboarding_goes_on(
    admin: Phone,
    phone: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    clock: ManualClock,
    db: Database,
) -> None:
    _, once = await make_link(admin, "group community 1x")
    _, revoked = await make_link(admin, "group municipality")
    _, expiring = await make_link(admin, "group civil_society 2d")
    await admin.send("/invite revoke 2")
    assert "Invitation #2 is revoked" in admin.new_text()

    await phone.send(f"/start {once}")
    await answer_up_to_group(phone)
    for typed in ("1", "Skip", "Trader", "no"):  # 1: the invited group, shown first
        await phone.send(typed)
    amina = await db.member(phone.user_id)
    assert amina is not None and (amina.stakeholder_group, amina.invite_id) == ("community", 1)

    clock.advance(timedelta(days=3))
    cases = [
        (1010, once, "has been used by as many people as it was made for"),
        (1011, revoked, "is no longer in use"),
        (1012, expiring, "has expired"),
        (1013, "not-a-token", "I do not recognise this invitation link"),
        (1014, "x" * 65, "I do not recognise this invitation link"),
    ]
    for user_id, token, said in cases:
        person = Phone(emulator, app, user_id=user_id, first_name="Awa")
        await person.send(f"/start {token}")
        shown = person.new_text()
        assert said in shown and "Do you agree?" in shown, shown
        shown = await answer_up_to_group(person)
        assert "Your invitation" not in shown and "Which group" in shown
        assert [b for b, _ in person.last.buttons][0] == "1. Municipality"
        await person.press("Civil-society")
        joined = await db.member(user_id)
        assert joined is not None and joined.invite_id is None
    assert [i.uses for i in sorted(await db.rows(Invite), key=lambda i: i.id or 0)] == [1, 0, 0]

    await admin.send("/invite list")
    listed = admin.new_text()
    assert "#1 group Community member, at most 1 people: 1 joined (used up)" in listed
    assert "#2 group Municipality: 0 joined (revoked)" in listed
    assert "0 joined (expired)" in listed


async def test_a_committee_link_offers_the_seat(admin: Phone, phone: Phone, db: Database) -> None:
    await admin.send("/committee new Steering group")
    admin.new()
    await admin.send("/invite")
    assert "Whom is the invitation for?" in admin.new_text()
    await admin.press("Steering group")
    found = LINK.search(admin.last.plain_text)
    assert found is not None and "committee “Steering group”" in admin.last.plain_text
    assert admin.last.kind == "photo"

    await phone.send(f"/start {found.group(2)}")
    shown = await answer_up_to_group(phone)
    assert "Your invitation" not in shown  # a committee link carries no group
    for typed in ("Other", "Partner NGO", "Treasurer"):
        await phone.send(typed)
    assert "offers you a seat on one of the partnership's committees" in phone.new_text()
    await phone.press("Yes")
    shown = phone.new_text()
    assert "You now sit on the committee “Steering group”." in shown
    assert "roles and responsibilities" in shown
    member = await db.member(phone.user_id)
    assert member is not None
    [seat] = await db.rows(CommitteeMember)
    assert (seat.member_id, seat.is_chair) == (member.id, False)


async def test_a_member_already_onboarded_is_offered_the_seat(
    admin: Phone, phone: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    await onboard(phone)
    await admin.send("/committee new Steering group")
    admin.new()
    _, token = await make_link(admin, "committee Steering group 2x")

    await phone.send(f"/start {token}")
    offer = phone.last
    assert "offers you a seat on the committee “Steering group”" in offer.plain_text
    assert [b for b, _ in offer.buttons] == ["Yes", "No"]
    yes = offer.buttons[0][1]
    assert await db.count(CommitteeMember) == 0  # nothing until they confirm
    await phone.press("Yes")
    assert "You now sit on the committee “Steering group”." in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None
    [seat] = await db.rows(CommitteeMember)
    assert (seat.member_id, seat.is_chair) == (member.id, False)
    [invite] = await db.rows(Invite)
    assert invite.uses == 1
    staffed = [e for e in await db.rows(AuditEntry) if e.action == "committee.staffed"]
    assert [e.actor_member_id for e in staffed] == [member.id]
    # Pressing again (the buttons are gone), or opening the link again, seats nobody twice and
    # counts nobody twice.
    assert offer.buttons == [] and yes is not None
    await app.tracker.wait_handled(emulator.press_button(phone.user_id, offer.message_id, yes))
    await phone.send(f"/start {token}")
    assert "offers you a seat" not in phone.new_text()
    [invite] = await db.rows(Invite)
    assert invite.uses == 1 and await db.count(CommitteeMember) == 1

    # Another member says no: not seated, not counted; a third finds the link revoked.
    other = Phone(emulator, app, user_id=1030, first_name="Binta")
    await onboard(other)
    await other.send(f"/start {token}")
    await other.press("No")
    assert "You do not take the seat" in other.new_text()
    assert await db.count(CommitteeMember) == 1
    third = Phone(emulator, app, user_id=1031, first_name="Moussa")
    await onboard(third)
    await third.send(f"/start {token}")
    assert "offers you a seat" in third.new_text()
    await admin.send("/invite revoke 1")
    await third.press("Yes")  # the link was revoked since it was offered
    assert "no longer admits anyone, so the seat is not yours to take" in third.new_text()
    assert await db.count(CommitteeMember) == 1
    await third.send(f"/start {token}")
    shown = third.new_text()
    assert "is no longer in use" in shown and "offers you a seat" not in shown


async def test_only_coordinators_make_links(admin: Phone, phone: Phone, db: Database) -> None:
    await phone.send("/start")
    await phone.send("yes")
    await phone.send("/invite group community")
    assert "Only coordinators can make invitation links." in phone.new_text()
    assert await db.count(Invite) == 0
    await admin.send("/invite group nobody")
    assert "“nobody” is not a stakeholder group" in admin.new_text()
    await admin.send("/invite committee Nowhere")
    assert "There is no committee “Nowhere”." in admin.new_text()
    await admin.send("/invite group community 0x")
    assert "Usage: /invite" in admin.new_text()
    await admin.send("/invite revoke 7")
    assert "There is no invitation #7." in admin.new_text()


def invite_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["invite", *args])
    out, err = capsys.readouterr()
    # The bot runs in this process too: its loop-lag warnings are not the command's output.
    said = "".join(x for x in err.splitlines(keepends=True) if x.startswith("partnerbot:"))
    return code, out, said


async def in_thread(*args: Any) -> Any:
    """The CLI runs its own event loop: run it off the test's loop."""
    return await asyncio.to_thread(*args)


async def test_links_from_the_shell(
    admin: Phone,
    phone: Phone,
    cli_env: Settings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db: Database,
) -> None:
    bot = ("--bot", "partnerbot_sandbox_bot")
    poster = tmp_path / "poster.png"
    code, out, err = await in_thread(
        invite_cli,
        capsys,
        "create",
        *bot,
        "--group",
        "civil_society",
        "--label",
        "market poster",
        "--days",
        "10",
        "--uses",
        "3",
        "--qr",
        str(poster),
    )
    assert (code, err) == (0, "")
    assert "Invitation #1: group Civil-society organisation, market poster, until" in out
    assert ", at most 3 people" in out and out.rstrip().endswith(str(poster))
    found = LINK.search(out)
    assert found is not None and found.group(1) == "partnerbot_sandbox_bot"
    expected = [[bool(m) for m in row] for row in segno.make(found.group(0), error="m").matrix]
    assert qr_modules(poster.read_bytes(), len(expected)) == expected

    await phone.send(f"/start {found.group(2)}")
    shown = await answer_up_to_group(phone)
    assert "Your invitation says which group you belong to" in shown
    await phone.press("Civil-society")
    member = await db.member(phone.user_id)
    assert member is not None and (member.stakeholder_group, member.invite_id) == (
        "civil_society",
        1,
    )

    code, out, _ = await in_thread(invite_cli, capsys, "list", *bot)
    assert code == 0 and "1 joined (open)" in out and found.group(0) in out
    assert await in_thread(invite_cli, capsys, "revoke", "1") == (
        0,
        "Invitation #1 is revoked: its link admits nobody any more"
        " (those who joined through it stay).\n",
        "",
    )
    code, out, _ = await in_thread(invite_cli, capsys, "list", *bot)
    assert "1 joined (revoked)" in out
    code, _, err = await in_thread(invite_cli, capsys, "create", *bot, "--group", "nobody")
    assert code == 1 and "partnerbot: “nobody” is not a stakeholder group" in err
    code, _, err = await in_thread(invite_cli, capsys, "create", *bot)
    assert (code, err) == (
        1,
        "partnerbot: An invitation is for a stakeholder group or a committee.\n",
    )


async def test_nominees_get_a_personal_link_each(
    admin: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    cli_env: Settings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db: Database,
) -> None:
    await admin.send("/committee new Steering group")
    nominees = tmp_path / "nominees.csv"
    nominees.write_text(
        "name,group,organisation,committee\n"
        "Awa Ndiaye,community,Market women,\n"
        "Jo Diallo,municipality,City of Thiès,Steering group\n",
        encoding="utf-8",
    )
    bot = ("--bot", "partnerbot_sandbox_bot")
    code, out, err = await in_thread(invite_cli, capsys, "import", str(nominees), *bot)
    written = tmp_path / "nominees-links.csv"
    assert (code, out, err) == (
        0,
        f"2 personal invitation links (one person each) written to {written}.\n",
        "",
    )
    with written.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["name"], r["group"], r["committee"]) for r in rows] == [
        ("Awa Ndiaye", "community", ""),
        ("Jo Diallo", "municipality", "Steering group"),
    ]
    invites = sorted(await db.rows(Invite), key=lambda i: i.id or 0)
    assert [(i.max_uses, i.label, i.committee_id) for i in invites] == [
        (1, None, None),
        (1, None, 1),
    ]

    # A personal link admits its one person only.
    jo = Phone(emulator, app, user_id=1020, first_name="Jo")
    token = rows[1]["link"].rsplit("=", 1)[1]
    await jo.send(f"/start {token}")
    await answer_up_to_group(jo)
    for typed in ("1", "City of Thiès", "Mayor"):
        await jo.send(typed)
    await jo.press("Yes")
    assert "You now sit on the committee “Steering group”." in jo.new_text()
    other = Phone(emulator, app, user_id=1021, first_name="Mo")
    await other.send(f"/start {token}")
    assert "used by as many people as it was made for" in other.new_text()

    bad = tmp_path / "bad.csv"
    bad.write_text("name,group\nAwa,community\nJo,nobody\n", encoding="utf-8")
    code, _, err = await in_thread(invite_cli, capsys, "import", str(bad), *bot)
    assert code == 1 and f"partnerbot: {bad}, row 3: “nobody” is not a stakeholder group" in err
    assert await db.count(Invite) == 2  # all or none
    assert not (tmp_path / "bad-links.csv").exists()
