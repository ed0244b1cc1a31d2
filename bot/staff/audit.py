"""The audit log of the staff console: who did what, and when.

Every state-changing staff action (login, claim, reply, card sent, handoff ended, queue
group handled, account changes) is recorded here by the console, not by `bot.handoff` or
`bot.feedback`, which do not know who is logged in. Details name ids, roles and outcomes,
never message text or a user's platform id, so the log can be shown to every admin.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import staff_audit_log


@dataclass(frozen=True)
class Entry:
    at: _dt.datetime  # UTC, timezone-aware
    staff: str
    action: str
    detail: str


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def record(engine: Engine, staff: str, action: str, detail: str) -> None:
    """Add one entry (staff e-mail, a short action name such as "handoff.claim", details)."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(staff_audit_log).values(at=_now(), staff=staff, action=action[:60], detail=detail)
        )


def recent(engine: Engine, limit: int = 200, staff: str | None = None) -> list[Entry]:
    """The newest entries first, optionally for one staff member."""
    query = sa.select(staff_audit_log).order_by(staff_audit_log.c.id.desc()).limit(limit)
    if staff:
        query = query.where(staff_audit_log.c.staff == staff)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Entry(
            at=row.at.replace(tzinfo=_dt.timezone.utc), staff=row.staff, action=row.action, detail=row.detail
        )
        for row in rows
    ]
