"""The directory and statistics pages in a real browser on a phone: an edit with a province
that does not exist is refused with the CSV loader's own message (and nothing is saved), and
the statistics page shows a cell of fewer than ten conversations as "<10"."""

from __future__ import annotations

import datetime as _dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import statistics
from bot.directory import editing
from bot.directory.loader import DEFAULT_DATA_DIR, load_directory
from tests.browser.test_console_browser import _log_in
from tests.staff.conftest import Console, start_console


@pytest.fixture
def console(sqlite_url: str, tmp_path: Path) -> Iterator[Console]:
    data_dir = tmp_path / "directory"
    shutil.copytree(DEFAULT_DATA_DIR, data_dir)
    load_directory(sqlite_url, data_dir)
    yield from start_console(sqlite_url, DIRECTORY_DIR=str(data_dir), DATABASE_URL=sqlite_url)


def test_a_directory_edit_with_an_invalid_province_is_refused_with_the_loaders_message(console, phone):
    _log_in(phone, console.base, "editor@ngo.example")
    phone.wait_for_url(re.compile(r"/inbox"))
    phone.click("nav >> text=Danh bạ")
    phone.wait_for_url(re.compile(r"/directory$"))
    phone.click("a[href='/directory/partners/cdi']")
    phone.wait_for_url(re.compile(r"/directory/partners/cdi$"))
    phone.fill("#entry input[name=provinces]", "Hà Tínhh")
    phone.click("#entry button[value=save]")
    errors = phone.wait_for_selector("#form-errors")
    assert "province 'Hà Tínhh' is not a province of Viet Nam" in errors.inner_text()
    assert phone.input_value("#entry input[name=provinces]") == "Hà Tínhh"  # the form keeps what was typed
    assert editing.drafts(console.engine) == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_statistics_page_hides_small_cells(console, phone):
    now = _dt.datetime.now(_dt.timezone.utc)
    for n in range(12):
        facts = statistics.TurnFacts("telegram", "vi", "deposit_refund", "KR", "Nghệ An", True)
        statistics.record_turns(console.engine, f"tg-{n}", [facts], now)
    for n in range(3):
        facts = statistics.TurnFacts("zalo", "en", "deposit_refund", "KR", "Hà Giang", False)
        statistics.record_turns(console.engine, f"zl-{n}", [facts], now)
    _log_in(phone, console.base, "editor@ngo.example")
    phone.wait_for_url(re.compile(r"/inbox"))
    phone.goto(console.base + "/stats")
    assert phone.inner_text("#totals tbody td >> nth=0") == "15"
    channels = phone.inner_text("table[data-dimension=channel]")
    assert "zalo" in channels and "<10" in channels
    assert "3" not in channels.replace("<10", "")  # neither the 3 Zalo nor the 12 (15 - 3) shows
    assert "12" not in channels
    assert phone.locator("figure.chart svg").count() == 2
