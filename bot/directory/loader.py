"""Load the NGO-edited CSV files in data/directory/ into the directory database.

The whole load is one transaction: every file is read and checked first, and a bad row
stops the load with "file:line: reason" before the database is touched, so the bot keeps
answering from the previous data. A load compares each table with the files and reports
the rows added, changed and removed; loading the same files twice changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from bot.directory import db
from bot.directory.models import (
    CONFIDENCE_LEVELS,
    OFFICE_KINDS,
    PARTNER_KINDS,
    HostCountry,
    LoadState,
    Office,
    OfficePhone,
    Partner,
    PartnerArea,
    PartnerCoverage,
    PartnerService,
    confidence_rank,
)
from bot.vietnamese.countries import normalize_country
from bot.vietnamese.needs import NEEDS
from bot.vietnamese.provinces import CURRENT_PROVINCES, is_nationwide, normalize_province
from bot.vietnamese.text import fold

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "directory"
# Bumped when the meaning of the files changes, so that ensure_loaded reloads them.
FORMAT_VERSION = "2"
ALL_COUNTRIES_WORDS = {"all", "tất cả", "tat ca", "*"}
ALL_COUNTRIES = "*"
PHONE_COLUMNS = {
    "citizen_protection_phone": "citizen_protection",
    "general_phone": "general",
    "labour_phone": "labour",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,79}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]*( ?(ext\.?|máy lẻ) ?[0-9]+)?(\s*\([^()]*\))?$", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_WEBSITE = re.compile(r"^(https?://)?[a-z0-9-]+(\.[a-z0-9-]+)+(/\S*)?$", re.I)
_LANG = re.compile(r"^[a-z]{2,3}$")
# Words that mean a fact is not confirmed; such facts never go into the directory.
_UNCONFIRMED = re.compile(r"unconfirmed|chưa xác nhận|chưa xác minh|\?\?", re.I)
# A year in a source ("(2020)", "23/2/2020", "2026-03-05"): how old a LOW number is.
_DATED = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")
_CONTACT_COLUMNS = {*PHONE_COLUMNS, "phone", "email", "website", "address", "city"}

FILES = ("countries.csv", "offices.csv", "partners.csv")
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # file: (required columns, optional columns)
    "countries.csv": (("code", "name_vi", "name_en"), ("main_host", "sort_order")),
    "offices.csv": (
        ("id", "country", "kind", "name_vi", "name_en", "source", "last_checked", "confidence"),
        ("city", *PHONE_COLUMNS, "email", "address", "hours_vi", "hours_en", "note_vi", "note_en"),
    ),
    "partners.csv": (
        ("id", "kind", "name_vi", "name_en", "services", "source", "last_checked", "confidence"),
        (
            "provinces",
            "countries",
            "languages",
            "phone",
            "email",
            "website",
            "address",
            "hours_vi",
            "hours_en",
            "description_vi",
            "description_en",
        ),
    ),
}


class LoadError(Exception):
    """The data files have errors; each is "file:line: reason". Nothing was written."""

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass
class TableChanges:
    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        return self.added + self.changed + self.removed


@dataclass
class LoadReport:
    """What a load did, per table; `skipped` when the files had not changed since last load."""

    tables: dict[str, TableChanges] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)
    skipped: bool = False
    fingerprint: str = ""

    @property
    def total_changes(self) -> int:
        return sum(t.total for t in self.tables.values())

    def __str__(self) -> str:
        if self.skipped:
            return "unchanged since the last load"
        changed = [
            f"{name} +{c.added} ~{c.changed} -{c.removed}" for name, c in self.tables.items() if c.total
        ]
        return "loaded: " + (", ".join(changed) if changed else "no changes")

    def summary(self) -> str:
        if self.skipped:
            return "directory unchanged since the last load (nothing to do)"
        lines = [
            f"{name}: {c.added} added, {c.changed} changed, {c.removed} removed"
            for name, c in self.tables.items()
        ]
        lines.append(f"total changes: {self.total_changes}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading


@dataclass
class _Row:
    file: str
    line: int
    values: dict[str, str | None]

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _read_csv(path: Path, errors: list[str]) -> list[_Row]:
    """Rows of a CSV file with their line numbers; `,` `;` or tab separated (Excel in a
    Vietnamese locale saves with `;`), UTF-8 with or without the BOM Excel adds."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.append(f"{name}:1: not UTF-8 text ({exc.reason}); save it as 'CSV UTF-8'")
        return []
    return _read_csv_text(name, text, errors)


def _read_csv_text(name: str, text: str, errors: list[str]) -> list[_Row]:
    """The rows of one file's text (the console checks a proposed file before writing it)."""
    header_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        errors.append(f"{name}:1: the file is empty (it needs a header row)")
        return []
    required, optional = COLUMNS[name]
    unknown = [h for h in header if h and h not in required and h not in optional]
    missing = [h for h in required if h not in header]
    if unknown:
        errors.append(f"{name}:1: unknown column(s) {', '.join(unknown)}")
    if missing:
        errors.append(f"{name}:1: missing column(s) {', '.join(missing)}")
    if unknown or missing:
        return []
    rows = []
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells) or cells[0].strip().startswith("#"):
            continue  # blank rows and rows switched off with "#" are ignored
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            errors.append(f"{name}:{line}: more cells than columns (a stray '{delimiter}'?)")
            continue
        values = {
            h: (cells[i].strip() or None) if i < len(cells) else None for i, h in enumerate(header) if h
        }
        rows.append(_Row(name, line, values))
    return rows


def _split(value: str | None) -> list[str]:
    """A list cell: items separated by ";" (a "," is accepted when there is no ";")."""
    if not value:
        return []
    sep = ";" if ";" in value else ","
    return [item.strip() for item in value.split(sep) if item.strip()]


def _parse_date(row: _Row, column: str, errors: list[str]) -> dt.date | None:
    raw = row.values.get(column) or ""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            value = dt.datetime.strptime(raw, fmt).date()
            break
        except ValueError:
            continue
    else:
        errors.append(f"{row.where()}: {column} '{raw}' is not a date like 2026-11-24")
        return None
    if value > dt.date.today():
        errors.append(f"{row.where()}: {column} {value.isoformat()} is in the future")
        return None
    return value


def _common(row: _Row, errors: list[str], ids: dict[str, str]) -> dict[str, Any] | None:
    """Checks every entry shares: id, names, source, date, confidence, no unconfirmed facts."""
    v = row.values
    before = len(errors)
    for column, value in v.items():
        if value and _UNCONFIRMED.search(value) and column in _CONTACT_COLUMNS:
            errors.append(
                f"{row.where()}: {column} says '{value}'; unconfirmed facts are left out "
                "of the directory (leave the cell empty)"
            )
    ident = v.get("id") or ""
    if not _ID.match(ident):
        errors.append(f"{row.where()}: id '{ident}' must be lowercase letters, digits, - or _")
    elif ident in ids:
        errors.append(f"{row.where()}: id '{ident}' is used twice (first at {ids[ident]})")
    else:
        ids[ident] = row.where()
    for column in ("name_vi", "name_en", "source"):
        if not v.get(column):
            errors.append(f"{row.where()}: {column} is empty")
    confidence = (v.get("confidence") or "").lower()
    phones = _phones_in(row)
    if _UNCONFIRMED.search(confidence):
        errors.append(
            f"{row.where()}: confidence '{v.get('confidence')}': unconfirmed entries are never "
            "shown; leave the row out and list it under 'Gaps staff can fill' in README.md"
        )
    elif not confidence and phones:
        errors.append(
            f"{row.where()}: phone {phones[0]} has no confidence: write high, medium or low "
            "(see README.md) after checking it against the source"
        )
    elif confidence not in CONFIDENCE_LEVELS:
        errors.append(f"{row.where()}: confidence '{v.get('confidence')}' must be high, medium or low")
    if phones and not v.get("last_checked"):
        errors.append(
            f"{row.where()}: phone {phones[0]} has no last_checked date: write the day you "
            "checked it against the source, like 2026-11-30"
        )
        checked = None
    else:
        checked = _parse_date(row, "last_checked", errors)
    if confidence == "low" and phones and not _DATED.search(v.get("source") or ""):
        errors.append(
            f"{row.where()}: low-confidence phone {phones[0]}: say in source when the source "
            "was published (a year, e.g. 'vietnammoi.vn (23/2/2020)'), so the reply can show "
            "how old the number is"
        )
    email = v.get("email")
    if email and not _EMAIL.match(email):
        errors.append(f"{row.where()}: email '{email}' is not an e-mail address")
    if len(errors) > before:
        return None
    return {
        "id": ident,
        "name_vi": v["name_vi"],
        "name_en": v["name_en"],
        "email": email,
        "address": v.get("address"),
        "hours_vi": v.get("hours_vi"),
        "hours_en": v.get("hours_en"),
        "source": v["source"],
        "last_checked": checked,
        "confidence": confidence,
    }


def _phones_in(row: _Row) -> list[str]:
    """Every number in the row's phone columns (offices have three, partners one)."""
    return [n for column in (*PHONE_COLUMNS, "phone") for n in _split(row.values.get(column))]


def _check_phones(row: _Row, column: str, errors: list[str]) -> list[str]:
    numbers = _split(row.values.get(column))
    for number in numbers:
        if not _PHONE.match(number):
            errors.append(f"{row.where()}: {column} '{number}' does not look like a phone number")
    return numbers


def _country_code(text: str) -> str | None:
    text = text.strip()
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    return normalize_country(text)


def _province(text: str) -> str | None:
    if text in CURRENT_PROVINCES:
        return text
    return normalize_province(text)


@dataclass
class _Parsed:
    countries: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    offices: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    phones: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    partners: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    services: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    areas: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    coverage: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)
    # "file:line" of each office and partner, by id, for checks that compare rows.
    where: dict[tuple[str, str], str] = field(default_factory=dict)


def _parse_countries(rows: Iterable[_Row], out: _Parsed, errors: list[str]) -> None:
    seen: dict[str, str] = {}
    for row in rows:
        v = row.values
        code = (v.get("code") or "").upper()
        if not re.fullmatch(r"[A-Z]{2}", code):
            errors.append(f"{row.where()}: code '{v.get('code')}' must be a 2-letter ISO code like KR")
            continue
        if code in seen:
            errors.append(f"{row.where()}: country {code} is listed twice (first at {seen[code]})")
            continue
        seen[code] = row.where()
        if not v.get("name_vi") or not v.get("name_en"):
            errors.append(f"{row.where()}: name_vi and name_en are both needed")
            continue
        main = (v.get("main_host") or "no").lower()
        if main not in ("yes", "no", "có", "không", "true", "false", "1", "0"):
            errors.append(f"{row.where()}: main_host '{main}' must be yes or no")
            continue
        try:
            order = int(v.get("sort_order") or 0)
        except ValueError:
            errors.append(f"{row.where()}: sort_order '{v.get('sort_order')}' must be a whole number")
            continue
        out.countries[(code,)] = {
            "code": code,
            "name_vi": v["name_vi"],
            "name_en": v["name_en"],
            "main_host": main in ("yes", "có", "true", "1"),
            "sort_order": order,
        }


def _parse_offices(rows: Iterable[_Row], out: _Parsed, errors: list[str]) -> None:
    ids: dict[str, str] = {}
    for row in rows:
        before = len(errors)
        record = _common(row, errors, ids)
        v = row.values
        kind = (v.get("kind") or "").lower()
        if kind not in OFFICE_KINDS:
            errors.append(f"{row.where()}: kind '{v.get('kind')}' must be one of {', '.join(OFFICE_KINDS)}")
        code = _country_code(v.get("country") or "")
        if not code or (code,) not in out.countries:
            errors.append(f"{row.where()}: country '{v.get('country')}' is not in countries.csv")
        phones = [
            (purpose, n)
            for column, purpose in PHONE_COLUMNS.items()
            for n in _check_phones(row, column, errors)
        ]
        if not phones and not v.get("email") and not v.get("address"):
            errors.append(f"{row.where()}: give at least one phone, e-mail or address")
        if record is None or len(errors) > before:
            continue
        record.update(
            kind=kind,
            country_code=code,
            city=v.get("city"),
            note_vi=v.get("note_vi"),
            note_en=v.get("note_en"),
        )
        out.offices[(record["id"],)] = record
        out.where[("office", record["id"])] = row.where()
        for position, (purpose, number) in enumerate(phones):
            out.phones[(record["id"], purpose, number)] = {
                "office_id": record["id"],
                "purpose": purpose,
                "number": number,
                "position": position,
            }


def _parse_partners(rows: Iterable[_Row], out: _Parsed, errors: list[str]) -> None:
    ids: dict[str, str] = {}
    for row in rows:
        before = len(errors)
        record = _common(row, errors, ids)
        v = row.values
        kind = (v.get("kind") or "").lower()
        if kind not in PARTNER_KINDS:
            errors.append(f"{row.where()}: kind '{v.get('kind')}' must be one of {', '.join(PARTNER_KINDS)}")
        services = [s.lower() for s in _split(v.get("services"))]
        if not services:
            errors.append(f"{row.where()}: services is empty (one or more of {', '.join(NEEDS)})")
        for service in services:
            if service not in NEEDS:
                errors.append(f"{row.where()}: service '{service}' is not one of {', '.join(NEEDS)}")
        areas: list[tuple[str, str]] = []
        places_named = bool(_split(v.get("provinces")) or _split(v.get("countries")))
        for item in _split(v.get("provinces")):
            if is_nationwide(item):
                areas.append(("nationwide", ""))
                continue
            province = _province(item)
            if province is None:
                errors.append(f"{row.where()}: province '{item}' is not a province of Viet Nam")
            else:
                areas.append(("province", province))
        for item in _split(v.get("countries")):
            if item.lower() in ALL_COUNTRIES_WORDS:
                areas.append(("country", ALL_COUNTRIES))
                continue
            code = _country_code(item)
            if not code or (code,) not in out.countries:
                errors.append(f"{row.where()}: country '{item}' is not in countries.csv")
            else:
                areas.append(("country", code))
        if not places_named:
            errors.append(f"{row.where()}: say where it serves: provinces (or 'nationwide') or countries")
        languages = [lang.lower() for lang in _split(v.get("languages"))]
        for lang in languages:
            if not _LANG.match(lang):
                errors.append(f"{row.where()}: language '{lang}' must be a code like vi, en, ko")
        phones = _check_phones(row, "phone", errors)
        website = v.get("website")
        if website and not _WEBSITE.match(website):
            errors.append(f"{row.where()}: website '{website}' is not a web address")
        if (
            not phones
            and not website
            and not v.get("email")
            and not v.get("address")
            and not v.get("description_vi")
        ):
            errors.append(f"{row.where()}: give a phone, e-mail, website, address or description")
        if record is None or len(errors) > before:
            continue
        record.update(
            kind=kind,
            description_vi=v.get("description_vi"),
            description_en=v.get("description_en"),
            phone="; ".join(phones) or None,
            website=website,
            languages=";".join(languages) or None,
            synthetic=False,
        )
        out.partners[(record["id"],)] = record
        out.where[("partner", record["id"])] = row.where()
        for service in dict.fromkeys(services):
            out.services[(record["id"], service)] = {"partner_id": record["id"], "service": service}
        for scope, value in dict.fromkeys(areas):
            out.areas[(record["id"], scope, value)] = {
                "partner_id": record["id"],
                "scope": scope,
                "value": value,
            }
            for service in dict.fromkeys(services):
                out.coverage[(service, scope, value, record["id"])] = {
                    "service": service,
                    "scope": scope,
                    "value": value,
                    "partner_id": record["id"],
                }


def _low_number_errors(out: _Parsed) -> list[str]:
    """A LOW number is shown only when nothing better serves that need in that place.

    The need is an office phone's purpose (citizen protection, general, labour) or a
    partner's service; the place is the office's country and city, or the partner's
    province, host country or "nationwide". Every LOW row with a number that has a
    MEDIUM or HIGH row with a number for the same need and place is reported at its line.
    """
    serving: dict[tuple, list[tuple[str, str]]] = {}  # (need, place) -> [(kind, id)]
    for office_id, purpose, _number in out.phones:
        office = out.offices[(office_id,)]
        key = (purpose, "office", office["country_code"], fold_city(office.get("city")))
        serving.setdefault(key, []).append(("office", office_id))
    for service, scope, value, partner_id in out.coverage:
        if out.partners[(partner_id,)].get("phone"):
            serving.setdefault((service, scope, value), []).append(("partner", partner_id))
    errors: list[str] = []
    reported: set[tuple[str, str]] = set()
    for key, rows in serving.items():
        records = {
            row: (out.offices if row[0] == "office" else out.partners)[(row[1],)]
            for row in dict.fromkeys(rows)
        }
        better = [row for row, rec in records.items() if rec["confidence"] != "low"]
        if not better:
            continue
        for row, rec in records.items():
            if rec["confidence"] != "low" or row in reported:
                continue
            reported.add(row)
            best = min(better, key=lambda r: (confidence_rank(records[r]["confidence"]), r[1]))
            errors.append(
                f"{out.where[row]}: low-confidence number of '{row[1]}' for {_describe(key)}: "
                f"'{best[1]}' ({records[best]['confidence']}, {out.where[best]}) serves the same "
                "need there, so this number would not be shown; remove it, or raise the "
                "confidence after checking it against a current source"
            )
    return sorted(errors, key=_line_order)


def fold_city(city: str | None) -> str:
    """A city as a comparison key: "Hồ Chí Minh", "ho chi minh" and "" (country-wide)."""
    return re.sub(r"[^a-z0-9]", "", fold(city or ""))


def _describe(key: tuple) -> str:
    if key[1] == "office":
        purpose, _office, country, city = key
        return f"{purpose} in {country}" + (f" ({city})" if city else " (country-wide)")
    service, scope, value = key
    if scope == "nationwide":
        return f"{service} nationwide"
    return f"{service} in {'every host country' if value == ALL_COUNTRIES else value}"


def _line_order(error: str) -> tuple[str, int]:
    name, _sep, rest = error.partition(":")
    line = rest.split(":", 1)[0]
    return (name, int(line) if line.isdigit() else 0)


_PARSERS = {
    "countries.csv": _parse_countries,
    "offices.csv": _parse_offices,
    "partners.csv": _parse_partners,
}


def read_directory(data_dir: Path | str = DEFAULT_DATA_DIR) -> _Parsed:
    """Read and check every file; raises LoadError listing every bad row."""
    data_dir = Path(data_dir)
    errors: list[str] = []
    out = _Parsed()
    for name in FILES:
        path = data_dir / name
        if not path.exists():
            errors.append(f"{name}:1: file missing from {data_dir}")
            continue
        rows = _read_csv(path, errors)
        out.rows_read[name] = len(rows)
        _PARSERS[name](rows, out, errors)
    return _finish(out, errors)


def check_texts(texts: dict[str, str]) -> _Parsed:
    """The same checks over the files' texts (name -> text), without touching the disk:
    how the staff console validates a proposed row with the loader's own words."""
    errors: list[str] = []
    out = _Parsed()
    for name in FILES:
        rows = _read_csv_text(name, texts[name], errors)
        out.rows_read[name] = len(rows)
        _PARSERS[name](rows, out, errors)
    return _finish(out, errors)


def _finish(out: _Parsed, errors: list[str]) -> _Parsed:
    if not errors:
        errors += _low_number_errors(out)
    if errors:
        raise LoadError(errors)
    return out


def fingerprint(data_dir: Path | str = DEFAULT_DATA_DIR) -> str:
    """A hash of the data files' contents (and the file format version)."""
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    for name in FILES:
        path = Path(data_dir) / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()


# --------------------------------------------------------------------------- writing

# Parents before children for inserts; the reverse for deletes.
_TABLES: tuple[tuple[str, Table, tuple[str, ...], str], ...] = (
    ("host_countries", HostCountry.__table__, ("code",), "countries"),
    ("offices", Office.__table__, ("id",), "offices"),
    ("office_phones", OfficePhone.__table__, ("office_id", "purpose", "number"), "phones"),
    ("partners", Partner.__table__, ("id",), "partners"),
    ("partner_services", PartnerService.__table__, ("partner_id", "service"), "services"),
    ("partner_areas", PartnerArea.__table__, ("partner_id", "scope", "value"), "areas"),
    ("partner_coverage", PartnerCoverage.__table__, ("service", "scope", "value", "partner_id"), "coverage"),
)


def _key_clause(table: Table, keys: tuple[str, ...], values: tuple) -> Any:
    return and_(*(table.c[k] == v for k, v in zip(keys, values, strict=True)))


def _apply(conn: Connection, parsed: _Parsed, report: LoadReport) -> None:
    plans = []
    for label, table, keys, attr in _TABLES:
        wanted: dict[tuple, dict[str, Any]] = getattr(parsed, attr)
        existing = {tuple(row[k] for k in keys): dict(row) for row in conn.execute(select(table)).mappings()}
        added = [k for k in wanted if k not in existing]
        removed = [k for k in existing if k not in wanted]
        changed = [
            k
            for k in wanted
            if k in existing and any(existing[k].get(col) != val for col, val in wanted[k].items())
        ]
        report.tables[label] = TableChanges(len(added), len(changed), len(removed))
        plans.append((table, keys, wanted, added, changed, removed))
    for table, keys, _wanted, _added, _changed, removed in reversed(plans):
        for key in removed:
            conn.execute(delete(table).where(_key_clause(table, keys, key)))
    for table, keys, wanted, added, changed, _removed in plans:
        if added:
            conn.execute(insert(table), [wanted[k] for k in added])
        for key in changed:
            conn.execute(update(table).where(_key_clause(table, keys, key)).values(**wanted[key]))


def _save_fingerprint(conn: Connection, value: str) -> None:
    table = LoadState.__table__
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    conn.execute(delete(table).where(table.c.key == "fingerprint"))
    conn.execute(insert(table).values(key="fingerprint", value=value, loaded_at=now))


def load_directory(
    database_url: str | None = None,
    data_dir: Path | str = DEFAULT_DATA_DIR,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Load the files into the database in one transaction and report the changes."""
    say = progress or (lambda _msg: None)
    data_dir = Path(data_dir)
    fp = fingerprint(data_dir)
    parsed = read_directory(data_dir)
    for name, count in parsed.rows_read.items():
        say(f"read {name}: {count} rows")
    engine = db.create_tables(database_url)
    report = LoadReport(rows_read=dict(parsed.rows_read), fingerprint=fp)
    with engine.begin() as conn:
        _apply(conn, parsed, report)
        _save_fingerprint(conn, fp)
    say(report.summary())
    return report


def loaded_fingerprint(database_url: str | None = None) -> str | None:
    table = LoadState.__table__
    with db.get_engine(database_url).connect() as conn:
        return conn.execute(select(table.c.value).where(table.c.key == "fingerprint")).scalar()


def ensure_loaded(
    database_url: str | None = None,
    data_dir: Path | str = DEFAULT_DATA_DIR,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Create the tables and load the files if they changed since the last load.

    Cheap when nothing changed (one hash of the files and one indexed read). Raises
    LoadError when the files have errors; the database then keeps its previous data.
    """
    db.create_tables(database_url)
    fp = fingerprint(data_dir)
    if loaded_fingerprint(database_url) == fp:
        return LoadReport(skipped=True, fingerprint=fp)
    return load_directory(database_url, data_dir, progress)
