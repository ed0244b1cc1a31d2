"""The one small-cell rule (bot.anonymity): small cells hidden, and never a lone hidden cell
beside a total that is shown (it would be the total minus the cells shown)."""

from bot.anonymity import MIN_CELL, exported, shown, suppress, suppress_cross, visible


def test_cells_under_the_threshold_are_hidden_everywhere():
    assert MIN_CELL == 10
    assert not visible(9) and visible(10)
    assert suppress({"KR": 12, "JP": 3}, total_shown=False) == {"KR": 12, "JP": None}
    assert shown(3) == "<10" and shown(None) == "<10" and shown(11) == "11"
    assert exported(9) == "" and exported(10) == "10"


def test_a_lone_hidden_cell_takes_the_next_smallest_with_it():
    # 15 in all: 15 - 12 would give the hidden 3.
    assert suppress({"KR": 12, "JP": 3}) == {"KR": None, "JP": None}
    assert suppress({"KR": 20, "TW": 12, "JP": 3}) == {"KR": 20, "TW": None, "JP": None}
    # Two cells hidden already: their sum is known, each of them is not.
    assert suppress({"KR": 20, "TW": 4, "JP": 3}) == {"KR": 20, "TW": None, "JP": None}
    assert suppress({"KR": 20, "TW": 12}) == {"KR": 20, "TW": 12}
    # Of equal cells, the first in the table's order goes.
    assert suppress({"KR": 20, "TW": 11, "DE": 11, "JP": 3}) == {"KR": 20, "TW": None, "DE": 11, "JP": None}


def test_a_cross_table_protects_its_rows_columns_and_the_totals_shown_elsewhere():
    cross = {("F", "early"): 14, ("F", "end"): 12, ("F", "fled"): 2, ("M", "early"): 11, ("M", "end"): 10}
    # Sex totals 28 and 21, mode totals 25, 22 and 2 (hidden in its own table with "end").
    by_sex = {"F": 28, "M": 21}
    by_mode = {"early": 25, "end": None, "fled": None}
    kept = suppress_cross(cross, row_totals=by_sex, column_totals=by_mode)
    assert kept[("F", "fled")] is None  # small
    # Row F would have one hidden cell: its smallest other cell goes too ...
    assert kept[("F", "end")] is None
    # ... then every row and column has none or two hidden members: 28 = 14 + end + fled
    # and end + fled = 24 - 10 (the mode table's own sums) leave the 2 unknown.
    assert kept[("F", "early")] == 14 and kept[("M", "early")] == 11 and kept[("M", "end")] == 10
    # Without the totals published elsewhere, only the sums of the cross-table count.
    assert suppress_cross({("F", "a"): 30, ("F", "b"): 30, ("M", "a"): 30, ("M", "b"): 30}) == {
        ("F", "a"): 30,
        ("F", "b"): 30,
        ("M", "a"): 30,
        ("M", "b"): 30,
    }


def test_a_cross_table_that_cannot_be_made_safe_shows_nothing():
    # Only women returned early (14, the mode's total shown): their row would give away
    # the hidden 2 beside it as 16 - 14.
    cross = {("F", "early"): 14, ("F", "fled"): 2, ("M", "end"): 12}
    kept = suppress_cross(
        cross, row_totals={"F": 16, "M": 12}, column_totals={"early": 14, "end": 12, "fled": None}
    )
    assert kept == dict.fromkeys(cross)
