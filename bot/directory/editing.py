"""Changing the directory from the staff console: drafts, review, publishing, verification.

Why: the people who know the contacts (caseworkers) are not programmers, and people call
the numbers the bot gives. So a change goes draft -> a reviewer other than the author
approves -> published, and is checked by the CSV loader's own rules (`loader.check_texts`
over the files as they would be), so a form shows exactly the words `python -m bot
directory load` would print. Publishing writes the CSV row in place (the other rows, their
quoting and line endings untouched) through a temporary file and an atomic rename, then
reloads the directory into SQL, so the assistant answers from it at once and
`data/directory/` stays what the bot reads and what git shows.

Retiring a row switches it off the way the README tells people editing the file by hand:
a `#` in front of its id. "Verified on DATE from SOURCE" updates `last_checked`, `source`
(and `confidence` if given) of one row at once: a reviewer's own check, logged by the
console, and checked by the loader like any edit.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import directory_drafts, ensure_schema
from bot.directory import loader
from bot.directory.loader import FILES, LoadError, LoadReport, check_texts, load_directory
from bot.directory.queries import ConsularResult, CountryInfo, OfficeInfo, PartnerInfo, PartnerPage, Phone

TABLES = {"offices": "offices.csv", "partners": "partners.csv"}
ACTIONS = ("add", "edit", "retire")
PENDING, PUBLISHED, REJECTED = "pending", "published", "rejected"

# Refusals (English msgids, translated by the console's `staff` catalog).
NO_SUCH_ROW = "There is no such entry."
ROW_EXISTS = "An entry with this id exists already."
OWN_DRAFT = "You wrote this change: another reviewer must approve it."
NOT_PENDING = "This change is no longer waiting for review."
CHANGED_SINCE = "The entry changed after this draft was written: write the change again."
BAD_DATE = "Give the date of the check, like 2026-11-30."
NO_SOURCE = "Say where you checked it (the source)."

_WRITE_LOCK = threading.Lock()


class EditError(Exception):
    """A change was refused; `errors` are the loader's messages or a refusal above."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


# --- the files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    """One CSV record and where it sits in the file's lines (0-based, end exclusive)."""

    cells: dict[str, str]
    start: int
    end: int

    @property
    def id(self) -> str:
        return self.cells.get("id", "")


@dataclass(frozen=True)
class CsvFile:
    text: str
    header: list[str]
    delimiter: str
    records: list[_Record]

    def rows(self) -> dict[str, dict[str, str]]:
        """Live rows (not switched off with "#") by id, in file order."""
        return {r.id: r.cells for r in self.records if r.id and not r.id.startswith("#")}


def read_file(data_dir: Path, table: str) -> CsvFile:
    text = (Path(data_dir) / TABLES[table]).read_text(encoding="utf-8-sig")
    header_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    records = []
    start = reader.line_num
    for cells in reader:
        end = reader.line_num
        values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}
        if any(values.values()):
            records.append(_Record(values, start, end))
        start = end
    return CsvFile(text, header, delimiter, records)


def columns(data_dir: Path, table: str) -> list[str]:
    """The table's columns in the file's order (the form's fields)."""
    return read_file(data_dir, table).header


def _format_row(file: CsvFile, cells: dict[str, str]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=file.delimiter, lineterminator="").writerow(
        [(cells.get(column) or "").strip() for column in file.header]
    )
    return out.getvalue()


def _replaced(file: CsvFile, row_id: str, cells: dict[str, str] | None, add: bool) -> tuple[str, int]:
    """The file's text with the row replaced (or added at the end); and the row's line (1-based)."""
    newline = "\r\n" if "\r\n" in file.text else "\n"
    lines = file.text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    row = _format_row(file, cells or {}) + newline
    if add:
        return "".join(lines) + row, len(lines) + 1
    record = next(r for r in file.records if r.id == row_id)
    return "".join(lines[: record.start] + [row] + lines[record.end :]), record.start + 1


def _texts(data_dir: Path) -> dict[str, str]:
    return {name: (Path(data_dir) / name).read_text(encoding="utf-8-sig") for name in FILES}


@dataclass(frozen=True)
class Proposal:
    """A row as the files would hold it, checked by the loader."""

    table: str
    row_id: str
    texts: dict[str, str]
    line: int
    parsed: Any  # loader._Parsed


def _location(table: str, line: int) -> str:
    return f"{TABLES[table]}:{line}: "


def propose_texts(data_dir: Path, table: str, action: str, row_id: str, cells: dict[str, str]) -> Proposal:
    """Check a change with the loader; raises EditError with the loader's messages (a
    message about the edited row loses its "file:line: " prefix, the words stay)."""
    if table not in TABLES or action not in ACTIONS:
        raise EditError([NO_SUCH_ROW])
    file = read_file(data_dir, table)
    exists = row_id in file.rows()
    if action == "add" and exists:
        raise EditError([ROW_EXISTS])
    if action != "add" and not exists:
        raise EditError([NO_SUCH_ROW])
    if action == "retire":
        cells = {**file.rows()[row_id], "id": "#" + row_id}
    text, line = _replaced(file, row_id, cells, add=action == "add")
    texts = _texts(data_dir)
    texts[TABLES[table]] = text
    try:
        parsed = check_texts(texts)
    except LoadError as error:
        prefix = _location(table, line)
        raise EditError([e[len(prefix) :] if e.startswith(prefix) else e for e in error.errors]) from None
    return Proposal(table, row_id, texts, line, parsed)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _publish_texts(data_dir: Path, database_url: str, proposal: Proposal) -> LoadReport:
    name = TABLES[proposal.table]
    _write_atomically(Path(data_dir) / name, proposal.texts[name])
    return load_directory(database_url, data_dir)


# --- previews -------------------------------------------------------------------------------------


def _date(value: Any) -> _dt.date:
    return value if isinstance(value, _dt.date) else _dt.date.today()


def preview(proposal: Proposal, lang: str) -> str:
    """The reply a user asking for this place would get (the chat's own rendering)."""
    from bot.directory.render import consular_reply, partners_reply

    parsed = proposal.parsed
    row_id = proposal.row_id
    if proposal.table == "offices":
        office = parsed.offices.get((row_id,))
        if office is None:
            return ""
        phones = tuple(
            Phone(p["purpose"], p["number"])
            for key, p in sorted(parsed.phones.items(), key=lambda item: item[1]["position"])
            if key[0] == row_id
        )
        office_info = OfficeInfo(
            **{k: office.get(k) for k in ("id", "country_code", "kind", "city", "name_vi", "name_en")},
            phones=phones,
            **{k: office.get(k) for k in ("email", "address", "hours_vi", "hours_en", "note_vi", "note_en")},
            source=office["source"],
            last_checked=_date(office["last_checked"]),
            confidence=office["confidence"],
        )
        country = parsed.countries.get((office["country_code"],))
        result = ConsularResult(office["country_code"], None, (office_info,), True)
        return consular_reply(result, _country(country), lang).text
    partner = parsed.partners.get((row_id,))
    if partner is None:
        return ""
    services = [s for (pid, s) in parsed.services if pid == row_id]
    areas = [(scope, value) for (pid, scope, value) in parsed.areas if pid == row_id]
    scope, value = areas[0] if areas else ("nationwide", "")
    info = PartnerInfo(
        **{
            k: partner.get(k)
            for k in (
                "id",
                "kind",
                "name_vi",
                "name_en",
                "description_vi",
                "description_en",
                "phone",
                "email",
                "website",
                "address",
                "hours_vi",
                "hours_en",
            )
        },
        languages=tuple((partner.get("languages") or "").split(";")) if partner.get("languages") else (),
        source=partner["source"],
        last_checked=_date(partner["last_checked"]),
        confidence=partner["confidence"],
        match="nationwide" if scope == "nationwide" else scope,
    )
    page = PartnerPage(
        need=services[0] if services else "",
        province=value if scope == "province" else None,
        country=value if scope == "country" and value != loader.ALL_COUNTRIES else None,
        page=1,
        per_page=3,
        items=(info,),
        has_more=False,
    )
    country = parsed.countries.get((page.country,)) if page.country else None
    return partners_reply(page, _country(country), lang).text


def _country(record: dict[str, Any] | None) -> CountryInfo | None:
    if not record:
        return None
    return CountryInfo(record["code"], record["name_vi"], record["name_en"])


def current(data_dir: Path, table: str, row_id: str) -> Proposal:
    """The row as the files hold it now (for its page and preview)."""
    file = read_file(data_dir, table)
    if row_id not in file.rows():
        raise EditError([NO_SUCH_ROW])
    return propose_texts(data_dir, table, "edit", row_id, file.rows()[row_id])


# --- drafts and review -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    id: int
    table: str
    row_id: str
    action: str
    cells: dict[str, str]
    base: dict[str, str] | None
    author: str
    created_at: _dt.datetime
    status: str
    reviewer: str | None
    decided_at: _dt.datetime | None
    note: str | None

    def changes(self) -> list[tuple[str, str, str]]:
        """(column, before, after) of every cell the draft changes."""
        before = self.base or {}
        after = self.cells if self.action != "retire" else {}
        return [
            (c, before.get(c, ""), after.get(c, ""))
            for c in dict.fromkeys([*before, *after])
            if before.get(c, "") != after.get(c, "")
        ]


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _draft(row: Any) -> Draft:
    return Draft(
        id=int(row.id),
        table=row.table_name,
        row_id=row.row_id,
        action=row.action,
        cells=json.loads(row.cells),
        base=json.loads(row.base) if row.base else None,
        author=row.author,
        created_at=row.created_at,
        status=row.status,
        reviewer=row.reviewer,
        decided_at=row.decided_at,
        note=row.note,
    )


def clean_cells(data_dir: Path, table: str, form: dict[str, str]) -> dict[str, str]:
    """The form's values for the table's columns (unknown fields dropped, cells trimmed)."""
    return {c: (form.get(c) or "").strip()[:2000] for c in columns(data_dir, table)}


def propose(
    engine: Engine, data_dir: Path, table: str, action: str, row_id: str, cells: dict[str, str], author: str
) -> tuple[Draft, Proposal]:
    """Check a change and keep it as a draft for review; raises EditError."""
    ensure_schema(engine)
    if action == "add":
        row_id = (cells.get("id") or "").strip()
    elif action == "edit":
        cells = {**cells, "id": row_id}  # the id of an entry is fixed: retire it and add a new one
    proposal = propose_texts(data_dir, table, action, row_id, cells)
    base = read_file(data_dir, table).rows().get(row_id)
    with engine.begin() as conn:
        draft_id = conn.execute(
            sa.insert(directory_drafts).values(
                table_name=table,
                row_id=row_id,
                action=action,
                cells=json.dumps(cells if action != "retire" else base, ensure_ascii=False),
                base=json.dumps(base, ensure_ascii=False) if base is not None else None,
                author=author,
                created_at=_now(),
                status=PENDING,
            )
        ).inserted_primary_key[0]
    draft = get(engine, int(draft_id))
    assert draft is not None
    return draft, proposal


def get(engine: Engine, draft_id: int) -> Draft | None:
    ensure_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.select(directory_drafts).where(directory_drafts.c.id == draft_id)).first()
    return _draft(row) if row else None


def drafts(engine: Engine, status: str | None = PENDING, row_id: str | None = None) -> list[Draft]:
    ensure_schema(engine)
    query = sa.select(directory_drafts).order_by(directory_drafts.c.id.desc())
    if status:
        query = query.where(directory_drafts.c.status == status)
    if row_id:
        query = query.where(directory_drafts.c.row_id == row_id)
    with engine.connect() as conn:
        return [_draft(r) for r in conn.execute(query.limit(200))]


def draft_proposal(data_dir: Path, draft: Draft) -> Proposal:
    """The draft applied to the files as they are now, checked again (EditError if it no
    longer fits: the row changed since, or the loader refuses it now)."""
    if draft.action != "add":
        now = read_file(data_dir, draft.table).rows().get(draft.row_id)
        if now != draft.base:
            raise EditError([CHANGED_SINCE])
    return propose_texts(data_dir, draft.table, draft.action, draft.row_id, draft.cells)


def _decide(engine: Engine, draft: Draft, status: str, reviewer: str, note: str | None) -> bool:
    with engine.begin() as conn:
        return bool(
            conn.execute(
                sa.update(directory_drafts)
                .where(directory_drafts.c.id == draft.id, directory_drafts.c.status == PENDING)
                .values(status=status, reviewer=reviewer, decided_at=_now(), note=note)
            ).rowcount
        )


def publish(engine: Engine, data_dir: Path, database_url: str, draft_id: int, reviewer: str) -> LoadReport:
    """Approve a draft: write its row and reload the directory. Raises EditError when the
    reviewer is its author, it is not pending, or it no longer passes the checks."""
    draft = get(engine, draft_id)
    if draft is None:
        raise EditError([NO_SUCH_ROW])
    if draft.status != PENDING:
        raise EditError([NOT_PENDING])
    if draft.author == reviewer:
        raise EditError([OWN_DRAFT])
    with _WRITE_LOCK:
        proposal = draft_proposal(data_dir, draft)
        if not _decide(engine, draft, PUBLISHED, reviewer, None):
            raise EditError([NOT_PENDING])
        return _publish_texts(data_dir, database_url, proposal)


def reject(engine: Engine, draft_id: int, reviewer: str, note: str = "") -> None:
    draft = get(engine, draft_id)
    if draft is None:
        raise EditError([NO_SUCH_ROW])
    if not _decide(engine, draft, REJECTED, reviewer, note.strip()[:500] or None):
        raise EditError([NOT_PENDING])


def verify(
    data_dir: Path,
    database_url: str,
    table: str,
    row_id: str,
    checked_on: str,
    source: str,
    confidence: str | None = None,
) -> tuple[dict[str, str], LoadReport]:
    """ "Verified on DATE from SOURCE": update that row's last_checked, source (and
    confidence if given) at once; returns the row as it was and the load report."""
    try:
        day = _dt.date.fromisoformat((checked_on or "").strip())
    except ValueError:
        raise EditError([BAD_DATE]) from None
    if not (source or "").strip():
        raise EditError([NO_SOURCE])
    with _WRITE_LOCK:
        file = read_file(data_dir, table) if table in TABLES else None
        before = file.rows().get(row_id) if file else None
        if before is None:
            raise EditError([NO_SUCH_ROW])
        cells = {**before, "last_checked": day.isoformat(), "source": source.strip()[:2000]}
        if confidence:
            cells["confidence"] = confidence.strip().lower()
        proposal = propose_texts(data_dir, table, "edit", row_id, cells)
        return before, _publish_texts(data_dir, database_url, proposal)


def export(data_dir: Path, table: str) -> str:
    """The table as CSV, exactly as the file holds it (UTF-8)."""
    if table not in TABLES:
        raise EditError([NO_SUCH_ROW])
    return read_file(data_dir, table).text
