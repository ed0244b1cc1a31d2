"""Configuration: every variable typed, validated with a clear message, and documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import REPO_ROOT, Settings, SettingsError, get_settings, load_settings, variables


def test_defaults_run_a_fresh_clone_on_sqlite_files_under_var():
    settings = load_settings({})
    assert (settings.port, settings.actions_port) == (5005, 5055)
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'bot.db'}"
    assert settings.tracker_store_url.endswith("var/tracker.db")
    assert settings.enabled_channels() == []
    assert settings.content_dir == REPO_ROOT / "content"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PORT": "abc"}, "PORT must be a number, got 'abc'"),
        ({"ACTIONS_PORT": "70000"}, "ACTIONS_PORT must be at most 65535, got '70000'"),
        (
            {"ZALO_SIGNATURE_WINDOW_SECONDS": "soon"},
            "ZALO_SIGNATURE_WINDOW_SECONDS must be a number, got 'soon'",
        ),
        ({"DATABASE_URL": "bot.db"}, "DATABASE_URL: must be a URL"),
        ({"TELEGRAM_TOKEN": "1:abc"}, "TELEGRAM_TOKEN set but TELEGRAM_SECRET_TOKEN missing"),
    ],
)
def test_a_bad_value_gets_one_clear_line(env, message):
    with pytest.raises(SettingsError) as error:
        load_settings(env)
    assert message in str(error.value)


def test_secrets_never_appear_in_a_repr_or_an_error():
    settings = load_settings(
        {"SENDER_ID_SECRET": "hmac-key-123", "TELEGRAM_TOKEN": "1:tok", "TELEGRAM_SECRET_TOKEN": "s"}
    )
    assert "hmac-key-123" not in repr(settings) and "1:tok" not in repr(settings)
    assert settings.sender_secret == "hmac-key-123"


def test_the_heroku_style_postgres_scheme_is_accepted():
    settings = load_settings({"DATABASE_URL": "postgres://u@h/db", "TRACKER_STORE_URL": "postgres://u@h/t"})
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.tracker_store_url == "postgresql://u@h/t"


def test_empty_means_unset():
    assert load_settings({"PORT": "", "REDIS_URL": ""}).port == 5005


def test_get_settings_follows_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "6001")
    assert get_settings().port == 6001
    monkeypatch.setenv("PORT", "6002")
    assert get_settings().port == 6002


def test_tests_can_build_their_own_settings():
    assert Settings(port=1234).port == 1234


def test_the_command_line_reports_a_bad_variable_without_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "PORT": "abc", "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "error: PORT must be a number, got 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def _readme_variables() -> list[str]:
    readme = (Path(REPO_ROOT) / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    return names


def test_the_readme_configuration_table_lists_exactly_the_settings():
    documented = _readme_variables()
    declared = [name for name, _, _, _ in variables()]
    assert sorted(set(declared) - set(documented)) == [], "variables missing from the README table"
    assert sorted(set(documented) - set(declared)) == [], "README rows for variables that do not exist"
    assert len(documented) == len(set(documented)), "a variable is documented twice"


def test_no_module_but_settings_reads_the_environment():
    import ast

    readers = []
    for path in sorted([*(REPO_ROOT / "bot").rglob("*.py"), *(REPO_ROOT / "actions").rglob("*.py")]):
        if path == REPO_ROOT / "bot" / "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
                readers.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert readers == [], "read configuration through bot.settings instead"


def test_get_settings_sees_every_change_to_the_environment_at_once(monkeypatch):
    """The quick check (CPython's dict behind os.environ) must notice a set, a change and a
    removal of a variable, as the plain reading does."""
    import os

    from bot.settings import _ENCODED_NAMES, get_settings, load_settings

    if os.name == "posix":
        assert _ENCODED_NAMES is not None and isinstance(getattr(os.environ, "_data", None), dict)
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("RETENTION_DAYS", "30")
    assert get_settings().retention_days == 30 == load_settings().retention_days
    monkeypatch.setenv("RETENTION_DAYS", "31")
    assert get_settings().retention_days == 31
    monkeypatch.delenv("RETENTION_DAYS")
    assert get_settings().retention_days == first.retention_days
