"""Answer-card revisions: draft -> review -> live, the history, restore, and the git bridge.

NGO staff edit cards in the staff console, and a wrong fact reaches people at once, so a
change goes live only through this module:

- a revision is both language files of one card (the checks compare vi and en, so the
  two are one unit). `save_draft` keeps a draft; `submit` (or `save_draft(submit=True)`)
  asks for review; `approve` publishes it. A reviewer other than the author must approve
  (`REVIEW_OWN`), and nothing goes live while `check_card_texts` finds a problem
  (sources, the same figures in both languages, the phone-number confidence rules,
  length): the checks run again at approval, since the allow-list may have changed.
- publishing writes `content/<lang>/<card_id>.md` atomically (a temporary file in the
  same folder, then `os.replace`, mode 0644), so the assistant never reads half a card;
  `ContentLibrary` sees the new file at the next answer in every process, no restart.
  The two languages are two files replaced one after the other, so for a moment a
  Vietnamese answer can be new while an English one is still old; each is whole. The
  files are written inside the database transaction: a failed write records nothing, and
  if the commit itself failed after the write, `sync_with_files` records the files later.
- every revision is kept. `restore` puts an earlier published revision back in one
  step; it is a reviewer's action and goes live directly (it was reviewed once already,
  and a rollback is needed fastest when something wrong is live), still only if it
  passes today's checks. An editor who wants an old text back saves it as a draft.
- the files stay the truth the assistant reads: when they changed on disk outside the
  console (an edit, a `git pull`), `sync_with_files` records them as a new live revision
  so the history and restore stay complete.
- `export` writes the live cards and a manifest (`console_revisions.yml`: card -> the
  revision exported) to a folder a team keeps in git; `import_cards` publishes the cards
  changed there, and refuses a card whose console revision is newer than the one the
  files were exported from (or that has a change waiting for review), saying so.

Every action is written to the staff audit log with a unified diff of what changed.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection, Engine

from bot.content.cards import LANGUAGES
from bot.content.checks import ALLOW_LIST, Problem, check_card_texts
from bot.db import content_revisions
from bot.staff import audit

STATUSES = ("draft", "review", "live", "superseded", "rejected")
FILES_AUTHOR = "files"  # the author of a revision found on disk, not made in the console
MANIFEST = "console_revisions.yml"
FILE_MODE = 0o644
DIFF_LIMIT = 6000  # characters of diff kept in one audit entry
CARD_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,79}$")

# Refusals (English msgids, translated in the console's `staff` catalog).
UNKNOWN_CARD = "There is no such card."
NOT_FIT = "The card cannot go live: fix the problems the checks list."
REVIEW_OWN = "You cannot approve your own change: another reviewer must."
NOT_IN_REVIEW = "This revision is not waiting for review."
NOT_A_DRAFT = "Only a draft can be sent for review."
NOT_AUTHOR = "Only the author can send this draft for review."
STALE = "The live card changed after this draft was started: open the card again and redo the change."
NEVER_LIVE = "Only a revision that was live can be restored."
ALREADY_LIVE = "This revision is the live one."
UNCHANGED = "Nothing changed."


class RevisionError(ValueError):
    """A refused action: `message` is a msgid for the console, `problems` the checks' list."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.message = message
        self.problems = [str(p) for p in problems]
        super().__init__(message if not self.problems else f"{message} {'; '.join(self.problems)}")


@dataclass(frozen=True)
class Revision:
    id: int
    card_id: str
    texts: dict[str, str]
    status: str
    author: str
    created_at: _dt.datetime
    based_on: int | None
    note: str
    reviewer: str | None
    reviewed_at: _dt.datetime | None
    published_at: _dt.datetime | None


@dataclass
class ImportReport:
    applied: list[str] = field(default_factory=list)
    unchanged: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (card id, reason)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def normalise(text: str) -> str:
    """A card text as it is stored: Unix line ends, no trailing spaces, one final newline."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def valid_card_id(card_id: str) -> bool:
    return bool(CARD_ID.match(card_id or ""))


def card_ids(root: Path) -> list[str]:
    """Every card id with a file in either language, sorted."""
    found: set[str] = set()
    for lang in LANGUAGES:
        folder = Path(root) / lang
        if folder.is_dir():
            found.update(p.stem for p in folder.glob("*.md") if valid_card_id(p.stem))
    return sorted(found)


def read_files(root: Path, card_id: str) -> dict[str, str] | None:
    """Both language files of a card ("" for a missing one), or None when neither exists."""
    texts: dict[str, str] = {}
    for lang in LANGUAGES:
        path = Path(root) / lang / f"{card_id}.md"
        texts[lang] = normalise(path.read_text(encoding="utf-8")) if path.exists() else ""
    return texts if any(texts.values()) else None


def _revision(row: Any) -> Revision:
    return Revision(
        id=row.id,
        card_id=row.card_id,
        texts={"vi": row.vi_text, "en": row.en_text},
        status=row.status,
        author=row.author,
        created_at=row.created_at,
        based_on=row.based_on,
        note=row.note or "",
        reviewer=row.reviewer,
        reviewed_at=row.reviewed_at,
        published_at=row.published_at,
    )


def get(engine: Engine, revision_id: int) -> Revision | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(content_revisions).where(content_revisions.c.id == revision_id)).first()
    return _revision(row) if row else None


def history(engine: Engine, card_id: str) -> list[Revision]:
    """Every revision of a card, newest first."""
    query = (
        sa.select(content_revisions)
        .where(content_revisions.c.card_id == card_id)
        .order_by(content_revisions.c.id.desc())
    )
    with engine.connect() as conn:
        return [_revision(row) for row in conn.execute(query)]


def live(engine: Engine, card_id: str) -> Revision | None:
    return next((r for r in history(engine, card_id) if r.status == "live"), None)


def waiting_for_review(engine: Engine) -> list[Revision]:
    """Revisions waiting for a reviewer, oldest first."""
    query = (
        sa.select(content_revisions)
        .where(content_revisions.c.status == "review")
        .order_by(content_revisions.c.id)
    )
    with engine.connect() as conn:
        return [_revision(row) for row in conn.execute(query)]


# --- diffs and files ----------------------------------------------------------------------------


def diff(card_id: str, old: dict[str, str] | None, new: dict[str, str]) -> str:
    """A unified diff of both languages (what the audit log keeps), cut at DIFF_LIMIT."""
    parts: list[str] = []
    for lang in LANGUAGES:
        before = (old or {}).get(lang, "")
        after = new.get(lang, "")
        if before == after:
            continue
        parts.extend(
            difflib.unified_diff(
                before.splitlines(),
                after.splitlines(),
                f"a/content/{lang}/{card_id}.md",
                f"b/content/{lang}/{card_id}.md",
                n=1,
                lineterm="",
            )
        )
    text = "\n".join(parts)
    return text if len(text) <= DIFF_LIMIT else text[:DIFF_LIMIT] + "\n[…]"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: a temporary file in the same folder (so the
    rename cannot cross file systems), flushed, made 0644, then `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_card(root: Path, card_id: str, texts: dict[str, str]) -> None:
    for lang in LANGUAGES:
        if texts.get(lang):
            write_atomically(Path(root) / lang / f"{card_id}.md", texts[lang])


# --- the workflow ---------------------------------------------------------------------------------


def _insert(conn: Connection, card_id: str, texts: dict[str, str], **values: Any) -> int:
    result = conn.execute(
        sa.insert(content_revisions).values(
            card_id=card_id,
            vi_text=texts.get("vi", ""),
            en_text=texts.get("en", ""),
            created_at=values.pop("created_at", None) or _now(),
            note=(values.pop("note", "") or "")[:300],
            **values,
        )
    )
    return int(result.inserted_primary_key[0])


def _go_live(
    engine: Engine,
    root: Path,
    card_id: str,
    texts: dict[str, str],
    who: str,
    action: str,
    previous: Revision | None,
    *,
    revision_id: int | None = None,
    **values: Any,
) -> Revision:
    """Make `texts` the live card: the database rows and the files, in one transaction (a
    failed write rolls the rows back). `revision_id` publishes an existing revision,
    otherwise a new one is inserted with `values`."""
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            sa.update(content_revisions)
            .where(content_revisions.c.card_id == card_id, content_revisions.c.status == "live")
            .values(status="superseded")
        )
        if revision_id is None:
            revision_id = _insert(conn, card_id, texts, status="live", published_at=now, **values)
        else:
            done = conn.execute(
                sa.update(content_revisions)
                .where(content_revisions.c.id == revision_id, content_revisions.c.status == "review")
                .values(status="live", published_at=now, **values)
            )
            if done.rowcount != 1:  # another reviewer acted on it a moment ago
                raise RevisionError(NOT_IN_REVIEW)
        _write_card(root, card_id, texts)
    audit.record(
        engine,
        who,
        action,
        f"{card_id} revision {revision_id} live\n{diff(card_id, previous.texts if previous else None, texts)}",
    )
    published = get(engine, revision_id)
    assert published is not None
    return published


def sync_with_files(engine: Engine, root: Path, card_id: str) -> Revision | None:
    """The live revision, after recording the files as a new one if they changed on disk
    outside the console (or were never recorded). None when the card has no file."""
    files = read_files(root, card_id)
    current = live(engine, card_id)
    if files is None or (current is not None and current.texts == files):
        return current
    note = "changed on disk outside the console" if current else "as found in content/"
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            sa.update(content_revisions)
            .where(content_revisions.c.card_id == card_id, content_revisions.c.status == "live")
            .values(status="superseded")
        )
        revision_id = _insert(
            conn,
            card_id,
            files,
            status="live",
            author=FILES_AUTHOR,
            based_on=current.id if current else None,
            note=note,
            published_at=now,
        )
    if current is not None:
        audit.record(
            engine,
            FILES_AUTHOR,
            "card.files_changed",
            f"{card_id} revision {revision_id} (files edited outside the console)\n"
            f"{diff(card_id, current.texts, files)}",
        )
    return get(engine, revision_id)


def problems_of(root: Path, card_id: str, texts: dict[str, str]) -> list[Problem]:
    return check_card_texts(card_id, {lang: texts.get(lang, "") for lang in LANGUAGES}, root)


def save_draft(
    engine: Engine,
    root: Path,
    card_id: str,
    texts: dict[str, str],
    author: str,
    note: str = "",
    submit: bool = False,
) -> Revision:
    """Keep an edit of both languages as a draft, or (`submit`) send it for review, which
    needs the checks to pass. Raises RevisionError."""
    if not valid_card_id(card_id):
        raise RevisionError(UNKNOWN_CARD)
    base = sync_with_files(engine, root, card_id)
    if base is None:
        raise RevisionError(UNKNOWN_CARD)
    texts = {lang: normalise(texts.get(lang, "")) for lang in LANGUAGES}
    if texts == base.texts:
        raise RevisionError(UNCHANGED)
    if submit:
        problems = problems_of(root, card_id, texts)
        if problems:
            raise RevisionError(NOT_FIT, problems)
    status = "review" if submit else "draft"
    with engine.begin() as conn:
        revision_id = _insert(conn, card_id, texts, status=status, author=author, based_on=base.id, note=note)
    audit.record(
        engine,
        author,
        "card.review_requested" if submit else "card.draft",
        f"{card_id} revision {revision_id} ({status}, from revision {base.id})\n{diff(card_id, base.texts, texts)}",
    )
    saved = get(engine, revision_id)
    assert saved is not None
    return saved


def submit(engine: Engine, root: Path, revision_id: int, who: str) -> Revision:
    """A draft goes to review (its author only; the checks must pass)."""
    revision = get(engine, revision_id)
    if revision is None:
        raise RevisionError(UNKNOWN_CARD)
    if revision.status != "draft":
        raise RevisionError(NOT_A_DRAFT)
    if revision.author != who:
        raise RevisionError(NOT_AUTHOR)
    problems = problems_of(root, revision.card_id, revision.texts)
    if problems:
        raise RevisionError(NOT_FIT, problems)
    with engine.begin() as conn:
        conn.execute(
            sa.update(content_revisions).where(content_revisions.c.id == revision_id).values(status="review")
        )
    audit.record(engine, who, "card.review_requested", f"{revision.card_id} revision {revision_id}")
    submitted = get(engine, revision_id)
    assert submitted is not None
    return submitted


def approve(engine: Engine, root: Path, revision_id: int, reviewer: str) -> Revision:
    """Publish a revision waiting for review: another person than its author, the live card
    unchanged since the draft began, every check passing."""
    revision = get(engine, revision_id)
    if revision is None:
        raise RevisionError(UNKNOWN_CARD)
    if revision.status != "review":
        raise RevisionError(NOT_IN_REVIEW)
    if revision.author == reviewer:
        audit.record(
            engine, reviewer, "card.approve_refused", f"{revision.card_id} revision {revision_id}: own change"
        )
        raise RevisionError(REVIEW_OWN)
    current = sync_with_files(engine, root, revision.card_id)
    if current is not None and revision.based_on is not None and current.id != revision.based_on:
        raise RevisionError(STALE)
    problems = problems_of(root, revision.card_id, revision.texts)
    if problems:
        raise RevisionError(NOT_FIT, problems)
    return _go_live(
        engine,
        root,
        revision.card_id,
        revision.texts,
        reviewer,
        "card.approve",
        current,
        revision_id=revision_id,
        reviewer=reviewer,
        reviewed_at=_now(),
    )


def reject(engine: Engine, revision_id: int, reviewer: str, note: str = "") -> Revision:
    """Send a revision back: it stays in the history as rejected, with the reviewer's note."""
    revision = get(engine, revision_id)
    if revision is None:
        raise RevisionError(UNKNOWN_CARD)
    if revision.status not in ("review", "draft"):
        raise RevisionError(NOT_IN_REVIEW)
    with engine.begin() as conn:
        conn.execute(
            sa.update(content_revisions)
            .where(content_revisions.c.id == revision_id)
            .values(
                status="rejected", reviewer=reviewer, reviewed_at=_now(), note=(note or revision.note)[:300]
            )
        )
    audit.record(engine, reviewer, "card.reject", f"{revision.card_id} revision {revision_id}")
    rejected = get(engine, revision_id)
    assert rejected is not None
    return rejected


def restore(engine: Engine, root: Path, revision_id: int, reviewer: str) -> Revision:
    """Put an earlier published revision back live, as a new revision (one step)."""
    target = get(engine, revision_id)
    if target is None:
        raise RevisionError(UNKNOWN_CARD)
    if target.published_at is None:
        raise RevisionError(NEVER_LIVE)
    current = sync_with_files(engine, root, target.card_id)
    if current is not None and current.texts == target.texts:
        raise RevisionError(ALREADY_LIVE)
    problems = problems_of(root, target.card_id, target.texts)
    if problems:
        raise RevisionError(NOT_FIT, problems)
    return _go_live(
        engine,
        root,
        target.card_id,
        target.texts,
        reviewer,
        "card.restore",
        current,
        author=reviewer,
        based_on=current.id if current else None,
        note=f"restored revision {revision_id}",
        reviewer=reviewer,
        reviewed_at=_now(),
    )


def publish_change(
    engine: Engine, root: Path, card_id: str, texts: dict[str, str], who: str, action: str, note: str
) -> Revision:
    """Publish a change that is itself a reviewer's act (a verification, an import): the
    checks must pass; recorded as a new live revision."""
    current = sync_with_files(engine, root, card_id)
    texts = {lang: normalise(texts.get(lang, "")) for lang in LANGUAGES}
    problems = problems_of(root, card_id, texts)
    if problems:
        raise RevisionError(NOT_FIT, problems)
    return _go_live(
        engine,
        root,
        card_id,
        texts,
        who,
        action,
        current,
        author=who,
        based_on=current.id if current else None,
        note=note,
        reviewer=who,
        reviewed_at=_now(),
    )


# --- the git bridge: export and import ------------------------------------------------------------


def _read_manifest(folder: Path) -> dict[str, int]:
    path = Path(folder) / MANIFEST
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cards = data.get("cards") if isinstance(data, dict) else None
    if not isinstance(cards, dict):
        return {}
    return {str(k): int(v) for k, v in cards.items() if isinstance(v, int)}


def _write_manifest(folder: Path, revisions: dict[str, int]) -> None:
    header = (
        "# Written by `python -m bot content export` / `import`: the console revision each card\n"
        "# file here was exported from. `import` uses it to refuse a change made to a card that\n"
        "# has changed in the console since. Commit it with the cards; do not edit it.\n"
    )
    body = yaml.safe_dump({"cards": dict(sorted(revisions.items()))}, sort_keys=False)
    write_atomically(Path(folder) / MANIFEST, header + body)


def export(engine: Engine, root: Path, target: Path) -> dict[str, int]:
    """Write every live card (and the phone-number allow-list) to `target` with the
    manifest; returns card id -> revision id."""
    root, target = Path(root), Path(target)
    exported: dict[str, int] = {}
    for card_id in card_ids(root):
        current = sync_with_files(engine, root, card_id)
        if current is None:
            continue
        exported[card_id] = current.id
        if target.resolve() != root.resolve():
            _write_card(target, card_id, current.texts)
    if target.resolve() != root.resolve() and (root / ALLOW_LIST).exists():
        write_atomically(target / ALLOW_LIST, (root / ALLOW_LIST).read_text(encoding="utf-8"))
    _write_manifest(target, exported)
    return exported


def _conflict(engine: Engine, card_id: str, current: Revision | None, base: int | None) -> str | None:
    """Why an imported change to `card_id` would overwrite newer console work, or None."""
    if current is None:
        return None
    if base is None:
        return (
            f"the console has revision {current.id} of this card and these files carry no exported "
            f"revision ({MANIFEST}): run `python -m bot content export` first and redo the change there"
        )
    if current.id != base:
        when = (current.published_at or current.created_at).strftime("%Y-%m-%d %H:%M")
        return (
            f"the console's live revision {current.id} ({current.author}, {when} UTC) is newer than "
            f"revision {base} these files were exported from: export again, merge your change, import"
        )
    waiting = [r.id for r in history(engine, card_id) if r.status == "review" and r.id > base]
    if waiting:
        return (
            f"revision {waiting[0]} of this card is waiting for review in the console: "
            "approve or reject it first"
        )
    return None


def import_cards(engine: Engine, root: Path, source: Path, who: str = "import") -> ImportReport:
    """Publish the cards that changed in `source` (a folder from `export`, kept in git).

    A card is refused, with the reason, when the console changed it since the export it
    is based on, or when a check fails; the others go live as new revisions."""
    root, source = Path(root), Path(source)
    report = ImportReport()
    manifest = _read_manifest(source)
    applied: dict[str, int] = {}
    for card_id in card_ids(source):
        texts = read_files(source, card_id)
        if texts is None:
            continue
        current = sync_with_files(engine, root, card_id)
        if current is not None and current.texts == texts:
            report.unchanged += 1
            continue
        reason = _conflict(engine, card_id, current, manifest.get(card_id))
        if reason is None:
            problems = problems_of(root, card_id, texts)
            if problems:
                reason = "checks failed: " + "; ".join(str(p) for p in problems)
        if reason is not None:
            report.refused.append((card_id, reason))
            audit.record(engine, who, "card.import_refused", f"{card_id}: {reason}")
            continue
        published = publish_change(
            engine, root, card_id, texts, who, "card.import", f"imported from {source.name or source}"
        )
        applied[card_id] = published.id
        report.applied.append(card_id)
    if applied:
        _write_manifest(source, {**manifest, **applied})
    return report
