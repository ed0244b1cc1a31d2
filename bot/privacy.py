"""Deleting what the assistant keeps about a person: on request ("forget me") and by age.

"Forget me" must not say "deleted" unless it was. `forget_everything(sender_id)` deletes
the conversation (Rasa's tracker events), the pseudonym map and every store in
`FORGET_STORES` (the other per-user tables register themselves there), and reports which
stores failed. When any did, the sender goes into `privacy_pending_deletions` and the
purge job retries until every store has been emptied; the user is told it failed.

Retention: `purge_all` deletes conversations, pseudonym maps and other per-user rows older
than RETENTION_DAYS, and retries the pending deletions. `bot run` runs it once a day
(`PurgeScheduler`; with several replicas, the one holding the `job_leases` row runs it),
and `python -m bot privacy purge` runs it at once.

Plain Python over SQLAlchemy: the action server, the tracker store and the command line
call the same functions. Nothing here logs a sender id.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.db import button_payloads as _payloads
from bot.db import ensure_schema, get_engine, identities, job_leases, pending_deletions
from bot.db import processed_updates as _processed

logger = logging.getLogger(__name__)

# Rasa's SQLTrackerStore table (TRACKER_STORE_URL): one row per event, `timestamp` in epoch seconds.
_events = sa.table("events", sa.column("sender_id", sa.String), sa.column("timestamp", sa.Float))

PURGE_JOB = "privacy_purge"
PURGE_INTERVAL = _dt.timedelta(hours=24)
DEDUPE_KEEP = _dt.timedelta(hours=25)  # Telegram and Zalo redeliver for up to a day
BUTTON_REPLY_KEEP = _dt.timedelta(hours=48)


def utcnow() -> _dt.datetime:
    """Naive UTC, as the tables store it."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


# --- forget me -------------------------------------------------------------------------------


def forget_conversation(tracker_engine: Engine, sender_id: str) -> int:
    """Delete every stored event of `sender_id` from Rasa's tracker store."""
    if not sa.inspect(tracker_engine).has_table("events"):
        return 0
    with tracker_engine.begin() as conn:
        return conn.execute(sa.delete(_events).where(_events.c.sender_id == sender_id)).rowcount


def forget_identity(engine: Engine, sender_id: str) -> int:
    """Delete the way back from the pseudonym to the platform user."""
    ensure_schema(engine)
    with engine.begin() as conn:
        return conn.execute(sa.delete(identities).where(identities.c.sender_id == sender_id)).rowcount


def _forget_handoffs(engine: Engine, sender_id: str) -> int:
    from bot.handoff import forget

    return forget(engine, sender_id)


def _forget_feedback(engine: Engine, sender_id: str) -> int:
    from bot.feedback import forget

    return forget(engine, sender_id)


def _forget_webchat_outbox(engine: Engine, sender_id: str) -> int:
    from bot.channels.webchat import forget

    return forget(engine, sender_id)


def _forget_statistics(engine: Engine, sender_id: str) -> int:
    from bot.statistics import forget

    return forget(engine, sender_id)


def _forget_letters(engine: Engine, sender_id: str) -> int:
    # Complaint-letter drafts and finished letters (bot/tools/letter_store.py).
    from bot.tools.letter_store import forget

    return forget(engine, sender_id)


def _forget_reminders(engine: Engine, sender_id: str) -> int:
    from bot.reminders import forget

    return forget(engine, sender_id)


def _forget_reply_targets(engine: Engine, sender_id: str) -> int:
    from bot.channels.stores import forget_reply_targets

    return forget_reply_targets(engine, sender_id)


def _purge_reply_targets(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    from bot.channels.stores import purge_reply_targets

    return purge_reply_targets(engine, now, retention_days)


# The per-user stores in DATABASE_URL that "forget me" empties, besides the conversation:
# each takes (engine, sender_id) and returns the rows deleted. (Imported when called: the
# action server need not load the channels or the staff modules to start.)
FORGET_STORES: dict[str, Callable[[Engine, str], int]] = {
    "pseudonym map": forget_identity,
    "handoff transcripts": _forget_handoffs,
    "feedback and unanswered questions": _forget_feedback,
    "web-chat messages waiting": _forget_webchat_outbox,
    "this week's statistics keys": _forget_statistics,
    "complaint letters and drafts": _forget_letters,
    "deadline reminders": _forget_reminders,
    "zalo reply targets": _forget_reply_targets,
}


@dataclass(frozen=True)
class ForgetResult:
    deleted: dict[str, int] = field(default_factory=dict)
    failed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed


def forget_everything(
    sender_id: str,
    database_url: str | None = None,
    tracker_store_url: str | None = None,
    stores: dict[str, Callable[[Engine, str], int]] | None = None,
    tracker_engine: Engine | None = None,
) -> ForgetResult:
    """Delete everything kept about `sender_id`; `ok` only when every store was emptied.

    A failure records the sender in `privacy_pending_deletions` (when that table is
    reachable), so the purge job finishes the work later; a success clears that row. The
    tracker store passes its own engine (`tracker_engine`) instead of TRACKER_STORE_URL.
    """
    from bot.settings import get_settings

    settings = get_settings()
    database_url = database_url or settings.database_url
    tracker_store_url = tracker_store_url or settings.tracker_store_url
    deleted: dict[str, int] = {}
    failed: list[str] = []
    steps: list[tuple[str, Callable[[], int]]] = [
        ("conversation", partial(_forget_conversation_at, tracker_engine, tracker_store_url, sender_id))
    ]
    for name, forget in (FORGET_STORES if stores is None else stores).items():
        steps.append((name, partial(_forget_in, forget, database_url, sender_id)))
    for name, step in steps:
        try:
            deleted[name] = step()
        except Exception as exc:  # noqa: BLE001 - any failure means "not deleted", never "done"
            logger.warning("forget me: %s not deleted (%s)", name, type(exc).__name__)
            failed.append(name)
    result = ForgetResult(deleted, tuple(failed))
    try:
        _record_outcome(get_engine(database_url), sender_id, result)
    except SQLAlchemyError as exc:
        # On success the stores are empty whatever this table says; on failure the user is
        # told so, and the next "forget me" or the save of this turn tries again.
        logger.warning("forget me: pending-deletion table unavailable (%s)", type(exc).__name__)
    return result


def _forget_conversation_at(tracker_engine: Engine | None, url: str, sender_id: str) -> int:
    return forget_conversation(tracker_engine or get_engine(url), sender_id)


def _forget_in(forget: Callable[[Engine, str], int], database_url: str, sender_id: str) -> int:
    return forget(get_engine(database_url), sender_id)


def _record_outcome(engine: Engine, sender_id: str, result: ForgetResult) -> None:
    ensure_schema(engine)
    with engine.begin() as conn:
        if result.ok:
            conn.execute(sa.delete(pending_deletions).where(pending_deletions.c.sender_id == sender_id))
            return
        reason = ", ".join(result.failed)[:100]
        updated = conn.execute(
            sa.update(pending_deletions)
            .where(pending_deletions.c.sender_id == sender_id)
            .values(attempts=pending_deletions.c.attempts + 1, last_failure=reason)
        ).rowcount
        if not updated:
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(pending_deletions).values(
                            sender_id=sender_id, requested_at=utcnow(), attempts=1, last_failure=reason
                        )
                    )
            except IntegrityError:
                pass  # recorded concurrently


def retry_pending(database_url: str, tracker_store_url: str) -> int:
    """Run every owed deletion again; returns how many were completed."""
    engine = get_engine(database_url)
    ensure_schema(engine)
    with engine.connect() as conn:
        senders = list(conn.execute(sa.select(pending_deletions.c.sender_id)).scalars())
    return sum(forget_everything(s, database_url, tracker_store_url).ok for s in senders)


# --- retention ------------------------------------------------------------------------------


def purge_conversations(tracker_engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    """Delete whole conversations whose latest event is older than the retention period."""
    if not sa.inspect(tracker_engine).has_table("events"):
        return 0
    cutoff = (now - _dt.timedelta(days=retention_days)).replace(tzinfo=_dt.timezone.utc).timestamp()
    stale = (
        sa.select(_events.c.sender_id)
        .group_by(_events.c.sender_id)
        .having(sa.func.max(_events.c.timestamp) < cutoff)
    )
    with tracker_engine.begin() as conn:
        return conn.execute(sa.delete(_events).where(_events.c.sender_id.in_(stale))).rowcount


def purge_identities(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    """Pseudonym maps not refreshed by a message within the retention period, except those
    of users with a deadline reminder still to send (they asked to be written to later)."""
    from bot.reminders import senders_waiting

    cutoff = now - _dt.timedelta(days=retention_days)
    with engine.begin() as conn:
        return conn.execute(
            sa.delete(identities).where(
                identities.c.updated_at < cutoff, identities.c.sender_id.not_in(senders_waiting())
            )
        ).rowcount


def purge_channel_rows(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    """Dedupe claims and per-conversation button titles past their own (shorter) lifetimes."""
    with engine.begin() as conn:
        claims = conn.execute(
            sa.delete(_processed).where(_processed.c.created_at < now - DEDUPE_KEEP)
        ).rowcount
        replies = conn.execute(
            sa.delete(_payloads).where(
                _payloads.c.key.like("z:%"), _payloads.c.created_at < now - BUTTON_REPLY_KEEP
            )
        ).rowcount
    return claims + replies + _rotate_replied_journal(engine)


def _rotate_replied_journal(engine: Engine) -> int:
    """The machine's replied journal (`bot.channels.replied`) rotates as updates are claimed;
    on an idle machine its last keys would stay: moved to the dedupe table here (and
    purged from it with it)."""
    from bot.channels.replied import journal_for
    from bot.channels.stores import SqlDedupeStore
    from bot.settings import VAR_DIR

    journal = journal_for(engine, VAR_DIR)
    if journal is None:
        return 0
    store = SqlDedupeStore(engine, journal=journal)
    return sum(journal.rotate(store.record_done) for _ in range(2))  # the journal, then its previous file


def _purge_handoffs(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    from bot.handoff import purge

    return purge(engine, now, retention_days)


def _purge_feedback(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    from bot.feedback import purge

    return purge(engine, now, retention_days)


def _purge_webchat_outbox(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    # Its own, much shorter limit (WEBCHAT_OUTBOX_TTL_HOURS) applies.
    from bot.channels.webchat import purge

    return purge(engine, now)


def _roll_up_statistics(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    # Not a retention purge: ended weeks lose their conversation keys and salts.
    from bot.statistics import purge

    return purge(engine, now, retention_days)


def _purge_letters(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    # Drafts after RETENTION_DAYS; finished letters after LETTER_LINK_MINUTES.
    from bot.tools.letter_store import purge

    return purge(engine, now, retention_days)


def _purge_reminders(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    # Sent, missed, or a week past their deadline.
    from bot.reminders import purge

    return purge(engine, now, retention_days)


# Purges of per-user rows in DATABASE_URL, each (engine, now, retention_days) -> rows deleted.
DATABASE_PURGES: dict[str, Callable[[Engine, _dt.datetime, int], int]] = {
    "pseudonym maps": purge_identities,
    "channel rows": purge_channel_rows,
    "handoffs": _purge_handoffs,
    "feedback and unanswered questions": _purge_feedback,
    "web-chat messages waiting": _purge_webchat_outbox,
    "statistics weeks rolled up": _roll_up_statistics,
    "complaint letters and drafts": _purge_letters,
    "deadline reminders": _purge_reminders,
    "zalo reply targets": _purge_reply_targets,
}


def purge_all(
    database_url: str, tracker_store_url: str, retention_days: int, now: _dt.datetime | None = None
) -> dict[str, int]:
    """Every purge, then the owed deletions; rows deleted per store (no ids)."""
    now = now or utcnow()
    engine = ensure_schema(get_engine(database_url))
    counts = {"conversation events": purge_conversations(get_engine(tracker_store_url), now, retention_days)}
    for name, purge in DATABASE_PURGES.items():
        counts[name] = purge(engine, now, retention_days)
    counts["owed deletions completed"] = retry_pending(database_url, tracker_store_url)
    return counts


# --- the daily job ----------------------------------------------------------------------------


def acquire_lease(engine: Engine, name: str, holder: str, duration: _dt.timedelta, now: _dt.datetime) -> bool:
    """True when `holder` now holds the lease `name` until now + duration (compare-and-swap)."""
    ensure_schema(engine)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(job_leases.c.holder, job_leases.c.expires_at).where(job_leases.c.name == name)
        ).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(job_leases).values(name=name, holder=holder, expires_at=now + duration)
                    )
                return True
            except IntegrityError:
                return False  # another replica took it first
        if row.expires_at > now:
            return False
        taken = conn.execute(
            sa.update(job_leases)
            .where(job_leases.c.name == name, job_leases.c.expires_at == row.expires_at)
            .values(holder=holder, expires_at=now + duration, last_run_at=now)
        ).rowcount
        return taken == 1


def run_purge_once(database_url: str, tracker_store_url: str, retention_days: int, holder: str) -> bool:
    """The daily purge if this process wins the lease for the next 24 hours; True when it ran."""
    now = utcnow()
    if not acquire_lease(get_engine(database_url), PURGE_JOB, holder, PURGE_INTERVAL, now):
        return False
    counts = purge_all(database_url, tracker_store_url, retention_days, now)
    logger.info("privacy purge: %s", ", ".join(f"{name} {count}" for name, count in counts.items()))
    return True


class PurgeScheduler:
    """A daemon thread of `bot run` that tries the daily purge every `check_every` seconds."""

    def __init__(
        self, database_url: str, tracker_store_url: str, retention_days: int, check_every: float = 3600
    ) -> None:
        self._args = (database_url, tracker_store_url, retention_days)
        self._check_every = check_every
        self._holder = f"run-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="privacy-purge", daemon=True)

    def start(self, first_after: float = 60) -> PurgeScheduler:
        self._first_after = first_after
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        wait = self._first_after
        while not self._stop.wait(wait):
            wait = self._check_every
            try:
                run_purge_once(*self._args, holder=self._holder)
            except Exception as exc:  # noqa: BLE001 - a failed purge is retried at the next check
                logger.warning("privacy purge failed (%s); retrying later", type(exc).__name__)
