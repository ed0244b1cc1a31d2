"""The anonymous returnee survey (issue 14 §4): answers read from buttons and typing, stored
unlinkably, aggregated with small cells hidden on the page data and in the CSV."""

from __future__ import annotations

import csv
import datetime as _dt
import io

import pytest
import sqlalchemy as sa

from bot import db, survey
from bot.anonymity import MIN_CELL

TODAY = _dt.date(2026, 11, 30)


@pytest.fixture
def engine(database_url):
    engine = db.ensure_schema(db.get_engine(database_url))
    yield engine
    db.dispose_engines()


# --- unlinkable by construction ------------------------------------------------------------


def _linking_tables() -> dict[str, set[str]]:
    """Every other table of the bot, with its columns."""
    metadata = db.all_metadata()
    return {
        name: {c.name for c in table.columns}
        for name, table in metadata.tables.items()
        if name != "returnee_profiles"
    }


def test_no_column_joins_an_answer_to_a_conversation_or_a_person():
    columns = {c.name: c for c in db.returnee_profiles.columns}
    # Nothing that names or points at someone, and no time finer than the year.
    linking = {"sender_id", "sender_key", "platform_user_id", "label", "handoff_id", "key", "user_id"}
    assert not (set(columns) & linking)
    assert not [c for c in columns.values() if isinstance(c.type, (sa.DateTime, sa.Date, sa.Time))]
    assert not db.returnee_profiles.foreign_keys
    # The only key is a random id: no other table has a column that could hold it.
    assert [c.name for c in db.returnee_profiles.primary_key.columns] == ["id"]
    assert not any(
        "returnee" in column or column == "profile_id"
        for cols in _linking_tables().values()
        for column in cols
    )
    # Every column besides the id is a coarse answer of the survey.
    assert set(columns) - {"id"} == set(survey.COLUMNS)


def test_ids_are_random_so_row_order_says_nothing_about_time(engine):
    for n in range(30):
        survey.save(engine, {"gender": "female", "return_year": "2025", "sector": str(n)})
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.returnee_profiles.c.id, db.returnee_profiles.c.sector)).all()
    in_insertion_order = [row.id for row in sorted(rows, key=lambda row: int(row.sector))]
    assert len(set(in_insertion_order)) == 30 and all(len(i) == 32 for i in in_insertion_order)
    # Ordering by the key does not give the order of answering (chance of failing: 1 in 30!).
    assert in_insertion_order != sorted(in_insertion_order)


def test_a_survey_with_every_question_skipped_stores_nothing(engine):
    assert not survey.save(engine, {key: survey.SKIP for key in survey.ORDER})
    assert survey.count(engine) == 0


# --- reading answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, text, value",
    [
        ("host_country", "KR", "KR"),
        ("host_country", "Hàn Quốc", "KR"),
        ("host_country", "dai loan", "TW"),
        ("host_country", "Saudi Arabia", "other"),
        ("sector", "em làm nhà máy", "manufacturing"),
        ("sector", "xay dung", "construction"),
        ("sector", "care", "care"),
        ("return_year", "2025", "2025"),
        ("return_year", "năm ngoái", "2025"),
        ("return_year", "I came back in 2024", "2024"),
        ("return_mode", "về trước hạn", "early"),
        ("return_mode", "bo tron", "irregular"),
        ("return_mode", "het hop dong", "contract_end"),
        ("voluntary", "không, bị ép về", "no"),
        ("voluntary", "yes", "yes"),
        ("gender", "nữ", "female"),
        ("gender", "Male", "male"),
        ("province", "Nghệ An", "Nghệ An"),
        ("province", "em ở nghe an", "Nghệ An"),
        ("needs", "việc làm và vay vốn", "job,loan"),
        ("needs", "bỏ qua", survey.SKIP),
        ("sector", "skip", survey.SKIP),
    ],
)
def test_answers_typed_or_pressed(key, text, value):
    assert survey.read_answer(key, text, TODAY) == value


@pytest.mark.parametrize("key, text", [("return_year", "2031"), ("return_year", "hello"), ("gender", "???")])
def test_what_answers_nothing_is_asked_again(key, text):
    assert survey.read_answer(key, text, TODAY) is None


# --- aggregates ------------------------------------------------------------------------------


def _fill(engine) -> None:
    """12 women and 3 men back from Korea; 12 early returns, 3 irregular."""
    for n in range(15):
        survey.save(
            engine,
            {
                "host_country": "KR",
                "gender": "female" if n < 12 else "male",
                "return_mode": "early" if n < 12 else "irregular",
                "province": "Nghệ An" if n < 11 else "Hà Tĩnh",
                "needs": "job,loan" if n < 10 else "legal",
            },
        )


def test_small_cells_are_hidden_in_tables(engine):
    _fill(engine)
    counts = survey.tallies(engine)
    # 15 answers, a total on the page: 12 women shown would give away the 3 men.
    gender = {c.value: c for c in survey.table(counts["gender"], "gender", "en")}
    assert gender["male"].count is None and gender["male"].shown == f"<{MIN_CELL}"
    assert gender["female"].count is None and gender["female"].shown == f"<{MIN_CELL}"
    # "legal" (5) is hidden; of the two 10s one goes with it.
    needs = {c.value: c.count for c in survey.table(counts["needs"], "needs", "en")}
    assert needs == {"job": None, "loan": 10, "legal": None}
    chart = survey.bar_chart(survey.table(counts["gender"], "gender", "en"), "By sex")
    assert chart.startswith("<svg") and ">12<" not in chart and ">3<" not in chart and "&lt;10" in chart


def test_small_cells_are_empty_in_the_csv(engine):
    _fill(engine)
    rows = list(csv.DictReader(io.StringIO(survey.csv_export(engine, "en"))))
    by = {(r["breakdown"], r["value"], r["sex"]): r["count"] for r in rows}
    assert by[("gender", "female", "all")] == by[("gender", "male", "all")] == ""
    assert by[("return_mode", "irregular", "all")] == ""
    # The women's row of the cross-table would be their hidden total: hidden too.
    assert by[("return_mode", "early", "female")] == ""
    assert by[("province", "Hà Tĩnh", "all")] == ""
    assert all(r["count"] == "" or int(r["count"]) >= MIN_CELL for r in rows)


def _fill_complementary(engine) -> None:
    """40 answers: 22 women, 18 men; 20 early returns (14 women, 6 men), 13 at the end of
    the contract (8 women, 5 men), 7 irregular (all men)."""
    modes = ["early"] * 14 + ["completed"] * 8 + ["early"] * 6 + ["completed"] * 5 + ["irregular"] * 7
    for n, mode in enumerate(modes):
        survey.save(
            engine, {"gender": "female" if n < 22 else "male", "return_mode": mode, "host_country": "KR"}
        )


def _cannot_be_worked_out(shown_cells: dict[str, str]) -> None:
    """A breakdown shown beside its total never hides exactly one cell."""
    hidden = [v for v, count in shown_cells.items() if count == ""]
    assert len(hidden) != 1, shown_cells


def test_a_hidden_cell_cannot_be_worked_out_from_the_totals_on_the_page_or_in_the_csv(engine):
    _fill_complementary(engine)
    counts = survey.tallies(engine)
    modes = {c.value: c.count for c in survey.table(counts["return_mode"], "return_mode", "en")}
    # "irregular" (7) is small; shown beside 40 and 20 it would be 40 - 20 - 13: hidden too.
    assert modes == {"early": 20, "completed": None, "irregular": None}
    rows = list(csv.DictReader(io.StringIO(survey.csv_export(engine, "en"))))
    by = {(r["breakdown"], r["value"], r["sex"]): r["count"] for r in rows}
    assert by[("return_mode", "completed", "all")] == by[("return_mode", "irregular", "all")] == ""
    assert by[("gender", "female", "all")] == "22" and by[("gender", "male", "all")] == "18"
    # Mode by sex: every cell is under 10 but the women's early returns (14); shown, it
    # would give the women's 8 "completed" (22 - 14) and then the men's early returns
    # (20 - 14): it is hidden too.
    cross = {(v, s): c for (b, v, s), c in by.items() if b == "return_mode" and s != "all"}
    assert cross and all(count == "" for count in cross.values())
    for breakdown, _ in survey.BREAKDOWNS:
        _cannot_be_worked_out({v: c for (b, v, s), c in by.items() if b == breakdown and s == "all"})
    # The page reads the same numbers as the CSV.
    from bot.staff.returnees import _sex_tables

    mode_by_sex = _sex_tables(engine, "en")[0]
    assert all(cell == f"<{MIN_CELL}" for row in mode_by_sex["rows"] for cell in row["cells"])
