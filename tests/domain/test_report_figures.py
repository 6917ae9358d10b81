"""Report aggregations over plain rows: k-anonymity at 4 and 5 respondents, secondary
suppression, response rates, the role map, objective progress, and the charts' data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.anonymity import ALL, Cell, SuppressedTable, derivable_figures, suppress
from bot.domain.figures import AnswerRow, count_respondents, count_responses
from bot.domain.reports import (
    PROGRESS_FLOW,
    ROLES_FLOW,
    TRUST_FLOW,
    RoleMap,
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
    assert table.primary == table.withheld == {("community", "municipality")}
    # withheld: in no margin, so community's row total and the municipality column are the
    # figures shown beside them, and nothing subtracts to the four ratings
    row_total = table.visible("community", ALL)
    assert row_total is not None and row_total.value == 4.0 and row_total.respondents == 6
    column = table.visible(ALL, "municipality")
    assert column is not None and column.value == 2.0 and column.respondents == 7
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
    # private_sector gave 0 responses: hidden, and community with it, so no subtraction; a
    # hidden group is never flagged, or the flag would tell what the figure hides
    assert by_group["private_sector"].responses is None
    assert by_group["community"].responses is None
    assert not by_group["private_sector"].under_represented
    assert not by_group["community"].under_represented
    assert derivable_figures(rates.table) == frozenset()
    rows += pulses("private_sector", 5, {"heard": 3.0})
    rates = response_rates(
        rows, members={"municipality": 10, "community": 20, "private_sector": 3}, k=K
    )
    by_group = {g.group: g for g in rates.groups}
    assert by_group["community"].under_represented  # 6/23 of responses, 20/33 of members
    chart = response_chart(rates, words, k=K, proxies=0)
    assert chart.kind == "bars"
    assert [s.label for s in chart.series] == [
        "report.response.share_responses",
        "report.response.share_members",
    ]
    assert chart.marked == ("group.community",)


def claims(
    person: int,
    group: str,
    brings: tuple[str, ...],
    leads: tuple[str, ...] | None = None,
    *,
    day: datetime = MONDAY,
) -> list[AnswerRow]:
    """One roles run: the areas brought, then those led (skipped when empty; None for a run of
    the first version of the flow, which did not ask)."""
    who, run = f"m{person}", f"r{person}{day:%d}"
    rows = [
        AnswerRow(ROLES_FLOW, "brings", group, day, choice=a, respondent=who, response=run)
        for a in brings
    ]
    if leads is not None:
        later = day + timedelta(minutes=1)
        rows += [
            AnswerRow(ROLES_FLOW, "leads", group, later, choice=a, respondent=who, response=run)
            for a in leads
        ] or [
            AnswerRow(ROLES_FLOW, "leads", group, later, skipped=True, respondent=who, response=run)
        ]
    return rows


def role_rows(*, changed_mind: bool) -> list[AnswerRow]:
    """Five municipality members lead decisions and support funding, six community members lead
    local knowledge and support decisions, six in civil society only support, and two private
    companies lead decisions without saying they bring it."""
    rows = [
        row
        for person in range(5)
        for row in claims(person, "municipality", ("decisions", "funding"), ("decisions",))
    ]
    rows += [
        row
        for person in range(10, 16)
        for row in claims(
            person, "community", ("local_knowledge", "decisions"), ("local_knowledge",)
        )
    ]
    rows += [
        row
        for person in range(20, 26)
        for row in claims(person, "civil_society", ("local_knowledge", "technical_skills"), ())
    ]
    rows += [
        row
        for person in range(30, 32)
        for row in claims(person, "private_sector", ("technical_skills",), ("decisions",))
    ]
    if changed_mind:  # one municipality member later no longer brings funding
        later = MONDAY + timedelta(days=3)
        rows += claims(0, "municipality", ("decisions",), ("decisions",), day=later)
    return rows


def test_role_map_counts_leaders_and_supporters_and_hides_fewer_than_k() -> None:
    roles = role_map(role_rows(changed_mind=False), areas=AREAS, groups=GROUPS, k=K)
    table = roles.table
    # the two private companies are fewer than k: left out, like in every other table
    assert table.columns == ("municipality", "civil_society", "community")
    assert table.rows == (
        "local_knowledge:lead",
        "local_knowledge:support",
        "technical_skills:support",
        "funding:support",
        "decisions:lead",
        "decisions:support",
    )

    def shown(row: str, group: str) -> float | None:
        cell = table.visible(row, group)
        return None if cell is None else cell.value

    assert shown("local_knowledge:lead", "community") == 6
    assert shown("decisions:support", "community") == 6  # brings it, leads something else
    assert shown("local_knowledge:support", "civil_society") == 6  # skipped `leads`
    assert shown("funding:support", "municipality") == 5  # five: shown
    assert shown("decisions:lead", ALL) == 5  # a lead claim counts without `brings`
    assert table.primary == frozenset()
    assert derivable_figures(table) == frozenset()

    # one of the five changes their mind: four support funding, hidden with its row total
    changed = role_map(role_rows(changed_mind=True), areas=AREAS, groups=GROUPS, k=K).table
    assert changed.figures[("funding:support", "municipality")].value == 4
    assert ("funding:support", "municipality") in changed.primary
    assert ("funding:support", ALL) in changed.primary
    assert derivable_figures(changed) == frozenset()


def test_role_map_calls_out_gaps_support_without_lead_and_overlaps() -> None:
    rows = role_rows(changed_mind=True)
    rows += claims(40, "community", ("community_links",))  # a run of the first flow version
    roles = role_map(rows, areas=AREAS, groups=GROUPS, k=K)
    assert roles.table.figures[("community_links:support", "community")].value == 1
    assert roles.gaps == ("technical_skills", "funding", "community_links")
    assert roles.support_only == ("technical_skills", "funding", "community_links")
    # the two private companies who lead decisions are fewer than k: nothing tells of them
    assert roles.overlaps == {}
    assert "private_sector" not in roles.table.columns

    alone = claims(50, "other", ("decisions",), ("decisions",))
    for said in (alone, claims(50, "other", ("funding",), ())):
        one = role_map(role_rows(changed_mind=True) + said, areas=AREAS, groups=GROUPS, k=K)
        assert one == roles_without_other(), "a one-member group's roles must not show"

    nobody = role_map(
        claims(1, "community", ("funding",), ("funding",)), areas=AREAS, groups=GROUPS, k=K
    )
    assert nobody.gaps == ()  # one person only: nothing to show, not even gaps
    assert nobody.support_only == () and nobody.overlaps == {}
    assert role_map([], areas=AREAS, groups=GROUPS, k=K).gaps == ()


def roles_without_other() -> RoleMap:
    return role_map(role_rows(changed_mind=True), areas=AREAS, groups=GROUPS, k=K)


def test_role_chart_shows_leaders_and_supporters_as_rows() -> None:
    roles = role_map(role_rows(changed_mind=True), areas=AREAS, groups=GROUPS, k=K)
    chart = role_chart(roles, words, k=K, proxies=0)
    assert [s.label for s in chart.series] == [
        "report.roles.lead_row area=roles.brings.local_knowledge",
        "report.roles.support_row area=roles.brings.local_knowledge",
        "report.roles.support_row area=roles.brings.technical_skills",
        "report.roles.support_row area=roles.brings.funding",
        "report.roles.lead_row area=roles.brings.decisions",
        "report.roles.support_row area=roles.brings.decisions",
    ]
    assert chart.x_labels == ("group.municipality", "group.civil_society", "group.community")
    assert chart.series[0].values == (0.0, 0.0, 6.0)  # only the community leads it
    assert chart.series[3].values == (None, 0.0, 0.0)  # four: hidden, not zero
    assert "report.note.hidden" in chart.note


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


def test_response_rates_tell_nothing_of_a_one_member_group() -> None:
    members = {"municipality": 10, "community": 20, "other": 1}
    rows = pulses("municipality", 12, {"heard": 3.0}) + pulses("community", 8, {"heard": 3.0})
    seen = []
    for said in ([], pulses("other", 1, {"heard": 1.0})):
        rates = response_rates(rows + said, members=members, k=K)
        other = next(g for g in rates.groups if g.group == "other")
        assert other.responses is None and other.response_share is None
        assert not other.under_represented
        chart = response_chart(rates, words, k=K, proxies=0)
        assert "group.other" not in chart.marked
        seen.append(chart.series[0].values)
    assert seen[0][-1] is None and seen[1][-1] is None


def _trust_chart_table(cells: dict[tuple[str, str], tuple[int, float]]) -> SuppressedTable:
    """A trust-over-time table (groups by week) as `suppress` leaves it."""
    return suppress(
        {key: Cell(n, mean) for key, (n, mean) in cells.items()},
        k=K,
        kind="mean",
        order=(GROUPS, ()),
    )


def test_a_three_person_group_never_makes_the_largest_vanish_from_the_trust_chart() -> None:
    weeks = ("2026-11-02", "2026-11-09")
    two_weeks = {
        ("community", weeks[0]): (52, 3.5),
        ("community", weeks[1]): (53, 3.7),
        ("municipality", weeks[0]): (7, 2.5),
        ("civil_society", weeks[0]): (3, 4.0),
        ("civil_society", weeks[1]): (3, 1.0),
    }
    one_week = {("community", weeks[0]): (57, 3.5), ("civil_society", weeks[0]): (3, 4.0)}
    for cells in (two_weeks, one_week):
        table = _trust_chart_table(cells)
        assert derivable_figures(table) == frozenset()
        assert table.is_hidden("civil_society", weeks[0])
        chart = trust_over_time_chart(table, words, k=K, proxies=0)
        largest = next(s for s in chart.series if s.label == "group.community")
        columns = sorted(table.columns)
        assert largest.values == tuple(round(cells[("community", w)][1], 2) for w in columns)
