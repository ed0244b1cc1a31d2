"""Training examples added by NGO staff (the console's Understanding page): where they go and
what they would collide with.

The hand-written files in data/nlu/ (one per topic group: return.yml, insurance.yml, ...)
carry comments and an order that developers curate, so the console never rewrites them:
an example added in the console goes to `data/nlu/console/<group>.yml`, one file per
topic group (the group from topics.yml), which Rasa reads with the rest of data/nlu
(it walks the directory). Developers see the additions in git, next to the files they
extend, and can move them into the hand-written file when they like.

Each write is atomic (a temporary file in the same directory, then `os.replace`), so a
`rasa train` that starts while staff add an example reads the old file or the new one,
never half of one. Writes in this process are serialised by a lock.

Before an example is added, `check_example` compares its folded text (case, diacritics,
punctuation and spacing removed: `bot.bench.fold_key`, the same key the bench uses for
leaks) with every training example and with the held-out messages:
- the same folded text under another topic: a warning (the console asks to confirm;
  `rasa data validate` would flag the pair too);
- already an example of the same topic: nothing to add;
- a held-out message: refused, since training on it would make the held-out figures
  that decide whether a model is published measure memory instead of understanding.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONSOLE_DIR_NAME = "console"
MAX_EXAMPLE_CHARS = 300
_WRITE_LOCK = threading.Lock()
_ANNOTATION = re.compile(r"\]\s*[({]")


class ExampleError(ValueError):
    """An example that cannot be added; the message is a fixed msgid (staff catalog)."""


@dataclass(frozen=True)
class ExampleCheck:
    text: str
    topic: str
    other_topics: tuple[str, ...] = ()  # topics that already have this folded text
    already_there: bool = False  # this topic already has it
    held_out: bool = False  # the folded text is a held-out message


@dataclass
class TrainingIndex:
    """Folded text -> the intents that have it, over a training data directory."""

    intents_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    held_out: set[str] = field(default_factory=set)


def clean_text(text: str) -> str:
    """One line, trimmed, spaces collapsed; ExampleError when empty or too long."""
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise ExampleError("Write the example first.")
    if len(cleaned) > MAX_EXAMPLE_CHARS:
        raise ExampleError("An example is one question: at most 300 characters.")
    if _ANNOTATION.search(cleaned):  # Rasa would read "[x](y)" as an entity annotation
        raise ExampleError(
            "Remove the brackets: ']' followed by '(' or '{' marks an entity in training data."
        )
    return cleaned


def _examples_in(path: Path) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples if m.get("text")]


def build_index(nlu_dir: Path, held_out_dir: Path | None = None) -> TrainingIndex:
    from bot.bench import fold_key

    index = TrainingIndex()
    if nlu_dir.exists():
        for text, intent in _examples_in(nlu_dir):
            index.intents_of[fold_key(text)].add(intent)
    if held_out_dir is not None and held_out_dir.exists():
        for path in sorted(held_out_dir.glob("*.yml")):
            index.held_out |= {fold_key(text) for text, _ in _examples_in(path)}
    return index


def check_example(index: TrainingIndex, topic: str, text: str) -> ExampleCheck:
    from bot.bench import fold_key

    text = clean_text(text)
    key = fold_key(text)
    if not key:
        raise ExampleError("Write the example first.")
    intents = index.intents_of.get(key, set())
    return ExampleCheck(
        text=text,
        topic=topic,
        other_topics=tuple(sorted(intents - {topic})),
        already_there=topic in intents,
        held_out=key in index.held_out,
    )


def console_file(nlu_dir: Path, group: str) -> Path:
    """data/nlu/console/<group>.yml: where the console's examples of a topic group go."""
    safe = "".join(c for c in group if c.isalnum() or c in "_-") or "other"
    return nlu_dir / CONSOLE_DIR_NAME / f"{safe}.yml"


_HEADER = (
    "# Training examples added by NGO staff in the staff console (Understanding), one file per\n"
    "# topic group. Written by bot/nlu/training_data.py: edits here are kept, comments are not.\n"
)


def _read_examples(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, list[str]] = {}
    for block in data.get("nlu") or []:
        intent = block.get("intent")
        if not intent:
            continue
        lines = str(block.get("examples") or "").splitlines()
        out.setdefault(intent, []).extend(
            line.strip()[2:].strip() for line in lines if line.strip().startswith("- ")
        )
    return out


def _dump(examples: dict[str, list[str]]) -> str:
    """Rasa's YAML training format, written by hand: examples as a literal block."""
    lines = [_HEADER.rstrip("\n"), 'version: "3.1"', "nlu:"]
    for intent in sorted(examples):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines += [f"    - {text}" for text in examples[intent]]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_example(nlu_dir: Path, group: str, topic: str, text: str) -> Path:
    """Append `text` to `topic` in the group's console file (atomic); the file written."""
    text = clean_text(text)
    path = console_file(nlu_dir, group)
    with _WRITE_LOCK:
        examples = _read_examples(path)
        current = examples.setdefault(topic, [])
        if text not in current:
            current.append(text)
        write_atomically(path, _dump(examples))
    return path
