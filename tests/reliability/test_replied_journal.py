"""The replied journal (`bot.channels.replied`): an update whose reply the platform accepted
is a duplicate for every process of the machine from the moment the line is written, even
when the process that wrote it was killed before its database row was committed."""

from __future__ import annotations

import datetime as _dt
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from bot.channels.replied import RepliedJournal, journal_for
from bot.channels.stores import Claim, DedupeUnavailable, SqlDedupeStore, build_dedupe_store
from bot.db import ensure_schema, get_engine, processed_updates
from bot.privacy import purge_channel_rows
from tests.channels import test_telegram
from tests.fakes.telegram import TELEGRAM_TOKEN, text_update
from tests.reliability.test_at_least_once import channel

LEASE = _dt.timedelta(seconds=60)
REPO_ROOT = Path(__file__).resolve().parents[2]


def engine_at(tmp_path: Path):  # noqa: ANN201 - SQLAlchemy's Engine
    return ensure_schema(get_engine(f"sqlite:///{tmp_path / 'bot.db'}"))


def rows(engine) -> set[str]:  # noqa: ANN001
    with engine.connect() as conn:
        return set(conn.execute(sa.select(processed_updates.c.key)).scalars())


def test_the_store_of_a_sqlite_file_keeps_its_journal_next_to_it(tmp_path):
    engine = engine_at(tmp_path)
    store = build_dedupe_store(engine, None, tmp_path / "var")
    assert isinstance(store, SqlDedupeStore) and store.journal is not None
    assert store.journal.path == tmp_path / "bot.db-replied"
    assert journal_for(get_engine("sqlite://"), tmp_path) is None  # in memory: nothing to share


async def test_a_process_killed_right_after_the_reply_leaves_the_update_done(tmp_path):
    """The window of issue 13: Telegram accepted the reply, the process died before the
    database row was written. Another process (a fresh store) must find the update done."""
    engine = engine_at(tmp_path)
    assert await SqlDedupeStore(engine).begin("telegram:1:30", LEASE) is Claim.NEW  # the dead turn's claim
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, pathlib\n"
            "from bot.channels.replied import RepliedJournal\n"
            f"RepliedJournal(pathlib.Path({str(tmp_path / 'bot.db-replied')!r})).append('telegram:1:30')\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=False,
    )
    assert killed.returncode == -9
    assert rows(engine) == set()  # the row never came
    restarted = build_dedupe_store(engine, None, tmp_path)
    assert await restarted.begin("telegram:1:30", LEASE) is Claim.DONE
    assert await restarted.begin("telegram:1:31", LEASE) is Claim.NEW
    assert stat.S_IMODE(os.stat(tmp_path / "bot.db-replied").st_mode) == 0o600


def test_the_journal_line_is_written_before_the_database_row(tmp_path):
    engine = engine_at(tmp_path)
    store = build_dedupe_store(engine, None, tmp_path)
    assert isinstance(store, SqlDedupeStore)

    def database_down(key: str) -> None:
        raise DedupeUnavailable("OperationalError")  # e.g. "database is locked"

    store._commit_done = database_down  # type: ignore[method-assign]
    assert store.finish_now("telegram:1:32") is False  # the webhook's `finish` tries again
    other_worker = build_dedupe_store(engine, None, tmp_path)
    assert other_worker.begin_sync("telegram:1:32", LEASE) is Claim.DONE


def test_each_process_reads_what_the_others_appended_since_it_last_looked(tmp_path):
    one, two = RepliedJournal(tmp_path / "j"), RepliedJournal(tmp_path / "j")
    assert one.append("telegram:1:1")
    assert two.contains("telegram:1:1") and not two.contains("telegram:1:2")
    assert one.append("telegram:1:2")
    assert two.contains("telegram:1:2")
    with open(tmp_path / "j", "ab") as half_written:  # a line still being written
        half_written.write(b"1.0 telegram:1:3")
    assert not two.contains("telegram:1:3")
    with open(tmp_path / "j", "ab") as rest:
        rest.write(b"\n")
    assert two.contains("telegram:1:3")
    assert not one.append("telegram:1:4 with a space") and not two.contains("telegram:1:4 with a space")


def test_rotation_moves_the_keys_to_the_database_and_drops_them_from_the_files(tmp_path):
    engine = engine_at(tmp_path)
    journal = RepliedJournal(tmp_path / "bot.db-replied", rotate_seconds=60)
    store = SqlDedupeStore(engine, journal=journal)
    journal.append("telegram:1:40")  # its process died before the row
    store.finish_sync("telegram:1:41")
    now = time.time()
    assert journal.contains("telegram:1:40")
    assert journal.rotate(store.record_done, now + 61)  # the journal becomes the previous file
    assert not (tmp_path / "bot.db-replied").exists() and journal.contains("telegram:1:40")
    assert rows(engine) == {"telegram:1:41"}  # copied only when the previous file is retired
    journal.append("telegram:1:42")
    journal.contains("telegram:1:42")
    assert journal.rotate(store.record_done, time.time() + 61)
    assert rows(engine) == {"telegram:1:40", "telegram:1:41"}
    assert not journal.contains("telegram:1:40") and store.begin_sync("telegram:1:40", LEASE) is Claim.DONE
    assert journal.contains("telegram:1:42")


def test_the_daily_purge_empties_the_journal_of_an_idle_machine(tmp_path, monkeypatch):
    engine = engine_at(tmp_path)
    journal = journal_for(engine, tmp_path)
    assert journal is not None
    journal.append("telegram:1:50")
    long_ago = time.time() - 3600
    os.utime(journal.path, (long_ago, long_ago))
    journal.rotate(lambda entries: None, time.time() + 3600)  # a rotation an hour later
    os.utime(journal.previous, (long_ago, long_ago))
    assert journal.previous.exists()
    purge_channel_rows(engine, _dt.datetime.utcnow(), 30)
    assert not journal.previous.exists() and not journal.path.exists()
    assert rows(engine) == {"telegram:1:50"}  # purged from the table after its 25 h


async def test_an_update_claimed_while_the_server_began_to_stop_is_given_back(
    serve, context, fake_telegram, stub_rasa
):
    """SIGTERM while the claim was being written: the drain may already be over, so no
    turn starts (it would be cut off mid-reply by the exit); the next process answers."""
    begin = context.dedupe.begin

    async def stop_meanwhile(key, lease):  # noqa: ANN001, ANN202
        claim = await begin(key, lease)
        context.stopping = True
        return claim

    context.dedupe.begin = stop_meanwhile
    base = await serve(channel(context, fake_telegram), stub_rasa)
    reply = await test_telegram.post(base, text_update(60, "hello", user_id=600))
    assert reply.status_code == 503
    assert stub_rasa.messages == [] and fake_telegram.sent_to(600) == []
    context.dedupe.begin = begin
    assert await begin(f"telegram:{TELEGRAM_TOKEN.split(':')[0]}:60", LEASE) is Claim.NEW  # given back
