"""`python -m bot directory ...`, the benchmark, and the Vietnamese catalog."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.__main__ import main
from bot.directory.bench import run_bench

REPO = Path(__file__).resolve().parents[2]


def test_load_then_search_prints_the_reply(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["directory", "load", "--database-url", db_url]) == 0
    out = capsys.readouterr().out
    assert "partners: " in out and "total changes: " in out

    assert (
        main(
            [
                "directory",
                "search",
                "--database-url",
                db_url,
                "--need",
                "legal_aid",
                "--province",
                "Hà Tĩnh",
                "--lang",
                "en",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert 'Help with "Legal aid" for Hà Tĩnh' in out and "cdivietnam.org" in out

    assert main(["directory", "search", "--database-url", db_url, "--country", "han quoc"]) == 0
    assert "+82 10-6315-6618" in capsys.readouterr().out


def test_load_with_bad_row_exits_1_and_names_the_line(
    db_url: str, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = data_dir / "offices.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",embassy,", ",palace,", 1), encoding="utf-8")
    assert main(["directory", "load", "--database-url", db_url, "--dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "offices.csv:2: kind 'palace' must be one of" in err
    assert "the database was not changed" in err


def test_bench_reports_median_and_p95() -> None:
    figures = run_bench(rows=300, queries=20)
    assert figures["partner rows"] == 300
    assert 0 < figures["median ms"] <= figures["p95 ms"]
    assert figures["results per look-up (mean)"] > 0


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in (
        REPO / "bot/directory/render.py",
        REPO / "bot/directory/lookups.py",
        REPO / "actions/lookup.py",
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and len(node.args) >= 2:
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                arg = node.args[1]
                if name in ("_", "gettext") and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def test_every_ui_string_has_a_vietnamese_translation() -> None:
    with (REPO / "bot/i18n/locale/vi/LC_MESSAGES/directory.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi", domain="directory")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    used = _msgids()
    assert len(used) > 20
    assert used <= translated, sorted(used - translated)
