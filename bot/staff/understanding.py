"""The console's Understanding pages: teach the assistant a new way of asking, retrain it,
and publish the new model live only when the held-out figures hold.

Web layer only: the examples (where they are written, what they collide with) are
`bot.nlu.training_data`, the jobs (train, measure, refuse or publish, roll back) are
`bot.training`, and the swap into the running Rasa server is `bot.live_model`.

- Editors add examples, typed or from a group of the unanswered queue (the queue page
  posts the group's key, never its text in a URL). The same folded text under another
  topic is a warning that must be confirmed; a held-out message is refused.
- Reviewers start a retrain and roll a published one back: a model decides every answer,
  so it takes the same role that approves content. The job runs in its own process;
  the page polls `/understanding/jobs/<id>` (static/understanding.js, no inline script)
  for the progress bar and reloads when the job ends to show the figures.

The audit log names topics, files and job ids, never the example text (it may come from
a user's masked message, and the audit log is kept longer than the queue).
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import training
from bot.content.topics import load_topics
from bot.db import ensure_schema, training_examples
from bot.i18n import gettext
from bot.nlu import training_data
from bot.staff import audit
from bot.staff.app import NOTICES, console_of, page, render

NOTICES.update(
    {
        "example_added": "The example was added. It counts from the next retrain.",
        "example_known": "This topic already has that example.",
        "retrain_started": "The retrain started. You can leave this page: it goes on.",
        "rolled_back": "The previous model is served again.",
    }
)

STEP_LABELS = {
    "queued": "Waiting to start",
    "checking": "Checking the held-out set",
    "training": "Training",
    "evaluating_current": "Measuring the model in use",
    "evaluating_new": "Measuring the new model",
    "publishing": "Swapping the new model in",
    "done": "Finished",
}
STATE_LABELS = {
    "running": "Running",
    "published": "Published",
    "refused": "Not published",
    "failed": "Failed",
    "rolled_back": "Rolled back",
}
FIGURE_LABELS = {
    "overall": "All held-out messages",
    "accented": "Vietnamese with diacritics",
    "unaccented": "Vietnamese without diacritics",
    "colloquial": "Colloquial Vietnamese",
    "english": "English",
    "conversations": "Conversations (every turn right)",
    "danger": "Danger messages answered as urgent",
}
FIGURE_ORDER = ("overall", "accented", "unaccented", "colloquial", "english", "conversations", "danger")
HELD_OUT_REFUSAL = (
    "This text is a held-out message: training on it would make the figures measure memory. "
    "Write it differently."
)
DUPLICATE_WARNING = (
    "The same text (ignoring diacritics, case and punctuation) is already an example of: {topics}."
)
JOB_RUNNING = "A retrain is already running."
ROLLBACK_REFUSED = "This retrain cannot be rolled back."
UNKNOWN_TOPIC = "Unknown topic."
GROUP_GONE = "This group is no longer in the queue."
ERRORS = (HELD_OUT_REFUSAL, JOB_RUNNING, ROLLBACK_REFUSED, UNKNOWN_TOPIC, GROUP_GONE)


def _rate(pair: Any) -> float | None:
    return pair[1] / pair[0] if pair and pair[0] else None


def figure_rows(figures: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Rows of the before/after table: label, n, both rates (0-1), change, dropped."""
    if not figures or "before" not in figures or "after" not in figures:
        return []
    dropped = set(figures.get("dropped") or [])
    rows = []
    for name in FIGURE_ORDER:
        before, after = figures["before"].get(name), figures["after"].get(name)
        if not before and not after:
            continue
        old, new = _rate(before), _rate(after)
        rows.append(
            {
                "name": name,
                "label": FIGURE_LABELS[name],
                "n": (after or before)[0],
                "before": old,
                "after": new,
                "change": (new - old) if old is not None and new is not None else None,
                "dropped": name in dropped,
            }
        )
    return rows


def _recent_examples(engine: Any, limit: int = 20) -> list[Any]:
    ensure_schema(engine)
    with engine.connect() as connection:
        return connection.execute(
            sa.select(training_examples).order_by(training_examples.c.id.desc()).limit(limit)
        ).all()


def _record_example(engine: Any, topic: str, text: str, file: str, source: str, staff: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.insert(training_examples).values(
                topic=topic,
                text=text,
                file=file,
                source=source,
                added_by=staff,
                added_at=training._now(),
            )
        )


def _jobs(engine: Any) -> list[training.Job]:
    training.mark_stale(engine)
    return training.recent_jobs(engine, 5)


async def _page(request: Request, status: int = 200, **form: Any) -> HTTPResponse:
    console = console_of(request)
    jobs = await console.run(_jobs, console.engine)
    examples = await console.run(_recent_examples, console.engine)
    latest = jobs[0] if jobs else None
    return render(
        request,
        "understanding.html",
        status=status,
        topics=console.topics,
        examples=examples,
        jobs=jobs,
        latest=latest,
        rows=figure_rows(latest.figures if latest else None),
        step_labels=STEP_LABELS,
        state_labels=STATE_LABELS,
        form_text=form.pop("form_text", ""),
        form_topic=form.pop("form_topic", ""),
        form_key=form.pop("form_key", ""),
        **form,
    )


@page("/understanding", "editor")
async def understanding(request: Request) -> HTTPResponse:
    return await _page(request)


def _group_of(console: Any, topic: str) -> str:
    for item in load_topics(console.settings.topics_file):
        if item.id == topic:
            return item.group or "other"
    return "other"


@page("/understanding/from-queue", "editor", methods=("POST",))
async def from_queue(request: Request) -> HTTPResponse:
    """The add form, filled with a queue group's (masked) sample."""
    console = console_of(request)
    key = request.form.get("key") or ""
    groups = await console.run(console.feedback.queue, console.engine, "open") if console.feedback else []
    group = next((g for g in groups if g.key == key), None)
    if group is None:
        return await _page(request, status=404, error=GROUP_GONE)
    return await _page(request, form_text=group.sample, form_topic=group.topic or "", form_key=key)


@page("/understanding/examples", "editor", methods=("POST",))
async def add_example(request: Request) -> HTTPResponse:
    console = console_of(request)
    me = request.ctx.session.user.email
    topic = request.form.get("topic") or ""
    text = request.form.get("text") or ""
    key = request.form.get("key") or ""
    kept = {"form_text": text[:1000], "form_topic": topic, "form_key": key}
    if topic not in console.topics:
        return await _page(request, status=400, error=UNKNOWN_TOPIC, **kept)
    nlu_dir = console.settings.training_data_dir / "nlu"
    try:
        index = await console.run(training_data.build_index, nlu_dir, console.settings.retrain_held_out_dir)
        check = training_data.check_example(index, topic, text)
    except training_data.ExampleError as error:
        return await _page(request, status=400, error=str(error), **kept)
    if check.held_out:
        return await _page(request, status=400, error=HELD_OUT_REFUSAL, **kept)
    if check.already_there:
        return response.redirect("/understanding?notice=example_known", status=303)
    if check.other_topics and request.form.get("confirm") != "1":
        return await _page(
            request,
            status=409,
            duplicate_of=check.other_topics,
            duplicate_warning=DUPLICATE_WARNING,
            **kept,
        )
    path = await console.run(training_data.add_example, nlu_dir, _group_of(console, topic), topic, check.text)
    relative = str(path.relative_to(console.settings.training_data_dir.parent))
    source = "queue" if key else "typed"
    await console.run(_record_example, console.engine, topic, check.text, relative, source, me)
    detail = f"{topic} -> {relative} ({source})"
    if check.other_topics:
        detail += ", also an example of " + ", ".join(check.other_topics)
    await console.run(audit.record, console.engine, me, "understanding.example", detail)
    if key and console.feedback is not None:
        await console.run(console.feedback.link_topic, console.engine, key, topic, me)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        await console.run(audit.record, console.engine, me, "queue.link", f"group {digest} -> {topic}")
    return response.redirect("/understanding?notice=example_added", status=303)


@page("/understanding/retrain", "reviewer", methods=("POST",))
async def retrain(request: Request) -> HTTPResponse:
    console = console_of(request)
    me = request.ctx.session.user.email
    try:
        job = await console.run(training.start_job, console.engine, me)
    except training.JobRunning:
        return await _page(request, status=409, error=JOB_RUNNING)
    try:
        await console.run(training.launch, console.engine, job.id)
    except OSError as error:
        reason = f"The training process could not start: {type(error).__name__}"
        await console.run(training.finish, console.engine, job.id, training.FAILED, reason)
    await console.run(audit.record, console.engine, me, "understanding.retrain", f"job {job.id}")
    return response.redirect("/understanding?notice=retrain_started", status=303)


@page("/understanding/jobs/<job_id:int>", "editor", json=True)
async def job_status(request: Request, job_id: int) -> HTTPResponse:
    console = console_of(request)
    await console.run(training.mark_stale, console.engine)
    job = await console.run(training.get_job, console.engine, job_id)
    if job is None:
        return response.json({"error": "no such job"}, status=404)
    return response.json(
        {
            "id": job.id,
            "state": job.state,
            "running": job.running,
            "step": job.step,
            "progress": job.progress,
            "label": gettext(request.ctx.lang, STEP_LABELS.get(job.step, job.step), domain="staff"),
        }
    )


@page("/understanding/jobs/<job_id:int>/rollback", "reviewer", methods=("POST",))
async def roll_back(request: Request, job_id: int) -> HTTPResponse:
    console = console_of(request)
    me = request.ctx.session.user.email
    try:
        job = await console.run(training.rollback, console.engine, job_id, me, console.settings)
    except training.RetrainError as error:
        return await _page(request, status=409, error=ROLLBACK_REFUSED, reason=str(error))
    await console.run(audit.record, console.engine, me, "understanding.rollback", f"job {job.id}")
    return response.redirect("/understanding?notice=rolled_back", status=303)
