"""Directory editing (bot.directory.editing): the loader's checks on a proposed row, drafts,
review by someone else, publishing (the CSV row written in place, the SQL reloaded),
retiring, "verified on DATE from SOURCE" and export."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import db
from bot.directory import editing
from bot.directory.loader import load_directory, read_directory
from bot.directory.queries import find_partners

NEW_PARTNER = {
    "id": "ht-legal-aid-test",
    "kind": "legal_aid_centre",
    "name_vi": "Trung tâm Trợ giúp pháp lý tỉnh Hà Tĩnh",
    "name_en": "Hà Tĩnh State Legal Aid Centre",
    "services": "legal_aid",
    "provinces": "Hà Tĩnh",
    "phone": "0239 3855 514",
    "source": "stp.hatinh.gov.vn (2026)",
    "last_checked": "2026-11-30",
    "confidence": "high",
}


@pytest.fixture
def url(tmp_path: Path) -> str:
    yield f"sqlite:///{tmp_path / 'bot.db'}"
    db.dispose_engines()


@pytest.fixture
def engine(url: str, data_dir: Path):
    engine = db.ensure_schema(db.get_engine(url))
    load_directory(url, data_dir)
    return engine


def _partners_in_ha_tinh(url: str) -> list[str]:
    with db.session_scope(url) as session:
        page = find_partners(session, "legal_aid", province="Hà Tĩnh")
    return [p.id for p in page.items]


def test_a_bad_province_is_refused_with_the_loaders_words(data_dir: Path):
    with pytest.raises(editing.EditError) as refused:
        editing.propose_texts(data_dir, "partners", "add", "x", {**NEW_PARTNER, "provinces": "Hà Tínhh"})
    assert refused.value.errors == ["province 'Hà Tínhh' is not a province of Viet Nam"]
    # The same words as the CSV loader prints for that row in the file.
    (data_dir / "partners.csv").write_text(
        (data_dir / "partners.csv").read_text(encoding="utf-8")
        + editing._format_row(
            editing.read_file(data_dir, "partners"), {**NEW_PARTNER, "provinces": "Hà Tínhh"}
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(Exception) as loader_error:
        read_directory(data_dir)
    assert any(
        e.endswith(": province 'Hà Tínhh' is not a province of Viet Nam") for e in loader_error.value.errors
    )


def test_a_draft_is_published_only_by_another_reviewer_and_answers_at_once(engine, url, data_dir: Path):
    before = (data_dir / "partners.csv").read_text(encoding="utf-8")
    draft, proposal = editing.propose(engine, data_dir, "partners", "add", "", NEW_PARTNER, "ed@ngo.example")
    assert draft.status == editing.PENDING and draft.row_id == "ht-legal-aid-test"
    assert "0239 3855 514" in editing.preview(proposal, "vi")
    assert (data_dir / "partners.csv").read_text(encoding="utf-8") == before  # nothing written yet
    assert "ht-legal-aid-test" not in _partners_in_ha_tinh(url)

    with pytest.raises(editing.EditError) as own:
        editing.publish(engine, data_dir, url, draft.id, "ed@ngo.example")
    assert own.value.errors == [editing.OWN_DRAFT]

    report = editing.publish(engine, data_dir, url, draft.id, "rev@ngo.example")
    assert report.tables["partners"].added == 1
    after = (data_dir / "partners.csv").read_text(encoding="utf-8")
    assert after.startswith(before) and "ht-legal-aid-test" in after.splitlines()[-1]
    assert "ht-legal-aid-test" in _partners_in_ha_tinh(url)  # the SQL the assistant reads
    assert editing.get(engine, draft.id).status == editing.PUBLISHED
    with pytest.raises(editing.EditError):
        editing.publish(engine, data_dir, url, draft.id, "other@ngo.example")  # not twice


def test_an_edit_rewrites_only_its_own_row(engine, url, data_dir: Path):
    lines_before = (data_dir / "offices.csv").read_text(encoding="utf-8").splitlines()
    row = editing.read_file(data_dir, "offices").rows()["jp-consulate-osaka"]
    draft, _ = editing.propose(
        engine,
        data_dir,
        "offices",
        "edit",
        "jp-consulate-osaka",
        {**row, "hours_en": "Mon-Fri 9:00-17:00"},
        "ed@x",
    )
    assert draft.changes() == [("hours_en", "", "Mon-Fri 9:00-17:00")]
    editing.publish(engine, data_dir, url, draft.id, "rev@x")
    lines_after = (data_dir / "offices.csv").read_text(encoding="utf-8").splitlines()
    changed = [i for i, (a, b) in enumerate(zip(lines_before, lines_after, strict=True)) if a != b]
    assert len(changed) == 1 and "Mon-Fri 9:00-17:00" in lines_after[changed[0]]


def test_a_draft_over_a_row_changed_since_is_refused(engine, url, data_dir: Path):
    row = editing.read_file(data_dir, "offices").rows()["jp-consulate-osaka"]
    first, _ = editing.propose(
        engine, data_dir, "offices", "edit", "jp-consulate-osaka", {**row, "hours_en": "A"}, "a@x"
    )
    second, _ = editing.propose(
        engine, data_dir, "offices", "edit", "jp-consulate-osaka", {**row, "hours_en": "B"}, "b@x"
    )
    editing.publish(engine, data_dir, url, first.id, "rev@x")
    with pytest.raises(editing.EditError) as stale:
        editing.publish(engine, data_dir, url, second.id, "rev@x")
    assert stale.value.errors == [editing.CHANGED_SINCE]
    assert editing.get(engine, second.id).status == editing.PENDING


def _serving_legal_aid(url: str) -> list[str]:
    with db.session_scope(url) as session:
        return [p.id for p in find_partners(session, "legal_aid", province="Hà Tĩnh", per_page=50).items]


def test_retiring_switches_the_row_off_with_a_hash(engine, url, data_dir: Path):
    assert "cdi" in _serving_legal_aid(url)
    draft, _ = editing.propose(engine, data_dir, "partners", "retire", "cdi", {}, "ed@x")
    editing.publish(engine, data_dir, url, draft.id, "rev@x")
    text = (data_dir / "partners.csv").read_text(encoding="utf-8")
    assert "\n#cdi," in text
    assert "cdi" not in editing.read_file(data_dir, "partners").rows()
    assert "cdi" not in _serving_legal_aid(url)


def test_verified_on_date_from_source_updates_the_row_and_the_database(engine, url, data_dir: Path):
    before, report = editing.verify(
        data_dir, url, "offices", "kr-labour-board", "2026-11-29", "call to the board, 29/11/2026", "medium"
    )
    assert before["last_checked"] == "2026-11-30" and report.tables["offices"].changed == 1
    row = editing.read_file(data_dir, "offices").rows()["kr-labour-board"]
    assert (row["last_checked"], row["source"], row["confidence"]) == (
        "2026-11-29",
        "call to the board, 29/11/2026",
        "medium",
    )
    with pytest.raises(editing.EditError) as future:
        editing.verify(data_dir, url, "offices", "kr-labour-board", "2999-01-01", "x")
    assert future.value.errors == ["last_checked 2999-01-01 is in the future"]
    with pytest.raises(editing.EditError) as bad:
        editing.verify(data_dir, url, "offices", "kr-labour-board", "yesterday", "x")
    assert bad.value.errors == [editing.BAD_DATE]


def test_the_preview_is_the_chats_reply_with_the_date_checked(data_dir: Path):
    proposal = editing.current(data_dir, "offices", "kr-labour-board")
    vi, en = editing.preview(proposal, "vi"), editing.preview(proposal, "en")
    assert "+82 10-3248-6886" in vi and "+82 10-3248-6886" in en
    assert "Last checked: Nov 30, 2026" in en
    assert "30 thg 11, 2026" in vi


def test_export_is_the_file(data_dir: Path):
    assert editing.export(data_dir, "offices") == (data_dir / "offices.csv").read_text(encoding="utf-8-sig")
    with pytest.raises(editing.EditError):
        editing.export(data_dir, "../secrets")


def test_rejected_drafts_change_nothing(engine, url, data_dir: Path):
    draft, _ = editing.propose(engine, data_dir, "partners", "add", "", NEW_PARTNER, "ed@x")
    editing.reject(engine, draft.id, "rev@x", "no source")
    assert editing.get(engine, draft.id).status == editing.REJECTED
    assert "ht-legal-aid-test" not in (data_dir / "partners.csv").read_text(encoding="utf-8")
