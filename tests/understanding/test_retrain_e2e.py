"""End to end through `python -m bot run` and a real browser: a reviewer adds examples for a
phrase the assistant does not understand, retrains from the console, sees the progress bar
and then the held-out figures, and the running assistant answers the phrase from the new
model over the REST webhook without a restart; rollback serves the previous model again.

Bounded cost: the training data is a copy of data/ (one full `rasa train` of this
pipeline), and the held-out set is cut to 8 messages per form and 3 conversations (two
evaluations, mostly loading the model). The whole test took 7 min 40 s on a shared 2-core
machine at a load average of 15 (training 3 min 50 s of it, at nice 19); expect 3-4
minutes on a quiet CI runner.

Skipped without a trained model or chromium unless REQUIRE_SERVICES=1. The start-up of
`bot run` is copied from tests/handoff/test_e2e.py (to be folded into the shared helper).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from bot import db
from bot.bench import load_conversations, load_examples
from bot.content.cards import ContentLibrary
from tests.browser.conftest import chromium  # noqa: F401 - fixture
from tests.fakes.bot_run import bot_run
from tests.staff.conftest import PASSWORD, fast_hashing, make_user  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
SWAP_TOKEN = "e2e-" + uuid.uuid4().hex
TOPIC = "deposit_refund"
# Made-up words: no model trained on data/ can know them.
PHRASE = "zorblat quimpex vandoo"
EXAMPLES = ("zorblat quimpex vandoo", "quimpex vandoo zorblat", "zorblat quimpex", "vandoo quimpex")
FORMS = ("accented", "unaccented", "colloquial", "english")


@dataclass
class RunningBot:
    base: str
    console: str
    engine_url: str
    models: Path


def _small_held_out(target: Path) -> None:
    target.mkdir()
    for form in FORMS:
        by_intent: dict[str, list[str]] = {}
        for text, intent in load_examples(REPO_ROOT / "tests" / "nlu" / f"{form}.yml")[:8]:
            by_intent.setdefault(intent, []).append(text)
        nlu = [
            {"intent": i, "examples": "".join(f"- {t}\n" for t in texts)} for i, texts in by_intent.items()
        ]
        (target / f"{form}.yml").write_text(
            yaml.safe_dump({"version": "3.1", "nlu": nlu}, allow_unicode=True), encoding="utf-8"
        )


def _small_conversations(target: Path) -> None:
    target.mkdir()
    keep = [{k: v for k, v in c.items() if k != "file"} for c in load_conversations()[:3]]
    (target / "some.yml").write_text(
        yaml.safe_dump({"conversations": keep}, allow_unicode=True), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    model = REPO_ROOT / "models" / "current.tar.gz"
    if not model.exists():
        reason = "no models/current.tar.gz (run `make train`)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("retrain-e2e")
    models = tmp / "models"
    models.mkdir()
    shutil.copy2(model, models / "current.tar.gz")
    data = tmp / "data"
    for part in ("nlu", "rules", "stories"):
        shutil.copytree(REPO_ROOT / "data" / part, data / part, ignore=shutil.ignore_patterns("console"))
    _small_held_out(tmp / "held_out")
    _small_conversations(tmp / "conversations")
    settings = {
        "MODELS_DIR": str(models),
        "TRAINING_DATA_DIR": str(data),
        "RETRAIN_HELD_OUT_DIR": str(tmp / "held_out"),
        "RETRAIN_CONVERSATIONS_DIR": str(tmp / "conversations"),
        "MODEL_SWAP_TOKEN": SWAP_TOKEN,
        "TMPDIR": str(tmp),
    }
    drop = ("ZALO_", "TELEGRAM_", "MODEL", "STAFF_TELEGRAM")
    with bot_run(tmp, settings, drop=drop, ready_path="/health") as run:
        try:
            make_user(db.get_engine(run.database_url), "reviewer@ngo.example", "reviewer")
            yield RunningBot(run.base, run.staff.rstrip("/"), run.database_url, models)
        finally:
            db.dispose_engines()


def served(bot: RunningBot) -> dict:
    response = httpx.get(
        bot.base + "/model/live", headers={"Authorization": f"Bearer {SWAP_TOKEN}"}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def ask(bot: RunningBot, text: str) -> str:
    response = httpx.post(
        bot.base + "/webhooks/rest/webhook",
        json={"sender": f"e2e-{uuid.uuid4().hex}", "message": text},
        timeout=120,
    )
    response.raise_for_status()
    return "\n".join(m.get("text") or "" for m in response.json())


def test_a_retrain_from_the_console_swaps_the_model_live_and_shows_the_figures(bot, chromium):  # noqa: F811
    title = ContentLibrary(REPO_ROOT / "content").get(TOPIC, "vi").title
    assert served(bot)["model_name"] == "current.tar.gz"
    assert httpx.get(bot.base + "/model/live", timeout=30).status_code == 404  # no token: as if absent
    before = ask(bot, PHRASE)
    assert before and title not in before

    context = chromium.new_context(locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(bot.console + "/login")
        page.fill("input[name=email]", "reviewer@ngo.example")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/inbox"))
        page.click("nav >> text=Hiểu câu hỏi")
        page.wait_for_url(re.compile(r"/understanding$"))
        for example in EXAMPLES:
            page.fill("textarea[name=text]", example)
            page.select_option("select[name=topic]", TOPIC)
            page.click("#add-example button[type=submit]")
            page.wait_for_selector("text=Đã thêm câu ví dụ.")
        assert "data/nlu/console/return.yml" in page.inner_text("#console-examples")

        page.click("#start-retrain")
        page.wait_for_selector("text=Đã bắt đầu huấn luyện lại.")
        page.wait_for_selector("#retrain-job progress")
        # The page polls the job (static JS) and reloads itself when it has ended.
        page.wait_for_selector("#retrain-result", timeout=15 * 60_000)
        result = page.inner_text("#retrain-result")
        assert "Đã đăng" in result, result
        figures = page.inner_text("#held-out-figures")
        for label in (
            "Tất cả câu kiểm tra",
            "Tiếng Việt có dấu",
            "Tiếng Việt không dấu",
            "Tiếng Anh",
            "Hội thoại",
        ):
            assert label in figures
        assert re.search(r"\d+\.\d%", figures)

        now = served(bot)
        assert now["model_name"].startswith("console-") and now["model_name"] != "current.tar.gz"
        assert (bot.models / now["model_name"]).exists()
        assert title in ask(bot, PHRASE)  # the running assistant learnt the phrase, no restart

        page.click("#roll-back")
        page.wait_for_selector("text=Trợ lý đã dùng lại mô hình trước.")
        assert served(bot)["model_name"] == "current.tar.gz"
        assert title not in ask(bot, PHRASE)
        assert not (bot.models / now["model_name"]).exists()
    finally:
        context.close()
