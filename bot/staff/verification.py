"""The console's verification queue (/verification) and the agents' "flag a fact" form.

The queue and every change it makes are `bot.content.verification`; these pages only show
it and pass on the reviewer's "Verified on DATE from SOURCE". Directory rows are listed
with a link to their own page (`/directory/<table>/<id>`, the directory area), which is
where they are edited and verified: this module never writes the directory CSVs.

Agents flag a fact from a handoff (`POST /handoffs/<id>/flag`): the topic and the agent's
own note are stored, never the person's messages, so the flag can outlive the conversation
and "forget me" has nothing of theirs to find here.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.content import verification
from bot.staff.app import NOTICES, console_of, page, render

NOTICES.update(
    {
        "verified": "Marked as verified.",
        "fact_flagged": "Thank you: the fact is now in the verification queue.",
    }
)
KIND_LABELS = {
    "card": "Answer card",
    "phone": "Phone number",
    "directory": "Directory",
    "flag": "Flagged fact",
}
# The directory CSVs the queue lists (their editing and verifying is the directory pages'):
# DIRECTORY_DIR from the settings, unless a test points this elsewhere.
DIRECTORY_DIR: Path | None = None


def _root(request: Request) -> Path:
    return Path(console_of(request).settings.content_dir)


async def _queue_page(
    request: Request, status: int = 200, error: str | None = None, problems: list[str] | None = None
) -> HTTPResponse:
    console = console_of(request)
    directory = DIRECTORY_DIR or Path(console.settings.directory_dir)
    items = await console.run(verification.queue, console.engine, _root(request), directory)
    kind = request.args.get("kind", "")
    if kind in KIND_LABELS:
        items = [item for item in items if item.kind == kind]
    return render(
        request,
        "verification_queue.html",
        status=status,
        items=items,
        kind=kind,
        kind_labels=KIND_LABELS,
        confidences=verification.VERIFIED_CONFIDENCE,
        today=_dt.date.today().isoformat(),
        error=error,
        problems=problems or [],
    )


@page("/verification", "editor")
async def verification_queue(request: Request) -> HTTPResponse:
    return await _queue_page(request)


async def _verify(request: Request, call: Callable[[], object]) -> HTTPResponse:
    console = console_of(request)
    try:
        await console.run(call)
    except verification.VerificationError as refused:
        return await _queue_page(request, status=400, error=refused.message, problems=refused.problems)
    return response.redirect("/verification?notice=verified", status=303)


@page("/verification/card", "reviewer", methods=("POST",))
async def verify_card(request: Request) -> HTTPResponse:
    console = console_of(request)
    form = request.form
    me = request.ctx.session.user.email
    card_id = form.get("card") or ""
    return await _verify(
        request,
        lambda: verification.verify_card(
            console.engine, _root(request), card_id, form.get("on") or "", form.get("source") or "", me
        ),
    )


@page("/verification/phone", "reviewer", methods=("POST",))
async def verify_phone(request: Request) -> HTTPResponse:
    console = console_of(request)
    form = request.form
    me = request.ctx.session.user.email
    return await _verify(
        request,
        lambda: verification.verify_phone(
            console.engine,
            _root(request),
            form.get("number") or "",
            form.get("on") or "",
            form.get("source") or "",
            form.get("confidence") or "",
            me,
        ),
    )


@page("/verification/flags/<flag_id:int>", "reviewer", methods=("POST",))
async def verify_flag(request: Request, flag_id: int) -> HTTPResponse:
    console = console_of(request)
    form = request.form
    me = request.ctx.session.user.email
    return await _verify(
        request,
        lambda: verification.resolve_flag(
            console.engine, _root(request), flag_id, form.get("on") or "", form.get("source") or "", me
        ),
    )


@page("/handoffs/<handoff_id:int>/flag", "agent", methods=("POST",))
async def flag_fact(request: Request, handoff_id: int) -> HTTPResponse:
    """An agent doubts a fact the assistant gave: the topic and their note go to the queue."""
    console = console_of(request)
    me = request.ctx.session.user.email
    topic = request.form.get("topic") or ""
    note = request.form.get("note") or ""
    try:
        await console.run(verification.flag_fact, console.engine, topic, note, me, console.topics)
    except verification.VerificationError as refused:
        return render(request, "error.html", status=400, message=refused.message)
    return response.redirect(f"/handoffs/{handoff_id}?notice=fact_flagged", status=303)
