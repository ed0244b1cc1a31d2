"""The backup and restore commands of docs/deploy.md, run for real on PostgreSQL.

A migrated database with a row in it is dumped by deploy/pg-backup.sh and restored by
deploy/pg-restore.sh into an empty database: the row and the schema revision must be there,
and the dump must be readable by its owner only.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import db
from tests.conftest import REPO_ROOT, require_postgres_url


def _database(admin: sa.engine.Engine, base: str) -> tuple[str, str]:
    name = f"bot_backup_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return name, base.rsplit("/", 1)[0] + "/" + name


def test_a_backup_restores_into_an_empty_database(tmp_path: Path):
    base = require_postgres_url()
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(
                "pg_dump/pg_restore missing (postgresql-client), and REQUIRE_SERVICES=1 forbids skipping"
            )
        pytest.skip("pg_dump/pg_restore missing (apt-get install postgresql-client)")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", future=True)
    names = []
    try:
        source_name, source = _database(admin, base)
        target_name, target = _database(admin, base)
        names = [source_name, target_name]
        engine = db.get_engine(source)
        db.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.insert(db.processed_updates).values(key="backup-check", created_at=sa.func.now()))
        engine.dispose()

        env = {
            **os.environ,
            "DATABASE_URL": source,
            "BACKUP_DIR": str(tmp_path / "backups"),
            "PYTHON": sys.executable,
        }
        env.pop("TRACKER_STORE_URL", None)
        backup = subprocess.run(
            [str(REPO_ROOT / "deploy" / "pg-backup.sh")], env=env, capture_output=True, text=True, check=False
        )
        assert backup.returncode == 0, backup.stderr
        dump = Path(backup.stdout.strip().splitlines()[-1])
        assert dump.exists() and stat.S_IMODE(dump.stat().st_mode) == 0o600

        restore = subprocess.run(
            [str(REPO_ROOT / "deploy" / "pg-restore.sh"), str(dump), target],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr
        assert "(head)" in restore.stdout
        restored = db.get_engine(target)
        with restored.connect() as conn:
            keys = conn.execute(sa.select(db.processed_updates.c.key)).scalars().all()
        restored.dispose()
        assert keys == ["backup-check"]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
