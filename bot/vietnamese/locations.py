"""From a shared map location to the province it is in (approximately).

Each of the 63 former provincial capitals stands for its area, and maps to the current
unit it now belongs to; a point is given the unit of the nearest capital, if one is within
`MAX_DISTANCE_KM`. This is a rough guide for offering nearby partners, not a boundary
test: the bot names the province it understood so the user can correct it. Coordinates are
the approximate city centres (to about 0.01°).
"""

from __future__ import annotations

import math

from bot.vietnamese.provinces import FORMER_TO_CURRENT

MAX_DISTANCE_KM = 120.0

FORMER_CAPITALS: dict[str, tuple[float, float]] = {
    "Hà Nội": (21.028, 105.854),
    "Hà Giang": (22.823, 104.984),
    "Cao Bằng": (22.666, 106.258),
    "Bắc Kạn": (22.147, 105.835),
    "Tuyên Quang": (21.823, 105.214),
    "Lào Cai": (22.486, 103.971),
    "Điện Biên": (21.386, 103.023),
    "Lai Châu": (22.396, 103.458),
    "Sơn La": (21.327, 103.914),
    "Yên Bái": (21.722, 104.911),
    "Hòa Bình": (20.817, 105.338),
    "Thái Nguyên": (21.594, 105.848),
    "Lạng Sơn": (21.853, 106.761),
    "Quảng Ninh": (20.951, 107.080),
    "Bắc Giang": (21.273, 106.194),
    "Phú Thọ": (21.322, 105.402),
    "Vĩnh Phúc": (21.309, 105.604),
    "Bắc Ninh": (21.186, 106.076),
    "Hải Dương": (20.940, 106.333),
    "Hải Phòng": (20.845, 106.688),
    "Hưng Yên": (20.646, 106.051),
    "Thái Bình": (20.450, 106.342),
    "Hà Nam": (20.541, 105.914),
    "Nam Định": (20.434, 106.177),
    "Ninh Bình": (20.251, 105.975),
    "Thanh Hóa": (19.807, 105.776),
    "Nghệ An": (18.679, 105.681),
    "Hà Tĩnh": (18.343, 105.906),
    "Quảng Bình": (17.468, 106.622),
    "Quảng Trị": (16.816, 107.100),
    "Thừa Thiên Huế": (16.463, 107.590),
    "Đà Nẵng": (16.054, 108.202),
    "Quảng Nam": (15.573, 108.474),
    "Quảng Ngãi": (15.120, 108.792),
    "Bình Định": (13.776, 109.224),
    "Phú Yên": (13.088, 109.092),
    "Khánh Hòa": (12.238, 109.197),
    "Ninh Thuận": (11.565, 108.988),
    "Bình Thuận": (10.928, 108.102),
    "Kon Tum": (14.350, 108.000),
    "Gia Lai": (13.983, 108.000),
    "Đắk Lắk": (12.667, 108.038),
    "Đắk Nông": (12.004, 107.690),
    "Lâm Đồng": (11.940, 108.458),
    "Bình Phước": (11.535, 106.883),
    "Tây Ninh": (11.310, 106.098),
    "Bình Dương": (10.980, 106.651),
    "Đồng Nai": (10.957, 106.843),
    "Bà Rịa – Vũng Tàu": (10.346, 107.084),
    "Thành phố Hồ Chí Minh": (10.776, 106.700),
    "Long An": (10.535, 106.413),
    "Tiền Giang": (10.360, 106.360),
    "Bến Tre": (10.241, 106.376),
    "Trà Vinh": (9.935, 106.345),
    "Vĩnh Long": (10.254, 105.972),
    "Đồng Tháp": (10.460, 105.633),
    "An Giang": (10.386, 105.435),
    "Kiên Giang": (10.012, 105.081),
    "Cần Thơ": (10.045, 105.747),
    "Hậu Giang": (9.784, 105.470),
    "Sóc Trăng": (9.603, 105.980),
    "Bạc Liêu": (9.294, 105.727),
    "Cà Mau": (9.177, 105.150),
}


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def nearest_province(latitude: float, longitude: float) -> str | None:
    """The current unit around a point in Viet Nam, or None when no capital is near."""
    point = (float(latitude), float(longitude))
    former, distance = min(
        ((name, _distance_km(point, centre)) for name, centre in FORMER_CAPITALS.items()),
        key=lambda pair: pair[1],
    )
    if distance > MAX_DISTANCE_KM:
        return None
    return FORMER_TO_CURRENT[former]
