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
from typing import IO

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
