"""The fixed vocabulary of needs the referral directory is indexed by, and its keywords.

A need is what a user wants a partner organisation for (legal aid, a job, a loan...).
`find_needs` spots them in a free message in Vietnamese (with or without diacritics,
colloquial) or English; `normalize_need` turns a button, slot value or short reply
into one of `NEEDS`.
"""

from __future__ import annotations

from bot.vietnamese.matching import Alias, Gazetteer, Match, Rule, aliases

__all__ = ["NEEDS", "NEED_LABELS", "Match", "find_needs", "normalize_need"]

NEEDS: tuple[str, ...] = (
    "legal_aid",
    "job_placement",
    "training",
    "counselling",
    "shelter",
    "loans",
    "repatriation",
    "trafficking_support",
    "complaints",
    "insurance_claims",
)

NEED_LABELS: dict[str, dict[str, str]] = {
    "legal_aid": {"vi": "Trợ giúp pháp lý", "en": "Legal aid"},
    "job_placement": {"vi": "Tìm việc làm", "en": "Job placement"},
    "training": {"vi": "Học nghề, đào tạo", "en": "Vocational training"},
    "counselling": {"vi": "Tư vấn tâm lý", "en": "Counselling"},
    "shelter": {"vi": "Nơi tạm lánh", "en": "Shelter"},
    "loans": {"vi": "Vay vốn", "en": "Loans"},
    "repatriation": {"vi": "Hỗ trợ về nước", "en": "Repatriation"},
    "trafficking_support": {"vi": "Hỗ trợ nạn nhân mua bán người", "en": "Trafficking support"},
    "complaints": {"vi": "Khiếu nại", "en": "Complaints"},
    "insurance_claims": {"vi": "Bảo hiểm", "en": "Insurance claims"},
}

_ANY, _STRICT = Rule.ANY, Rule.STRICT

_KEYWORDS: dict[str, dict[Rule, tuple[str, ...]]] = {
    "legal_aid": {
        _ANY: (
            "pháp lý",
            "trợ giúp pháp lý",
            "luật sư",
            "tư vấn luật",
            "tư vấn pháp luật",
            "pháp luật",
            "khởi kiện",
            "kiện công ty",
            "legal aid",
            "legal advice",
            "lawyer",
            "legal help",
        ),
    },
    "job_placement": {
        _ANY: (
            "việc làm",
            "tìm việc",
            "kiếm việc",
            "xin việc",
            "giới thiệu việc làm",
            "tìm việc làm",
            "việc làm mới",
            "job",
            "jobs",
            "job placement",
            "find work",
            "find a job",
            "employment",
            "trung tâm dịch vụ việc làm",
            "department of home affairs",
            "labour department",
            "labor department",
        ),
        # The provincial Sở Nội vụ directs the employment service centres; unaccented
        # "so lao dong" is also "số lao động" (the number of workers), hence STRICT.
        _STRICT: ("sở nội vụ", "sở lao động", "sở lao động thương binh và xã hội", "sở lđtbxh"),
    },
    "training": {
        _ANY: (
            "học nghề",
            "đào tạo",
            "đào tạo nghề",
            "dạy nghề",
            "khóa học",
            "khoá học",
            "lớp học nghề",
            "học tiếng",
            "training",
            "vocational",
            "course",
            "courses",
        ),
    },
    "counselling": {
        _ANY: (
            "tâm lý",
            "tư vấn tâm lý",
            "trầm cảm",
            "căng thẳng",
            "sang chấn",
            "sức khỏe tâm thần",
            "sức khoẻ tâm thần",
            "stress",
            "counselling",
            "counseling",
            "counsellor",
            "counselor",
            "mental health",
            "depression",
        ),
    },
    "shelter": {
        _ANY: (
            "nhà tạm lánh",
            "tạm lánh",
            "nơi tạm lánh",
            "nhà an toàn",
            "chỗ trú",
            "nơi trú ẩn",
            "chỗ ngủ",
            "shelter",
            "safe house",
            "nowhere to stay",
            "place to stay",
        ),
        # unaccented "cho o" is also "cho ở" (let stay), which still means housing
        _STRICT: ("chỗ ở", "nơi ở"),
    },
    "loans": {
        # bare "vay" is left out: unaccented it is mostly "vậy" (so)
        _ANY: (
            "vay vốn",
            "vay tiền",
            "khoản vay",
            "cho vay",
            "vay ngân hàng",
            "vay ưu đãi",
            "vốn vay",
            "muốn vay",
            "cần vay",
            "xin vay",
            "được vay",
            "loans",
            "borrow money",
            "microfinance",
        ),
        # "Loan" is a common given name: "chị Loan", "em Loan".
        Rule.CONTEXT: ("loan",),
    },
    "repatriation": {
        _ANY: (
            "hồi hương",
            "về nước khẩn cấp",
            "đưa về nước",
            "hỗ trợ về nước",
            "giúp về nước",
            "đưa thi hài về nước",
            "repatriation",
            "repatriate",
            "repatriated",
            "go home urgently",
            "send me home",
        ),
    },
    "trafficking_support": {
        _ANY: (
            "mua bán người",
            "buôn người",
            "buôn bán người",
            "bị lừa bán",
            "nạn nhân bị mua bán",
            "lao động cưỡng bức",
            "cưỡng bức lao động",
            "bị giữ hộ chiếu",
            "giữ hộ chiếu",
            "trafficking",
            "trafficked",
            "human trafficking",
            "forced labour",
            "forced labor",
        ),
        _STRICT: ("bị bán",),
    },
    "complaints": {
        _ANY: ("khiếu nại", "đơn khiếu nại", "complaint", "complaints", "complain", "file a complaint"),
        # unaccented "to cao" is also "to cao" (big and tall)
        _STRICT: ("tố cáo", "phản ánh"),
    },
    "insurance_claims": {
        _ANY: (
            "bảo hiểm",
            "bảo hiểm xã hội",
            "bảo hiểm y tế",
            "bhxh",
            "bhyt",
            "tai nạn lao động",
            "bảo hiểm thất nghiệp",
            "insurance",
            "insurance claim",
            "social insurance",
            "workers compensation",
            "pension refund",
        ),
    },
}

# Phrases containing a keyword that ask for something else.
_BLOCKERS = ("đài loan", "of course", "job description")

# Before "loan": "a loan", "need loan", "bank loan".
_CONTEXT_WORDS = (
    "a",
    "the",
    "need",
    "want",
    "get",
    "bank",
    "apply for",
    "small",
    "business",
    "student",
    "for",
)


def _build() -> Gazetteer:
    entries: list[Alias] = []
    for need, by_rule in _KEYWORDS.items():
        entries.append(Alias(need, need, Rule.ALONE))
        entries.append(Alias(need.replace("_", " "), need, Rule.ALONE))
        for lang in ("vi", "en"):
            entries.append(Alias(NEED_LABELS[need][lang], need, Rule.ALONE))
        for rule, texts in by_rule.items():
            entries.extend(aliases(need, texts, rule))
    entries.extend(aliases(None, _BLOCKERS))
    return Gazetteer(entries, _CONTEXT_WORDS)


_GAZETTEER = _build()


def normalize_need(text: str) -> str | None:
    """The need for a button, slot value or short reply ("legal_aid", "tìm việc")."""
    return _GAZETTEER.lookup(text)


def find_needs(text: str) -> list[Match]:
    """Every need mentioned in a free message; `value` is one of `NEEDS`."""
    return _GAZETTEER.find(text)
