"""The card and verification pages over HTTP: roles, the JSON check endpoint, the flag form
on the handoff page (no user text stored), and "verified on DATE from SOURCE"."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.content.cards import load_card
from bot.db import fact_flags
from bot.staff import audit
from bot.staff import verification as verification_pages
from tests.cards.conftest import copy_content
from tests.staff.conftest import Console, csrf_of, start_console

CARD = "deposit_refund"


@pytest.fixture
def console(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    content = copy_content(tmp_path)
    monkeypatch.setattr(verification_pages, "DIRECTORY_DIR", tmp_path / "no-directory")
    yield from start_console(sqlite_url, CONTENT_DIR=str(content), TOPICS_FILE=str(tmp_path / "topics.yml"))


def test_agents_cannot_open_the_card_pages(console):
    agent = console.as_role("agent")
    assert agent.get("/cards").status_code == 403
    assert agent.get("/verification").status_code == 403
    editor = console.as_role("editor")
    page = editor.get(f"/cards/{CARD}")
    assert page.status_code == 200 and 'name="vi"' in page.text and 'name="en"' in page.text
    assert editor.get("/cards/..%2Fetc").status_code == 404
    assert editor.get("/cards/no_such_card").status_code == 404


def test_the_check_endpoint_answers_json_with_the_problems(console):
    anonymous = console.client()
    assert anonymous.post(f"/cards/{CARD}/check", data={"vi": "x"}).status_code == 401
    editor = console.as_role("editor")
    page = editor.get(f"/cards/{CARD}").text
    token = csrf_of(page)
    form = {"csrf": token, "vi": "---\ntitle: x\n---\nGọi 0912 345 678.\n", "en": "no front matter"}
    answer = editor.post(f"/cards/{CARD}/check", data=form)
    assert answer.status_code == 200
    data = answer.json()
    assert data["ok"] is False
    assert any("missing or empty 'sources'" in p for p in data["problems"])
    assert any("missing front matter" in p for p in data["problems"])
    assert editor.post(f"/cards/{CARD}/check", data={**form, "csrf": "wrong"}).status_code == 403


def test_an_agent_flags_a_fact_from_a_handoff_without_the_persons_words(console):
    handoff = console.handoff.add("TG-ASKS01", text="chủ em nói tiền ký quỹ mất rồi")
    agent = console.as_role("agent")
    page = agent.get(f"/handoffs/{handoff}").text
    assert f'action="/handoffs/{handoff}/flag"' in page
    sent = agent.post(
        f"/handoffs/{handoff}/flag",
        data={"csrf": csrf_of(page), "topic": "deposit_refund", "note": "interest rule may be outdated"},
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("notice=fact_flagged")
    with console.engine.connect() as conn:
        rows = conn.execute(sa.select(fact_flags)).all()
    assert [(r.topic, r.note, r.flagged_by) for r in rows] == [
        ("deposit_refund", "interest rule may be outdated", "agent@ngo.example")
    ]
    bad = agent.post(
        f"/handoffs/{handoff}/flag", data={"csrf": csrf_of(page), "topic": "nope", "note": "x y z"}
    )
    assert bad.status_code == 400

    reviewer = console.as_role("reviewer")
    queue = reviewer.get("/verification?kind=flag").text
    assert "interest rule may be outdated" in queue and "ký quỹ mất" not in queue
    done = reviewer.post(
        f"/verification/flags/{rows[0].id}",
        data={"csrf": csrf_of(queue), "on": "2026-11-29", "source": "Luật 69/2020/QH14 Điều 25"},
    )
    assert done.status_code == 303
    assert "interest rule may be outdated" not in reviewer.get("/verification?kind=flag").text
    assert {"fact.flag", "fact.resolve", "card.verify"} <= {e.action for e in audit.recent(console.engine)}


def test_verified_on_date_from_source_is_one_action_for_reviewers_only(console, tmp_path):
    editor = console.as_role("editor")
    page = editor.get("/verification?kind=card").text
    assert CARD in page and 'action="/verification/card"' not in page  # editors only see it
    refused = editor.post(
        "/verification/card", data={"csrf": csrf_of(page), "card": CARD, "on": "2026-11-29", "source": "law"}
    )
    assert refused.status_code == 403

    reviewer = console.as_role("reviewer")
    page = reviewer.get("/verification?kind=card").text
    bad = reviewer.post(
        "/verification/card", data={"csrf": csrf_of(page), "card": CARD, "on": "soon", "source": "law text"}
    )
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    done = reviewer.post(
        "/verification/card",
        data={"csrf": csrf_of(page), "card": CARD, "on": "2026-11-29", "source": "Luật 69/2020/QH14 Điều 25"},
    )
    assert done.status_code == 303
    card = load_card(tmp_path / "content" / "en" / f"{CARD}.md", "en")
    assert card.verified and str(card.last_reviewed) == "2026-11-29"
    assert f'href="/cards/{CARD}"' not in reviewer.get("/verification?kind=card").text


def _textarea(page: str, name: str) -> str:
    return html.unescape(page.split(f'name="{name}"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0])


def test_a_saved_draft_comes_back_to_its_author_only(console):
    editor = console.as_role("editor")
    page = editor.get(f"/cards/{CARD}").text
    texts = {lang: _textarea(page, lang) for lang in ("vi", "en")}
    assert "Tiền ký quỹ nằm trong" in texts["vi"]
    texts["vi"] = texts["vi"].replace("Tiền ký quỹ nằm trong", "Tiền ký quỹ (bản nháp) nằm trong")
    saved = editor.post(f"/cards/{CARD}", data={"csrf": csrf_of(page), "action": "draft", **texts})
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=draft_saved")
    assert "(bản nháp)" in _textarea(editor.get(f"/cards/{CARD}").text, "vi")
    assert "(bản nháp)" not in _textarea(console.as_role("reviewer").get(f"/cards/{CARD}").text, "vi")
