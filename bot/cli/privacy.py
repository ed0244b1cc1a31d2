"""`python -m bot privacy purge`: delete now what is older than RETENTION_DAYS.

`bot run` does the same once a day; this is for operators (cron on a server without
`bot run`, or after lowering RETENTION_DAYS). It runs every purge in `bot.privacy`
(conversations, pseudonym maps, channel rows, and those other modules register), then
the "forget me" deletions still owed, and prints counts, never ids.
"""

from __future__ import annotations

import argparse

from bot.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "privacy",
        help="privacy: purge data older than RETENTION_DAYS",
        description="Delete conversations, pseudonym maps and other per-user rows older than "
        "RETENTION_DAYS (default 90), and finish 'forget me' deletions that failed.",
    )
    commands = parser.add_subparsers(dest="privacy_command", metavar="{purge}")
    purge = commands.add_parser("purge", help="purge now")
    purge.add_argument("--days", type=int, default=None, help="default: RETENTION_DAYS")
    purge.set_defaults(func=purge_command)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def purge_command(args: argparse.Namespace) -> int:
    from bot.privacy import purge_all

    settings = get_settings()
    days = args.days if args.days is not None else settings.retention_days
    if days < 1:
        print("error: --days must be at least 1")
        return 2
    counts = purge_all(settings.database_url, settings.tracker_store_url, days)
    print(f"Purged data older than {days} days:")
    for name, count in counts.items():
        print(f"  {name}: {count}")
    return 0
