"""Recognise a message that expresses danger, in Vietnamese (any spelling) or English.

The urgent-help answer must win over everything else when someone is in danger, even when
the classifier is unsure, so this check is plain rules over the folded words of the
message: explainable, independent of the trained model, the action server and the
database, and linear in the length of the message.

Why words and not regular expressions: the earlier patterns (`.*` between two phrases)
took 94 s on a 360 KB message and blocked the whole server, emergencies included. Here a
message is split once into words; each rule is a short sequence of phrases with bounded
gaps, found by looking up the word at each position in an index of first words, so the
work per word is bounded by the rules, never by the message. Only the first
`MAX_MESSAGE_CHARS` characters are read.

What counts as danger: situations, not single words ("mệt chết đi được", "trợ cấp tử
tuất", "dead tired" are ordinary). Two kinds of rule:

- `Rule`: one situation on its own: beaten, locked in, trafficked, sexual abuse,
  self-harm, detention, starved, a cry for rescue.
- `Story`: signals that are ordinary one by one but dangerous together, anywhere in the
  message, as people tell them in several sentences: the passport held *and* a threat or
  not being allowed to leave or go home; the phone taken *and* not allowed out; taken
  abroad by deceit *and* held, sold or made to work in a scam. "Chủ giữ hộ chiếu của em,
  làm sao xin lại?" alone stays an ordinary question.

Rules are written in Vietnamese with diacritics where they tell words apart: a message
typed with marks must carry the rule's own ("bắt" is not "bất công", "tự tử" is not "từ
từ"); one typed without marks matches the folded form. Questions and fears ("có bị bắt
không", "sợ bị bắt"), hearsay and prevention ("nghe nói nhiều người bị lừa bán", "how do
I avoid being trafficked") are not reports, unless they name someone close ("nghe nói
bạn em bị bắt").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.vietnamese.text import fold, truncate

__all__ = ["detect_danger", "expresses_danger"]

# Words and sentence ends. Commas do not end a clause: "giữ hộ chiếu, không cho về".
_TOKEN = re.compile(r"\w+|[.!?;\n]")
_SENTENCE_END = "."
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")

# Right before "bị ..." these make it a question or a fear, not something that happened:
# "có bị bắt không", "có thể bị bắt", "sợ bị bắt". ("sẽ bị đánh" is a threat: not here.)
_HYPOTHETICAL = "có|thể|liệu|khi|sợ|tránh|để không|có khi nào|lỡ|nhỡ"
# A little further back, for detention: "tôi ở quá hạn, sợ ra sân bay bị bắt".
_FEARED = "sợ|nếu|lỡ|nhỡ|lo|lo là|sợ là"
# A question particle ending the sentence, or "thì" (then): "bị bắt thì sao".
_QUESTION_PARTICLES = "không|ko|k|hok|hả|chứ|nhỉ|à|ạ|chưa|thì"
_THEN = frozenset(("thi",))
# "what should I do if my employer hits me?" asks ahead; "they say if I leave they will
# hurt my kids" is a threat, so this is used only for the "hits me" / "was beaten" rules.
_IF_EN = "if|what if|in case|whether"
_NEGATIONS = frozenset("khong ko k hok kh chua chang cha dung not dont never".split())


@dataclass(frozen=True)
class Phrase:
    """Words as compared (folded) and, where the rule wrote them with diacritics, as they
    must be typed if typed with any: "bắt" matches "bat" and "bắt" but not "bất" (công),
    "tự tử" matches "tu tu" but not "từ từ"."""

    folded: tuple[str, ...]
    marked: tuple[str | None, ...]
    # Written "=tự tử": only with its own diacritics ("tu tu" is as often "từ từ").
    strict: bool = False

    def at(self, words: _Words, pos: int) -> int | None:
        """The end position if the phrase starts at `pos`, else None."""
        end = pos + len(self.folded)
        if end > len(words.folded) or tuple(words.folded[pos:end]) != self.folded:
            return None
        for typed, marked in zip(words.typed[pos:end], self.marked, strict=True):
            if marked is not None and typed != marked and (self.strict or typed != fold(typed)):
                return None
        return end


def _phrases(spec: str) -> tuple[Phrase, ...]:
    """ "bị|ông chủ" -> two phrases. No apostrophes; diacritics only where they matter."""
    out = []
    for text in spec.split("|"):
        strict = text.startswith("=")
        words = unicodedata.normalize("NFC", text.lstrip("=")).lower().split()
        if words:
            folded = tuple(fold(w) for w in words)
            marked = tuple(w if w != f else None for w, f in zip(words, folded, strict=True))
            out.append(Phrase(folded, marked, strict))
    return tuple(out)


class _Choice:
    """Alternative phrases, indexed by first and last word, so that trying them at a
    position costs a dictionary look-up, not a pass over every alternative."""

    __slots__ = ("by_first", "by_last")

    def __init__(self, phrases: tuple[Phrase, ...]) -> None:
        self.by_first: dict[str, list[Phrase]] = {}
        self.by_last: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            self.by_first.setdefault(phrase.folded[0], []).append(phrase)
            self.by_last.setdefault(phrase.folded[-1], []).append(phrase)

    def ends(self, words: _Words, pos: int) -> list[int]:
        """End positions of the alternatives that start at `pos`."""
        if pos >= len(words.folded):
            return []
        found = (phrase.at(words, pos) for phrase in self.by_first.get(words.folded[pos], ()))
        return [end for end in found if end is not None]

    def starts_at(self, words: _Words, pos: int) -> bool:
        return bool(self.ends(words, pos))

    def ends_before(self, words: _Words, pos: int) -> bool:
        """Some alternative ends right before `pos`."""
        if pos <= 0:
            return False
        for phrase in self.by_last.get(words.folded[pos - 1], ()):
            start = pos - len(phrase.folded)
            if start >= 0 and phrase.at(words, start) == pos:
                return True
        return False

    def first_words(self) -> list[str]:
        return list(self.by_first)


class _Words:
    """A message as the rules see it: typed (lowercase) and folded words, same positions."""

    __slots__ = ("typed", "folded", "reported")

    def __init__(self, text: str) -> None:
        lowered = unicodedata.normalize("NFC", truncate(text)).lower()
        lowered = _APOSTROPHES.sub("", lowered)
        self.typed = [w if w[0].isalnum() or w[0] == "_" else _SENTENCE_END for w in _TOKEN.findall(lowered)]
        self.folded = [fold(w) for w in self.typed]
        # Harmless idioms ("mệt chết đi được", "kill time") are set aside before any rule.
        for pos in range(len(self.folded)):
            for end in _HARMLESS.ends(self, pos):
                for i in range(pos, end):
                    self.folded[i] = self.typed[i] = _IGNORED
        self.reported = self._reported_speech()

    def _reported_speech(self) -> list[bool]:
        """Per word: whether it follows, in its sentence, "nghe nói" (hearsay) or "làm sao
        tránh" (prevention) with no close person named since ("bạn em", "my sister"):
        "nghe nói nhiều người bị lừa bán" asks how to stay safe; "nghe nói bạn em bị bắt"
        still reports danger."""
        marks = [False] * len(self.folded)
        active = False
        for pos, word in enumerate(self.folded):
            if word == _SENTENCE_END:
                active = False
            elif _CLOSE_PERSON.starts_at(self, pos):
                active = False
            elif _REPORTED.starts_at(self, pos):
                active = True
            marks[pos] = active
        return marks


@dataclass(frozen=True)
class Rule:
    """Phrases in order, each from its alternatives, with at most `gaps[i]` words between
    part i and part i+1, inside one sentence. The words right after the match must not
    start a phrase of `unless_next`, nor those right before end one of `unless_prev`;
    a negation ("không", "not") inside a gap breaks the match."""

    category: str
    parts: tuple[_Choice, ...]
    gaps: tuple[int, ...]
    unless_next: _Choice
    unless_prev: _Choice
    # Any of these in the few words before, in the same sentence: "sợ ra sân bay bị bắt".
    unless_before: _Choice
    # A question about it, not a report: "có bị bắt không?", "bị bắt thì sao".
    unless_question: bool = False


def rule(
    category: str,
    *parts: str | int,
    unless_next: str = "",
    unless_prev: str = "",
    unless_before: str = "",
    unless_question: bool = False,
) -> Rule:
    """rule("violence", "bị|chủ", 2, "đánh"): phrase alternatives and gap sizes alternate."""
    phrases: list[_Choice] = []
    gaps: list[int] = []
    for part in parts:
        if isinstance(part, int):
            gaps[-1] = part
        else:
            phrases.append(_Choice(_phrases(part)))
            gaps.append(0)
    return Rule(
        category,
        tuple(phrases),
        tuple(gaps[:-1]),
        _Choice(_phrases(unless_next)),
        _Choice(_phrases(unless_prev)),
        _Choice(_phrases(unless_before)),
        unless_question,
    )


@dataclass(frozen=True)
class Story:
    """Danger when the message holds every signal of `all_of` and one of `any_of`."""

    category: str
    all_of: tuple[str, ...]
    any_of: tuple[str, ...]


# Pronouns and names for the person speaking or someone close.
_ME_VI = "em|e|tôi|tui|mình|mik|cháu|con|chúng em|chúng tôi|bạn em|bạn tôi|vợ em|chồng em|mẹ|tao"
# Who does it: "bị (chủ) đánh", "chủ (hay) đánh", "nó đánh".
_DOER_VI = (
    "bị|nó|chủ|ông chủ|bà chủ|chủ nhà|quản lý|sếp|bọn nó|chúng nó|bọn chủ|tụi nó|thằng chủ|"
    "vợ chủ|chồng chủ|con chủ|họ|bố|chồng|bọn họ|cai"
)
_ME_EN = "me|us|her|him|one of us|some of us|my friend|my friends|my sister|my brother"

_RULES: tuple[Rule, ...] = (
    # -- violence and threats -------------------------------------------------------------
    rule(
        "violence",
        _DOER_VI,
        2,
        "đánh|đập|đâm|đấm|chém|tát|hành hung|bóp cổ|đấm đá|đánh đập",
        unless_next=(
            "giá|thuế|số|máy|dấu|bài|cá|vì|bóng|chữ|nhau|thức|răng|tiếng|rơi|đổi|cắp|mất|lừa|bạc|"
            "điện|đèn|quạt|vào|toàn|thao|con gì|con gi|lô|đề"
        ),
        unless_prev=_HYPOTHETICAL,
        unless_question=True,
    ),
    rule("violence", "đánh đập|hành hung|bạo hành|bạo lực|đâm chém|đánh tới tấp|đánh tím người|đánh gãy"),
    rule(
        "violence", "đánh", 0, _ME_VI + "|người", unless_next="giá|thuế|số|máy|việc|hàng|cái|ra|gì|gi|lô|đề"
    ),
    rule("violence", "sẽ bị đánh|sẽ đánh chết|sẽ giết|sẽ cho người đánh|đang đe dọa|đang dọa|đang bị đe dọa"),
    rule("violence", "beaten by|beaten up|got beaten|was beaten|were beaten"),
    rule(
        "violence", "threatened|threatening|threatens", 1, "with a knife|with a gun|with knife|with a weapon"
    ),
    rule(
        "violence",
        "someone|somebody|he|they|boss|employer|husband|manager",
        1,
        "is hurting me|are hurting me|hurting me|hurts me|keeps hurting me",
    ),
    rule(
        "violence",
        "dọa|đe dọa|đe doạ|doạ|dằm dọa|hăm dọa",
        3,
        "giết|đánh|chém|đâm|hại|thủ tiêu|tạt axit|tạt a xít|cho người|xử",
    ),
    rule(
        "violence",
        "bị|đang bị",
        0,
        "đe dọa|đe doạ|uy hiếp|khủng bố|dọa giết|doạ giết|dọa đánh",
        unless_next="đuổi|cắt|trừ|phạt|không trả|kiện|bỏ|hủy|huỷ",
        unless_prev=_HYPOTHETICAL,
    ),
    rule(
        "violence",
        "dọa giết|doạ giết|giết em|giết tôi|giết chết|giết tui|giết mình|giết cả|giết chúng|giết con",
    ),
    rule(
        "violence",
        "cầm|rút|chĩa|dùng|vung|cầm theo",
        0,
        "dao|súng|búa|gậy|kiếm|rựa|dùi cui|dùi cui điện|gậy sắt|tuýp sắt|ống tuýp",
        2,
        "dọa|doạ|đe dọa|chém|đâm|bắn|đánh|vào|với|" + _ME_VI,
    ),
    rule(
        "violence", "dọa|doạ|đe dọa", 3, "gia đình|bố mẹ|vợ con|con cái|người nhà|ba mẹ|con em|con tôi|cả nhà"
    ),
    rule(
        "violence",
        "đang trốn|phải trốn|trốn khỏi nhà|bỏ trốn khỏi nhà|trốn thoát|đang ẩn nấp",
        10,
        "đang tìm|tìm em|tìm tôi|truy|đuổi theo|đuổi bắt|bắt lại|săn lùng|lùng sục",
    ),
    rule(
        "violence",
        "beat|beats|beating|beaten|punch|punched|punches|punching|kick|kicked|kicks|kicking|"
        "slap|slapped|slaps|slapping|hit|hits|hitting|choke|choked|chokes|strangled",
        0,
        _ME_EN,
        unless_before=_IF_EN,
    ),
    rule(
        "violence",
        "was|got|been|being|am|is|are|were|im|get|gets",
        0,
        "beaten|attacked|assaulted|stabbed|punched|kicked|slapped|choked|beaten up",
        unless_before=_IF_EN,
    ),
    rule("violence", "threat|threaten|threatens|threatened|threatening", 3, "kill|hurt|beat|harm|shoot|stab"),
    rule(
        "violence",
        "will|would|gonna|going to|want to|wants to",
        0,
        "kill|hurt|harm|beat|shoot|stab",
        0,
        _ME_EN,
    ),
    rule("violence", "kill|hurt|harm", 0, "my kids|my children|my family|my parents|my wife|my husband"),
    rule(
        "violence",
        "pulled|pointed|held|waved|threatened me with|came at me with",
        0,
        "a knife|his knife|her knife|a gun|his gun|a weapon|knife|gun",
    ),
    rule("violence", "knife|gun", 0, "at|to", 0, "me|my|us"),
    rule(
        "violence",
        "escaped|ran away|am hiding|im hiding|hiding",
        12,
        "looking for me|chasing|chasing me|after me|hunting me|searching for me",
    ),
    rule("violence", "domestic violence|violent boss|violent employer|violence at work|violence against me"),
    # Electric shocks, as scam compounds punish: "shock her with electric sticks", "chích điện".
    rule(
        "violence",
        "shock|shocks|shocked|shocking|tase|tased|taser",
        0,
        _ME_EN,
        2,
        "electric|electricity|stick|sticks|baton|batons|taser",
    ),
    rule(
        "violence",
        "electric shock|electric shocks|electric baton|electric batons|electric stick|electric sticks",
    ),
    rule("violence", "chích điện|dí điện|dùi cui điện|giật điện", unless_prev=_HYPOTHETICAL),
    # -- confinement ----------------------------------------------------------------------
    rule(
        "confinement",
        _DOER_VI,
        2,
        "nhốt|giam lỏng|khóa trong|khoá trong|nhốt lại|canh giữ",
        unless_prev=_HYPOTHETICAL,
    ),
    rule("confinement", "nhốt", 0, _ME_VI + "|trong|lại|ở"),
    rule(
        "confinement",
        "không|ko|k|hok|kh|chẳng|cấm",
        0,
        "cho",
        2,
        "ra ngoài|ra khỏi|đi đâu|rời khỏi|lên bờ|vào bờ|xuống tàu|rời tàu|bước ra|ra đường",
    ),
    rule(
        "confinement", "bị cấm|cấm không cho|chủ cấm|cấm em|cấm tôi|cấm chúng em", 1, "ra khỏi|ra ngoài|đi ra"
    ),
    rule(
        "confinement",
        "bị khóa|bị khoá|khóa em|khoá em|khóa tôi|khoá tôi|khóa chúng em|khoá chúng em|khóa tụi em",
        1,
        "trong",
        0,
        "phòng|nhà|xưởng|kho|container|tàu|thùng",
    ),
    rule("confinement", "khóa cửa|khoá cửa", 3, "bên ngoài|nhốt"),
    rule(
        "confinement",
        "lock|locked|locks|locking",
        1,
        "in|up|inside",
        unless_next=(
            "a contract|contract|my contract|the contract|to|for|a three year contract|a two year contract|"
            "a 3 year contract|a 2 year contract|a long contract|a year contract"
        ),
    ),
    rule(
        "confinement",
        "not allowed|isnt allowing|wont let|doesnt let|dont let|do not let|does not let|will not let|"
        "never let|not let|never allowed",
        1,
        "to|me|us|her|him",
        1,
        "go out|get out|escape|go ashore|leave the house|leave the room|leave the boat|leave the ship|"
        "get off the boat|get off the ship|out of the house|out of the room|leave the compound|out|leave",
        unless_next=(
            "early|the company|this company|my company|the job|my job|job|company|work|for|on|to|until|before"
        ),
    ),
    rule(
        "confinement",
        "cannot|cant|unable to|not allowed to",
        0,
        "go out|get out|escape|go ashore|leave the house|leave the room|leave the boat|get off the boat",
    ),
    rule(
        "confinement",
        "held|kept|keep|keeping|being held",
        1,
        "against my will|captive|prisoner|locked|hostage",
    ),
    rule("confinement", "are holding me|are holding us|is holding me|is holding us|holding me hostage"),
    rule("confinement", "không|ko|k|hok", 0, "được", 1, "ra ngoài|ra khỏi|rời khỏi|lên bờ|bước ra"),
    rule("confinement", "imprisoned|being held|held hostage|locks me|locked me|locked us|locked her"),
    rule("confinement", "not allowed ashore|never allowed ashore|cannot go ashore|cant go ashore"),
    # "the owner locks our dormitory at night", "they lock the gate from outside"
    rule(
        "confinement",
        "owner|boss|employer|he|she|they|manager|company|broker|agent|guard|guards|madam|supervisor",
        1,
        "lock|locks|locked|locking",
        0,
        "us|me|her|him|our|the|my|them",
        1,
        "dormitory|dorm|room|rooms|door|doors|gate|gates|container|house|camp|factory|compound|hostel|in|inside",
    ),
    rule(
        "confinement",
        "nobody|no one|none of us|noone",
        0,
        "can|is allowed to|may",
        0,
        "go out|get out|leave the camp|leave the dorm|leave the dormitory|leave the compound",
        unless_next="alone at night|after 10|after midnight|without telling",
    ),
    # -- deprivation of food ----------------------------------------------------------------
    rule(
        "deprivation",
        "bị bỏ đói|bỏ đói em|bỏ đói tôi|bỏ đói chúng em|bỏ đói chúng tôi|bỏ đói nhiều ngày|cho ăn cơm thừa|"
        "nhịn đói mấy ngày|nhịn đói cả ngày|đói lả|đói lả người|đói rã rời|bữa cơm thừa|ăn cơm thừa|ăn đồ thừa|"
        "chỉ cho ăn một bữa|chỉ cho ăn 1 bữa|chỉ được ăn một bữa|chỉ được ăn 1 bữa",
    ),
    rule(
        "deprivation",
        "không|ko|k|hok|chẳng",
        0,
        "cho",
        2,
        "ăn",
        unless_next="trưa|sáng|vặt|thịt|kẹo|toàn|tâm|nghỉ|đủ|no",
    ),
    rule("deprivation", "không|ko|k|hok", 0, "được ăn", 1, "gì|mấy ngày|cả ngày|2 ngày|3 ngày|nhiều ngày"),
    rule(
        "deprivation",
        "not fed|not being fed|dont feed|doesnt feed|wont feed|do not feed|does not feed|never feed|"
        "starve me|starve us|starved me|starved us|starving me|starving us|without food|no food for",
    ),
    rule(
        "deprivation",
        "not|dont|doesnt|never|wont|didnt|do not|does not|did not|no longer",
        0,
        "give|gives|given|provide|provides|provided|get",
        2,
        "food|any food|meals|anything to eat|enough food",
        unless_next="allowance|allowances|money|expenses|costs",
    ),
    # -- trafficking ----------------------------------------------------------------------
    rule(
        "trafficking",
        "buôn bán người|buôn người|mua bán người|mua bán phụ nữ|buôn bán phụ nữ|bị lừa bán|bị buôn bán|bị buôn",
        unless_prev="không|ko|k|hok|để không|tránh|chưa",
    ),
    rule("trafficking", "lừa bán", 0, "sang|qua|vào|phụ nữ|người|lao động"),
    rule(
        "trafficking",
        "bị|đã bị|bị lừa|đã bị lừa|bị họ|bị chúng nó|bị bọn nó",
        0,
        "bán",
        0,
        "sang|cho|vào|đến|tới|qua bên|qua đây|qua trung quốc|qua campuchia|qua cam|qua biên giới",
        unless_prev=_HYPOTHETICAL,
    ),
    rule(
        "trafficking",
        "họ|nó|chúng nó|bọn nó|tụi nó|bọn họ",
        0,
        "bán",
        0,
        _ME_VI,
        0,
        "sang|vào|cho một|cho người|cho chủ|cho bọn|cho ông|cho bà|cho nhà|cho công ty|qua bên|qua đây",
    ),
    rule(
        "trafficking",
        "cưỡng bức lao động|lao động cưỡng bức|làm nô lệ|như nô lệ|bị bắt làm nô lệ|bắt cóc|tiền chuộc|"
        "đòi tiền chuộc|lao động không công",
    ),
    rule("trafficking", "trafficked|trafficking|trafficker|traffickers|human trafficking"),
    rule(
        "trafficking",
        "sau khi bị bán|sau khi bị lừa bán|từng bị bán|đã bị bán|vừa bị bán|bị bán rồi|bị bán đi|bị bán làm",
        unless_prev=_HYPOTHETICAL,
    ),
    rule(
        "trafficking",
        "force|forces|forced|forcing|make|makes|made",
        0,
        _ME_EN + "|them|people",
        1,
        "scam|to scam|do scams|scam people|work in scams|commit fraud|do fraud",
    ),
    rule("trafficking", "sold|selling", 0, "me|us|her|him"),
    rule("trafficking", "was sold|were sold|been sold|being sold|got sold|sold to another|sold to a new"),
    rule(
        "trafficking",
        "forced labour|forced labor|forced to work|forced work|slave|slavery|slaves|debt bondage",
        unless_next="overtime|extra|on sundays|on weekends|long hours|late|weekends|on holidays|at night|nights",
    ),
    rule("trafficking", "kidnap|kidnapped|kidnapping|abduct|abducted|abduction|ransom"),
    rule("trafficking", "under guard|under armed guard"),
    # -- sexual abuse ---------------------------------------------------------------------
    rule(
        "sexual_abuse",
        "hiếp dâm|cưỡng hiếp|cưỡng dâm|xâm hại|làm nhục|quấy rối tình dục|sờ soạng|sàm sỡ|dâm ô|sờ mó|"
        "ép quan hệ|ép làm gái|ép bán dâm|ép tiếp khách",
    ),
    rule("sexual_abuse", _DOER_VI, 2, "quấy rối", unless_prev=_HYPOTHETICAL),
    rule(
        "sexual_abuse",
        "ép|bắt",
        2,
        "quan hệ|ngủ với|làm gái|lm gái|bán dâm|tiếp khách|khỏa thân|khoả thân|làm tình",
    ),
    rule(
        "sexual_abuse",
        "sờ soạt|đụng chạm|sờ vào|rờ vào|sờ lên",
        1,
        "người em|người tôi|vào người|cơ thể|ngực|vùng kín|em|tôi",
    ),
    rule("sexual_abuse", "rape|raped|raping|rapes|rapist"),
    rule(
        "sexual_abuse",
        "sexual|sexually",
        0,
        "abuse|abused|abusing|assault|assaulted|harass|harassed|harasses|harassing|harassment|"
        "attack|attacked|exploitation|exploited",
    ),
    rule("sexual_abuse", "molest|molested|molesting|molests|grope|groped|groping|gropes"),
    rule(
        "sexual_abuse",
        "boss|employer|manager|he|supervisor|owner|husband|son|man|men|they",
        1,
        "touch|touches|touched|touching|grabs|grabbed|fondles|fondled",
        0,
        "me|my body|my breasts|her|us",
    ),
    rule(
        "sexual_abuse",
        "touch|touches|touched|touching",
        0,
        "me|my body|her",
        12,
        "without|against|force|wont stop",
    ),
    rule(
        "sexual_abuse",
        "force|forced|forces|forcing|make|makes|made",
        0,
        "me|us|her",
        1,
        "have sex|sleep with|into sex|prostitution|into prostitution|sell sex",
    ),
    # -- self-harm ------------------------------------------------------------------------
    rule(
        "self_harm",
        "muốn|mún|mốn|định|nghĩ đến|nghĩ tới|chỉ muốn|chỉ mún|thấy muốn|tính|nghĩ đến chuyện|nghĩ tới chuyện",
        1,
        "chết|tự tử|tự sát|kết liễu|chết quách|chết cho xong|tự kết liễu|biến mất khỏi thế gian",
        unless_prev="mệt|nóng|đói|lạnh|sợ|buồn ngủ|ngại|xấu hổ|đau|mừng|cười",
        unless_next="đi được|đi dc|mất|thôi|đói",
    ),
    rule("self_harm", "=tự tử|=tự sát|=tự vẫn|tự kết liễu"),
    rule(
        "self_harm",
        "nhảy từ|nhảy xuống|nhảy khỏi|nhảy ra khỏi",
        1,
        "tầng thượng|sân thượng|lầu|tầng|nóc nhà|nóc|cầu|cửa sổ|ban công",
    ),
    rule(
        "self_harm",
        "jump|jumping|throw myself",
        0,
        "off|from",
        1,
        "roof|rooftop|building|bridge|balcony|window",
    ),
    rule(
        "self_harm",
        "không|ko|k|hok|chẳng|chả|không còn|ko còn|k còn|hok còn",
        0,
        "muốn|mún|thiết",
        1,
        "sống",
    ),
    rule(
        "self_harm",
        "chán sống|hết muốn sống|kết liễu đời|kết liễu cuộc đời|nhảy lầu|treo cổ|tự cắt tay|"
        "rạch tay|cắt cổ tay|uống thuốc ngủ|uống thuốc chuột|uống thuốc trừ sâu|không thiết sống",
    ),
    rule(
        "self_harm",
        "kill myself|killing myself|suicide|suicidal|end my life|ending my life|take my own life|want to die|"
        "wanna die|wish i was dead|wish i were dead|hurt myself|harm myself|cut myself|cutting myself|"
        "self harm|no reason to live|better off dead",
    ),
    rule("self_harm", "dont|do not|no longer|not", 0, "want to", 0, "live|be alive|go on living|wake up"),
    # -- detention ------------------------------------------------------------------------
    rule(
        "detention",
        "bị|đã bị|vừa bị|đang bị",
        2,
        "bắt giữ|bắt giam|tạm giữ|giam giữ|bắt|tạm giam",
        unless_next=(
            "làm|phải|đi làm|nộp|đóng|trả|ở lại|học|ký|đợi|chịu|thêm|tăng ca|bồi thường|mua|nghỉ|"
            "nạt|buộc|lỗi|ép|đền|ngồi|đứng|chờ|bớ|bẻ"
        ),
        unless_prev=_HYPOTHETICAL,
        unless_before=_FEARED,
        unless_question=True,
    ),
    rule(
        "detention",
        "bị|đang bị",
        0,
        "giam",
        0,
        "ở|trong|tại|lại|mấy|cả",
        unless_prev=_HYPOTHETICAL,
        unless_before=_FEARED,
        unless_question=True,
    ),
    rule("detention", "arrested by|detained by|arrested at|detained at"),
    rule("detention", "công an|cảnh sát|police|cs", 2, "bắt", 0, _ME_VI + "|giữ|đi|rồi"),
    rule("detention", "trại tạm giữ|trại giam|nhà giam|đồn công an|đồn cảnh sát|đồn cs|bị tạm giam"),
    rule(
        "detention",
        "was|got|been|am|is|were|being|im|are",
        0,
        "arrested|detained|jailed|in jail|in detention|in custody|in prison|locked up by police",
    ),
    rule(
        "detention",
        "in jail|in detention|in custody|in prison|immigration detention|detention centre|detention center",
    ),
    rule("detention", "police", 0, "took|arrested|detained|are holding|catch|caught|have my friend|holding"),
    # -- a cry for rescue ------------------------------------------------------------------
    rule("rescue", "cứu", 0, _ME_VI + "|với|vs|cháu với|t|con tôi"),
    rule(
        "rescue",
        "đang gặp nguy hiểm|đang nguy hiểm|gặp nguy hiểm|nguy hiểm đến tính mạng|nguy đến tính mạng|"
        "tính mạng bị đe dọa|sos",
    ),
    rule("rescue", "rescue|save", 0, "me|us|my sister|my friend|my daughter|my wife"),
    rule(
        "rescue",
        "help|save|rescue",
        0,
        "me|us",
        8,
        "danger|hurry|scared|afraid|emergency|urgent|quick|quickly",
    ),
    rule(
        "rescue",
        "i am|im|we are|were|she is|he is|life is|lives are|my life is",
        0,
        "in danger|in great danger",
    ),
    rule(
        "rescue",
        "i am not safe|im not safe|we are not safe|i dont feel safe|i do not feel safe|not safe here",
    ),
)

# Signals, ordinary alone, that make a story dangerous together (see `_STORIES`).
_SIGNALS: tuple[Rule, ...] = (
    rule(
        "passport_held",
        "giữ|thu|lấy|tịch thu|cầm|giữ luôn|không trả|thu giữ|cất giữ|lấy mất|giữ hết|thu hết|giữ lại",
        2,
        "hộ chiếu|hc|passport|giấy tờ|thẻ cư trú|thẻ ngoại kiều|arc|sổ thuyền viên|giấy tờ tùy thân",
        unless_prev="không|ko|k|chưa|đừng",
    ),
    rule("passport_held", "hộ chiếu|giấy tờ|passport", 2, "bị giữ|bị thu|bị lấy|bị tịch thu|chủ giữ|chủ cầm"),
    rule(
        "passport_held",
        "took|take|takes|taken|keep|keeps|kept|holds|holding|hold|held|confiscated|confiscate|has|have|took away",
        2,
        "passport|passports|papers|documents|id card|residence card|seaman book",
        unless_prev="not|dont|doesnt|didnt",
    ),
    rule("passport_held", "passport|passports|papers|documents", 1, "taken|held|confiscated|kept"),
    rule(
        "threat",
        "dọa|doạ|đe dọa|đe doạ|dằm dọa|hăm dọa|threat|threats|threaten|threatens|threatened|threatening",
    ),
    rule(
        "restricted",
        "không|ko|k|hok|kh|chẳng|cấm",
        0,
        "cho",
        2,
        "về|về nước|về vn|về quê|nghỉ việc|chuyển việc|bỏ việc|đi|rời đi|liên lạc|gọi điện|ra|ra ngoài",
        unless_next="làm|học|chơi",
    ),
    rule(
        "restricted",
        "wont let|doesnt let|dont let|do not let|does not let|not allowed|will not let|never let|cant|cannot",
        1,
        "to|me|us|her|him",
        1,
        "go home|leave|quit|return home|go back|return|contact|call|use the phone|use my phone|go",
    ),
    rule(
        "phone_taken",
        "giữ|thu|lấy|tịch thu|cầm|đập|đập vỡ|giữ luôn|thu mất|lấy mất|thu hết",
        2,
        "điện thoại|đt|đthoại|phone|sim",
        unless_prev="không|ko|k|chưa",
    ),
    rule(
        "phone_taken",
        "took|take|takes|taken|keep|keeps|kept|confiscated|smashed|broke|took away",
        2,
        "phone|phones|mobile|my phone",
    ),
    rule("phone_taken", "không|ko|k|hok", 0, "cho", 1, "dùng điện thoại|dùng đt|gọi về|gọi điện|liên lạc"),
    rule(
        "no_pay",
        "không trả lương|nợ lương|chưa trả lương|không được trả lương|quỵt lương|không lương|không trả tiền|"
        "not paid|unpaid|no salary|no pay|didnt pay|did not pay|without pay|hasnt paid|havent been paid|"
        "not been paid|withheld",
    ),
    rule(
        "deceived",
        "bị lừa sang|bị lừa qua|bị đưa sang|bị đưa qua|lừa sang|lừa qua|bị đưa đi|bị chuyển sang|bị lừa đi|"
        "tricked|deceived|lied to|brought me|took us across|took me across|smuggled",
    ),
    rule("scam_work", "làm lừa đảo|lừa đảo online|lừa đảo qua mạng|scam|scam company|scamming|scams|lừa đảo"),
    rule(
        "no_food",
        "không có gì ăn|không có đồ ăn|nhịn đói|đói quá|đói lả|cơm thừa|một bữa|1 bữa|nothing to eat|no food|"
        "hungry|starving|one meal a day|leftovers",
    ),
    rule("guarded", "canh giữ|có người canh|bị canh|guards|guarded|bảo vệ canh"),
    rule("deceived", "lừa|dụ", 2, "sang|qua|vào", unless_next="đây làm việc hợp pháp"),
    rule("sold", "bán", 0, "cho|sang|qua|vào", unless_prev="mua|buôn|đi|để"),
    rule(
        "held_person",
        "bị giữ|đang bị giữ|giữ em|giữ tôi|giữ chúng em|giữ chúng tôi|giữ tụi em",
        unless_next="hộ chiếu|hc|giấy tờ|lương|tiền|passport|thẻ|đồ|điện thoại|đt|bằng|chỗ|hộ",
    ),
    rule(
        "forced",
        "bị ép làm|ép làm việc|bắt làm việc không lương|bắt làm không công|bị bắt làm|forced to work|forced me to work|"
        "force her to|force him to|force me to|force us to|force them to|forces her to|forces us to|forced her to|"
        "forced us to|forced them to|bị ép đi|bị bắt đi",
        unless_next="thêm|tăng ca|overtime|extra|ca đêm|chủ nhật",
    ),
)

_STORIES: tuple[Story, ...] = (
    Story("passport_threat", ("passport_held",), ("threat", "restricted", "phone_taken", "guarded")),
    Story("confinement", ("restricted",), ("phone_taken", "guarded", "no_food")),
    Story(
        "trafficking", ("deceived",), ("restricted", "passport_held", "scam_work", "phone_taken", "guarded")
    ),
    Story("trafficking", ("scam_work",), ("restricted", "passport_held", "phone_taken", "guarded")),
    Story("deprivation", ("no_food",), ("phone_taken", "passport_held", "guarded")),
    Story("trafficking", ("deceived",), ("sold",)),
    Story("confinement", ("held_person",), ("restricted", "phone_taken", "guarded", "threat")),
    Story("trafficking", ("forced",), ("restricted", "passport_held", "guarded", "phone_taken", "scam_work")),
    # Held and beaten for going out: "took our passports ... anyone who goes out gets beaten".
    Story("confinement", ("passport_held",), ("held_person", "no_food")),
)

# Idioms that contain an alarming word but express no danger.
_HARMLESS = _Choice(
    _phrases(
        "mệt chết|nóng chết|lạnh chết|đói chết|buồn cười chết|chết cười|cười chết|sợ chết|mệt muốn chết|"
        "nóng muốn chết|đói muốn chết|lạnh muốn chết|buồn ngủ muốn chết|mệt gần chết|chết đi được|"
        "dead tired|kill time|killing time|to die for|dying to|killing me|killer|"
        "giết thời gian|tử tuất|trợ cấp tử tuất|chết thật|vốn chết|chết tiệt|chết dí|chém tiền|chém giá|"
        "chém gió|chém đẹp"
    )
)
_IGNORED = "_"
# Hearsay and prevention: what follows in the sentence is not happening to the writer.
_REPORTED = _Choice(
    _phrases(
        "nghe nói|nghe chuyện|nghe kể|nghe đồn|nghe bảo|đọc báo|trên báo|tránh bị|phòng tránh|phòng chống|"
        "làm sao tránh|để tránh|xem tin|đọc tin|trên tivi|trên ti vi|xem phim|phim về|bộ phim|"
        "i heard|heard that|heard about|read about|in the news|avoid|avoiding|prevent|preventing|"
        "protect myself from|movie about|film about|documentary"
    )
)
_CLOSE_PERSON = _Choice(
    _phrases(
        "bạn em|bạn tôi|bạn mình|em gái|chị gái|con gái|con trai|vợ em|vợ tôi|chồng em|chồng tôi|mẹ em|"
        "bố em|anh trai|em trai|chị em|cháu em|my friend|my sister|my brother|my wife|my husband|"
        "my daughter|my son|my mother|my father|my cousin"
    )
)
_QUESTION_ENDS = _Choice(_phrases(_QUESTION_PARTICLES))


_BEFORE_WINDOW = 4
_QUESTION_WINDOW = 3


def _said_before(words: _Words, pos: int, phrases: _Choice) -> bool:
    """One of `phrases` ends in the `_BEFORE_WINDOW` words before `pos`, same sentence."""
    for back in range(_BEFORE_WINDOW):
        at = pos - back
        if at <= 0 or words.folded[at - 1] == _SENTENCE_END:
            return False
        if phrases.ends_before(words, at):
            return True
    return False


def _asked_after(words: _Words, end: int) -> bool:
    """A question particle ends the sentence within a few words: "... bị bắt không?"."""
    for at in range(end, min(end + _QUESTION_WINDOW, len(words.folded))):
        if words.folded[at] == _SENTENCE_END:
            return False
        last = at + 1 == len(words.folded) or words.folded[at + 1] == _SENTENCE_END
        if _QUESTION_ENDS.starts_at(words, at) and (last or words.folded[at] in _THEN):
            return True
    return False


def _match_from(words: _Words, rule_: Rule, part: int, pos: int) -> bool:
    """Whether parts `part..` of the rule match from `pos`. Branching is bounded by the
    rule (alternatives x gap), never by the message."""
    folded = words.folded
    for end in rule_.parts[part].ends(words, pos):
        if part == len(rule_.parts) - 1:
            if rule_.unless_next.starts_at(words, end):
                continue
            if rule_.unless_question and _asked_after(words, end):
                continue
            return True
        for skip in range(rule_.gaps[part] + 1):
            nxt = end + skip
            if nxt >= len(folded) or folded[nxt] == _SENTENCE_END:
                break
            if skip and folded[nxt - 1] in _NEGATIONS:
                break
            if _match_from(words, rule_, part + 1, nxt):
                return True
    return False


class _Matcher:
    """Rules indexed by the first word of their first part."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self._by_first: dict[str, list[Rule]] = {}
        # Per rule, the words one of which each part starts with: a rule some part of
        # which cannot start anywhere in the message is not tried at all.
        self._needs: dict[int, tuple[frozenset[str], ...]] = {}
        for rule_ in rules:
            self._needs[id(rule_)] = tuple(frozenset(part.first_words()) for part in rule_.parts)
            for first in rule_.parts[0].first_words():
                bucket = self._by_first.setdefault(first, [])
                if rule_ not in bucket:
                    bucket.append(rule_)

    def categories(self, words: _Words, first_only: bool) -> list[str]:
        """Categories of the rules that match, in message order (the first only if asked)."""
        present = set(words.folded)
        possible: dict[int, bool] = {}
        found: list[str] = []
        for pos, word in enumerate(words.folded):
            for rule_ in self._by_first.get(word, ()):
                key = id(rule_)
                if key not in possible:
                    possible[key] = all(need & present for need in self._needs[key])
                if not possible[key] or rule_.category in found or words.reported[pos]:
                    continue
                if not _match_from(words, rule_, 0, pos):
                    continue
                if rule_.unless_prev.ends_before(words, pos) or _said_before(words, pos, rule_.unless_before):
                    continue
                found.append(rule_.category)
                if first_only:
                    return found
        return found


_DANGER = _Matcher(_RULES)
_SIGNAL_MATCHER = _Matcher(_SIGNALS)


def detect_danger(text: str) -> str | None:
    """The kind of danger a message expresses ("violence", "self_harm", ...), or None."""
    if not text:
        return None
    words = _Words(text)
    direct = _DANGER.categories(words, first_only=True)
    if direct:
        return direct[0]
    signals = set(_SIGNAL_MATCHER.categories(words, first_only=False))
    for story in _STORIES:
        if all(s in signals for s in story.all_of) and any(s in signals for s in story.any_of):
            return story.category
    return None


def expresses_danger(text: str) -> bool:
    return detect_danger(text) is not None
