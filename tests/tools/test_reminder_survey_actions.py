"""The tools' conversations on tracker states (no model): every step, leaving midway, danger
midway, the Zalo notice, the list with its Cancel buttons, the survey offered once."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import reminders_survey as tools
from actions.answer import ActionAnswerTopic
from actions.fallback import ActionFallbackSuggest
from actions.feedback import ActionFeedbackVote
from actions.urgent import ActionUrgentFollowUp
from bot import db, reminders, survey

TODAY = _dt.date(2026, 11, 30)

ACTIONS = {
    "remind_me": tools.ActionRemindersStart(),
    "my_reminders": tools.ActionRemindersList(),
    "survey_start": tools.ActionSurveyStart(),
    "tool_choice": tools.ActionToolStep(),
    "feedback_up": ActionFeedbackVote(),
    "emergency_help": ActionUrgentFollowUp(),
    "nlu_fallback": ActionFallbackSuggest(),
}


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(tools, "today", lambda: TODAY)
    yield url
    db.dispose_engines()


class Chat:
    """A conversation driven turn by turn: the action the rules pick for the intent, with
    the slots and events the earlier turns set."""

    def __init__(self, sender: str = "tg-test", channel: str = "telegram") -> None:
        self.sender, self.channel = sender, channel
        self.slots: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []

    async def say(
        self, text: str, intent: str = "nlu_fallback", confidence: float = 0.5, **entities: str
    ) -> str:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": [{"entity": k, "value": v} for k, v in entities.items()],
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "metadata": {},
        }
        self.events.append(
            {"event": "user", "text": text, "parse_data": latest, "input_channel": self.channel}
        )
        if intent == "emergency_help":
            self.events.append({"event": "action", "name": "utter_emergency_help"})
        action = ACTIONS.get(intent, ActionAnswerTopic())
        tracker = Tracker(
            self.sender, dict(self.slots), latest, list(self.events), False, None, {}, "action_listen"
        )
        dispatcher = CollectingDispatcher()
        new = await action.run(dispatcher, tracker, {})
        for event in new:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            self.events.append(event)
        self.messages = dispatcher.messages
        self.buttons = [b for m in dispatcher.messages for b in m.get("buttons") or []]
        return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def _rows(url: str, table: sa.Table) -> list:
    with db.ensure_schema(db.get_engine(url)).connect() as conn:
        return conn.execute(sa.select(table)).all()


async def test_reminders_end_to_end_in_vietnamese(db_url):
    chat = Chat()
    reply = await chat.say("nhắc tôi", "remind_me", 0.95)
    assert "Công an xã/phường" in reply and "nước nào" in reply
    assert "Zalo" not in reply  # the window notice is for Zalo users only
    assert chat.slots["requested_slot"] == "remind:country"
    reply = await chat.say("KR", "tool_choice", 1.0, choice="KR")
    assert "Hợp đồng lao động" in reply
    reply = await chat.say("tháng 8 năm nay", "nlu_fallback", 0.3)
    assert "ngày đầu của tháng" in reply and "về Việt Nam" in reply
    reply = await chat.say("15-11-2026", "contract_liquidation", 0.7)  # whatever the classifier says
    assert "Xong" in reply and "bảo hiểm mãn hạn" in reply and "/reminders" in reply
    kinds = {row.kind: row for row in _rows(db_url, db.reminders)}
    assert set(kinds) == {"police_report", "contract_liquidation", "korea_departure_guarantee"}
    assert kinds["contract_liquidation"].deadline == _dt.date(2027, 1, 28)  # 1/8 + 180 days
    assert all(row.sender_id == "tg-test" for row in kinds.values())
    assert chat.slots["requested_slot"] is None and chat.slots["tool_answers"] is None


async def test_a_bad_date_is_asked_again_clearly_in_english(db_url):
    chat = Chat()
    chat.slots["language"] = "en"
    await chat.say("remind me", "remind_me", 0.95)
    await chat.say("Japan", "tool_choice", 1.0, choice="JP")
    reply = await chat.say("31/02/2025", "nlu_fallback", 0.2)
    assert "could not read that date" in reply and "15/03/2025" in reply
    assert chat.slots["requested_slot"] == "remind:contract_end"
    await chat.say("I don't know", "tool_choice", 1.0, choice="skip")
    reply = await chat.say("yesterday", "nlu_fallback", 0.2)
    assert "pension lump-sum" in reply and "commune or ward police" in reply
    assert len(_rows(db_url, db.reminders)) == 2


async def test_zalo_users_are_told_of_the_seven_day_window(db_url):
    chat = Chat(sender="zl-test", channel="zalo")
    reply = await chat.say("nhac toi han chot", "remind_me", 0.9)
    assert "7 ngày" in reply and "Zalo" in reply


async def test_leaving_midway_by_stop_or_another_question_saves_nothing(db_url):
    chat = Chat()
    await chat.say("nhắc tôi", "remind_me", 0.95)
    await chat.say("Hàn Quốc", "tool_choice", 1.0, choice="KR")
    reply = await chat.say("thôi", "goodbye", 0.6)
    assert "dừng" in reply and chat.slots["requested_slot"] is None
    await chat.say("nhắc tôi", "remind_me", 0.95)
    reply = await chat.say("làm sao lấy lại tiền ký quỹ", "deposit_refund", 0.93)
    assert "không có gì được lưu" in reply
    assert chat.slots["requested_slot"] is None
    assert _rows(db_url, db.reminders) == []


async def test_danger_midway_wins_and_drops_the_answers(db_url):
    chat = Chat()
    await chat.say("nhắc tôi", "remind_me", 0.95)
    await chat.say("Nhật", "tool_choice", 1.0, choice="JP")
    await chat.say("chủ đánh tôi, tôi bị nhốt", "emergency_help", 1.0)
    assert chat.slots["requested_slot"] is None and chat.slots["tool_answers"] is None
    # The next message is not read as a date for the abandoned question.
    await chat.say("15/03/2025", "nlu_fallback", 0.2)
    assert _rows(db_url, db.reminders) == []


async def test_list_and_cancel_with_buttons(db_url):
    engine = db.get_engine(db_url)
    dates = {reminders.RETURN: _dt.date(2026, 11, 20)}
    reminders.save(engine, "tg-test", reminders.plan("JP", dates, TODAY))
    chat = Chat()
    reply = await chat.say("lịch nhắc", "my_reminders", 0.9)
    assert "1. báo Công an xã/phường" in reply and "2. nộp đơn rút tiền" in reply
    first = chat.buttons[0]
    assert first["title"] == "Hủy 1" and first["payload"].startswith('/my_reminders{"reminder": "')
    reminder_id = first["payload"].split('"')[3]
    reply = await chat.say(first["payload"], "my_reminders", 1.0, reminder=reminder_id)
    assert "Đã hủy" in reply and "1. nộp đơn rút tiền" in reply
    reply = await chat.say("hủy lời nhắc", "my_reminders", 0.9)  # typed: the list to choose from
    assert "Đã hủy" not in reply and "Hủy tất cả" in [b["title"] for b in chat.buttons]
    reply = await chat.say('/my_reminders{"reminder": "all"}', "my_reminders", 1.0, reminder="all")
    assert "Đã hủy" in reply
    assert [r.kind for r in reminders.waiting(engine, "tg-test")] == []
    reply = await chat.say("/reminders", "my_reminders", 1.0)
    assert "chưa có lời nhắc" in reply


async def test_survey_offered_once_after_a_thumbs_up_and_stored_unlinked(db_url):
    chat = Chat()
    reply = await chat.say("/feedback_up", "feedback_up", 1.0, card="contract_liquidation")
    assert "ẩn danh" in reply and chat.slots["survey_offered"] is True
    reply = await chat.say("/feedback_up", "feedback_up", 1.0, card="deposit_refund")
    assert "ẩn danh" not in reply  # once
    reply = await chat.say("/survey_start", "survey_start", 1.0)
    assert "(1/8)" in reply
    answers = [
        ("KR", "tool_choice", {"choice": "KR"}),
        ("em làm nhà máy", "nlu_fallback", {}),
        ("năm ngoái", "nlu_fallback", {}),
        ("early", "tool_choice", {"choice": "early"}),
        ("Bỏ qua", "tool_choice", {"choice": "skip"}),
        ("nữ", "nlu_fallback", {}),
        ("Nghệ An", "referral_partner", {"province": "Nghệ An"}),
    ]
    for text, intent, entities in answers:
        await chat.say(text, intent, 0.9 if intent == "referral_partner" else 0.4, **entities)
    assert chat.slots["requested_slot"] == "survey:needs"
    reply = await chat.say("việc làm", "job_search", 0.7)
    assert "Cảm ơn" in reply
    [row] = _rows(db_url, db.returnee_profiles)
    assert (row.host_country, row.sector, row.return_year, row.return_mode) == (
        "KR",
        "manufacturing",
        2025,
        "early",
    )
    assert (row.voluntary, row.gender, row.province, row.needs) == (None, "female", "Nghệ An", "job")
    assert "tg-test" not in " ".join(str(v) for v in row)


async def test_no_to_the_offer_is_remembered(db_url):
    chat = Chat()
    await chat.say("/feedback_up", "feedback_up", 1.0, card="contract_liquidation")
    offer = [b for b in chat.buttons if b["title"] == "Không, cảm ơn"][0]
    assert offer["payload"] == '/tool_choice{"choice": "no_survey"}'
    reply = await chat.say(offer["payload"], "tool_choice", 1.0, choice="no_survey")
    assert "không hỏi lại" in reply and chat.slots["survey_offered"] is True


async def test_a_stop_button_and_typed_stop_words_but_not_xay_dung(db_url):
    chat = Chat()
    await chat.say("khảo sát", "survey_start", 0.9)
    await chat.say("KR", "tool_choice", 1.0, choice="KR")
    reply = await chat.say("xây dựng", "nlu_fallback", 0.4)  # folds to a word of "dừng"
    assert "(3/8)" in reply
    reply = await chat.say("dừng lại", "nlu_fallback", 0.4)
    assert "đã dừng" in reply and chat.slots["requested_slot"] is None


async def test_survey_never_offered_or_started_after_danger(db_url):
    chat = Chat()
    await chat.say("tôi bị chủ đánh", "emergency_help", 1.0)
    reply = await chat.say("/feedback_up", "feedback_up", 1.0, card="emergency_help")
    assert "ẩn danh" not in reply
    reply = await chat.say("/survey_start", "survey_start", 1.0)
    assert "an toàn" in reply and chat.slots.get("requested_slot") is None


async def test_survey_stopped_midway_or_interrupted_by_danger_stores_nothing(db_url):
    chat = Chat()
    await chat.say("khảo sát", "survey_start", 0.9)
    await chat.say("KR", "tool_choice", 1.0, choice="KR")
    reply = await chat.say('/tool_choice{"choice": "stop"}', "tool_choice", 1.0, choice="stop")
    assert "dừng" in reply
    await chat.say("take the survey", "survey_start", 0.9)
    await chat.say("JP", "tool_choice", 1.0, choice="JP")
    await chat.say("help, they took my passport and locked me in", "emergency_help", 1.0)
    await chat.say("construction", "nlu_fallback", 0.3)
    assert survey.count(db.get_engine(db_url)) == 0
