"""Place and need vocabularies: countries, provinces (63 -> 34), cities, needs."""

from __future__ import annotations

import unicodedata

import pytest

from bot.vietnamese.cities import CITY_COUNTRY, find_cities, normalize_city
from bot.vietnamese.countries import COUNTRY_NAMES, find_countries, normalize_country
from bot.vietnamese.locations import FORMER_CAPITALS, nearest_province
from bot.vietnamese.matching import Alias, Gazetteer, Match, Rule
from bot.vietnamese.needs import NEED_LABELS, NEEDS, find_needs, normalize_need
from bot.vietnamese.places import extract_places
from bot.vietnamese.provinces import (
    CITY_UNITS,
    CURRENT_PROVINCES,
    FORMER_TO_CURRENT,
    MERGED_FROM,
    find_provinces,
    normalize_province,
)
from bot.vietnamese.text import fold


def _assert_offsets(text: str, matches: list[Match]) -> None:
    for match in matches:
        assert text[match.start : match.end] == match.text


# --- matcher --------------------------------------------------------------------


def test_matcher_prefers_longest_and_maps_offsets_into_decomposed_input():
    gazetteer = Gazetteer([Alias("Hà Nam", "NB"), Alias("Hà Nội", "HN"), Alias("Nam", "X", Rule.ALONE)])
    text = unicodedata.normalize("NFD", "Quê em ở Hà Nam, còn chồng ở HÀ NỘI.")
    found = gazetteer.find(text)
    assert [m.value for m in found] == ["NB", "HN"]
    _assert_offsets(text, found)
    assert unicodedata.normalize("NFC", found[0].text) == "Hà Nam"
    assert gazetteer.find("nam nay") == []
    assert gazetteer.lookup("Nam") == "X"


def test_matcher_needs_whole_words():
    gazetteer = Gazetteer([Alias("Nga", "RU")])
    assert gazetteer.find("nganh nghe") == []
    assert [m.value for m in gazetteer.find("Ngà")] == ["RU"]  # ANY ignores diacritics


def test_guarded_alias_needs_context_and_its_own_diacritics():
    gazetteer = Gazetteer([Alias("Hàn", "KR", Rule.GUARDED)], ["sang"])
    assert gazetteer.find("han") == []
    assert [m.text for m in gazetteer.find("sang han")] == ["han"]
    assert [m.text for m in gazetteer.find("Hàn")] == ["Hàn"]
    assert gazetteer.find("sang hạn") == []
    assert gazetteer.find("sang. han") == []
    assert gazetteer.lookup("han") == "KR"
    assert gazetteer.lookup("hân") is None


def test_matcher_rejects_two_values_spelled_the_same():
    with pytest.raises(ValueError):
        Gazetteer([Alias("Hàn", "KR"), Alias("Hàn", "XX")])


# --- countries ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Hàn", "han quoc", "xứ kim chi", "Korea"])
def test_the_four_korea_strings_from_the_issue(text):
    assert normalize_country(text) == "KR"


@pytest.mark.parametrize(
    "text, code",
    [
        ("Hàn Quốc", "KR"),
        ("KR", "KR"),
        ("kr", "KR"),
        ("South Korea", "KR"),
        ("nhat ban", "JP"),
        ("Nhật", "JP"),
        ("Japan", "JP"),
        ("xu phu tang", "JP"),
        ("Đài Loan", "TW"),
        ("dai loan", "TW"),
        ("Taiwan", "TW"),
        ("Malaysia", "MY"),
        ("Ma-lai-xi-a", "MY"),
        ("Ả Rập Xê Út", "SA"),
        ("a rap xe ut", "SA"),
        ("Saudi Arabia", "SA"),
        ("UAE", "AE"),
        ("Dubai", "AE"),
        ("Qatar", "QA"),
        ("Singapore", "SG"),
        ("Xin-ga-po", "SG"),
        ("Trung Quốc", "CN"),
        ("trung quoc", "CN"),
        ("TQ", "CN"),
        ("Đức", "DE"),
        ("Germany", "DE"),
        ("Romania", "RO"),
        ("Rumani", "RO"),
        ("Ba Lan", "PL"),
        ("ba lan", "PL"),
        ("Nga", "RU"),
        ("Liên bang Nga", "RU"),
        ("Thái Lan", "TH"),
        ("Lào", "LA"),
        ("Campuchia", "KH"),
        ("Hungary", "HU"),
        ("Cộng hòa Séc", "CZ"),
        ("Slovakia", "SK"),
        ("Bulgaria", "BG"),
        ("Síp", "CY"),
        ("Libya", "LY"),
        ("Kuwait", "KW"),
        ("Oman", "OM"),
        ("Úc", "AU"),
        ("Macau", "MO"),
        ("Hồng Kông", "HK"),
        ("Mỹ", "US"),
        ("Hoa Kỳ", "US"),
        ("Vương quốc Anh", "GB"),
        ("Pháp", "FR"),
        ("Israel", "IL"),
        ("New Zealand", "NZ"),
        ("Ý", "IT"),
        ("MY", "MY"),
    ],
)
def test_normalize_country(text, code):
    assert normalize_country(text) == code


def test_country_names_cover_every_code_in_both_languages():
    assert "KR" in COUNTRY_NAMES and COUNTRY_NAMES["KR"] == {"vi": "Hàn Quốc", "en": "South Korea"}
    for code, names in COUNTRY_NAMES.items():
        assert len(code) == 2 and code.isupper()
        assert names["vi"] and names["en"]
        assert normalize_country(names["en"]) == code


@pytest.mark.parametrize(
    "text, expected",
    [
        ("em muốn sang han lam viec", [("han", "KR")]),
        ("em đang ở bên Hàn, còn chồng ở Nhật Bản", [("Hàn", "KR"), ("Nhật Bản", "JP")]),
        ("di xkld dai loan hay sang nhat?", [("dai loan", "TW"), ("nhat", "JP")]),
        ("đơn hàng Ba Lan", [("Ba Lan", "PL")]),
        ("em sang Nga, chị Nga bảo đi", [("Nga", "RU")]),
        ("làm thợ hàn bên Hàn", [("Hàn", "KR")]),
        ("North Korea and South Korea", [("North Korea", "KP"), ("South Korea", "KR")]),
    ],
)
def test_find_countries(text, expected):
    found = find_countries(text)
    assert [(m.text, m.value) for m in found] == expected
    _assert_offsets(text, found)


@pytest.mark.parametrize(
    "text",
    [
        "hàng hóa",
        "nam nay",
        "hà ơi",
        "em được",
        "hân hạnh",
        "nhất là",
        "visa của em hết hạn",
        "em bị ở quá hạn",
        "o qua han roi",
        "hop dong dai han",
        "gọi tổng đài",
        "chủ nhật này",
        "cập nhật",
        "em gọi ba lần rồi",
        "goi ba lan roi",
        "cần tư vấn pháp lý",
        "đồng ý",
        "chị Nga ơi",
        "in my country",
        "duc oi",
        "em là thợ hàn",
        "thanks, that is ok",
        "us",
        "mà lại",
        "đi ngả nào",
    ],
)
def test_no_country_in_ordinary_words(text):
    assert find_countries(text) == []


@pytest.mark.parametrize("text", ["hân", "hạn", "nhất", "được", "ba lần", "nam", "là"])
def test_normalize_country_rejects_look_alike_words(text):
    assert normalize_country(text) is None


# --- traps: everyday words that look like places (both directions) ---------------

# Each trap gives no country; the real place right next to it is still found.
TRAPS = [
    ("số điện thoại đại sứ quán cho người lao động ở Hàn Quốc", ["KR"]),
    ("so dien thoai dai su quan cho nguoi lao dong o han quoc", ["KR"]),
    ("người lao động Việt Nam tại Nhật", ["JP"]),
    ("nguoi lao dong viet nam tai nhat", ["JP"]),
    ("nguoi lao dong", []),
    ("visa lao dong", []),
    ("tôi đi lao động ở Hàn", ["KR"]),
    ("toi di lao dong o han", ["KR"]),
    ("đời em lao đao quá", []),
    ("chúng nó lao vào đánh nhau", []),
    ("bố em bị bệnh lao phổi", []),
    ("benh lao co duoc bao hiem khong", []),
    ("làm lao công ở Đài Loan", ["TW"]),
    ("em là thợ hàn ở Hàn Quốc", ["KR"]),
    ("tho han xi sang han lam viec", ["KR"]),
    ("gọi tổng đài ở Đài Loan", ["TW"]),
    ("goi tong dai o dai loan", ["TW"]),
    ("em nộp ba lần rồi, muốn sang Ba Lan", ["PL"]),
    ("nop ba lan roi", []),
    ("visa hết hạn, em ở Nhật", ["JP"]),
    ("visa het han roi", []),
    ("xklđ dài hạn sang Hàn", ["KR"]),
    ("visa lao dong dai han", []),
    ("visa lao dong ngan han", []),
    ("di qua han quoc lam viec", ["KR"]),
    ("du hoc han quoc", ["KR"]),
    ("sang han lam viec", ["KR"]),
]


@pytest.mark.parametrize("text, codes", TRAPS)
def test_traps_give_no_country_and_real_places_still_match(text, codes):
    found = find_countries(text)
    assert [m.value for m in found] == codes
    _assert_offsets(text, found)


@pytest.mark.parametrize(
    "text, codes",
    [
        # Laos itself, typed with and without diacritics
        ("đi lao động ở Lào", ["LA"]),
        ("di lao dong o lao", ["LA"]),
        ("e đi lao dong bên lào", ["LA"]),
        ("lao dong o lao co duoc bao hiem khong", ["LA"]),
        ("đi Lào vào tháng 5", ["LA"]),
        ("Laos", ["LA"]),
    ],
)
def test_laos_is_still_found_where_it_is_meant(text, codes):
    assert [m.value for m in find_countries(text)] == codes


@pytest.mark.parametrize(
    "text",
    ["Tôi ở lao động", "Tôi làm việc ở lao", "Em muốn đi han làm việc"],
)
def test_an_unmarked_syllable_never_stands_for_a_marked_name_in_an_accented_message(text):
    # Someone who types "Tôi", "việc", "muốn" with marks would have typed "Lào", "Hàn".
    assert find_countries(text) == []


def test_accent_consistency_spares_partly_accented_teen_code():
    assert [m.value for m in find_countries("e sang hàn lam viec")] == ["KR"]
    assert [m.value for m in find_countries("e o han")] == ["KR"]


def test_a_blocker_typed_with_other_marks_does_not_block():
    # "lao vào" (rush into) blocks "lao vao" but not "Lào vào" (Laos, in ...).
    assert find_countries("di lao vao thang 5") == []
    assert [m.value for m in find_countries("đi Lào vào tháng 5")] == ["LA"]
    assert [m.value for m in find_countries("lao động ở Đại Hàn")] == ["KR"]


@pytest.mark.parametrize(
    "text, code",
    [
        ("Busan", "KR"),
        ("busan", "KR"),
        ("em làm ở Busan", "KR"),
        ("em lam o pusan", "KR"),
        ("Saudi", "SA"),
        ("saudi", "SA"),
        ("em làm giúp việc ở Ả Rập", "SA"),
        ("em lam giup viec o a rap xe ut", "SA"),
        ("Riyadh", "SA"),
        ("Đài Bắc", "TW"),
        ("dai bac", "TW"),
        ("Đài Trung", "TW"),
        ("Kaohsiung", "TW"),
        ("Osaka", "JP"),
        ("o-xa-ca", "JP"),
        ("Yokohama", "JP"),
        ("Aichi", "JP"),
        ("Kuala Lumpur", "MY"),
        ("Penang", "MY"),
        ("Johor", "MY"),
        ("Dubai", "AE"),
        ("Doha", "QA"),
        ("Berlin", "DE"),
        ("Warsaw", "PL"),
        ("Praha", "CZ"),
        ("Bucharest", "RO"),
        ("Mát-xcơ-va", "RU"),
        ("Sihanoukville", "KH"),
        ("Incheon", "KR"),
        ("Ulsan", "KR"),
    ],
)
def test_host_country_cities_name_their_country(text, code):
    assert normalize_country(text) == code
    found = find_countries(text)
    assert [m.value for m in found] == [code]
    _assert_offsets(text, found)


def test_a_city_is_also_found_as_a_city():
    assert [m.value for m in find_cities("em làm ở Busan")] == ["Busan"]
    assert [m.value for m in find_cities("toi o dai bac")] == ["Taipei"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Em tên là Đức, đi làm ở Hàn", [("country", "KR")]),
        ("bạn Đức của em bị tai nạn", []),
        ("Đức bảo em hỏi ở đây", []),
        ("em muốn sang Đức làm điều dưỡng", [("country", "DE")]),
        ("nha em co hai phong tro", []),
        ("nhà em có hai phòng, cho thuê một", []),
        ("em ở hai phong", [("province", "Hải Phòng")]),
        ("anh Hải phòng nhân sự bảo em hỏi", []),
        ("quê em Hải Phòng", [("province", "Hải Phòng")]),
        ("anh Nguyễn Văn Đức bảo em hỏi", []),
        ("chủ nhật em được nghỉ không", []),
    ],
)
def test_given_names_and_rooms_are_not_places(text, expected):
    found = [(kind, m.value) for kind, m in extract_places(text) if kind in ("country", "province")]
    assert found == expected


def test_sino_vietnamese_city_names_need_their_own_marks():
    assert find_cities("công ty Đại Nam") == []
    assert [m.value for m in find_cities("em ở Đài Nam")] == ["Tainan"]


# --- provinces ------------------------------------------------------------------


def test_thirty_four_current_units_and_sixty_three_former():
    assert len(CURRENT_PROVINCES) == len(set(CURRENT_PROVINCES)) == 34
    assert len(FORMER_TO_CURRENT) == 63
    assert set(FORMER_TO_CURRENT.values()) == set(CURRENT_PROVINCES)
    assert set(CITY_UNITS) <= set(CURRENT_PROVINCES) and len(CITY_UNITS) == 6
    unchanged = [c for c, formers in MERGED_FROM.items() if len(formers) == 1]
    assert len(unchanged) == 11
    assert sum(len(f) for f in MERGED_FROM.values()) == 63
    for current, formers in MERGED_FROM.items():
        for former in formers:
            assert FORMER_TO_CURRENT[former] == current


@pytest.mark.parametrize(
    "former, current",
    [
        ("Hà Giang", "Tuyên Quang"),
        ("Yên Bái", "Lào Cai"),
        ("Bắc Kạn", "Thái Nguyên"),
        ("Vĩnh Phúc", "Phú Thọ"),
        ("Hòa Bình", "Phú Thọ"),
        ("Bắc Giang", "Bắc Ninh"),
        ("Thái Bình", "Hưng Yên"),
        ("Hải Dương", "Hải Phòng"),
        ("Hà Nam", "Ninh Bình"),
        ("Nam Định", "Ninh Bình"),
        ("Quảng Bình", "Quảng Trị"),
        ("Quảng Nam", "Đà Nẵng"),
        ("Kon Tum", "Quảng Ngãi"),
        ("Bình Định", "Gia Lai"),
        ("Ninh Thuận", "Khánh Hòa"),
        ("Đắk Nông", "Lâm Đồng"),
        ("Bình Thuận", "Lâm Đồng"),
        ("Phú Yên", "Đắk Lắk"),
        ("Bình Dương", "Thành phố Hồ Chí Minh"),
        ("Bà Rịa – Vũng Tàu", "Thành phố Hồ Chí Minh"),
        ("Bình Phước", "Đồng Nai"),
        ("Long An", "Tây Ninh"),
        ("Sóc Trăng", "Cần Thơ"),
        ("Hậu Giang", "Cần Thơ"),
        ("Bến Tre", "Vĩnh Long"),
        ("Trà Vinh", "Vĩnh Long"),
        ("Tiền Giang", "Đồng Tháp"),
        ("Bạc Liêu", "Cà Mau"),
        ("Kiên Giang", "An Giang"),
        ("Thừa Thiên Huế", "Huế"),
        ("Cao Bằng", "Cao Bằng"),
        ("Hà Tĩnh", "Hà Tĩnh"),
    ],
)
def test_merger_mapping(former, current):
    assert FORMER_TO_CURRENT[former] == current


@pytest.mark.parametrize("former", sorted(FORMER_TO_CURRENT))
def test_every_former_name_normalizes_in_every_spelling(former):
    current = FORMER_TO_CURRENT[former]
    for spelling in (former, fold(former), former.lower(), fold(former).upper()):
        assert normalize_province(spelling) == current, spelling


@pytest.mark.parametrize("current", CURRENT_PROVINCES)
def test_current_names_map_to_themselves(current):
    for spelling in (current, fold(current), current.lower()):
        assert normalize_province(spelling) == current, spelling


@pytest.mark.parametrize(
    "text, current",
    [
        ("Quảng Bình", "Quảng Trị"),
        ("quang binh", "Quảng Trị"),
        ("Thái Bình", "Hưng Yên"),
        ("thai binh", "Hưng Yên"),
        ("Hà Nam", "Ninh Bình"),
        ("ha nam", "Ninh Bình"),
        ("Nam Định", "Ninh Bình"),
        ("Quảng Nam", "Đà Nẵng"),
        ("tỉnh Quảng Nam", "Đà Nẵng"),
        ("Thanh Hoá", "Thanh Hóa"),
        ("Khánh Hoà", "Khánh Hòa"),
        ("Hoà Bình", "Phú Thọ"),
        ("HN", "Hà Nội"),
        ("ha noi", "Hà Nội"),
        ("TP HCM", "Thành phố Hồ Chí Minh"),
        ("tphcm", "Thành phố Hồ Chí Minh"),
        ("Sài Gòn", "Thành phố Hồ Chí Minh"),
        ("sai gon", "Thành phố Hồ Chí Minh"),
        ("HCM", "Thành phố Hồ Chí Minh"),
        ("Vũng Tàu", "Thành phố Hồ Chí Minh"),
        ("BR-VT", "Thành phố Hồ Chí Minh"),
        ("Huế", "Huế"),
        ("TT Huế", "Huế"),
        ("Đắc Lắc", "Đắk Lắk"),
        ("Dak Lak", "Đắk Lắk"),
        ("Dak Nong", "Lâm Đồng"),
        ("Bắc Cạn", "Thái Nguyên"),
        ("thành phố Cần Thơ", "Cần Thơ"),
    ],
)
def test_normalize_province_variants(text, current):
    assert normalize_province(text) == current


@pytest.mark.parametrize(
    "text, mention, current",
    [
        ("em ở quang binh muốn tìm việc", "quang binh", "Quảng Trị"),
        ("Quê em Hà Nam, giờ ở Hàn", "Hà Nam", "Ninh Bình"),
        ("nhà em ở tp.hcm ạ", "tp.hcm", "Thành phố Hồ Chí Minh"),
        ("em ở hn", "hn", "Hà Nội"),
        ("que o hue", "hue", "Huế"),
        ("Tôi về Nghệ An rồi", "Nghệ An", "Nghệ An"),
    ],
)
def test_find_provinces_offsets(text, mention, current):
    found = find_provinces(text)
    assert [(m.text, m.value) for m in found] == [(mention, current)]
    start = text.index(mention)
    assert (found[0].start, found[0].end) == (start, start + len(mention))


@pytest.mark.parametrize(
    "text",
    [
        "hàng hóa",
        "nam nay",
        "hà ơi",
        "em được",
        "hân hạnh",
        "nhất là",
        "Bình ơi",
        "thuê hai phòng",
        "hoa huệ",
        "hue",
        "em ở Nam",
        "máy đa năng",
    ],
)
def test_no_province_in_ordinary_words(text):
    assert find_provinces(text) == []


# --- needs ----------------------------------------------------------------------


def test_needs_vocabulary_is_fixed_and_labelled():
    assert NEEDS == (
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
    assert set(NEED_LABELS) == set(NEEDS)
    for need in NEEDS:
        assert normalize_need(need) == need
        assert normalize_need(NEED_LABELS[need]["vi"]) == need
        assert normalize_need(NEED_LABELS[need]["en"]) == need


@pytest.mark.parametrize(
    "text, need",
    [
        ("em cần luật sư", "legal_aid"),
        ("tu van luat", "legal_aid"),
        ("tìm việc làm", "job_placement"),
        ("viec lam", "job_placement"),
        ("I need a job", "job_placement"),
        ("muốn học nghề", "training"),
        ("dao tao", "training"),
        ("tư vấn tâm lý", "counselling"),
        ("counselling", "counselling"),
        ("cần nhà tạm lánh", "shelter"),
        ("no shelter", "shelter"),
        ("vay vốn", "loans"),
        ("I need a loan", "loans"),
        ("hồi hương", "repatriation"),
        ("về nước khẩn cấp", "repatriation"),
        ("bị mua bán người", "trafficking_support"),
        ("buon nguoi", "trafficking_support"),
        ("khiếu nại công ty", "complaints"),
        ("complaint", "complaints"),
        ("rút bảo hiểm xã hội", "insurance_claims"),
        ("insurance", "insurance_claims"),
    ],
)
def test_find_needs(text, need):
    found = find_needs(text)
    assert [m.value for m in found] == [need]
    _assert_offsets(text, found)
    assert normalize_need(text) == need


@pytest.mark.parametrize("text", ["vậy à", "chị Loan ơi", "đi Đài Loan", "of course", "chào em"])
def test_no_need_in_ordinary_words(text):
    assert find_needs(text) == []


# --- cities ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, city",
    [
        ("em ở Ô-xa-ca", "Osaka"),
        ("o busan", "Busan"),
        ("Pusan", "Busan"),
        ("làm ở Đài Bắc", "Taipei"),
        ("Cao Hùng", "Kaohsiung"),
        ("Xơ-un", "Seoul"),
        ("Tô-ky-ô", "Tokyo"),
        ("Mát-xcơ-va", "Moscow"),
        ("matxcova", "Moscow"),
        ("Thượng Hải", "Shanghai"),
        ("Quảng Châu", "Guangzhou"),
        ("Jeddah", "Jeddah"),
    ],
)
def test_find_cities(text, city):
    found = find_cities(text)
    assert [m.value for m in found] == [city]
    _assert_offsets(text, found)
    assert normalize_city(text) == city


def test_city_countries():
    assert CITY_COUNTRY["Osaka"] == "JP"
    assert CITY_COUNTRY["Busan"] == "KR"
    assert CITY_COUNTRY["Taipei"] == "TW"
    assert CITY_COUNTRY["Vladivostok"] == "RU"
    assert set(CITY_COUNTRY.values()) <= set(COUNTRY_NAMES)
    assert find_cities("kl roi") == []


# --- shared map locations ----------------------------------------------------------------


def test_every_former_province_has_a_capital_point():
    assert set(FORMER_CAPITALS) == set(FORMER_TO_CURRENT)


@pytest.mark.parametrize(
    "point, province",
    [
        ((18.68, 105.69), "Nghệ An"),
        ((17.47, 106.60), "Quảng Trị"),
        ((20.45, 106.34), "Hưng Yên"),
        ((10.35, 107.08), "Thành phố Hồ Chí Minh"),
        ((21.03, 105.85), "Hà Nội"),
    ],
)
def test_a_point_maps_to_the_current_unit_around_it(point, province):
    assert nearest_province(*point) == province


def test_a_point_abroad_has_no_province():
    assert nearest_province(37.5665, 126.9780) is None  # Seoul
    assert nearest_province(35.68, 139.69) is None  # Tokyo
