"""Danger must win: messages that express danger are recognised in both languages and any
spelling, and ordinary questions with alarming words are not.

These are development examples (the rules were written against them); the held-out
stories in tests/nlu/emergency_stories.yml are measured by `make bench`.
"""

from pathlib import Path

import pytest
import yaml

from bot.emergency import detect_danger
from bot.vietnamese.text import MAX_MESSAGE_CHARS

HELD_OUT = Path(__file__).parent / "nlu"

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


# Several sentences, the danger in the middle, often with another question around it.
STORIES = [
    # Vietnamese, accented
    "Em chào anh chị. Em sang Ả Rập Xê Út làm giúp việc được 5 tháng. Bà chủ không cho em ăn, chỉ cho ăn cơm thừa, còn thu điện thoại của em. Em muốn hỏi hợp đồng của em còn mấy tháng.",
    "Chủ không trả lương 3 tháng, giữ hộ chiếu, không cho về. Em phải làm sao ạ?",
    "Chồng em đi tàu cá bên Đài Loan. Chủ tàu giữ hết giấy tờ của anh ấy, không cho lên bờ đã 4 tháng nay. Gia đình em lo lắm, liên hệ ai được ạ?",
    "Em làm ở xưởng may bên Malaysia. Tuần trước quản lý say rượu đánh em chảy máu đầu. Em còn muốn hỏi về tiền bảo hiểm nữa.",
    "Chào chị, em là lao động ở Nhật. Dạo này em buồn lắm, không ngủ được, nhiều lúc em nghĩ đến chuyện tự tử. Em không biết nói với ai.",
    "Em được môi giới hứa sang Thái làm nhà hàng, nhưng họ đưa em qua Campuchia rồi bắt làm lừa đảo qua mạng, không cho về. Em lén dùng điện thoại bạn để nhắn.",
    "Bạn em làm giúp việc ở Đài Loan. Ông chủ sàm sỡ bạn ấy mỗi tối, bạn ấy sợ không dám nói. Bên mình có giúp được không ạ?",
    "Tôi đi lao động ở Hàn được 2 năm. Hôm qua công an bắt tôi ở chỗ làm, giờ tôi đang bị giam ở đồn, không hiểu họ nói gì. Tôi cần phiên dịch.",
    "Em làm trên tàu cá, thuyền trưởng giữ sổ thuyền viên và đe dọa nếu em đòi về thì ném xuống biển. Em chỉ muốn về nhà.",
    "Công ty bên Nga hứa lương cao. Sang đến nơi họ thu hộ chiếu, nhốt chúng em trong xưởng, có người canh suốt ngày.",
    # Vietnamese, unaccented
    "chao ad, em di xkld ben saudi lam giup viec. chu nha khong cho em an may ngay roi, dien thoai cung bi thu. em nen lam gi",
    "em o dai loan, chu khong tra luong 4 thang nay, giu ho chieu va khong cho ve nuoc. em muon hoi ve hop dong",
    "chong em lam tau ca o han, chu tau khong cho len bo, giu giay to, chong em goi ve khoc. gia dinh em phai lam sao",
    "toi lam nong trai o Israel, ong chu hay danh toi moi khi lam cham. toi muon doi cho lam",
    "em bi lua sang trung quoc lay chong, bi nhot trong nha, khong cho ra ngoai. em nho me lam",
    "xin chao, em o malaysia. quan ly quay roi em nhieu lan, hom qua con ep em quan he. em khong biet bao ai",
    "em mat viec o nhat roi, no nan nhieu qua, em khong muon song nua. em co duoc tien bao hiem khong",
    "chu nha doa giet em neu em bo tron. em dang o Jeddah, xin giup em",
    "ban em bi bat coc ben campuchia, bon no doi tien chuoc 5000 do. gia dinh em phai bao ai",
    "em lam o xuong go ben ba lan, ho thu dien thoai cua em va khong cho lien lac voi gia dinh. em so lam",
    # Vietnamese, colloquial
    "e chao a. e sang ả rập đc 3 tháng r, bà chủ k cho e ăn, lấy đt của e, e phải dùng lén đt của bạn. giúp e vs",
    "cty k trả lương 3 th, giữ hc, k cho về, e phải lm sao ạ",
    "e làm tàu cá bên đài, chủ tàu giữ giấy tờ, k cho lên bờ mấy tháng r. e muốn về nước",
    "chồng chủ đánh e tím người, e đang trốn trong nhà vệ sinh. ở đây là Riyadh",
    "mik chán quá r, nhiều lúc mún chết cho xong, ko ai hiểu mik",
    "e bị lừa qua cam lm việc k công, ai k làm thì bị đánh. cứu e vs",
    # English
    "Hello. I work as a maid in Saudi Arabia. My employer does not give me food and took my phone. I want to know about my contract.",
    "I am a fisherman on a Taiwanese boat. The captain keeps our passports and we are not allowed ashore for 6 months. What can we do?",
    "My boss has not paid me for three months. He keeps my passport and won't let me go home. Please tell me what to do.",
    "Hi, I came to Malaysia for a factory job. The agent took us across the border and now we are forced to work without pay under guard.",
    "I have a question about my pension. Also my husband hits me every night and I am scared to go home.",
    "I work in Japan. Lately I feel like I want to die, I can't sleep and nobody helps me.",
    "My sister works in Dubai. Her employer locked her in the house and she can only message me at night.",
    "I was promised a job in Thailand but they sold me to a company in Myanmar. They beat us if we don't reach targets.",
    "The manager touches me when nobody is around and says he will fire me if I tell anyone. I need help.",
]

# Ordinary questions told the same way, with words that look alarming.
ORDINARY_STORIES = [
    "Chủ giữ hộ chiếu của em, nói là để giữ hộ, em có đòi lại được không?",
    "Em sang Hàn được 2 năm, chủ nợ lương 2 tháng, em muốn khiếu nại thì làm thế nào?",
    "Công ty không cho em về nước trước khi hết hợp đồng, em có phải bồi thường không?",
    "Làm cả ngày mệt muốn chết mà lương thấp quá, có nên đổi việc không ạ?",
    "Em hỏi từ từ nhé, trước tiên là về tiền ký quỹ.",
    "tu tu da, em hoi them ve bao hiem",
    "tôi cần tư vấn luật miễn phí về hợp đồng",
    "tu van tam ly o dau",
    "Nếu ở quá hạn visa thì có bị bắt không?",
    "o lai bat hop phap co bi bat khong",
    "em bị bắt làm thêm giờ mà không được trả tiền tăng ca",
    "bi giam luong vi di lam muon co dung luat khong",
    "Em từng đi bộ đội, giờ muốn đi xuất khẩu lao động được không?",
    "Chủ đảm bảo chỗ ở nhưng trừ tiền nhà nhiều quá",
    "Em bận quá chưa đi rút bảo hiểm được, có hạn không?",
    "em bi ban qua, chua kip hoi ve tien ky quy",
    "công ty môi giới dọa giữ tiền cọc nếu em không đi",
    "Bố em đánh giá công ty này rất tốt, có nên đi không?",
    "Ở Nhật có bị đánh thuế thu nhập hai lần không?",
    "Tôi bị tai nạn lao động, bị máy cắt vào tay, được bồi thường không?",
    "What happens if I overstay, will I be arrested?",
    "My employer keeps my passport in the safe, is that normal in Taiwan?",
    "My boss forced me to work overtime on Sundays, can I complain?",
    "I was locked in a three-year contract with the agency, can I leave early?",
    "The heat is killing me, do I get breaks in summer?",
    "Can the police find me a new address for my documents?",
    "I ran away from my first employer, can the agency find me a new job?",
    "I hit my head at the factory last month, does insurance cover it?",
    "Does my employer have to provide food or a food allowance?",
    "How do I report a scam job advert on Facebook?",
    "Nhà tôi có người bị bệnh lao phổi, tôi có được về nước sớm không?",
    "Chỗ làm nguy hiểm, nhiều hóa chất, em muốn chuyển chỗ làm",
    "cho em hoi so tong dai bao ho cong dan",
    "anh oi em bi chu mang vi lam sai, co bi tru luong khong",
    "em muốn đổi chủ vì chủ hay chửi, có được không",
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


@pytest.mark.parametrize("story", STORIES)
def test_danger_in_the_middle_of_a_story_is_recognised(story):
    assert detect_danger(story) is not None


@pytest.mark.parametrize("story", ORDINARY_STORIES)
def test_ordinary_stories_with_alarming_words_are_not_emergencies(story):
    assert detect_danger(story) is None


def test_story_sets_are_large_and_cover_both_languages():
    assert len(STORIES) >= 30 and len(ORDINARY_STORIES) >= 30
    assert sum(1 for s in STORIES if s.isascii() and " em " not in s) >= 8


@pytest.mark.parametrize(
    "story, kind",
    [
        ("Chủ không trả lương 3 tháng, giữ hộ chiếu, không cho về.", "passport_threat"),
        ("Chủ giữ hộ chiếu của em, làm sao xin lại?", None),
        ("Chủ không trả lương 3 tháng, em muốn khiếu nại.", None),
        ("They took my phone. They do not let us go out.", "confinement"),
        ("They took my phone to check it, can they do that?", None),
        ("Em bị lừa sang Campuchia, giờ họ bắt làm lừa đảo qua mạng.", "trafficking"),
        ("Cách nhận biết việc làm lừa đảo trên mạng?", None),
    ],
)
def test_signals_that_are_ordinary_alone_are_danger_together(story, kind):
    assert detect_danger(story) == kind


@pytest.mark.parametrize(
    "typed_with_marks, unaccented",
    [
        ("Từ từ đã, em hỏi thêm về bảo hiểm", "tu tu"),
        ("Em bận quá chưa hỏi được", "ban qua"),
        ("Em bị bất công trong phân công việc", "bi bat"),
        ("Em từng đi bộ đội", "bo doi"),
        ("Bị giảm lương vì đi muộn", "bi giam"),
    ],
)
def test_diacritics_decide_where_a_folded_word_is_ambiguous(typed_with_marks, unaccented):
    assert detect_danger(typed_with_marks) is None, unaccented


def test_only_the_first_max_message_chars_are_read():
    padding = "Em hỏi về bảo hiểm. " * (MAX_MESSAGE_CHARS // 20 + 1)
    assert detect_danger("Ông chủ đánh em. " + padding) == "violence"
    assert detect_danger(padding + "Ông chủ đánh em.") is None


def test_a_megabyte_of_repeated_words_gives_an_answer():
    # The old patterns took 94 s on 360 KB of "passport "; `make bench` times this.
    assert detect_danger("passport " * 120_000) is None
    assert detect_danger("bị " * 400_000) is None


def _examples(name: str) -> list[str]:
    data = yaml.safe_load((HELD_OUT / name).read_text(encoding="utf-8"))
    return [
        line[2:].strip()
        for block in data.get("nlu") or []
        for line in (block.get("examples") or "").splitlines()
        if line.strip().startswith("- ")
    ]


def test_no_held_out_ordinary_question_is_taken_for_danger():
    examples = _examples("not_emergency.yml")
    assert len(examples) >= 40
    assert [text for text in examples if detect_danger(text)] == []


@pytest.mark.parametrize(
    "message, kind",
    [
        ("Tôi nghe nói nhiều người bị lừa bán sang Campuchia, làm sao biết công ty thật?", None),
        ("How do I avoid being sold to a fake employer?", None),
        ("nghe noi co nguoi bi nhot o xuong, lam sao kiem tra truoc khi di", None),
        ("nghe nói bạn em bị bắt ở Đài Loan", "detention"),
        ("I heard my sister was beaten by her boss", "violence"),
        ("Chủ đánh em, làm sao tránh bị đánh nữa?", "violence"),
        ("Làm sao để không bị lừa bán khi đi xuất khẩu lao động?", None),
        ("Em xem tin bạo lực gia đình trên tivi sợ quá", None),
        ("What should I do if my employer hits me?", None),
        ("They say if I leave they will hurt my kids", "violence"),
    ],
)
def test_hearsay_and_prevention_questions_are_not_reports_unless_about_someone_close(message, kind):
    assert detect_danger(message) == kind
