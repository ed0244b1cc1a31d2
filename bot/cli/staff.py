"""`python -m bot staff [serve|add-user|list-users|set-role|disable|reset-password]`: the
NGO staff console and its accounts.

Without a subcommand it serves the console on STAFF_HOST:STAFF_PORT. Account commands are
for whoever runs the server (the first admin is created here); each is written to the
audit log as done by "cli". A one-time password is printed once, to this terminal only.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.engine import Engine

from bot.staff.roles import ROLES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "staff",
        help="the NGO staff console (inbox, unanswered queue) and its accounts",
        description="Serve the staff console on STAFF_HOST:STAFF_PORT (default 127.0.0.1:5080), "
        "or manage its accounts. Roles, least to most: " + ", ".join(ROLES) + ".",
    )
    parser.set_defaults(func=serve)
    commands = parser.add_subparsers(dest="staff_command", metavar="COMMAND")

    serve_parser = commands.add_parser("serve", help="serve the console (the default)")
    serve_parser.set_defaults(func=serve)

    add = commands.add_parser(
        "add-user",
        help="create an account and print its one-time password",
        description="The password is shown once; the person must change it at first login.",
    )
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=ROLES)
    add.set_defaults(func=add_user)

    listing = commands.add_parser("list-users", help="every account with its role and state")
    listing.set_defaults(func=list_users)

    role = commands.add_parser("set-role", help="change an account's role")
    role.add_argument("email")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(func=set_role)

    disable = commands.add_parser("disable", help="disable an account (its sessions end at once)")
    disable.add_argument("email")
    disable.add_argument("--enable", action="store_true", help="enable it again instead")
    disable.set_defaults(func=disable_user)

    reset = commands.add_parser(
        "reset-password", help="a new one-time password for an account (its sessions end)"
    )
    reset.add_argument("email")
    reset.set_defaults(func=reset_password)


def _engine() -> Engine:
    from bot.staff.server import console_engine

    return console_engine()


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def serve(args: argparse.Namespace) -> int:
    """The console alone, in this process (`bot run` serves it from a thread of its own
    process instead: `bot.staff.server.start_in_thread`)."""
    from bot.settings import get_settings
    from bot.staff.server import serve_forever

    settings = get_settings()
    print(f"Staff console: http://{settings.staff_host}:{settings.staff_port}/", flush=True)
    serve_forever(settings)
    return 0


def add_user(args: argparse.Namespace) -> int:
    from bot.staff import accounts, audit

    engine = _engine()
    try:
        user, password = accounts.create_user(engine, args.email, args.role)
    except accounts.AccountError as error:
        return _fail(str(error))
    audit.record(engine, "cli", "user.create", f"{user.email} as {user.role}")
    print(f"Account {user.email} ({user.role}) created.")
    print(f"One-time password: {password}")
    print("Give it to the person privately; it must be changed at first login.")
    return 0


def list_users(args: argparse.Namespace) -> int:
    from bot.staff import accounts

    users = accounts.list_users(_engine())
    if not users:
        print("No accounts yet: python -m bot staff add-user EMAIL --role admin")
        return 0
    for user in users:
        state = (
            "disabled"
            if user.disabled
            else ("must change password" if user.must_change_password else "active")
        )
        print(f"{user.email}\t{user.role}\t{state}")
    return 0


def set_role(args: argparse.Namespace) -> int:
    from bot.staff import accounts, audit

    engine = _engine()
    try:
        user = accounts.set_role(engine, args.email, args.role)
    except accounts.AccountError as error:
        return _fail(str(error))
    audit.record(engine, "cli", "user.role", f"{user.email} -> {user.role}")
    print(f"{user.email} is now {user.role}.")
    return 0


def disable_user(args: argparse.Namespace) -> int:
    from bot.staff import accounts, audit

    engine = _engine()
    try:
        user = accounts.set_disabled(engine, args.email, not args.enable)
    except accounts.AccountError as error:
        return _fail(str(error))
    audit.record(engine, "cli", "user.disable" if user.disabled else "user.enable", user.email)
    print(f"{user.email} is {'disabled' if user.disabled else 'enabled'}.")
    return 0


def reset_password(args: argparse.Namespace) -> int:
    from bot.staff import accounts, audit

    engine = _engine()
    try:
        password = accounts.reset_password(engine, args.email)
    except accounts.AccountError as error:
        return _fail(str(error))
    audit.record(engine, "cli", "user.reset_password", accounts.normalize_email(args.email))
    print(f"One-time password: {password}")
    print("Give it to the person privately; it must be changed at first login.")
    return 0
