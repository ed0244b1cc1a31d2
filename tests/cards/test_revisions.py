"""The revision workflow without a browser: draft -> review -> live, the four-eyes rule,
the checks blocking publication, atomic writes the library sees at once, restore, the
audit diff, and export/import with its conflict refusal."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from bot.content import revisions
from bot.content.cards import ContentLibrary
from bot.staff import audit

CARD = "deposit_refund"
OLD = "Tiền ký quỹ nằm trong tài khoản"
NEW = "Tiền ký quỹ (tiền đặt cọc) nằm trong tài khoản"


def _texts(root: Path) -> dict[str, str]:
    return {lang: (root / lang / f"{CARD}.md").read_text(encoding="utf-8") for lang in ("vi", "en")}


def _edited(root: Path, old: str = OLD, new: str = NEW) -> dict[str, str]:
    texts = _texts(root)
    assert old in texts["vi"]
    return {**texts, "vi": texts["vi"].replace(old, new)}


def test_a_reviewed_change_goes_live_in_the_file_the_assistant_reads(engine, root):
    library = ContentLibrary(root)
    assert OLD in library.get(CARD, "vi").body  # read (and cached) before the change
    draft = revisions.save_draft(engine, root, CARD, _edited(root), "editor@ngo", "clearer", submit=True)
    assert draft.status == "review"
    assert OLD in _texts(root)["vi"]  # not live before review

    published = revisions.approve(engine, root, draft.id, "reviewer@ngo")
    assert published.status == "live" and published.reviewer == "reviewer@ngo"
    path = root / "vi" / f"{CARD}.md"
    assert NEW in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not list(path.parent.glob(".*.tmp"))  # the temporary file was renamed, not left
    assert NEW in library.get(CARD, "vi").body  # the same library object, no restart

    entry = next(e for e in audit.recent(engine) if e.action == "card.approve")
    assert entry.staff == "reviewer@ngo"
    assert "-" + OLD in entry.detail
    assert "+" + NEW[:20] in entry.detail


def test_an_editor_cannot_approve_their_own_change(engine, root):
    draft = revisions.save_draft(engine, root, CARD, _edited(root), "reviewer@ngo", submit=True)
    with pytest.raises(revisions.RevisionError) as refused:
        revisions.approve(engine, root, draft.id, "reviewer@ngo")
    assert refused.value.message == revisions.REVIEW_OWN
    assert OLD in _texts(root)["vi"]
    assert revisions.get(engine, draft.id).status == "review"


def test_a_failing_check_blocks_review_and_publication(engine, root):
    bad = _edited(root, OLD, "Gọi 0912 345 678. " + OLD)  # a number in no allow-list
    with pytest.raises(revisions.RevisionError) as refused:
        revisions.save_draft(engine, root, CARD, bad, "editor@ngo", submit=True)
    assert refused.value.message == revisions.NOT_FIT
    assert any("0912 345 678 is not in content/phone_numbers.yml" in p for p in refused.value.problems)
    # Kept as a draft it is allowed, but it cannot be sent on.
    draft = revisions.save_draft(engine, root, CARD, bad, "editor@ngo")
    with pytest.raises(revisions.RevisionError):
        revisions.submit(engine, root, draft.id, "editor@ngo")
    assert "0912" not in _texts(root)["vi"]


def test_restore_puts_an_earlier_revision_back_in_one_step(engine, root):
    draft = revisions.save_draft(engine, root, CARD, _edited(root), "editor@ngo", submit=True)
    revisions.approve(engine, root, draft.id, "reviewer@ngo")
    original = revisions.history(engine, CARD)[-1]
    assert original.author == revisions.FILES_AUTHOR and original.status == "superseded"

    restored = revisions.restore(engine, root, original.id, "reviewer@ngo")
    assert restored.status == "live" and restored.texts == original.texts
    assert OLD in _texts(root)["vi"] and NEW not in _texts(root)["vi"]
    statuses = [r.status for r in revisions.history(engine, CARD)]
    assert statuses == ["live", "superseded", "superseded"]  # every revision kept
    with pytest.raises(revisions.RevisionError):
        revisions.restore(engine, root, restored.id, "reviewer@ngo")  # already live


def test_a_draft_started_before_another_change_went_live_is_stale(engine, root):
    first = revisions.save_draft(engine, root, CARD, _edited(root), "a@ngo", submit=True)
    second = revisions.save_draft(
        engine,
        root,
        CARD,
        _edited(root, "thanh lý hợp đồng", "thanh lý hợp đồng lao động"),
        "b@ngo",
        submit=True,
    )
    revisions.approve(engine, root, first.id, "reviewer@ngo")
    with pytest.raises(revisions.RevisionError) as refused:
        revisions.approve(engine, root, second.id, "reviewer@ngo")
    assert refused.value.message == revisions.STALE


def test_files_edited_outside_the_console_are_recorded(engine, root):
    revisions.sync_with_files(engine, root, CARD)
    path = root / "vi" / f"{CARD}.md"
    path.write_text(path.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    current = revisions.sync_with_files(engine, root, CARD)
    assert current.author == revisions.FILES_AUTHOR and NEW in current.texts["vi"]
    assert any(e.action == "card.files_changed" for e in audit.recent(engine))


def test_export_then_import_publishes_a_change_made_in_git(engine, root, tmp_path):
    folder = tmp_path / "git"
    exported = revisions.export(engine, root, folder)
    assert CARD in exported and (folder / "vi" / f"{CARD}.md").exists()
    manifest = yaml.safe_load((folder / revisions.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["cards"][CARD] == exported[CARD]

    edited = folder / "vi" / f"{CARD}.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    report = revisions.import_cards(engine, root, folder, who="git")
    assert report.applied == [CARD] and report.refused == []
    assert NEW in _texts(root)["vi"]


def test_an_import_that_conflicts_with_a_newer_console_revision_is_refused(engine, root, tmp_path):
    folder = tmp_path / "git"
    exported = revisions.export(engine, root, folder)
    # Meanwhile, in the console:
    draft = revisions.save_draft(engine, root, CARD, _edited(root), "editor@ngo", submit=True)
    live = revisions.approve(engine, root, draft.id, "reviewer@ngo")
    # ... and in git, another change to the exported (older) text:
    edited = folder / "vi" / f"{CARD}.md"
    edited.write_text(
        edited.read_text(encoding="utf-8").replace("thanh lý hợp đồng", "thanh lý hợp đồng lao động"),
        encoding="utf-8",
    )
    report = revisions.import_cards(engine, root, folder, who="git")
    assert report.applied == []
    [(card, reason)] = report.refused
    assert card == CARD
    assert (
        f"live revision {live.id}" in reason
        and f"revision {exported[CARD]} these files were exported from" in reason
    )
    assert NEW in _texts(root)["vi"]  # the console's change stays live
    assert any(e.action == "card.import_refused" for e in audit.recent(engine))


def test_an_import_with_a_failing_check_is_refused(engine, root, tmp_path):
    folder = tmp_path / "git"
    revisions.export(engine, root, folder)
    edited = folder / "en" / f"{CARD}.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nCall 0912 345 678.\n", encoding="utf-8")
    report = revisions.import_cards(engine, root, folder)
    [(card, reason)] = report.refused
    assert card == CARD and "checks failed" in reason and "0912 345 678" in reason
