"""Provincial offices in Viet Nam: asking for the Sở Nội vụ, and a city's own legal aid centre.

People name the department, not a need ("địa chỉ sở nội vụ hà tĩnh"), so the need
vocabulary maps the department's names to job placement, which is what the Sở Nội vụ
directs through the employment service centres.
"""

from __future__ import annotations

import pytest

from actions.lookup import ActionLookupReferralPartner
from bot.vietnamese.needs import find_needs
from tests.directory.test_directory_actions import CONFIRM_VI, run, tracker


@pytest.mark.parametrize(
    "text",
    [
        "cho em xin địa chỉ Sở Nội vụ Hà Tĩnh",
        "so noi vu nghe an o dau",
        "sở lao động thương binh và xã hội tỉnh Thanh Hóa",
        "so ldtbxh",
        "Where is the Department of Home Affairs in Hue?",
        "labour department phone number",
    ],
)
def test_home_affairs_department_is_a_job_placement_need(text: str) -> None:
    assert [m.value for m in find_needs(text)] == ["job_placement"]


def test_the_number_of_workers_is_not_the_labour_department() -> None:
    # "số lao động" (the number of workers) typed with its own diacritics.
    assert find_needs("số lao động đi Hàn Quốc năm nay tăng") == []


async def test_asking_for_so_noi_vu_lists_the_department_and_the_employment_centre(loaded_url: str) -> None:
    need = find_needs("cho em xin địa chỉ sở nội vụ")[0].value
    message, _ = await run(
        ActionLookupReferralPartner(),
        tracker("vi", intent="referral_partner", entities={"need": need, "province": "Hà Tĩnh"}),
    )
    text = message["text"]
    assert "Sở Nội vụ của tỉnh, thành phố nơi bạn sống" in text
    assert "Trung tâm Dịch vụ việc làm của tỉnh, thành phố nơi bạn sống" in text


async def test_hcmc_legal_aid_centre_comes_first_with_its_address_and_a_warning(loaded_url: str) -> None:
    message, _ = await run(
        ActionLookupReferralPartner(),
        tracker("vi", intent="referral_partner", entities={"need": "legal_aid", "province": "TP.HCM"}),
    )
    text = message["text"]
    assert text.index("Trung tâm Trợ giúp pháp lý nhà nước Thành phố Hồ Chí Minh") < text.index("1800 1233")
    assert "470 Nguyễn Tri Phương" in text
    # A low-confidence row: the reply tells people to confirm before going.
    assert CONFIRM_VI in text
