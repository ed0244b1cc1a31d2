"""`python -m bot content check`: validate the answer cards before they go live.

Prints one "content/vi/x.md:3: reason" line per problem and exits 1, or prints a
one-line summary and exits 0. Safe to run in CI and by NGO staff after an edit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.content.cards import LANGUAGES
from bot.content.checks import check_content, format_problems
from bot.content.topics import topic_ids


def _check(args: argparse.Namespace) -> int:
    root = Path(args.root)
    topics_file = Path(args.topics) if args.topics else root.parent / "topics.yml"
    problems = check_content(root, topics_file=topics_file)
    for line in format_problems(problems):
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) found.")
        return 1
    topics = len(topic_ids(topics_file))
    cards = sum(len(list((root / lang).glob("*.md"))) for lang in LANGUAGES)
    print(f"{topics} topics × {len(LANGUAGES)} languages OK ({cards} card files).")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `content` command group (`content check`)."""
    from bot.content.cards import DEFAULT_CONTENT_DIR

    content = subparsers.add_parser("content", help="Answer cards: check them before publishing.")
    commands = content.add_subparsers(dest="content_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="Validate every card and report problems as file:line: reason.",
        description=(
            "Check the answer cards: front matter (title, sources, last_reviewed), a card "
            "for every topic in both languages, follow-up buttons that lead somewhere, "
            "phone numbers listed in content/phone_numbers.yml and shown by their "
            "confidence (UNCONFIRMED never; LOW only when nothing better serves, marked "
            "unchecked, beside the MOFA hotline), the same figures and phone numbers in the "
            "Vietnamese and English versions, and card lengths. Exits 1 if anything is wrong."
        ),
    )
    check.add_argument(
        "--root", default=str(DEFAULT_CONTENT_DIR), help="content folder (default: %(default)s)"
    )
    check.add_argument("--topics", default=None, help="topics.yml (default: next to the content folder)")
    check.set_defaults(func=_check)
