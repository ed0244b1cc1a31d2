"""The directory's rules for phone numbers: evidence on every number, no unconfirmed ones,
and no LOW number where a better one serves the same need in the same place."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.directory import loader
from bot.directory.loader import LoadError


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


def _edit(path: Path, row_id: str, **cells: str) -> int:
    rows = _rows(path)
    next(r for r in rows if r["id"] == row_id).update(cells)
    _write(path, rows)
    return _line_of(path, row_id)


def _errors(data_dir: Path) -> list[str]:
    with pytest.raises(LoadError) as raised:
        loader.read_directory(data_dir)
    return raised.value.errors


def test_a_number_without_confidence_is_refused_at_its_line(data_dir: Path) -> None:
    line = _edit(data_dir / "partners.csv", "tw-1955", confidence="")
    assert f"partners.csv:{line}: phone 1955 has no confidence: write high, medium or low" in " ".join(
        _errors(data_dir)
    )


def test_a_number_without_a_checked_date_is_refused(data_dir: Path) -> None:
    line = _edit(data_dir / "offices.csv", "ae-embassy", last_checked="")
    errors = _errors(data_dir)
    assert any(
        e.startswith(f"offices.csv:{line}: phone +971 50 129 9789 has no last_checked date") for e in errors
    ), errors


def test_a_low_number_must_say_when_its_source_was_published(data_dir: Path) -> None:
    line = _edit(data_dir / "offices.csv", "kr-labour-board", source="vietnammoi.vn; lamchame.vn")
    errors = _errors(data_dir)
    assert any(
        e.startswith(f"offices.csv:{line}: low-confidence phone +82 10-3248-6886: say in source when")
        for e in errors
    ), errors


@pytest.mark.parametrize("value", ["unconfirmed", "UNCONFIRMED", "chưa xác minh"])
def test_an_unconfirmed_row_is_refused(data_dir: Path, value: str) -> None:
    line = _edit(data_dir / "partners.csv", "kr-moel-1350", confidence=value)
    errors = _errors(data_dir)
    assert any(
        e.startswith(f"partners.csv:{line}: confidence '{value}': unconfirmed entries are never shown")
        for e in errors
    ), errors


def test_an_unconfirmed_number_is_refused(data_dir: Path) -> None:
    line = _edit(data_dir / "offices.csv", "de-embassy", general_phone="UNCONFIRMED")
    errors = _errors(data_dir)
    assert any(e.startswith(f"offices.csv:{line}: general_phone says 'UNCONFIRMED'") for e in errors), errors


def test_a_low_partner_number_beside_a_better_one_for_the_same_need_and_place_is_reported(
    data_dir: Path,
) -> None:
    path = data_dir / "partners.csv"
    rows = _rows(path)
    low = dict(next(r for r in rows if r["id"] == "jp-fresc"))
    low.update(
        id="jp-fresc-help-desk", phone="0120-76-2029", confidence="low", source="third-party code (2023)"
    )
    rows.append(low)
    _write(path, rows)
    line, better = _line_of(path, "jp-fresc-help-desk"), _line_of(path, "jp-fresc")
    errors = _errors(data_dir)
    assert any(
        e.startswith(f"partners.csv:{line}: low-confidence number of 'jp-fresc-help-desk' for ")
        and f"'jp-fresc' (medium, partners.csv:{better}) serves the same need there" in e
        for e in errors
    ), errors


def test_a_low_office_number_beside_a_better_one_for_the_same_purpose_and_city_is_reported(
    data_dir: Path,
) -> None:
    path = data_dir / "offices.csv"
    rows = _rows(path)
    old = dict(next(r for r in rows if r["id"] == "tw-veco-taipei"))
    old.update(
        id="tw-veco-taipei-2019",
        citizen_protection_phone="+886 988 579 362",
        confidence="low",
        source="baoquocte.vn (2019)",
    )
    rows.append(old)
    _write(path, rows)
    errors = _errors(data_dir)
    assert any(
        e.startswith(f"offices.csv:{_line_of(path, 'tw-veco-taipei-2019')}: low-confidence number")
        and "citizen_protection in TW (taipei)" in e
        and "'tw-veco-taipei' (medium" in e
        for e in errors
    ), errors


def test_a_low_number_alone_for_its_need_and_place_is_kept(data_dir: Path) -> None:
    # Another city, another purpose, or no better number: the LOW row stays (shown with
    # the confirm wording beside the MOFA hotline).
    path = data_dir / "offices.csv"
    rows = _rows(path)
    other = dict(next(r for r in rows if r["id"] == "tw-veco-taipei"))
    other.update(id="tw-test-kaohsiung", city="Kaohsiung", confidence="low", source="test (2019)")
    rows.append(other)
    _write(path, rows)
    parsed = loader.read_directory(data_dir)
    assert parsed.offices[("tw-test-kaohsiung",)]["confidence"] == "low"


def test_the_seed_data_keeps_no_low_number_that_a_better_one_replaces() -> None:
    parsed = loader.read_directory(loader.DEFAULT_DATA_DIR)
    assert loader._low_number_errors(parsed) == []
