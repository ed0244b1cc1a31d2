from bot.anonymity import MIN_CELL, exported, shown, suppress, visible


def test_cells_under_the_threshold_are_hidden_everywhere():
    assert MIN_CELL == 10
    assert not visible(9) and visible(10)
    assert suppress({"KR": 12, "JP": 3}) == {"KR": 12, "JP": None}
    assert shown(3) == "<10" and shown(None) == "<10" and shown(11) == "11"
    assert exported(9) == "" and exported(10) == "10"
