"""What users thought of the answers, and the questions the bot could not answer.

Why: nobody sees where the assistant fails unless it is written down. Two things are kept:
- votes (👍/👎) per answer card, without any message text;
- the unanswered queue: fallbacks, out-of-scope messages, the text of a 👎 ("what was
  missing?") and handoffs that staff closed as "the bot should have known".

Privacy: queue text is stored only after `mask()` has replaced phone numbers, e-mail
addresses, passport/ID-like numbers and names the user gave with placeholders. No row
holds a platform id or the pseudonym itself: `sender_key` is a one-way hash of the
pseudonym, kept only so that "forget me" (`forget`) can find the sender's rows. Votes and
queue items are deleted after RETENTION_DAYS (`purge`, run by `python -m bot privacy purge`).

Grouping: the key of a message is its masked text folded (no diacritics, lower case) with
punctuation and spaces normalised, so "Tiền ký quỹ?" and "tien ky quy" are one group.
A group has no row of its own until staff decide on it (`mark_handled`, `link_topic`); a
new message in a handled group opens it again, a linked group stays linked (the topic it
was linked to is meant to answer it once the editing work lands).

Plain Python over SQLAlchemy Core: the action server, the staff console, the handoff
module and the command line call it alike. Times are stored as naive UTC (as every table
of `bot.db`) and returned timezone-aware.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import (
    ensure_schema,
    feedback_queue_groups,
    feedback_queue_items,
    feedback_training_examples,
    feedback_votes,
)
from bot.vietnamese.text import fold

KINDS = ("fallback", "out_of_scope", "thumbs_down", "handoff")
VOTES = ("up", "down")
STATUSES = ("open", "handled", "linked")
MAX_TEXT_CHARS = 1000  # a queue item is a question, not a story: the rest is cut
MAX_KEY_CHARS = 200

# --- masking ------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Letters and digits in one run (passports "C1234567", residence cards "AB12345678"): at
# least 5 digits, so "E9", "E-7" visas, "16tr" or "50trieu" stay.
_ALNUM_ID = re.compile(r"(?<![\w])(?=[A-Za-z0-9]*[A-Za-z])(?=(?:[A-Za-z]*\d){5})[A-Za-z0-9]{6,}(?![\w])")
# A run of digits, possibly with spaces, dots, dashes or brackets inside, optionally "+".
_NUMBER = re.compile(r"(?<![\w+])\+?\(?\d[\d().\- ]*\d(?![\w])")
# Amounts written with thousands separators ("50.000.000", "1,500,000"): kept.
_AMOUNT = re.compile(r"^\d{1,3}(?:[.,]\d{3})+$")
_DATE = re.compile(r"^(?:\d{4}[-.]\d{1,2}[-.]\d{1,2}|\d{1,2}[-.]\d{1,2}[-.]\d{2,4})$")
# Korean alien registration / resident numbers: 6 digits, dash, 7 digits.
_RESIDENT_NUMBER = re.compile(r"^\d{6}-\d{7}$")

# Who is speaking, then the name: "tôi tên là X", "tên em là X", "my name is X", "call me X".
_NAME_ANY_CASE = re.compile(
    r"(?:\b(?:t[oô]i|em|m[iì]nh|anh|ch[iị]|con|ch[aá]u|tao|t[oớ])\s+t[eê]n(?:\s+l[aà])?"
    r"|\bt[eê]n\s+(?:c[uủ]a\s+)?(?:t[oô]i|em|m[iì]nh|anh|ch[iị]|con|ch[aá]u)(?:\s+l[aà])?"
    r"|\bh[oọ]\s+t[eê]n(?:\s+(?:c[uủ]a\s+)?(?:t[oô]i|em|m[iì]nh))?(?:\s+l[aà])?"
    r"|\bmy\s+name\s+is|\bmy\s+name's|\bcall\s+me|\bname\s*:)\s+",
    re.IGNORECASE,
)
# "em là X", "tôi là X", "I'm X": so often "em là lao động…" that only a capitalised word
# after it is read as a name.
_NAME_CAPITALISED = re.compile(
    r"(?:\b(?:t[oô]i|em|m[iì]nh|anh|ch[iị]|con|ch[aá]u)\s+l[aà]|\bi\s+am|\bi'm|\bthis\s+is)\s+",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words that end a name: what usually follows it in a message (folded).
_AFTER_NAME = set(
    "va o dang nam tuoi sinh lam hien nha que toi em minh can muon xin hoi thi la co bi da gi ai nao sao "
    "and from in on at by via back when i my im am working live living want need have had was is aged years".split()
)
# Capitalised words after "em là" that are not names (folded): roles and groups.
_NOT_NAMES = set("lao nguoi cong thuc tu sinh vo chong me bo ban khach viet".split())
MAX_NAME_WORDS = 4


def _mask_number(match: re.Match[str]) -> str:
    raw = match.group(0)
    core = raw.strip(" .-()")
    digits = re.sub(r"\D", "", core)
    if _AMOUNT.match(core) or _DATE.match(core):
        return raw
    if _RESIDENT_NUMBER.match(core):
        return raw.replace(core, "[id]")
    separated = bool(re.search(r"[ .\-()]", core)) or core.startswith("+")
    if separated:
        # Parts written apart ("0912 345 678", "+84 981 84 84 84", "010-1234-5678"): a
        # phone if it has a phone's length; shorter runs are ordinary numbers side by side.
        if 8 <= len(digits) <= 15:
            return raw.replace(core, "[phone]")
        return raw
    if len(digits) in (10, 11) and digits.startswith("0"):
        return raw.replace(core, "[phone]")
    if 9 <= len(digits) <= 12:
        return raw.replace(core, "[id]")
    return raw


def _name_end(text: str, start: int, capitalised_only: bool) -> int:
    """The end of the name that starts at `start` (== start when there is none)."""
    end = start
    count = 0
    for word in _NAME_WORD.finditer(text, start):
        between = text[end : word.start()]
        if count and (between.strip() or "\n" in between):
            break  # punctuation ends the name
        if not count and text[start : word.start()].strip():
            break
        folded = fold(word.group(0))
        if folded in _AFTER_NAME:
            break
        if capitalised_only and (not word.group(0)[0].isupper() or (not count and folded in _NOT_NAMES)):
            break
        end = word.end()
        count += 1
        if count == MAX_NAME_WORDS:
            break
    return end


def _mask_names(text: str) -> str:
    for pattern, capitalised_only in ((_NAME_ANY_CASE, False), (_NAME_CAPITALISED, True)):
        parts: list[str] = []
        position = 0
        for match in pattern.finditer(text):
            if match.start() < position:
                continue
            end = _name_end(text, match.end(), capitalised_only)
            if end > match.end():
                parts += [text[position : match.end()], "[name]"]
                position = end
        text = "".join(parts) + text[position:]
    return text


def mask(text: str) -> str:
    """The text with phones, e-mails, passport/ID-like numbers and given names replaced by
    [phone], [email], [id] and [name]; ordinary numbers ("3 tháng", "180 ngày",
    "50.000.000 đồng", dates) stay."""
    masked = _EMAIL.sub("[email]", text or "")
    masked = _ALNUM_ID.sub("[id]", masked)
    masked = _NUMBER.sub(_mask_number, masked)
    return _mask_names(masked)


_NOT_KEY = re.compile(r"[^a-z0-9\[\]]+")


def group_key(text: str) -> str:
    """The grouping key of a masked text: folded, punctuation gone, spaces single."""
    return _NOT_KEY.sub(" ", fold(text)).strip()[:MAX_KEY_CHARS]


def sender_key(sender_id: str | None) -> str | None:
    """A one-way hash of the pseudonym: enough for "forget me" to find the sender's rows,
    not a way to their conversation for someone who reads only these tables."""
    if not sender_id:
        return None
    return hashlib.sha256(f"feedback:{sender_id}".encode()).hexdigest()


# --- writing ------------------------------------------------------------------------------


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _naive_utc(moment: _dt.datetime) -> _dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def _aware(moment: _dt.datetime) -> _dt.datetime:
    return moment.replace(tzinfo=_dt.timezone.utc) if moment.tzinfo is None else moment


def add_item(
    engine: Engine, kind: str, text: str, lang: str, sender_id: str | None, topic: str | None = None
) -> None:
    """Put a message the bot could not answer in the queue, masked. Empty text is skipped."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    masked = mask((text or "").strip()[:MAX_TEXT_CHARS])
    key = group_key(masked)
    if not key:
        return
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(feedback_queue_items).values(
                key=key,
                text=masked,
                kind=kind,
                lang=lang,
                topic=topic,
                sender_key=sender_key(sender_id),
                created_at=_now(),
            )
        )
        # A handled group asked again is open again; a linked one waits for its topic.
        connection.execute(
            sa.delete(feedback_queue_groups).where(
                feedback_queue_groups.c.key == key, feedback_queue_groups.c.status == "handled"
            )
        )


def record_vote(engine: Engine, topic: str, lang: str, vote: str, sender_id: str | None) -> None:
    """A 👍 ("up") or 👎 ("down") on the card `topic`; no message text is kept."""
    if vote not in VOTES:
        raise ValueError(f"vote must be 'up' or 'down', got {vote!r}")
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(feedback_votes).values(
                topic=topic, lang=lang, vote=vote, sender_key=sender_key(sender_id), created_at=_now()
            )
        )


# --- reading and staff decisions ----------------------------------------------------------


@dataclass(frozen=True)
class QueueGroup:
    key: str  # folded, masked text key ("tien ky quy" groups "tiền ký quỹ")
    sample: str  # one masked example (the latest)
    count: int
    kinds: tuple[str, ...]  # "fallback" | "out_of_scope" | "thumbs_down" | "handoff"
    langs: tuple[str, ...]
    first_seen: _dt.datetime
    last_seen: _dt.datetime
    status: str  # "open" | "handled" | "linked"
    topic: str | None  # when linked


def queue(engine: Engine, status: str = "open") -> list[QueueGroup]:
    """The groups in `status`, most asked first, then most recent."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    ensure_schema(engine)
    with engine.connect() as connection:
        decided = {
            row.key: (row.status, row.topic) for row in connection.execute(sa.select(feedback_queue_groups))
        }
        rows = connection.execute(
            sa.select(feedback_queue_items).order_by(
                feedback_queue_items.c.created_at, feedback_queue_items.c.id
            )
        ).all()
    items: dict[str, list[Any]] = {}
    for row in rows:
        items.setdefault(row.key, []).append(row)
    groups = []
    for key, members in items.items():
        group_status, topic = decided.get(key, ("open", None))
        if group_status != status:
            continue
        groups.append(
            QueueGroup(
                key=key,
                sample=members[-1].text,
                count=len(members),
                kinds=tuple(sorted({m.kind for m in members})),
                langs=tuple(sorted({m.lang for m in members})),
                first_seen=_aware(members[0].created_at),
                last_seen=_aware(members[-1].created_at),
                status=group_status,
                topic=topic,
            )
        )
    groups.sort(key=lambda g: (-g.count, -g.last_seen.timestamp()))
    return groups


def _decide(engine: Engine, key: str, status: str, topic: str | None, staff: str) -> None:
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(sa.delete(feedback_queue_groups).where(feedback_queue_groups.c.key == key))
        connection.execute(
            sa.insert(feedback_queue_groups).values(
                key=key, status=status, topic=topic, updated_by=staff, updated_at=_now()
            )
        )


def mark_handled(engine: Engine, key: str, staff: str) -> None:
    """Staff dealt with this group (answered the people, or decided it needs no card)."""
    _decide(engine, key, "handled", None, staff)


def link_topic(engine: Engine, key: str, topic: str, staff: str) -> None:
    """This group should have been answered by `topic`: kept (folded, masked text and the
    topic, no sender) as a candidate training example for the content editors."""
    _decide(engine, key, "linked", topic, staff)
    with engine.begin() as connection:
        langs = sorted(
            connection.execute(
                sa.select(feedback_queue_items.c.lang).where(feedback_queue_items.c.key == key).distinct()
            ).scalars()
        )
        connection.execute(
            sa.delete(feedback_training_examples).where(feedback_training_examples.c.key == key)
        )
        connection.execute(
            sa.insert(feedback_training_examples).values(
                key=key,
                topic=topic,
                lang=langs[0] if len(langs) == 1 else None,
                linked_by=staff,
                linked_at=_now(),
            )
        )


def training_examples(engine: Engine) -> list[tuple[str, str]]:
    """(folded text, topic) of every group linked to a topic, oldest first."""
    ensure_schema(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(feedback_training_examples.c.key, feedback_training_examples.c.topic).order_by(
                feedback_training_examples.c.linked_at
            )
        ).all()
    return [(row.key, row.topic) for row in rows]


def votes_by_topic(engine: Engine) -> dict[str, tuple[int, int]]:
    """topic -> (👍 count, 👎 count) over the votes still kept."""
    ensure_schema(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(feedback_votes.c.topic, feedback_votes.c.vote, sa.func.count()).group_by(
                feedback_votes.c.topic, feedback_votes.c.vote
            )
        ).all()
    counts: dict[str, tuple[int, int]] = {}
    for topic, vote, count in rows:
        up, down = counts.get(topic, (0, 0))
        counts[topic] = (up + count, down) if vote == "up" else (up, down + count)
    return counts


# --- deletion -----------------------------------------------------------------------------


def _drop_empty_groups(connection: sa.engine.Connection) -> int:
    """Staff decisions on groups that no longer have any item (open or handled; linked
    groups live on as training examples)."""
    still_there = sa.select(feedback_queue_items.c.key).distinct()
    return connection.execute(
        sa.delete(feedback_queue_groups).where(
            feedback_queue_groups.c.status != "linked", feedback_queue_groups.c.key.not_in(still_there)
        )
    ).rowcount


def purge(engine: Engine, now: _dt.datetime, retention_days: int) -> int:
    """Delete votes and queue items older than `retention_days` before `now`; the number of
    rows deleted. Candidate training examples (folded, masked, no sender) are kept."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = _naive_utc(now) - _dt.timedelta(days=retention_days)
    ensure_schema(engine)
    with engine.begin() as connection:
        deleted = connection.execute(
            sa.delete(feedback_votes).where(feedback_votes.c.created_at < cutoff)
        ).rowcount
        deleted += connection.execute(
            sa.delete(feedback_queue_items).where(feedback_queue_items.c.created_at < cutoff)
        ).rowcount
        deleted += _drop_empty_groups(connection)
    return deleted


def forget(engine: Engine, sender_id: str) -> int:
    """Delete every vote and queue item of a sender ("forget me"); the number of rows.
    Raises (SQLAlchemyError) rather than return when the database fails, so that the
    caller can tell the user the deletion did not happen."""
    key = sender_key(sender_id)
    if not key:
        return 0
    ensure_schema(engine)
    with engine.begin() as connection:
        deleted = connection.execute(
            sa.delete(feedback_votes).where(feedback_votes.c.sender_key == key)
        ).rowcount
        deleted += connection.execute(
            sa.delete(feedback_queue_items).where(feedback_queue_items.c.sender_key == key)
        ).rowcount
        _drop_empty_groups(connection)
    return deleted
