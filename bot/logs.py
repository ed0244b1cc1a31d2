"""Logging that never carries what users write.

Rasa's debug logs include message text and sender ids. Our commands keep Rasa at WARNING,
send logs to stderr (stdout is for answers, e.g. `ask --jsonl`), and our own modules log
counts and kinds, never text, tokens or platform ids. `bot run` also keeps the libraries'
start-up deprecation noise off the terminal (`pass_stderr_quietly`).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import IO, Any

import structlog

from bot.settings import library_defaults

library_defaults()


def quiet_rasa_logging(level: int = logging.WARNING) -> None:
    """Rasa, TensorFlow and structlog at `level` or above, on stderr."""
    logging.basicConfig(stream=sys.stderr, level=level, format="%(levelname)s %(name)s: %(message)s")
    for name in ("rasa", "rasa_sdk", "tensorflow", "absl", "sanic", "apscheduler", "urllib3", "asyncio"):
        logging.getLogger(name).setLevel(level)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


# "path.py:12: SomeDeprecationWarning: message" (also SQLAlchemy's MovedIn20Warning).
_DEPRECATION = re.compile(r"^\S+:\d+: \w*(Deprecation|MovedIn20|RemovedIn20)Warning: ")


def pass_stderr_quietly(stream: IO[bytes] | None, out: IO[str], started: threading.Event) -> None:
    """Copy a child's stderr to `out`, dropping library deprecation warnings until `started`.

    The libraries under Rasa print dozens of them at every start (TensorFlow, SQLAlchemy 2.0
    notices, pkg_resources, pyparsing), and Sanic re-enables them after PYTHONWARNINGS has
    been read. Nobody running the bot can act on them, and they bury the banner. After the
    start everything passes, and errors always do. A warning is its header line, up to two
    unindented continuation lines, and the indented source line Python prints under it.
    """

    if stream is None:  # the child's stderr was not piped: nothing to filter
        return

    def pump() -> None:
        skipping = 0
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            if not started.is_set():
                if _DEPRECATION.match(line):
                    skipping = 3
                    continue
                if skipping:
                    skipping = 0 if line.startswith((" ", "\t")) else skipping - 1
                    continue
            out.write(line)
            out.flush()

    threading.Thread(target=pump, name="stderr-filter", daemon=True).start()


# --- redaction and JSON lines in the Rasa server (installed by `bot.ops` at start) ----------

# What must never reach a log line: pseudonyms (ours and the REST/web namespaces), the
# parameters SQLAlchemy prints with a failed statement (they hold sender ids), and values
# of the keys Rasa's structured events carry message text and ids in.
_PSEUDONYM = re.compile(r"\b(?:telegram|zalo|web|rest)-[A-Za-z0-9_-]{1,64}")
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "sender_id",
        "sender",
        "metadata",
        "message",
        "user_message",
        "parse_data_text",
        "tracker_latest_message",
        "rasa_events",
        "rasa_event",
        "slot_values",
        "json_message",
        "response_text",
        "user_text",
        "entity",
        "prefilled_slots",
    }
)
MAX_LOG_CHARS = 2000
REDACTED = "[redacted]"


def scrub(text: str) -> str:
    """A log text without pseudonyms or SQL parameters, and bounded in length."""
    text = _SQL_PARAMETERS.sub("[parameters: redacted]", text)
    text = _PSEUDONYM.sub(REDACTED, text)
    return text if len(text) <= MAX_LOG_CHARS else text[:MAX_LOG_CHARS] + " [truncated]"


class RedactingFilter(logging.Filter):
    """Rewrites every record (message, arguments, traceback) through `scrub`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = scrub(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def _scrub_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: sensitive keys redacted, frame locals dropped, strings scrubbed."""
    for key in list(event):
        if key in SENSITIVE_KEYS:
            event[key] = REDACTED
        elif isinstance(event[key], str):
            event[key] = scrub(event[key])
    if isinstance(event.get("exception"), list):  # dict tracebacks carry frame locals
        event["exception"] = REDACTED
    return event


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def install_redaction(json_lines: bool = False) -> None:
    """Redact every handler's records (and structlog's events); optionally as JSON lines.

    Filters sit on the handlers, not the loggers, so records of every library logger
    (Rasa, Sanic, SQLAlchemy) pass through them, whatever logger emitted them.
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        if json_lines:
            handler.setFormatter(JsonFormatter())
    processors = list(structlog.get_config().get("processors") or [])
    if _scrub_event not in processors:
        structlog.configure(processors=[_scrub_event, *processors])
