"""Answer cards edited in a real browser (Debian chromium), against a real `python -m bot
run` (Rasa with the trained model, the action server, the staff console) whose cards are a
private copy of content/:

an editor changes a card, the live check blocks a bad phone number, a reviewer approves,
the assistant's next answer over the REST webhook carries the new text (no restart), the
audit log shows the diff, and a restore brings the old text back; a reviewer cannot
approve their own change; script in a card is escaped in the preview.

The full scenario needs a trained model (`make train`) and is marked `e2e`, like the other
tests that start `bot run`; the last two run on the in-process console.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot import db
from tests.fakes.bot_run import bot_run, require_model
from tests.staff.conftest import PASSWORD, make_user, start_console

REPO_ROOT = Path(__file__).resolve().parents[2]
CARD = "deposit_refund"
QUESTION = "làm sao lấy lại tiền ký quỹ"
OLD = "Tiền ký quỹ nằm trong tài khoản ngân hàng đứng tên bạn."
NEW = "Tiền ký quỹ luôn nằm trong tài khoản ngân hàng đứng tên chính bạn."
BAD_PHONE = "0912 345 678"


def _copy_content(tmp: Path) -> Path:
    shutil.copytree(REPO_ROOT / "content", tmp / "content")
    shutil.copy(REPO_ROOT / "topics.yml", tmp / "topics.yml")
    return tmp / "content"


@dataclass
class RunningBot:
    base: str
    staff: str
    database_url: str
    content: Path


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    require_model()
    tmp = tmp_path_factory.mktemp("cards")
    content = _copy_content(tmp)
    settings = {
        "SENDER_ID_SECRET": "cards-secret",
        "CONTENT_DIR": str(content),
        "TOPICS_FILE": str(tmp / "topics.yml"),
    }
    with bot_run(tmp, settings, drop=("TELEGRAM_", "ZALO_")) as run:
        try:
            yield RunningBot(run.base, run.staff.rstrip("/"), run.database_url, content)
        finally:
            db.dispose_engines()


def _ask(base: str, text: str) -> str:
    response = httpx.post(
        base + "/webhooks/rest/webhook",
        json={"sender": f"cards-{uuid.uuid4().hex}", "message": text},
        timeout=120,
    )
    response.raise_for_status()
    return "\n".join(str(m.get("text") or "") for m in response.json())


def _log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/inbox"))


def _new_page(chromium):  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def _edit_vi(page, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    vi = page.locator("textarea[name=vi]")
    vi.fill(vi.input_value().replace(old, new))


@pytest.mark.e2e
def test_an_edit_goes_through_review_to_the_live_assistant_and_back(bot, chromium):
    engine = db.get_engine(bot.database_url)
    tag = uuid.uuid4().hex[:6]
    editor, reviewer, admin = (f"{role}-{tag}@ngo.example" for role in ("editor", "reviewer", "admin"))
    for email, role in ((editor, "editor"), (reviewer, "reviewer"), (admin, "admin")):
        make_user(engine, email, role)
    assert OLD in _ask(bot.base, QUESTION)

    # The editor adds a number that is in no allow-list: the live check says so while typing.
    page = _new_page(chromium)
    _log_in(page, bot.staff, editor)
    page.goto(f"{bot.staff}/cards/{CARD}")
    _edit_vi(page, OLD, f"{OLD} Gọi {BAD_PHONE}.")
    page.wait_for_selector(f"#card-check >> text={BAD_PHONE} is not in content/phone_numbers.yml")
    # Sending it anyway is refused with the same reason; nothing changes on disk.
    page.click("button[name=action][value=review]")
    page.wait_for_selector(f".problems >> text={BAD_PHONE} is not in")
    assert BAD_PHONE not in (bot.content / "vi" / f"{CARD}.md").read_text(encoding="utf-8")

    # Fixed, and sent for review.
    page.goto(f"{bot.staff}/cards/{CARD}")
    _edit_vi(page, OLD, NEW)
    page.wait_for_selector("#card-form[data-checked=ok]")
    assert NEW in page.inner_text("#card-check .preview-lang[lang=vi] .platform.telegram")
    page.fill("input[name=note]", "clearer wording")
    page.click("button[name=action][value=review]")
    page.wait_for_url(re.compile(r"notice=sent_for_review"))
    # An editor has no approve button, and the route refuses them.
    page.goto(f"{bot.staff}/cards")
    page.click(".waiting a")
    assert page.locator("form[action$='/approve']").count() == 0
    assert NEW not in _ask(bot.base, QUESTION)  # not live before review

    # The reviewer approves; the very next answer carries the new text.
    review = _new_page(chromium)
    _log_in(review, bot.staff, reviewer)
    review.goto(f"{bot.staff}/cards")
    review.click(".waiting a")
    assert "+" + NEW in review.inner_text("pre.diff")
    review.click("form[action$='/approve'] button")
    review.wait_for_url(re.compile(rf"/cards/{CARD}\?notice=approved"))
    answer = _ask(bot.base, QUESTION)
    assert NEW in answer and OLD not in answer

    # The audit log shows who did it, with the diff.
    audit = _new_page(chromium)
    _log_in(audit, bot.staff, admin)
    audit.goto(f"{bot.staff}/admin/audit")
    row = audit.locator("tr", has=audit.locator("code", has_text="card.approve")).first
    assert reviewer in row.inner_text()
    detail = row.locator("td.detail").inner_text()
    assert "-" + OLD in detail and "+" + NEW in detail

    # Restore the version found on disk: one click, and the assistant answers with it again.
    review.goto(f"{bot.staff}/cards/{CARD}")
    review.locator("tr", has_text="files").locator("button.restore").click()
    review.wait_for_url(re.compile(r"notice=restored"))
    answer = _ask(bot.base, QUESTION)
    assert OLD in answer and NEW not in answer
    for opened in (page, review, audit):
        opened.context.close()


@pytest.fixture
def console(tmp_path: Path, sqlite_url: str) -> Iterator[object]:
    content = _copy_content(tmp_path)
    yield from start_console(sqlite_url, CONTENT_DIR=str(content), TOPICS_FILE=str(tmp_path / "topics.yml"))


def test_a_reviewer_cannot_approve_their_own_change(console, chromium):
    page = _new_page(chromium)
    _log_in(page, console.base, "reviewer@ngo.example")
    page.goto(f"{console.base}/cards/{CARD}")
    _edit_vi(page, OLD, NEW)
    page.click("button[name=action][value=review]")
    page.wait_for_url(re.compile(r"notice=sent_for_review"))
    page.goto(f"{console.base}/cards")
    page.click(".waiting a")
    with page.expect_response(re.compile(r"/approve$")) as answer:
        page.click("form[action$='/approve'] button")
    assert answer.value.status == 403
    assert "Bạn không thể tự duyệt thay đổi của chính mình" in page.inner_text("main")
    page.context.close()


def test_script_in_a_card_is_escaped_in_the_preview(console, chromium):
    page = _new_page(chromium)
    _log_in(page, console.base, "editor@ngo.example")
    page.goto(f"{console.base}/cards/{CARD}")
    hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    _edit_vi(page, OLD, OLD + " " + hostile)
    page.wait_for_selector("#card-check >> text=HTML is not allowed in cards")
    for platform in ("telegram", "zalo", "webchat"):
        shown = page.inner_text(f"#card-check .preview-lang[lang=vi] .platform.{platform}")
        assert "<script>window.__pwned = 1</script>" in shown, platform  # shown as text
    assert page.locator("#card-check script, #card-check img").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.context.close()
