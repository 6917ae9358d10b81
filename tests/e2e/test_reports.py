"""/report and `partnerbot report`: k-anonymous charts as PNG, for coordinators only; nothing
in them names who gave an anonymous answer or raised an anonymous concern."""

from __future__ import annotations

import asyncio
import io
import re
import struct
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ADMIN,
    ROOT,
    Phone,
    add_anonymous_concern,
    add_finished_run,
    add_roles_run,
    onboard,
)
from matplotlib.image import imread

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.releases import week_start
from bot.i18n import Catalogs
from bot.sandbox.emulator import BotAPIEmulator, SentMessage
from bot.services.reports import KINDS, Reports
from bot.storage import repo
from bot.storage.models import Answer, Member

RAISER = 7_700_001
RAISER_NAME = "Zephyrine"
CONCERN_TEXT = "The Zarqa treasurer keeps the receipts"
ANONYMOUS_COMMENT = "Nobody listens to the Zarqa elders"
OBJECTIVES = ("economic", "financial", "political", "physical", "social", "institutional")
# Each report's title, by kind.
REPORT_TITLES = {
    "trust": "report.trust_time.title",
    "matrix": "report.trust_matrix.title",
    "response": "report.response.title",
    "roles": "report.roles.title",
    "progress": "objectives.report.progress_title",
    "parent": "parent.report.title",
    "alignment": "objectives.report.alignment_title",
}
LAST_TITLE = "Box 6.25: what each sector brings to each kind of objective"
GROUP_LABELS = {"municipality": "Municipality", "community": "Community member"}


def anonymous_pulse(
    group: str, ratings: dict[str, float], clock: ManualClock, *, proxy: bool = False
) -> list[Answer]:
    now = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        Answer(
            flow_id="trust_pulse",
            question_key=question,
            kind="scale",
            value_number=value,
            anonymous=True,
            proxy=proxy,
            stakeholder_group=group,
            created_at=now,
        )
        for question, value in ratings.items()
    ]


async def seed(app: BotApp, clock: ManualClock) -> None:
    """Members in three groups; trust pulses (some by proxy); roles claimed by name (five in the
    municipality lead decisions and support funding); and one member who answers anonymously
    and raises an anonymous concern. Then the clock moves to the next week."""
    assert app.session_factory is not None and app.sealer is not None
    now = clock.now()
    async with app.session_factory() as session:
        members: dict[str, list[Member]] = {}
        sizes = {"municipality": 6, "community": 19, "private_sector": 3}
        for group, size in sizes.items():
            for index in range(size):
                member = await repo.create_member(
                    session,
                    telegram_user_id=500_000 + 1000 * len(members) + index,
                    chat_id=500_000 + 1000 * len(members) + index,
                    display_name=f"{group} {index}",
                    language="en",
                    now=now,
                )
                member.stakeholder_group = group
                members.setdefault(group, []).append(member)
        raiser = await repo.create_member(
            session,
            telegram_user_id=RAISER,
            chat_id=RAISER,
            display_name=RAISER_NAME,
            language="en",
            now=now,
        )
        raiser.stakeholder_group, raiser.organisation = "other", "Zarqa Widgets"
        await session.flush()
        answers: list[Answer] = []
        for _ in range(6):
            answers += anonymous_pulse(
                "municipality", {"community": 4.0, "private_sector": 3.0}, clock
            )
        for _ in range(5):
            answers += anonymous_pulse("community", {"municipality": 2.0}, clock)
            answers += anonymous_pulse("community", {"municipality": 3.0}, clock, proxy=True)
        for _ in range(4):  # four raters only: hidden
            answers += anonymous_pulse("private_sector", {"municipality": 5.0}, clock)
        # the raiser alone in their group, with a distinctive rating and comment
        answers += anonymous_pulse("other", {"municipality": 1.0}, clock)
        answers.append(
            Answer(
                flow_id="trust_pulse",
                question_key="comment",
                kind="text",
                value_text=ANONYMOUS_COMMENT,
                anonymous=True,
                stakeholder_group="other",
                created_at=answers[-1].created_at,
            )
        )
        claims = [("brings", "decisions"), ("brings", "funding"), ("leads", "decisions")]
        for member in members["municipality"][:5]:
            await add_roles_run(session, member, claims, now=now)
        session.add_all(answers)
        assert raiser.id is not None
        await add_anonymous_concern(
            session, app.sealer, raiser_id=raiser.id, text=CONCERN_TEXT, now=now
        )
        await session.commit()
    # A week on: reports publish closed weeks, and the role map as of a Monday.
    clock.advance(timedelta(days=7))


async def add_progress_ratings(app: BotApp, clock: ManualClock) -> None:
    """Five community members rate progress on every kind of objective, by name, a week back,
    as the first version of the progress flow stored it (one answer per kind)."""
    assert app.session_factory is not None
    when = clock.now() - timedelta(days=7)
    async with app.session_factory() as session:
        for index in range(5):
            member = await repo.create_member(
                session,
                telegram_user_id=600_000 + index,
                chat_id=600_000 + index,
                display_name=f"rater {index}",
                language="en",
                now=when,
            )
            member.stakeholder_group = "community"
            answers = [
                dict(question_key=objective, kind="scale", value_number=float(1 + index % 5))
                for objective in OBJECTIVES
            ]
            await add_finished_run(session, member, "objectives_progress", answers, now=when)
        await session.commit()


def command_line_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """`partnerbot` run in-process reads the test's database, flows and wording."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))


PARENT_TITLE = "Ties to parent organisations: feeling marginalised"


def assert_png(data: bytes | None) -> None:
    assert data is not None
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">I4s", data[8:16]) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    assert imread(io.BytesIO(data), format="png").shape[:2] == (height, width)


def assert_names_nobody(raw: bytes) -> None:
    for needle in (str(RAISER), RAISER_NAME, "Zarqa", "C-TEST1"):
        assert needle.encode() not in raw, needle


async def test_a_coordinator_gets_every_report_as_a_chart(
    admin: Phone, app: BotApp, clock: ManualClock
) -> None:
    await seed(app, clock)
    await admin.send("/report")
    offer = admin.new()[-1]
    assert offer.plain_text == "Which report would you like?"
    # One button per registered report, in order, then all of them: a new report module
    # shows up here without this test being edited.
    assert app.catalogs is not None
    t = app.catalogs.translator("en")
    labels = [label for label, _ in offer.buttons]
    assert labels == [*(t(f"report.button.{kind}") for kind in KINDS), "All reports"]
    known = [
        "Trust over time",
        "Trust between groups",
        "Response rates",
        "Role map",
        "Progress on objectives",
        "Ties to parent organisations",
    ]
    assert [label for label in labels if label in known] == known
    await admin.press("All reports", message=offer)
    await admin.wait_for(LAST_TITLE, timeout=60)  # seven charts drawn in turn
    photos = [m for m in admin.new() if m.kind == "photo"]
    assert len(photos) == len(KINDS)
    for photo in photos:
        assert_png(photo.file_bytes)
        assert_names_nobody(photo.file_bytes or b"")
        assert_names_nobody(photo.text.encode())
    shown = dict(zip(KINDS, (p.plain_text for p in photos), strict=True))
    trust, matrix, response = shown["trust"], shown["matrix"], shown["response"]
    roles, progress = shown["roles"], shown["progress"]
    alignment = shown["alignment"]
    assert trust.startswith("Trust index by stakeholder group, week by week\nAll answers so far.")
    assert "Figures over fewer than 5 people are hidden (–)" in matrix
    assert "5 responses were recorded by a facilitator" in matrix
    assert (
        "Under-represented (fewer responses than their share of members): Community member."
        in response
    )
    assert "Gaps – nobody says they lead: Local knowledge, Technical skills, Funding" in roles
    assert "Support but no lead: Funding or resources." in roles
    assert "Overlap" not in roles
    assert "No answers to show yet." in progress
    assert "No answers were recorded by a facilitator." in roles
    assert "Figures go by" in alignment  # the role map's figures: no objective yet


class HeldThreads(ThreadPoolExecutor):
    """The event loop's default executor, whose work waits until `release`: a chart that takes
    as long as the test wants to draw."""

    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self.asked = asyncio.Event()
        self._released = threading.Event()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.asked.set()
        return super().submit(self._when_released, fn, *args, **kwargs)

    def _when_released(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._released.wait()
        return fn(*args, **kwargs)

    def release(self) -> None:
        self._released.set()


@pytest.fixture
async def held_threads() -> AsyncIterator[HeldThreads]:
    threads = HeldThreads()
    asyncio.get_running_loop().set_default_executor(threads)
    try:
        yield threads
    finally:
        threads.release()


async def test_a_member_is_answered_while_a_report_is_drawn(
    admin: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    clock: ManualClock,
    held_threads: HeldThreads,
) -> None:
    await seed(app, clock)
    member = Phone(emulator, app, user_id=1001)
    await member.send("/start")
    member.new()
    admin.new()
    emulator.send_text(ADMIN, "/report all", first_name="Ada", language_code="en")
    await asyncio.wait_for(held_threads.asked.wait(), timeout=10)  # the first chart waits
    await member.send("yes")  # returns once handled: answered, while the chart still waits
    assert "language" in member.new_text()
    assert not [m for m in admin.messages if m.kind == "photo"]
    held_threads.release()
    await admin.wait_for(LAST_TITLE, timeout=60)  # seven charts drawn in turn
    assert len([m for m in admin.new() if m.kind == "photo"]) == len(KINDS)


async def test_figures_behind_the_charts_hide_small_groups(
    admin: Phone, app: BotApp, clock: ManualClock
) -> None:
    await seed(app, clock)
    assert app.dispatcher is not None and app.read_sessions is not None
    reports = app.dispatcher["reports"]
    assert isinstance(reports, Reports)
    assert app.catalogs is not None
    parts = await reports.build(
        app.read_sessions,
        kinds=("matrix", "response", "roles"),
        since=None,
        words=app.catalogs.translator("en"),
    )
    matrix, response, roles = (part.chart for part in parts)
    assert {series.label: series.values for series in roles.series} == {
        "Funding or resources – support": (5.0,),
        "Decision-making power – lead": (5.0,),
    }
    rows = {series.label: series.values for series in matrix.series}
    assert matrix.x_labels[:3] == ("Municipality", "Private company", "Community member")
    assert rows["Municipality"][1:3] == (3.0, 4.0)  # six raters
    assert rows["Private company"] == (None, None, None)  # four raters
    assert rows["Other"] == (None, None, None)  # the raiser alone
    assert rows["Community member"][0] == 2.0  # five raters; the five by proxy count apart
    assert "Community member" in response.marked
    bars = dict(zip(response.x_labels, response.series[0].values, strict=True))
    assert bars["Other"] is None and bars["Private company"] is None


async def test_only_coordinators_see_reports_and_a_stale_button_grants_nothing(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp
) -> None:
    helper = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(helper, "Civil-society organisation")
    await helper.send("/report trust")
    assert helper.new_text() == "Reports are for coordinators."

    await admin.send("/promote 1001")
    await helper.send("/report")
    offer: SentMessage = helper.new()[-1]
    await admin.send("/demote 1001")
    await helper.press("Trust over time", message=offer)
    assert helper.toast() == "Only coordinators can see reports."
    assert [m for m in helper.new() if m.kind == "photo"] == []

    await admin.send("/help")
    assert f"/report [{'|'.join(KINDS)}|all]" in admin.new_text()
    await admin.send("/report trust 2020-01-01")
    photo = admin.new()[-1]
    assert photo.kind == "photo"
    assert "Answers since 2019-12-30, the Monday of the week of 2020-01-01" in photo.plain_text
    await admin.send("/report soon")
    assert "I did not understand “soon”" in admin.new_text()


async def test_the_command_line_prints_tables_and_writes_charts(
    admin: Phone,
    app: BotApp,
    clock: ManualClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    await seed(app, clock)
    command_line_settings(monkeypatch, settings)
    asked = (clock.now() - timedelta(days=1)).date()
    since, monday = asked.isoformat(), week_start(asked).isoformat()
    code = await asyncio.to_thread(main, ["report", "--since", since, "--out", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert_names_nobody(printed.encode())
    assert "How each group (rows) trusts each group (columns), 1–5" in printed
    assert f"Answers since {monday}, the Monday of the week of {since}" in printed
    assert "5 responses were recorded by a facilitator" in printed
    for kind in KINDS:
        path = tmp_path / f"report-{kind}.png"
        assert f"-> {path}" in printed
        assert_png(path.read_bytes())
    matrix = printed.split("How each group (rows) trusts each group (columns), 1–5")[1]
    other = next(line for line in matrix.splitlines() if line.startswith("Other"))
    assert "1.00" not in other and "–" in other


@pytest.mark.parametrize("locale", ["en", "fr"])
async def test_the_command_line_never_shows_a_message_key(
    app: BotApp,
    clock: ManualClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    locale: str,
) -> None:
    await seed(app, clock)
    await add_progress_ratings(app, clock)
    command_line_settings(monkeypatch, settings)
    monkeypatch.setenv("DEFAULT_LOCALE", locale)
    assert await asyncio.to_thread(main, ["report"]) == 0
    printed = capsys.readouterr().out
    titles = assert_every_report_worded(printed, locale)
    assert (
        "50%" in printed.split(titles[KINDS.index("progress")])[1]
    )  # the progress table has figures


def assert_every_report_worded(printed: str, locale: str) -> list[str]:
    """Every report's title is in `partnerbot report`'s output, and no message key is; the
    titles, in the order of the reports."""
    catalogs = Catalogs.load(ROOT / "locales", default="en")
    families = {
        key.split(".")[0] for keys in catalogs.keys().values() for key in keys if "." in key
    }
    raw = re.compile(rf"\b(?:{'|'.join(sorted(families))})\.[\w.*]+")
    titles = [catalogs.translator(locale)(REPORT_TITLES[kind]) for kind in KINDS]
    assert all(title in printed for title in titles)
    assert raw.findall(printed) == []
    return titles
