"""A private copy of the real content (cards, allow-list, topics) and a migrated database,
so the revision tests publish into files no other test reads."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot import db

REPO_ROOT = Path(__file__).resolve().parents[2]


def copy_content(tmp: Path) -> Path:
    shutil.copytree(REPO_ROOT / "content", tmp / "content")
    shutil.copy(REPO_ROOT / "topics.yml", tmp / "topics.yml")
    return tmp / "content"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_content(tmp_path)


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = db.get_engine(sqlite_url)
    db.upgrade(engine)
    yield engine
    db.dispose_engines()
