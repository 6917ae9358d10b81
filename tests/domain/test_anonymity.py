"""k-anonymity: suppression at the threshold; no hidden figure derivable by subtraction."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.anonymity import (
    ALL,
    Cell,
    Key,
    SuppressedTable,
    derivable_figures,
    suppress,
    suppress_groups,
)

K = 5


def _counts(table: dict[Key, int]) -> dict[Key, Cell]:
    return {key: Cell(n, n) for key, n in table.items()}


def test_four_respondents_are_hidden_five_are_shown() -> None:
    four = suppress_groups({"ngo": 4, "donor": 9, "state": 9}, k=K)
    five = suppress_groups({"ngo": 5, "donor": 9, "state": 9}, k=K)
    assert four.counts["ngo"] is None
    assert five.counts == {"ngo": 5, "donor": 9, "state": 9}
    assert five.total == 23


def test_a_lone_hidden_group_takes_the_next_smallest_with_it() -> None:
    result = suppress_groups({"ngo": 4, "donor": 6, "state": 9}, k=K)
    assert result.counts == {"ngo": None, "donor": None, "state": 9}
    assert result.total == 19
    assert result.hidden == {"ngo", "donor"}


def test_nothing_hidden_when_every_group_reaches_k() -> None:
    result = suppress_groups({"ngo": 5, "donor": 5}, k=K)
    assert result.counts == {"ngo": 5, "donor": 5}
    assert result.total == 10


def test_the_total_goes_when_a_single_group_is_small() -> None:
    result = suppress_groups({"ngo": 3}, k=K)
    assert result.counts == {"ngo": None}
    assert result.total is None


def test_two_small_groups_cover_each_other_and_keep_the_total() -> None:
    result = suppress_groups({"ngo": 2, "donor": 3, "state": 9}, k=K)
    assert result.counts == {"ngo": None, "donor": None, "state": 9}
    assert result.total == 14


def test_subtraction_from_a_row_total_reveals_nothing_in_a_matrix() -> None:
    table = suppress(_counts({("a", "x"): 4, ("a", "y"): 10, ("b", "x"): 12, ("b", "y"): 20}), k=K)
    assert table.is_hidden("a", "x")
    # whichever margins stay shown, row 'a' and column 'x' each lose a second figure
    row_a = [table.visible("a", c) for c in ("x", "y", ALL)]
    col_x = [table.visible(r, "x") for r in ("a", "b", ALL)]
    assert sum(cell is None for cell in row_a) >= 2
    assert sum(cell is None for cell in col_x) >= 2
    assert derivable_figures(table) == frozenset()


def test_a_lone_small_cell_takes_the_total_rather_than_the_table() -> None:
    cells = _counts({("a", "x"): 5, ("a", "y"): 5, ("b", "z"): 2})
    table = suppress(cells, k=K)
    assert table.primary == {("b", "z"), ("b", ALL), (ALL, "z")}
    assert table.hidden == table.primary | {(ALL, ALL)}
    assert table.visible("a", "x") is not None and table.visible("a", "y") is not None


def test_an_empty_table_hides_nothing() -> None:
    table = suppress({}, k=K)
    assert table.figures == {} and table.total() is None
    assert suppress_groups({}, k=K).counts == {}


def test_means_are_protected_through_their_weights() -> None:
    cells = {
        ("ngo", "donor"): Cell(3, 2.0),
        ("ngo", "state"): Cell(8, 4.0),
        ("donor", "ngo"): Cell(7, 3.5),
        ("donor", "state"): Cell(6, 4.5),
    }
    table = suppress(cells, k=K, kind="mean")
    assert table.visible("ngo", "donor") is None
    margin = table.figures[("ngo", ALL)]
    assert margin.respondents == 11
    assert margin.value == (3 * 2.0 + 8 * 4.0) / 11
    assert derivable_figures(table) == frozenset()


def test_distinct_respondents_of_a_margin_can_hide_it() -> None:
    # the same 3 people answered in both periods: 6 answers, 3 respondents
    cells = {("ngo", "w1"): Cell(3, 4.0), ("ngo", "w2"): Cell(3, 3.0)}
    table = suppress(cells, k=K, kind="mean", margin_respondents={(ALL, ALL): 3})
    assert table.total() is None
    plain = suppress(cells, k=K, kind="mean")
    assert plain.total() is not None  # 6 answers >= k without the distinct count


def _rank(matrix: list[list[float]]) -> int:
    return int(np.linalg.matrix_rank(np.array(matrix, dtype=float))) if matrix else 0


def _pinned_down(table: SuppressedTable) -> set[Key]:
    """An independent check: hidden figures whose unit vector lies in the relations' row space."""
    hidden = sorted(table.hidden)
    column = {key: i for i, key in enumerate(hidden)}
    cells = [key for key in table.figures if ALL not in key]
    relations: list[tuple[Key, list[Key]]] = [((ALL, ALL), cells)]
    for key in table.figures:
        if key[0] != ALL and key[1] == ALL:
            relations.append((key, [c for c in cells if c[0] == key[0]]))
        elif key[0] == ALL and key[1] != ALL:
            relations.append((key, [c for c in cells if c[1] == key[1]]))
    matrix = []
    for margin, members in relations:
        row = [0.0] * len(hidden)
        if margin in column:
            row[column[margin]] += 1
        for member in members:
            if member in column:
                row[column[member]] -= 1
        matrix.append(row)
    base = _rank(matrix)
    pinned = set()
    for key, i in column.items():
        unit = [0.0] * len(hidden)
        unit[i] = 1.0
        if _rank([*matrix, unit]) == base:
            pinned.add(key)
    return pinned


tables = st.dictionaries(
    st.tuples(st.sampled_from("abcde"), st.sampled_from("vwxyz")),
    st.integers(min_value=0, max_value=12),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(tables, st.integers(min_value=2, max_value=6))
def test_no_hidden_figure_can_be_worked_out(counts: dict[Key, int], k: int) -> None:
    table = suppress(_counts(counts), k=k)
    assert _pinned_down(table) == set()
    assert derivable_figures(table) == frozenset()


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from("abcd"), st.sampled_from("wxyz")),
        st.tuples(st.integers(0, 9), st.floats(1, 5)),
        min_size=1,
        max_size=16,
    )
)
def test_no_hidden_mean_can_be_worked_out(cells: dict[Key, tuple[int, float]]) -> None:
    table = suppress({key: Cell(n, mean) for key, (n, mean) in cells.items()}, k=K, kind="mean")
    assert _pinned_down(table) == set()
    assert {key for key, cell in table.figures.items() if cell.respondents < K} <= table.hidden


@settings(max_examples=150, deadline=None)
@given(tables, st.integers(min_value=2, max_value=6))
def test_every_small_figure_is_hidden_and_large_tables_stay_whole(
    counts: dict[Key, int], k: int
) -> None:
    table = suppress(_counts(counts), k=k)
    for key, cell in table.figures.items():
        if cell.respondents < k:
            assert key in table.hidden and key in table.primary
    if all(n >= k for n in counts.values()):
        assert table.hidden == frozenset()


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefg"), st.integers(0, 15), min_size=1), st.just(K))
def test_group_counts_never_leave_a_lone_hidden_group(counts: dict[str, int], k: int) -> None:
    result = suppress_groups(counts, k=k)
    assert {g for g, n in counts.items() if n < k} <= result.hidden
    if result.total is not None:
        assert len(result.hidden) != 1
