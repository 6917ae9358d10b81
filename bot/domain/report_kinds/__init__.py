"""The coordinators' reports, one module each: a report registers itself with `@report`.

A report says which flows it reads, whether it reads each person's latest answer as of a
settled moment (`latest`) or closed periods, whether it compares with the members per group
(`members`), and turns plain `AnswerRow`s into a suppressed table, its chart data and the
table's labels. `bot.services.reports` imports every module of this package, builds, draws and
words the text around it; `/report` and `partnerbot report` list what registered here.

A new report: a module here with a `@report` class (a `Kind`), and its wording in every catalog
(`report.button.<kind>` for its /report button, its title and anything it says).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from bot.domain.anonymity import ALL, SuppressedTable
from bot.domain.answering import Invited
from bot.domain.figures import AnswerRow
from bot.domain.flows import AskNode, FlowRegistry
from bot.domain.objectives import StatedObjective
from bot.domain.reports import HIDDEN_MARK, ChartData, Words, group_label


@dataclass(frozen=True)
class Context:
    """What every report reads besides its rows: k, the stakeholder groups, the flows, the
    members per group, the check-ins sent and the objectives stated (when asked for), the proxy
    responses among its rows, and the words."""

    k: int
    groups: tuple[str, ...]
    flows: FlowRegistry
    members: Mapping[str, int]
    proxies: int
    words: Words
    invited: Mapping[str, Sequence[Invited]] = field(default_factory=dict)
    objectives: Sequence[StatedObjective] = ()

    def total_or(self, label: Callable[[str], str]) -> Callable[[str], str]:
        """`label`, with the margin (ALL) worded as the total."""
        return lambda key: self.words("report.total") if key == ALL else label(key)

    @property
    def group(self) -> Callable[[str], str]:
        """A stakeholder group's name, the margin as the total."""
        return self.total_or(lambda g: group_label(self.words, g))


@dataclass(frozen=True)
class Figures:
    """A report's table and chart, how to label the table's rows and columns (and with how
    many digits), and the lines it adds under the chart."""

    table: SuppressedTable
    chart: ChartData
    rows: Callable[[str], str]
    columns: Callable[[str], str]
    digits: int
    extra: tuple[str, ...] = field(default=())
    more: tuple[str, ...] = field(default=())  # lines under both the chart and the table
    lines: tuple[str, ...] | None = None  # the table as text, when not the table's own lines


class Report(Protocol):
    """One report kind."""

    kind: str
    order: int  # its place among the reports (buttons, "all")
    latest: bool  # each person's latest answer as of settled moments, not closed periods
    members: bool  # compares with the members per group
    invited: bool  # compares with the check-ins sent per group
    objectives: bool  # reads the objectives partners stated

    def flows(self, flows: FlowRegistry) -> list[str]:
        """The flows whose answers it reads."""
        ...

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        """The report from its flows' counted rows."""
        ...


class Kind:
    """Defaults for a report kind: closed periods, no member counts, the flows in `reads`."""

    latest = False
    members = False
    invited = False
    objectives = False
    reads: tuple[str, ...] = ()

    def flows(self, flows: FlowRegistry) -> list[str]:
        return list(self.reads)


REPORTS: dict[str, Report] = {}
R = TypeVar("R", bound=Report)


def report(cls: type[R]) -> type[R]:
    """Register a report kind (a class decorator)."""
    made = cls()
    REPORTS[made.kind] = made
    return cls


def kinds() -> tuple[str, ...]:
    """Every registered report, in order."""
    return tuple(sorted(REPORTS, key=lambda kind: (REPORTS[kind].order, kind)))


def options(flows: FlowRegistry, flow_id: str, question: str) -> tuple[str, ...]:
    """The option values of a flow's question (none if the flow or question is missing)."""
    flow = flows.flows.get(flow_id)
    node = flow.nodes.get(question) if flow else None
    return tuple(o.value for o in node.options) if isinstance(node, AskNode) else ()


def scale_questions(flows: FlowRegistry, flow_id: str) -> tuple[str, ...]:
    """The ids of a flow's scale questions, in order."""
    flow = flows.flows.get(flow_id)
    if flow is None:
        return ()
    return tuple(n.id for n in flow.nodes.values() if isinstance(n, AskNode) and n.ask == "scale")


def table_lines(
    table: SuppressedTable,
    row_label: Callable[[str], str],
    column_label: Callable[[str], str],
    *,
    digits: int,
) -> list[str]:
    """A suppressed table with its margins as aligned text; hidden figures show a dash."""

    def shown(key: tuple[str, str]) -> str:
        if key not in table.figures:
            return ""
        cell = table.visible(*key)
        return HIDDEN_MARK if cell is None else f"{cell.value:.{digits}f}"

    if not table.figures:
        return []
    columns = list(table.columns)
    two_d = len(table.rows) > 1 and len(columns) > 1
    margin = [ALL] if two_d else []
    lines = [["", *(column_label(c) for c in columns), *(row_label(ALL) for _ in margin)]]
    for row in table.rows:
        lines.append([row_label(row), *(shown((row, c)) for c in [*columns, *margin])])
    if two_d:
        lines.append([row_label(ALL), *(shown((ALL, c)) for c in [*columns, ALL])])
    else:
        lines.append([row_label(ALL), shown((ALL, ALL)), *("" for _ in columns[1:])])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
