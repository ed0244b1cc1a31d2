"""Logging that never carries what users write.

Rasa's debug logs include message text and sender ids. Our commands keep Rasa at WARNING,
send logs to stderr (stdout is for answers, e.g. `ask --jsonl`), and our own modules log
counts and kinds, never text, tokens or platform ids.
"""

from __future__ import annotations

import logging
import sys

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
