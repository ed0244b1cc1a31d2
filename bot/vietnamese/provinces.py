"""Vietnam's provincial units: the 34 in force since 12 June 2025 and the 63 they replaced.

Resolution 202/2025/QH15 of the National Assembly (passed and in force 12 June 2025)
rearranged the 63 provinces and centrally-run cities into 34: 11 unchanged and 23
formed from the other 52. Users still name their home province the old way ("em ở
Quảng Bình", "que thai binh"), so every former name resolves to the unit it is part
of now, which is what the directory and the local offices are organised by.

Mapping checked against (accessed 2026-11):
- https://vietnamnews.vn/politics-laws/1720781/viet-nam-sets-two-tier-local-government-system.html
- https://vietaustralia.com/en/official-new-map-of-vietnam-s-34-provinces-and-cities-after-the-2025-merger.html
- https://sbm.vn/?p=3893 (12 June 2025 vote and entry into force; 28 provinces + 6 cities)
- https://baothanhhoa.vn/toan-van-nghi-quyet-hoi-nghi-lan-thu-11-bch-trung-uong-dang-khoa-xiii-245497.htm
  (names of the 34 units, Resolution 60-NQ/TW, as then enacted)
"""

from __future__ import annotations

from bot.vietnamese.matching import Alias, Gazetteer, Match, Rule, aliases

# "All of Viet Nam": the same words in a directory CSV cell and in a chat message.
NATIONWIDE = "nationwide"
NATIONWIDE_WORDS = frozenset(
    {NATIONWIDE, "toàn quốc", "toan quoc", "cả nước", "ca nuoc", "all of viet nam", "*"}
)


def is_nationwide(value: str | None) -> bool:
    """True for a word that means all of Viet Nam rather than one province."""
    return value is not None and value.strip().lower() in NATIONWIDE_WORDS


__all__ = [
    "CITY_UNITS",
    "CURRENT_PROVINCES",
    "FORMER_TO_CURRENT",
    "MERGED_FROM",
    "Match",
    "find_provinces",
    "normalize_province",
]

HCMC = "Thành phố Hồ Chí Minh"

# Current unit -> the former units it was formed from (itself first when it kept its
# name). Order: the 11 unchanged units, then the 23 new ones, north to south.
MERGED_FROM: dict[str, tuple[str, ...]] = {
    "Hà Nội": ("Hà Nội",),
    "Huế": ("Thừa Thiên Huế",),
    "Lai Châu": ("Lai Châu",),
    "Điện Biên": ("Điện Biên",),
    "Sơn La": ("Sơn La",),
    "Lạng Sơn": ("Lạng Sơn",),
    "Quảng Ninh": ("Quảng Ninh",),
    "Thanh Hóa": ("Thanh Hóa",),
    "Nghệ An": ("Nghệ An",),
    "Hà Tĩnh": ("Hà Tĩnh",),
    "Cao Bằng": ("Cao Bằng",),
    "Tuyên Quang": ("Tuyên Quang", "Hà Giang"),
    "Lào Cai": ("Lào Cai", "Yên Bái"),
    "Thái Nguyên": ("Thái Nguyên", "Bắc Kạn"),
    "Phú Thọ": ("Phú Thọ", "Vĩnh Phúc", "Hòa Bình"),
    "Bắc Ninh": ("Bắc Ninh", "Bắc Giang"),
    "Hưng Yên": ("Hưng Yên", "Thái Bình"),
    "Hải Phòng": ("Hải Phòng", "Hải Dương"),
    "Ninh Bình": ("Ninh Bình", "Hà Nam", "Nam Định"),
    "Quảng Trị": ("Quảng Trị", "Quảng Bình"),
    "Đà Nẵng": ("Đà Nẵng", "Quảng Nam"),
    "Quảng Ngãi": ("Quảng Ngãi", "Kon Tum"),
    "Gia Lai": ("Gia Lai", "Bình Định"),
    "Khánh Hòa": ("Khánh Hòa", "Ninh Thuận"),
    "Lâm Đồng": ("Lâm Đồng", "Đắk Nông", "Bình Thuận"),
    "Đắk Lắk": ("Đắk Lắk", "Phú Yên"),
    HCMC: (HCMC, "Bình Dương", "Bà Rịa – Vũng Tàu"),
    "Đồng Nai": ("Đồng Nai", "Bình Phước"),
    "Tây Ninh": ("Tây Ninh", "Long An"),
    "Cần Thơ": ("Cần Thơ", "Sóc Trăng", "Hậu Giang"),
    "Vĩnh Long": ("Vĩnh Long", "Bến Tre", "Trà Vinh"),
    "Đồng Tháp": ("Đồng Tháp", "Tiền Giang"),
    "Cà Mau": ("Cà Mau", "Bạc Liêu"),
    "An Giang": ("An Giang", "Kiên Giang"),
}

CURRENT_PROVINCES: tuple[str, ...] = tuple(MERGED_FROM)

# The six centrally-run cities (thành phố trực thuộc trung ương).
CITY_UNITS: tuple[str, ...] = ("Hà Nội", "Huế", "Hải Phòng", "Đà Nẵng", HCMC, "Cần Thơ")

FORMER_TO_CURRENT: dict[str, str] = {
    former: current for current, formers in MERGED_FROM.items() for former in formers
}

# Extra spellings and short forms, by the name (current or former) they stand for.
_ANY = Rule.ANY
_EXTRA: dict[str, dict[Rule, tuple[str, ...]]] = {
    "Hà Nội": {
        _ANY: ("Hanoi", "Ha Noi", "thủ đô Hà Nội", "TP Hà Nội", "TP.HN", "tphn"),
        Rule.CONTEXT: ("HN",),
        Rule.ALONE: ("HN",),
    },
    "Thừa Thiên Huế": {
        _ANY: ("Thừa Thiên – Huế", "TT Huế", "TT-Huế", "Hue city", "TP Huế", "cố đô Huế"),
        Rule.ALONE: ("TTH",),
    },
    HCMC: {
        _ANY: (
            "Hồ Chí Minh",
            "TP Hồ Chí Minh",
            "TP. Hồ Chí Minh",
            "HCM",
            "TP HCM",
            "TP.HCM",
            "tphcm",
            "HCMC",
            "Ho Chi Minh City",
            "Sài Gòn",
            "saigon",
            "Sài Gòn – Gia Định",
            "Thành phố HCM",
        )
    },
    "Bà Rịa – Vũng Tàu": {
        _ANY: ("Bà Rịa Vũng Tàu", "Vũng Tàu", "Bà Rịa", "BR-VT", "BRVT", "Ba Ria-Vung Tau")
    },
    "Hải Phòng": {_ANY: ("Haiphong", "TP Hải Phòng"), Rule.ALONE: ("HP",)},
    "Đà Nẵng": {_ANY: ("Danang", "TP Đà Nẵng")},
    "Cần Thơ": {_ANY: ("TP Cần Thơ", "Can Tho city")},
    "Thanh Hóa": {_ANY: ("Thanh Hoá", "xứ Thanh")},
    "Khánh Hòa": {_ANY: ("Khánh Hoà",)},
    "Hòa Bình": {_ANY: ("Hoà Bình",)},
    "Đắk Lắk": {
        _ANY: (
            "Đắc Lắc",
            "Đắk Lắc",
            "Đắc Lắk",
            "Đăk Lăk",
            "Đắk Lăk",
            "Daklak",
            "Đắclắk",
            "Dac Lac",
            "Dak Lac",
        )
    },
    "Đắk Nông": {_ANY: ("Đắc Nông", "Đăk Nông", "Daknong", "Dac Nong")},
    "Bắc Kạn": {_ANY: ("Bắc Cạn",)},
    "Kon Tum": {_ANY: ("Kontum", "Công Tum")},
    "Nghệ An": {_ANY: ("xứ Nghệ",)},
    "Quảng Ngãi": {_ANY: ("Quãng Ngãi",)},
    "Quảng Nam": {_ANY: ("Quãng Nam",)},
    "Quảng Bình": {_ANY: ("Quãng Bình",)},
    "Quảng Trị": {_ANY: ("Quãng Trị",)},
}

# Names that double as everyday words: if typed with diacritics, only with their own
# ("hai phòng" is "two rooms", "đa năng" is "multi-purpose").
_STRICT_NAMES = {"Hải Phòng", "Đà Nẵng"}
# Unaccented "hue" is as often "huệ" or "huê": needs "Huế" as such or "ở/tp/quê hue".
_GUARDED_NAMES = {"Huế"}

# Before a short form ("ở HN", "tỉnh Huế", "quê hue"), these make it a place.
_CONTEXT_WORDS = (
    "ở",
    "tại",
    "tỉnh",
    "tp",
    "t.p",
    "thành phố",
    "quê",
    "về",
    "từ",
    "đến",
    "ra",
    "vào",
    "xứ",
    "dân",
    "người",
)


# "hai phòng" (two rooms) and "Hải" (a given name) before an office ("phòng nhân sự").
_BLOCKERS = (
    "có hai phòng",
    "thuê hai phòng",
    "hai phòng trọ",
    "hai phòng ngủ",
    "hai phòng trống",
    "hải phòng nhân sự",
    "hải phòng hành chính",
    "hải phòng kế toán",
)


def _build() -> Gazetteer:
    entries: list[Alias] = []
    for current, formers in MERGED_FROM.items():
        for name in {current, *formers}:
            rule = Rule.STRICT if name in _STRICT_NAMES else Rule.GUARDED if name in _GUARDED_NAMES else _ANY
            entries.append(Alias(name, current, rule))
    for name, by_rule in _EXTRA.items():
        current = FORMER_TO_CURRENT.get(name, name)
        for rule, texts in by_rule.items():
            entries.extend(aliases(current, texts, rule))
    # "Huế" is both the old city and the current unit name.
    entries.append(Alias("Thành phố Huế", "Huế"))
    for city in CITY_UNITS:
        if city != HCMC:
            entries.append(Alias(f"Thành phố {city}", city))
    entries.extend(aliases(None, _BLOCKERS))
    return Gazetteer(entries, _CONTEXT_WORDS)


_GAZETTEER = _build()


def normalize_province(text: str) -> str | None:
    """The current unit for one mention, old or new, with or without diacritics.

    "quang binh" and "Quảng Bình" -> "Quảng Trị"; "sai gon" -> "Thành phố Hồ Chí Minh".
    """
    return _GAZETTEER.lookup(text)


def find_provinces(text: str) -> list[Match]:
    """Every province mentioned in a free message; `value` is the current unit name."""
    return _GAZETTEER.find(text)
