"""Retraining the assistant from the staff console: one job at a time, measured, then
published live or refused, and rolled back in one step.

A job is a row of `training_jobs` (bot/db.py): the console inserts it and starts
`python -m bot retrain --job N` as a detached process, so a page reload (or a console
restart) does not stop it, and the page polls the row for its progress. The row's
`active` column is 1 while it runs and NULL after; its unique index is what makes a
second job impossible while one runs. The process lowers its priority (`os.nice`), and
the training and evaluation it starts inherit that, so the running assistant keeps the
CPU it needs on a small server.

The steps (`run_job`):
1. refuse when a held-out message is a training example once folded (`bot.bench`: the
   figures would measure memory);
2. `rasa train` on TRAINING_DATA_DIR (nlu/, rules/, stories/) into MODELS_DIR/candidates/;
3. measure the served model and the new one on the held-out set with `bot.bench.evaluate`
   (the code of `make bench`): intent accuracy per form (accented, unaccented,
   colloquial, English) and overall, and conversation success on
   RETRAIN_CONVERSATIONS_DIR (all of tests/conversations/ by default; see the README for
   the time it takes);
4. refuse when overall accuracy, a form's accuracy or conversation success drops by more
   than one point, or when one danger message less gets the urgent answer
   (`regressions`); the candidate stays in candidates/, never served;
5. otherwise move it into MODELS_DIR (so a restart serves it too, being the newest) and
   swap it into the running Rasa server (`bot.live_model.swap`). The model it replaces
   is remembered in the row; `rollback` swaps that one back, moves the published archive
   to MODELS_DIR/retired/ and makes the previous archive the newest again.

Training, evaluating and swapping are parameters of `run_job`, so tests run the whole
decision with stubs that can fail.
"""

from __future__ import annotations

import collections
import datetime as _dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import ensure_schema, training_jobs
from bot.settings import REPO_ROOT, Settings, child_environment

MAX_DROP = 0.01  # one point
NICENESS = 10
DEFAULT_TRAINING_SECONDS = 120.0
FORMS = ("accented", "unaccented", "colloquial", "english")

# Progress (percent) at the start of each step; training fills the space up to evaluation.
STEPS = {
    "queued": 0,
    "checking": 3,
    "training": 5,
    "evaluating_current": 60,
    "evaluating_new": 78,
    "publishing": 95,
    "done": 100,
}
RUNNING, PUBLISHED, REFUSED, FAILED, ROLLED_BACK = "running", "published", "refused", "failed", "rolled_back"


class JobRunning(RuntimeError):
    """Another retrain is running."""


class RetrainError(RuntimeError):
    """A step failed; the message is the reason shown to staff."""


@dataclass(frozen=True)
class Job:
    id: int
    state: str
    step: str
    progress: int
    started_by: str
    started_at: _dt.datetime
    finished_at: _dt.datetime | None
    reason: str | None
    figures: dict[str, Any] | None
    candidate: str | None
    published_model: str | None
    previous_model: str | None
    rolled_back_at: _dt.datetime | None
    pid: int | None

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def can_roll_back(self) -> bool:
        return self.state == PUBLISHED and bool(self.previous_model)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        state=row.state,
        step=row.step,
        progress=row.progress,
        started_by=row.started_by,
        started_at=row.started_at.replace(tzinfo=_dt.timezone.utc),
        finished_at=row.finished_at.replace(tzinfo=_dt.timezone.utc) if row.finished_at else None,
        reason=row.reason,
        figures=json.loads(row.figures) if row.figures else None,
        candidate=row.candidate,
        published_model=row.published_model,
        previous_model=row.previous_model,
        rolled_back_at=row.rolled_back_at.replace(tzinfo=_dt.timezone.utc) if row.rolled_back_at else None,
        pid=row.pid,
    )


# --- the job rows ----------------------------------------------------------------------------------


def start_job(engine: Engine, staff: str) -> Job:
    """A new running job, or JobRunning when one is running already."""
    ensure_schema(engine)
    mark_stale(engine)
    try:
        with engine.begin() as connection:
            job_id = connection.execute(
                sa.insert(training_jobs).values(
                    state=RUNNING,
                    step="queued",
                    progress=0,
                    active=1,
                    started_by=staff,
                    started_at=_now(),
                )
            ).inserted_primary_key[0]
    except sa.exc.IntegrityError:
        raise JobRunning("A retrain is already running.") from None
    job = get_job(engine, job_id)
    assert job is not None
    return job


def get_job(engine: Engine, job_id: int) -> Job | None:
    ensure_schema(engine)
    with engine.connect() as connection:
        row = connection.execute(sa.select(training_jobs).where(training_jobs.c.id == job_id)).first()
    return _job(row) if row else None


def recent_jobs(engine: Engine, limit: int = 10) -> list[Job]:
    ensure_schema(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(training_jobs).order_by(training_jobs.c.id.desc()).limit(limit)
        ).all()
    return [_job(row) for row in rows]


def running_job(engine: Engine) -> Job | None:
    ensure_schema(engine)
    with engine.connect() as connection:
        row = connection.execute(sa.select(training_jobs).where(training_jobs.c.active == 1)).first()
    return _job(row) if row else None


def _update(engine: Engine, job_id: int, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(training_jobs).where(training_jobs.c.id == job_id).values(**values))


def set_step(engine: Engine, job_id: int, step: str, progress: int | None = None) -> None:
    _update(engine, job_id, step=step, progress=STEPS[step] if progress is None else progress)


def finish(engine: Engine, job_id: int, state: str, reason: str | None = None, **values: Any) -> None:
    _update(
        engine,
        job_id,
        state=state,
        step="done",
        progress=100,
        active=None,
        finished_at=_now(),
        reason=reason[:2000] if reason else None,
        **values,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_stale(engine: Engine, grace_seconds: float = 60.0) -> None:
    """A running job whose process is gone (killed, machine restarted) is failed, with why."""
    job = running_job(engine)
    if job is None:
        return
    started = (_dt.datetime.now(_dt.timezone.utc) - job.started_at).total_seconds()
    gone = _alive(job.pid) is False if job.pid else started > grace_seconds
    if gone:
        finish(
            engine,
            job.id,
            FAILED,
            "The training process stopped before it finished (was the server restarted?).",
        )


# --- the steps ---------------------------------------------------------------------------------------


def regressions(before: dict[str, Any], after: dict[str, Any], max_drop: float = MAX_DROP) -> list[str]:
    """The figures ("overall", a form, "conversations") that drop by more than `max_drop`,
    and "danger" when fewer danger messages get the urgent answer: danger always wins, so
    there no drop at all is accepted."""
    dropped = []
    for name in ("overall", *FORMS, "conversations", "danger"):
        old, new = before.get(name), after.get(name)
        if not old or not new or not old[0] or not new[0]:
            continue
        allowed = 0.0 if name == "danger" else max_drop
        if new[1] / new[0] < old[1] / old[0] - allowed - 1e-9:
            dropped.append(name)
    return dropped


def summarise(results: Any) -> dict[str, Any]:
    """The figures a retrain is judged on, from `bot.bench.Results`: [n, right] each."""
    figures: dict[str, Any] = {name: [n, right] for name, (n, right, _f1) in results.forms.items()}
    outcomes = [not failures for _conversation, failures in results.conversations]
    figures["conversations"] = [len(outcomes), sum(outcomes)]
    if results.danger:
        figures["danger"] = [
            sum(n for n, _ in results.danger.values()),
            sum(u for _, u in results.danger.values()),
        ]
    return figures


def evaluate_model(model: Path, settings: Settings) -> dict[str, Any]:
    """Held-out figures of `model`, through the in-process assistant as `make bench` does."""
    from bot.assistant import Assistant
    from bot.bench import evaluate

    with Assistant.running(model) as assistant:
        results = evaluate(assistant, settings.retrain_held_out_dir, settings.retrain_conversations_dir)
    return summarise(results)


def check_held_out(settings: Settings) -> None:
    from bot.bench import HeldOutLeak
    from bot.bench import check_held_out as bench_check

    try:
        bench_check(settings.retrain_held_out_dir, settings.training_data_dir / "nlu")
    except HeldOutLeak as leak:
        raise RetrainError(str(leak)) from None


def training_command(settings: Settings, out_dir: Path, name: str) -> list[str]:
    data = settings.training_data_dir
    return [
        sys.executable, "-m", "rasa", "train",
        "--config", str(REPO_ROOT / "config.yml"),
        "--domain", str(REPO_ROOT / "domain.yml"),
        "--data", str(data / "nlu"), str(data / "rules"), str(data / "stories"),
        "--out", str(out_dir),
        "--fixed-model-name", name,
    ]  # fmt: skip


def train_model(
    settings: Settings, name: str, on_progress: Callable[[float], None], expected_seconds: float
) -> Path:
    """`rasa train` into MODELS_DIR/candidates/<name>.tar.gz; RetrainError with the end of
    its error output when it fails. `on_progress` gets the estimated share done (0-1)."""
    out_dir = settings.models_dir / "candidates"
    out_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        training_command(settings, out_dir, name),
        cwd=REPO_ROOT,
        env=child_environment(quiet=True),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    tail: collections.deque[str] = collections.deque(maxlen=15)

    def keep_tail() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            tail.append(raw.decode("utf-8", "replace").rstrip())

    reader = threading.Thread(target=keep_tail, daemon=True)
    reader.start()
    started = time.monotonic()
    while process.poll() is None:
        on_progress(min(0.95, (time.monotonic() - started) / max(expected_seconds, 1.0)))
        time.sleep(2)
    reader.join(timeout=5)
    model = out_dir / f"{name}.tar.gz"
    if process.returncode != 0 or not model.exists():
        errors = [line for line in tail if "error" in line.lower()] or list(tail)[-3:]
        raise RetrainError(f"Training failed (exit code {process.returncode}): " + " / ".join(errors)[-600:])
    return model


def current_model(settings: Settings) -> Path:
    """The model the running assistant serves."""
    from bot.live_model import SwapError, served_model

    try:
        served = served_model(settings).get("model_file")
    except SwapError as error:
        raise RetrainError(
            f"The running assistant could not be asked which model it serves: {error}"
        ) from None
    if not served or not Path(served).exists():
        raise RetrainError("The running assistant does not say which model file it serves.")
    return Path(served)


def _swap(model: Path, settings: Settings) -> dict[str, Any]:
    from bot.live_model import SwapError, swap

    try:
        return swap(model, settings)
    except SwapError as error:
        raise RetrainError(f"The new model could not be swapped in: {error}") from None


def model_key(model: Path) -> str:
    """A model archive's identity for reusing its figures: a digest of its content (a few MB)."""
    digest = hashlib.sha256()
    with model.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]


def held_out_key(settings: Settings) -> str:
    """A digest of the held-out messages and conversations the figures were measured on."""
    digest = hashlib.sha256()
    for directory in (settings.retrain_held_out_dir, settings.retrain_conversations_dir):
        for path in sorted(directory.glob("*.yml")) if directory.exists() else []:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def known_figures(engine: Engine, model: str, held_out: str) -> dict[str, Any] | None:
    """Figures an earlier job measured for this model on this held-out set (the model in use
    was usually the last job's new model): one evaluation saved, a few minutes."""
    for job in recent_jobs(engine, 20):
        figures = job.figures or {}
        if figures.get("held_out") != held_out:
            continue
        for side in ("after", "before"):
            if figures.get(f"{side}_model") == model and figures.get(side):
                return dict(figures[side])
    return None


def _expected_seconds(engine: Engine) -> float:
    for job in recent_jobs(engine, 20):
        if job.figures and job.figures.get("training_seconds"):
            return float(job.figures["training_seconds"])
    return DEFAULT_TRAINING_SECONDS


def run_job(
    engine: Engine,
    job_id: int,
    settings: Settings,
    train: Callable[..., Path] = train_model,
    evaluate: Callable[[Path, Settings], dict[str, Any]] = evaluate_model,
    served: Callable[[Settings], Path] = current_model,
    swap: Callable[[Path, Settings], dict[str, Any]] = _swap,
) -> Job:
    """Every step of a job (module docstring); the row ends published, refused or failed."""
    _update(engine, job_id, pid=os.getpid())
    figures: dict[str, Any] = {}
    try:
        set_step(engine, job_id, "checking")
        previous = served(settings)
        check_held_out(settings)
        clear_candidates(settings)
        set_step(engine, job_id, "training")
        span = STEPS["evaluating_current"] - STEPS["training"]
        started = time.monotonic()
        candidate = train(
            settings,
            f"job-{job_id}",
            lambda share: _update(engine, job_id, progress=STEPS["training"] + int(span * share)),
            _expected_seconds(engine),
        )
        figures["training_seconds"] = round(time.monotonic() - started, 1)
        _update(engine, job_id, candidate=str(candidate), figures=json.dumps(figures))
        set_step(engine, job_id, "evaluating_current")
        figures["held_out"] = held_out_key(settings)
        figures["before_model"] = model_key(previous)
        figures["before"] = known_figures(engine, figures["before_model"], figures["held_out"]) or evaluate(
            previous, settings
        )
        set_step(engine, job_id, "evaluating_new")
        figures["after"] = evaluate(candidate, settings)
        figures["dropped"] = regressions(figures["before"], figures["after"])
        _update(engine, job_id, figures=json.dumps(figures))
        if figures["dropped"]:
            finish(
                engine,
                job_id,
                REFUSED,
                "Not published: held-out figures dropped by more than one point ("
                + ", ".join(figures["dropped"])
                + ").",
            )
        else:
            set_step(engine, job_id, "publishing")
            published = publish(candidate, settings, job_id)
            figures["after_model"] = model_key(published)
            try:
                served_now = swap(published, settings)
            except Exception:
                shutil.move(str(published), str(candidate))  # not served, so not the newest either
                raise
            figures["served_model_id"] = served_now.get("model_id")
            finish(
                engine,
                job_id,
                PUBLISHED,
                figures=json.dumps(figures),
                published_model=str(published),
                previous_model=str(previous),
            )
    except RetrainError as error:
        finish(engine, job_id, FAILED, str(error), figures=json.dumps(figures) if figures else None)
    except Exception as error:  # noqa: BLE001 - the job must end with a reason, whatever broke
        finish(engine, job_id, FAILED, f"Unexpected error: {type(error).__name__}: {error}"[:600])
    job = get_job(engine, job_id)
    assert job is not None
    return job


def clear_candidates(settings: Settings) -> None:
    """Earlier jobs' refused or failed candidates: only the last one is kept, for a look."""
    for old in (settings.models_dir / "candidates").glob("job-*.tar.gz"):
        old.unlink(missing_ok=True)


def publish(candidate: Path, settings: Settings, job_id: int) -> Path:
    """Move the candidate into MODELS_DIR, newest of all (a restart serves it too)."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = settings.models_dir / f"console-{stamp}-job{job_id}.tar.gz"
    shutil.move(str(candidate), str(target))
    os.utime(target)
    return target


def rollback(
    engine: Engine,
    job_id: int,
    staff: str,
    settings: Settings,
    swap: Callable[[Path, Settings], dict[str, Any]] = _swap,
) -> Job:
    """Serve the model a published job replaced again; RetrainError says why not."""
    job = get_job(engine, job_id)
    if job is None or not job.can_roll_back or not job.previous_model or not job.published_model:
        raise RetrainError("Only a published retrain can be rolled back.")
    if running_job(engine) is not None:
        raise RetrainError("Wait until the running retrain ends.")
    previous = Path(job.previous_model)
    if not previous.exists():
        raise RetrainError("The previous model file is gone: it cannot be served again.")
    swap(previous, settings)
    published = Path(job.published_model)
    if published.exists():
        retired = settings.models_dir / "retired"
        retired.mkdir(parents=True, exist_ok=True)
        shutil.move(str(published), str(retired / published.name))
    os.utime(previous)  # the newest again: a restart serves it too
    _update(engine, job_id, state=ROLLED_BACK, rolled_back_at=_now(), rolled_back_by=staff)
    result = get_job(engine, job_id)
    assert result is not None
    return result


# --- starting the process --------------------------------------------------------------------------


def launch(engine: Engine, job_id: int) -> subprocess.Popen:
    """`python -m bot retrain --job N`, detached: it outlives a page reload or a console restart."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "retrain", "--job", str(job_id)],
        cwd=REPO_ROOT,
        env=child_environment(quiet=True),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _update(engine, job_id, pid=process.pid)
    threading.Thread(target=process.wait, daemon=True).start()  # reaped when it ends
    return process


def lower_priority() -> None:
    """Training and evaluation yield the CPU to the running assistant."""
    try:
        os.nice(NICENESS)
    except OSError:
        pass
