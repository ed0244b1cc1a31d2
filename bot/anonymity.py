"""Small-cell suppression, the one rule for every aggregate that staff can see.

Statistics (issue 12) and the anonymous returnee profiles (issue 14) publish counts by
country, province, sex, week... A cell built from a handful of people can point at one of
them ("the only woman from Hà Giang who came back from Saudi Arabia in 2026"), so no cell
counted from fewer than `MIN_CELL` people (conversations, answers) is ever shown; it is
rendered as "<10" and exported empty. Totals that are themselves below the threshold are
hidden the same way. Keep this the only implementation so both dashboards agree.

Hiding the small cells is not enough when a total is shown: a table with one hidden cell
gives it away (the total minus the cells shown). So whenever a group of cells whose total
is published (a breakdown and its week's or survey's total; a row or a column of a
cross-table, whose sum is a cell of another breakdown) would hide exactly one cell, the
smallest shown cell of that group is hidden too ("complementary suppression"), repeated
until no group has a lone hidden cell. Cells that are zero are not listed, so they neither
count as hidden nor are hidden.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

MIN_CELL = 10

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)


def visible(count: int, minimum: int = MIN_CELL) -> bool:
    """Whether a cell counted from `count` people may be shown."""
    return count >= minimum


def hidden_cells(
    table: Mapping[K, int],
    groups: Iterable[tuple[Sequence[Hashable], bool]],
    minimum: int = MIN_CELL,
    also_hidden: Iterable[Hashable] = (),
) -> set[Hashable]:
    """The keys to hide: every cell of `table` under `minimum`, and, in each group of keys
    whose total is shown (`(keys, total_shown)`), never exactly one hidden key: the smallest
    shown cell of such a group is hidden as well (the first of equals, in the group's
    order), until every group is safe.

    A group may hold keys that are not cells of `table`: the totals of a cross-table's rows
    and columns, published in another table; those in `also_hidden` are hidden there, the
    others shown, and only cells of `table` are ever chosen to be hidden here."""
    hidden: set[Hashable] = {key for key, count in table.items() if not visible(count, minimum)}
    hidden.update(also_hidden)
    published = [list(keys) for keys, total_shown in groups if total_shown]
    changed = True
    while changed:
        changed = False
        for keys in published:
            if sum(key in hidden for key in keys) != 1:
                continue
            candidates = [key for key in keys if key in table and key not in hidden]
            if candidates:
                hidden.add(min(candidates, key=lambda key: table[key]))  # type: ignore[index]
                changed = True
    return hidden


def suppress(
    table: Mapping[K, int], minimum: int = MIN_CELL, total_shown: bool | None = None
) -> dict[K, int | None]:
    """The table with its hidden cells (under `minimum`, and the complementary one when a
    single cell would be hidden) replaced by None. `total_shown`: whether the table's total
    is published; by default, when the sum of its cells may be shown."""
    if total_shown is None:
        total_shown = visible(sum(table.values()), minimum)
    hidden = hidden_cells(table, [(list(table), total_shown)], minimum)
    return {key: (None if key in hidden else count) for key, count in table.items()}


class _Margin:
    """The key of a row's or a column's total inside `suppress_cross`."""

    def __init__(self, axis: int, value: Hashable) -> None:
        self.key = (axis, value)

    def __hash__(self) -> int:
        return hash(("margin", self.key))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Margin) and other.key == self.key


def suppress_cross(
    table: Mapping[tuple[R, C], int],
    row_totals: Mapping[R, int | None] | None = None,
    column_totals: Mapping[C, int | None] | None = None,
    minimum: int = MIN_CELL,
) -> dict[tuple[R, C], int | None]:
    """A cross-table (row, column) -> count with its hidden cells replaced by None.

    `row_totals` / `column_totals`: the totals as another table publishes them (None where
    that table hides one), when the cells of a row / column add up to them. Each such row
    or column is a group with its total: it may not have exactly one hidden member, so a
    lone small cell takes a second one with it, and a total hidden elsewhere cannot be
    worked out as the sum of its row. Without a given total, the row or column is a group
    whose sum may be shown when it is not small (conservative). When a group cannot be made
    safe that way, the whole table is hidden."""
    groups: list[tuple[Sequence[Hashable], bool]] = []
    margins_hidden: list[Hashable] = []
    axes: tuple[Mapping[Any, int | None] | None, ...] = (row_totals, column_totals)
    for axis, totals in enumerate(axes):
        lines: dict[Hashable, list[tuple[R, C]]] = {}
        for key in table:
            lines.setdefault(key[axis], []).append(key)
        for value, keys in lines.items():
            if totals is None:
                groups.append((keys, visible(sum(table[k] for k in keys), minimum)))
                continue
            margin = _Margin(axis, value)
            if totals.get(value) is None:
                margins_hidden.append(margin)
            groups.append(([*keys, margin], True))
    hidden = hidden_cells(table, groups, minimum, margins_hidden)
    if any(total_shown and sum(k in hidden for k in keys) == 1 for keys, total_shown in groups):
        # A group with one hidden member and no cell left to hide with it (a single cell
        # beside a total shown elsewhere): that member could be worked out, and through it
        # the rest. Nothing of this table is shown, rather than a guess at what is safe.
        return dict.fromkeys(table)
    return {key: (None if key in hidden else count) for key, count in table.items()}


def shown(count: int | None, minimum: int = MIN_CELL) -> str:
    """How a cell reads on a page: the number, or "<10" when it is hidden."""
    if count is None or not visible(count, minimum):
        return f"<{minimum}"
    return str(count)


def exported(count: int | None, minimum: int = MIN_CELL) -> str:
    """How a cell reads in a CSV export: the number, or empty when it is hidden."""
    if count is None or not visible(count, minimum):
        return ""
    return str(count)
