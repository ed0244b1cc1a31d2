"""The held-out conversations of the Fund checker and the letter builder
(tests/tools/conversations/fund.yml, letter.yml), replayed
turn by turn through the in-process assistant (the trained model, the in-process urgent card
and the action server) with the runner of tests/e2e/test_heldout_conversations.py.

Each conversation must pass in every turn: starting the tool, answering, being asked again
after a vague date or amount, leaving with "thôi"/"huỷ"/"cancel" or another question, and
danger midway (the urgent card at once, the tool dropped). Skipped without a trained model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_heldout_conversations import REPO_ROOT, run_conversation

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
FILES = [HERE / "conversations" / name for name in ("fund.yml", "letter.yml")]
FORMS = {"accented", "unaccented", "colloquial", "english"}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The in-process assistant with its own DATABASE_URL (the action server inherits it), so
    drafts kept by one run never meet the next run's conversations of the same ids."""
    if not list((REPO_ROOT / "models").glob("*.tar.gz")):
        pytest.skip("no trained model in models/ (run `make train`)")
    from bot.assistant import Assistant

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('tools') / 'bot.db'}"
    try:
        with Assistant.running() as running:
            yield running
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous


def _conversations() -> list[dict[str, Any]]:
    found = []
    for path in FILES:
        found += yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]
    return found


def test_every_tool_has_every_form_and_leaving_and_danger():
    by_tool: dict[str, set[str]] = {}
    for conversation in _conversations():
        by_tool.setdefault(conversation["covers"], set()).add(conversation["form"])
    assert set(by_tool) == {"fund-check", "complaint-letter"}
    assert all(forms == FORMS for forms in by_tool.values()), by_tool
    ids = " ".join(c["id"] for c in _conversations())
    for needed in ("cancel", "danger", "other-question"):
        assert ids.count(needed) >= 2, needed


@pytest.mark.parametrize("conversation", _conversations(), ids=lambda c: c["id"])
def test_tool_conversation(assistant, conversation):
    problem = run_conversation(assistant, conversation)
    assert problem is None, problem
