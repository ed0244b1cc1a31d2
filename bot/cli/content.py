"""`python -m bot content check | export | import`: the answer cards from a terminal.

`check` prints one "content/vi/x.md:3: reason" line per problem and exits 1, or prints a
one-line summary and exits 0. Safe to run in CI and by NGO staff after an edit.

`export` and `import` keep a git workflow possible beside the staff console (the rules
are `bot.content.revisions`): export the live cards to a folder kept in git, edit and
review there, import; a card changed in the console since that export is refused with
the reason, and a card that fails a check does not go live.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.engine import Engine

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


def _engine() -> Engine:
    from bot import db
    from bot.settings import get_settings

    return db.ensure_schema(db.get_engine(get_settings().database_url))


def _root(args: argparse.Namespace) -> Path:
    from bot.settings import get_settings

    return Path(args.root) if args.root else Path(get_settings().content_dir)


def _export(args: argparse.Namespace) -> int:
    from bot.content.revisions import MANIFEST, export

    target = Path(args.to)
    exported = export(_engine(), _root(args), target)
    print(f"{len(exported)} card(s) exported to {target} ({MANIFEST} records their revisions).")
    return 0


def _import(args: argparse.Namespace) -> int:
    from bot.content.revisions import import_cards

    report = import_cards(_engine(), _root(args), Path(args.source), who=args.who)
    for card_id in report.applied:
        print(f"{card_id}: imported, live")
    for card_id, reason in report.refused:
        print(f"{card_id}: REFUSED: {reason}")
    print(f"{len(report.applied)} imported, {report.unchanged} unchanged, {len(report.refused)} refused.")
    return 1 if report.refused else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `content` command group (`content check`)."""
    from bot.content.cards import DEFAULT_CONTENT_DIR

    content = subparsers.add_parser("content", help="Answer cards: check, export, import.")
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

    export = commands.add_parser(
        "export",
        help="Write the live cards and the revision manifest to a folder kept in git.",
        description=(
            "Write every live answer card (both languages) and content/phone_numbers.yml to "
            "--to, with console_revisions.yml saying which console revision each card is. "
            "Commit that folder; after editing it, `content import` publishes the changes."
        ),
    )
    export.add_argument("--root", default=None, help="content folder (default: CONTENT_DIR)")
    export.add_argument("--to", required=True, help="the folder to write (created if missing)")
    export.set_defaults(func=_export)

    imported = commands.add_parser(
        "import",
        help="Publish the cards changed in an exported folder (refuses conflicts and failed checks).",
        description=(
            "Publish every card in --from that differs from the live one, as a new revision "
            "in the console's history. A card is refused, with the reason, when the console "
            "has a newer revision than the one exported (or one waiting for review), or when "
            "a content check fails. Exits 1 if any card was refused."
        ),
    )
    imported.add_argument("--root", default=None, help="content folder (default: CONTENT_DIR)")
    imported.add_argument("--from", dest="source", required=True, help="the exported folder")
    imported.add_argument(
        "--as", dest="who", default="import", help="name for the audit log (default: %(default)s)"
    )
    imported.set_defaults(func=_import)
