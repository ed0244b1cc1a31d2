"""The console's statistics page and its CSV export (issue 12, "Statistics").

Why a page module of its own: the numbers come from `bot.statistics` (unlinkable weekly
counts, small cells already hidden by `bot.anonymity`'s one rule); this module only picks
the week, draws the charts as inline SVG on the server (no external service, no script,
nothing the Content-Security-Policy has to allow) and renders.
"""

from __future__ import annotations

import datetime as _dt

from markupsafe import Markup
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import feedback, statistics
from bot.anonymity import MIN_CELL, shown
from bot.staff import audit
from bot.staff.app import OUTCOMES, console_of, page, render

DIMENSION_LABELS = {
    "channel": "Channel",
    "lang": "Language",
    "topic": "Topic",
    "country": "Host country",
    "province": "Province",
}
TREND_WEEKS = 12


@page("/stats", "editor")
async def stats_page(request: Request) -> HTTPResponse:
    console = console_of(request)
    rows = await console.run(statistics.weekly_rows, console.engine)
    weeks = statistics.by_week(rows)
    chosen = None
    wanted = request.args.get("week", "")
    for stats in weeks:
        if stats.week.isoformat() == wanted:
            chosen = stats
    chosen = chosen or (weeks[0] if weeks else None)
    trend = list(reversed(weeks[:TREND_WEEKS]))
    labels = [w.week.strftime("%d/%m") for w in trend]
    conversations_chart = statistics.bar_chart(
        list(zip(labels, [w.total.conversations for w in trend], strict=True)),
        "Conversations per week",
    )
    rate_chart = statistics.bar_chart(
        list(zip(labels, [w.total.unanswered_rate for w in trend], strict=True)),
        "Unanswered rate per week",
        percent=True,
    )
    # Read from the database like every other figure here (not through the queue's API).
    votes = statistics.votes(await console.run(feedback.votes_by_topic, console.engine))
    handoffs = await console.run(statistics.handoff_stats, console.engine, OUTCOMES)
    return render(
        request,
        "stats.html",
        weeks=weeks,
        chosen=chosen,
        dimension_labels=DIMENSION_LABELS,
        conversations_chart=Markup(conversations_chart),
        rate_chart=Markup(rate_chart),
        votes=votes,
        handoffs=handoffs[:TREND_WEEKS],
        outcomes=OUTCOMES,
        shown=shown,
        min_cell=MIN_CELL,
        percent=lambda rate: "" if rate is None else f"{rate * 100:.0f}%",
    )


@page("/stats/export.csv", "editor")
async def stats_export(request: Request) -> HTTPResponse:
    console = console_of(request)
    rows = await console.run(statistics.weekly_rows, console.engine)
    text = statistics.export_csv(statistics.by_week(rows))
    await console.run(
        audit.record, console.engine, request.ctx.session.user.email, "stats.export", "weekly counts"
    )
    name = f"statistics-{_dt.date.today().isoformat()}.csv"
    return response.text(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
