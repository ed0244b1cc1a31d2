"""The topic list (`topics.yml` at the repository root): ids and their groups.

Topic ids are a contract shared by the NLU intents, the answer card file names and the
button payloads, so the content package reads them from the one file rather than
keeping its own copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.content.cards import REPO_ROOT

DEFAULT_TOPICS_FILE = REPO_ROOT / "topics.yml"


@dataclass(frozen=True)
class Topic:
    id: str
    group: str
    covers: str = ""
    lookup: str | None = None


def _topics_file(path: Path | None) -> Path:
    from bot.settings import get_settings

    return Path(path or get_settings().topics_file)


@lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int) -> tuple[tuple[Topic, ...], tuple[tuple[str, str], ...]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    topics = tuple(
        Topic(
            id=str(item["id"]),
            group=str(item.get("group", "")),
            covers=str(item.get("covers", "") or "").strip(),
            lookup=item.get("lookup"),
        )
        for item in data.get("topics") or []
    )
    groups = tuple((str(k), str(v)) for k, v in (data.get("groups") or {}).items())
    return topics, groups


def load_topics(path: Path | None = None) -> list[Topic]:
    """All topics in file order (re-read when the file changes)."""
    file = _topics_file(path)
    return list(_read(str(file), file.stat().st_mtime_ns)[0])


def topic_ids(path: Path | None = None) -> list[str]:
    """The topic ids, in file order."""
    return [topic.id for topic in load_topics(path)]


def topic_groups(path: Path | None = None) -> dict[str, list[str]]:
    """Group id -> topic ids in that group, groups in file order."""
    file = _topics_file(path)
    topics, groups = _read(str(file), file.stat().st_mtime_ns)
    result: dict[str, list[str]] = {group: [] for group, _ in groups}
    for topic in topics:
        result.setdefault(topic.group, []).append(topic.id)
    return result


def group_labels(path: Path | None = None) -> dict[str, str]:
    """Group id -> its English label from topics.yml."""
    file = _topics_file(path)
    return dict(_read(str(file), file.stat().st_mtime_ns)[1])
