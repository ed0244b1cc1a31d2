"""The Understanding pages over HTTP: add an example (typed or from the queue), the
duplicate warning and its confirmation, the held-out refusal, roles, one retrain at a time,
the job's JSON for the progress bar, and the figures once it ended."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import db, training
from bot.staff import audit
from tests.staff.conftest import Console, csrf_of, start_console


@pytest.fixture
def console(sqlite_url: str, data_dir: Path, held_out_dir: Path, tmp_path: Path) -> Iterator[Console]:
    yield from start_console(
        sqlite_url,
        TRAINING_DATA_DIR=str(data_dir),
        RETRAIN_HELD_OUT_DIR=str(held_out_dir),
        MODELS_DIR=str(tmp_path / "models"),
    )


def _post(client, path: str, **data: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/understanding").text)
    return client.post(path, data={"csrf": token, **data})


def _console_examples(data_dir: Path) -> str:
    path = data_dir / "nlu" / "console" / "return.yml"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_an_editor_adds_a_typed_example_to_its_group_file(console, data_dir):
    editor = console.as_role("editor")
    response = _post(
        editor, "/understanding/examples", topic="deposit_refund", text="xin lại tiền cọc đi Hàn"
    )
    assert (
        response.status_code == 303 and response.headers["location"] == "/understanding?notice=example_added"
    )
    assert "- xin lại tiền cọc đi Hàn" in _console_examples(data_dir)
    page = editor.get("/understanding").text
    assert "xin lại tiền cọc đi Hàn" in page and "data/nlu/console/return.yml" in page
    [entry] = [e for e in audit.recent(console.engine) if e.action == "understanding.example"]
    assert entry.detail == "deposit_refund -> data/nlu/console/return.yml (typed)"
    assert "tiền cọc" not in entry.detail  # the audit log holds no example text


def test_the_same_folded_text_under_another_topic_needs_confirming(console, data_dir):
    editor = console.as_role("editor")
    response = _post(
        editor, "/understanding/examples", topic="deposit_refund", text="Ve nuoc truoc han hop dong"
    )
    assert response.status_code == 409
    assert "đã là câu ví dụ của: early_return" in response.text
    assert 'name="confirm" value="1"' in response.text
    assert _console_examples(data_dir) == ""
    confirmed = _post(
        editor,
        "/understanding/examples",
        topic="deposit_refund",
        text="Ve nuoc truoc han hop dong",
        confirm="1",
    )
    assert confirmed.status_code == 303
    assert "- Ve nuoc truoc han hop dong" in _console_examples(data_dir)


def test_a_held_out_message_or_an_unknown_topic_is_refused(console, data_dir):
    editor = console.as_role("editor")
    held = _post(
        editor, "/understanding/examples", topic="deposit_refund", text="tiền ký quỹ bao giờ được trả lại"
    )
    assert held.status_code == 400 and "bộ câu kiểm tra" in held.text
    unknown = _post(editor, "/understanding/examples", topic="greet_the_moon", text="xin chào")
    assert unknown.status_code == 400
    empty = _post(editor, "/understanding/examples", topic="deposit_refund", text="   ")
    assert empty.status_code == 400 and "Hãy viết câu ví dụ trước." in empty.text
    assert _console_examples(data_dir) == ""


def test_a_queue_group_becomes_an_example_and_is_linked(console, data_dir):
    console.feedback.add_group("tien coc han quoc", "tiền cọc hàn quốc [phone]")
    editor = console.as_role("editor")
    queue = editor.get("/queue").text
    assert 'action="/understanding/from-queue"' in queue
    form = _post(editor, "/understanding/from-queue", key="tien coc han quoc")
    assert form.status_code == 200 and "tiền cọc hàn quốc [phone]</textarea>" in form.text
    assert 'name="key" value="tien coc han quoc"' in form.text
    added = _post(
        editor,
        "/understanding/examples",
        topic="deposit_refund",
        text="tiền cọc hàn quốc [phone]",
        key="tien coc han quoc",
    )
    assert added.status_code == 303
    assert "- tiền cọc hàn quốc [phone]" in _console_examples(data_dir)
    assert (
        "link_topic",
        "tien coc han quoc",
        "deposit_refund",
        "editor@ngo.example",
    ) in console.feedback.calls
    with console.engine.connect() as connection:
        [row] = connection.execute(sa.select(db.training_examples)).all()
    assert (row.topic, row.source, row.added_by) == ("deposit_refund", "queue", "editor@ngo.example")
    gone = _post(editor, "/understanding/from-queue", key="no such group")
    assert gone.status_code == 404


def test_only_reviewers_retrain_and_agents_see_nothing(console):
    agent = console.as_role("agent")
    assert agent.get("/understanding").status_code == 403
    editor = console.as_role("editor")
    assert 'id="start-retrain"' not in editor.get("/understanding").text
    assert _post(editor, "/understanding/retrain").status_code == 403
    assert training.running_job(console.engine) is None


def test_a_second_retrain_is_refused_while_one_runs(console, monkeypatch):
    launched: list[int] = []
    monkeypatch.setattr(training, "launch", lambda engine, job_id: launched.append(job_id))
    reviewer = console.as_role("reviewer")
    first = _post(reviewer, "/understanding/retrain")
    assert first.status_code == 303 and len(launched) == 1
    training._update(console.engine, launched[0], pid=__import__("os").getpid())
    page = reviewer.get("/understanding").text
    assert 'data-job="/understanding/jobs/' in page and "<progress" in page
    assert '<script src="/static/understanding.js"' in page
    second = _post(reviewer, "/understanding/retrain")
    assert second.status_code == 409 and "Đang có một lần huấn luyện lại chạy." in second.text
    assert len(launched) == 1

    training.set_step(console.engine, launched[0], "evaluating_new")
    status = reviewer.get(f"/understanding/jobs/{launched[0]}").json()
    assert status == {
        "id": launched[0],
        "state": "running",
        "running": True,
        "step": "evaluating_new",
        "progress": 78,
        "label": "Đang đo mô hình mới",
    }
    assert reviewer.get("/understanding/jobs/999").status_code == 404


def test_the_figures_and_the_refusal_reason_are_shown_when_the_job_ended(console):
    job = training.start_job(console.engine, "reviewer@ngo.example")
    before = {"overall": [10, 9], "english": [5, 5], "conversations": [4, 4]}
    after = {"overall": [10, 8], "english": [5, 4], "conversations": [4, 4]}
    figures = {"before": before, "after": after, "dropped": ["overall", "english"]}
    training.finish(
        console.engine,
        job.id,
        training.REFUSED,
        "Not published: held-out figures dropped",
        figures=json.dumps(figures),
    )
    page = console.as_role("editor").get("/understanding").text
    assert "Không đưa vào dùng" in page and "Not published: held-out figures dropped" in page
    assert "90.0%" in page and "80.0%" in page and "-10.0" in page and "100.0%" in page
    assert page.count('class="dropped"') == 2
    assert 'id="roll-back"' not in page


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_understanding_string_is_in_both_catalogs(lang):
    import re

    from bot.i18n import _catalog
    from bot.staff import understanding

    root = Path(__file__).resolve().parents[2]
    template = (root / "bot" / "staff" / "templates" / "understanding.html").read_text(encoding="utf-8")
    msgids = set(re.findall(r'_\(\s*"((?:[^"\\]|\\.)*)"', template))
    msgids |= {
        understanding.NOTICES[k] for k in ("example_added", "example_known", "retrain_started", "rolled_back")
    }
    for table in (understanding.STEP_LABELS, understanding.STATE_LABELS, understanding.FIGURE_LABELS):
        msgids |= set(table.values())
    msgids |= {*understanding.ERRORS, understanding.DUPLICATE_WARNING}
    source = (root / "bot" / "nlu" / "training_data.py").read_text(encoding="utf-8")
    msgids |= set(re.findall(r'ExampleError\("((?:[^"\\]|\\.)*)"\)', source))
    assert len(msgids) > 40
    assert sorted(m for m in msgids if m not in _catalog(lang, "staff")) == []


def test_a_rollback_that_cannot_reach_the_assistant_says_why(console, tmp_path):
    previous = tmp_path / "models" / "current.tar.gz"
    previous.parent.mkdir(exist_ok=True)
    previous.write_bytes(b"old")
    published = tmp_path / "models" / "console-1.tar.gz"
    published.write_bytes(b"new")
    job = training.start_job(console.engine, "reviewer@ngo.example")
    training.finish(
        console.engine,
        job.id,
        training.PUBLISHED,
        published_model=str(published),
        previous_model=str(previous),
        figures=json.dumps({"before": {"overall": [4, 3]}, "after": {"overall": [4, 4]}, "dropped": []}),
    )
    editor = console.as_role("editor")
    page = editor.get("/understanding").text
    assert "console-1.tar.gz" in page and 'id="roll-back"' not in page  # editors cannot roll back
    assert _post(editor, f"/understanding/jobs/{job.id}/rollback").status_code == 403
    reviewer = console.as_role("reviewer")
    assert 'id="roll-back"' in reviewer.get("/understanding").text
    refused = _post(reviewer, f"/understanding/jobs/{job.id}/rollback")
    assert refused.status_code == 409
    assert "Không thể quay lại từ lần huấn luyện này." in refused.text
    assert "MODEL_SWAP_TOKEN is not set" in refused.text  # the reason, not just a refusal
    assert published.exists() and training.get_job(console.engine, job.id).state == training.PUBLISHED  # type: ignore[union-attr]


def test_a_rolled_back_retrain_no_longer_names_a_model_in_use(console):
    job = training.start_job(console.engine, "reviewer@ngo.example")
    training.finish(console.engine, job.id, training.PUBLISHED, published_model="/m/console-2.tar.gz")
    training._update(console.engine, job.id, state=training.ROLLED_BACK)
    page = console.as_role("reviewer").get("/understanding").text
    assert "Đã quay lại mô hình trước" in page
    assert "console-2.tar.gz" not in page and 'id="roll-back"' not in page
