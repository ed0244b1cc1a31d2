"""`python -m bot content export|import` from the command line, and every string the card
and verification pages show in both staff catalogs."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import content as content_cli
from bot.content import revisions, verification
from bot.i18n import _catalog
from bot.staff import cards as card_pages
from bot.staff import verification as verification_pages

CARD = "deposit_refund"


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bot")
    content_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_export_and_import_from_the_command_line(
    root: Path,
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    folder = tmp_path / "git"
    assert _cli(["content", "export", "--root", str(root), "--to", str(folder)]) == 0
    assert "card(s) exported" in capsys.readouterr().out
    card = folder / "en" / f"{CARD}.md"
    card.write_text(
        card.read_text(encoding="utf-8").replace("deposit", "deposit (bond)", 1), encoding="utf-8"
    )
    assert _cli(["content", "import", "--root", str(root), "--from", str(folder), "--as", "lan"]) == 0
    out = capsys.readouterr().out
    assert f"{CARD}: imported, live" in out and "1 imported" in out
    assert "deposit (bond)" in (root / "en" / f"{CARD}.md").read_text(encoding="utf-8")
    # Importing the same folder again changes nothing; a stale copy is refused (exit 1).
    assert _cli(["content", "import", "--root", str(root), "--from", str(folder)]) == 0
    stale = tmp_path / "stale"
    assert _cli(["content", "export", "--root", str(root), "--to", str(stale)]) == 0
    (root / "en" / f"{CARD}.md").write_text(
        (root / "en" / f"{CARD}.md").read_text(encoding="utf-8").replace("(bond)", "(security bond)"),
        encoding="utf-8",
    )
    card = stale / "en" / f"{CARD}.md"
    card.write_text(card.read_text(encoding="utf-8").replace("(bond)", "(guarantee)"), encoding="utf-8")
    capsys.readouterr()
    assert _cli(["content", "import", "--root", str(root), "--from", str(stale)]) == 1
    assert f"{CARD}: REFUSED: the console's live revision" in capsys.readouterr().out


def _msgids() -> set[str]:
    found: set[str] = set()
    for module in (revisions, verification):
        found.update(
            value
            for name, value in vars(module).items()
            if name.isupper() and isinstance(value, str) and value[:1].isupper() and " " in value
        )
    found.update(card_pages.STATUS_LABELS.values())
    found.update(verification_pages.KIND_LABELS.values())
    found.update({card_pages.NO_CARD, "Other cards"})
    from bot.staff.app import NOTICES

    found.update(NOTICES.values())
    return found


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_card_page_string_is_in_both_staff_catalogs(lang: str) -> None:
    msgids = _msgids()
    assert revisions.REVIEW_OWN in msgids and verification.BAD_DATE in msgids
    missing = sorted(m for m in msgids if m not in _catalog(lang, "staff"))
    assert missing == [], f"missing from {lang}/staff.po"
