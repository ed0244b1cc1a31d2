"""Destination countries: names, aliases and a matcher returning ISO 3166-1 alpha-2 codes.

Covers the countries Vietnamese migrant workers go to (and a few more users ask
about), in Vietnamese with and without diacritics, colloquial names ("xứ kim chi",
"Hàn Xẻng"), and English. Short names that are also common words ("Hàn" weld,
"Nhật" in "chủ nhật", "Đài" in "tổng đài", "Nga" a given name, "Pháp" in "pháp lý")
are guarded; see `bot.vietnamese.matching` for what each rule accepts. A host-country
city ("Busan", "Đài Bắc", "Riyadh") also names its country.
"""

from __future__ import annotations

from bot.vietnamese.cities import CITY_COUNTRY, city_aliases
from bot.vietnamese.matching import Alias, Gazetteer, Match, Rule, aliases

__all__ = ["COUNTRY_NAMES", "Match", "find_countries", "normalize_country"]

ANY, STRICT, GUARDED, CONTEXT, ALONE = (
    Rule.ANY,
    Rule.STRICT,
    Rule.GUARDED,
    Rule.CONTEXT,
    Rule.ALONE,
)

COUNTRY_NAMES: dict[str, dict[str, str]] = {
    "KR": {"vi": "Hàn Quốc", "en": "South Korea"},
    "KP": {"vi": "Triều Tiên", "en": "North Korea"},
    "JP": {"vi": "Nhật Bản", "en": "Japan"},
    "TW": {"vi": "Đài Loan", "en": "Taiwan"},
    "CN": {"vi": "Trung Quốc", "en": "China"},
    "HK": {"vi": "Hồng Kông", "en": "Hong Kong"},
    "MO": {"vi": "Ma Cao", "en": "Macau"},
    "MY": {"vi": "Malaysia", "en": "Malaysia"},
    "SG": {"vi": "Singapore", "en": "Singapore"},
    "TH": {"vi": "Thái Lan", "en": "Thailand"},
    "LA": {"vi": "Lào", "en": "Laos"},
    "KH": {"vi": "Campuchia", "en": "Cambodia"},
    "MM": {"vi": "Myanmar", "en": "Myanmar"},
    "SA": {"vi": "Ả Rập Xê Út", "en": "Saudi Arabia"},
    "AE": {"vi": "Các Tiểu vương quốc Ả Rập Thống nhất", "en": "United Arab Emirates"},
    "QA": {"vi": "Qatar", "en": "Qatar"},
    "KW": {"vi": "Kuwait", "en": "Kuwait"},
    "OM": {"vi": "Oman", "en": "Oman"},
    "BH": {"vi": "Bahrain", "en": "Bahrain"},
    "IL": {"vi": "Israel", "en": "Israel"},
    "LY": {"vi": "Libya", "en": "Libya"},
    "CY": {"vi": "Síp", "en": "Cyprus"},
    "DE": {"vi": "Đức", "en": "Germany"},
    "RO": {"vi": "Romania", "en": "Romania"},
    "PL": {"vi": "Ba Lan", "en": "Poland"},
    "HU": {"vi": "Hungary", "en": "Hungary"},
    "CZ": {"vi": "Séc", "en": "Czechia"},
    "SK": {"vi": "Slovakia", "en": "Slovakia"},
    "BG": {"vi": "Bulgaria", "en": "Bulgaria"},
    "RU": {"vi": "Nga", "en": "Russia"},
    "FR": {"vi": "Pháp", "en": "France"},
    "IT": {"vi": "Ý", "en": "Italy"},
    "GB": {"vi": "Anh", "en": "United Kingdom"},
    "US": {"vi": "Mỹ", "en": "United States"},
    "AU": {"vi": "Úc", "en": "Australia"},
    "NZ": {"vi": "New Zealand", "en": "New Zealand"},
}

# Words that, right before a short country name, make it a place: "sang Hàn",
# "bên Nga", "đơn hàng Nhật", "tiếng Đức". "qua" is left out on purpose: unaccented
# "qua han" is far more often "quá hạn" (overstayed) than "qua Hàn".
_CONTEXT_WORDS = (
    "sang",
    "bên",
    "ở",
    "xứ",
    "nước",
    "tại",
    "đi",
    "từ",
    "về từ",
    "xklđ",
    "xuất khẩu lao động",
    "lao động",
    "đơn hàng",
    "tiếng",
    "người",
    "visa",
    "thị trường",
    "đất nước",
    "làm việc ở",
    "qua bên",
    # "quay lai han theo eps": going back to a host country.
    "quay lại",
    "trở lại",
    "quay về",
)

# value -> (rule -> alias texts). Codes and their 3-letter forms are ALONE: "us",
# "my", "it" are English words in a free message.
_ALIASES: dict[str, dict[Rule, tuple[str, ...]]] = {
    "KR": {
        ANY: (
            "Hàn Quốc",
            "hanquoc",
            "Đại Hàn Dân Quốc",
            "xứ kim chi",
            "Korea",
            "South Korea",
            "Republic of Korea",
            "Hàn Xẻng",
            "Hàn Quắc",
        ),
        STRICT: ("xứ Hàn",),
        # unaccented "dai han" is usually "dài hạn" (long-term contract)
        GUARDED: ("Hàn", "Đại Hàn"),
        ALONE: ("KR", "KOR", "ROK", "HQ"),
    },
    "KP": {
        ANY: ("Triều Tiên", "Bắc Triều Tiên", "North Korea", "Bắc Hàn", "DPRK"),
        ALONE: ("KP", "PRK"),
    },
    "JP": {
        ANY: ("Nhật Bản", "nhatban", "xứ hoa anh đào", "xứ phù tang", "xứ mặt trời mọc", "Japan", "Nhựt Bổn"),
        STRICT: ("xứ Nhật",),
        GUARDED: ("Nhật",),
        ALONE: ("JP", "JPN"),
    },
    "TW": {
        ANY: ("Đài Loan", "dailoan", "Taiwan", "Trung Hoa Dân Quốc"),
        STRICT: ("xứ Đài",),
        CONTEXT: ("Đài",),
        ALONE: ("TW", "TWN", "Đài"),
    },
    "CN": {
        ANY: ("Trung Quốc", "trungquoc", "China", "Cộng hòa Nhân dân Trung Hoa", "Trung Hoa"),
        ALONE: ("CN", "CHN", "TQ"),
    },
    "HK": {
        ANY: ("Hồng Kông", "Hongkong", "Hương Cảng"),
        ALONE: ("HK",),
    },
    "MO": {
        ANY: ("Macau", "Macao", "Ma Cao"),
        ALONE: ("MO",),
    },
    "MY": {
        ANY: ("Malaysia", "Ma-lai-xi-a", "malaixia", "Malaixia", "Mã Lai Tây Á", "Malay", "Malai"),
        GUARDED: ("Mã Lai",),
        ALONE: ("MY", "MYS", "MAS"),
    },
    "SG": {
        ANY: ("Singapore", "Xin-ga-po", "Xinh-ga-po", "xingapo", "singapo", "Tân Gia Ba"),
        CONTEXT: ("Sing",),
        ALONE: ("SG", "SGP"),
    },
    "TH": {
        ANY: ("Thái Lan", "thailan", "Thailand", "xứ chùa vàng"),
        CONTEXT: ("Thái",),
        ALONE: ("TH", "THA"),
    },
    "LA": {
        ANY: ("Laos", "Lao PDR", "nước Lào", "Cộng hòa Dân chủ Nhân dân Lào"),
        GUARDED: ("Lào",),
        ALONE: ("LA", "LAO"),
    },
    "MM": {
        # Scam compounds on the Thai border are a main trafficking destination.
        ANY: ("Myanmar", "Miến Điện", "Mianma", "Burma"),
        ALONE: ("MM", "MMR"),
    },
    "KH": {
        ANY: ("Campuchia", "Cam-pu-chia", "Căm-pu-chia", "Cambodia", "Kampuchea", "Cao Miên"),
        ALONE: ("KH", "KHM"),
    },
    "SA": {
        ANY: (
            "Ả Rập Xê Út",
            "Ả-rập Xê-út",
            "Arập Xêút",
            "arap xeut",
            "A Rap Saudi",
            "Ả Rập Saudi",
            "Saudi",
            "Saudi Arabia",
            "KSA",
            "Ả Rập Xê-Út",
            "Xê Út",
            "Sau-đi",
            "Arab Saudi",
            # Vietnamese domestic workers say "đi Ả Rập" for Saudi Arabia; the Emirates
            # have their own, longer names.
            "Ả Rập",
            "Ả-rập",
        ),
        ALONE: ("SA", "SAU"),
    },
    "AE": {
        ANY: (
            "UAE",
            "Các Tiểu vương quốc Ả Rập Thống nhất",
            "Tiểu vương quốc Ả Rập Thống nhất",
            "Các Tiểu vương quốc Ả Rập",
            "United Arab Emirates",
            "Emirates",
            "Dubai",
            "Đu-bai",
            "Abu Dhabi",
            "A-bu Đa-bi",
            "Abudhabi",
        ),
        ALONE: ("AE", "ARE"),
    },
    "QA": {
        ANY: ("Qatar", "Katar", "Quatar", "Ca-ta", "Cata"),
        ALONE: ("QA", "QAT"),
    },
    "KW": {
        ANY: ("Kuwait", "Cô-oét", "Cô Oét", "Coet"),
        ALONE: ("KW", "KWT"),
    },
    "OM": {
        ANY: ("Oman", "Ô-man"),
        ALONE: ("OM", "OMN"),
    },
    "BH": {
        ANY: ("Bahrain", "Ba-ranh", "Bahren"),
        ALONE: ("BH", "BHR"),
    },
    "IL": {
        ANY: ("Israel", "Ít-xra-en", "I-xra-en", "Ixraen", "Isarel"),
        ALONE: ("IL", "ISR"),
    },
    "LY": {
        ANY: ("Libya", "Li-bi", "Libi"),
        ALONE: ("LY", "LBY"),
    },
    "CY": {
        ANY: ("Cyprus", "đảo Síp", "Cộng hòa Síp", "Cộng hoà Síp"),
        CONTEXT: ("Síp",),
        ALONE: ("CY", "CYP", "Síp"),
    },
    "DE": {
        ANY: ("Germany", "Deutschland", "CHLB Đức", "Cộng hòa Liên bang Đức", "Cộng hoà Liên bang Đức"),
        GUARDED: ("Đức",),
        ALONE: ("DE", "DEU", "GER"),
    },
    "RO": {
        ANY: ("Romania", "Rumani", "Ru-ma-ni", "Rumania", "Ru-ma-ni-a", "Rô-ma-ni-a", "Rumanie"),
        ALONE: ("RO", "ROU"),
    },
    "PL": {
        ANY: ("Poland", "Polska"),
        GUARDED: ("Ba Lan",),
        ALONE: ("PL", "POL"),
    },
    "HU": {
        ANY: ("Hungary", "Hung-ga-ri", "Hungari", "Hunggari", "Hungary"),
        ALONE: ("HU", "HUN"),
    },
    "CZ": {
        ANY: ("Cộng hòa Séc", "Cộng hoà Séc", "Czech", "Czechia", "Czech Republic"),
        CONTEXT: ("Séc",),
        ALONE: ("CZ", "CZE", "Séc"),
    },
    "SK": {
        ANY: ("Slovakia", "Xlô-va-ki-a", "Slovakia", "Slovak", "Xlovakia"),
        ALONE: ("SK", "SVK"),
    },
    "BG": {
        ANY: ("Bulgaria", "Bun-ga-ri", "Bungari", "Bun-ga-ri-a"),
        ALONE: ("BG", "BGR"),
    },
    "RU": {
        ANY: ("Liên bang Nga", "Russia", "Nước Nga", "Russian Federation"),
        GUARDED: ("Nga",),
        ALONE: ("RU", "RUS"),
    },
    "FR": {
        ANY: ("France", "Cộng hòa Pháp", "Cộng hoà Pháp", "nước Pháp"),
        CONTEXT: ("Pháp",),
        ALONE: ("FR", "FRA", "Pháp"),
    },
    "IT": {
        ANY: ("Italy", "Italia", "I-ta-li-a", "nước Ý"),
        CONTEXT: ("Ý",),
        ALONE: ("IT", "ITA", "Ý"),
    },
    "GB": {
        ANY: (
            "Vương quốc Anh",
            "Anh Quốc",
            "United Kingdom",
            "England",
            "Britain",
            "Great Britain",
            "Vương quốc Liên hiệp Anh",
        ),
        ALONE: ("GB", "GBR", "UK", "Anh"),
    },
    "US": {
        ANY: ("Hoa Kỳ", "United States", "United States of America", "USA", "America", "nước Mỹ"),
        GUARDED: ("Mỹ",),
        ALONE: ("US", "Mỹ"),
    },
    "AU": {
        ANY: ("Australia", "Ốt-xtrây-li-a", "Úc Đại Lợi", "nước Úc"),
        GUARDED: ("Úc",),
        ALONE: ("AU", "AUS"),
    },
    "NZ": {
        ANY: ("New Zealand", "Niu Di-lân", "Niu Dilan", "Tân Tây Lan"),
        ALONE: ("NZ", "NZL"),
    },
}

# Phrases that contain a short country name but mean something else.
_BLOCKERS = (
    # "hàn" = to weld. Only phrases where the word after "hàn" cannot start a new
    # clause: unaccented "sang han lam viec" is "sang Hàn làm việc", not "hàn lâm".
    "thợ hàn",
    "hàn xì",
    "hàn tig",
    "hàn mig",
    "hàn co2",
    "nghề hàn",
    "máy hàn",
    "que hàn",
    "mối hàn",
    "hàn thử biểu",
    "hàn hồ quang",
    "hàn inox",
    "hàn ống",
    "hàn thép",
    "hàn sắt",
    "hàn nhôm",
    "hàn điện",
    "khi hàn",
    # "học hàn" alone would block "du học Hàn Quốc".
    "học hàn ở",
    "học hàn xong",
    "học hàn điện",
    "hàn quốc tế",
    # A language known is not a country lived in: "biết tiếng Nhật thì tìm việc ở đâu".
    "biết tiếng nhật",
    "biết tiếng hàn",
    "biết tiếng trung",
    "biết tiếng đức",
    "biết tiếng hoa",
    "thạo tiếng nhật",
    "thạo tiếng hàn",
    "thạo tiếng trung",
    "thạo tiếng đức",
    # "nhật"
    "chủ nhật",
    "sinh nhật",
    "cập nhật",
    "nhật ký",
    "nhật kí",
    "nhật báo",
    "nhật thực",
    "nhật trình",
    "nhật dụng",
    # "đài"
    "tổng đài",
    "đài phát thanh",
    "đài truyền hình",
    "đài tiếng nói",
    "nhà đài",
    "đài thọ",
    # "đức" (virtue, and a common given name)
    "đạo đức",
    "đức tin",
    "đức tính",
    "đức hạnh",
    "nhân đức",
    "phúc đức",
    "âm đức",
    "công đức",
    "đức phật",
    "đức mẹ",
    "đức cha",
    "đức chúa",
    "đức độ",
    "anh đức",
    "chú đức",
    "ông đức",
    "bác đức",
    "em đức",
    "thầy đức",
    "thủ đức",
    "mỹ đức",
    # Đức as a given name
    "tên là đức",
    "tên đức",
    "bạn đức",
    "cậu đức",
    "thằng đức",
    "đức ơi",
    "văn đức",
    "minh đức",
    "hữu đức",
    "trọng đức",
    "quang đức",
    "mạnh đức",
    "tiến đức",
    "thành đức",
    "huy đức",
    "ngọc đức",
    "đức nói",
    "đức bảo",
    # "nga"
    "ngã tư",
    "ngã ba",
    "ngã rẽ",
    "ngã năm",
    "ngả nào",
    "ngả này",
    "chị nga",
    "cô nga",
    "em nga",
    "bà nga",
    # "mỹ"
    "thẩm mỹ",
    "mỹ phẩm",
    "mỹ thuật",
    "mỹ tho",
    "hoàn mỹ",
    "mỹ nhân",
    "mỹ lệ",
    "mỹ vị",
    "mỹ mãn",
    "chị mỹ",
    "cô mỹ",
    "em mỹ",
    "mỹ đình",
    "mỹ hào",
    # "lào": "người lao động" (worker) is the most frequent phrase of all
    "lào cai",
    "lao động",
    "lao đao",
    "lao xao",
    "lao vào",
    "lao lực",
    "lao tâm",
    "lao phổi",
    "bệnh lao",
    "lao công",
    "lao dịch",
    "lao tù",
    "cần lao",
    "lao khổ",
    # "hàn" typed without marks after a context word: "visa dài hạn", "xklđ ngắn hạn",
    # "visa hết hạn". Not "quá hạn": "qua han quoc" is "qua Hàn Quốc". Welding and other
    # "hàn" words only where the next word cannot start a new clause ("hàn lâm" would
    # swallow "sang han lam viec").
    "hết hạn",
    "dài hạn",
    "ngắn hạn",
    "hàn gắn",
    "hàn huyên",
    "bần hàn",
    "cơ hàn",
    "hàn răng",
    # "pháp"
    "pháp lý",
    "pháp luật",
    "pháp nhân",
    "pháp định",
    "hợp pháp",
    "bất hợp pháp",
    "tư pháp",
    "phương pháp",
    "biện pháp",
    "hiến pháp",
    "thủ pháp",
    "pháp sư",
    "giải pháp",
    "ngữ pháp",
    "lập pháp",
    "hành pháp",
    "pháp lệnh",
    "pháp chế",
    "phật pháp",
    # "ý"
    "ý kiến",
    "ý định",
    "ý nghĩa",
    "ý muốn",
    "ý tưởng",
    "y tế",
    "y tá",
    "y học",
    "y khoa",
    "y sĩ",
    "chú ý",
    "đồng ý",
    "lưu ý",
    "ý thức",
    # "úc"
    "ức chế",
    # "thái"
    "thái độ",
    "thái bình",
    "thái nguyên",
    "thái hòa",
    "dân tộc thái",
    # "séc"
    "tiền séc",
)


def _build() -> Gazetteer:
    entries: list[Alias] = []
    for code, by_rule in _ALIASES.items():
        entries.append(Alias(COUNTRY_NAMES[code]["en"], code, ANY))
        for rule, texts in by_rule.items():
            entries.extend(aliases(code, texts, rule))
    entries.extend(city_aliases(CITY_COUNTRY))
    entries.extend(aliases(None, _BLOCKERS))
    return Gazetteer(entries, _CONTEXT_WORDS)


_GAZETTEER = _build()


def normalize_country(text: str) -> str | None:
    """ISO code for a single mention ("Hàn", "han quoc", "Korea", "KR"), else None."""
    return _GAZETTEER.lookup(text)


def find_countries(text: str) -> list[Match]:
    """Every country mentioned in a free message; `value` is the ISO code."""
    return _GAZETTEER.find(text)
