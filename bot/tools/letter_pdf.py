"""The complaint letter as a PDF: the Vietnamese letter, then its English version.

Why reportlab with DejaVu Sans shipped in bot/tools/fonts/ (license beside it): the
letter must print every Vietnamese diacritic on any server, and reportlab's built-in
fonts cover only Latin-1. The PDF is built in memory (never a temporary file: it holds
what the user told us) and returned as bytes.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bot.i18n import gettext
from bot.tools.letter import LetterContent

FONT_DIR = Path(__file__).with_name("fonts")
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"


@cache
def _fonts() -> None:
    pdfmetrics.registerFont(TTFont(REGULAR, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=10.5, leading=14.5, spaceAfter=4)
    return {
        "body": body,
        "center": ParagraphStyle("center", parent=body, alignment=1),
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontName=BOLD,
            fontSize=14,
            leading=18,
            alignment=1,
            spaceBefore=8,
            spaceAfter=10,
        ),
        "heading": ParagraphStyle("heading", parent=body, fontName=BOLD, spaceBefore=8),
        "right": ParagraphStyle("right", parent=body, alignment=2),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _version(letter: LetterContent, styles: dict[str, ParagraphStyle]) -> list:
    lang = letter.lang
    flow: list = []
    if lang == "vi":
        flow.append(
            _p(
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                ParagraphStyle("nation", parent=styles["center"], fontName=BOLD),
            )
        )
        flow.append(_p("Độc lập – Tự do – Hạnh phúc", styles["center"]))
    else:
        flow.append(
            _p(
                gettext(
                    lang,
                    "English version (for reference; the Vietnamese letter is the one to send)",
                    domain="tools",
                ),
                styles["center"],
            )
        )
    flow.append(_p(letter.place_date, styles["right"]))
    flow.append(_p(letter.title, styles["title"]))
    to = gettext(lang, "To:", domain="tools")
    for addressee in letter.addressees:
        line = f"{to} {addressee.name}" + (f", {addressee.address}" if addressee.address else "")
        flow.append(_p(line, styles["body"]))
    if letter.copy_to:
        flow.append(_p(gettext(lang, "Copy to:", domain="tools"), styles["body"]))
        for addressee in letter.copy_to:
            line = f"- {addressee.name}" + (f", {addressee.address}" if addressee.address else "")
            flow.append(_p(line, styles["body"]))
    flow.append(Spacer(1, 4 * mm))
    for blank in letter.sender_blanks:
        flow.append(_p(blank, styles["body"]))
    flow.append(_p(letter.intro, styles["body"]))
    flow.append(_p(gettext(lang, "Summary of events", domain="tools"), styles["heading"]))
    rows = [[_p(date or "", styles["body"]), _p(text, styles["body"])] for date, text in letter.events]
    table = Table(rows, colWidths=[38 * mm, 132 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, "#999999"),
            ]
        )
    )
    flow.append(table)
    flow.append(_p(gettext(lang, "Request", domain="tools"), styles["heading"]))
    flow.append(_p(letter.request, styles["body"]))
    flow.append(_p(gettext(lang, "Attached (copies)", domain="tools"), styles["heading"]))
    for item in letter.evidence:
        flow.append(_p(f"- {item}", styles["body"]))
    flow.append(Spacer(1, 8 * mm))
    flow.append(_p(letter.signature, styles["right"]))
    return flow


def render_pdf(versions: list[LetterContent]) -> bytes:
    """One PDF with each version (Vietnamese first) starting on its own page."""
    _fonts()
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=versions[0].title if versions else "",
        author="",
        creator="",
        producer="",
    )
    flow: list = []
    for index, version in enumerate(versions):
        if index:
            flow.append(PageBreak())
        flow += _version(version, styles)
    document.build(flow)
    return buffer.getvalue()
