"""`make bench` (bot/bench.py): held-out hygiene, the scores, and the report, on small files
and a scripted assistant, so the arithmetic is checked without a trained model."""

from __future__ import annotations

import pytest

from bot import bench

NLU_HEADER = 'version: "3.1"\nnlu:\n'


def _nlu(path, intent, *texts):
    body = "".join(f"    - {t}\n" for t in texts)
    path.write_text(f"{NLU_HEADER}- intent: {intent}\n  examples: |\n{body}", encoding="utf-8")


def test_bench_refuses_a_held_out_message_that_is_a_training_example_once_folded(tmp_path):
    training, held_out = tmp_path / "data", tmp_path / "held_out"
    training.mkdir()
    held_out.mkdir()
    _nlu(training / "a.yml", "deposit_refund", "Lấy lại tiền ký quỹ?", "tiền ký quỹ")
    _nlu(held_out / "unaccented.yml", "deposit_refund", "lay lai  tien ky quy", "ky quy bao gio tra")
    with pytest.raises(bench.HeldOutLeak, match="unaccented.yml: lay lai  tien ky quy"):
        bench.check_held_out(held_out, training)
    _nlu(held_out / "unaccented.yml", "deposit_refund", "ky quy bao gio tra")
    bench.check_held_out(held_out, training)


def test_wilson_interval():
    low, high = bench.wilson(454, 461)
    assert (round(low, 3), round(high, 3)) == (0.969, 0.993)
    assert bench.wilson(0, 0) == (0.0, 0.0)


def test_reply_language_tolerates_names_in_the_other_language():
    assert bench.reply_language("**Lấy lại tiền ký quỹ**\n1. Mang hợp đồng đến ngân hàng") == "vi"
    assert bench.reply_language("The embassy in Hà Nội answers on weekdays; bring your EPS card") == "en"
    assert bench.reply_language("") is None


def test_entity_scores_count_traps_as_false_positives():
    counts = bench.entity_scores(
        [
            ({("country", "KR")}, {("country", "KR")}),
            (set(), {("country", "LA")}),  # "người lao động" read as Laos
            ({("province", "Nghệ An")}, set()),
        ]
    )
    assert (counts["country"].precision, counts["country"].recall) == (0.5, 1.0)
    assert (counts["province"].precision, counts["province"].recall) == (1.0, 0.0)


def test_a_turn_passes_only_when_every_expectation_holds():
    turn = {
        "user": "han quoc",
        "topic": "consular_contact",
        "entities": {"country": "KR"},
        "lang": "vi",
        "reply_contains": ["dai su quan"],
        "reply_not_contains": ["Lào"],
    }
    good = {
        "topic_slot": "consular_contact",
        "all_entities": [("country", "KR")],
        "answer": "**Đại sứ quán Việt Nam tại Hàn Quốc**: số điện thoại của cơ quan",
    }
    assert bench.turn_failures(turn, good) == []
    bad = {**good, "topic_slot": "korea_insurance_refund", "answer": "Embassy in Laos (Lào)"}
    problems = bench.turn_failures(turn, bad)
    assert any("topic" in p for p in problems)
    assert any("reply language" in p for p in problems)
    assert any("lacks 'dai su quan'" in p for p in problems)
    assert any("has 'Lào'" in p for p in problems)


def test_a_place_remembered_from_an_earlier_turn_meets_the_turns_place():
    """ "Cho tôi số đại sứ quán ở đó" names no country: the turn's `country: SA` is met by
    the country the conversation holds after it, and only by that one."""
    turn = {"user": "Cho tôi số đại sứ quán ở đó", "entities": {"country": "SA"}}
    remembered = {"all_entities": [], "place_slots": {"country": "SA"}, "answer": ""}
    assert bench.turn_failures(turn, remembered) == []
    forgotten = {"all_entities": [], "place_slots": {}, "answer": ""}
    assert bench.turn_failures(turn, forgotten) == ["entity country=SA neither extracted nor remembered"]
    elsewhere = {"all_entities": [], "place_slots": {"country": "LA"}, "answer": ""}
    assert bench.turn_failures(turn, elsewhere) != []


def test_malformed_conversation_is_reported_with_its_file(tmp_path):
    (tmp_path / "x.yml").write_text(
        "conversations:\n  - id: a\n    form: spoken\n    turns:\n      - user: hi\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="x.yml: conversation 1 \\(a\\): form"):
        bench.load_conversations(tmp_path)


class ScriptedAssistant:
    """Answers from a table, as `bot.assistant.Assistant` would shape them."""

    def __init__(self, answers):
        self.answers = answers

    def ask(self, text, metadata=None, sender_id=None):
        intent, answer, slot = self.answers.get(text, ("nlu_fallback", "Tôi chưa hiểu đúng ý bạn", None))
        return {"intent": intent, "topic": intent, "answer": answer, "topic_slot": slot, "all_entities": []}

    def converse(self, turns, metadata=None):
        return [self.ask(t, metadata) for t in turns]

    def parse(self, text):
        return {"entities": [{"entity": "country", "value": "KR"}] if "han" in text else []}


def test_evaluate_and_report_mark_missed_targets(tmp_path):
    held_out, conversations = tmp_path / "nlu", tmp_path / "conversations"
    held_out.mkdir()
    conversations.mkdir()
    _nlu(held_out / "unaccented.yml", "deposit_refund", "tien ky quy", "lay lai ky quy")
    _nlu(held_out / "english.yml", "deposit_refund", "deposit back")
    with (held_out / "english.yml").open("a", encoding="utf-8") as english:
        # Answered in Vietnamese, as asked: not a wrong-language reply.
        english.write("- intent: change_language\n  examples: |\n    - answer in vietnamese please\n")
    _nlu(held_out / "emergency.yml", "emergency_help", "cuu em")
    (conversations / "c.yml").write_text(
        "conversations:\n"
        "  - id: ok-one\n    form: unaccented\n    covers: follow-up\n    turns:\n"
        "      - user: tien ky quy\n        topic: deposit_refund\n"
        "  - id: bad-one\n    form: english\n    covers: language\n    turns:\n"
        "      - user: deposit back\n        lang: en\n",
        encoding="utf-8",
    )
    vi_card = "**Lấy lại tiền ký quỹ** mang hợp đồng đến ngân hàng"
    assistant = ScriptedAssistant(
        {
            "tien ky quy": ("deposit_refund", vi_card, "deposit_refund"),
            "lay lai ky quy": ("deposit_refund", vi_card, "deposit_refund"),
            "deposit back": ("deposit_refund", vi_card, "deposit_refund"),  # wrong language
            "answer in vietnamese please": ("change_language", "Được, tôi sẽ trả lời bằng tiếng Việt", None),
            "cuu em": ("emergency_help", "**Cần giúp khẩn cấp** gọi ngay", "emergency_help"),
        }
    )
    results = bench.evaluate(assistant, held_out, conversations)
    assert results.forms["unaccented"][:2] == (2, 2)
    assert results.wrong_language["english"] == (1, 1)
    assert results.forms["english"][:2] == (2, 2)
    assert results.entities is None
    assert [(c["id"], bool(f)) for c, f in results.conversations] == [("ok-one", False), ("bad-one", True)]
    assert results.danger == {"emergency.yml": (1, 1)}
    training = bench.TrainingTime(wall=150.0, cpu=60.0, load=1.0)
    report = bench.write_report(results, training, None, tmp_path / "benchmarks.md")
    assert "| unaccented | 2 | 1.000 (0.342–1.000) |" in report
    assert "entities.yml` is absent" in report
    assert "`bad-one` (c.yml): turn 1: reply language 'vi' != 'en'" in report
    assert "| language | 1 | 0.000 (0.000–0.793) | ≥ 0.95 **missed** |" in report
    assert "**150 s** wall-clock (≤ 120 s **missed**), 60 s of CPU" in report
    assert "- english: 'deposit back' → deposit_refund" in report
