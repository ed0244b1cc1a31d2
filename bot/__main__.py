"""`python -m bot`: the command line for staff and operators.

python -m bot ask "câu hỏi"            the bot's answer to one message
python -m bot ask --jsonl < msgs.txt   one JSON object per input line
python -m bot run                      the assistant, its action server and channels
python -m bot db upgrade|current       the database schema (Alembic migrations)
python -m bot content check            validate the answer cards
python -m bot directory load|search    the consular/partner directory
python -m bot telegram setup           register the Telegram webhook and commands
python -m bot zalo refresh-token       renew the Zalo OA access token now
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bot.cli import ask as ask_cli
from bot.cli import bench as bench_cli
from bot.cli import chat as chat_cli
from bot.cli import db as db_cli
from bot.cli import run as run_cli
from bot.cli import zalo as zalo_cli
from bot.settings import SettingsError, get_settings

# Feature packages that add their own commands, when present.
_PLUGGABLE = ("bot.content.cli", "bot.directory.cli", "bot.channels.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Information point for Vietnamese migrant workers: command line.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for core in (ask_cli, chat_cli, run_cli, bench_cli, db_cli, zalo_cli):
        core.register(subparsers)
    for module_name in _PLUGGABLE:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(subparsers)
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
