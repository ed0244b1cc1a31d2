"""Host-country cities that narrow a consular or partner lookup ("em ở Osaka").

Values are canonical English city names; `CITY_COUNTRY` gives each one's ISO 3166-1
alpha-2 country code, so a city mention can also fill in the country. Vietnamese
transliterations and Sino-Vietnamese names are included where they are in use
("Xơ-un", "Ô-xa-ca", "Đài Bắc", "Thượng Hải", "Mát-xcơ-va").
"""

from __future__ import annotations

from bot.vietnamese.matching import Alias, Gazetteer, Match, Rule

__all__ = ["CITY_COUNTRY", "Match", "find_cities", "normalize_city"]

# city -> (country code, aliases besides the English name)
_CITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Seoul": ("KR", ("Xơ-un", "Xê-un", "Hán Thành", "Seul")),
    "Busan": ("KR", ("Pusan", "Bu-san", "Bu San")),
    "Incheon": ("KR", ("In-chon", "Inchon", "In-chơn")),
    "Daegu": ("KR", ("Taegu", "Đại Khâu")),
    "Ansan": ("KR", ()),
    "Gimhae": ("KR", ("Kimhae",)),
    "Tokyo": ("JP", ("Tô-ky-ô", "Tokio", "Tô-ki-ô", "Tôkyô")),
    "Osaka": ("JP", ("Ô-xa-ca", "Ô-sa-ka", "Ôsaka")),
    "Fukuoka": ("JP", ("Phu-cu-ô-ca", "Fu-ku-o-ka")),
    "Nagoya": ("JP", ("Na-gô-ya",)),
    "Taipei": ("TW", ("Đài Bắc", "Taipeh")),
    "Kaohsiung": ("TW", ("Cao Hùng", "Kaoshiung", "Gaoxiong")),
    "Taichung": ("TW", ("Đài Trung",)),
    "Taoyuan": ("TW", ("Đào Viên",)),
    "Kuala Lumpur": ("MY", ("Ku-a-la Lăm-pơ", "Kuala Lumpua", "KL")),
    "Riyadh": ("SA", ("Ri-át", "Riyad", "Riad")),
    "Jeddah": ("SA", ("Jidda", "Jiddah")),
    "Dubai": ("AE", ("Đu-bai", "Dubay")),
    "Abu Dhabi": ("AE", ("A-bu Đa-bi", "Abudhabi")),
    "Doha": ("QA", ("Đô-ha",)),
    "Berlin": ("DE", ("Béc-lin", "Beclin", "Bá Linh")),
    "Frankfurt": ("DE", ("Frankfurt am Main", "Phran-phuốc", "Frankfort")),
    "Bucharest": ("RO", ("Bucharest", "Bucuresti", "București", "Bu-ca-rét", "Bucarest")),
    "Warsaw": ("PL", ("Vác-sa-va", "Varsava", "Warszawa", "Vacsava")),
    "Moscow": ("RU", ("Mát-xcơ-va", "Matxcova", "Mátxcơva", "Moskva", "Mạc Tư Khoa", "Moscou")),
    "Vladivostok": ("RU", ("Vla-đi-vô-xtốc", "Vladivostoc")),
    "Shanghai": ("CN", ("Thượng Hải",)),
    "Guangzhou": ("CN", ("Quảng Châu",)),
    "Hong Kong": ("HK", ("Hồng Kông", "Hongkong", "Hương Cảng")),
}

CITY_COUNTRY: dict[str, str] = {city: country for city, (country, _) in _CITIES.items()}

# Abbreviations only taken as a whole reply: in chat "kl" is also "kết luận".
_ALONE = {"KL"}


def _build() -> Gazetteer:
    entries: list[Alias] = []
    for city, (_, names) in _CITIES.items():
        entries.append(Alias(city, city))
        for name in names:
            rule = Rule.ALONE if name in _ALONE else Rule.ANY
            entries.append(Alias(name, city, rule))
    return Gazetteer(entries)


_GAZETTEER = _build()


def normalize_city(text: str) -> str | None:
    """The canonical city for one mention ("Ô-xa-ca", "pusan"), else None."""
    return _GAZETTEER.lookup(text)


def find_cities(text: str) -> list[Match]:
    """Every host-country city in a free message; `value` is the English city name."""
    return _GAZETTEER.find(text)
