"""Turn a topic or card id into the reply the user sees, in their language.

The single place that combines a content card with the fixed UI buttons, used by the
answer action (action server), the in-process emergency response (Rasa server) and the
CLI alike.
"""

from __future__ import annotations

from typing import Any, cast

from bot.content import default_library, render_card
from bot.content.topics import topic_groups, topic_ids
from bot.i18n import gettext
from bot.payloads import payload

Reply = dict[str, Any]

# Buttons that belong to a topic but are actions, not cards.
_ACTION_BUTTONS = {
    "privacy": [("Delete my data", "/forget_me")],
    "change_language": [
        ("Tiếng Việt", '/change_language{"language":"vi"}'),
        ("English", '/change_language{"language":"en"}'),
    ],
}
MENU_CARD = "help_menu"
MAX_ALSO_ASKED = 3
# 👍 / 👎 after an answer card (actions/feedback.py records them). Not after the urgent
# card (someone in danger is not asked to rate it) nor after conversational cards
# (greetings, menu, language, privacy...), which answer no question.
VOTE_UP_INTENT = "feedback_up"
VOTE_DOWN_INTENT = "feedback_down"
VOTE_TITLES = {VOTE_UP_INTENT: "👍", VOTE_DOWN_INTENT: "👎"}
NO_VOTE_CARDS = {"emergency_help"}
META_GROUP = "meta"


def card_reply(card_id: str, lang: str, country: str | None = None) -> Reply | None:
    """The card rendered with its follow-up buttons, or None if no such card.

    `country` (the tracker's ISO code, e.g. "KR") puts that country's lines first and
    leaves out other countries' lines (see `bot.content.render`).
    """
    library = default_library()
    card = library.get(card_id, lang)
    if card is None:
        return None
    reply = render_card(card, library, country)
    buttons: list[dict[str, str]] = list(cast("list[dict[str, str]]", reply.get("buttons") or []))
    for title, action in _ACTION_BUTTONS.get(card_id, []):
        buttons.append({"title": gettext(lang, title), "payload": action})
    reply["buttons"] = buttons + vote_buttons(card_id)
    return reply


def takes_votes(card_id: str) -> bool:
    """True for a card that answers a question (not the urgent card, not a meta card)."""
    return card_id not in NO_VOTE_CARDS and card_id not in set(topic_groups().get(META_GROUP, []))


def vote_buttons(card_id: str) -> list[dict[str, str]]:
    """👍 and 👎 for the card, one tap each; none for cards that take no vote."""
    if not takes_votes(card_id):
        return []
    return [
        {"title": title, "payload": payload(intent, card=card_id)} for intent, title in VOTE_TITLES.items()
    ]


def menu_button(lang: str) -> dict[str, str]:
    return {"title": gettext(lang, "Main menu"), "payload": f"/{MENU_CARD}"}


def card_title(card_id: str, lang: str) -> str | None:
    card = default_library().get(card_id, lang)
    return card.title if card else None


# What each topic is about, in the words people use for it: "Bạn cũng hỏi về: lương bị nợ,
# khó khăn với chủ · lấy lại tiền ký quỹ" names the user's own need (card titles are
# headlines: "Khó khăn với chủ ở nước ngoài" does not say "wages"). The buttons keep the
# card titles. The dialogue also reads these words: "còn tiền lương thì sao?" after that
# offer picks the wages topic (actions/dialogue.py).
TOPIC_LABELS = {
    "contract_liquidation": "contract liquidation",
    "deposit_refund": "getting the deposit back",
    "early_return": "coming home early",
    "overstay_irregular": "overstaying or leaving the workplace",
    "arrival_checklist": "first steps after coming home",
    "passport_documents": "passport and papers",
    "remigration": "working abroad again",
    "social_insurance_vn": "Vietnamese social insurance",
    "korea_insurance_refund": "Korean insurance refunds",
    "japan_pension_refund": "Japanese pension refund (nenkin)",
    "other_country_benefits": "insurance refunds in other countries",
    "work_injury": "injury or illness at work",
    "health_insurance_return": "health insurance after coming home",
    "complaint_agency": "complaints about the sending company or broker",
    "complaint_employer": "unpaid wages, problems with the employer",
    "emergency_help": "urgent help",
    "legal_aid": "free legal aid",
    "job_scams": "job scams",
    "domestic_workers": "domestic and care work",
    "job_search": "finding a job",
    "skills_training": "training and courses",
    "business_loan": "loans and starting a business",
    "financial_planning": "managing your money",
    "psychosocial_support": "stress and feeling down",
    "voluntary_social_insurance": "voluntary social insurance",
    "health_insurance_residence": "health insurance where you live",
    "renter_rights": "renting a room",
    "worker_groups": "worker groups and networks",
    "consular_contact": "the embassy or consulate",
    "referral_partner": "organisations that can help",
}


def topic_label(topic: str, lang: str) -> str | None:
    """The topic in everyday words (`TOPIC_LABELS`), else its card's title."""
    label = TOPIC_LABELS.get(topic)
    return gettext(lang, label) if label else card_title(topic, lang)


def also_asked_reply(topics: list[str], lang: str, answered: set[str]) -> Reply | None:
    """ "You also asked about: a · b" (everyday labels) with one button per other topic asked in the same
    message (at most 3, each once), or None. Shared by the in-process urgent answer
    and the answer action."""
    known = set(topic_ids())
    titles: list[str] = []
    buttons: list[dict[str, str]] = []
    for topic in topics:
        payload = f"/{topic}"
        if topic in answered or topic not in known or payload in {b["payload"] for b in buttons}:
            continue
        title = card_title(topic, lang)
        if not title:
            continue
        titles.append(topic_label(topic, lang) or title)
        buttons.append({"title": title, "payload": payload})
        if len(buttons) == MAX_ALSO_ASKED:
            break
    if not buttons:
        return None
    return {
        "text": gettext(lang, "You also asked about: {topics}", topics=" · ".join(titles)),
        "buttons": buttons,
    }
