"""The console's directory and statistics pages over HTTP: a refused edit shows the loader's
words, a draft is published by another reviewer only, "verified on DATE from SOURCE" updates
the row and the audit log, export, small cells hidden on /stats, and handoff reasons
translated."""

from __future__ import annotations

import datetime as _dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import handoff, statistics
from bot.directory import editing
from bot.directory.loader import DEFAULT_DATA_DIR, load_directory
from bot.staff import audit
from tests.staff.conftest import Console, csrf_of, start_console

PARTNER = {
    "id": "ht-legal-aid-test",
    "kind": "legal_aid_centre",
    "name_vi": "Trung tâm Trợ giúp pháp lý tỉnh Hà Tĩnh",
    "name_en": "Hà Tĩnh State Legal Aid Centre",
    "services": "legal_aid",
    "provinces": "Hà Tĩnh",
    "phone": "0239 3855 514",
    "source": "stp.hatinh.gov.vn (2026)",
    "last_checked": "2026-11-30",
    "confidence": "high",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "directory"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


@pytest.fixture
def console(sqlite_url: str, data_dir: Path) -> Iterator[Console]:
    load_directory(sqlite_url, data_dir)
    yield from start_console(sqlite_url, DIRECTORY_DIR=str(data_dir), DATABASE_URL=sqlite_url)


def _post(client, page: str, action: str, data: dict):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf": token, **data})


def test_an_invalid_province_is_refused_with_the_loaders_message(console, data_dir):
    editor = console.as_role("editor")
    response = _post(
        editor,
        "/directory/partners/new",
        "/directory/partners/new",
        {**PARTNER, "provinces": "Hà Tínhh", "step": "save"},
    )
    assert response.status_code == 400
    assert "province &#39;Hà Tínhh&#39; is not a province of Viet Nam" in response.text
    assert editing.drafts(console.engine) == []


def test_preview_then_draft_then_another_reviewer_publishes(console, data_dir):
    editor = console.as_role("editor")
    preview = _post(
        editor, "/directory/partners/new", "/directory/partners/new", {**PARTNER, "step": "preview"}
    )
    assert (
        preview.status_code == 200
        and "0239 3855 514" in preview.text
        and "Nguồn: stp.hatinh.gov.vn" in preview.text
    )
    saved = _post(editor, "/directory/partners/new", "/directory/partners/new", {**PARTNER, "step": "save"})
    assert saved.status_code == 303
    draft_page = saved.headers["location"].split("?")[0]
    assert (
        editor.post(draft_page + "/approve", data={"csrf": csrf_of(editor.get(draft_page).text)}).status_code
        == 403
    )

    # A reviewer who wrote a draft cannot publish it either.
    reviewer = console.as_role("reviewer")
    own = _post(
        reviewer,
        "/directory/partners/cdi",
        "/directory/partners/cdi",
        {**editing.read_file(data_dir, "partners").rows()["cdi"], "hours_en": "Mon-Fri", "step": "save"},
    )
    own_page = own.headers["location"].split("?")[0]
    refused = _post(reviewer, own_page, own_page + "/approve", {})
    assert refused.status_code == 403 and "một người duyệt khác phải chấp thuận" in refused.text
    assert editing.read_file(data_dir, "partners").rows()["cdi"].get("hours_en") != "Mon-Fri"  # not published

    published = _post(reviewer, draft_page, draft_page + "/approve", {})
    assert published.status_code == 303 and published.headers["location"].startswith(
        "/directory/partners/ht-legal-aid-test"
    )
    assert "ht-legal-aid-test" in (data_dir / "partners.csv").read_text(encoding="utf-8")
    row = reviewer.get("/directory/partners/ht-legal-aid-test")
    assert row.status_code == 200 and "Trung tâm Trợ giúp pháp lý tỉnh Hà Tĩnh" in row.text
    entries = audit.recent(console.engine)
    assert any(
        e.action == "directory.publish"
        and e.staff == "reviewer@ngo.example"
        and "editor@ngo.example" in e.detail
        for e in entries
    )


def test_verified_on_date_from_source(console, data_dir):
    reviewer = console.as_role("reviewer")
    page = "/directory/offices/kr-labour-board"
    response = _post(
        reviewer,
        page,
        page + "/verify",
        {"checked_on": "2026-11-29", "source": "phoned the board 29/11/2026", "confidence": ""},
    )
    assert response.status_code == 303 and response.headers["location"] == page + "?notice=verified"
    row = editing.read_file(data_dir, "offices").rows()["kr-labour-board"]
    assert row["last_checked"] == "2026-11-29" and row["source"] == "phoned the board 29/11/2026"
    [entry] = [e for e in audit.recent(console.engine) if e.action == "directory.verify"]
    assert "kr-labour-board" in entry.detail and "2026-11-29" in entry.detail
    # An editor may propose changes but not vouch for a check.
    editor = console.as_role("editor")
    assert (
        _post(editor, page, page + "/verify", {"checked_on": "2026-11-29", "source": "x"}).status_code == 403
    )


def test_export_and_roles(console, data_dir):
    editor = console.as_role("editor")
    exported = editor.get("/directory/export/offices")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.text == (data_dir / "offices.csv").read_text(encoding="utf-8-sig")
    assert editor.get("/directory/export/secrets").status_code == 404
    assert editor.get("/directory/offices/no-such-row").status_code == 404
    agent = console.as_role("agent")
    for path in ("/directory", "/stats", "/directory/offices/kr-embassy"):
        assert agent.get(path).status_code == 403


def test_the_statistics_page_hides_small_cells(console):
    now = _dt.datetime.now(_dt.timezone.utc)
    for n in range(12):
        statistics.record_turns(
            console.engine,
            f"tg-{n}",
            [statistics.TurnFacts("telegram", "vi", "deposit_refund", "KR", "Nghệ An", True)],
            now,
        )
    for n in range(3):
        statistics.record_turns(
            console.engine,
            f"zl-{n}",
            [statistics.TurnFacts("zalo", "vi", "deposit_refund", "KR", "Hà Giang", False)],
            now,
        )
    page = console.as_role("editor").get("/stats")
    assert page.status_code == 200
    assert "<svg" in page.text and "Hà Giang" in page.text
    assert ">15<" in page.text  # the week's total
    assert ">3<" not in page.text and ">12<" not in page.text  # 3 Zalo, and 12 = 15 - 3
    assert "&lt;10" in page.text
    exported = console.as_role("editor").get("/stats/export.csv").text
    assert ",channel,zalo,,," in exported and ",all,,15,15,3" in exported


def test_handoff_reasons_are_shown_in_the_staff_language(console):
    item = console.handoff.add(
        "ZL-OLD001", channel="zalo", can_reply=False, reply_note=handoff.NOTE_ZALO_WINDOW
    )
    page = console.as_role("agent").get(f"/handoffs/{item}", headers={"Accept-Language": "vi"})
    assert "Zalo không cho trả lời: người dùng nhắn lần cuối đã hơn 7 ngày." in page.text
    closed = console.handoff.add("TG-NEW002", can_reply=False, reply_note=handoff.REASON_CLOSED)
    page = console.as_role("agent").get(f"/handoffs/{closed}", headers={"Accept-Language": "vi"})
    assert "Cuộc trò chuyện này đã kết thúc." in page.text


@pytest.mark.parametrize(
    "reason", [r for n, r in vars(handoff).items() if n.startswith(("REASON_", "NOTE_"))]
)
def test_every_handoff_reason_has_both_translations(reason):
    from bot.i18n import _catalog

    assert reason in _catalog("vi", "staff") and reason in _catalog("en", "staff")
    assert _catalog("vi", "staff")[reason] != reason


def _page_strings() -> list[str]:
    from bot.staff import directory
    from bot.staff import statistics as stats_pages

    strings = [directory.NOTICES[k] for k in ("draft_saved", "published", "rejected", "verified")]
    strings.append(directory.NO_FILES)
    for table in (
        directory.TABLE_LABELS,
        directory.ACTION_LABELS,
        directory.STATUS_LABELS,
        stats_pages.DIMENSION_LABELS,
    ):
        strings += table.values()
    strings += [
        getattr(editing, n) for n in dir(editing) if n.isupper() and isinstance(getattr(editing, n), str)
    ]
    return [s for s in strings if " " in s or s[0].isupper()]


@pytest.mark.parametrize("msgid", _page_strings())
def test_every_directory_and_statistics_string_is_in_both_catalogs(msgid):
    from bot.i18n import _catalog

    assert msgid in _catalog("vi", "staff") and msgid in _catalog("en", "staff")


def test_markup_in_a_cell_is_shown_as_text_in_the_preview(console):
    editor = console.as_role("editor")
    evil = {**PARTNER, "description_en": "<script>alert(1)</script> **bold**", "step": "preview"}
    page = _post(editor, "/directory/partners/new", "/directory/partners/new", evil)
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>bold</b>" in page.text


def test_missing_directory_files_are_a_clear_page_not_a_crash(sqlite_url, tmp_path):
    for console in start_console(sqlite_url, DIRECTORY_DIR=str(tmp_path / "nowhere")):
        page = console.as_role("editor").get("/directory")
        assert page.status_code == 503 and "DIRECTORY_DIR" in page.text
