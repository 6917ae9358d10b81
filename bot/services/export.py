"""Exports of the answers as CSV or XLSX, for the partnership's own analysis.

Members appear only as pseudonyms, keyed and new for each export (an admin may ask for
longitudinal ones, stable across exports, and that is audited); profile answers (organisation,
role title) are never beside a pseudonym. Anonymous answers carry no respondent, no response id
and only their week, only for a group with at least k respondents in that week (k = 10 for free
text) and once that week is over, and they come after the named ones, ordered by their content:
neither a column nor the row order links them to the named answers of the same run. Proxy
answers (recorded by a facilitator for someone without a phone) are flagged, and every answer
keeps its group.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time
from itertools import chain
from operator import attrgetter

import xlsxwriter  # type: ignore[import-untyped]

from bot.config import Settings
from bot.domain.releases import Periods, releasable, round_since, week_start
from bot.services.conversations import ONBOARDING
from bot.services.offload import Offload
from bot.services.sealing import Sealer, Tagger
from bot.storage import audit
from bot.storage.db import SessionFactory, create_engine, create_reader, create_session_factory
from bot.storage.export import AnswerRecord, stream_answers_for_export
from bot.storage.models import Member

FORMATS = ("csv", "xlsx")
# A spreadsheet runs text starting with these as a formula, even after leading whitespace.
_FORMULA_START = ("=", "+", "-", "@")
# Control characters an XLSX file cannot hold (XlsxWriter would write them as "_x0007_").
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Cells go in through `write_string`, which never reads text as anything else; these make
# `write` and `write_row` just as safe, should a later change use them.
_XLSX_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
# Flows about the member themself: their answers are never beside a pseudonym.
PROFILE_FLOWS = frozenset({ONBOARDING})


@dataclass(frozen=True)
class ExportPolicy:
    """How many respondents a week's anonymous answers need before they are exported."""

    min_group: int
    min_comments: int


def export_policy(settings: Settings) -> ExportPolicy:
    """The export's k from the settings (`REPORT_MIN_GROUP`, `REPORT_MIN_COMMENTERS`)."""
    return ExportPolicy(settings.report_min_group, settings.report_min_commenters)


@dataclass(frozen=True)
class ExportRow:
    """One answer as exported; the field names are the header."""

    respondent: str
    response: str
    flow: str
    question: str
    kind: str
    value: str
    skipped: str
    anonymous: str
    proxy: str
    stakeholder_group: str
    date: str


HEADER = tuple(f.name for f in fields(ExportRow))
# A row's values in the header's order (`dataclasses.astuple` deep-copies every value: a third
# of an XLSX export's time).
values_of: Callable[[ExportRow], tuple[str, ...]] = attrgetter(*HEADER)


@dataclass(frozen=True)
class Export:
    """A finished export: its file and how many answers it holds."""

    filename: str
    data: bytes
    rows: int


def _value(answer: AnswerRecord) -> str:
    if answer.value_choice is not None:
        return answer.value_choice
    if answer.value_number is not None:
        number = answer.value_number
        return str(int(number)) if number == int(number) else str(number)
    return answer.value_text or ""


def _flag(value: bool) -> str:
    return "yes" if value else "no"


def is_anonymous(answer: AnswerRecord) -> bool:
    """Whether an answer is exported without any link to a respondent."""
    return answer.anonymous or (answer.member_id is None and not answer.proxy)


def to_row(answer: AnswerRecord, sealer: Tagger, *, salt: str | None = None) -> ExportRow:
    """An answer as an export row: pseudonymous (keyed with `salt`, or longitudinal when None),
    anonymous ones and profile answers without any link."""
    anonymous = is_anonymous(answer)
    unlinked = anonymous or answer.flow_id in PROFILE_FLOWS
    respondent = response = ""
    if not unlinked:
        if answer.member_id is not None:
            respondent = (
                sealer.pseudonym(answer.member_id)
                if salt is None
                else "m-" + sealer.tag(f"pseudonym:{salt}", answer.member_id)[:12]
            )
        if answer.run_id is not None:
            response = "r-" + sealer.tag(f"response:{salt or ''}", answer.run_id)[:12]
    when = answer.created_at
    return ExportRow(
        respondent=respondent,
        response=response,
        flow=answer.flow_id,
        question=answer.question_key,
        kind=answer.kind,
        value=_value(answer),
        skipped=_flag(answer.skipped),
        anonymous=_flag(anonymous),
        proxy=_flag(answer.proxy),
        stakeholder_group=answer.stakeholder_group or "",
        # An exact time could be matched against a named run's answers, a day against who
        # answered that day: unlinked answers carry the start of their week.
        date=week_start(when.date()).isoformat()
        if unlinked
        else when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def releasable_answers(
    answers: Sequence[AnswerRecord], policy: ExportPolicy, *, now: datetime
) -> list[AnswerRecord]:
    """Named answers, and anonymous ones of each question, group and week over at `now`
    answered by at least k people themselves (free text: `min_comments`); proxy answers never
    count towards k."""
    weeks = Periods()
    counted = [
        a for a in answers if is_anonymous(a) and not a.proxy and weeks.closed(a.created_at, now)
    ]
    kept: set[int] = set()
    for kind_is_text, k in ((False, policy.min_group), (True, policy.min_comments)):
        found = releasable(
            [a for a in counted if (a.kind == "text") == kind_is_text],
            figure_of=lambda a: (a.flow_id, a.question_key, a.stakeholder_group),
            period_of=lambda a: week_start(a.created_at.date()).isoformat(),
            respondents=len,
            k=k,
        )
        kept |= {id(a) for a in found}
    return [a for a in answers if not is_anonymous(a) or a.proxy or id(a) in kept]


def arrange(
    answers: Sequence[AnswerRecord], sealer: Tagger, *, salt: str | None = None
) -> list[ExportRow]:
    """Linked answers in the order given, then the unlinked ones sorted by their content."""
    rows = [to_row(a, sealer, salt=salt) for a in answers]
    named = [r for r in rows if r.respondent or r.response]
    unlinked = sorted(
        (r for r in rows if not (r.respondent or r.response)),
        key=lambda r: (r.flow, r.question, r.stakeholder_group, r.date, r.proxy, r.value),
    )
    return named + unlinked


def _safe_text(value: str) -> str:
    """Free text that a spreadsheet will show, not run."""
    return "'" + value if value.lstrip().startswith(_FORMULA_START) else value


def to_csv(rows: Sequence[ExportRow]) -> bytes:
    """UTF-8 CSV (with a BOM, so spreadsheets read the accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([_safe_text(v) for v in values_of(row)])
    return buffer.getvalue().encode("utf-8-sig")


def _is_rich_string_markup(value: str) -> bool:
    """Whether XlsxWriter would copy `value` into the sheet as rich-string XML, unescaped: it
    takes text starting with "<r>" and ending with "</r>" for the markup `write_rich_string`
    makes, so a member's answer shaped like it could add cells, formulas among them."""
    return value.startswith("<r>") and value.endswith("</r>")


def to_xlsx(rows: Sequence[ExportRow]) -> bytes:
    """One sheet, `answers`, every cell a plain string."""
    buffer = io.BytesIO()
    # constant_memory writes each row out as it comes, to a file in `tmpdir` (`in_memory`
    # turns it off and holds every cell until the end); a directory of our own is removed
    # with whatever is in it even when the export fails half-way.
    with (
        tempfile.TemporaryDirectory(prefix="partnerbot-xlsx-") as tmpdir,
        xlsxwriter.Workbook(buffer, {**_XLSX_OPTIONS, "tmpdir": tmpdir}) as workbook,
    ):
        sheet = workbook.add_worksheet("answers")
        # Markup-shaped text goes in as a rich string of two unstyled runs: escaped, and read
        # back as the same text.
        unstyled = workbook.add_format()
        write = sheet.write_string
        for r, values in enumerate(chain([HEADER], map(values_of, rows))):
            # One search a row, not a substitution a cell: control characters are rare.
            if _NOT_IN_XLSX.search("".join(values)):
                values = tuple(_NOT_IN_XLSX.sub("", v) for v in values)
            for c, text in enumerate(values):
                if _is_rich_string_markup(text):
                    sheet.write_rich_string(r, c, text[:1], unstyled, text[1:])
                else:
                    write(r, c, text)
    return buffer.getvalue()


@dataclass(frozen=True)
class Source:
    """Where a worker process reads the answers itself: the database's address and schema."""

    url: str
    schema: str | None

    @classmethod
    def of(cls, settings: Settings) -> Source:
        return cls(settings.database_url, settings.database_schema)


@dataclass(frozen=True)
class Exports:
    """Builds exports in a worker process that reads the answers and makes the file."""

    policy: ExportPolicy
    sealer: Sealer
    offload: Offload
    source: Source

    async def build(
        self,
        *,
        writes: SessionFactory,
        file_format: str,
        flow_id: str | None,
        since: datetime | None,
        actor: Member | None,
        actor_label: str | None = None,
        now: datetime,
        longitudinal: bool = False,
    ) -> Export:
        """Build the export from the start of the week of `since`, and record in the audit log
        who took it (and whether with longitudinal pseudonyms).

        The worker reads the answers in batches (no write lock held) and makes the file: the
        answers never pass through the bot's process, whose interpreter answers members. The
        audit entry is a short transaction of `writes` of its own.
        """
        if file_format not in FORMATS:
            raise ValueError(f"unknown export format {file_format!r}")
        since = None if since is None else round_since(since)
        salt = None if longitudinal else secrets.token_hex(16)
        # The worker gets the tagger only: it can make pseudonyms, never open a sealed route.
        data, rows = await self.offload.run(
            build_file_from,
            self.source,
            flow_id,
            since,
            self.sealer.tagger,
            file_format,
            self.policy,
            salt=salt,
            now=now,
        )
        async with writes() as session:
            await audit.record(
                session,
                actor=actor,
                actor_label=actor_label,
                action="export",
                detail={
                    "format": file_format,
                    "flow": flow_id,
                    "since": since.date().isoformat() if since else None,
                    "rows": rows,
                    "longitudinal": True if longitudinal else None,
                },
                now=now,
            )
            await session.commit()
        prefix = f"{flow_id}-" if flow_id else ""
        return Export(
            filename=f"partnerbot-answers-{prefix}{now:%Y%m%d-%H%M}.{file_format}",
            data=data,
            rows=rows,
        )


def build_file_from(
    source: Source,
    flow_id: str | None,
    since: datetime | None,
    tagger: Tagger,
    file_format: str,
    policy: ExportPolicy,
    *,
    salt: str | None,
    now: datetime,
) -> tuple[bytes, int]:
    """Read the answers from `source` and make the file (in a worker process, on a loop of
    its own)."""
    answers = asyncio.run(read_answers(source, flow_id=flow_id, since=since))
    return build_file(answers, tagger, file_format, policy, salt=salt, now=now)


async def read_answers(
    source: Source, *, flow_id: str | None, since: datetime | None
) -> list[AnswerRecord]:
    """Every answer to export, read in batches in one snapshot."""
    engine = create_engine(source.url, schema=source.schema)
    reader = create_reader(engine)
    answers: list[AnswerRecord] = []
    try:
        async with create_session_factory(reader)() as session:
            async for batch in stream_answers_for_export(session, flow_id=flow_id, since=since):
                answers.extend(batch)
    finally:
        await reader.dispose()
        await engine.dispose()
    return answers


def build_file(
    answers: Sequence[AnswerRecord],
    tagger: Tagger,
    file_format: str,
    policy: ExportPolicy,
    *,
    salt: str | None,
    now: datetime,
) -> tuple[bytes, int]:
    """The file's bytes and its number of answers released (pure, for a worker process)."""
    rows = arrange(releasable_answers(answers, policy, now=now), tagger, salt=salt)
    return (to_csv(rows) if file_format == "csv" else to_xlsx(rows)), len(rows)


def parse_since(text: str) -> datetime:
    """A `--since` day (YYYY-MM-DD) as the UTC midnight starting it; ValueError otherwise."""
    day = date.fromisoformat(text.strip())
    return datetime.combine(day, time(0, 0), tzinfo=UTC)
