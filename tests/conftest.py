"""Shared test fixtures: the services a test may need, and a quiet Rasa.

A test that needs PostgreSQL or Redis asks for it here. When the service is not reachable
the test is skipped with the reason, unless REQUIRE_SERVICES=1 (set by `.ci/run`), which
turns that skip into a failure so CI never passes by skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.fakes.rasa import StubRasa
from tests.fakes.telegram import TELEGRAM_TOKEN, FakeTelegram
from tests.fakes.zalo import ZALO_APP_ID, ZALO_APP_SECRET, FakeZalo

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=1):
            return True
    except OSError:
        return False


def _missing(service: str, url: str) -> None:
    reason = f"{service} not reachable at {url}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(reason)


def require_postgres_url() -> str:
    """The URL of a fresh PostgreSQL schema-less database for one test, or skip/fail."""
    if not _reachable(POSTGRES_URL):
        _missing("PostgreSQL", POSTGRES_URL)
    return POSTGRES_URL


def require_redis_url() -> str:
    if not _reachable(REDIS_URL):
        _missing("Redis", REDIS_URL)
    return REDIS_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a throw-away schema, dropped afterwards."""
    base = require_postgres_url()
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base, future=True)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def redis_url() -> str:
    """Redis for one test (skipped when unreachable unless REQUIRE_SERVICES=1)."""
    return require_redis_url()


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TELEGRAM_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_zalo() -> Iterator[FakeZalo]:
    fake = FakeZalo(ZALO_APP_ID, ZALO_APP_SECRET, "access-0", "refresh-0").start()
    yield fake
    fake.stop()


@pytest.fixture
def stub_rasa() -> StubRasa:
    return StubRasa()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test once against SQLite and once against PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")
