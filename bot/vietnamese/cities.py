"""Host-country cities that narrow a consular or partner lookup ("em ở Osaka").

Values are canonical English city names; `CITY_COUNTRY` gives each one's ISO 3166-1
alpha-2 country code, so a city mention can also fill in the country. Vietnamese
transliterations and Sino-Vietnamese names are included where they are in use
("Xơ-un", "Ô-xa-ca", "Đài Bắc", "Thượng Hải", "Mát-xcơ-va").
"""

from __future__ import annotations

from bot.vietnamese.matching import Alias, Gazetteer, Match, Rule

__all__ = ["CITY_COUNTRY", "Match", "city_aliases", "find_cities", "normalize_city"]

# city -> (country code, aliases besides the English name). The main cities (and a few
# provinces and states people name as their place of work) of the host countries; the
# directory falls back to country-wide offices for a city it has no office in.
_CITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    # Korea
    "Seoul": ("KR", ("Xơ-un", "Xê-un", "Hán Thành", "Seul")),
    "Busan": ("KR", ("Pusan", "Bu-san", "Bu San")),
    "Incheon": ("KR", ("In-chon", "Inchon", "In-chơn")),
    "Daegu": ("KR", ("Taegu", "Đại Khâu")),
    "Daejeon": ("KR", ("Taejon",)),
    "Gwangju": ("KR", ("Kwangju",)),
    "Ulsan": ("KR", ()),
    "Suwon": ("KR", ()),
    "Changwon": ("KR", ()),
    "Cheonan": ("KR", ()),
    "Pyeongtaek": ("KR", ()),
    "Hwaseong": ("KR", ()),
    "Gimpo": ("KR", ()),
    "Pohang": ("KR", ()),
    "Geoje": ("KR", ()),
    "Tongyeong": ("KR", ()),
    "Jeju": ("KR", ("Cheju", "Jeju-do")),
    "Ansan": ("KR", ()),
    "Gimhae": ("KR", ("Kimhae",)),
    # Japan
    "Tokyo": ("JP", ("Tô-ky-ô", "Tokio", "Tô-ki-ô", "Tôkyô")),
    "Osaka": ("JP", ("Ô-xa-ca", "Ô-sa-ka", "Ôsaka")),
    "Fukuoka": ("JP", ("Phu-cu-ô-ca", "Fu-ku-o-ka")),
    "Nagoya": ("JP", ("Na-gô-ya",)),
    "Yokohama": ("JP", ()),
    "Kobe": ("JP", ()),
    "Kyoto": ("JP", ()),
    "Sapporo": ("JP", ()),
    "Hiroshima": ("JP", ()),
    "Saitama": ("JP", ()),
    "Chiba": ("JP", ()),
    "Sendai": ("JP", ()),
    "Kumamoto": ("JP", ()),
    "Okayama": ("JP", ()),
    "Shizuoka": ("JP", ()),
    "Aichi": ("JP", ()),
    "Gifu": ("JP", ()),
    "Ibaraki": ("JP", ()),
    "Gunma": ("JP", ()),
    "Hokkaido": ("JP", ()),
    "Okinawa": ("JP", ()),
    # Taiwan
    "Taipei": ("TW", ("Đài Bắc", "Taipeh")),
    "New Taipei": ("TW", ("Tân Bắc",)),
    "Kaohsiung": ("TW", ("Cao Hùng", "Kaoshiung", "Gaoxiong")),
    "Taichung": ("TW", ("Đài Trung",)),
    "Taoyuan": ("TW", ("Đào Viên",)),
    "Tainan": ("TW", ("Đài Nam",)),
    "Hsinchu": ("TW", ("Tân Trúc",)),
    "Changhua": ("TW", ("Chương Hóa", "Chương Hoá")),
    "Keelung": ("TW", ()),
    "Pingtung": ("TW", ("Bình Đông",)),
    # Malaysia
    "Kuala Lumpur": ("MY", ("Ku-a-la Lăm-pơ", "Kuala Lumpua", "KL")),
    "Penang": ("MY", ("Pênang", "Pulau Pinang")),
    "Johor Bahru": ("MY", ("Johor", "Johor Baru")),
    "Selangor": ("MY", ()),
    "Shah Alam": ("MY", ()),
    "Klang": ("MY", ()),
    "Ipoh": ("MY", ()),
    "Malacca": ("MY", ("Melaka",)),
    "Kuching": ("MY", ()),
    "Kota Kinabalu": ("MY", ()),
    # Middle East
    "Riyadh": ("SA", ("Ri-át", "Riyad", "Riad")),
    "Jeddah": ("SA", ("Jidda", "Jiddah")),
    "Dammam": ("SA", ()),
    "Mecca": ("SA", ("Makkah",)),
    "Dubai": ("AE", ("Đu-bai", "Dubay")),
    "Abu Dhabi": ("AE", ("A-bu Đa-bi", "Abudhabi")),
    "Sharjah": ("AE", ()),
    "Doha": ("QA", ("Đô-ha",)),
    "Muscat": ("OM", ()),
    "Manama": ("BH", ()),
    "Tel Aviv": ("IL", ()),
    # Europe
    "Berlin": ("DE", ("Béc-lin", "Beclin", "Bá Linh")),
    "Frankfurt": ("DE", ("Frankfurt am Main", "Phran-phuốc", "Frankfort")),
    "Munich": ("DE", ("München", "Muenchen")),
    "Hamburg": ("DE", ()),
    "Leipzig": ("DE", ()),
    "Bucharest": ("RO", ("Bucharest", "Bucuresti", "București", "Bu-ca-rét", "Bucarest")),
    "Warsaw": ("PL", ("Vác-sa-va", "Varsava", "Warszawa", "Vacsava")),
    "Prague": ("CZ", ("Praha", "Pra-ha")),
    "Budapest": ("HU", ()),
    "Bratislava": ("SK", ()),
    "Moscow": ("RU", ("Mát-xcơ-va", "Matxcova", "Mátxcơva", "Moskva", "Mạc Tư Khoa", "Moscou")),
    "Saint Petersburg": ("RU", ("St. Petersburg", "St Petersburg", "Xanh Pê-téc-bua")),
    "Vladivostok": ("RU", ("Vla-đi-vô-xtốc", "Vladivostoc")),
    "Paris": ("FR", ("Pa-ri",)),
    "London": ("GB", ("Luân Đôn",)),
    "Milan": ("IT", ("Milano",)),
    "Limassol": ("CY", ()),
    "Nicosia": ("CY", ()),
    # China and neighbours
    "Shanghai": ("CN", ("Thượng Hải",)),
    "Guangzhou": ("CN", ("Quảng Châu",)),
    "Beijing": ("CN", ("Bắc Kinh",)),
    "Shenzhen": ("CN", ("Thâm Quyến",)),
    "Hong Kong": ("HK", ("Hồng Kông", "Hongkong", "Hương Cảng")),
    "Bangkok": ("TH", ("Băng Cốc",)),
    "Vientiane": ("LA", ("Viêng Chăn",)),
    "Phnom Penh": ("KH", ("Phnôm Pênh", "Nông Pênh")),
    "Sihanoukville": ("KH", ("Xi-ha-núc-vin", "Sihanouk")),
}

# Sino-Vietnamese names that are also ordinary words or names when typed with other
# diacritics ("Đại Nam", "bình đông"): with marks, only their own.
_STRICT = {"Tân Bắc", "Đài Nam", "Tân Trúc", "Bình Đông", "Chương Hóa", "Chương Hoá", "Bắc Kinh"}

CITY_COUNTRY: dict[str, str] = {city: country for city, (country, _) in _CITIES.items()}

# Abbreviations only taken as a whole reply: in chat "kl" is also "kết luận".
_ALONE = {"KL"}


def city_aliases(value_of: dict[str, str] | None = None) -> list[Alias]:
    """Every city name as an `Alias`; `value_of` maps a city to another value (its country)."""
    entries: list[Alias] = []
    for city, (_, names) in _CITIES.items():
        value = (value_of or {}).get(city, city)
        entries.append(Alias(city, value))
        for name in names:
            rule = Rule.ALONE if name in _ALONE else Rule.STRICT if name in _STRICT else Rule.ANY
            entries.append(Alias(name, value, rule))
    return entries


def _build() -> Gazetteer:
    return Gazetteer(city_aliases())


_GAZETTEER = _build()


def normalize_city(text: str) -> str | None:
    """The canonical city for one mention ("Ô-xa-ca", "pusan"), else None."""
    return _GAZETTEER.lookup(text)


def find_cities(text: str) -> list[Match]:
    """Every host-country city in a free message; `value` is the English city name."""
    return _GAZETTEER.find(text)
