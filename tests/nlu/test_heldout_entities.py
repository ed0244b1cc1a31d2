"""Shape checks for the held-out entity set, tests/nlu/entities.yml.

`make bench` scores country and province extraction on this file, so a value
that is not a current province name or an ISO code would count a right answer
as wrong. The set must also keep enough trap messages (no place at all) for the
precision figure to mean something.
"""

from __future__ import annotations

import os
import re

import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402

from bot.vietnamese.provinces import CURRENT_PROVINCES  # noqa: E402
from tests.nlu.test_heldout_set import ALL_FILES, HERE, _fold, _raw_examples, _topics  # noqa: E402

ENTITY_FILE = HERE / "entities.yml"
MIN_MESSAGES = 150
MIN_TRAPS = 40
_MARKUP = re.compile(r"\[([^\]]+)\]\{[^}]*\}")


def _examples():
    return load_data(str(ENTITY_FILE)).intent_examples


def test_entity_set_size_and_intents():
    examples = _examples()
    raw = yaml.safe_load(ENTITY_FILE.read_text(encoding="utf-8"))["nlu"]
    written = sum(1 for b in raw for line in b["examples"].splitlines() if line.startswith("- "))
    assert len(examples) == written >= MIN_MESSAGES
    assert {m.get("intent") for m in examples} <= set(_topics())
    traps = [m for m in examples if not m.get("entities")]
    assert len(traps) >= MIN_TRAPS


def test_entity_values_are_canonical():
    for message in _examples():
        for entity in message.get("entities", []):
            span = message.get("text")[entity["start"] : entity["end"]]
            assert entity["entity"] in {"country", "province"}, span
            if entity["entity"] == "province":
                assert entity["value"] in CURRENT_PROVINCES, (span, entity["value"])
            else:
                assert re.fullmatch(r"[A-Z]{2}", entity["value"]), (span, entity["value"])


def test_entity_messages_not_in_other_heldout_files():
    others = {_fold(text) for name in ALL_FILES for text in _raw_examples(name)}
    raw = yaml.safe_load(ENTITY_FILE.read_text(encoding="utf-8"))["nlu"]
    texts = [
        _MARKUP.sub(r"\1", line[2:])
        for block in raw
        for line in block["examples"].splitlines()
        if line.startswith("- ")
    ]
    folded = [_fold(t) for t in texts]
    assert len(set(folded)) == len(folded)
    assert not [t for t, f in zip(texts, folded, strict=True) if f in others]
