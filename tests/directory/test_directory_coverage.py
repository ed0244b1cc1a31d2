"""The directory's coverage, as `make bench` reports it: this cannot silently drop."""

from __future__ import annotations

import csv

from bot.directory.bench import directory_coverage
from bot.directory.loader import DEFAULT_DATA_DIR

# What the data reached on 2026-11-30 (see data/directory/README.md, "Gaps staff can fill").
# Raise these as rows are added; never lower them without saying why in the commit.
MIN_COUNTRIES_WITH_MISSION = 16
MIN_PROVINCES_WITH_EMPLOYMENT_CENTRE = 2
MIN_PROVINCES_WITH_LEGAL_AID = 6
MIN_PROVINCES_WITH_STATE_LEGAL_AID_CENTRE = 1
MIN_ROWS = 61


def test_coverage_does_not_drop() -> None:
    cov = directory_coverage(DEFAULT_DATA_DIR)
    assert cov["countries with a mission row"] >= MIN_COUNTRIES_WITH_MISSION
    assert cov["provinces with an employment service centre row"] >= MIN_PROVINCES_WITH_EMPLOYMENT_CENTRE
    assert cov["provinces with a legal aid row"] >= MIN_PROVINCES_WITH_LEGAL_AID
    assert cov["provinces with a State legal aid centre row"] >= MIN_PROVINCES_WITH_STATE_LEGAL_AID_CENTRE
    assert cov["rows"] >= MIN_ROWS
    # Every main host country has at least one mission row.
    assert cov["main host countries without a mission row"] == []


def test_coverage_counts_what_the_files_hold() -> None:
    cov = directory_coverage(DEFAULT_DATA_DIR)
    with (DEFAULT_DATA_DIR / "offices.csv").open(encoding="utf-8") as handle:
        countries = {row["country"] for row in csv.DictReader(handle) if not row["id"].startswith("#")}
    assert cov["countries with a mission row"] == len(countries)
    shares = cov["rows by confidence"]
    assert set(shares) == {"high", "medium", "low"}
    assert sum(n for n, _pct in shares.values()) == cov["rows"]


def test_every_row_has_source_last_checked_and_confidence() -> None:
    for name in ("offices.csv", "partners.csv"):
        with (DEFAULT_DATA_DIR / name).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                assert row["source"].strip(), (name, row["id"])
                assert row["last_checked"].strip(), (name, row["id"])
                assert row["confidence"].strip() in {"high", "medium", "low"}, (name, row["id"])
