"""The Overseas Employment Support Fund checker: which support case of Decision
34/2025/QĐ-TTg fits the user, what to prepare, where to file.

Why this shape: the rules are a table (`fund_rules.yml`) that a lawyer can read and staff
can correct, each row citing its article; this module only asks the questions a case
needs (why the user came back; for an early return, when and with which papers; whether
they paid the Fund contribution) and reads the table. An amount is shown only where the
table marks it confirmed in the reference; everything else ends with "ask the Fund" and
how to reach the Department of Overseas Labour (through the provincial Sở Nội vụ or the
sending enterprise: no phone number of either the Fund or the Department is confirmed,
content.md §3 row 11). The answers are a few codes kept in a slot until the result.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.i18n import format_month, gettext, supported
from bot.tools.guided import Reply, Said, Step, asks_something_else, cancels, choice_buttons, numbered, yes_no
from bot.tools.parsing import Day, parse_day
from bot.vietnamese.text import fold

RULES_FILE = Path(__file__).with_name("fund_rules.yml")
TOOL = "fund"
INTENT = "fund_check"
REASONS = [
    "accident_illness",
    "employer_closed",
    "abuse",
    "normal_end",
    "own_reason",
    "death_missing",
    "dispute",
]
HAS_DOCUMENTS = ["liquidation", "alternative", "none"]
CONTRIBUTED = ["yes", "no", "unsure"]
LIQUIDATION_DAYS = 180  # Law 69/2020 Arts. 26(2)(i), 46(8): HIGH

# Words that name a reason (folded, no diacritics), checked in this order.
_REASON_WORDS = [
    ("death_missing", r"\b(?:chet|qua doi|tu vong|mat tich|died|dead|death|missing|passed away)\b"),
    (
        "abuse",
        r"\b(?:nguoc dai|bi danh|danh dap|(?:chu|sep|quan ly|no|ho) (?:\w+ )?danh|danh (?:em|toi|minh|tui)|"
        r"chui mang|chui|bi ep|cuong buc|ep buoc|de doa|quay roi|xam hai|bao hanh|"
        r"abuse|abused|beaten|beat me|forced labou?r|forced to|threat|threatened|harass)",
    ),
    (
        "accident_illness",
        r"\b(?:tai nan|benh|om|chan thuong|gay tay|gay chan|nhap vien|phau thuat|accident|injur|"
        r"ill|illness|sick|disease|hospital)",
    ),
    (
        "employer_closed",
        r"\b(?:pha san|giai the|dong cua|thu hep|cat giam|het viec|khong co viec|cong ty nghi|"
        r"bankrupt|closed|shut down|cut production|no work|ran out of work|dissolved)",
    ),
    ("dispute", r"\b(?:tranh chap|kien|luat su|toa an|dispute|lawyer|sue|court)"),
    (
        "own_reason",
        r"\b(?:bo tron|tu bo|ly do ca nhan|ly do rieng|viec gia dinh|nho nha|bi duoi|vi pham|"
        r"bat hop phap|qua han|personal|family reasons|homesick|fired|dismissed|ran away|overstay|quit)",
    ),
    (
        "normal_end",
        r"\b(?:het han|het hop dong|xong hop dong|ve dung han|du han|hop dong (?:\w+ )?(?:ket thuc|xong)|"
        r"end of (?:my |the )?contract|finished (?:my |the )?contract|completed (?:my |the )?contract|"
        r"contract (?:\w+ )?(?:ended|finished|expired|ran out|was over|is over|over))",
    ),
]
_DOC_WORDS = [
    ("liquidation", r"\b(?:thanh ly|bien ban|liquidation)"),
    (
        "alternative",
        r"\b(?:thong bao|xac nhan|dai su quan|chu su dung|co quan|notice|embassy|confirmation|record)",
    ),
    ("none", r"\b(?:chua co|khong co|chua|none|nothing|no paper|not yet)"),
]


@cache
def rules() -> dict[str, Any]:
    """The rules table, read once per process (restart the action server after an edit)."""
    data: dict[str, Any] = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return data


def case_for(reason: str | None) -> dict[str, Any] | None:
    for case in rules()["cases"]:
        if reason in case["reasons"]:
            return case
    return None


def _t(lang: str, msgid: str, **params: object) -> str:
    return gettext(lang, msgid, domain="tools", **params)


def _in(value: dict[str, str], lang: str) -> str:
    return value.get(supported(lang)) or value["vi"]


# --- the questions -------------------------------------------------------------------


def _reason_options(lang: str) -> list[tuple[str, str]]:
    return [
        ("accident_illness", gettext(lang, "Accident or illness", domain="tools")),
        ("employer_closed", gettext(lang, "Employer closed or cut jobs", domain="tools")),
        ("abuse", gettext(lang, "I ended it: abuse, threats, harassment", domain="tools")),
        ("normal_end", gettext(lang, "My contract ended", domain="tools")),
        ("own_reason", gettext(lang, "Personal reasons / I left the employer", domain="tools")),
        ("death_missing", gettext(lang, "A relative died or is missing abroad", domain="tools")),
        ("dispute", gettext(lang, "I have a dispute (lawyer, court)", domain="tools")),
    ]


def ask(question: str, lang: str, again: bool = False) -> Reply:
    """The question, with its buttons; `again` adds what a good answer looks like."""
    if question == "reason":
        text = gettext(
            lang,
            "Why did you come back (or what happened)? Choose one, or write it in a few words.",
            domain="tools",
        )
        if again:
            text = gettext(
                lang, "Sorry, I could not tell which of these it was. Please choose one:", domain="tools"
            )
        return Reply(text, choice_buttons(INTENT, _reason_options(lang)))
    if question == "returned":
        text = gettext(
            lang,
            "When did you come back to Viet Nam? The month and year are enough, e.g. 3/2025.",
            domain="tools",
        )
        if again:
            text = gettext(
                lang,
                'I need the month and year, written like 3/2025 or "tháng 3 năm 2025" (not "last month"), and not in the future. When did you come back?',
                domain="tools",
            )
        return Reply(text)
    if question == "contributed":
        text = gettext(
            lang,
            "Before you left, did you pay the contribution to the Overseas Employment Support Fund (VND 100,000 per contract; it is usually on the enterprise's fee receipt)?",
            domain="tools",
        )
        if again:
            text = gettext(
                lang,
                "Please answer yes, no, or not sure: did you pay the Fund contribution before you left?",
                domain="tools",
            )
        options = [
            ("yes", gettext(lang, "Yes", domain="tools")),
            ("no", gettext(lang, "No", domain="tools")),
            ("unsure", gettext(lang, "Not sure", domain="tools")),
        ]
        return Reply(text, choice_buttons(INTENT, options))
    # documents
    text = gettext(
        lang,
        "Which paper about your return do you have now?",
        domain="tools",
    )
    if again:
        text = gettext(lang, "Please choose one of these:", domain="tools")
    options = [
        ("liquidation", gettext(lang, "Contract liquidation record", domain="tools")),
        ("alternative", gettext(lang, "Employer notice / embassy or police record", domain="tools")),
        ("none", gettext(lang, "None yet", domain="tools")),
    ]
    return Reply(text, choice_buttons(INTENT, options))


def _read(question: str, said: Said, today: _dt.date) -> str | None:
    """The answer this message gives to `question`, or None."""
    text = said.text or ""
    folded = fold(text)
    if question == "reason":
        if said.choice in REASONS:
            return said.choice
        picked = numbered(text, REASONS)
        if picked:
            return picked
        for reason, pattern in _REASON_WORDS:
            if re.search(pattern, folded):
                return reason
        return None
    if question == "returned":
        day = parse_day(text, today)
        return day.iso() if day else None
    if question == "contributed":
        if said.choice in CONTRIBUTED:
            return said.choice
        return numbered(text, CONTRIBUTED) or yes_no(text)
    if question == "documents":
        if said.choice in HAS_DOCUMENTS:
            return said.choice
        picked = numbered(text, HAS_DOCUMENTS)
        if picked:
            return picked
        for value, pattern in _DOC_WORDS:
            if re.search(pattern, folded):
                return value
    return None


# --- the turn ------------------------------------------------------------------------


def start(lang: str, said: Said | None = None, today: _dt.date | None = None) -> Step:
    """The first turn: a line on what this is, then the first question (or, when the
    message already says why, the next one)."""
    intro = Reply(
        gettext(
            lang,
            'Let\'s check which support of the Overseas Employment Support Fund (Decision 34/2025/QĐ-TTg) may fit you. A few short questions; write "cancel" to stop at any time.',
            domain="tools",
        )
    )
    state: dict[str, Any] = {}
    reason = _read("reason", said, today or _dt.date.today()) if said and not said.choice else None
    if said and said.choice in REASONS:
        reason = said.choice
    if reason:
        state["reason"] = reason
        step = _next(state, lang)
        step.replies.insert(0, intro)
        return step
    return Step([intro, ask("reason", lang)], question="reason", state=state)


def turn(question: str, state: dict[str, Any], said: Said, lang: str, today: _dt.date | None = None) -> Step:
    """One answer to the pending `question`."""
    today = today or _dt.date.today()
    if said.choice is None and cancels(said.text):
        return Step(
            [Reply(gettext(lang, "OK, I stopped the Fund check. Ask me anything else.", domain="tools"))],
            cancelled=True,
        )
    value = _read(question, said, today)
    if value is None:
        if asks_something_else(said):
            return Step(left=True)
        return Step([ask(question, lang, again=True)], question=question, state=state)
    state = {**state, question: value}
    return _next(state, lang, today)


def _next(state: dict[str, Any], lang: str, today: _dt.date | None = None) -> Step:
    """The next question the case needs, or the result."""
    reason = state.get("reason")
    case = case_for(reason)
    needed = case["asks"] if case else []
    for question in needed:
        if question not in state:
            return Step([ask(question, lang)], question=question, state=state)
    return Step(result(state, lang, today or _dt.date.today()), state={})


# --- the result ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Which case fits (None: none does) and why not when none does."""

    case: dict[str, Any] | None
    no_case: str | None = None


def outcome(state: dict[str, Any]) -> Outcome:
    reason = state.get("reason")
    if reason in ("normal_end", "own_reason"):
        return Outcome(None, reason)
    case = case_for(reason)
    if case is None:
        return Outcome(None, "own_reason")
    if state.get("contributed") == "no":
        return Outcome(None, "not_contributed")
    return Outcome(case)


def how_to_reach(lang: str) -> str:
    return gettext(
        lang,
        "Ask the Fund before you file: the new decision's amounts, papers and processing time are not all confirmed. No phone number of the Fund or of the Department of Overseas Labour (Cục Quản lý lao động ngoài nước, Ministry of Home Affairs) has been checked yet: ask them through the Sở Nội vụ (Department of Home Affairs) of your province, or through the enterprise that sent you.",
        domain="tools",
    )


def result(state: dict[str, Any], lang: str, today: _dt.date) -> list[Reply]:
    """The answer: the case and its article, the amount when confirmed, the papers, where
    and how to file, the deadline (none is confirmed), and "ask the Fund"."""
    table = rules()
    found = outcome(state)
    lines: list[str] = []
    if found.case is None:
        why = table["no_case"][found.no_case or "own_reason"]
        lines.append(gettext(lang, "**No support case of the Fund seems to fit.**", domain="tools"))
        lines.append(_in(why["why"], lang) + f" ({why['article']})")
        lines.append(how_to_reach(lang))
        return [Reply("\n\n".join(lines))]
    case = found.case
    lines.append(
        gettext(lang, "**The case that fits:** {title}.", domain="tools", title=_in(case["title"], lang))
        + f" ({table['decision']}, {case['article']}; {case['law']})"
    )
    if case.get("amount_confirmed"):
        lines.append(gettext(lang, "**Amount:** {amount}.", domain="tools", amount=_in(case["amount"], lang)))
    else:
        lines.append(
            gettext(
                lang,
                "**Amount:** not confirmed under the new decision: ask the Fund.",
                domain="tools",
            )
        )
    if case.get("retraining"):
        retraining = table["retraining"]
        lines.append(
            gettext(
                lang,
                "You may also get support to learn a new trade: {amount} ({decision}, {article}).",
                domain="tools",
                amount=_in(retraining["amount"], lang),
                decision=table["decision"],
                article=retraining["article"],
            )
        )
    if state.get("contributed") == "unsure":
        lines.append(
            gettext(
                lang,
                "Check first that you paid the Fund contribution: under the earlier rules only workers who paid it get support. Ask the enterprise that sent you for the receipt.",
                domain="tools",
            )
        )
    papers = [_in(table["documents"][doc], lang) for doc in case["documents"]]
    lines.append(
        gettext(lang, "**Papers to prepare:**", domain="tools") + "\n" + "\n".join(f"- {p}" for p in papers)
    )
    lines += _document_notes(state, lang, today)
    lines.append(gettext(lang, "**Where and how:**", domain="tools") + " " + _in(table["filing"], lang))
    lines.append(
        gettext(
            lang,
            "**Deadline:** no deadline for this claim is confirmed in our sources. File as soon as you can and ask the Fund.",
            domain="tools",
        )
    )
    lines.append(how_to_reach(lang))
    return [Reply("\n\n".join(lines))]


def _document_notes(state: dict[str, Any], lang: str, today: _dt.date) -> list[str]:
    notes = []
    returned = Day.from_iso(state.get("returned"))
    if state.get("documents") == "none":
        notes.append(
            gettext(
                lang,
                "You do not have a paper yet: ask the enterprise that sent you to liquidate your contract. The law gives you and the enterprise 180 days from the day your labour contract abroad ended (Law 69/2020, Art. 26 and 46).",
                domain="tools",
            )
        )
        if returned and (today - returned.first_day()).days > LIQUIDATION_DAYS + 31:
            notes.append(
                gettext(
                    lang,
                    "You came back in {month}, so those 180 days may already have passed: ask the Fund which paper it accepts instead.",
                    domain="tools",
                    month=format_month(returned.year, returned.month, lang),
                )
            )
    signed = rules()["decision_signed"]
    if returned and returned.first_day() < signed:
        notes.append(
            gettext(
                lang,
                "You came back in {month}, before the new decision was signed (15/9/2025): ask the Fund whether your claim falls under it or under the earlier Decision 40/2021/QĐ-TTg.",
                domain="tools",
                month=format_month(returned.year, returned.month, lang),
            )
        )
    return notes
