"""The look-up actions against the seed data, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.lookup import ActionLookupConsularContact, ActionLookupReferralPartner
from bot.directory import queries

MOFA = "+84 981 84 84 84"
CONFIRM_VI = "Vui lòng gọi điện xác nhận trước khi đến"
CONFIRM_EN = "Please confirm by calling before you go"


def tracker(
    lang: str = "vi",
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
    intent: str = "consular_contact",
    text: str = "",
) -> Tracker:
    return Tracker(
        sender_id="directory-test",
        slots={"language": lang, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
            "metadata": {},
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(action, t: Tracker) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    assert len(dispatcher.messages) == 1, dispatcher.messages
    return dispatcher.messages[0], events


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def payloads(message: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in message.get("buttons") or []]


# --------------------------------------------------------------------------- consular


async def test_consular_korea_vi_puts_citizen_protection_first(loaded_url: str) -> None:
    message, events = await run(ActionLookupConsularContact(), tracker(entities={"country": "KR"}))
    text = message["text"]
    assert "Đại sứ quán Việt Nam tại Hàn Quốc" in text
    assert "Ban Quản lý lao động Việt Nam tại Hàn Quốc" in text
    assert text.index("+82 10-6315-6618") < text.index("+82 10-3248-6886")
    assert "Bảo hộ công dân (khẩn cấp): +82 10-6315-6618" in text
    assert CONFIRM_VI in text  # both numbers are LOW in content.md
    assert "Nguồn: vietnammoi.vn" in text and "Kiểm tra lần cuối: 30 thg 11, 2026" in text
    assert MOFA in text
    assert slots_set(events)["country"] == "KR"


async def test_consular_city_alone_finds_country_and_narrows_en(loaded_url: str) -> None:
    message, events = await run(ActionLookupConsularContact(), tracker("en", entities={"city": "Osaka"}))
    text = message["text"]
    assert "Consulate General of Viet Nam in Osaka" in text
    assert "+81 90-4769-6789" in text
    assert "+81 80-3590-9136" not in text  # Tokyo left out when the city is known
    # MEDIUM since the Ministry's January 2024 notice: no "confirm" wording.
    assert CONFIRM_EN not in text and "Last checked: Nov 30, 2026" in text
    assert slots_set(events) == {
        "country": "JP",
        "city": "Osaka",
        "topic": "consular_contact",
        "requested_slot": None,
    }


async def test_consular_city_without_office_lists_the_country(loaded_url: str) -> None:
    message, _ = await run(
        ActionLookupConsularContact(), tracker("en", entities={"country": "KR", "city": "Daegu"})
    )
    assert "I have no office listed in Daegu" in message["text"]
    assert "+82 10-6315-6618" in message["text"]


async def test_consular_country_from_slot_when_message_has_none(loaded_url: str) -> None:
    message, _ = await run(ActionLookupConsularContact(), tracker("en", slots={"country": "TW"}))
    assert "Vietnam Economic and Cultural Office in Taipei" in message["text"]
    assert "+886 933 262 836" in message["text"]


async def test_consular_asks_for_country_with_buttons(loaded_url: str) -> None:
    message, events = await run(ActionLookupConsularContact(), tracker("vi"))
    assert "Bạn đang ở nước nào?" in message["text"]
    assert payloads(message) == [
        f'/consular_contact{{"country":"{c}"}}' for c in ("KR", "JP", "TW", "MY", "SA", "AE", "DE")
    ]
    assert message["buttons"][0]["title"] == "Hàn Quốc"
    assert "country" not in slots_set(events)


async def test_consular_no_office_gives_national_fallback(loaded_url: str) -> None:
    message, _ = await run(ActionLookupConsularContact(), tracker("en", entities={"country": "SG"}))
    text = message["text"]
    assert "I have no checked contact for a Vietnamese mission in Singapore yet." in text
    assert MOFA in text
    assert "Department of Overseas Labour" in text


# --------------------------------------------------------------------------- partners


async def test_partners_same_province_first_then_nationwide(loaded_url: str) -> None:
    # "Yên Bái" is a former province: it is now part of Lào Cai.
    message, events = await run(
        ActionLookupReferralPartner(),
        tracker(
            "vi", intent="referral_partner", entities={"need": "trafficking_support", "province": "Yên Bái"}
        ),
    )
    text = message["text"]
    assert 'Nơi hỗ trợ "Hỗ trợ nạn nhân mua bán người" cho Lào Cai' in text
    assert text.index("Hagar Việt Nam") < text.index("Pacific Links") < text.index("111")
    # Peace House is listed for shelter only: 111 (HIGH) serves trafficking support nationwide.
    assert "Ngôi nhà Bình yên" not in text
    assert payloads(message) == []
    assert slots_set(events) == {
        "topic": "referral_partner",
        "requested_slot": None,
        "need": "trafficking_support",
        "province": "Lào Cai",
        "country": None,
        "page": None,
    }


async def test_partners_page_two_shows_low_confidence_wording(loaded_url: str) -> None:
    message, _ = await run(
        ActionLookupReferralPartner(),
        tracker(
            "vi",
            intent="referral_partner",
            entities={"need": "legal_aid", "province": "Nghệ An"},
        ),
    )
    assert CONFIRM_VI in message["text"]  # the Nghệ An MRC (LOW) comes first
    assert payloads(message) == ['/referral_partner{"need":"legal_aid","province":"Nghệ An","page":"2"}']
    message, _ = await run(
        ActionLookupReferralPartner(),
        tracker(
            "vi",
            intent="referral_partner",
            entities={"need": "legal_aid", "province": "Nghệ An", "page": "2"},
        ),
    )
    text = message["text"]
    assert "4. **Đường dây nóng trợ giúp pháp lý" in text and "1800 1233" in text
    assert payloads(message) == []


async def test_partners_in_host_country_en(loaded_url: str) -> None:
    message, events = await run(
        ActionLookupReferralPartner(),
        tracker(
            "en", intent="referral_partner", entities={"need": "insurance_claims"}, slots={"country": "KR"}
        ),
    )
    assert 'Help with "Insurance claims" for South Korea' in message["text"]
    assert "Samsung Fire & Marine" in message["text"] and "1600-0266" in message["text"]
    assert "02-2119-2400" not in message["text"]
    assert "Source: ai.bznav.com" in message["text"]
    assert slots_set(events)["country"] == "KR"


async def test_partners_no_result_gives_fallback_vi(loaded_url: str) -> None:
    message, _ = await run(
        ActionLookupReferralPartner(),
        tracker(
            "vi", intent="referral_partner", entities={"need": "insurance_claims", "province": "Hà Tĩnh"}
        ),
    )
    text = message["text"]
    assert 'chưa có tổ chức nào hỗ trợ "Bảo hộ' not in text
    assert 'Xin lỗi, danh sách của tôi chưa có tổ chức nào hỗ trợ "Bảo hiểm" ở Hà Tĩnh.' in text
    assert MOFA in text and "Cục Quản lý lao động ngoài nước" in text


async def test_partners_asks_for_need_with_buttons(loaded_url: str) -> None:
    message, events = await run(
        ActionLookupReferralPartner(),
        tracker("en", intent="referral_partner", entities={"province": "Hà Tĩnh"}),
    )
    assert message["text"] == "What kind of help are you looking for?"
    assert '/referral_partner{"need":"legal_aid"}' in payloads(message)
    assert len(payloads(message)) == 10
    assert slots_set(events)["province"] == "Hà Tĩnh"


async def test_partners_asks_for_place_then_nationwide_button_works(loaded_url: str) -> None:
    message, events = await run(
        ActionLookupReferralPartner(),
        tracker("vi", intent="referral_partner", entities={"need": "loans"}),
    )
    assert "Bạn đang ở tỉnh, thành nào" in message["text"]
    assert payloads(message) == ['/referral_partner{"need":"loans","province":"nationwide"}']
    # The question is pending: the next message naming a place answers it.
    assert slots_set(events) == {"need": "loans", "topic": "referral_partner", "requested_slot": "province"}

    message, _ = await run(
        ActionLookupReferralPartner(),
        tracker("vi", intent="referral_partner", entities={"need": "loans", "province": "nationwide"}),
    )
    assert "Ngân hàng Chính sách xã hội" in message["text"]
    assert "cho toàn quốc" in message["text"]


async def test_new_place_in_message_replaces_remembered_one(loaded_url: str) -> None:
    message, events = await run(
        ActionLookupReferralPartner(),
        tracker(
            "en",
            intent="referral_partner",
            entities={"province": "Nghệ An"},
            slots={"need": "legal_aid", "country": "JP"},
        ),
    )
    assert "Nghe An Employment Service Centre" in message["text"]
    assert "FRESC" not in message["text"]
    assert slots_set(events)["country"] is None


async def test_queries_run_off_the_event_loop_thread(
    loaded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    original = queries.find_partners

    def spy(*args: Any, **kwargs: Any):
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(queries, "find_partners", spy)
    await run(
        ActionLookupReferralPartner(),
        tracker("en", intent="referral_partner", entities={"need": "legal_aid", "province": "Hà Tĩnh"}),
    )
    assert threads and threads[0] is not threading.current_thread()


async def test_unreachable_directory_still_gives_fallback(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty database: the tables were never created.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    message, _ = await run(ActionLookupConsularContact(), tracker("en", entities={"country": "KR"}))
    assert "Sorry, I cannot open the directory right now." in message["text"]
    assert MOFA in message["text"]


# ------------------------------------------------------------ the issue's example messages


def tracker_from_message(text: str, intent: str, lang: str) -> Tracker:
    """Entities as the NLU extractor's place finder reads them from the message."""
    from bot.vietnamese.places import extract_places

    entities = {kind: match.value for kind, match in extract_places(text)}
    return tracker(lang, entities=entities, intent=intent, text=text)


async def test_issue_messages_get_the_expected_answers(loaded_url: str) -> None:
    message, _ = await run(
        ActionLookupConsularContact(),
        tracker_from_message("số điện thoại đại sứ quán ở Hàn", "consular_contact", "vi"),
    )
    assert "Đại sứ quán Việt Nam tại Hàn Quốc" in message["text"]
    assert "+82 10-6315-6618" in message["text"]

    message, _ = await run(
        ActionLookupConsularContact(),
        tracker_from_message("dia chi lanh su quan o osaka", "consular_contact", "vi"),
    )
    assert "Tổng Lãnh sự quán Việt Nam tại Osaka" in message["text"]
    assert "+81 90-4769-6789" in message["text"]

    message, events = await run(
        ActionLookupReferralPartner(),
        tracker_from_message("ở Hà Tĩnh có tổ chức nào hỗ trợ lao động về nước", "referral_partner", "vi"),
    )
    assert message["text"] == "Bạn cần hỗ trợ về việc gì?"
    assert '/referral_partner{"need":"job_placement"}' in payloads(message)
    assert slots_set(events)["province"] == "Hà Tĩnh"

    # The user taps "Tìm việc làm": the remembered province is used.
    message, _ = await run(
        ActionLookupReferralPartner(),
        tracker(
            "vi", intent="referral_partner", entities={"need": "job_placement"}, slots={"province": "Hà Tĩnh"}
        ),
    )
    assert "Trung tâm Dịch vụ việc làm của tỉnh, thành phố nơi bạn sống" in message["text"]
    assert "Hỗ trợ trên toàn quốc" in message["text"]


# ------------------------------------------- conversations over several turns (issue 8)

from actions.answer import ActionAnswerTopic  # noqa: E402
from actions.fallback import ActionFallbackSuggest  # noqa: E402
from actions.urgent import ActionUrgentFollowUp  # noqa: E402


def _action_for(intent: str):
    """The action data/rules/topics.yml runs for an intent (the urgent card itself is
    rendered in-process by the Rasa server; its follow-up action runs here)."""
    return {
        "consular_contact": ActionLookupConsularContact,
        "referral_partner": ActionLookupReferralPartner,
        "nlu_fallback": ActionFallbackSuggest,
        "emergency_help": ActionUrgentFollowUp,
    }.get(intent, ActionAnswerTopic)()


class Chat:
    """A conversation at the tracker level: slots set by the actions' events and by the
    domain's from_entity mappings carry over, as the Rasa server carries them."""

    def __init__(self, lang: str = "vi") -> None:
        self.slots: dict[str, Any] = {"language": lang}
        self.events: list[dict[str, Any]] = []

    async def say(self, text: str, intent: str, confidence: float = 0.9, **parse: Any) -> str:
        from bot.vietnamese.places import extract_places

        found = {} if text.startswith("/") else {kind: m.value for kind, m in extract_places(text)}
        found.update(parse.pop("entities", {}))
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": [{"entity": k, "value": v} for k, v in found.items()],
            "metadata": {},
            **parse,
        }
        for slot in ("country", "province", "city", "need"):
            if slot in found:
                self.slots[slot] = found[slot]
        user = {"event": "user", "text": text, "parse_data": latest}
        tr = Tracker("chat", dict(self.slots), latest, self.events + [user], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = await _action_for(intent).run(dispatcher, tr, {})
        self.events += [user, *events]
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.messages = dispatcher.messages
        return "\n\n".join(m.get("text") or "" for m in dispatcher.messages)


async def test_the_country_typed_after_the_question_gets_the_embassy(loaded_url: str) -> None:
    chat = Chat("vi")
    assert "Bạn đang ở nước nào?" in await chat.say("cho minh xin so dai su quan", "consular_contact")
    assert chat.slots["requested_slot"] == "country"
    # The classifier reads "han quoc" as the Korean insurance question.
    reply = await chat.say("han quoc", "korea_insurance_refund", 0.55)
    assert "Đại sứ quán Việt Nam tại Hàn Quốc" in reply
    assert "Tiền bảo hiểm" not in reply
    assert chat.slots["requested_slot"] is None and chat.slots["country"] == "KR"


async def test_an_unknown_country_is_asked_once_more_then_the_user_is_let_go(loaded_url: str) -> None:
    chat = Chat("vi")
    await chat.say("cho tôi số đại sứ quán", "consular_contact")
    reply = await chat.say("xyzzy", "nlu_fallback", 0.3)
    assert reply.startswith("Xin lỗi, tôi chưa nhận ra tên này.")
    assert "Bạn đang ở nước nào?" in reply
    reply = await chat.say("xyzzy", "nlu_fallback", 0.3)
    assert "tôi chưa nhận ra tên này" not in reply
    assert chat.slots["requested_slot"] is None


async def test_another_question_while_a_lookup_waits_is_answered_and_the_lookup_dropped(
    loaded_url: str,
) -> None:
    chat = Chat("vi")
    await chat.say("cho tôi số đại sứ quán", "consular_contact")
    reply = await chat.say("làm sao lấy lại tiền ký quỹ", "deposit_refund", 0.99)
    assert reply.startswith("**Lấy lại tiền ký quỹ**")
    assert chat.slots["requested_slot"] is None and chat.slots["topic"] == "deposit_refund"


async def test_a_province_after_the_job_card_gets_the_centres_there(loaded_url: str) -> None:
    chat = Chat("vi")
    reply = await chat.say("em muốn tìm trung tâm giới thiệu việc làm", "job_search", 0.99)
    assert reply.startswith("**Tìm việc làm sau khi về nước**")
    assert "Cho tôi biết bạn ở tỉnh nào" in reply
    reply = await chat.say("nghe an", "skills_training", 0.4)
    assert 'Nơi hỗ trợ "Tìm việc làm" cho Nghệ An' in reply
    assert "Trung tâm Dịch vụ việc làm Nghệ An" in reply


async def test_a_place_named_in_the_question_gets_the_card_then_three_local_contacts(loaded_url: str) -> None:
    chat = Chat("vi")
    reply = await chat.say(
        "Ở Nghệ An có trung tâm nào giúp người lao động về nước tìm việc không?",
        "job_search",
        0.95,
        entities={"province": "Nghệ An"},
    )
    assert reply.startswith("**Tìm việc làm sau khi về nước**")
    contacts = reply.split('Nơi hỗ trợ "Tìm việc làm" cho Nghệ An:')[1]
    assert "1. **" in contacts and "3. **" in contacts and "4. **" not in contacts


async def test_a_card_with_local_contacts_ends_with_them_and_the_more_button(loaded_url: str) -> None:
    from bot.directory.lookups import partner_lookup

    chat = Chat("vi")
    reply = await chat.say("em buồn quá, ở Hà Nội có ai tư vấn tâm lý không", "psychosocial_support", 0.9)
    assert reply.startswith("**") and 'Nơi hỗ trợ "Tư vấn tâm lý" cho Hà Nội:' in reply
    # The card, then exactly the first page of the look-up (3 contacts, "more" if there are more).
    expected = partner_lookup(loaded_url, "vi", "counselling", "Hà Nội", None, 1)
    assert reply.endswith(expected.text) and "4. **" not in reply
    assert chat.messages[-1]["buttons"] == expected.buttons
    if expected.buttons:
        assert expected.buttons[0]["title"] == "Xem thêm"


async def test_and_in_japan_gives_the_japanese_variant_of_the_question(loaded_url: str) -> None:
    chat = Chat("en")
    reply = await chat.say(
        "how do I get my insurance money back when leaving Korea", "korea_insurance_refund"
    )
    assert reply.startswith("**Insurance money and pension refund when you leave Korea (EPS)**")
    reply = await chat.say("and in Japan?", "nlu_fallback", 0.3)
    assert reply.startswith("**Claiming nenkin (lump-sum withdrawal) when you leave Japan**")
    assert chat.slots["topic"] == "japan_pension_refund"


async def test_embassy_in_korea_then_japan(loaded_url: str) -> None:
    chat = Chat("vi")
    assert "Đại sứ quán Việt Nam tại Hàn Quốc" in await chat.say(
        "số điện thoại đại sứ quán ở Hàn Quốc", "consular_contact"
    )
    reply = await chat.say("còn ở Nhật thì sao?", "nlu_fallback", 0.3)
    assert "Đại sứ quán Việt Nam tại Nhật Bản" in reply
    assert "Hàn Quốc" not in reply


async def test_a_new_topic_switches_and_a_detail_stays_in_the_topic(loaded_url: str) -> None:
    chat = Chat("vi")
    await chat.say("thanh lý hợp đồng thế nào", "contract_liquidation", 0.99)
    assert (await chat.say("thế còn tiền ký quỹ?", "deposit_refund", 0.99)).startswith(
        "**Lấy lại tiền ký quỹ**"
    )
    assert (await chat.say("cần giấy tờ gì?", "help_menu", 0.55)).startswith("**Lấy lại tiền ký quỹ**")


async def test_the_urgent_answer_is_followed_by_the_partners_for_the_place(loaded_url: str) -> None:
    chat = Chat("vi")
    reply = await chat.say("tổ chức hỗ trợ nạn nhân mua bán người ở Hà Nội", "emergency_help", 1.0)
    assert reply.startswith('Nơi hỗ trợ "Hỗ trợ nạn nhân mua bán người" cho Hà Nội:')
    assert chat.slots["topic"] == "emergency_help"
    reply = await Chat("vi").say("Nhà tạm lánh cho phụ nữ bị bạo lực ở đâu?", "emergency_help", 1.0)
    assert reply.startswith('Nơi hỗ trợ "Nơi tạm lánh" cho toàn quốc:')


async def test_danger_ends_a_pending_lookup(loaded_url: str) -> None:
    chat = Chat("vi")
    await chat.say("cho tôi số đại sứ quán", "consular_contact")
    await chat.say("chủ đánh em, em đang ở Hàn Quốc", "emergency_help", 1.0)
    assert chat.slots["requested_slot"] is None and chat.slots["topic"] == "emergency_help"
    # The follow-up for the named country: the missions there.
    assert "Đại sứ quán Việt Nam tại Hàn Quốc" in str(chat.messages)


async def test_fact_questions_are_answered_from_the_cards(loaded_url: str) -> None:
    chat = Chat("vi")
    reply = await chat.say("số điện thoại tổng đài bảo hộ công dân của bộ ngoại giao", "out_of_scope", 0.76)
    assert reply.startswith("Thông tin tôi có về việc này:")
    assert "+84 981 84 84 84" in reply
    assert chat.slots["topic"] in ("consular_contact", "emergency_help"), "the passage's topic is remembered"
    reply = await chat.say("ở Hàn có số nào tư vấn cho lao động nước ngoài", "referral_partner", 0.68)
    assert "1577 0071" in reply
    chat = Chat("vi")
    reply = await chat.say("ở Hàn có số nào tư vấn cho lao động nước ngoài", "nlu_fallback", 0.3)
    assert "1577 0071" in reply
    payloads_ = [b["payload"] for m in chat.messages for b in m.get("buttons") or []]
    assert len(payloads_) == len(set(payloads_))


async def test_the_need_typed_after_the_question_keeps_the_place(loaded_url: str) -> None:
    chat = Chat("vi")
    assert "Bạn cần hỗ trợ về việc gì?" in await chat.say(
        "ở Hà Tĩnh có tổ chức nào hỗ trợ lao động về nước", "referral_partner", 0.9
    )
    assert chat.slots["requested_slot"] == "need"
    reply = await chat.say("trợ giúp pháp lý ạ", "legal_aid", 0.7)
    assert 'Nơi hỗ trợ "Trợ giúp pháp lý" cho Hà Tĩnh' in reply


async def test_a_lookup_with_other_needs_offers_them_after_the_contacts(loaded_url: str) -> None:
    chat = Chat("vi")
    reply = await chat.say(
        "số đại sứ quán ở Hàn Quốc, và làm sao lấy lại tiền ký quỹ",
        "consular_contact",
        0.8,
        also_asked=["deposit_refund", "consular_contact"],
    )
    assert reply.index("Đại sứ quán Việt Nam tại Hàn Quốc") < reply.index(
        "Bạn cũng hỏi về: lấy lại tiền ký quỹ"
    )
    assert chat.messages[-1]["buttons"] == [{"title": "Lấy lại tiền ký quỹ", "payload": "/deposit_refund"}]
