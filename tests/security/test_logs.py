"""No message text, pseudonym or SQL parameter reaches a log line, whoever logs it."""

from __future__ import annotations

import io
import json
import logging

import sqlalchemy as sa
import structlog

from bot.logs import JsonFormatter, RedactingFilter, _scrub_event, install_redaction, scrub

PSEUDONYM = "telegram-6b1a7e8a0c1d2e3f4a5b6c7d8e9f0a1b"


def _handler(stream: io.StringIO, formatter: logging.Formatter | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    if formatter:
        handler.setFormatter(formatter)
    return handler


def test_a_tracker_store_error_logs_no_pseudonym_or_sql_parameters():
    stream = io.StringIO()
    logger = logging.getLogger("rasa.core.tracker_store.test")
    logger.addHandler(_handler(stream))
    engine = sa.create_engine("sqlite://", future=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT * FROM missing WHERE sender_id = :s"), {"s": PSEUDONYM})
    except sa.exc.OperationalError as error:
        logger.error("Error happened when trying to save conversation tracker: %s", error, exc_info=True)
    finally:
        logger.handlers.clear()
    logged = stream.getvalue()
    assert "Error happened" in logged and "no such table" in logged
    assert PSEUDONYM not in logged and "6b1a7e8a" not in logged


def test_rest_and_web_sender_ids_and_long_texts_are_scrubbed():
    assert "rest-victim42" not in scrub("for rest-victim42 and web-abcdef12")
    assert "web-abcdef12" not in scrub("for rest-victim42 and web-abcdef12")
    assert len(scrub("passport " * 40_000)) < 2100


def test_structlog_events_lose_text_sender_and_frame_locals():
    event = {
        "event": "rest.message.received.timeout",
        "text": "tôi tên Nguyễn Văn QX7",
        "sender_id": PSEUDONYM,
        "exception": [{"frames": [{"locals": {"text": "QX7"}}]}],
    }
    cleaned = _scrub_event(None, "error", dict(event))
    assert "QX7" not in json.dumps(cleaned, ensure_ascii=False) and PSEUDONYM not in json.dumps(cleaned)
    assert cleaned["event"] == "rest.message.received.timeout"


def test_install_redaction_covers_the_root_handlers_and_structlog(monkeypatch):
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    saved = structlog.get_config()
    try:
        install_redaction(json_lines=True)
        logging.getLogger("rasa.core.channels.rest").error("failed for %s", PSEUDONYM)
        line = json.loads(stream.getvalue().strip().splitlines()[-1])
        assert line["level"] == "ERROR" and line["logger"] == "rasa.core.channels.rest"
        assert PSEUDONYM not in line["message"]
        assert structlog.get_config()["processors"][0] is _scrub_event
    finally:
        root.removeHandler(handler)
        structlog.configure(**saved)


def test_json_formatter_writes_one_object_per_line():
    record = logging.LogRecord("bot.x", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    assert json.loads(JsonFormatter().format(record))["message"] == "hello world"
