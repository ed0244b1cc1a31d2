"""Examples added in the console: the right file, atomic and loadable by Rasa, and the
warnings and refusals of `check_example`."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot.nlu import training_data


def _examples(path: Path) -> list[tuple[str, str]]:
    return [(m.get("text"), m.get("intent")) for m in load_data(str(path)).intent_examples]


def test_an_example_lands_in_the_console_file_of_its_topic_group(data_dir):
    nlu = data_dir / "nlu"
    before = (nlu / "return.yml").read_text(encoding="utf-8")
    path = training_data.add_example(nlu, "return", "deposit_refund", "  xin lại   tiền cọc đi Hàn ")
    assert path == nlu / "console" / "return.yml"
    assert _examples(path) == [("xin lại tiền cọc đi Hàn", "deposit_refund")]
    # The hand-written file is untouched; Rasa reads both from the directory.
    assert (nlu / "return.yml").read_text(encoding="utf-8") == before
    assert ("xin lại tiền cọc đi Hàn", "deposit_refund") in _examples(nlu)

    training_data.add_example(nlu, "return", "early_return", "về sớm có mất tiền không")
    training_data.add_example(nlu, "return", "deposit_refund", "xin lại tiền cọc đi Hàn")  # no repeat
    training_data.add_example(nlu, "complaints", "complaint_agency", "cò lừa tiền")
    assert sorted(_examples(path)) == [
        ("về sớm có mất tiền không", "early_return"),
        ("xin lại tiền cọc đi Hàn", "deposit_refund"),
    ]
    assert _examples(nlu / "console" / "complaints.yml") == [("cò lừa tiền", "complaint_agency")]
    # No temporary file left behind.
    assert sorted(p.name for p in (nlu / "console").iterdir()) == ["complaints.yml", "return.yml"]


def test_a_failed_write_leaves_the_old_file_whole(data_dir, monkeypatch):
    nlu = data_dir / "nlu"
    path = training_data.add_example(nlu, "return", "deposit_refund", "câu thứ nhất")
    old = path.read_text(encoding="utf-8")

    def broken_replace(src, dst):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(training_data.os, "replace", broken_replace)
    with pytest.raises(OSError):
        training_data.add_example(nlu, "return", "deposit_refund", "câu thứ hai")
    assert path.read_text(encoding="utf-8") == old
    assert sorted(p.name for p in path.parent.iterdir()) == ["return.yml"]


def test_the_same_folded_text_under_another_topic_is_a_warning(data_dir, held_out_dir):
    index = training_data.build_index(data_dir / "nlu", held_out_dir)
    # Differs only in diacritics, case and punctuation from an early_return example.
    check = training_data.check_example(index, "deposit_refund", "Ve nuoc truoc han hop dong!")
    assert check.other_topics == ("early_return",) and not check.already_there and not check.held_out
    same = training_data.check_example(index, "deposit_refund", "RÚT TIỀN KÝ QUỸ")
    assert same.already_there and same.other_topics == ()
    fresh = training_data.check_example(index, "deposit_refund", "tiền cọc ở ngân hàng nào")
    assert fresh.other_topics == () and not fresh.already_there


def test_a_held_out_message_is_refused(data_dir, held_out_dir):
    index = training_data.build_index(data_dir / "nlu", held_out_dir)
    assert training_data.check_example(index, "deposit_refund", "Tien ky quy bao gio duoc tra lai?").held_out


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 301, "tiền [ký quỹ](money) ở đâu"],
)
def test_empty_long_or_annotated_text_is_refused_with_a_reason(data_dir, text):
    with pytest.raises(training_data.ExampleError):
        training_data.add_example(data_dir / "nlu", "return", "deposit_refund", text)
    assert not (data_dir / "nlu" / "console").exists()
