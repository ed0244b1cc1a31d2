"""`python -m bot`: the command line for staff and operators.

python -m bot ask "câu hỏi"            the bot's answer to one message
python -m bot ask --jsonl < msgs.txt   one JSON object per input line
python -m bot run                      the assistant, its action server and channels
python -m bot db upgrade|current       the database schema (Alembic migrations)
python -m bot content check            validate the answer cards
python -m bot directory load|search    the consular/partner directory
python -m bot telegram setup|info      register the Telegram webhook and commands
python -m bot zalo refresh-token       renew the Zalo OA access token now
python -m bot staff                    the NGO staff console (add-user, list-users, ...)
python -m bot privacy purge            delete what is older than RETENTION_DAYS now
python -m bot retrain                  retrain, measure, publish live or refuse (as the console)

Each command group is one module in `bot/cli/`, named as the command is typed.
"""

from __future__ import annotations

import argparse
import sys

from bot.cli import ask, bench, chat, content, db, directory, privacy, retrain, run, staff, telegram, zalo
from bot.settings import SettingsError, get_settings

COMMAND_GROUPS = (ask, chat, run, bench, db, content, directory, privacy, staff, telegram, zalo, retrain)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Information point for Vietnamese migrant workers: command line.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        get_settings()  # a bad variable stops every command with one clear line
        return int(args.func(args) or 0)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
