"""The staff console's returnee-profile pages: aggregates of the anonymous survey (issue 14 §4).

Why a page and not an export only: staff and policy partners need to see who comes back and
why (by sex, mode of return, sector, host country, province, needs). Every number passes
through `bot.anonymity` (the one small-cell rule): a cell counted from fewer than 10
answers, or one the totals would give away, reads "<10" on the page and is empty in the
CSV, and the total itself is hidden below 10. Charts are inline SVG drawn on the server (`bot.survey.bar_chart`): no external
service, nothing the console's Content-Security-Policy would block. Reviewers and admins
only; each export is in the audit log.
"""

from __future__ import annotations

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import survey
from bot.anonymity import shown
from bot.i18n import gettext
from bot.staff import audit
from bot.staff.app import console_of, page, render


def _translator(lang: str):
    return lambda msgid, **params: gettext(lang, msgid, domain="reminders", **params)


def _sections(engine, lang: str) -> list[dict]:
    tallied = survey.tallies(engine)
    sections = []
    for key, heading in survey.BREAKDOWNS:
        cells = survey.table(tallied[key], key, lang)
        title = gettext(lang, heading, domain="reminders")
        sections.append({"key": key, "title": title, "cells": cells, "chart": survey.bar_chart(cells, title)})
    return sections


def _sex_tables(engine, lang: str) -> list[dict]:
    """Sex against mode of return and needs: the disaggregation the brief asks for."""
    tallied = survey.tallies(engine)
    tables = []
    for key, heading in (("return_mode", "Mode of return by sex"), ("needs", "Main needs by sex")):
        cross = survey.sex_table(engine, key, tallied)  # hidden cells are None
        sexes = sorted({g for g, _ in cross})
        values = sorted({v for _, v in cross})
        rows = [
            {
                "label": survey.label(key, value, lang),
                "cells": [shown(cross.get((sex, value), 0)) for sex in sexes],
            }
            for value in values
        ]
        tables.append(
            {
                "title": gettext(lang, heading, domain="reminders"),
                "sexes": [survey.label("gender", s, lang) for s in sexes],
                "rows": rows,
            }
        )
    return tables


@page("/returnees", "reviewer")
async def returnees(request: Request) -> HTTPResponse:
    console = console_of(request)
    lang = request.ctx.lang
    total = await console.run(survey.count, console.engine)
    sections = await console.run(_sections, console.engine, lang)
    sex_tables = await console.run(_sex_tables, console.engine, lang)
    return render(
        request,
        "returnees_summary.html",
        tr=_translator(lang),
        total=shown(total),
        sections=sections,
        sex_tables=sex_tables,
    )


@page("/returnees/export.csv", "reviewer")
async def returnees_csv(request: Request) -> HTTPResponse:
    console = console_of(request)
    body = await console.run(survey.csv_export, console.engine, request.ctx.lang)
    staff = request.ctx.session.user.email
    await console.run(audit.record, console.engine, staff, "returnees.export", "aggregate CSV")
    return response.text(
        body,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="returnee-profiles.csv"'},
    )
