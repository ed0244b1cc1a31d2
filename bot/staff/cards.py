"""The console's answer-card pages (/cards): browse, edit vi and en side by side with a live
preview and the checks, review, publish, history and restore.

The pages are thin: every rule (who may approve, what the checks require, how a card is
written to content/) lives in `bot.content.revisions`, so the CLI import and the console
follow the same one. The live preview is `bot.content.preview` (the channels' own
rendering and splitting). While an editor types, static/cards.js posts both texts to
`/cards/<id>/check` and swaps in the server-rendered, escaped fragment it gets back: no
inline script, as the console's Content-Security-Policy requires.

Roles: editors (and above) edit and send for review; reviewers approve, reject and
restore. Restoring an earlier live revision is one step, by a reviewer, without a second
review: it was reviewed when it first went live, and a rollback is wanted fastest when
something wrong is live (it must still pass today's checks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.content import revisions
from bot.content.cards import LANGUAGES, CardError, parse_card
from bot.content.preview import PlatformPreview, preview_card
from bot.content.topics import group_labels, topic_groups
from bot.i18n import gettext
from bot.staff.app import NOTICES, console_of, page, render

NOTICES.update(
    {
        "draft_saved": "Draft saved.",
        "sent_for_review": "Sent for review.",
        "approved": "Approved: the card is live.",
        "rejected": "Sent back to the author.",
        "restored": "Restored: that revision is live again.",
    }
)
STATUS_LABELS = {
    "draft": "Draft",
    "review": "Waiting for review",
    "live": "Live",
    "superseded": "Earlier version",
    "rejected": "Rejected",
}
PLATFORM_LABELS = {"telegram": "Telegram", "zalo": "Zalo", "webchat": "Web chat"}
TEXT_LIMIT = 20_000  # characters per language: far above any card, below the request limit
NO_CARD = "There is no such card."


def _root(request: Request) -> Path:
    return Path(console_of(request).settings.content_dir)


async def _not_found(request: Request) -> HTTPResponse:
    return render(request, "error.html", status=404, message=NO_CARD)


def _form_texts(request: Request) -> dict[str, str]:
    return {lang: (request.form.get(lang) or "")[:TEXT_LIMIT] for lang in LANGUAGES}


async def _previews(
    request: Request, card_id: str, texts: dict[str, str]
) -> dict[str, list[PlatformPreview]]:
    """Per language, the card as each platform shows it (none for a text that does not load)."""
    console = console_of(request)
    shown: dict[str, list[PlatformPreview]] = {}
    for lang in LANGUAGES:
        try:
            card = parse_card(
                revisions.normalise(texts.get(lang, "")), _root(request) / lang / f"{card_id}.md", lang
            )
        except CardError:
            continue
        shown[lang] = await preview_card(card, console.library)
    return shown


async def _checked(request: Request, card_id: str, texts: dict[str, str]) -> dict[str, Any]:
    console = console_of(request)
    normal = {lang: revisions.normalise(texts.get(lang, "")) for lang in LANGUAGES}
    problems = await console.run(revisions.problems_of, _root(request), card_id, normal)
    return {"problems": [str(p) for p in problems], "previews": await _previews(request, card_id, texts)}


def _card_listing(request: Request) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group label, [(card id, title)])]: topics by group, then the other cards."""
    console = console_of(request)
    root = _root(request)
    ids = revisions.card_ids(root)
    labels = group_labels(console.settings.topics_file)
    listed: set[str] = set()
    groups = []
    for group, topics in topic_groups(console.settings.topics_file).items():
        cards = [(t, console.card_title(t, request.ctx.lang)) for t in topics if t in ids]
        listed.update(t for t, _ in cards)
        if cards:
            groups.append((labels.get(group, group), cards))
    rest = [(c, console.card_title(c, request.ctx.lang)) for c in ids if c not in listed]
    if rest:
        groups.append(("Other cards", rest))
    return groups


@page("/cards", "editor")
async def cards_index(request: Request) -> HTTPResponse:
    console = console_of(request)
    waiting = await console.run(revisions.waiting_for_review, console.engine)
    return render(
        request,
        "cards_list.html",
        groups=_card_listing(request),
        waiting=waiting,
        status_labels=STATUS_LABELS,
    )


async def _edit_page(
    request: Request,
    card_id: str,
    texts: dict[str, str] | None = None,
    status: int = 200,
    error: str | None = None,
    problems: list[str] | None = None,
    note: str = "",
) -> HTTPResponse:
    console = console_of(request)
    root = _root(request)
    current = await console.run(revisions.sync_with_files, console.engine, root, card_id)
    if current is None:
        return await _not_found(request)
    started_from = None
    history = await console.run(revisions.history, console.engine, card_id)
    if texts is None:
        texts = current.texts
        wanted = request.args.get("from", "")
        # Your own draft of the live version comes back when you open the card again.
        mine = next(
            (
                r
                for r in history
                if r.status == "draft" and r.author == request.ctx.session.user.email and r.id > current.id
            ),
            None,
        )
        chosen = mine.id if mine else None
        if wanted.isdigit():
            chosen = int(wanted)
        older = next((r for r in history if r.id == chosen), None)
        if older is not None:
            texts, started_from = older.texts, older.id
    checked = await _checked(request, card_id, texts)
    return render(
        request,
        "cards_edit.html",
        status=status,
        card_id=card_id,
        title=console.card_title(card_id, request.ctx.lang),
        texts=texts,
        live=current,
        history=history,
        started_from=started_from,
        problems=problems if problems is not None else checked["problems"],
        previews=checked["previews"],
        platform_labels=PLATFORM_LABELS,
        status_labels=STATUS_LABELS,
        error=error,
        note=note,
        languages=LANGUAGES,
    )


@page("/cards/<card_id>", "editor")
async def card_page(request: Request, card_id: str) -> HTTPResponse:
    if not revisions.valid_card_id(card_id):
        return await _not_found(request)
    return await _edit_page(request, card_id)


@page("/cards/<card_id>", "editor", methods=("POST",))
async def card_save(request: Request, card_id: str) -> HTTPResponse:
    console = console_of(request)
    if not revisions.valid_card_id(card_id):
        return await _not_found(request)
    texts = _form_texts(request)
    note = (request.form.get("note") or "").strip()[:300]
    submit = request.form.get("action") == "review"
    me = request.ctx.session.user.email
    try:
        await console.run(
            lambda: revisions.save_draft(console.engine, _root(request), card_id, texts, me, note, submit)
        )
    except revisions.RevisionError as refused:
        status = 404 if refused.message == revisions.UNKNOWN_CARD else 400
        return await _edit_page(
            request,
            card_id,
            texts,
            status=status,
            error=refused.message,
            problems=refused.problems or None,
            note=note,
        )
    return response.redirect(
        f"/cards/{card_id}?notice={'sent_for_review' if submit else 'draft_saved'}", status=303
    )


@page("/cards/<card_id>/check", "editor", methods=("POST",), json=True)
async def card_check(request: Request, card_id: str) -> HTTPResponse:
    """The checks and the preview for the texts being typed (JSON for static/cards.js)."""
    if not revisions.valid_card_id(card_id):
        return response.json({"error": "unknown card"}, status=404)
    checked = await _checked(request, card_id, _form_texts(request))
    fragment = console_of(request).templates.get_template("_cards_preview.html")
    lang = request.ctx.lang
    html = fragment.render(
        _=lambda msgid, **params: gettext(lang, msgid, domain="staff", **params),
        problems=checked["problems"],
        previews=checked["previews"],
        platform_labels=PLATFORM_LABELS,
        languages=LANGUAGES,
    )
    return response.json({"ok": not checked["problems"], "problems": checked["problems"], "html": html})


async def _revision_or_404(request: Request, revision_id: int) -> revisions.Revision | None:
    console = console_of(request)
    return await console.run(revisions.get, console.engine, revision_id)


async def _revision_page(
    request: Request,
    revision: revisions.Revision,
    status: int = 200,
    error: str | None = None,
    problems: list[str] | None = None,
) -> HTTPResponse:
    console = console_of(request)
    current = await console.run(revisions.live, console.engine, revision.card_id)
    base = None
    if revision.based_on is not None:
        base = await console.run(revisions.get, console.engine, revision.based_on)
    compared = base if base is not None and revision.status in ("draft", "review", "rejected") else current
    changes = revisions.diff(revision.card_id, compared.texts if compared else None, revision.texts)
    return render(
        request,
        "cards_revision.html",
        status=status,
        revision=revision,
        live=current,
        compared=compared,
        changes=changes,
        status_labels=STATUS_LABELS,
        title=console.card_title(revision.card_id, request.ctx.lang),
        error=error,
        problems=problems or [],
        languages=LANGUAGES,
    )


@page("/cards/revisions/<revision_id:int>", "editor")
async def revision_page(request: Request, revision_id: int) -> HTTPResponse:
    revision = await _revision_or_404(request, revision_id)
    if revision is None:
        return await _not_found(request)
    return await _revision_page(request, revision)


async def _act(request: Request, revision_id: int, action: str) -> HTTPResponse:
    console = console_of(request)
    revision = await _revision_or_404(request, revision_id)
    if revision is None:
        return await _not_found(request)
    me = request.ctx.session.user.email
    root = _root(request)
    calls = {
        "submit": (lambda: revisions.submit(console.engine, root, revision_id, me), "sent_for_review"),
        "approve": (lambda: revisions.approve(console.engine, root, revision_id, me), "approved"),
        "reject": (
            lambda: revisions.reject(console.engine, revision_id, me, (request.form.get("note") or "")[:300]),
            "rejected",
        ),
        "restore": (lambda: revisions.restore(console.engine, root, revision_id, me), "restored"),
    }
    call, notice = calls[action]
    try:
        await console.run(call)
    except revisions.RevisionError as refused:
        status = 403 if refused.message == revisions.REVIEW_OWN else 409
        return await _revision_page(
            request, revision, status=status, error=refused.message, problems=refused.problems
        )
    return response.redirect(f"/cards/{revision.card_id}?notice={notice}", status=303)


@page("/cards/revisions/<revision_id:int>/submit", "editor", methods=("POST",))
async def revision_submit(request: Request, revision_id: int) -> HTTPResponse:
    return await _act(request, revision_id, "submit")


@page("/cards/revisions/<revision_id:int>/approve", "reviewer", methods=("POST",))
async def revision_approve(request: Request, revision_id: int) -> HTTPResponse:
    return await _act(request, revision_id, "approve")


@page("/cards/revisions/<revision_id:int>/reject", "reviewer", methods=("POST",))
async def revision_reject(request: Request, revision_id: int) -> HTTPResponse:
    return await _act(request, revision_id, "reject")


@page("/cards/revisions/<revision_id:int>/restore", "reviewer", methods=("POST",))
async def revision_restore(request: Request, revision_id: int) -> HTTPResponse:
    return await _act(request, revision_id, "restore")
