"""The verification queue: what goes in, oldest first, and "verified on DATE from SOURCE"
updating the card's front matter or the phone-number entry, with the audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.content import verification
from bot.content.cards import load_card
from bot.content.checks import check_content
from bot.staff import audit

TODAY = dt.date(2026, 11, 30)


def _directory(tmp: Path) -> Path:
    folder = tmp / "directory"
    folder.mkdir()
    (folder / "offices.csv").write_text(
        "id,name_vi,name_en,source,last_checked,confidence\n"
        "kr-old,Văn phòng cũ,Old office,x,2025-01-05,high\n"
        "kr-low,Văn phòng,Office,x,2026-11-01,low\n"
        "kr-fine,Tốt,Fine,x,2026-11-01,high\n",
        encoding="utf-8",
    )
    (folder / "partners.csv").write_text(
        "id,name_vi,name_en,source,last_checked,confidence\n", encoding="utf-8"
    )
    return folder


def test_the_queue_lists_what_to_check_oldest_first(engine, root, tmp_path):
    flag = verification.flag_fact(
        engine, "deposit_refund", "the interest rule may have changed", "agent@ngo", ["deposit_refund"]
    )
    items = verification.queue(engine, root, _directory(tmp_path), today=TODAY)
    keys = {(item.kind, item.key) for item in items}
    assert ("directory", "offices/kr-old") in keys and ("directory", "offices/kr-low") in keys
    assert ("directory", "offices/kr-fine") not in keys
    assert ("phone", "1900 969 680") in keys  # LOW in the allow-list
    assert ("phone", "+84 981 84 84 84") not in keys  # HIGH
    assert ("flag", str(flag)) in keys
    unverified = [i for i in items if i.kind == "card" and verification.NOT_VERIFIED in i.reasons]
    assert unverified, "the shipped cards say verified: false"
    dates = [item.since or dt.date.min for item in items]
    assert dates == sorted(dates)
    office = next(i for i in items if i.key == "offices/kr-old")
    assert office.link == "/directory/offices/kr-old"


def test_verifying_a_card_updates_both_languages_and_the_log(engine, root):
    card = "deposit_refund"
    verification.verify_card(
        engine, root, card, "2026-11-29", "Luật 69/2020/QH14 Điều 25, đọc lại", "reviewer@ngo"
    )
    for lang in ("vi", "en"):
        loaded = load_card(root / lang / f"{card}.md", lang)
        assert loaded.verified is True
        assert loaded.last_reviewed == dt.date(2026, 11, 29)
        assert loaded.sources[-1] == "Luật 69/2020/QH14 Điều 25, đọc lại"
    entry = next(e for e in audit.recent(engine) if e.action == "card.verify")
    assert "+last_reviewed: 2026-11-29" in entry.detail and "+verified: true" in entry.detail
    assert check_content(root) == []
    items = verification.queue(engine, root, root / "none", today=TODAY)
    assert card not in {i.key for i in items if i.kind == "card"}


def test_verifying_a_phone_number_rewrites_only_its_entry(engine, root):
    path = root / "phone_numbers.yml"
    before = path.read_text(encoding="utf-8")
    verification.verify_phone(
        engine, root, "02 2119 2400", "2026-11-28", "called it, answered", "MEDIUM", "reviewer@ngo"
    )
    after = path.read_text(encoding="utf-8")
    assert after.splitlines()[:5] == before.splitlines()[:5]  # the comments stay
    entry = next(e for e in yaml.safe_load(after) if e["number"] == "02 2119 2400")
    assert entry["confidence"] == "MEDIUM" and str(entry["source_date"]) == "2026-11-28"
    assert entry["source"] == "called it, answered"
    assert len(after.splitlines()) == len(before.splitlines())
    assert any(e.action == "phone.verify" and "02 2119 2400" in e.detail for e in audit.recent(engine))


@pytest.mark.parametrize(
    ("on", "source", "message"),
    [
        ("yesterday", "a source", verification.BAD_DATE),
        ("2999-01-01", "a source", verification.BAD_DATE),
        ("2026-11-01", " ", verification.BAD_SOURCE),
    ],
)
def test_a_verification_needs_a_real_date_and_a_source(engine, root, on, source, message):
    with pytest.raises(verification.VerificationError) as refused:
        verification.verify_card(engine, root, "deposit_refund", on, source, "reviewer@ngo")
    assert refused.value.message == message


def test_a_flag_keeps_only_the_topic_and_the_agents_note(engine, root):
    with pytest.raises(verification.VerificationError):
        verification.flag_fact(engine, "no_such_topic", "a note", "agent@ngo", ["deposit_refund"])
    flag = verification.flag_fact(
        engine, "deposit_refund", "  hotline   changed?  ", "agent@ngo", ["deposit_refund"]
    )
    [item] = verification.open_flags(engine)
    assert item.key == str(flag) and item.note == "hotline changed?" and item.title == "deposit_refund"
    verification.resolve_flag(engine, root, flag, "2026-11-29", "checked the law text", "reviewer@ngo")
    assert verification.open_flags(engine) == []
