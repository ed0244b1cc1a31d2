"""The directory loader: good files, bad rows, reloads, and the seed data's own checks."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.directory import db, loader
from bot.directory.loader import DEFAULT_DATA_DIR, LoadError, ensure_loaded, load_directory
from bot.directory.models import Office, OfficePhone, Partner, PartnerArea
from bot.vietnamese.provinces import CURRENT_PROVINCES

# The research notes sit in shared/ next to the checkout (/work/main) or two levels up from a
# worktree (/work/wt/<branch>): the first parent that has them.
CONTENT_MD = next(
    (
        p / "shared" / "reference" / "content.md"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "reference" / "content.md").exists()
    ),
    Path("shared/reference/content.md"),
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _line_of(path: Path, row_id: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(row_id + ","):
            return number
    raise AssertionError(f"{row_id} not in {path}")


def _count(url: str, model) -> int:
    with db.session_scope(url) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _partner(url: str, partner_id: str) -> Partner:
    with db.session_scope(url) as session:
        return session.get(Partner, partner_id)


def test_seed_files_load_and_keep_confidence(db_url: str) -> None:
    report = load_directory(db_url, DEFAULT_DATA_DIR)

    assert report.tables["offices"].added == _count(db_url, Office) >= 7
    assert report.tables["partners"].added == _count(db_url, Partner) >= 20
    assert report.tables["office_phones"].added == _count(db_url, OfficePhone)
    # LOW entries are stored (and shown with the confirm wording), never upgraded.
    assert _partner(db_url, "peace-house").confidence == "low"
    assert _partner(db_url, "mofa-citizen-protection").confidence == "high"
    with db.session_scope(db_url) as session:
        korea = session.get(Office, "kr-labour-board")
        assert korea.confidence == "low"
        assert [p.number for p in korea.phones] == ["+82 10-3248-6886"]


def test_reload_unchanged_changes_nothing(db_url: str) -> None:
    load_directory(db_url, DEFAULT_DATA_DIR)
    again = load_directory(db_url, DEFAULT_DATA_DIR)
    assert again.total_changes == 0
    assert all(t.total == 0 for t in again.tables.values())


def test_reload_changed_reports_added_changed_removed(db_url: str, data_dir: Path) -> None:
    load_directory(db_url, data_dir)
    path = data_dir / "partners.csv"
    rows = _rows(path)
    by_id = {r["id"]: r for r in rows}
    by_id["vbsp"]["description_en"] = "Changed text."
    rows = [r for r in rows if r["id"] != "cdi"]
    rows.append(
        {
            **by_id["colab"],
            "id": "colab-copy",
            "services": "job_placement; training",
            "provinces": "Quảng Bình",
        }
    )
    _write(path, rows)

    report = load_directory(db_url, data_dir)

    assert (
        report.tables["partners"].added,
        report.tables["partners"].changed,
        report.tables["partners"].removed,
    ) == (1, 1, 1)
    assert report.tables["partner_services"].added == 2
    assert report.tables["partner_services"].removed == 3  # cdi: legal_aid, counselling, complaints
    assert report.tables["offices"].total == 0
    assert _partner(db_url, "cdi") is None
    assert _partner(db_url, "vbsp").description_en == "Changed text."
    with db.session_scope(db_url) as session:
        area = session.execute(
            select(PartnerArea.value).where(PartnerArea.partner_id == "colab-copy")
        ).scalar_one()
    assert area == "Quảng Trị"  # Quảng Bình merged into Quảng Trị in 2025


def test_bad_row_fails_with_file_line_and_database_keeps_previous_state(db_url: str, data_dir: Path) -> None:
    load_directory(db_url, data_dir)
    before = _count(db_url, Partner)
    path = data_dir / "partners.csv"
    rows = _rows(path)
    for row in rows:
        if row["id"] == "vbsp":
            row["description_en"] = "This edit must not be saved."
        if row["id"] == "pacific-links":
            row["provinces"] = "Lào Cai; Atlantis"
    _write(path, rows)
    line = _line_of(path, "pacific-links")

    with pytest.raises(LoadError) as raised:
        load_directory(db_url, data_dir)

    assert f"partners.csv:{line}: province 'Atlantis' is not a province of Viet Nam" in str(raised.value)
    assert _count(db_url, Partner) == before
    assert _partner(db_url, "vbsp").description_en != "This edit must not be saved."


def test_failure_while_writing_rolls_everything_back(
    db_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_directory(db_url, data_dir)
    path = data_dir / "partners.csv"
    rows = [r for r in _rows(path) if r["id"] != "cdi"]
    _write(path, rows)

    def explode(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_save_fingerprint", explode)
    with pytest.raises(RuntimeError):
        load_directory(db_url, data_dir)
    assert _partner(db_url, "cdi") is not None


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("phone", "UNCONFIRMED", "unconfirmed facts are left out"),
        ("services", "legal_aid; magic", "service 'magic' is not one of"),
        ("confidence", "sure", "confidence 'sure' must be high, medium or low"),
        ("last_checked", "next week", "is not a date"),
        ("source", "", "source is empty"),
        ("countries", "Narnia", "country 'Narnia' is not in countries.csv"),
    ],
)
def test_each_kind_of_bad_cell_is_reported_with_its_line(
    data_dir: Path, column: str, value: str, reason: str
) -> None:
    path = data_dir / "partners.csv"
    rows = _rows(path)
    target = next(r for r in rows if r["id"] == "tw-1955")
    target[column] = value
    _write(path, rows)
    with pytest.raises(LoadError) as raised:
        loader.read_directory(data_dir)
    line = _line_of(path, "tw-1955")
    assert any(e.startswith(f"partners.csv:{line}: ") and reason in e for e in raised.value.errors), (
        raised.value.errors
    )


def test_duplicate_id_and_unknown_column_are_errors(data_dir: Path) -> None:
    path = data_dir / "offices.csv"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    lines.append(lines[1])  # the first office again
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LoadError) as raised:
        loader.read_directory(data_dir)
    assert (
        f"offices.csv:{len(lines)}: id 'kr-embassy' is used twice (first at offices.csv:2)"
        in raised.value.errors
    )

    path.write_text(text.replace("last_checked", "last_chekced", 1), encoding="utf-8")
    with pytest.raises(LoadError) as raised:
        loader.read_directory(data_dir)
    assert "offices.csv:1: unknown column(s) last_chekced" in raised.value.errors


def test_excel_semicolon_file_with_bom_loads(db_url: str, data_dir: Path) -> None:
    """Excel in a Vietnamese locale saves `;`-separated CSV with a byte-order mark."""
    path = data_dir / "countries.csv"
    rows = _rows(path)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    report = load_directory(db_url, data_dir)
    assert report.tables["host_countries"].added == len(rows)


def test_rows_switched_off_with_hash_are_ignored(data_dir: Path) -> None:
    path = data_dir / "partners.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("\ncdi,", "\n#cdi,"), encoding="utf-8")
    parsed = loader.read_directory(data_dir)
    assert ("cdi",) not in parsed.partners
    assert ("vbsp",) in parsed.partners


def test_every_province_in_the_data_normalises_to_a_current_unit() -> None:
    parsed = loader.read_directory(DEFAULT_DATA_DIR)
    provinces = {v["value"] for v in parsed.areas.values() if v["scope"] == "province"}
    assert provinces, "the seed data names no province"
    assert provinces <= set(CURRENT_PROVINCES)
    # Former names in the files are stored as the unit they belong to now.
    assert {"Lào Cai", "Huế"} <= provinces
    assert "Yên Bái" not in provinces and "Thừa Thiên Huế" not in provinces
    for row in _rows(DEFAULT_DATA_DIR / "partners.csv"):
        for item in filter(None, (p.strip() for p in row["provinces"].split(";"))):
            if item.lower() != "nationwide":
                assert loader._province(item) in CURRENT_PROVINCES, (row["id"], item)


def test_ensure_loaded_loads_once_then_only_when_files_change(db_url: str, data_dir: Path) -> None:
    first = ensure_loaded(db_url, data_dir)
    assert not first.skipped and first.total_changes > 0
    second = ensure_loaded(db_url, data_dir)
    assert second.skipped and second.total_changes == 0
    path = data_dir / "partners.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("\ncdi,", "\n#cdi,"), encoding="utf-8")
    third = ensure_loaded(db_url, data_dir)
    assert not third.skipped and third.tables["partners"].removed == 1


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.skipif(not CONTENT_MD.exists(), reason=f"{CONTENT_MD} not present")
def test_every_phone_number_comes_from_the_notes_or_a_dated_source() -> None:
    """No invented numbers: each number in the data appears in content.md, or its row cites
    a source with its publication date (a page found later, e.g. a 2026 MOFA notice)."""
    known = {_digits(m) for m in re.findall(r"\+?\d[\d \-]{1,}\d", CONTENT_MD.read_text(encoding="utf-8"))}
    parsed = loader.read_directory(DEFAULT_DATA_DIR)
    numbers = [
        (p["number"], parsed.offices[(office_id,)]["source"])
        for (office_id, _, _), p in parsed.phones.items()
    ]
    numbers += [
        (n, p["source"]) for p in parsed.partners.values() for n in (p["phone"] or "").split("; ") if n
    ]
    assert numbers
    undated = []
    for number, source in numbers:
        main = re.split(r"\s*(?:ext\.|\()", number)[0]
        if _digits(main) not in known and not loader._DATED.search(source or ""):
            undated.append(number)
    assert undated == []


def test_line_numbers_stay_right_after_a_cell_with_line_breaks(data_dir: Path) -> None:
    path = data_dir / "partners.csv"
    rows = _rows(path)
    rows[0]["description_en"] = "First line.\nSecond line.\nThird line."
    target = next(r for r in rows if r["id"] == "tw-1955")
    target["provinces"] = "Nowhere"
    _write(path, rows)
    physical = next(
        n
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.startswith("tw-1955,")
    )
    with pytest.raises(LoadError) as raised:
        loader.read_directory(data_dir)
    assert any(e.startswith(f"partners.csv:{physical}: province 'Nowhere'") for e in raised.value.errors), (
        raised.value.errors
    )


def test_a_partner_must_say_where_it_serves(data_dir: Path) -> None:
    path = data_dir / "partners.csv"
    rows = _rows(path)
    target = next(r for r in rows if r["id"] == "cdi")
    target["provinces"] = ""
    _write(path, rows)
    with pytest.raises(LoadError) as raised:
        loader.read_directory(data_dir)
    assert (
        f"partners.csv:{_line_of(path, 'cdi')}: say where it serves: provinces (or "
        "'nationwide') or countries" in raised.value.errors
    )


def test_a_csv_cell_and_a_chat_message_mean_nationwide_with_the_same_words():
    """One list of words (bot.vietnamese.provinces) for the loader and the look-ups."""
    from bot.directory.lookups import province_name
    from bot.vietnamese.provinces import NATIONWIDE, NATIONWIDE_WORDS, is_nationwide

    for word in NATIONWIDE_WORDS:
        assert is_nationwide(word) and is_nationwide(word.upper())
        assert province_name(word) == NATIONWIDE
    assert not is_nationwide("Hà Tĩnh") and province_name("Ha Tinh") == "Hà Tĩnh"
