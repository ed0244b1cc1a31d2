"""`python -m bot privacy purge`: delete what is kept past RETENTION_DAYS.

Feedback votes and unanswered-queue items are deleted after RETENTION_DAYS (default 90):
an NGO runs this daily (cron, a scheduled job). It prints only counts, never text.
"""

from __future__ import annotations

import argparse
import datetime as _dt

from bot import db, feedback
from bot.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "privacy",
        help="data retention: purge what is older than RETENTION_DAYS",
        description="Delete feedback votes and unanswered-queue items older than RETENTION_DAYS "
        "(default 90) from DATABASE_URL.",
    )
    commands = parser.add_subparsers(dest="privacy_command", metavar="{purge}")
    purge = commands.add_parser("purge", help="delete rows older than RETENTION_DAYS")
    purge.add_argument("--days", type=int, default=None, help="keep this many days instead of RETENTION_DAYS")
    purge.set_defaults(func=purge_command)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def purge_command(args: argparse.Namespace) -> int:
    days = args.days if args.days is not None else get_settings().retention_days
    if days < 1:
        print("error: --days must be at least 1")
        return 2
    deleted = feedback.purge(db.get_engine(), _dt.datetime.now(_dt.timezone.utc), days)
    print(f"Deleted {deleted} feedback and queue rows older than {days} days.")
    return 0
