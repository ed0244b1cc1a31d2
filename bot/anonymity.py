"""Small-cell suppression, the one rule for every aggregate that staff can see.

Statistics (issue 12) and the anonymous returnee profiles (issue 14) publish counts by
country, province, sex, week... A cell built from a handful of people can point at one of
them ("the only woman from Hà Giang who came back from Saudi Arabia in 2026"), so no cell
counted from fewer than `MIN_CELL` people (conversations, answers) is ever shown; it is
rendered as "<10" and exported empty. Totals that are themselves below the threshold are
hidden the same way. Keep this the only implementation so both dashboards agree.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

MIN_CELL = 10

K = TypeVar("K", bound=Hashable)


def visible(count: int, minimum: int = MIN_CELL) -> bool:
    """Whether a cell counted from `count` people may be shown."""
    return count >= minimum


def suppress(table: Mapping[K, int], minimum: int = MIN_CELL) -> dict[K, int | None]:
    """The table with every cell under `minimum` replaced by None (hidden)."""
    return {key: (count if visible(count, minimum) else None) for key, count in table.items()}


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
