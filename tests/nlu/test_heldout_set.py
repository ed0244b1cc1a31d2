"""Shape checks for the held-out NLU test set in tests/nlu/.

The benchmark (`make bench`) scores the trained model on these files, so a
malformed file, a misspelt intent or a message copied into two files would
silently distort the score. These tests load every file with Rasa's own loader
and enforce the coverage the set promises (see tests/nlu/README.md).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent

FORM_FILES = ("accented.yml", "unaccented.yml", "colloquial.yml", "english.yml")
ALL_FILES = FORM_FILES + ("emergency.yml", "emergency_stories.yml", "not_emergency.yml")

MIN_PER_TOPIC = 3
# Short social formulas ("hello", "thx") are nearly all training examples already, and a
# held-out copy of a training example is removed (bench refuses it): one per form is enough.
MIN_PER_META = 1
MIN_TOTAL_FORMS = 330
MIN_EMERGENCY_VI = 30
MIN_EMERGENCY_EN = 20
MIN_NOT_EMERGENCY = 40
MIN_EMERGENCY_STORIES = 40

# A message counts as Vietnamese if it has Vietnamese letters or one of these
# words typed without accents; the emergency set mixes both languages.
_VI_LETTERS = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")
_VI_ASCII_WORDS = {
    "toi",
    "em",
    "e",
    "bi",
    "khong",
    "k",
    "cuu",
    "chu",
    "ho",
    "nguoi",
    "muon",
    "cua",
    "danh",
    "giet",
    "nhot",
    "ban",
    "chet",
    "song",
    "lam",
    "va",
    "ve",
    "ong",
    "mik",
}


def _topics() -> dict[str, str]:
    data = yaml.safe_load((REPO_ROOT / "topics.yml").read_text(encoding="utf-8"))
    return {t["id"]: t["group"] for t in data["topics"]}


def _fold(text: str) -> str:
    """Lowercase, drop diacritics and punctuation: catches near-copies across forms."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return " ".join(re.findall(r"\w+", text))


def _is_vietnamese(text: str) -> bool:
    lowered = text.lower()
    if _VI_LETTERS.search(lowered):
        return True
    return bool(set(re.findall(r"[a-z]+", lowered)) & _VI_ASCII_WORDS)


def _examples(name: str) -> list[tuple[str, str]]:
    data = load_data(str(HERE / name))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[tuple[str, str]]]:
    return {name: _examples(name) for name in ALL_FILES}


@pytest.mark.parametrize("name", FORM_FILES)
def test_each_form_covers_every_topic(loaded, name):
    topics = _topics()
    counts = Counter(intent for _, intent in loaded[name])
    assert set(counts) <= set(topics), f"unknown intents in {name}: {set(counts) - set(topics)}"
    for topic, group in topics.items():
        minimum = MIN_PER_META if group == "meta" else MIN_PER_TOPIC
        assert counts[topic] >= minimum, f"{name}: {topic} has {counts[topic]} < {minimum}"


def test_forms_total(loaded):
    total = sum(len(loaded[name]) for name in FORM_FILES)
    assert total >= MIN_TOTAL_FORMS


def test_emergency_set(loaded):
    examples = loaded["emergency.yml"]
    assert {intent for _, intent in examples} == {"emergency_help"}
    vietnamese = sum(_is_vietnamese(text) for text, _ in examples)
    english = len(examples) - vietnamese
    assert vietnamese >= MIN_EMERGENCY_VI
    assert english >= MIN_EMERGENCY_EN


def test_emergency_stories_set(loaded):
    examples = loaded["emergency_stories.yml"]
    assert {intent for _, intent in examples} == {"emergency_help"}
    assert len(examples) >= MIN_EMERGENCY_STORIES
    assert any(_is_vietnamese(text) for text, _ in examples)
    assert any(not _is_vietnamese(text) for text, _ in examples)


def test_not_emergency_set(loaded):
    examples = loaded["not_emergency.yml"]
    intents = {intent for _, intent in examples}
    assert "emergency_help" not in intents
    assert intents <= set(_topics())
    assert len(examples) >= MIN_NOT_EMERGENCY
    assert any(_is_vietnamese(text) for text, _ in examples)
    assert any(not _is_vietnamese(text) for text, _ in examples)


def _raw_examples(name: str) -> list[str]:
    """Messages as written, before Rasa's loader (which may merge repeats)."""
    data = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    return [
        line[2:].strip()
        for block in data["nlu"]
        for line in block["examples"].splitlines()
        if line.startswith("- ")
    ]


def test_loader_keeps_every_message(loaded):
    for name in ALL_FILES:
        assert len(loaded[name]) == len(_raw_examples(name)), name


def test_no_duplicates_within_or_across_files():
    seen: dict[str, str] = {}
    clashes = []
    for name in ALL_FILES:
        for text in _raw_examples(name):
            key = _fold(text)
            if key in seen:
                clashes.append(f"{text!r} in {name} and {seen[key]}")
            seen[key] = name
    assert not clashes, "\n".join(clashes)


def test_no_held_out_message_is_a_training_example_once_folded():
    """`make bench` refuses to run otherwise (bot.bench.check_held_out): a copy measures memory."""
    from bot.bench import check_held_out

    check_held_out(HERE, REPO_ROOT / "data" / "nlu")
