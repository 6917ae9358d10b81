"""k-anonymity for published figures: primary and secondary cell suppression.

A table is a mapping of (row, column) keys to cells, each a figure (a count or a mean) with the
number of distinct respondents behind it. Every row, column and the grand total are assumed to
be published as margins. A cell or margin over fewer than `k` respondents is hidden (primary
suppression); then more cells, or margins, are hidden until no hidden figure can be worked out
from the visible ones by adding and subtracting (secondary suppression).

The check is exact. A table's sums are flow conservation in a graph: a node per row and per
column and two hubs, an edge per cell (row to column), per row margin (hub to row), per column
margin (column to the other hub) and the grand total (between the hubs). A hidden figure can
be worked out exactly when its edge is a bridge of the graph of hidden edges, i.e. lies on no
cycle of hidden figures (the sums around a cut then give it away).

Means are protected through their sums: a mean times its answers adds up like a count, and the
respondent counts themselves follow the same relations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

ALL = "*"  # the key part of a margin: (row, ALL) a row total, (ALL, col) a column, (ALL, ALL)
Key = tuple[str, str]
Kind = Literal["count", "mean"]
_COUNT = "n"
# At each step of secondary suppression, this many visible figures are weighed, taken from this
# many of the smallest rows, columns or totals that give a hidden figure away.
_LEAKS_CONSIDERED = 3
_CANDIDATES_CONSIDERED = 12


@dataclass(frozen=True)
class Cell:
    """A figure and the number of distinct respondents behind it."""

    respondents: int
    value: float
    answers: int | None = None  # weight of a mean in its margins; respondents when None

    @property
    def weight(self) -> int:
        """How much this cell counts in a margin's mean."""
        return self.respondents if self.answers is None else self.answers


@dataclass(frozen=True)
class SuppressedTable:
    """A table after suppression: every cell and margin, and which of them must not be shown."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    figures: Mapping[Key, Cell]  # cells and margins, hidden ones included
    hidden: frozenset[Key]
    primary: frozenset[Key]  # hidden for their own size, the rest of `hidden` to protect them
    withheld: frozenset[Key] = frozenset()  # hidden and in no margin (see `suppress`)

    def visible(self, row: str, column: str) -> Cell | None:
        """The cell or margin at (row, column), or None when hidden or absent."""
        key = (row, column)
        return None if key in self.hidden else self.figures.get(key)

    def is_hidden(self, row: str, column: str) -> bool:
        """Whether a present cell or margin is suppressed."""
        return (row, column) in self.hidden

    def total(self) -> Cell | None:
        """The grand total, or None when hidden."""
        return self.visible(ALL, ALL)

    def row_total(self, row: str) -> Cell | None:
        """A row's margin, or None when hidden or not published (a single column)."""
        return self.visible(row, ALL)

    def column_total(self, column: str) -> Cell | None:
        """A column's margin, or None when hidden or not published (a single row)."""
        return self.visible(ALL, column)


@dataclass(frozen=True)
class SuppressedCounts:
    """By-group counts and their total after suppression; None stands for a hidden figure."""

    counts: Mapping[str, int | None]
    total: int | None
    hidden: frozenset[str]  # groups hidden (the total is hidden when `total` is None)


def suppress(
    cells: Mapping[Key, Cell],
    *,
    k: int,
    kind: Kind = "count",
    margin_respondents: Mapping[Key, int] | None = None,
    order: tuple[Sequence[str], Sequence[str]] = ((), ()),
    withheld: Mapping[Key, Cell] | None = None,
) -> SuppressedTable:
    """Hide every figure over fewer than k respondents and whatever would give one away.

    `order` lists rows and columns in the order wanted; others follow as they first appear.
    `withheld` cells are shown hidden but are in no margin (they add up to nothing published).
    """
    withheld = {key: cell for key, cell in (withheld or {}).items() if key not in cells}
    if k < 1:
        raise ValueError("k must be at least 1")
    for key in (*cells, *withheld):
        if ALL in key:
            raise ValueError(f"'{ALL}' is reserved for margins: {key}")
    if not cells:
        everything = frozenset(withheld)
        rows = _in_order(order[0], (row for row, _ in withheld))
        columns = _in_order(order[1], (column for _, column in withheld))
        return SuppressedTable(rows, columns, dict(withheld), everything, everything, everything)
    rows = _in_order(order[0], (row for row, _ in cells))
    columns = _in_order(order[1], (column for _, column in cells))
    figures: dict[Key, Cell] = dict(cells)
    for margin, members in _margins(cells, rows, columns):
        figures[margin] = _margin([cells[key] for key in members], kind=kind)
    for key, respondents in (margin_respondents or {}).items():
        if key in figures and key not in cells:
            figures[key] = Cell(respondents, figures[key].value, figures[key].answers)
    primary = frozenset(key for key, cell in figures.items() if cell.respondents < k)
    hidden = set(primary)
    edges = _edges(cells, rows, columns)
    while True:
        derivable = _bridges(hidden, edges)
        if not derivable:
            break
        hidden.add(_complement(derivable, hidden, edges, figures))
    if withheld:
        figures.update(withheld)
        hidden.update(withheld)
        primary = primary | frozenset(withheld)
        rows = _in_order(order[0], [*rows, *(row for row, _ in withheld)])
        columns = _in_order(order[1], [*columns, *(column for _, column in withheld)])
    return SuppressedTable(rows, columns, figures, frozenset(hidden), primary, frozenset(withheld))


def suppress_groups(
    counts: Mapping[str, int], *, k: int, withheld: Collection[str] = ()
) -> SuppressedCounts:
    """Suppress by-group respondent counts published with their total; `withheld` groups are
    shown hidden and left out of the total."""
    table = suppress(
        {(group, _COUNT): Cell(n, n) for group, n in counts.items()},
        k=k,
        withheld={(group, _COUNT): Cell(0, 0) for group in withheld},
    )
    shown: dict[str, int | None] = {}
    for group in [*counts, *(g for g in withheld if g not in counts)]:
        cell = table.visible(group, _COUNT)
        shown[group] = None if cell is None else int(cell.value)
    total = table.total()
    return SuppressedCounts(
        counts=shown,
        total=None if total is None else int(total.value),
        hidden=frozenset(group for group, value in shown.items() if value is None),
    )


def derivable_figures(table: SuppressedTable) -> frozenset[Key]:
    """Hidden figures that the visible ones pin down (empty for any `suppress` result)."""
    cells = {key for key in table.figures if ALL not in key and key not in table.withheld}
    rows = _in_order((), (row for row, _ in cells))
    columns = _in_order((), (column for _, column in cells))
    return _bridges(set(table.hidden - table.withheld), _edges(cells, rows, columns))


def _in_order(wanted: Sequence[str], values: Iterable[str]) -> tuple[str, ...]:
    present = dict.fromkeys(values)
    return tuple([v for v in wanted if v in present] + [v for v in present if v not in wanted])


def _two_d(rows: tuple[str, ...], columns: tuple[str, ...]) -> bool:
    """Whether rows and columns have margins of their own (else only the total is one)."""
    return len(rows) > 1 and len(columns) > 1


def _margins(
    cells: Collection[Key], rows: tuple[str, ...], columns: tuple[str, ...]
) -> list[tuple[Key, tuple[Key, ...]]]:
    """Each published margin with the cells it adds up; a 1-D table has only its total."""
    margins: list[tuple[Key, tuple[Key, ...]]] = []
    if _two_d(rows, columns):
        for row in rows:
            margins.append(((row, ALL), tuple((row, c) for c in columns if (row, c) in cells)))
        for column in columns:
            margins.append(
                ((ALL, column), tuple((r, column) for r in rows if (r, column) in cells))
            )
    margins.append(((ALL, ALL), tuple(cells)))
    return margins


Node = tuple[str, str]
_SOURCE: Node = ("hub", "rows")
_SINK: Node = ("hub", "columns")


def _edges(
    cells: Collection[Key], rows: tuple[str, ...], columns: tuple[str, ...]
) -> dict[Key, tuple[Node, Node]]:
    """The figures as edges of the table's flow graph (see the module docstring)."""
    edges: dict[Key, tuple[Node, Node]] = {}
    two_d = _two_d(rows, columns)
    for row, column in cells:
        edges[(row, column)] = (("row", row), ("column", column)) if two_d else (_SOURCE, _SINK)
    if two_d:
        for row in rows:
            edges[(row, ALL)] = (_SOURCE, ("row", row))
        for column in columns:
            edges[(ALL, column)] = (("column", column), _SINK)
    edges[(ALL, ALL)] = (_SINK, _SOURCE)
    return edges


def _margin(members: list[Cell], *, kind: Kind) -> Cell:
    respondents = sum(cell.respondents for cell in members)
    if kind == "count":
        return Cell(respondents, sum(cell.value for cell in members))
    weight = sum(cell.weight for cell in members)
    mean = sum(cell.value * cell.weight for cell in members) / weight if weight else 0.0
    return Cell(respondents, mean, weight)


def _complement(
    derivable: frozenset[Key],
    hidden: set[Key],
    edges: Mapping[Key, tuple[Node, Node]],
    figures: Mapping[Key, Cell],
) -> Key:
    """The next figure to hide: of the visible figures at the nodes that leak, the one leaving
    the fewest figures derivable, then the one on the smallest lines.

    A node (a row, a column, a total) with a single hidden figure gives it away by subtraction.
    Looking one step ahead keeps a lone small cell from dragging a whole table down when hiding
    a total is enough. A cell weighs as its larger row or column, a margin as itself, a margin
    going first at equal weight: charts show cells, so a small group's figure takes a margin
    with it rather than the largest group's. In a table of one row or one column each cell is
    its own line: the largest goes after the total.
    """
    largest = max((cell.respondents for key, cell in figures.items() if ALL not in key), default=0)

    def cost(key: Key) -> tuple[float, int, int, Key]:
        own = figures[key].respondents
        if ALL in key:
            return (own, 0, own, key)
        lines = [figures[m].respondents for m in ((key[0], ALL), (ALL, key[1])) if m in figures]
        if not lines and own >= largest:
            return (float("inf"), 1, own, key)
        return (max(lines, default=own), 1, own, key)

    at_node: dict[Node, list[Key]] = defaultdict(list)
    for key, (a, b) in edges.items():
        at_node[a].append(key)
        at_node[b].append(key)
    leaking = sorted(
        (keys for keys in at_node.values() if sum(1 for key in keys if key in hidden) == 1),
        key=len,
    )
    near = {key for keys in leaking[:_LEAKS_CONSIDERED] for key in keys if key not in hidden}
    if not near:
        exposed = min(derivable)
        near = {key for node in edges[exposed] for key in at_node[node] if key not in hidden}
    candidates = sorted(near or (key for key in figures if key not in hidden), key=cost)

    def after(key: Key) -> tuple[int, tuple[float, int, int, Key]]:
        return (len(_bridges(hidden | {key}, edges)), cost(key))

    return min(candidates[:_CANDIDATES_CONSIDERED], key=after)


def _bridges(hidden: set[Key], edges: Mapping[Key, tuple[Node, Node]]) -> frozenset[Key]:
    """Hidden figures on no cycle of hidden figures: those the visible ones pin down."""
    adjacent: dict[Node, list[tuple[Node, Key]]] = defaultdict(list)
    for key in hidden:
        if key in edges:
            a, b = edges[key]
            adjacent[a].append((b, key))
            adjacent[b].append((a, key))
    order: dict[Node, int] = {}
    low: dict[Node, int] = {}
    found: set[Key] = set()
    for root in adjacent:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        # iterative depth-first search: (node, edge it was reached by, next neighbour index)
        stack: list[tuple[Node, Key | None, int]] = [(root, None, 0)]
        while stack:
            node, via, index = stack.pop()
            if index < len(adjacent[node]):
                stack.append((node, via, index + 1))
                neighbour, key = adjacent[node][index]
                if key == via:
                    continue
                if neighbour in order:
                    low[node] = min(low[node], order[neighbour])
                else:
                    order[neighbour] = low[neighbour] = len(order)
                    stack.append((neighbour, key, 0))
            elif stack:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent] and via is not None:
                    found.add(via)
    return frozenset(found)
