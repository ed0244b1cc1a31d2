"""Fixtures for the directory tests: a copy of the seed data and a loaded database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.directory import db
from bot.directory.loader import DEFAULT_DATA_DIR, load_directory


@pytest.fixture
def db_url(database_url: str) -> Iterator[str]:
    """`database_url` (SQLite, then PostgreSQL), with the pooled connections closed
    before the PostgreSQL fixture drops its schema."""
    yield database_url
    db.dispose_engines()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of data/directory/ that a test may edit."""
    target = tmp_path / "directory-data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


@pytest.fixture
def loaded_url(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The seed data loaded into the database, and DATABASE_URL pointing there."""
    load_directory(db_url, DEFAULT_DATA_DIR)
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url
