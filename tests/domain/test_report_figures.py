"""Report aggregations over plain rows: k-anonymity at 4 and 5 respondents, secondary
suppression, response rates, the role map, objective progress, and the charts' data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.anonymity import ALL, derivable_figures
from bot.domain.reports import (
    PROGRESS_FLOW,
    ROLES_FLOW,
    TRUST_FLOW,
    AnswerRow,
    count_respondents,
    count_responses,
    objective_progress,
    proxy_responses,
    response_chart,
    response_rates,
    role_chart,
    role_map,
    trust_matrix,
    trust_matrix_chart,
    trust_over_time,
    trust_over_time_chart,
)

K = 5
GROUPS = ("municipality", "private_sector", "civil_society", "community", "other")
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
AREAS = ("local_knowledge", "technical_skills", "funding", "community_links", "decisions")


def words(key: str, **params: object) -> str:
    """A stand-in translator that shows the key and its parameters."""
    return key + "".join(f" {name}={value}" for name, value in sorted(params.items()))


def pulse(
    group: str, ratings: dict[str, float | None], *, day: datetime = MONDAY, proxy: bool = False
) -> list[AnswerRow]:
    """One anonymous trust pulse: no respondent, no response, the day only."""
    return [
        AnswerRow(
            flow_id=TRUST_FLOW,
            question_key=question,
            group=group,
            created_at=day,
            number=value,
            skipped=value is None,
            proxy=proxy,
        )
        for question, value in ratings.items()
    ]


def pulses(
    group: str, count: int, ratings: dict[str, float | None], **kw: object
) -> list[AnswerRow]:
    return [row for _ in range(count) for row in pulse(group, ratings, **kw)]  # type: ignore[arg-type]


def test_four_raters_are_hidden_five_are_shown() -> None:
    four = trust_matrix(pulses("community", 4, {"municipality": 2.0}), groups=GROUPS, k=K)
    five = trust_matrix(pulses("community", 5, {"municipality": 2.0}), groups=GROUPS, k=K)
    assert four.visible("community", "municipality") is None
    assert four.total() is None
    cell = five.visible("community", "municipality")
    assert cell is not None and cell.value == 2.0 and cell.respondents == 5


def test_a_hidden_cell_cannot_be_worked_out_from_a_row_total() -> None:
    rows = (
        pulses("community", 4, {"municipality": 1.0, "private_sector": 4.0})
        + pulses("community", 2, {"private_sector": 4.0, "municipality": None})
        + pulses("municipality", 6, {"private_sector": 3.0, "community": 5.0})
        + pulses("private_sector", 7, {"municipality": 2.0, "community": 3.0})
    )
    table = trust_matrix(rows, groups=GROUPS, k=K)
    assert table.is_hidden("community", "municipality")  # 4 raters
    assert table.primary == {("community", "municipality")}
    # community's row margin and the municipality column would give it away by subtraction:
    # each loses a second figure too.
    for line in (
        [("community", c) for c in table.columns] + [("community", ALL)],
        [(r, "municipality") for r in table.rows] + [(ALL, "municipality")],
    ):
        hidden = [key for key in line if key in table.figures and key in table.hidden]
        assert len(hidden) >= 2, line
    assert derivable_figures(table) == frozenset()


def test_trust_over_time_goes_week_by_week() -> None:
    week2 = MONDAY + timedelta(days=8)
    rows = pulses("community", 5, {"municipality": 4.0, "civil_society": 2.0}) + pulses(
        "community", 6, {"municipality": 5.0}, day=week2
    )
    table = trust_over_time(rows, groups=GROUPS, k=K)
    assert table.columns == ("2026-11-02", "2026-11-09")
    first = table.visible("community", "2026-11-02")
    second = table.visible("community", "2026-11-09")
    assert first is not None and first.value == 3.0 and first.respondents == 5
    assert second is not None and second.value == 5.0
    chart = trust_over_time_chart(table, words, k=K, proxies=0)
    assert chart.kind == "line"
    assert chart.x_labels == ("2026-11-02", "2026-11-09")
    assert [(s.label, s.values) for s in chart.series] == [("group.community", (3.0, 5.0))]
    assert "report.note.hidden" not in chart.note
    assert "report.proxy.none" in chart.note


def test_anonymous_respondents_are_never_counted_twice_across_weeks() -> None:
    # the same three people, three weeks running: 9 responses, 3 respondents at least
    rows = [
        row
        for week in range(3)
        for row in pulses("community", 3, {"municipality": 3.0}, day=MONDAY + timedelta(weeks=week))
    ]
    assert count_responses(rows) == 9
    assert count_respondents(rows) == 3
    table = trust_matrix(rows, groups=GROUPS, k=K)
    assert table.visible("community", "municipality") is None


def test_named_respondents_are_counted_once() -> None:
    rows = [
        AnswerRow(
            ROLES_FLOW, "brings", "community", MONDAY, choice=area, respondent="m1", response="r1"
        )
        for area in ("funding", "decisions")
    ]
    assert count_respondents(rows) == 1
    assert count_responses(rows) == 1


def test_matrix_chart_shows_hidden_cells_as_gaps() -> None:
    rows = pulses("community", 5, {"municipality": 2.0, "private_sector": 4.0}) + pulses(
        "municipality", 2, {"community": 1.0}
    )
    chart = trust_matrix_chart(trust_matrix(rows, groups=GROUPS, k=K), words, k=K, proxies=0)
    assert chart.kind == "heatmap"
    assert chart.x_labels == ("group.municipality", "group.private_sector", "group.community")
    series = {s.label: s.values for s in chart.series}
    assert series["group.community"] == (2.0, 4.0, None)
    assert series["group.municipality"] == (None, None, None)
    assert "report.note.hidden k=5" in chart.note


def test_proxy_responses_are_counted_apart() -> None:
    rows = pulses("community", 5, {"municipality": 3.0}) + pulses(
        "community", 5, {"municipality": 3.0}, proxy=True
    )
    assert proxy_responses(rows) == 5
    chart = trust_matrix_chart(trust_matrix(rows, groups=GROUPS, k=K), words, k=K, proxies=5)
    assert "report.proxy.count count=5" in chart.note
    few = trust_matrix_chart(trust_matrix(rows, groups=GROUPS, k=K), words, k=K, proxies=2)
    assert "report.proxy.few k=5" in few.note and "2" not in few.note


def test_response_rates_flag_under_represented_groups() -> None:
    rows = pulses("municipality", 12, {"heard": 3.0}) + pulses("community", 6, {"heard": 3.0})
    rates = response_rates(
        rows, members={"municipality": 10, "community": 20, "private_sector": 3}, k=K
    )
    by_group = {g.group: g for g in rates.groups}
    assert by_group["municipality"].responses == 12
    assert not by_group["municipality"].under_represented
    assert by_group["community"].under_represented  # 1/3 of responses, 20/33 of members
    # private_sector gave 0 responses: hidden, and community with it, so no subtraction
    assert by_group["private_sector"].responses is None
    assert by_group["private_sector"].under_represented
    assert sum(g.responses is None for g in rates.groups) >= 2 or rates.total_responses is None
    assert derivable_figures(rates.table) == frozenset()
    chart = response_chart(rates, words, k=K, proxies=0)
    assert chart.kind == "bars"
    assert [s.label for s in chart.series] == [
        "report.response.share_responses",
        "report.response.share_members",
    ]
    assert "group.community" in chart.marked and "group.municipality" not in chart.marked


def claims(
    person: int, group: str, areas: tuple[str, ...], *, day: datetime = MONDAY
) -> list[AnswerRow]:
    return [
        AnswerRow(
            ROLES_FLOW,
            "brings",
            group,
            day,
            choice=a,
            respondent=f"m{person}",
            response=f"r{person}{day:%d}",
        )
        for a in areas
    ]


def test_role_map_calls_out_gaps_and_overlaps() -> None:
    rows = [
        row
        for person in range(5)
        for row in claims(person, "municipality", ("decisions", "funding"))
    ]
    rows += [
        row
        for person in range(10, 16)
        for row in claims(person, "community", ("local_knowledge", "decisions"))
    ]
    rows += [
        row
        for person in range(20, 26)
        for row in claims(person, "civil_society", ("local_knowledge", "technical_skills"))
    ]
    # one municipality member changed their mind later: no longer funding
    rows += claims(0, "municipality", ("decisions",), day=MONDAY + timedelta(days=3))
    roles = role_map(rows, areas=AREAS, groups=GROUPS, k=K)
    table = roles.table
    assert table.columns == ("municipality", "civil_society", "community")
    assert table.primary == {("funding", "municipality"), ("funding", ALL)}
    # funding is the municipality's only other area: decisions there covers it
    assert table.is_hidden("decisions", "municipality")
    assert table.visible("decisions", "community") is not None
    assert roles.overlaps == {"local_knowledge": ("civil_society", "community")}
    assert roles.gaps == ("funding", "community_links")
    assert derivable_figures(table) == frozenset()
    chart = role_chart(roles, words, k=K, proxies=0)
    assert [s.label for s in chart.series] == [
        "roles.brings.local_knowledge",
        "roles.brings.technical_skills",
        "roles.brings.funding",
        "roles.brings.decisions",
    ]
    assert chart.series[0].values == (0.0, 6.0, 6.0)  # nobody in the municipality claims it


def test_objective_progress_takes_each_persons_latest_rating() -> None:
    rows = []
    for person in range(5):
        for day, value in ((MONDAY, 1.0), (MONDAY + timedelta(days=30), 4.0)):
            rows.append(
                AnswerRow(
                    PROGRESS_FLOW,
                    "economic",
                    "civil_society",
                    day,
                    number=value,
                    respondent=f"m{person}",
                    response=f"r{person}{day:%m}",
                )
            )
    for objective in ("social", "political"):  # one person each: hidden, and cover each other
        rows.append(
            AnswerRow(
                PROGRESS_FLOW,
                objective,
                "civil_society",
                MONDAY,
                number=2.0,
                respondent="m1",
                response="r1",
            )
        )
    objectives = ("economic", "political", "social")
    table = objective_progress(rows, objectives=objectives, groups=GROUPS, k=K)
    assert table.rows == objectives
    economic = table.visible("economic", "civil_society")
    assert economic is not None and economic.value == 4.0 and economic.respondents == 5
    assert table.visible("social", "civil_society") is None
    assert table.visible("political", "civil_society") is None
    assert table.total() is not None
    assert derivable_figures(table) == frozenset()
