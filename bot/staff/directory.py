"""The console's directory pages: browse, add, edit, retire, preview, review, verify, export.

Why a page module of its own: the logic is `bot.directory.editing` (plain Python, the same
checks as the CSV loader); these handlers only read forms, call it, write the audit log and
render. Editors write drafts; a reviewer other than the author publishes them. The row page
`/directory/<table>/<id>` and its "Verified on DATE from SOURCE" form
(`/directory/<table>/<id>/verify`) are linked from the verification queue: keep the URLs.
Directory rows are public contacts, so the audit log may carry their before/after values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.directory import editing
from bot.directory.models import CONFIDENCE_LEVELS
from bot.markup import to_html
from bot.staff import audit
from bot.staff.app import NOTICES, console_of, page, render
from bot.staff.roles import at_least

NOTICES.update(
    {
        "draft_saved": "Your change is saved as a draft and waits for a reviewer.",
        "published": "Published: the assistant answers with it now.",
        "rejected": "The change was rejected.",
        "verified": "Marked as verified.",
    }
)
NO_FILES = "The directory files cannot be read: check DIRECTORY_DIR on the server."
TABLE_LABELS = {"offices": "Offices", "partners": "Partners"}
ACTION_LABELS = {"add": "New entry", "edit": "Change", "retire": "Retire"}
STATUS_LABELS = {"pending": "Waiting for review", "published": "Published", "rejected": "Rejected"}
LIST_COLUMNS = {
    "offices": ("country", "kind", "city"),
    "partners": ("kind", "services", "provinces"),
}


def _data_dir(request: Request) -> Path:
    return Path(console_of(request).settings.directory_dir)


def _database_url(request: Request) -> str:
    """The console's own database (where the directory is reloaded), with its password."""
    return console_of(request).engine.url.render_as_string(hide_password=False)


def _me(request: Request) -> str:
    return request.ctx.session.user.email


def _form(request: Request) -> dict[str, str]:
    return {k: (request.form.get(k) or "") for k in request.form} if request.form else {}


def _previews(proposal: editing.Proposal | None) -> dict[str, Markup]:
    """The reply in each language as the chat shows it (bold, bullets); `to_html` escapes
    the text first, so a cell holding markup is shown as text."""
    if proposal is None:
        return {}
    return {lang: Markup(to_html(editing.preview(proposal, lang))) for lang in ("vi", "en")}


def _changes_text(changes: list[tuple[str, str, str]]) -> str:
    return "; ".join(f"{c}: '{b[:80]}' -> '{a[:80]}'" for c, b, a in changes)[:1500]


async def _not_found(request: Request) -> HTTPResponse:
    return render(request, "error.html", status=404, message="There is no such page.")


# --- browsing -------------------------------------------------------------------------------------


@page("/directory", "editor")
async def directory_home(request: Request) -> HTTPResponse:
    console = console_of(request)
    data_dir = _data_dir(request)
    tables = {}
    for table in editing.TABLES:
        try:
            file = await console.run(editing.read_file, data_dir, table)
        except OSError:
            return render(request, "error.html", status=503, message=NO_FILES)
        tables[table] = list(file.rows().values())
    pending = await console.run(editing.drafts, console.engine, editing.PENDING)
    return render(
        request,
        "directory_list.html",
        tables=tables,
        table_labels=TABLE_LABELS,
        list_columns=LIST_COLUMNS,
        pending=pending,
        action_labels=ACTION_LABELS,
    )


@page("/directory/export/<table>", "editor")
async def directory_export(request: Request, table: str) -> HTTPResponse:
    console = console_of(request)
    if table not in editing.TABLES:
        return await _not_found(request)
    text = await console.run(editing.export, _data_dir(request), table)
    await console.run(audit.record, console.engine, _me(request), "directory.export", table)
    return response.text(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{editing.TABLES[table]}"'},
    )


# --- add and edit ---------------------------------------------------------------------------------


async def _edit_page(
    request: Request,
    table: str,
    action: str,
    row_id: str,
    cells: dict[str, str],
    status: int = 200,
    errors: list[str] | None = None,
    proposal: editing.Proposal | None = None,
) -> HTTPResponse:
    console = console_of(request)
    columns = await console.run(editing.columns, _data_dir(request), table)
    row_drafts = await console.run(editing.drafts, console.engine, None, row_id) if row_id else []
    return render(
        request,
        "directory_row.html",
        status=status,
        table=table,
        table_labels=TABLE_LABELS,
        action=action,
        row_id=row_id,
        cells=cells,
        columns=columns,
        errors=errors or [],
        previews=_previews(proposal),
        confidence_levels=CONFIDENCE_LEVELS,
        row_drafts=row_drafts,
        action_labels=ACTION_LABELS,
        status_labels=STATUS_LABELS,
        can_verify=at_least(request.ctx.session.user.role, "reviewer"),
    )


@page("/directory/<table>/new", "editor")
async def directory_new(request: Request, table: str) -> HTTPResponse:
    if table not in editing.TABLES:
        return await _not_found(request)
    return await _edit_page(request, table, "add", "", {})


@page("/directory/<table>/<row_id>", "editor")
async def directory_row(request: Request, table: str, row_id: str) -> HTTPResponse:
    console = console_of(request)
    if table not in editing.TABLES:
        return await _not_found(request)
    file = await console.run(editing.read_file, _data_dir(request), table)
    cells = file.rows().get(row_id)
    if cells is None:
        return await _not_found(request)
    try:
        proposal = await console.run(editing.current, _data_dir(request), table, row_id)
        errors: list[str] = []
    except editing.EditError as error:  # the files have a problem elsewhere: still editable
        proposal, errors = None, error.errors
    return await _edit_page(request, table, "edit", row_id, cells, errors=errors, proposal=proposal)


async def _propose(request: Request, table: str, action: str, row_id: str) -> HTTPResponse:
    console = console_of(request)
    data_dir = _data_dir(request)
    cells = await console.run(editing.clean_cells, data_dir, table, _form(request))
    if action == "edit":
        cells["id"] = row_id
    wanted_id = row_id if action == "edit" else cells.get("id", "")
    if request.form.get("step") == "preview":
        try:
            proposal = await console.run(editing.propose_texts, data_dir, table, action, wanted_id, cells)
        except editing.EditError as error:
            return await _edit_page(request, table, action, row_id, cells, status=400, errors=error.errors)
        return await _edit_page(request, table, action, row_id, cells, proposal=proposal)
    try:
        draft, _proposal = await console.run(
            editing.propose, console.engine, data_dir, table, action, wanted_id, cells, _me(request)
        )
    except editing.EditError as error:
        return await _edit_page(request, table, action, row_id, cells, status=400, errors=error.errors)
    await console.run(
        audit.record,
        console.engine,
        _me(request),
        "directory.draft",
        f"draft {draft.id}: {action} {table}/{draft.row_id}: {_changes_text(draft.changes())}",
    )
    return response.redirect(f"/directory/drafts/{draft.id}?notice=draft_saved", status=303)


@page("/directory/<table>/new", "editor", methods=("POST",))
async def directory_add(request: Request, table: str) -> HTTPResponse:
    if table not in editing.TABLES:
        return await _not_found(request)
    return await _propose(request, table, "add", "")


@page("/directory/<table>/<row_id>", "editor", methods=("POST",))
async def directory_edit(request: Request, table: str, row_id: str) -> HTTPResponse:
    if table not in editing.TABLES:
        return await _not_found(request)
    return await _propose(request, table, "edit", row_id)


@page("/directory/<table>/<row_id>/retire", "editor", methods=("POST",))
async def directory_retire(request: Request, table: str, row_id: str) -> HTTPResponse:
    console = console_of(request)
    if table not in editing.TABLES:
        return await _not_found(request)
    try:
        draft, _proposal = await console.run(
            editing.propose, console.engine, _data_dir(request), table, "retire", row_id, {}, _me(request)
        )
    except editing.EditError as error:
        return render(request, "error.html", status=400, message=error.errors[0])
    await console.run(
        audit.record,
        console.engine,
        _me(request),
        "directory.draft",
        f"draft {draft.id}: retire {table}/{row_id}",
    )
    return response.redirect(f"/directory/drafts/{draft.id}?notice=draft_saved", status=303)


# --- verification (linked from the verification queue) ----------------------------------------------


@page("/directory/<table>/<row_id>/verify", "reviewer", methods=("POST",))
async def directory_verify(request: Request, table: str, row_id: str) -> HTTPResponse:
    console = console_of(request)
    if table not in editing.TABLES:
        return await _not_found(request)
    checked_on = request.form.get("checked_on") or ""
    source = request.form.get("source") or ""
    confidence = request.form.get("confidence") or None
    try:
        before, _report = await console.run(
            editing.verify,
            _data_dir(request),
            _database_url(request),
            table,
            row_id,
            checked_on,
            source,
            confidence,
        )
    except editing.EditError as error:
        file = await console.run(editing.read_file, _data_dir(request), table)
        cells = file.rows().get(row_id)
        if cells is None:
            return await _not_found(request)
        return await _edit_page(request, table, "edit", row_id, cells, status=400, errors=error.errors)
    detail = (
        f"{table}/{row_id}: verified on {checked_on.strip()} from '{source.strip()[:300]}'"
        f" (was {before.get('last_checked', '')} from '{before.get('source', '')[:300]}')"
    )
    if confidence:
        detail += f", confidence {before.get('confidence', '')} -> {confidence}"
    await console.run(audit.record, console.engine, _me(request), "directory.verify", detail)
    return response.redirect(f"/directory/{table}/{row_id}?notice=verified", status=303)


# --- review ---------------------------------------------------------------------------------------------


async def _draft_page(
    request: Request, draft: editing.Draft, status: int = 200, errors: list[str] | None = None
) -> HTTPResponse:
    console = console_of(request)
    proposal = None
    problems = list(errors or [])
    if draft.status == editing.PENDING:
        try:
            proposal = await console.run(editing.draft_proposal, _data_dir(request), draft)
        except editing.EditError as error:
            problems += error.errors
    return render(
        request,
        "directory_draft.html",
        status=status,
        draft=draft,
        errors=problems,
        previews=_previews(proposal),
        table_labels=TABLE_LABELS,
        action_labels=ACTION_LABELS,
        status_labels=STATUS_LABELS,
    )


async def _draft_or_404(request: Request, draft_id: int) -> Any:
    console = console_of(request)
    return await console.run(editing.get, console.engine, draft_id)


@page("/directory/drafts/<draft_id:int>", "editor")
async def directory_draft(request: Request, draft_id: int) -> HTTPResponse:
    draft = await _draft_or_404(request, draft_id)
    if draft is None:
        return await _not_found(request)
    return await _draft_page(request, draft)


@page("/directory/drafts/<draft_id:int>/approve", "reviewer", methods=("POST",))
async def directory_approve(request: Request, draft_id: int) -> HTTPResponse:
    console = console_of(request)
    draft = await _draft_or_404(request, draft_id)
    if draft is None:
        return await _not_found(request)
    try:
        report = await console.run(
            editing.publish,
            console.engine,
            _data_dir(request),
            _database_url(request),
            draft_id,
            _me(request),
        )
    except editing.EditError as error:
        status = 403 if error.errors == [editing.OWN_DRAFT] else 409
        return await _draft_page(request, draft, status=status, errors=error.errors)
    await console.run(
        audit.record,
        console.engine,
        _me(request),
        "directory.publish",
        f"draft {draft.id} by {draft.author}: {draft.action} {draft.table}/{draft.row_id}: "
        f"{_changes_text(draft.changes())}; {report}",
    )
    target = f"/directory/{draft.table}/{draft.row_id}" if draft.action != "retire" else "/directory"
    return response.redirect(f"{target}?notice=published", status=303)


@page("/directory/drafts/<draft_id:int>/reject", "reviewer", methods=("POST",))
async def directory_reject(request: Request, draft_id: int) -> HTTPResponse:
    console = console_of(request)
    draft = await _draft_or_404(request, draft_id)
    if draft is None:
        return await _not_found(request)
    try:
        await console.run(
            editing.reject, console.engine, draft_id, _me(request), request.form.get("note") or ""
        )
    except editing.EditError as error:
        return await _draft_page(request, draft, status=409, errors=error.errors)
    await console.run(
        audit.record, console.engine, _me(request), "directory.reject", f"draft {draft.id} by {draft.author}"
    )
    return response.redirect(f"/directory/drafts/{draft_id}?notice=rejected", status=303)
