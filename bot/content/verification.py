"""The verification queue: every fact a reviewer should check again, oldest first.

What goes in, and why (reference notes, "Corrections of 2026-11-30": facts age, and an
unchecked number can send someone in danger to a dead line):

- answer cards with `verified: false`, or `last_reviewed` more than six months ago;
- phone numbers in `content/phone_numbers.yml` rated LOW or UNCONFIRMED;
- directory rows (`data/directory/offices.csv`, `partners.csv`) rated low or unconfirmed,
  or not checked for six months; they are edited and verified on the directory pages
  (`/directory/<table>/<id>`), so this module only lists them and never writes the CSVs;
- facts an agent flagged from a conversation (`flag_fact`): the topic and the agent's own
  note, never the person's words.

"Verified on DATE from SOURCE" is one action: `verify_card` sets `last_reviewed`,
`verified: true` and adds the source to both languages' front matter, published as a new
revision (bot.content.revisions, so the checks and the audit diff apply);
`verify_phone` sets the entry's `source_date`, `source` and `confidence` in the allow-list
(only those lines are rewritten, so its comments stay), atomically, with an audit diff.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from bot.content import revisions
from bot.content.cards import LANGUAGES, CardError, load_card
from bot.content.checks import ALLOW_LIST, CONFIDENCE, check_content
from bot.db import fact_flags
from bot.staff import audit

STALE_MONTHS = 6
DIRECTORY_TABLES = ("offices", "partners")
NOTE_LIMIT = 500
SOURCE_LIMIT = 300
VERIFIED_CONFIDENCE = ("HIGH", "MEDIUM", "LOW")  # a verified number can be rated these

# Reasons (English msgids, translated in the console's `staff` catalog).
NOT_VERIFIED = "Not verified"
REVIEW_OLD = "Last reviewed more than six months ago"
LOW = "Low confidence"
UNCONFIRMED = "Unconfirmed: never shown"
CHECK_OLD = "Not checked for six months"
FLAGGED = "Flagged by an agent"
BROKEN = "The card file has a problem"

BAD_DATE = "Give the date the fact was checked, as YYYY-MM-DD, not in the future."
BAD_SOURCE = "Say where the fact was checked (a law, a page address, a phone call with whom)."
BAD_CONFIDENCE = "Choose the confidence: HIGH, MEDIUM or LOW."
BAD_NOTE = "Write a short note (what seems wrong), without the person's own words."
UNKNOWN_NUMBER = "This phone number is not in the list."
UNKNOWN_FLAG = "This flag does not exist or was already resolved."
UNKNOWN_TOPIC = "Unknown topic."
PHONE_BREAKS_CARD = "The number was updated, but a card that shows it now fails a check: edit that card."


class VerificationError(ValueError):
    """A refused action; `message` is a msgid for the console."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.message = message
        self.problems = problems or []
        super().__init__(message)


@dataclass(frozen=True)
class Item:
    kind: str  # card, phone, directory, flag
    key: str  # card id, phone number, "<table>/<row id>", flag id
    title: str
    since: _dt.date | None  # the date the fact was last checked (None: never): oldest first
    reasons: tuple[str, ...]
    link: str | None = None  # where it is edited (cards, directory rows)
    note: str = ""  # an agent's note, for flags
    checked: str = ""  # the date as the source gives it ("2011" for a number's source_date)

    @property
    def last_checked(self) -> str:
        return self.checked or (self.since.isoformat() if self.since else "")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def six_months_before(day: _dt.date) -> _dt.date:
    month = day.month - STALE_MONTHS
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _partial_date(value: Any) -> _dt.date | None:
    """2021, "2021-05", "2021-05-03" or a date -> the first day it can mean; else None."""
    if isinstance(value, _dt.date):
        return value
    text = str(value or "").strip()
    match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$", text)
    if not match:
        return None
    try:
        return _dt.date(int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1))
    except ValueError:
        return None


# --- the queue ----------------------------------------------------------------------------------


def _card_items(root: Path, cutoff: _dt.date) -> list[Item]:
    items = []
    for card_id in revisions.card_ids(root):
        reasons: list[str] = []
        dates: list[_dt.date] = []
        title = card_id
        for lang in LANGUAGES:
            path = root / lang / f"{card_id}.md"
            if not path.exists():
                continue
            try:
                card = load_card(path, lang)
            except CardError:
                reasons.append(BROKEN)
                continue
            if lang == "vi" or title == card_id:
                title = card.title
            dates.append(card.last_reviewed)
            if not card.verified:
                reasons.append(NOT_VERIFIED)
            if card.last_reviewed < cutoff:
                reasons.append(REVIEW_OLD)
        if reasons:
            unique = tuple(dict.fromkeys(reasons))
            items.append(
                Item("card", card_id, title, min(dates) if dates else None, unique, f"/cards/{card_id}")
            )
    return items


def phone_entries(root: Path) -> list[dict[str, Any]]:
    data = (
        yaml.safe_load((root / ALLOW_LIST).read_text(encoding="utf-8"))
        if (root / ALLOW_LIST).exists()
        else []
    )
    return [entry for entry in data or [] if isinstance(entry, dict) and entry.get("number")]


def _phone_items(root: Path) -> list[Item]:
    items = []
    for entry in phone_entries(root):
        confidence = str(entry.get("confidence") or "").upper()
        if confidence not in ("LOW", "UNCONFIRMED"):
            continue
        purpose = str(entry.get("purpose") or "")
        items.append(
            Item(
                "phone",
                str(entry["number"]),
                f"{entry['number']} · {purpose[:120]}",
                _partial_date(entry.get("source_date")),
                (LOW if confidence == "LOW" else UNCONFIRMED,),
                checked=str(entry.get("source_date") or ""),
            )
        )
    return items


def _directory_items(directory_dir: Path, cutoff: _dt.date) -> list[Item]:
    items = []
    for table in DIRECTORY_TABLES:
        path = Path(directory_dir) / f"{table}.csv"
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                row_id = (row.get("id") or "").strip()
                if not row_id:
                    continue
                reasons = []
                confidence = (row.get("confidence") or "").strip().lower()
                if confidence == "low":
                    reasons.append(LOW)
                elif confidence == "unconfirmed":
                    reasons.append(UNCONFIRMED)
                checked = _partial_date(row.get("last_checked"))
                if checked is None or checked < cutoff:
                    reasons.append(CHECK_OLD)
                if reasons:
                    name = row.get("name_vi") or row.get("name_en") or row_id
                    items.append(
                        Item(
                            "directory",
                            f"{table}/{row_id}",
                            name,
                            checked,
                            tuple(reasons),
                            f"/directory/{table}/{row_id}",
                        )
                    )
    return items


def open_flags(engine: Engine) -> list[Item]:
    query = sa.select(fact_flags).where(fact_flags.c.resolved_at.is_(None)).order_by(fact_flags.c.id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Item(
            "flag", str(row.id), row.topic, row.created_at.date(), (FLAGGED,), f"/cards/{row.topic}", row.note
        )
        for row in rows
    ]


def queue(engine: Engine, root: Path, directory_dir: Path, today: _dt.date | None = None) -> list[Item]:
    """Everything to check again, the oldest (or never checked) first."""
    cutoff = six_months_before(today or _dt.date.today())
    root = Path(root)
    items = _card_items(root, cutoff) + _phone_items(root) + _directory_items(directory_dir, cutoff)
    items += open_flags(engine)
    return sorted(items, key=lambda item: (item.since or _dt.date.min, item.kind, item.key))


# --- "verified on DATE from SOURCE" ---------------------------------------------------------------


def parse_verification(on: str, source: str, today: _dt.date | None = None) -> tuple[_dt.date, str]:
    """The checked date and source from a form, or VerificationError saying what to fix."""
    try:
        day = _dt.date.fromisoformat((on or "").strip())
    except ValueError:
        raise VerificationError(BAD_DATE) from None
    if day > (today or _dt.date.today()) or day.year < 2000:
        raise VerificationError(BAD_DATE)
    source = " ".join((source or "").split())
    if len(source) < 3 or len(source) > SOURCE_LIMIT:
        raise VerificationError(BAD_SOURCE)
    return day, source


def _verified_text(text: str, day: _dt.date, source: str) -> str:
    """A card's text with last_reviewed, verified and the new source in its front matter.

    Only those lines change (the editors' layout and quoting stay); the result is read
    back, and if it does not say what was meant, the front matter is written out whole."""
    lines = text.split("\n")
    closing = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    front = lines[1:closing]
    meta = yaml.safe_load("\n".join(front)) or {}
    sources = [str(s) for s in meta.get("sources") or []]
    wanted = {
        **meta,
        "last_reviewed": day,
        "verified": True,
        "sources": sources + ([source] if source not in sources else []),
    }

    def replace(key: str, value: str) -> bool:
        for index, line in enumerate(front):
            if line.startswith(f"{key}:"):
                front[index] = f"{key}: {value}"
                return True
        return False

    if not replace("last_reviewed", day.isoformat()):
        front.append(f"last_reviewed: {day.isoformat()}")
    if not replace("verified", "true"):
        front.append("verified: true")
    if source not in sources:
        start = next((i for i, line in enumerate(front) if line.startswith("sources:")), None)
        if start is not None and front[start].strip() == "sources:":
            end = start + 1
            while end < len(front) and (front[end].startswith((" ", "\t")) or not front[end].strip()):
                end += 1
            item = next((line for line in front[start + 1 : end] if line.lstrip().startswith("- ")), "  - x")
            indent = item[: len(item) - len(item.lstrip())]
            front.insert(end, f"{indent}- {json.dumps(source, ensure_ascii=False)}")
        else:
            replace("sources", json.dumps(wanted["sources"], ensure_ascii=False))
    if yaml.safe_load("\n".join(front)) != wanted:
        dumped = yaml.safe_dump(wanted, allow_unicode=True, sort_keys=False, width=10_000)
        front = dumped.rstrip("\n").split("\n")
    return "\n".join(["---", *front, *lines[closing:]])


def verify_card(
    engine: Engine, root: Path, card_id: str, on: str, source: str, who: str
) -> revisions.Revision:
    """Mark both languages of a card verified on `on` from `source`, as a new live revision."""
    day, source = parse_verification(on, source)
    current = revisions.sync_with_files(engine, root, card_id)
    if current is None:
        raise VerificationError(revisions.UNKNOWN_CARD)
    try:
        texts = {lang: _verified_text(text, day, source) for lang, text in current.texts.items() if text}
    except (StopIteration, yaml.YAMLError):
        raise VerificationError(BROKEN) from None
    try:
        return revisions.publish_change(
            engine, root, card_id, texts, who, "card.verify", f"verified on {day} from {source}"
        )
    except revisions.RevisionError as error:
        raise VerificationError(error.message, error.problems) from None


def _entry_spans(text: str) -> list[tuple[int, int]]:
    """(first line, line after the last) of each allow-list entry, 0-based."""
    node = yaml.compose(text)
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [(item.start_mark.line, item.end_mark.line) for item in node.value]


def _set_key(entry_lines: list[str], key: str, rendered: str) -> list[str]:
    """Replace `key:` in an entry's lines (indented like the others), or add it at the end."""
    pattern = re.compile(rf"^(\s*-?\s*){re.escape(key)}:")
    for index, line in enumerate(entry_lines):
        match = pattern.match(line)
        if match:
            entry_lines[index] = f"{match.group(1)}{key}: {rendered}"
            return entry_lines
    last = entry_lines[-1] if len(entry_lines) > 1 else "  "
    indent = last[: len(last) - len(last.lstrip())] or "  "
    return [*entry_lines, f"{indent}{key}: {rendered}"]


def verify_phone(
    engine: Engine, root: Path, number: str, on: str, source: str, confidence: str, who: str
) -> None:
    """Record that a phone number was checked on `on` from `source`, with its new rating."""
    day, source = parse_verification(on, source)
    confidence = (confidence or "").strip().upper()
    if confidence not in VERIFIED_CONFIDENCE:
        raise VerificationError(BAD_CONFIDENCE)
    path = Path(root) / ALLOW_LIST
    before = path.read_text(encoding="utf-8")
    entries = phone_entries(root)
    index = next((i for i, e in enumerate(entries) if str(e["number"]) == number), None)
    if index is None:
        raise VerificationError(UNKNOWN_NUMBER)
    lines = before.split("\n")
    start, end = _entry_spans(before)[index]
    while end > start and not lines[end - 1].strip():
        end -= 1
    entry = lines[start:end]
    for key, value in (
        ("confidence", confidence),  # one of VERIFIED_CONFIDENCE: plain
        ("source_date", day.isoformat()),  # digits and dashes: plain
        ("source", json.dumps(source, ensure_ascii=False)),  # a YAML double-quoted string
    ):
        entry = _set_key(entry, key, value)
    after = "\n".join(lines[:start] + entry + lines[end:])
    check = yaml.safe_load(after)  # the edit must leave the same entries, this one changed
    changed = check[index] if isinstance(check, list) and len(check) > index else {}
    if (
        str(changed.get("number")) != number
        or changed.get("confidence") != confidence
        or str(changed.get("source_date")) != day.isoformat()
        or len(check) != len(entries)
    ):
        raise VerificationError(UNKNOWN_NUMBER)
    revisions.write_atomically(path, after)
    problems = [str(p) for p in check_content(Path(root))] if _cards_use(root, number) else []
    diff = "\n".join(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), f"a/{ALLOW_LIST}", f"b/{ALLOW_LIST}", n=0, lineterm=""
        )
    )
    audit.record(
        engine, who, "phone.verify", f"{number}: verified on {day} from {source}, {confidence}\n{diff}"
    )
    if problems:  # the cards' rule for the number changed: say so, the change itself is kept
        raise VerificationError(
            PHONE_BREAKS_CARD,
            [p for p in problems if number.replace(" ", "") in p.replace(" ", "")] or problems[:5],
        )


def _cards_use(root: Path, number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    for lang in LANGUAGES:
        for path in (Path(root) / lang).glob("*.md"):
            if digits and digits in re.sub(r"\D", "", path.read_text(encoding="utf-8")):
                return True
    return False


# --- facts flagged by agents ------------------------------------------------------------------------


def flag_fact(engine: Engine, topic: str, note: str, who: str, topics: list[str]) -> int:
    """Record that an agent doubts a fact of `topic`: the agent's note only."""
    if topic not in topics:
        raise VerificationError(UNKNOWN_TOPIC)
    note = " ".join((note or "").split())
    if len(note) < 3 or len(note) > NOTE_LIMIT:
        raise VerificationError(BAD_NOTE)
    with engine.begin() as conn:
        result = conn.execute(
            sa.insert(fact_flags).values(topic=topic, note=note, flagged_by=who, created_at=_now())
        )
        flag_id = int(result.inserted_primary_key[0])
    audit.record(engine, who, "fact.flag", f"flag {flag_id}: {topic}")
    return flag_id


def resolve_flag(engine: Engine, root: Path, flag_id: int, on: str, source: str, who: str) -> None:
    """Verify the flagged card on `on` from `source`, and close the flag."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(fact_flags).where(fact_flags.c.id == flag_id, fact_flags.c.resolved_at.is_(None))
        ).first()
    if row is None:
        raise VerificationError(UNKNOWN_FLAG)
    day, clean = parse_verification(on, source)
    verify_card(engine, root, row.topic, on, source, who)
    with engine.begin() as conn:
        conn.execute(
            sa.update(fact_flags)
            .where(fact_flags.c.id == flag_id)
            .values(resolved_by=who, resolved_at=_now(), resolution=f"verified on {day} from {clean}"[:300])
        )
    audit.record(engine, who, "fact.resolve", f"flag {flag_id}: {row.topic} verified on {day}")


__all__ = ["CONFIDENCE", "Item", "VerificationError", "queue"]
