"""Shape checks for the held-out conversations in tests/conversations/.

`make bench` and the end-to-end tests replay these files turn by turn, so a
misspelt key, a topic that is not in topics.yml or an entity value that is not
canonical would make a right reply count as wrong (or a wrong one pass). The
format is the contract in TEAM.md; these checks keep the files to it and keep
the coverage issue 8 asks for (every failure, every form, 90+ conversations of
2 to 5 turns).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml

from bot.vietnamese.provinces import CURRENT_PROVINCES

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent

FORMS = {"accented", "unaccented", "colloquial", "english"}
COVERS = {
    "pending-question",
    "place-in-question",
    "laos-trap",
    "follow-up",
    "language",
    "danger-story",
    "danger-lookup",
    "multi-need",
    "fact-search",
    "misread",
}
CONVERSATION_KEYS = {"id", "form", "covers", "locale", "turns"}
TURN_KEYS = {"user", "topic", "entities", "lang", "reply_contains", "reply_not_contains"}
MIN_CONVERSATIONS = 90
_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@cache
def _topics() -> set[str]:
    data = yaml.safe_load((REPO_ROOT / "topics.yml").read_text(encoding="utf-8"))
    return {t["id"] for t in data["topics"]}


def _files() -> list[Path]:
    return sorted(HERE.glob("*.yml"))


def _conversations() -> list[tuple[Path, dict]]:
    found = []
    for path in _files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(data) == {"conversations"}, path.name
        found += [(path, conversation) for conversation in data["conversations"]]
    return found


def test_enough_conversations_over_every_failure_and_form():
    conversations = [c for _, c in _conversations()]
    assert len(conversations) >= MIN_CONVERSATIONS
    assert {c["covers"] for c in conversations} == COVERS
    per_form = Counter(c["form"] for c in conversations)
    assert set(per_form) == FORMS
    assert min(per_form.values()) >= 15, per_form


def test_ids_unique_and_kebab_case():
    ids = [c["id"] for _, c in _conversations()]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert [i for i in ids if not _KEBAB.fullmatch(i)] == []


@pytest.mark.parametrize(
    "path,conversation", _conversations(), ids=lambda v: getattr(v, "name", None) or v["id"]
)
def test_conversation_follows_the_format(path, conversation):
    topics = _topics()
    assert set(conversation) <= CONVERSATION_KEYS
    assert conversation["form"] in FORMS
    assert conversation["covers"] == path.stem, "files are split by covers group"
    assert conversation.get("locale", "vi") in {"vi", "en"}
    turns = conversation["turns"]
    assert 2 <= len(turns) <= 5
    for turn in turns:
        assert set(turn) <= TURN_KEYS and isinstance(turn["user"], str) and turn["user"].strip()
        assert set(turn) - {"user"}, f"turn {turn['user']!r} expects nothing"
        if "topic" in turn:
            assert turn["topic"] in topics, turn["topic"]
        if "lang" in turn:
            assert turn["lang"] in {"vi", "en"}
        for key in ("reply_contains", "reply_not_contains"):
            assert all(isinstance(s, str) and s.strip() for s in turn.get(key, []))
        entities = turn.get("entities", {})
        assert set(entities) <= {"country", "province"}
        if "province" in entities:
            assert entities["province"] in CURRENT_PROVINCES, entities["province"]
        if "country" in entities:
            assert re.fullmatch(r"[A-Z]{2}", entities["country"]), entities["country"]
