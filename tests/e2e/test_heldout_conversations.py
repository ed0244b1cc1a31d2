"""The held-out conversations of tests/conversations/*.yml (written by others, format in
TEAM.md), replayed turn by turn through the in-process assistant (`bot.assistant.Assistant`:
the trained model, the in-process urgent card and the action server).

Never tune the bot to these: they measure it. The test holds the bot to issue 8's target
(95% of conversations right in every turn) and names each failing conversation and turn.
Skipped when the files or a trained model are missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.vietnamese.text import fold

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
# Issue 8's target (also reported by `make bench`). Measured after the follow-ups from the
# cards (2026-11-30): 0.984 (122 of 124); at stop 8 it was 0.911.
SUCCESS_FLOOR = 0.95
CONVERSATIONS = sorted((REPO_ROOT / "tests" / "conversations").glob("*.yml"))


def _load() -> list[dict[str, Any]]:
    found = []
    for path in CONVERSATIONS:
        for conversation in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(
            "conversations"
        ) or []:
            found.append(conversation)
    return found


def _folded(text: str) -> str:
    return fold(text or "").lower()


def turn_problems(turn: dict[str, Any], result: dict[str, Any], topic: str | None) -> list[str]:
    """What of the turn's expectations the reply missed (empty when the turn passes)."""
    problems = []
    answer = _folded(result["answer"])
    if "topic" in turn and topic != turn["topic"]:
        problems.append(f"topic {topic!r}, expected {turn['topic']!r}")
    for kind, value in (turn.get("entities") or {}).items():
        # Named in this message, or remembered from an earlier one and so used for the
        # answer ("Cho tôi số đại sứ quán ở đó" after a story set in Saudi Arabia).
        remembered = (result.get("place_slots") or {}).get(kind)
        if result["entities"].get(kind) != value and remembered != value:
            problems.append(f"entity {kind}={result['entities'].get(kind)!r}, expected {value!r}")
    if "lang" in turn and result["lang"] != turn["lang"]:
        problems.append(f"reply language {result['lang']!r}, expected {turn['lang']!r}")
    problems += [f"reply lacks {s!r}" for s in turn.get("reply_contains") or [] if _folded(s) not in answer]
    problems += [f"reply has {s!r}" for s in turn.get("reply_not_contains") or [] if _folded(s) in answer]
    return problems


@pytest.fixture(scope="module")
def assistant():
    if not list((REPO_ROOT / "models").glob("*.tar.gz")):
        pytest.skip("no trained model in models/ (run `make train`)")
    from bot.assistant import Assistant

    with Assistant.running() as running:
        yield running


def _topic_slot(assistant, sender: str) -> str | None:
    tracker = assistant._loop.run_until_complete(assistant._agent.tracker_store.retrieve(sender))
    return tracker.get_slot("topic") if tracker else None


def run_conversation(assistant, conversation: dict[str, Any]) -> str | None:
    """None when every turn passes, else what went wrong in the first failing turn."""
    sender = f"heldout-{conversation['id']}"
    metadata = {"locale": conversation["locale"]} if conversation.get("locale") else None
    for number, turn in enumerate(conversation["turns"], 1):
        result = assistant.ask(turn["user"], metadata=metadata, sender_id=sender)
        problems = turn_problems(turn, result, _topic_slot(assistant, sender))
        if problems:
            return f"turn {number} {turn['user']!r}: {'; '.join(problems)}"
    return None


@pytest.mark.skipif(not CONVERSATIONS, reason="no held-out conversations in tests/conversations/")
def test_held_out_conversations_meet_the_target(assistant):
    """Issue 8's target: 95 % of the conversations right in every turn. The message lists
    every failing conversation with its first wrong turn."""
    conversations = _load()
    failures = {}
    for conversation in conversations:
        problem = run_conversation(assistant, conversation)
        if problem:
            failures[f"{conversation['covers']}/{conversation['id']}"] = problem
    rate = 1 - len(failures) / len(conversations)
    report = "\n".join(f"- {name}: {problem}" for name, problem in sorted(failures.items()))
    assert rate >= SUCCESS_FLOOR, f"{rate:.2f} of {len(conversations)} conversations succeed:\n{report}"
