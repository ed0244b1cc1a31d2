"""Which answer a message gets in the light of the conversation so far.

Why: the classifier sees one message. "Hàn Quốc" after "Bạn đang ở nước nào?" is the
answer to that question, not a question about Korean insurance; "còn ở Nhật thì sao?"
asks the last question again for Japan; "cần giấy tờ gì?" asks within the last topic.
This module decides that from the slots (`topic`, `requested_slot`, places, `need`) and
the latest message, in plain Python so that every rule is tested without a Rasa server.

The pending question is Rasa's `requested_slot` (as a form would set it): the look-up
that asked sets it to `country`, `province` or `need`, and the next message that names
one fills it whatever intent the classifier gave. A reply that names nothing and is not
clearly another question gets the question once more; a clear other question is
answered and the pending look-up dropped. Emergencies never reach this module (the
urgent card is rendered in-process and its follow-up action clears the question).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.content.topics import topic_groups, topic_ids
from bot.directory.lookups import city_country, city_name, country_code, need_key, province_name
from bot.payloads import FALLBACK_INTENT
from bot.vietnamese.places import extract_places
from bot.vietnamese.text import fold

CONSULAR = "consular_contact"
URGENT_TOPIC = "emergency_help"
REFERRAL = "referral_partner"
LOOKUP_TOPICS = (CONSULAR, REFERRAL)
PLACE_SLOTS = ("country", "province", "city")
# Slot values a pending question may wait for.
PENDING_SLOTS = ("country", "province", "need")
# A question asked only as an offer (after a topic card): no second asking.
SOFT_PENDING = "soft"
# "What was missing?" after a 👎 (actions/feedback.py): the next message is its answer
# unless it clearly moves on.
FEEDBACK_PENDING = "feedback"
MOVING_ON_INTENTS = ("greet", "goodbye", "thanks", "help_menu")
# fundletter: a guided tool's question ("fund:reason", "letter:amount"; actions/tools.py).
TOOL_PENDING = ("fund", "letter")

# Insurance refunds differ by host country: the same question for another country is
# that country's topic.
COUNTRY_TOPIC_FAMILY = {
    "korea_insurance_refund": "KR",
    "japan_pension_refund": "JP",
    "other_country_benefits": None,
}
# Sub-cards written for one host country are named <topic>_<slug>.
COUNTRY_SLUGS = {"KR": "korea", "JP": "japan", "TW": "taiwan", "MY": "malaysia"}

# Words that may surround a place in an answer to "which country / province?".
_FILLERS = set(
    "em toi minh anh chi con dang o tai ben sang nuoc tinh thanh pho tp a nha nhe nhe oi "
    "la thi i im am in at from the country province city my its it s neu if m re ve ll".split()
)
_WORD = re.compile(r"[a-z0-9]+")
# "còn ở Nhật thì sao?", "thế còn…", "and in Japan?", "what about Taiwan?"
_FOLLOW_UP = re.compile(
    r"^(?:(?:the|vay|the thi|con)\s+con\b|con\b|and\b|what about\b|how about\b)"
    r"|\b(?:thi sao|the nao|thi the nao|sao|what about|co khong|khong|is there one|any)\s*\??\s*$"
)
# A question that only makes sense within a topic already being discussed.
_WITHIN_TOPIC = re.compile(
    r"\b(?:giay to|ho so|thu tuc|mat bao lau|bao lau|bao nhieu tien|het bao nhieu|nop o dau|"
    r"lam o dau|what documents|which documents|what papers|documents|how long|how much|"
    r"where do i apply|thoi han|han chot|han nop|khi nao|bao gio|deadline|when|"
    r"mat phi|mien phi|ton phi|chi phi|le phi|phi|free|cost|costs|fee|fees|charge|"
    r"goi so nao|so nao|so may|so dien thoai|sdt|which number|what number|phone number|who do i call)\b"
)
# Intents that are never a detail of a topic, however the message is worded.
_NOT_WITHIN_TOPIC = {
    "ask_sources",
    "insult",
    "greet",
    "goodbye",
    "thanks",
    "bot_challenge",
    "change_language",
    "human_handoff",
    "forget_me",
    "show_card",
    "emergency_help",
}
MAX_ANSWER_WORDS = 2
# A bare acknowledgement after an answer ("ok", "uk", "vâng ạ", "got it"): not thanks and
# not a new question, so the conversation stays on its topic ("còn ở Nhật thì sao?" next
# still refers to it).
_ACKNOWLEDGEMENTS = frozenset(
    """ok oke okay okie oki okela uk uh um u uhm vang da dc duoc roi got_it alright i_see
    noted hieu_roi ok_roi ok_a da_vang vang_a ok_em ok_ad u_roi""".split()
)
# Question words around a detail ("cần giấy tờ gì?", "what documents do I need?"): with
# nothing else in the message it can only be about the current topic, however confident
# the classifier is about another one.
_DETAIL_QUESTION_WORDS = set(
    "can gi nhung nao phai mang theo co duoc khong what which do does need bring i we you".split()
)
# An offered topic ("Bạn cũng hỏi về: …") ranked at least this high, among the first
# `OFFERED_RANK` intents, is the one a reply such as "tiền ký quỹ trước" or "the job first"
# picks, even when the classifier prefers a neighbour.
OFFERED_CONFIDENCE = 0.05
OFFERED_RANK = 3
# Above this, the classifier's intent means the user asked something else (the
# FallbackClassifier threshold is 0.32; in between, the reply is more likely a vague answer).
CLEAR_INTENT_CONFIDENCE = 0.6
NAMED_TOPIC_CONFIDENCE = 0.8
MAX_WITHIN_TOPIC_WORDS = 12
# Words that ask for a diplomatic mission: "and the Vietnamese office in Taipei?" after
# the urgent card asks for the office there, not for the urgent card again.
_MISSION_WORDS = re.compile(
    r"\b(?:dai su quan|dsq|lanh su|lanh su quan|tong lanh su|van phong kinh te|ban quan ly lao dong|"
    r"embassy|consulate|consular|mission|vietnamese office|labour management board|labor management board)\b"
)


@dataclass
class Turn:
    """What the router needs of one user turn and the conversation before it."""

    text: str
    intent: str
    confidence: float = 1.0
    entities: dict[str, str] = field(default_factory=dict)
    slots: dict[str, str | None] = field(default_factory=dict)
    # User turns since the pending question was asked, this one included.
    answers_since_question: int = 1
    # The classifier's ranking of this message: (intent, confidence), best first.
    ranking: list[tuple[str, float]] = field(default_factory=list)
    # Topics the last answer offered as "you also asked about" buttons.
    offered: list[str] = field(default_factory=list)
    # The user said earlier in this conversation that they do domestic or care work.
    domestic_worker: bool = False


@dataclass
class Route:
    """What to answer: a look-up, a card, the question again, or the usual answer."""

    # "consular" | "partner" | "card" | "reask" | "missing" (after a 👎) | "tool" | "ack" | "default"
    kind: str
    card: str | None = None
    country: str | None = None
    city: str | None = None
    province: str | None = None
    need: str | None = None
    drop_pending: bool = False


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text or ""))


def _content_words(turn: Turn) -> list[str]:
    """The words of the message that are neither fillers nor a place or need it names."""
    named: set[str] = set()
    for _kind, match in extract_places(turn.text or ""):
        named.update(words(match.text))
    return [w for w in words(turn.text) if w not in _FILLERS and w not in named]


def typed_place(text: str) -> dict[str, str]:
    """A place typed alone ("nghe an", "Quảng Bình", "Osaka") when no entity was found."""
    found: dict[str, str] = {}
    province = province_name(text)
    if province:
        found["province"] = province
    # Two letters are read as an ISO code by country_code: "ok" or "em" must not be.
    country = country_code(text) if len(text.strip()) > 2 else None
    if country:
        found["country"] = country
    city = city_name(text) if city_country(city_name(text)) else None
    if city:
        found["city"] = city
    return found


def _fills(turn: Turn, slot: str) -> dict[str, str] | None:
    """The values this message gives for the pending slot, or None."""
    entities = dict(turn.entities)
    if slot == "need":
        need = need_key(entities.get("need")) or need_key(turn.text)
        return {"need": need} if need else None
    places = {k: v for k, v in entities.items() if k in PLACE_SLOTS}
    if not places and len(words(turn.text)) <= 4:
        places = typed_place(turn.text)
    return places or None


def card_for_country(topic: str, country: str | None, exists: Callable[[str], bool] | None = None) -> str:
    """The variant of a topic for a host country: Japan's nenkin for Korea's insurance;
    given `exists`, also a topic's card written for that country (a follow-up asks for
    it; a first question gets the topic's card and its buttons)."""
    if not country:
        return topic
    if topic in COUNTRY_TOPIC_FAMILY:
        for family_topic, family_country in COUNTRY_TOPIC_FAMILY.items():
            if family_country == country:
                return family_topic
        return "other_country_benefits"
    slug = COUNTRY_SLUGS.get(country)
    if exists and slug and exists(f"{topic}_{slug}"):
        return f"{topic}_{slug}"
    return topic


def _lookup_route(topic: str, values: Mapping[str, str | None], slots: Mapping[str, str | None]) -> Route:
    """Continue the look-up of `topic` with the values just given."""
    if topic == CONSULAR:
        city = city_name(values.get("city"))
        country = country_code(values.get("country")) or city_country(city)
        return Route("consular", country=country, city=city)
    if not any(values.get(slot) for slot in PLACE_SLOTS):
        # The need was what was missing: the place is the one already given.
        values = {**values, "province": slots.get("province"), "country": slots.get("country")}
    province = province_name(values.get("province"))
    country = None if province else country_code(values.get("country"))
    if not province and not country and values.get("city"):
        country = city_country(city_name(values.get("city")))
    return Route(
        "partner",
        card=topic if topic != REFERRAL else None,
        need=need_key(values.get("need")) or need_key(slots.get("need")),
        province=province,
        country=country,
    )


def route(turn: Turn) -> Route:
    """The answer this turn gets; `Route("default")` is the classifier's own answer."""
    slots = turn.slots
    topic = slots.get("topic")
    pending = slots.get("requested_slot")
    if pending and pending.split(":", 1)[0] in TOOL_PENDING:
        # The tool reads the turn itself, and says when the user has moved on.
        return Route("tool")
    if pending == FEEDBACK_PENDING:
        if _moves_on_from_feedback(turn, topic):
            return Route("default", drop_pending=True)
        return Route("missing", drop_pending=True)
    if topic and acknowledges(turn.text) and topic in _answer_topics():
        if not pending or _pending_slot(pending)[1]:
            # The offer after the card stays open: "ok" then "Nghệ An" still answers it.
            return Route("ack", card=topic)
    if pending and topic:
        slot, soft = _pending_slot(pending)
        values = _fills(turn, slot) if slot else None
        own_question = turn.intent == topic
        if values and own_question and topic in LOOKUP_TOPICS:
            # The look-up's own intent (a button, or "đại sứ quán ở Nhật"): it reads
            # the message itself, pages and all.
            return Route("default")
        if values and (own_question or len(_content_words(turn)) <= MAX_ANSWER_WORDS):
            return _lookup_route(topic, {**turn.entities, **values}, slots)
        if (
            not soft
            and not values
            and turn.answers_since_question <= 1
            and not _clearly_another_question(turn, topic)
        ):
            return Route("reask")
        followed = _follow_up(turn, topic)
        if followed:
            followed.drop_pending = True
            return followed
        return Route("default", drop_pending=True)
    picked = _picks_offered(turn)
    if picked:
        return Route("card", card=picked)
    abroad = _host_country_insurance(turn)
    if abroad:
        return abroad
    if turn.domestic_worker and turn.intent == EMPLOYER_TOPIC:
        # A caregiver or housemaid asking about their employer: the card written for them
        # (their rights differ: Taiwan's labour law leaves them out, Malaysia's EPF too).
        return Route("card", card=DOMESTIC_TOPIC)
    if topic:
        followed = _follow_up(turn, topic)
        if followed:
            return followed
    return Route("default")


DOMESTIC_TOPIC = "domestic_workers"
EMPLOYER_TOPIC = "complaint_employer"
# "em làm khán hộ công ở Đài", "giúp việc nhà", "I am a housemaid": domestic or care work.
_DOMESTIC_WORK = re.compile(
    r"\b(?:giup viec|osin|o sin|khan ho cong|cham soc (?:nguoi gia|ong|ba|cu|nguoi benh)|"
    r"trong tre|caregiver|care worker|carer|domestic (?:worker|helper)|housemaid|maid|nanny)\b"
)


def does_domestic_work(texts: list[str]) -> bool:
    """True when one of the user's messages says they do domestic or care work."""
    return any(_DOMESTIC_WORK.search(" ".join(words(text))) for text in texts)


# Close behind Vietnamese social insurance, a host country's refund topic is what "về
# nước rồi có rút được bảo hiểm không" means for someone who said they work in Taiwan.
HOST_REFUND_MIN = 0.1


def _host_country_insurance(turn: Turn) -> Route | None:
    """The host country's insurance card when the classifier is unsure between Vietnamese
    social insurance and a host-country refund, and the conversation knows the country."""
    country = country_code(turn.slots.get("country"))
    if (
        not country
        or country == "VN"
        or turn.intent != "social_insurance_vn"
        or turn.confidence >= CLEAR_INTENT_CONFIDENCE
        or any(k in turn.entities for k in PLACE_SLOTS)
    ):
        return None
    for name, confidence in turn.ranking[1:OFFERED_RANK]:
        if name in COUNTRY_TOPIC_FAMILY and confidence >= HOST_REFUND_MIN:
            return Route("card", card=card_for_country(name, country), country=country)
    return None


_NEARBY = re.compile(
    r"\b(?:gan nha|gan day|gan toi|gan em|gan minh|gan nhat|quanh day|khu vuc minh|cho minh o|"
    r"near me|nearby|near my home|near where i live|closest|nearest|close to me)\b"
)


def asks_nearby(text: str) -> bool:
    """ "Tìm giúp tôi nơi trợ giúp pháp lý gần nhà": the user asked for a place near them,
    so the province is a question to wait for (asked again once), not just an offer."""
    return bool(_NEARBY.search(" ".join(words(text))))


def _answer_topics() -> set[str]:
    return set(topic_ids()) - set(topic_groups().get("meta", []))


def _same_family(one: str, other: str) -> bool:
    """Topics named alike ("health_insurance_return", "health_insurance_residence")."""
    return one.split("_")[:2] == other.split("_")[:2]


def _picks_offered(turn: Turn) -> str | None:
    """The offered topic this message chooses: the classifier's own pick when it was
    offered, else an offered topic close behind it ("còn thẻ bhyt thì sao" after renting
    and health insurance where one lives: not health insurance on return)."""
    if turn.intent in turn.offered or (turn.text or "").startswith("/") or turn.intent in _NOT_WITHIN_TOPIC:
        return None
    current = turn.slots.get("topic")
    for name, confidence in turn.ranking[:OFFERED_RANK]:
        if name == turn.intent:
            continue
        if name in turn.offered and (confidence >= OFFERED_CONFIDENCE or _same_family(name, turn.intent)):
            return name
        if turn.offered and name == current and _same_family(name, turn.intent):
            # The topic just answered is in play too: "còn thẻ bhyt thì sao" after health
            # insurance where one lives (and renting, offered) is not about insurance on return.
            return name
    return _offered_by_name(turn)


def _label_words(topic: str) -> set[str]:
    """The distinctive words of a topic's everyday label, in both languages."""
    from bot.answers import topic_label

    found: set[str] = set()
    for lang in ("vi", "en"):
        found.update(w for w in words(topic_label(topic, lang) or "") if w not in _GENERIC_LABEL_WORDS)
    return found


# Label words too common to choose between topics ("tiền" is in deposits and wages alike).
_GENERIC_LABEL_WORDS = _FILLERS | set(
    "tien bao hiem lay lai viec lam cua va voi khi nuoc ngoai nguoi lao dong and or the a of your "
    "after where at in".split()
)
MAX_PICK_WORDS = 8


def _offered_by_name(turn: Turn) -> str | None:
    """ "còn tiền lương thì sao ạ" after "Bạn cũng hỏi về: lương bị nợ, khó khăn với chủ":
    a short reply that names one offered topic in the words of its label picks it when
    the classifier is unsure what those few words are about."""
    said = set(words(turn.text))
    if not turn.offered or len(said) > MAX_PICK_WORDS or turn.confidence >= CLEAR_INTENT_CONFIDENCE:
        return None
    overlaps = sorted(((len(said & _label_words(t)), t) for t in turn.offered), reverse=True)
    best = overlaps[0]
    if best[0] and (len(overlaps) == 1 or overlaps[1][0] < best[0]):
        return best[1]
    return None


def follow_up_words(text: str) -> bool:
    """ "còn ở Đài thì số nào", "and for Korea?", "lần 2 lấy lại thuế thì sao": worded as a
    follow-up ("còn", "and", "thì sao" ...) and short."""
    folded = " ".join(words(text))
    return bool(_FOLLOW_UP.search(folded)) and len(folded.split()) <= MAX_FOLLOW_UP_WORDS


def asks_for_mission(text: str) -> bool:
    return bool(_MISSION_WORDS.search(" ".join(words(text))))


MAX_FOLLOW_UP_WORDS = 8


def acknowledges(text: str) -> bool:
    """A bare "ok" / "uk" / "vâng ạ" / "got it": the user has read the answer."""
    key = "_".join(words(text))
    return bool(key) and key in _ACKNOWLEDGEMENTS


def _moves_on_from_feedback(turn: Turn, topic: str | None) -> bool:
    """After "what was missing?": a button, a greeting or thanks, or a confident question
    about another topic is not an answer to it."""
    if (turn.text or "").startswith("/"):
        return True
    if turn.intent in MOVING_ON_INTENTS and turn.confidence >= CLEAR_INTENT_CONFIDENCE:
        return True
    return turn.intent != topic and _names_another_topic(turn)


def _clearly_another_question(turn: Turn, topic: str) -> bool:
    """A confident intent other than the pending look-up's (or a follow-up on a place):
    the user has moved on. A vague reply ("ở chỗ bà ngoại tôi") is not."""
    if turn.intent in (FALLBACK_INTENT, "out_of_scope", topic):
        return False
    return turn.confidence >= CLEAR_INTENT_CONFIDENCE or bool(turn.entities)


def _only_a_detail(folded: str) -> bool:
    """Nothing but a within-topic question: no word that could name another topic."""
    rest = _WITHIN_TOPIC.sub(" ", folded).split()
    return not [w for w in rest if w not in _FILLERS and w not in _DETAIL_QUESTION_WORDS]


def _names_another_topic(turn: Turn) -> bool:
    """A confident content intent: "what documents for contract liquidation?" asks about
    that topic, not about the current one."""
    meta = set(topic_groups().get("meta", []))
    return turn.confidence >= NAMED_TOPIC_CONFIDENCE and turn.intent in set(topic_ids()) - meta


def _pending_slot(value: str) -> tuple[str | None, bool]:
    """("province", True) for "soft:province"; a slot name and whether it was only offered."""
    soft = value.startswith(SOFT_PENDING + ":")
    slot = value.split(":", 1)[1] if soft else value
    return (slot if slot in PENDING_SLOTS else None), soft


def _follow_up(turn: Turn, topic: str) -> Route | None:
    """The same question for another place, or a detail within the current topic."""
    folded = " ".join(words(turn.text))
    places = {k: v for k, v in turn.entities.items() if k in PLACE_SLOTS}
    content = _content_words(turn)
    if places and _MISSION_WORDS.search(folded) and (_FOLLOW_UP.search(folded) or topic == URGENT_TOPIC):
        return _lookup_route(CONSULAR, places, turn.slots)
    unsure = (
        turn.intent in (FALLBACK_INTENT, "out_of_scope", topic) or turn.confidence < CLEAR_INTENT_CONFIDENCE
    )
    if places and topic in (*LOOKUP_TOPICS, URGENT_TOPIC) and unsure:
        # "Quê tôi trước là Yên Bái, có chỗ nào gần không?": a place for the look-up under
        # way, however many other words come with it.
        content = []
    if places and (_FOLLOW_UP.search(folded) or not content) and len(content) <= 3:
        if topic in LOOKUP_TOPICS:
            return _lookup_route(topic, places, turn.slots)
        if topic == URGENT_TOPIC and turn.slots.get("need"):
            # "Tôi ở Hà Nội" after the shelters for all of Viet Nam: those near the user.
            partners = _lookup_route(REFERRAL, places, turn.slots)
            partners.card = URGENT_TOPIC
            return partners
        country = country_code(places.get("country")) or city_country(city_name(places.get("city")))
        return Route("card", card=topic, country=country, province=province_name(places.get("province")))
    if (
        not places
        and topic not in LOOKUP_TOPICS
        and topic in topic_ids()
        and _WITHIN_TOPIC.search(folded)
        and len(words(turn.text)) <= MAX_WITHIN_TOPIC_WORDS
        and turn.intent != topic
        and turn.intent not in _NOT_WITHIN_TOPIC
        and (_only_a_detail(folded) or not _names_another_topic(turn))
    ):
        return Route("card", card=topic)
    return None
