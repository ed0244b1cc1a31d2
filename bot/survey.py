"""Anonymous returnee profiles: the survey's questions, reading the answers, storing them
unlinkably, and the aggregates staff see.

Why: policy makers have no data on who returns and why (issue 14 §4, the ILO/IOM/UN Women
brief's "returning migrant profiles", by sex). A user who agrees answers a few questions
(host country, sector, year of return, mode of return, voluntary or not, gender, province
now, main needs); any can be skipped, the user can stop at any time, and danger always wins
(the urgent card clears the pending question, so nothing is stored).

Unlinkable by construction: `bot.db.returnee_profiles` has no pseudonym, conversation id,
channel or timestamp; the key is random, so row order says nothing about time; the values
are coarse (a year, a province, a host country). While the survey runs, the answers wait
in the conversation's own slot, which the final write clears. Aggregates never show a cell
counted from fewer than `bot.anonymity.MIN_CELL` answers, nor one that a total would give
away (complementary cells; the one shared rule, `bot.anonymity`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
import uuid
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.anonymity import exported, shown, suppress, suppress_cross
from bot.db import ensure_schema, returnee_profiles
from bot.directory.lookups import country_code, province_name
from bot.i18n import gettext
from bot.vietnamese.text import fold

DOMAIN = "reminders"
SKIP = "skip"


@dataclass(frozen=True)
class Question:
    key: str  # the column
    text: str  # English msgid (catalog `tools`)
    choices: tuple[tuple[str, str], ...]  # (value, English label msgid) offered as buttons
    typed: bool = False  # also read a typed answer (country, year, province)


QUESTIONS: tuple[Question, ...] = (
    Question(
        "host_country",
        "In which country did you work?",
        (
            ("KR", "Korea"),
            ("JP", "Japan"),
            ("TW", "Taiwan"),
            ("MY", "Malaysia"),
            ("other", "Another country"),
        ),
        typed=True,
    ),
    Question(
        "sector",
        "In which sector did you work?",
        (
            ("manufacturing", "Factory, manufacturing"),
            ("construction", "Construction"),
            ("agriculture", "Farming, fishing"),
            ("care", "Domestic or care work"),
            ("services", "Services"),
            ("other", "Other"),
        ),
    ),
    Question(
        "return_year",
        "In which year did you come back to Viet Nam? (for example 2025)",
        (),
        typed=True,
    ),
    Question(
        "return_mode",
        "How did your work abroad end?",
        (
            ("contract_end", "At the end of the contract"),
            ("early", "Early, before the contract ended"),
            ("irregular", "Without papers (overstayed or left the employer)"),
        ),
    ),
    Question(
        "voluntary", "Did you choose to come back?", (("yes", "Yes, my choice"), ("no", "No, I had to"))
    ),
    Question("gender", "You are:", (("female", "A woman"), ("male", "A man"), ("other", "Another answer"))),
    Question("province", "Which province do you live in now? (the province only)", (), typed=True),
    Question(
        "needs",
        "What do you need most now?",
        (
            ("job", "A job"),
            ("training", "Training"),
            ("loan", "A loan"),
            ("money_claims", "Money owed to me (insurance, deposit, wages)"),
            ("legal", "Legal help"),
            ("health", "Health or emotional support"),
            ("none", "Nothing now"),
        ),
    ),
)
BY_KEY = {q.key: q for q in QUESTIONS}
ORDER = [q.key for q in QUESTIONS]

# Typed words for the button values (folded), so a typed "nha may" or "female" counts.
_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "sector": {
        "manufacturing": ("nha may", "xuong", "san xuat", "che tao", "factory", "manufactur"),
        "construction": ("xay dung", "cong trinh", "construction"),
        "agriculture": ("nong nghiep", "nong trai", "ngu nghiep", "danh ca", "tau ca", "farm", "fish"),
        "care": ("giup viec", "ho ly", "cham soc", "dieu duong", "domestic", "care"),
        "services": ("dich vu", "nha hang", "khach san", "service", "restaurant", "hotel"),
    },
    "return_mode": {
        "early": ("truoc han", "truoc thoi han", "ve som", "early"),
        "irregular": ("bat hop phap", "qua han", "bo tron", "tron", "khong giay", "overstay", "irregular"),
        "contract_end": ("het han", "het hop dong", "dung han", "end of", "finished", "ended"),
    },
    "voluntary": {
        "no": ("khong", "bi ep", "phai ve", "bi duoi", "no", "had to", "forced"),
        "yes": ("co", "tu nguyen", "tu ve", "yes", "my choice"),
    },
    "gender": {
        "female": ("nu", "phu nu", "con gai", "female", "woman"),
        "male": ("nam", "dan ong", "con trai", "male", "man"),
    },
    "needs": {
        "job": ("viec lam", "tim viec", "job", "work"),
        "training": ("hoc nghe", "dao tao", "training"),
        "loan": ("vay", "loan"),
        "money_claims": ("bao hiem", "ky quy", "tien luong", "no luong", "insurance", "deposit", "wage"),
        "legal": ("phap ly", "luat", "khieu nai", "legal", "lawyer", "complain"),
        "health": ("suc khoe", "tam ly", "health", "counsel", "emotional"),
        "none": ("khong can", "nothing", "none"),
    },
}
_SKIP_WORDS = ("bo qua", "skip", "khong muon tra loi", "khong tra loi", "pass", "prefer not")


def question_text(key: str, lang: str) -> str:
    return gettext(lang, BY_KEY[key].text, domain="reminders")


def choice_label(key: str, value: str, lang: str) -> str:
    for choice, label in BY_KEY[key].choices:
        if choice == value:
            return gettext(lang, label, domain="reminders")
    return value


def _has(folded: str, word: str) -> bool:
    return re.search(rf"(?:^|\b){re.escape(word)}", folded) is not None


def read_answer(key: str, text: str, today: _dt.date) -> str | None:
    """The stored value of a typed answer or button value; SKIP for "skip"; None when the
    text answers nothing (ask again)."""
    folded = " ".join(fold(text or "").split())
    if not folded:
        return None
    if any(_has(folded, w) for w in _SKIP_WORDS):
        return SKIP
    question = BY_KEY[key]
    if folded in {c.lower() for c, _ in question.choices}:
        return next(c for c, _ in question.choices if c.lower() == folded)
    if key == "host_country":
        code = country_code(text)
        if code:
            return code if code in {"KR", "JP", "TW", "MY"} else "other"
        return "other" if any(_has(folded, w) for w in ("nuoc khac", "other", "another")) else None
    if key == "return_year":
        found = re.search(r"\b(19[89]\d|20\d\d)\b", folded)
        year = int(found[1]) if found else None
        if year is None and _has(folded, "nam nay") or folded in ("this year",):
            year = today.year
        if year is None and (_has(folded, "nam ngoai") or _has(folded, "nam truoc") or "last year" in folded):
            year = today.year - 1
        return str(year) if year and 1980 <= year <= today.year else None
    if key == "province":
        name = province_name(text)
        return name or None
    words = _WORDS.get(key, {})
    if key == "needs":
        picked = [value for value, keys in words.items() if any(_has(folded, w) for w in keys)]
        if "none" in picked and len(picked) > 1:
            picked.remove("none")
        return ",".join(picked) or None
    for value, keys in words.items():
        if any(_has(folded, w) for w in keys):
            return value
    return None


# --- the store ---------------------------------------------------------------------------

COLUMNS = ("host_country", "sector", "return_year", "return_mode", "voluntary", "gender", "province", "needs")


def save(engine: Engine, answers: dict[str, str | None]) -> bool:
    """Store one answer set under a random id, without anything that links it to the person;
    False (nothing stored) when every question was skipped."""
    values: dict[str, object] = {}
    for key in COLUMNS:
        value = answers.get(key)
        if value in (None, "", SKIP):
            continue
        values[key] = int(value) if key == "return_year" and str(value).isdigit() else value
    if not values:
        return False
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(returnee_profiles).values(id=uuid.uuid4().hex, **values))
    return True


def count(engine: Engine) -> int:
    ensure_schema(engine)
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(returnee_profiles)).scalar() or 0)


# --- aggregates --------------------------------------------------------------------------

# The breakdowns the console shows, in order: (column, English heading msgid).
BREAKDOWNS: tuple[tuple[str, str], ...] = (
    ("gender", "By sex"),
    ("return_mode", "By mode of return"),
    ("voluntary", "Voluntary return"),
    ("sector", "By sector"),
    ("host_country", "By host country"),
    ("province", "By province now"),
    ("return_year", "By year of return"),
    ("needs", "Main needs"),
)
NOT_ANSWERED = "not answered"


def tallies(engine: Engine) -> dict[str, Counter[str]]:
    """Answers counted per value of each breakdown (needs: each need named counts once)."""
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*[returnee_profiles.c[c] for c in COLUMNS])).all()
    counted: dict[str, Counter[str]] = {key: Counter() for key, _ in BREAKDOWNS}
    for row in rows:
        for key, _ in BREAKDOWNS:
            value = getattr(row, key)
            if key == "needs" and value:
                counted[key].update(v for v in str(value).split(",") if v)
            else:
                counted[key][NOT_ANSWERED if value in (None, "") else str(value)] += 1
    return counted


def sex_by(engine: Engine, key: str) -> dict[tuple[str, str], int]:
    """A cross-table of sex against another breakdown (sex-disaggregated, as the brief asks)."""
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(returnee_profiles.c.gender, returnee_profiles.c[key])).all()
    table: Counter[tuple[str, str]] = Counter()
    for gender, value in rows:
        values = str(value).split(",") if key == "needs" and value else [value]
        for v in values:
            table[(gender or NOT_ANSWERED, NOT_ANSWERED if v in (None, "") else str(v))] += 1
    return dict(table)


def label(key: str, value: str, lang: str) -> str:
    """A value as staff read it (a province is its own name; a country its code)."""
    if value == NOT_ANSWERED:
        return gettext(lang, "not answered", domain="reminders")
    if key in BY_KEY and BY_KEY[key].choices:
        return choice_label(key, value, lang)
    return value


@dataclass(frozen=True)
class Cell:
    value: str
    label: str
    count: int | None  # None: hidden (fewer than MIN_CELL answers)

    @property
    def shown(self) -> str:
        return shown(self.count)


def shown_counts(counts: Counter[str]) -> dict[str, int | None]:
    """One breakdown as published, largest first: small cells hidden and, when only one
    would be, the next smallest too (`bot.anonymity.suppress`): the survey's total is on
    the page, and a lone hidden cell would be that total minus the cells shown."""
    return suppress(dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))))


def table(counts: Counter[str], key: str, lang: str) -> list[Cell]:
    """Rows of one breakdown with its hidden cells (`shown_counts`), largest first."""
    return [Cell(value, label(key, value, lang), count) for value, count in shown_counts(counts).items()]


def sex_table(
    engine: Engine, key: str, tallied: dict[str, Counter[str]]
) -> dict[tuple[str, str], int | None]:
    """Sex against `key` as published, (sex, value) -> count or None (hidden). A value's
    cells add up to its cell in the breakdown of `key`, and (one answer per person) a sex's
    cells to its cell in the breakdown by sex: both are published, so no row or column may
    hide a single cell, and a total hidden there may not be the sum of cells shown here."""
    by_sex = shown_counts(tallied["gender"]) if key != "needs" else None
    return suppress_cross(sex_by(engine, key), row_totals=by_sex, column_totals=shown_counts(tallied[key]))


def bar_chart(cells: list[Cell], title: str) -> str:
    """A horizontal bar chart as inline SVG (rendered on the server, no external service);
    hidden cells are drawn as a grey "<10" with no bar."""
    visible = [c.count for c in cells if c.count is not None]
    top = max(visible) if visible else 1
    row, width, label_w = 22, 460, 200
    height = row * len(cells) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{_xml(title)}</title>'
    ]
    for i, cell in enumerate(cells):
        y = i * row + 5
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{_xml(cell.label[:32])}</text>')
        if cell.count is None:
            parts.append(
                f'<text x="{label_w}" y="{y + 14}" font-size="12" fill="#777">{_xml(cell.shown)}</text>'
            )
            continue
        bar = int((width - label_w - 50) * cell.count / top)
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar}" height="{row - 6}" fill="#2f6f9f"/>')
        parts.append(f'<text x="{label_w + bar + 4}" y="{y + 14}" font-size="12">{cell.count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def csv_export(engine: Engine, lang: str) -> str:
    """Every breakdown (and sex by each) as CSV rows `breakdown,value,sex,count`; a cell
    hidden on the page (fewer than MIN_CELL answers, or complementary) is exported empty."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["breakdown", "value", "sex", "count"])
    tallied = tallies(engine)
    for key, _ in BREAKDOWNS:
        for cell in table(tallied[key], key, lang):
            writer.writerow([key, cell.value, "all", exported(cell.count)])
    for key, _ in BREAKDOWNS:
        if key == "gender":
            continue
        for (gender, value), count in sorted(sex_table(engine, key, tallied).items()):
            writer.writerow([key, value, gender, exported(count)])
    return out.getvalue()
