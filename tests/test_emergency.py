"""Danger must win: messages that express danger are recognised in both languages and any
spelling, and ordinary questions with alarming words are not."""

import pytest

from bot.emergency import detect_danger

DANGER = [
    # Vietnamese, accented
    "Ông chủ đánh em chảy máu, em phải làm sao",
    "Em bị chủ nhốt trong phòng trọ ba ngày rồi",
    "Họ không cho em ra ngoài, khóa cửa từ bên ngoài",
    "Chị ơi em bị lừa bán sang Trung Quốc",
    "Em nghĩ mình bị buôn người, họ thu hết giấy tờ",
    "Chủ giữ hộ chiếu và dọa sẽ đánh nếu em bỏ đi",
    "Quản lý quấy rối em mỗi đêm",
    "Em bị cưỡng hiếp ở chỗ làm",
    "Em không muốn sống nữa",
    "Em muốn tự tử cho xong",
    "Em vừa bị công an bắt giữ, em sợ lắm",
    "Cứu em với, em đang gặp nguy hiểm",
    "Bạn em bị bắt cóc ở Campuchia",
    "Họ ép em tiếp khách, không làm thì bị đánh",
    "Chồng em bị chủ tàu hành hung trên biển",
    "Nó dọa giết cả nhà em",
    # Vietnamese, unaccented
    "ong chu danh em",
    "em bi nhot o xuong khong cho ve",
    "em bi lua ban qua malaysia",
    "co nguoi de doa giet em",
    "em muon chet lam",
    "cuu toi voi",
    "em bi hiep dam",
    "chung no giu ho chieu va doa danh em",
    # Vietnamese, colloquial
    "e bị chủ đánh suốt ngày ai cứu e vs",
    "e ko muon song nua a",
    "bi nhot trong phong k cho ra ngoai",
    "e bi ep quan he vs chu",
    # English
    "My boss beats me every day",
    "They locked me in the dormitory",
    "I think I was trafficked to work on a fishing boat",
    "My employer took my passport and threatened to kill me",
    "The manager raped me",
    "I am being sexually harassed by my supervisor",
    "I want to kill myself",
    "I don't want to live anymore",
    "My friend was arrested and is in custody",
    "Please help me, I am in danger",
    "They won't let me leave the farm",
    "forced labour on the construction site, they hit us",
    "he touches me at night and won't stop even when I say no",
    "somebody kidnapped my sister",
]

ORDINARY = [
    "Làm sao lấy lại tiền ký quỹ?",
    "Mệt chết đi được, làm cả ngày",
    "Trợ cấp tử tuất cho gia đình người lao động được bao nhiêu?",
    "Chủ giữ hộ chiếu của em, làm sao xin lại?",
    "Công ty môi giới thu phí cao quá, khiếu nại ở đâu",
    "Em bị đánh giá thấp trong công việc",
    "Từ từ đã, em hỏi thêm về bảo hiểm",
    "Em bị đuổi việc trước hạn hợp đồng thì sao",
    "Em bị tai nạn lao động năm ngoái, được bồi thường không",
    "Buồn quá, về nước không tìm được việc",
    "em bi bat lam them gio khong tra luong",
    "Số điện thoại đại sứ quán ở Hàn",
    "cách rút bảo hiểm xã hội một lần",
    "nenkin lần 2 làm thế nào",
    "I'm dead tired after the night shift",
    "What games can I play to kill time?",
    "How do I get my deposit back?",
    "My employer keeps my passport, is that legal?",
    "Is the death benefit paid to my family?",
    "I lost my job, how do I find a new one in Vietnam?",
    "my boss did not pay my salary for two months",
    "What is the emergency number of the embassy in Japan?",
    "chào bạn",
    "bán hàng online có cần giấy phép không",
]


@pytest.mark.parametrize("message", DANGER)
def test_danger_is_recognised(message):
    assert detect_danger(message) is not None


@pytest.mark.parametrize("message", ORDINARY)
def test_ordinary_questions_are_not_emergencies(message):
    assert detect_danger(message) is None


def test_danger_set_covers_both_languages():
    assert len(DANGER) >= 40
    english = [m for m in DANGER if m.isascii() and " em" not in m and "e " not in m[:2]]
    assert len(english) >= 14
