"""End to end: short conversations through the REST webhook of a running `python -m bot run`
(Rasa with the trained model, the in-process urgent card, the action server, SQLite stores),
one per failure of issue 8 that the dialogue fixes. Each asserts the reply text.

Skipped when no trained model is in models/ (run `make train`), unless REQUIRE_SERVICES=1.
Slow (the server loads TensorFlow once for the module): marked `e2e`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from bot.vietnamese.text import fold
from tests.fakes.bot_run import bot_run, require_model

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
MOFA_HOTLINE = "+84 981 84 84 84"


def title(card_id: str, lang: str) -> str:
    text = (REPO_ROOT / "content" / lang / f"{card_id}.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---")[1])["title"]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_model()
    tmp = tmp_path_factory.mktemp("conversations")
    with bot_run(tmp, {"SENDER_ID_SECRET": "conversations-secret"}, drop=("TELEGRAM_", "ZALO_")) as run:
        yield run.base


class Chat:
    """One conversation over the REST webhook; `say` returns the whole reply as text,
    button titles in [brackets]."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url + "/webhooks/rest/webhook"
        self.sender = f"conv-{uuid.uuid4().hex}"

    def say(self, text: str) -> str:
        response = httpx.post(self.url, json={"sender": self.sender, "message": text}, timeout=120)
        response.raise_for_status()
        parts = []
        for message in response.json():
            if message.get("text"):
                parts.append(message["text"])
            parts += [f"[{b['title']}]" for b in message.get("buttons") or []]
        return "\n".join(parts)


def has(reply: str, *snippets: str) -> bool:
    """Every snippet in the reply, compared with diacritics folded (as TEAM.md specifies)."""
    folded = fold(reply).lower()
    return all(fold(s).lower() in folded for s in snippets)


# 1. Replies to the bot's own questions
def test_the_country_typed_after_which_country_gets_the_embassy(base_url):
    chat = Chat(base_url)
    assert has(chat.say("cho minh xin so dai su quan"), "Bạn đang ở nước nào?")
    reply = chat.say("han quoc")
    assert has(reply, "Đại sứ quán Việt Nam tại Hàn Quốc")
    assert title("korea_insurance_refund", "vi") not in reply


def test_an_unknown_name_is_asked_again_and_another_question_is_answered(base_url):
    chat = Chat(base_url)
    chat.say("cho tôi xin số đại sứ quán")
    assert has(chat.say("xyzzy"), "Xin lỗi, tôi chưa nhận ra tên này.", "Bạn đang ở nước nào?")
    assert chat.say("làm sao lấy lại tiền ký quỹ").startswith(f"**{title('deposit_refund', 'vi')}**")


def test_a_province_after_the_job_card_gets_the_centres_there(base_url):
    chat = Chat(base_url)
    assert has(chat.say("em muốn tìm trung tâm giới thiệu việc làm"), title("job_search", "vi"))
    assert has(chat.say("Nghệ An"), 'Nơi hỗ trợ "Tìm việc làm" cho Nghệ An')


# 2. A place named in the question
def test_a_place_in_the_question_gets_the_card_then_local_contacts(base_url):
    reply = Chat(base_url).say("Ở Nghệ An có trung tâm nào giúp người lao động về nước tìm việc không?")
    card, contacts = title("job_search", "vi"), 'Nơi hỗ trợ "Tìm việc làm" cho Nghệ An'
    assert has(reply, card, contacts)
    assert reply.index(card) < reply.index(contacts)


# 4. Follow-ups keep the topic
def test_and_in_japan_gives_the_japanese_variant(base_url):
    chat = Chat(base_url)
    assert has(
        chat.say("làm sao lấy lại tiền bảo hiểm khi rời Hàn Quốc"), title("korea_insurance_refund", "vi")
    )
    assert has(chat.say("còn ở Nhật thì sao?"), title("japan_pension_refund", "vi"))
    chat = Chat(base_url)
    chat.say("how do I get my insurance money back when leaving Korea")
    assert has(chat.say("and in Japan?"), title("japan_pension_refund", "en"))


def test_embassy_in_korea_then_in_japan(base_url):
    chat = Chat(base_url)
    assert has(chat.say("số điện thoại đại sứ quán ở Hàn Quốc"), "Đại sứ quán Việt Nam tại Hàn Quốc")
    reply = chat.say("còn ở Nhật thì sao?")
    assert has(reply, "Đại sứ quán Việt Nam tại Nhật Bản")
    assert "Hàn Quốc" not in reply


def test_a_new_topic_switches_and_a_detail_stays_within_the_topic(base_url):
    chat = Chat(base_url)
    chat.say("thanh lý hợp đồng thế nào")
    assert chat.say("thế còn tiền ký quỹ?").startswith(f"**{title('deposit_refund', 'vi')}**")
    assert chat.say("cần giấy tờ gì?").startswith(f"**{title('deposit_refund', 'vi')}**")


# 6/7. Danger first, then the look-up for that place
def test_danger_with_a_place_gets_the_urgent_card_then_the_partners(base_url):
    reply = Chat(base_url).say("tổ chức hỗ trợ nạn nhân mua bán người ở Hà Nội")
    urgent, partners = f"**{title('emergency_help', 'vi')}**", "cho Hà Nội"
    assert reply.startswith(urgent) and MOFA_HOTLINE in reply
    assert has(reply, 'Nơi hỗ trợ "Hỗ trợ nạn nhân mua bán người" cho Hà Nội')
    assert reply.index(urgent) < reply.index(partners)


def test_danger_ends_a_pending_question(base_url):
    chat = Chat(base_url)
    chat.say("cho tôi xin số đại sứ quán")
    assert chat.say("ông chủ nhốt em trong phòng, cứu em").startswith(f"**{title('emergency_help', 'vi')}**")
    # The question about the country is no longer pending: "Nghệ An" is not read as its answer.
    assert "Bạn đang ở nước nào?" not in chat.say("Nghệ An")


# 9. Fact questions
def test_fact_questions_are_answered_from_the_cards(base_url):
    reply = Chat(base_url).say("số điện thoại tổng đài bảo hộ công dân của bộ ngoại giao")
    assert MOFA_HOTLINE in reply and title("out_of_scope", "vi") not in reply
    assert "1577 0071" in Chat(base_url).say("ở Hàn có số nào tư vấn cho lao động nước ngoài")


# 10. Misreads
def test_small_misreads(base_url):
    eps = Chat(base_url).say("eps")
    assert "(EPS)" in eps and "Xin lỗi, tôi chưa hiểu" not in eps and "chưa chắc" not in eps
    buttons = [line for line in eps.splitlines() if line.startswith("[")]
    assert len(buttons) == len(set(buttons)), "no button twice"
    assert Chat(base_url).say("ok").startswith(f"**{title('thanks', 'vi')}**")
    poem = Chat(base_url).say("write me a poem")
    assert title("privacy", "en") not in poem and title("out_of_scope", "en") in poem
    insult = Chat(base_url).say("you are stupid")
    assert insult.startswith("I am sorry if my answers have not helped.")
    assert title("bot_challenge", "en") not in insult


def test_where_answers_come_from_gives_the_cards_sources(base_url):
    chat = Chat(base_url)
    chat.say("how do I get my deposit back")
    reply = chat.say("where is this information from?")
    assert reply.startswith(f'The answer about "{title("deposit_refund", "en")}" is based on these sources')
    assert title("privacy", "en") not in reply
