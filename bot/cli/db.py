"""`python -m bot db upgrade|current`: the schema of DATABASE_URL, through Alembic migrations.

`bot run` upgrades on start, so operators need this only to upgrade ahead of a deploy
or to see where a database stands. Neither command prints the URL (it may hold a password).
"""

from __future__ import annotations

import argparse

from bot import db


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "db",
        help="database schema: upgrade, current revision",
        description="Migrate the database in DATABASE_URL (default: var/bot.db). A database "
        "created by a version without migrations is adopted with its data.",
    )
    commands = parser.add_subparsers(dest="db_command", metavar="{upgrade,current}")
    upgrade = commands.add_parser("upgrade", help="apply every migration not yet applied")
    upgrade.set_defaults(func=upgrade_command)
    current = commands.add_parser("current", help="show the revision the database is at")
    current.set_defaults(func=current_command)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def upgrade_command(args: argparse.Namespace) -> int:
    engine = db.get_engine()
    before = db.current_revision(engine)
    db.upgrade(engine)
    after = db.current_revision(engine)
    print(f"Database at revision {after}" + ("" if before == after else f" (was {before or 'unversioned'})"))
    return 0


def current_command(args: argparse.Namespace) -> int:
    engine = db.get_engine()
    revision = db.current_revision(engine)
    head = db.head_revision()
    if revision is None:
        print(f"unversioned (run `python -m bot db upgrade` to reach {head})")
        return 1
    print(
        f"{revision}"
        + (" (head)" if revision == head else f" (head is {head}: run `python -m bot db upgrade`)")
    )
    return 0 if revision == head else 1
