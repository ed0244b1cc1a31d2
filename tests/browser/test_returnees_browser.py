"""The returnee-profile page (issue 14 §4) in a real browser: a reviewer sees the aggregates
and charts with every cell from fewer than 10 answers hidden, the CSV export hides them
too, and an editor is kept out."""

from __future__ import annotations

import csv
import io
import re

from bot import survey
from tests.staff.conftest import PASSWORD


def _log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/inbox"))


def _answers(engine) -> None:  # type: ignore[no-untyped-def]
    """25 answers: 12 women, 10 men, 3 who did not say (hidden, and the 10 men with them:
    25 - 12 - 10 would give the 3 away)."""
    for n in range(25):
        survey.save(
            engine,
            {
                "host_country": "KR",
                "gender": "female" if n < 12 else "male" if n < 22 else None,
                "return_mode": "early" if n < 20 else "irregular",
                "province": "Hà Tĩnh" if n == 0 else "Nghệ An",
            },
        )


def test_a_reviewer_sees_aggregates_with_small_cells_hidden(console, phone):
    _answers(console.engine)
    _log_in(phone, console.base, "reviewer@ngo.example")
    phone.click("nav >> text=Người về nước")
    phone.wait_for_url(re.compile(r"/returnees$"))
    main = phone.inner_text("main")
    assert "Hồ sơ người về nước" in main and "Số câu trả lời: 25" in main
    sex = phone.locator("section#gender")
    assert sex.locator("td[data-value=female]").inner_text() == "12"
    assert sex.locator("td[data-value=male]").inner_text() == "<10"  # 10, hidden with the 3
    assert sex.locator('td[data-value="not answered"]').inner_text() == "<10"  # 3 answers
    assert sex.locator("svg").count() == 1
    chart = sex.locator("svg").evaluate("node => node.outerHTML")
    assert ">3<" not in chart and ">10<" not in chart
    province = phone.locator("section#province")
    assert province.locator("td", has_text="Hà Tĩnh").count() == 1
    assert province.locator('td[data-value="Hà Tĩnh"]').inner_text() == "<10"
    assert phone.locator("section#return_mode td[data-value=irregular]").inner_text() == "<10"
    # Fits the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 480

    response = phone.request.get(console.base + "/returnees/export.csv")
    assert response.status == 200 and "text/csv" in response.headers["content-type"]
    rows = list(csv.DictReader(io.StringIO(response.text())))
    by = {(r["breakdown"], r["value"], r["sex"]): r["count"] for r in rows}
    assert by[("gender", "female", "all")] == "12" and by[("gender", "male", "all")] == ""
    assert by[("gender", "not answered", "all")] == ""
    assert by[("province", "Hà Tĩnh", "all")] == ""
    assert all(r["count"] == "" or int(r["count"]) >= 10 for r in rows)


def test_an_editor_cannot_open_the_returnee_pages(console, phone):
    _log_in(phone, console.base, "editor@ngo.example")
    assert phone.locator("nav >> text=Người về nước").count() == 0
    assert phone.goto(console.base + "/returnees").status == 403
    assert phone.request.get(console.base + "/returnees/export.csv").status == 403
