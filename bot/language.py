"""Which language to answer in: the channel's locale, else a guess from the message.

A message with Vietnamese diacritics is Vietnamese. Without them, common Vietnamese
function words typed unaccented ("lam sao", "khong", "em", "duoc") are weighed against
common English words; ties go to Vietnamese, the language of most users.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.i18n import SUPPORTED_LANGUAGES, supported
from bot.vietnamese.text import fold, has_vietnamese_diacritics

_WORD = re.compile(r"[a-z']+")

_VI_WORDS = frozenset(
    """
    a ah anh ba bao bay bi biet bn bo bon cac cach cai can cho chi chiu chu chua co con cty cua
    cuoc da dang dau day de den di dieu dc dk dong du duoc e em gi gio giup gui ha hay hc ho hoi
    hok hong hop hon j khi khong kh ko k la lai lam lanh len luc luong ly ma mik minh moi muon
    mk nao nay nen nghe ngay ngoai nguoi nhe nhieu nhu nhung noi nua nuoc o oi phai qua quoc
    ra roi sao sang se so sdt thi the theo thoi tien toi tra tre trong tu tui va van ve viec voi
    vs xin xkld bhxh hd hdld ntn nt dt ung ky quy hieu ak uk a ad ong nha chao cam
    """.split()
)
_EN_WORDS = frozenset(
    """
    a about after am an and any are as at be been but by can could did do does for from get
    got have help hi hello how i if in is it me my need no not of on or please so that the
    their there they this to want was we what when where which who why will with would you
    your yes thanks thank bye embassy money job work contract insurance pension refund back
    home korea japan taiwan i'm can't don't hey
    """.split()
)
# Words that exist in both lists count for neither.
_SHARED = _VI_WORDS & _EN_WORDS


def detect_language(text: str) -> str:
    """ "vi" or "en" for one message."""
    if not text or has_vietnamese_diacritics(text):
        return "vi"
    words = _WORD.findall(fold(text))
    vi = sum(1 for w in words if w in _VI_WORDS and w not in _SHARED)
    en = sum(1 for w in words if w in _EN_WORDS and w not in _SHARED)
    return "en" if en > vi else "vi"


def choose_language(slot_value: str | None, metadata: Mapping | None, text: str | None) -> str:
    """The slot if set, else the channel locale from metadata, else a guess from text."""
    if slot_value in SUPPORTED_LANGUAGES:
        return str(slot_value)
    locale = (metadata or {}).get("locale") or (metadata or {}).get("language")
    if locale:
        return supported(str(locale))
    if (text or "").startswith("/"):  # a button payload or command says nothing of language
        return detect_language("")
    return detect_language(text or "")
