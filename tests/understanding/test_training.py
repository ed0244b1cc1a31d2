"""Retrain jobs with stubbed training, evaluation and swap: one at a time, refused when a
held-out figure drops by more than one point, published and swapped otherwise, and a
rollback that serves (and keeps as newest) the previous model file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from bot import db, training
from bot.services import newest_model
from bot.settings import load_settings

GOOD = {
    "overall": [200, 190],
    "accented": [50, 48],
    "unaccented": [50, 47],
    "colloquial": [50, 47],
    "english": [50, 48],
    "conversations": [100, 95],
}


@pytest.fixture
def engine(sqlite_url: str):  # type: ignore[no-untyped-def]
    engine = db.get_engine(sqlite_url)
    db.upgrade(engine)
    yield engine
    db.dispose_engines()


@pytest.fixture
def settings(tmp_path: Path, data_dir: Path, held_out_dir: Path):  # type: ignore[no-untyped-def]
    models = tmp_path / "models"
    models.mkdir()
    (models / "current.tar.gz").write_bytes(b"the model in use")
    os.utime(models / "current.tar.gz", (time.time() - 3600, time.time() - 3600))
    conversations = tmp_path / "conversations"
    conversations.mkdir()
    return load_settings(
        {
            "MODELS_DIR": str(models),
            "TRAINING_DATA_DIR": str(data_dir),
            "RETRAIN_HELD_OUT_DIR": str(held_out_dir),
            "RETRAIN_CONVERSATIONS_DIR": str(conversations),
        }
    )


class Stubs:
    """Training writes a candidate file; evaluation answers from a table by model file name."""

    def __init__(self, settings: Any, after: dict[str, list[int]]) -> None:
        self.settings = settings
        self.figures = {"current.tar.gz": GOOD, "job": after}
        self.swapped: list[Path] = []
        self.evaluated: list[str] = []

    def served(self, settings: Any) -> Path:
        return self.swapped[-1] if self.swapped else settings.models_dir / "current.tar.gz"

    def train(self, settings: Any, name: str, on_progress: Any, expected: float) -> Path:
        on_progress(0.5)
        out = settings.models_dir / "candidates"
        out.mkdir(exist_ok=True)
        (out / f"{name}.tar.gz").write_bytes(b"the new model")
        return out / f"{name}.tar.gz"

    def evaluate(self, model: Path, settings: Any) -> dict[str, list[int]]:
        self.evaluated.append(model.name)
        return self.figures["current.tar.gz" if model.name == "current.tar.gz" else "job"]

    def swap(self, model: Path, settings: Any) -> dict[str, Any]:
        self.swapped.append(model)
        return {"model_file": str(model), "model_id": f"id-{model.name}"}

    def run(self, engine: Any, job_id: int) -> training.Job:
        return training.run_job(
            engine,
            job_id,
            self.settings,
            train=self.train,
            evaluate=self.evaluate,
            served=self.served,
            swap=self.swap,
        )


def test_only_one_retrain_runs_at_a_time(engine):
    first = training.start_job(engine, "rev@ngo.example")
    first_pid = os.getpid()
    training._update(engine, first.id, pid=first_pid)  # alive: this process
    with pytest.raises(training.JobRunning):
        training.start_job(engine, "other@ngo.example")
    training.finish(engine, first.id, training.FAILED, "test")
    assert training.start_job(engine, "other@ngo.example").running


def test_a_job_whose_process_died_is_failed_with_a_reason(engine):
    job = training.start_job(engine, "rev@ngo.example")
    training._update(engine, job.id, pid=2**22 + 12345)  # no such process
    training.mark_stale(engine)
    stale = training.get_job(engine, job.id)
    assert stale is not None and stale.state == training.FAILED and "stopped" in (stale.reason or "")
    assert training.start_job(engine, "rev@ngo.example").running


def test_a_model_whose_figures_drop_is_refused_and_not_served(engine, settings):
    worse = {**GOOD, "unaccented": [50, 46]}  # 94 % -> 92 %: two points
    stubs = Stubs(settings, worse)
    job = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    assert job.state == training.REFUSED and "unaccented" in (job.reason or "")
    assert job.figures is not None and job.figures["dropped"] == ["unaccented"]
    assert job.figures["before"] == GOOD and job.figures["after"] == worse
    assert stubs.evaluated == ["current.tar.gz", f"job-{job.id}.tar.gz"]
    assert stubs.swapped == []
    assert newest_model(settings=settings).name == "current.tar.gz"
    assert job.candidate and Path(job.candidate).exists()  # kept aside, never in MODELS_DIR itself
    assert not training.get_job(engine, job.id).running  # type: ignore[union-attr]


def test_a_drop_in_conversation_success_is_refused_too(engine, settings):
    stubs = Stubs(settings, {**GOOD, "conversations": [100, 93]})
    job = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    assert job.state == training.REFUSED and job.figures["dropped"] == ["conversations"]  # type: ignore[index]


def test_a_drop_of_one_point_or_less_is_published_and_swapped_live(engine, settings):
    within = {**GOOD, "overall": [200, 188]}  # 95 % -> 94 %: one point exactly
    stubs = Stubs(settings, within)
    job = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    assert job.state == training.PUBLISHED, job.reason
    published = Path(job.published_model or "")
    assert published.parent == settings.models_dir and published.exists()
    assert stubs.swapped == [published]
    assert newest_model(settings=settings) == published  # a restart serves it too
    assert job.previous_model == str(settings.models_dir / "current.tar.gz")
    assert job.figures["served_model_id"] == f"id-{published.name}"  # type: ignore[index]
    row = training.get_job(engine, job.id)
    assert row is not None and json.loads(json.dumps(row.figures))["after"] == within


def test_rollback_serves_the_previous_model_file_again(engine, settings):
    stubs = Stubs(settings, GOOD)
    job = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    published = Path(job.published_model or "")
    rolled = training.rollback(engine, job.id, "rev@ngo.example", settings, swap=stubs.swap)
    previous = settings.models_dir / "current.tar.gz"
    assert rolled.state == training.ROLLED_BACK
    assert stubs.swapped[-1] == previous
    assert not published.exists() and (settings.models_dir / "retired" / published.name).exists()
    assert newest_model(settings=settings) == previous
    assert previous.read_bytes() == b"the model in use"
    with pytest.raises(training.RetrainError):  # once only
        training.rollback(engine, job.id, "rev@ngo.example", settings, swap=stubs.swap)


def test_a_failed_swap_fails_the_job_and_keeps_the_old_model_newest(engine, settings):
    stubs = Stubs(settings, GOOD)

    def refuse(model: Path, settings: Any) -> dict[str, Any]:
        raise training.RetrainError("The new model could not be swapped in: the assistant answered 500")

    job = training.run_job(
        engine,
        training.start_job(engine, "rev@ngo.example").id,
        settings,
        train=stubs.train,
        evaluate=stubs.evaluate,
        served=stubs.served,
        swap=refuse,
    )
    assert job.state == training.FAILED and "answered 500" in (job.reason or "")
    assert newest_model(settings=settings).name == "current.tar.gz"


def test_a_training_failure_is_shown_with_its_reason(engine, settings):
    stubs = Stubs(settings, GOOD)

    def broken(*_args: Any) -> Path:
        raise training.RetrainError(
            "Training failed (exit code 1): InvalidDomain: intent 'x' is not in the domain"
        )

    job = training.run_job(
        engine,
        training.start_job(engine, "rev@ngo.example").id,
        settings,
        train=broken,
        evaluate=stubs.evaluate,
        served=stubs.served,
        swap=stubs.swap,
    )
    assert job.state == training.FAILED and "InvalidDomain" in (job.reason or "")
    assert stubs.evaluated == [] and stubs.swapped == []


def test_a_held_out_message_in_the_training_data_stops_the_job(engine, settings, data_dir):
    (data_dir / "nlu" / "leak.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: deposit_refund\n  examples: |\n    - tien ky quy bao gio duoc tra lai\n',
        encoding="utf-8",
    )
    stubs = Stubs(settings, GOOD)
    job = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    assert job.state == training.FAILED and "held-out" in (job.reason or "")
    assert stubs.evaluated == []


def test_the_training_command_reads_the_configured_data(settings):
    command = training.training_command(settings, settings.models_dir / "candidates", "job-1")
    data = settings.training_data_dir
    assert command[command.index("--data") + 1 : command.index("--out")] == [
        str(data / "nlu"),
        str(data / "rules"),
        str(data / "stories"),
    ]


def test_a_new_job_clears_the_candidates_of_earlier_ones(engine, settings):
    stubs = Stubs(settings, {**GOOD, "overall": [200, 150]})
    first = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    second = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    assert first.state == second.state == training.REFUSED
    assert not Path(first.candidate or "").exists() and Path(second.candidate or "").exists()


def test_the_figures_of_the_model_in_use_are_reused_by_the_next_job(engine, settings):
    stubs = Stubs(settings, GOOD)
    first = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    assert first.state == training.PUBLISHED
    assert stubs.evaluated == ["current.tar.gz", f"job-{first.id}.tar.gz"]
    second = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    # The model in use is the first job's new model: measured already, on the same held-out set.
    assert stubs.evaluated[2:] == [f"job-{second.id}.tar.gz"]
    assert second.figures["before"] == first.figures["after"]  # type: ignore[index]
    training.rollback(engine, second.id, "rev@ngo.example", settings, swap=stubs.swap)
    (settings.retrain_held_out_dir / "english.yml").write_text(  # a changed held-out set: measured again
        'version: "3.1"\nnlu:\n- intent: deposit_refund\n  examples: |\n    - deposit refund please\n',
        encoding="utf-8",
    )
    third = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    assert stubs.evaluated[3:] == [Path(first.published_model or "").name, f"job-{third.id}.tar.gz"]


def test_one_danger_message_missed_is_enough_to_refuse(engine, settings):
    stubs = Stubs(settings, {**GOOD, "danger": [200, 199]})
    stubs.figures["current.tar.gz"] = {**GOOD, "danger": [200, 200]}
    job = stubs.run(engine, training.start_job(engine, "rev@ngo.example").id)
    assert job.state == training.REFUSED and job.figures["dropped"] == ["danger"]  # type: ignore[index]


@pytest.fixture
def any_engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = db.get_engine(database_url)
    db.upgrade(engine)
    yield engine
    db.dispose_engines()


def test_the_database_allows_one_running_job_on_sqlite_and_postgresql(any_engine):
    first = training.start_job(any_engine, "rev@ngo.example")
    training._update(any_engine, first.id, pid=os.getpid())
    with pytest.raises(training.JobRunning):
        training.start_job(any_engine, "rev@ngo.example")
    training.finish(any_engine, first.id, training.PUBLISHED)
    second = training.start_job(any_engine, "rev@ngo.example")
    training.finish(any_engine, second.id, training.REFUSED, "dropped")
    assert [job.state for job in training.recent_jobs(any_engine)] == [training.REFUSED, training.PUBLISHED]


def test_the_rasa_server_loads_only_archives_inside_models_dir(tmp_path):
    from bot.live_model import allowed_model

    models = tmp_path / "models"
    (models / "candidates").mkdir(parents=True)
    inside = models / "candidates" / "job-1.tar.gz"
    inside.write_bytes(b"x")
    outside = tmp_path / "elsewhere.tar.gz"
    outside.write_bytes(b"x")
    (models / "link.tar.gz").symlink_to(outside)
    assert allowed_model(inside, models)
    assert not allowed_model(outside, models)
    assert not allowed_model(models / "link.tar.gz", models)  # a link out of MODELS_DIR
    assert not allowed_model(models / "candidates" / ".." / ".." / "elsewhere.tar.gz", models)
    assert not allowed_model(models / "missing.tar.gz", models)
    (models / "notes.txt").write_text("x")
    assert not allowed_model(models / "notes.txt", models)
