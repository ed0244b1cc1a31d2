"""`python -m bot directory load|search|bench`: the directory for staff and operators."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.directory.loader import DEFAULT_DATA_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "directory",
        help="load and check the consular/partner directory",
        description="The directory of Vietnamese missions and referral partners, loaded from "
        "the CSV files in data/directory/ into the database (DATABASE_URL, default "
        "sqlite:///var/bot.db).",
    )
    parser.set_defaults(func=lambda _args: (parser.print_help(), 2)[1])
    commands = parser.add_subparsers(dest="directory_command", metavar="SUBCOMMAND")

    load = commands.add_parser(
        "load",
        help="load data/directory/*.csv into the database",
        description="Check every file and load it in one transaction: a bad row stops the "
        "load with file:line: reason and the database keeps its previous data. Reports "
        "the rows added, changed and removed per table; loading unchanged files changes nothing.",
    )
    _database_option(load)
    load.add_argument(
        "--dir",
        type=Path,
        default=None,
        help=f"folder with countries.csv, offices.csv, partners.csv (default: $DIRECTORY_DIR or {DEFAULT_DATA_DIR})",
    )
    load.add_argument("--check", action="store_true", help="only check the files; do not touch the database")
    load.set_defaults(func=run_load)

    search = commands.add_parser(
        "search",
        help="show what the bot answers for a country or a need and place",
        description="Print the reply the bot would give. Consular contacts: --country "
        "(and --city). Referral partners: --need with --province or --country.",
    )
    _database_option(search)
    search.add_argument("--country", help="host country: ISO code (KR) or name (Hàn Quốc)")
    search.add_argument("--city", help="host-country city, e.g. Osaka")
    search.add_argument(
        "--need",
        help="one of: legal_aid, job_placement, training, counselling, "
        "shelter, loans, repatriation, trafficking_support, complaints, insurance_claims",
    )
    search.add_argument("--province", help="province of Viet Nam, old or new name, or 'nationwide'")
    search.add_argument("--page", type=int, default=1, help="result page (3 per page)")
    search.add_argument("--lang", choices=("vi", "en"), default="vi", help="reply language")
    search.set_defaults(func=run_search)

    bench = commands.add_parser(
        "bench",
        help="time the partner look-up at 10,000 synthetic rows",
        description="Fill a temporary SQLite database with synthetic partner rows (never "
        "shown to users) and print the median and p95 look-up time.",
    )
    bench.add_argument("--rows", type=int, default=10_000, help="synthetic partners (default: %(default)s)")
    bench.add_argument("--queries", type=int, default=200, help="timed look-ups (default: %(default)s)")
    bench.set_defaults(func=run_bench_command)


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", default=None, help="SQLAlchemy URL (default: $DATABASE_URL or sqlite:///var/bot.db)"
    )


def run_load(args: argparse.Namespace) -> int:
    from bot.directory.loader import LoadError, load_directory, read_directory

    if args.dir is None:  # the files the assistant and the staff console use
        from bot.settings import get_settings

        args.dir = get_settings().directory_dir
    try:
        if args.check:
            parsed = read_directory(args.dir)
            for name, count in parsed.rows_read.items():
                print(f"{name}: {count} rows OK")
            return 0
        load_directory(args.database_url, args.dir, progress=print)
    except LoadError as error:
        for line in error.errors:
            print(line, file=sys.stderr)
        print(f"{len(error.errors)} error(s); the database was not changed.", file=sys.stderr)
        return 1
    return 0


def run_search(args: argparse.Namespace) -> int:
    from bot.directory import db
    from bot.directory.lookups import (
        city_name,
        consular_lookup,
        country_code,
        need_key,
        partner_lookup,
        province_name,
    )

    url = db.database_url(args.database_url)
    country = country_code(args.country)
    if args.country and not country:
        print(f"unknown country: {args.country}", file=sys.stderr)
        return 2
    if args.need:
        need = need_key(args.need)
        province = province_name(args.province)
        if not need or (args.province and not province):
            print(f"unknown need or province: {args.need!r} {args.province!r}", file=sys.stderr)
            return 2
        if not province and not country:
            print("give --province (or 'nationwide') or --country with --need", file=sys.stderr)
            return 2
        reply = partner_lookup(url, args.lang, need, province, country, args.page)
    elif country:
        reply = consular_lookup(url, args.lang, country, city_name(args.city))
    else:
        print("give --country, or --need with --province/--country", file=sys.stderr)
        return 2
    print(reply.text)
    for button in reply.buttons:
        print(f"[{button['title']}] {button['payload']}")
    return 0


def run_bench_command(args: argparse.Namespace) -> int:
    from bot.directory.bench import run_bench

    for key, value in run_bench(rows=args.rows, queries=args.queries).items():
        print(f"{key}: {value}")
    return 0
