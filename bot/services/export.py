"""Exports of the answers as CSV or XLSX, for the partnership's own analysis.

Members appear only as pseudonyms (keyed, stable across exports, meaningless without the
anonymity key). Anonymous answers carry no respondent, no response id and only their day, and
they come after the named ones, ordered by their content: neither a column nor the row order
links them to the named answers of the same run. Proxy answers (recorded by a facilitator for
someone without a phone) are flagged, and every answer keeps its stakeholder group.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime, time

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.sealing import Sealer
from bot.storage import audit
from bot.storage.export import list_answers_for_export
from bot.storage.models import Answer, Member

FORMATS = ("csv", "xlsx")
# A spreadsheet runs text starting with these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


@dataclass(frozen=True)
class Export:
    """A finished export: its file and how many answers it holds."""

    filename: str
    data: bytes
    rows: int


def _value(answer: Answer) -> str:
    if answer.value_choice is not None:
        return answer.value_choice
    if answer.value_number is not None:
        number = answer.value_number
        return str(int(number)) if number == int(number) else str(number)
    return answer.value_text or ""


def _flag(value: bool) -> str:
    return "yes" if value else "no"


def to_row(answer: Answer, sealer: Sealer) -> ExportRow:
    """An answer as an export row: pseudonymous, and anonymous ones without any link."""
    anonymous = answer.anonymous or (answer.member_id is None and not answer.proxy)
    respondent = response = ""
    if not anonymous:
        if answer.member_id is not None:
            respondent = sealer.pseudonym(answer.member_id)
        if answer.run_id is not None:
            response = "r-" + sealer.tag("response", answer.run_id)[:12]
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
        # An exact time could be matched against a named run's answers.
        date=when.strftime("%Y-%m-%d") if anonymous else when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def arrange(answers: Sequence[Answer], sealer: Sealer) -> list[ExportRow]:
    """Named answers in the order given, then anonymous ones sorted by their content."""
    rows = [to_row(a, sealer) for a in answers]
    named = [r for r in rows if r.anonymous == "no"]
    anonymous = sorted(
        (r for r in rows if r.anonymous == "yes"),
        key=lambda r: (r.flow, r.question, r.stakeholder_group, r.date, r.proxy, r.value),
    )
    return named + anonymous


def _safe_text(value: str) -> str:
    """Free text that a spreadsheet will show, not run."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(rows: Sequence[ExportRow]) -> bytes:
    """UTF-8 CSV (with a BOM, so spreadsheets read the accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([_safe_text(v) for v in astuple(row)])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(rows: Sequence[ExportRow]) -> bytes:
    """One sheet, `answers`, every cell a plain string."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("answers")
    sheet.append(list(HEADER))
    for row in rows:
        cells = []
        for value in astuple(row):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def export_answers(
    session: AsyncSession,
    *,
    sealer: Sealer,
    file_format: str,
    flow_id: str | None,
    since: datetime | None,
    actor: Member | None,
    actor_label: str | None = None,
    now: datetime,
) -> Export:
    """Build the export and record in the audit log who took it."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    answers = await list_answers_for_export(session, flow_id=flow_id, since=since)
    rows = arrange(answers, sealer)
    data = to_csv(rows) if file_format == "csv" else to_xlsx(rows)
    await audit.record(
        session,
        actor=actor,
        actor_label=actor_label,
        action="export",
        detail={
            "format": file_format,
            "flow": flow_id,
            "since": since.date().isoformat() if since else None,
            "rows": len(rows),
        },
        now=now,
    )
    name = f"partnerbot-answers-{flow_id + '-' if flow_id else ''}{now:%Y%m%d-%H%M}.{file_format}"
    return Export(filename=name, data=data, rows=len(rows))


def parse_since(text: str) -> datetime:
    """A `--since` day (YYYY-MM-DD) as the UTC midnight starting it; ValueError otherwise."""
    day = date.fromisoformat(text.strip())
    return datetime.combine(day, time(0, 0), tzinfo=UTC)
