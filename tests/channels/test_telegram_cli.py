"""`python -m bot telegram setup` against the fake Bot API."""

from __future__ import annotations

import argparse

import pytest

from bot.cli import telegram as cli
from tests.fakes.telegram import TELEGRAM_SECRET, TELEGRAM_TOKEN


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot")
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.fixture
def env(fake_telegram):
    return {
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": fake_telegram.api_base_url,
    }


def test_setup_sets_the_webhook_with_secret_and_the_commands_in_both_languages(fake_telegram, env, capsys):
    args = parse("telegram", "setup", "--url", "https://bot.example.org/")
    assert args.func(args, env) == 0
    webhook = fake_telegram.calls_of("setWebhook")[0].params
    assert webhook["url"] == "https://bot.example.org/webhooks/telegram/webhook"
    assert webhook["secret_token"] == TELEGRAM_SECRET
    assert webhook["allowed_updates"] == ["message", "callback_query"]
    menus = {
        c.params.get("language_code"): c.params["commands"] for c in fake_telegram.calls_of("setMyCommands")
    }
    assert set(menus) == {"vi", "en", None}
    names = [c["command"] for c in menus["en"]]
    assert names == ["start", "menu", "help", "language", "privacy", "forget", "human", "reminders"]
    assert menus["vi"][0]["description"] == "Bắt đầu và xem menu chính"
    assert menus["en"][0]["description"] == "Start and show the main menu"
    assert menus[None] == menus["vi"]
    out = capsys.readouterr()
    assert TELEGRAM_TOKEN not in out.out + out.err


def test_setup_keeps_a_full_webhook_url_and_can_drop_pending_updates(fake_telegram, env):
    args = parse(
        "telegram", "setup", "--url", "https://x.org/webhooks/telegram/webhook", "--drop-pending-updates"
    )
    assert args.func(args, env) == 0
    params = fake_telegram.calls_of("setWebhook")[0].params
    assert params["url"] == "https://x.org/webhooks/telegram/webhook"
    assert params["drop_pending_updates"] in (True, "true", "True")


@pytest.mark.parametrize(
    "argv, env_patch",
    [
        (("--url", "http://insecure.example.org"), {}),
        ((), {}),
        (("--url", "https://x.org"), {"TELEGRAM_SECRET_TOKEN": ""}),
        (("--url", "https://x.org"), {"TELEGRAM_TOKEN": ""}),
    ],
)
def test_setup_refuses_without_what_telegram_needs(fake_telegram, env, argv, env_patch, capsys):
    args = parse("telegram", "setup", *argv)
    assert args.func(args, {**env, **env_patch}) == 2
    assert fake_telegram.calls_of("setWebhook") == []
    assert capsys.readouterr().err


def test_setup_reports_a_refusal_without_the_token(fake_telegram, env, capsys):
    fake_telegram.fail_next(
        "setWebhook", 400, {"ok": False, "error_code": 400, "description": "Bad Request: bad webhook"}
    )
    args = parse("telegram", "setup", "--url", "https://x.org")
    assert args.func(args, env) == 1
    err = capsys.readouterr().err
    assert "bad webhook" in err.lower() and TELEGRAM_TOKEN not in err


def test_info_prints_the_webhook(fake_telegram, env, capsys):
    parse_setup = parse("telegram", "setup", "--url", "https://x.org")
    parse_setup.func(parse_setup, env)
    args = parse("telegram", "info")
    assert args.func(args, env) == 0
    assert "url: https://x.org/webhooks/telegram/webhook" in capsys.readouterr().out


def test_help_describes_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse("telegram", "setup", "--help")
    assert exit_info.value.code == 0
    assert "--url" in capsys.readouterr().out
    bare = parse("telegram")
    assert bare.func(bare) == 2
