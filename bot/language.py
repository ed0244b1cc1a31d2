"""Which language to answer in, decided for every message.

People switch: a chat opened with "hi" goes on in Vietnamese, a Vietnamese-locale phone
types an English question. So each message that is clearly in one language decides the
reply's language; a message that says little ("ok", "hi", "3", "Hàn Quốc", a button)
keeps the conversation's language (the `language` slot), else the channel's locale.

Clearly in one language means:
- Vietnamese diacritics on its words (place names aside: "embassy in Hà Nội" is English);
- otherwise common function words typed without marks ("lam sao", "khong", "em") weighed
  against common English ones, with a margin;
- when those are inconclusive on a message of several words, a small naive Bayes model
  trained once, on first use, from the training examples in data/nlu (folded words and
  letter n-grams; about a second).
A message *about* a language is not in that language: "e ko biet tieng anh" is
Vietnamese, "I can't read Vietnamese" is English; language names count for neither.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from bot.i18n import SUPPORTED_LANGUAGES, supported
from bot.vietnamese.cities import find_cities
from bot.vietnamese.countries import find_countries
from bot.vietnamese.provinces import find_provinces
from bot.vietnamese.text import fold, truncate

_WORD = re.compile(r"[^\W\d_]+(?:'[a-z]+)?")
_NLU_DIR = Path(__file__).resolve().parents[1] / "data" / "nlu"

_VI_WORDS = frozenset(
    """
    a ah anh ba bao bay bi biet bn bo bon cac cach cai can cho chi chiu chu chua co con cty cua
    cuoc da dang dau day de den di dieu dc dk dong du duoc e em gi gio giup gui ha hay hc ho hoi
    hok hong hop hon j khi khong kh ko k la lai lam lanh len luc luong ly ma mik minh moi muon
    mk nao nay nen nghe ngay ngoai nguoi nhe nhieu nhu nhung noi nua nuoc o oi phai qua quoc
    ra roi sao sang se so sdt thi the theo thoi tien toi tra tre trong tu tui va van ve viec voi
    vs xin xkld bhxh hd hdld ntn nt dt ung ky quy hieu ak uk a ad ong nha chao cam vay duoc
    dung nhe nha roi ne luon
    """.split()
)
_EN_WORDS = frozenset(
    """
    a about after am an and any are as at be been but by can could did do does for from get
    got have help hi hello how i if in is it me my need no not of on or please so that the
    their there they this to want was we what when where which who why will with would you
    your yes thanks thank bye embassy money job work contract insurance pension refund back
    home korea japan taiwan i'm can't don't hey morning good thx change language thats that's
    all goodbye address consulate weather tomorrow what's where's how's it's i've i'll
    doesn't won't isn't should much many long still just only know tell give find my our
    """.split()
)
# Grammar words. A short message (under `_SHORT` words) is clear only with one of these:
# "tiền ký quỹ" or "pension refund" alone is a term, said in either language.
_VI_FUNCTION = frozenset(
    """
    em e toi tui minh mik mk anh chi ban a ah oi nhe nha la co khong ko k hok kh gi j sao nao
    dau the thi ma va cua cho voi vs duoc dc lam can muon hoi xin chao cam roi chua nua vay day
    ne luon phai se da dang bi ak ad ntn
    """.split()
)
_EN_FUNCTION = frozenset(
    """
    i me my you your we our is are am was were do does did how what where when why who which
    can could would will please the a an to of in on for with and or not i'm can't don't what's
    where's how's it's
    """.split()
)
_SHORT = 4
# Words that exist in both lists count for neither.
_SHARED = _VI_WORDS & _EN_WORDS
# Pleasantries say nothing about the language of the conversation.
_NEUTRAL = frozenset("ok okay oke hi hello hey thanks thank thx bye yes no".split())
# Names of a language: a message about English is not English.
_LANGUAGE_NAMES = re.compile(
    r"\b(?:tieng|t\.?)\s*(?:anh|viet)\b|\b(?:english|vietnamese|anh ngu|viet ngu|eng)\b"
)
_PAYLOAD = re.compile(r"^\s*/")


def _strip_places(text: str) -> str:
    """The message with place names blanked out: they carry marks in any language."""
    chars = list(text)
    for match in find_countries(text) + find_provinces(text) + find_cities(text):
        chars[match.start : match.end] = " " * (match.end - match.start)
    return "".join(chars)


def _evidence(text: str, places: bool = True, short_rule: bool = True) -> tuple[int, int, list[str]]:
    """(Vietnamese points, English points, the words weighed) for one message; place
    names are left out unless `places` is False. A message shorter than `_SHORT` words
    scores only if it has a grammar word of that language."""
    text = unicodedata.normalize("NFC", truncate(text)).replace("\u2019", "'")
    if places:
        text = _strip_places(text)
    folded_text = _LANGUAGE_NAMES.sub(lambda m: " " * len(m.group()), fold(text))
    # Blank the same spans in the typed text, so marks on "tiếng Anh" do not count.
    typed = "".join(
        t if f != " " or t.isspace() else " " for t, f in zip(text.lower(), folded_text, strict=False)
    )
    vi = en = 0
    words: list[str] = []
    for typed_word, folded_word in zip(_WORD.findall(typed), _WORD.findall(folded_text), strict=False):
        if folded_word in _NEUTRAL:
            continue
        words.append(folded_word)
        if typed_word != folded_word:  # carries Vietnamese diacritics
            vi += 1
        elif folded_word in _SHARED:
            continue
        elif folded_word in _VI_WORDS:
            vi += 1
        elif folded_word in _EN_WORDS:
            en += 1
    if short_rule and len(words) < _SHORT:
        if not any(w in _VI_FUNCTION for w in words):
            vi = 0
        if not any(w in _EN_FUNCTION for w in words):
            en = 0
    return vi, en, words


def message_language(text: str | None) -> str | None:
    """ "vi" or "en" when the message is clearly in that language, else None."""
    if not text or _PAYLOAD.match(text):
        return None
    vi, en, words = _evidence(text)
    winner, top, other = ("vi", vi, en) if vi >= en else ("en", en, vi)
    if top >= 2 and top >= 2 * other and top != other:
        return winner
    if len(words) >= _SHORT:  # the lexicon is inconclusive on a message of some length
        return _naive_bayes_language(" ".join(words))
    return None


def detect_language(text: str) -> str:
    """ "vi" or "en" for one message, however little it says (ties go to Vietnamese)."""
    if not text:
        return "vi"
    clear = message_language(text)
    if clear:
        return clear
    # Not clear, yet a guess is needed: every word counts, even in a short message
    # ("vietnam consulate dubai address?", "ok thats all, goodbye").
    vi, en, _ = _evidence(text, short_rule=False)
    if vi == en:
        folded = _WORD.findall(fold(truncate(text)))
        en += sum(1 for w in folded if w in _NEUTRAL and w in _EN_WORDS)
    return "en" if en > vi else "vi"


def choose_language(slot_value: str | None, metadata: Mapping | None, text: str | None) -> str:
    """The message's language when it is clear; else the conversation's (slot); else the
    channel locale; else a guess from the message."""
    clear = message_language(text)
    if clear:
        return clear
    if slot_value in SUPPORTED_LANGUAGES:
        return str(slot_value)
    locale = (metadata or {}).get("locale") or (metadata or {}).get("language")
    if locale:
        return supported(str(locale))
    if _PAYLOAD.match(text or ""):  # a button payload or command says nothing of language
        return detect_language("")
    return detect_language(text or "")


# -- tie-breaker: naive Bayes over the training examples -----------------------------------

_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
# Log-odds a tie-break must reach to call a message clear (about 20:1).
_NB_MARGIN = 3.0


def _features(folded_words: str) -> list[str]:
    feats = []
    for word in folded_words.split():
        feats.append("w:" + word)
        padded = f"<{word}>"
        for n in (2, 3):
            feats.extend("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    return feats


@lru_cache(maxsize=1)
def _model() -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, float]] | None:
    """(log-likelihoods, unseen-feature log-likelihood, log-priors) per language, or None
    when the training data cannot be read (then ties stay undecided)."""
    import yaml

    _LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # noqa: N806
    counts: dict[str, Counter[str]] = {"vi": Counter(), "en": Counter()}
    docs: Counter[str] = Counter()
    try:
        files = sorted(_NLU_DIR.glob("*.yml"))
        for file in files:
            for block in (yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER) or {}).get("nlu") or []:
                for line in str(block.get("examples") or "").splitlines():
                    example = _ANNOTATION.sub(
                        r"\1", line.strip()[2:] if line.strip().startswith("- ") else ""
                    )
                    if not example:
                        continue
                    vi, en, words = _evidence(example, places=False)
                    if vi == en:
                        continue  # the model learns only from examples the lexicon is sure of
                    label = "vi" if vi > en else "en"
                    counts[label].update(_features(" ".join(words)))
                    docs[label] += 1
    except (OSError, ValueError, AttributeError):
        return None
    if not docs["vi"] or not docs["en"]:
        return None
    vocabulary = len(set(counts["vi"]) | set(counts["en"]))
    likelihood: dict[str, dict[str, float]] = {}
    unseen: dict[str, float] = {}
    priors: dict[str, float] = {}
    for label, counter in counts.items():
        total = sum(counter.values()) + vocabulary
        likelihood[label] = {f: math.log((c + 1) / total) for f, c in counter.items()}
        unseen[label] = math.log(1 / total)
        priors[label] = math.log(docs[label] / (docs["vi"] + docs["en"]))
    return likelihood, unseen, priors


def _naive_bayes_language(folded_words: str) -> str | None:
    model = _model()
    if model is None or not folded_words:
        return None
    likelihood, unseen, priors = model
    score = {}
    for label in ("vi", "en"):
        table, default = likelihood[label], unseen[label]
        score[label] = priors[label] + sum(table.get(f, default) for f in _features(folded_words))
    margin = score["vi"] - score["en"]
    if abs(margin) < _NB_MARGIN:
        return None
    return "vi" if margin > 0 else "en"


# -- requests to change the language --------------------------------------------------------

# A language the bot answers in, as people name it (folded).
_VI_NAME = r"(?:tieng viet|t viet|tieng vn|viet ngu|vietnamese|tv)"
_EN_NAME = r"(?:tieng anh|t anh|anh ngu|english|eng)"
# "không biết / ko hiểu / chưa đọc được / kém tiếng Anh", "I can't read Vietnamese": the
# speaker asks for the *other* language.
_CANNOT_VI = r"(?:khong|ko|k|kh|hok|chua|cha|chang|kem|dot|it)"
_CANNOT_EN = r"(?:don t|dont|do not|can t|cant|cannot|can not|not|no|barely|poor)"
_CANNOT_VERB = r"(?:biet|bit|bt|hieu|doc|noi|ranh|gioi|thao|read|speak|understand|know|good at)"
_CANNOT = re.compile(
    rf"\b(?:{_CANNOT_VI}|{_CANNOT_EN})(?:\s+\w+){{0,2}}?\s+{_CANNOT_VERB}(?:\s+(?:duoc|dc|lam|nhieu|much|well|the|any))*"
    rf"\s+(?P<name>{_VI_NAME}|{_EN_NAME})\b"
)
_NAMED = re.compile(rf"\b(?P<name>{_VI_NAME}|{_EN_NAME})\b")
# "Vietnamese office", "English class": the English names used as adjectives before one of
# these are not a request ("and the Vietnamese office in Taipei?").
_ADJECTIVE_USE = re.compile(
    r"\b(?:vietnamese|english)\s+(?:office|embassy|consulate|mission|worker|workers|people|"
    r"person|community|association|group|restaurant|food|shop|friend|friends|staff|citizen|"
    r"citizens|passport|government|police|lawyer|teacher|class|course|school|test|exam|lessons?)\b"
)
# Learning or a test in a language is a topic (skills), not a choice of reply language.
_ABOUT_LEARNING = re.compile(
    r"\b(?:hoc|lop|khoa|thi|chung chi|learn|study|course|class|lessons?|exam|test)\b"
)
# Another language named ("tiếng Ả Rập", "Korean"): talking about it, not choosing it.
_OTHER_LANGUAGE = re.compile(
    r"\b(?:tieng|t)\s+(?:a rap|han|nhat|trung|hoa|dai|duc|phap|nga|malay|thai|lao|campuchia|khmer|"
    r"ba lan|ro|hung|sec)\b|\b(?:arabic|korean|japanese|chinese|mandarin|taiwanese|german|french|"
    r"russian|malay|thai|polish)\b"
)
# Asking for the language setting itself: toggled.
_GENERIC = re.compile(r"\b(?:ngon ngu|doi tieng|chuyen tieng|language|switch language)\b")
LANGUAGE_TOGGLE = "toggle"


def language_request(text: str | None) -> str | None:
    """What a message asks of the reply language: "vi", "en", `LANGUAGE_TOGGLE` (change it,
    no language named), or None when it does not ask to change the language at all.

    "e ko biet tieng anh" asks for Vietnamese (the language it can read); "the Vietnamese
    office in Taipei?" or "tôi không nói được tiếng Ả Rập, nói với cảnh sát thế nào?" talk
    about a language or a country and ask for none.
    """
    if not text or _PAYLOAD.match(text):
        return None
    folded = " ".join(_WORD.findall(fold(truncate(text)).replace("'", " ")))
    cannot = _CANNOT.search(folded)
    if cannot:
        return "en" if re.fullmatch(_VI_NAME, cannot.group("name")) else "vi"
    folded = _ADJECTIVE_USE.sub(" ", folded)
    named = {("vi" if re.fullmatch(_VI_NAME, m.group("name")) else "en") for m in _NAMED.finditer(folded)}
    if len(named) == 1 and not _ABOUT_LEARNING.search(folded):
        return named.pop()
    if named or _OTHER_LANGUAGE.search(folded):
        return None
    return LANGUAGE_TOGGLE if _GENERIC.search(folded) else None
