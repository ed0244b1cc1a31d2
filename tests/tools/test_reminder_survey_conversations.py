"""The reminders' and survey's held-out conversations (tests/tools/conversations/reminders.yml,
survey.yml) end to end, through
the trained model, the in-process urgent card and the action server, with the held-out
runner of tests/e2e/test_heldout_conversations.py. Every conversation must pass: these are
scripted flows, not open questions. Skipped without a trained model (as that runner is).

The action server gets its own DATABASE_URL, so the reminders and survey answers written
here never reach the developer's var/bot.db; the test then checks what was stored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tests.e2e.test_heldout_conversations import run_conversation

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
FILES = [HERE / "conversations" / name for name in ("reminders.yml", "survey.yml")]
FORMS = {"accented", "unaccented", "colloquial", "english"}


def _conversations() -> list[dict]:
    found = []
    for path in FILES:
        found += yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]
    return found


def test_every_tool_is_held_out_in_the_four_forms():
    per_tool: dict[str, set[str]] = {}
    for conversation in _conversations():
        per_tool.setdefault(conversation["covers"], set()).add(conversation["form"])
    assert per_tool == {"reminders": FORMS, "survey": FORMS}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    if not list((REPO_ROOT / "models").glob("*.tar.gz")):
        pytest.skip("no trained model in models/ (run `make train`)")
    from bot import db
    from bot.assistant import Assistant

    url = f"sqlite:///{tmp_path_factory.mktemp('tools') / 'bot.db'}"
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url  # inherited by the action server
    try:
        with Assistant.running() as running:
            running.database_url = url
            yield running
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        db.dispose_engines()


def test_the_tools_held_out_conversations(assistant):
    failures = {}
    for conversation in _conversations():
        problem = run_conversation(assistant, conversation)
        if problem:
            failures[conversation["id"]] = problem
    report = "\n".join(f"- {name}: {problem}" for name, problem in sorted(failures.items()))
    assert not failures, f"{len(failures)} of {len(_conversations())} conversations failed:\n{report}"
    from bot import db

    engine = db.ensure_schema(db.get_engine(assistant.database_url))
    with engine.connect() as conn:
        kinds = sorted(conn.execute(sa.select(db.reminders.c.kind, db.reminders.c.sender_id)).all())
        profiles = conn.execute(sa.select(db.returnee_profiles)).all()
    # Reminders of the finished set-ups only (none from the stopped or interrupted ones).
    senders = {sender for _, sender in kinds}
    assert senders == {
        "heldout-remind-korea-accented",
        "heldout-remind-japan-unaccented",
        "heldout-remind-bad-date-colloquial",
        "heldout-remind-english-skip-and-list",
    }
    # Two surveys answered to the end; the stopped and interrupted ones stored nothing.
    assert len(profiles) == 2
    assert {(p.host_country, p.gender) for p in profiles} == {("KR", "female"), ("JP", "female")}
