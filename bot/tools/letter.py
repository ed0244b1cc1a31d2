"""The complaint and evidence builder: a short conversation that ends in a letter (PDF).

Why: returnees must prove what happened to them, and a clear dated letter to the right
body is the first step of every complaint route (content.md §1.6, §1.9). This module asks
only what the letter for that kind of problem needs (withheld deposit, unpaid wages,
excess fees, confiscated passport), gives the evidence checklist for it, and builds the
letter's content: the enterprise first; then the provincial Sở Nội vụ or the Department
of Overseas Labour; for an employer abroad, the labour management board at the mission
(from the directory). The person's own name and ID are left as blanks to fill by hand:
the bot never needs them. The answers live in `letter_drafts` (bot/tools/letter_store.py)
until the letter is made, and longer only when the user asks to keep a draft.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any

from bot.directory.lookups import country_code, province_name
from bot.i18n import format_date, format_money, format_month, gettext
from bot.tools.guided import Reply, Said, Step, asks_something_else, cancels, choice_buttons, numbered, yes_no
from bot.tools.parsing import Day, parse_day, parse_money
from bot.vietnamese.text import fold

TOOL = "letter"
INTENT = "complaint_letter"
PROBLEMS = ["deposit", "wages", "fees", "passport"]
ABROAD = ("wages", "passport")  # problems with the employer abroad
MAX_ANSWER_CHARS = 300
LOCAL_CURRENCY = {"KR": "KRW", "JP": "JPY", "TW": "TWD", "MY": "MYR"}

_PROBLEM_WORDS = [
    ("passport", r"\b(?:ho chieu|giu ho chieu|passport)"),
    ("deposit", r"\b(?:ky quy|tien coc|dat coc|deposit)"),
    ("wages", r"\b(?:luong|tien cong|no luong|wage|salary|unpaid|not paid|pay me)"),
    ("fees", r"\b(?:phi|thu qua|thu them|tien dich vu|moi gioi|fee|fees|overcharg|broker)"),
]
_SKIP = re.compile(
    r"^\s*(?:bo qua|khong co|ko co|k co|khong nho|ko nho|k nho|khong biet|ko biet|k biet|chua co|skip|none|"
    r"no|n/a|don t know|dont know|i don t know)\b"
)


def _t(lang: str, msgid: str, **params: object) -> str:
    return gettext(lang, msgid, domain="tools", **params)


def questions(answers: dict[str, Any]) -> list[str]:
    """The questions the letter for this problem needs, in order."""
    problem = answers.get("problem")
    asked = ["problem", "enterprise"]
    if problem in ABROAD:
        asked += ["employer", "country"]
    else:
        asked += ["province"]
    asked += ["contract_no", "date"]
    if problem != "passport":
        asked += ["amount"]
    return [*asked, "promised", "done", "keep"]


def _problem_options(lang: str) -> list[tuple[str, str]]:
    return [
        ("deposit", gettext(lang, "Deposit not returned", domain="tools")),
        ("wages", gettext(lang, "Unpaid wages", domain="tools")),
        ("fees", gettext(lang, "Fees above the legal limit", domain="tools")),
        ("passport", gettext(lang, "Passport taken and kept", domain="tools")),
    ]


def ask(question: str, answers: dict[str, Any], lang: str, again: bool = False) -> Reply:
    problem = answers.get("problem")
    if question == "problem":
        text = gettext(lang, "What is the problem? Choose one, or write it in a few words.", domain="tools")
        if again:
            text = gettext(
                lang, "Sorry, I could not tell which problem it is. Please choose one:", domain="tools"
            )
        return Reply(text, choice_buttons(INTENT, _problem_options(lang)))
    if question == "enterprise":
        return Reply(
            gettext(
                lang,
                "What is the name of the enterprise that sent you abroad (the Vietnamese company)?",
                domain="tools",
            )
        )
    if question == "employer":
        return Reply(
            gettext(
                lang,
                'What is the name of your employer abroad (company or person)? Write "skip" if you do not know.',
                domain="tools",
            )
        )
    if question == "country":
        text = gettext(lang, "In which country was this employer?", domain="tools")
        if again:
            text = gettext(
                lang,
                "Please write the country's name, e.g. Hàn Quốc, Nhật Bản, Đài Loan, Malaysia.",
                domain="tools",
            )
        return Reply(text)
    if question == "province":
        text = gettext(lang, "In which province or city of Viet Nam do you live now?", domain="tools")
        if again:
            text = gettext(
                lang, "Please write the province's name, e.g. Nghệ An, Hà Tĩnh, Thanh Hóa.", domain="tools"
            )
        return Reply(text)
    if question == "contract_no":
        return Reply(
            gettext(
                lang,
                'What is the number of your contract with the enterprise? Write "skip" if you do not have it.',
                domain="tools",
            )
        )
    if question == "date":
        msgid = {
            "deposit": "When did your labour contract abroad end, or when did you come back? E.g. 15/3/2025 or 3/2025.",
            "wages": "Since when have you not been paid? E.g. 15/3/2025 or 3/2025.",
            "fees": "When did you pay these fees? E.g. 15/3/2025 or 3/2025.",
            "passport": "Since when has your passport been kept? E.g. 15/3/2025 or 3/2025.",
        }[problem or "deposit"]
        text = gettext(lang, msgid, domain="tools")
        if again:
            text = gettext(
                lang,
                'I need a date I can write in the letter: the day or at least the month and year, like 15/3/2025 or 3/2025 (not "last month"), and not in the future.',
                domain="tools",
            )
        return Reply(text)
    if question == "amount":
        msgid = {
            "deposit": "How much was the deposit? E.g. 5 triệu, 5tr, 5.000.000 đồng.",
            "wages": "How much are you owed in total? E.g. 2.000.000 won, $1,200, 30 triệu.",
            "fees": "How much did you pay in total? E.g. 120 triệu, $3,000.",
        }[problem or "deposit"]
        text = gettext(lang, msgid, domain="tools")
        if again:
            text = gettext(
                lang,
                "I could not read that amount. Please write a number with its unit or currency, e.g. 5 triệu, 5tr, 5.000.000 đồng, $1,200.",
                domain="tools",
            )
        return Reply(text)
    if question == "promised":
        return Reply(
            gettext(
                lang, "In one or two sentences: what did the contract or the company promise?", domain="tools"
            )
        )
    if question == "done":
        return Reply(gettext(lang, "And what actually happened?", domain="tools"))
    # keep
    text = gettext(
        lang,
        "Last question: shall I keep your answers as a draft after the letter is made (so you can make it again), or delete them? They are deleted by default.",
        domain="tools",
    )
    options = [
        ("no", gettext(lang, "Delete them", domain="tools")),
        ("yes", gettext(lang, "Keep a draft", domain="tools")),
    ]
    return Reply(text, choice_buttons(INTENT, options))


def _free_text(text: str) -> str | None:
    cleaned = " ".join((text or "").split())[:MAX_ANSWER_CHARS]
    return cleaned if len(cleaned) >= 2 and not cleaned.startswith("/") else None


def _read(question: str, said: Said, answers: dict[str, Any], today: _dt.date) -> Any:
    text = said.text or ""
    folded = fold(text)
    if question == "problem":
        if said.choice in PROBLEMS:
            return said.choice
        picked = numbered(text, PROBLEMS)
        if picked:
            return picked
        for problem, pattern in _PROBLEM_WORDS:
            if re.search(pattern, folded):
                return problem
        return None
    if question in ("employer", "contract_no"):
        if _SKIP.search(folded):
            return ""
        return _free_text(text)
    if question in ("enterprise", "promised", "done"):
        return _free_text(text)
    if question == "country":
        return country_code(text)
    if question == "province":
        return province_name(text)
    if question == "date":
        day = parse_day(text, today)
        return day.iso() if day else None
    if question == "amount":
        money = parse_money(text, LOCAL_CURRENCY.get(answers.get("country") or "", "VND"))
        return {"amount": money.amount, "currency": money.currency} if money else None
    if question == "keep":
        if said.choice in ("yes", "no"):
            return said.choice
        answer = yes_no(text)
        if answer == "unsure":
            return "no"
        if re.search(r"\b(?:giu|luu|keep|save)\b", folded):
            return "yes"
        if re.search(r"\b(?:xoa|delete)\b", folded):
            return "no"
        return answer
    return None


# --- the turn ------------------------------------------------------------------------


def start(lang: str, said: Said | None = None) -> Step:
    intro = Reply(
        gettext(
            lang,
            'I will help you write a complaint letter (PDF, in Vietnamese with an English version) and list the evidence to gather. I ask only what the letter needs; your own name and ID number are left blank for you to fill in by hand. Write "cancel" to stop at any time.',
            domain="tools",
        )
    )
    answers: dict[str, Any] = {}
    problem = None
    if said is not None:
        problem = (
            said.choice
            if said.choice in PROBLEMS
            else _read("problem", Said(said.text), {}, _dt.date.today())
        )
    if problem:
        answers["problem"] = problem
    step = _next(answers, lang)
    step.replies.insert(0, intro)
    return step


def complete(answers: dict[str, Any]) -> bool:
    """All the answers a letter needs (a kept draft can make the letter again)."""
    return bool(answers.get("problem")) and all(q in answers for q in questions(answers))


def _draft_choice(text: str) -> str | None:
    folded = fold(text or "")
    if re.search(r"\b(?:lam lai|again|same)\b", folded) or yes_no(text) == "yes":
        return "again"
    if re.search(r"\b(?:moi|new|start over|lam don khac)\b", folded) or yes_no(text) == "no":
        return "new"
    return None


def resume(answers: dict[str, Any], lang: str) -> Step:
    """A kept draft: make the same letter again, or start a new one."""
    text = gettext(
        lang,
        "You kept a draft of a letter. Shall I make that letter again, or start a new one?",
        domain="tools",
    )
    options = [
        ("again", gettext(lang, "Make it again", domain="tools")),
        ("new", gettext(lang, "Start a new letter", domain="tools")),
    ]
    return Step([Reply(text, choice_buttons(INTENT, options))], question="draft", state=answers)


def turn(
    question: str, answers: dict[str, Any], said: Said, lang: str, today: _dt.date | None = None
) -> Step:
    today = today or _dt.date.today()
    if question == "draft":
        choice = said.choice if said.choice in ("again", "new") else _draft_choice(said.text)
        if choice == "again" and complete(answers):
            return _next(answers, lang)
        if choice == "new":
            return start(lang)
    if said.choice is None and cancels(said.text):
        return Step(
            [
                Reply(
                    gettext(
                        lang,
                        "OK, I stopped the letter and deleted your answers. Ask me anything else.",
                        domain="tools",
                    )
                )
            ],
            cancelled=True,
        )
    # What was promised and what happened are the user's story, never another question.
    if asks_something_else(said) and question not in ("promised", "done"):
        return Step(left=True)
    if question == "draft":
        return resume(answers, lang)
    value = _read(question, said, answers, today)
    if value is None:
        return Step([ask(question, answers, lang, again=True)], question=question, state=answers)
    answers = {**answers, question: value}
    return _next(answers, lang)


def _next(answers: dict[str, Any], lang: str) -> Step:
    for question in questions(answers):
        if question not in answers:
            replies = []
            if question == "enterprise" and "problem" in answers:
                replies.append(Reply(checklist_text(answers["problem"], lang)))
            replies.append(ask(question, answers, lang))
            return Step(replies, question=question, state=answers)
    return Step(
        [
            Reply(
                gettext(
                    lang, "Thank you. Here is your letter, with a dated summary of events.", domain="tools"
                )
            )
        ],
        state=answers,
        document={"answers": answers},
    )


# --- the evidence checklist ----------------------------------------------------------

CHECKLISTS = {
    "deposit": [
        "The contract with the enterprise (the page on the deposit)",
        "The deposit receipt, or the bank's paper on the escrow account",
        "The contract liquidation record, or the written request to liquidate",
        "Proof of the day you came back (passport stamps, ticket)",
        "Messages and letters with the enterprise, with their dates",
    ],
    "wages": [
        "The labour contract abroad",
        "Payslips and bank statements",
        "A record of the days and hours worked",
        "Messages with the employer about pay, with their dates",
        "Names and contacts of co-workers who know the facts",
    ],
    "fees": [
        "The contract with the enterprise (the pages on fees)",
        "Every receipt, and records of bank transfers",
        "Messages asking for money",
        "The name of whoever took cash, and when",
    ],
    "passport": [
        "A photo or copy of the passport, if there is one",
        "Who keeps the passport, since when, and where",
        "Requests to get it back, and the answers",
        "The labour contract",
    ],
}


def checklist(problem: str, lang: str) -> list[str]:
    return [gettext(lang, item, domain="tools") for item in CHECKLISTS.get(problem, [])]


def checklist_text(problem: str, lang: str) -> str:
    heading = gettext(lang, "**Evidence to gather** (keep the originals; send copies):", domain="tools")
    return heading + "\n" + "\n".join(f"- {item}" for item in checklist(problem, lang))


# --- what the letter says --------------------------------------------------------------


@dataclass(frozen=True)
class Addressee:
    name: str
    address: str | None = None


@dataclass(frozen=True)
class LetterContent:
    """One language version of the letter, ready to lay out (bot/tools/letter_pdf.py)."""

    lang: str
    title: str
    addressees: list[Addressee]
    copy_to: list[Addressee]
    intro: str
    events: list[tuple[str, str]]  # (date as written, what happened)
    request: str
    evidence: list[str]
    place_date: str
    signature: str
    sender_blanks: list[str]


def when(iso: str | None, lang: str) -> str:
    day = Day.from_iso(iso)
    if day is None:
        return ""
    if day.day:
        return format_date(day.first_day(), lang, "long")
    return format_month(day.year, day.month, lang)


def money_text(value: dict[str, Any] | None, lang: str) -> str:
    if not value:
        return ""
    return format_money(float(value["amount"]), str(value["currency"]), lang)


def content(answers: dict[str, Any], lang: str, today: _dt.date, mission: Addressee | None) -> LetterContent:
    """The letter in `lang` from the answers; `mission` is the labour management board (or
    the mission) in the host country, looked up by the caller in the directory."""
    problem = answers.get("problem") or "deposit"
    enterprise = answers.get("enterprise") or ""
    addressees = [Addressee(enterprise + " " + _t(lang, "(the enterprise that sent me abroad)"))]
    copy_to: list[Addressee] = []
    if problem in ABROAD:
        if answers.get("employer"):
            addressees.append(Addressee(answers["employer"] + " " + _t(lang, "(employer abroad)")))
        if mission is not None:
            copy_to.append(mission)
    else:
        province = answers.get("province")
        if province:
            copy_to.append(
                Addressee(_t(lang, "Department of Home Affairs (Sở Nội vụ) of {province}", province=province))
            )
    copy_to.append(
        Addressee(
            _t(
                lang,
                "Department of Overseas Labour (Cục Quản lý lao động ngoài nước), Ministry of Home Affairs",
            )
        )
    )
    events: list[tuple[str, str]] = []
    if answers.get("contract_no"):
        events.append(
            ("", _t(lang, "Contract with the enterprise no. {number}.", number=answers["contract_no"]))
        )
    event_msgid = {
        "deposit": "My labour contract abroad ended / I came back. The deposit of {amount} has not been returned.",
        "wages": "From this date my wages were not paid. Amount owed: {amount}.",
        "fees": "I paid fees of {amount}, above what the law and my contract allow.",
        "passport": "From this date my passport has been kept from me against my will.",
    }[problem]
    events.append(
        (
            when(answers.get("date"), lang),
            _t(lang, event_msgid, amount=money_text(answers.get("amount"), lang)),
        )
    )
    events.append(("", _t(lang, "What was promised: {text}", text=answers.get("promised") or "")))
    events.append(("", _t(lang, "What happened: {text}", text=answers.get("done") or "")))
    events.append((format_date(today, lang, "long"), _t(lang, "I send this letter.")))
    request_msgid = {
        "deposit": "I ask the enterprise to liquidate my contract and return my deposit with its interest, as Law 69/2020/QH14 (Art. 25) and Decree 112/2021/NĐ-CP (Art. 32) provide.",
        "wages": "I ask that the wages owed to me be paid in full, and that the enterprise that sent me help me claim them, as its contract with me provides.",
        "fees": "I ask the enterprise to refund the fees it collected above the legal limit and my contract.",
        "passport": "I ask that my passport be returned to me at once.",
    }[problem]
    return LetterContent(
        lang=lang,
        title=_t(lang, "LETTER OF COMPLAINT AND REQUEST"),
        addressees=addressees,
        copy_to=copy_to,
        intro=_t(
            lang,
            "I am a worker who went abroad under contract. I set out the facts below, with their dates, and ask for them to be resolved.",
        ),
        events=events,
        request=_t(lang, request_msgid),
        evidence=checklist(problem, lang),
        place_date=_t(lang, "........, {date}", date=format_date(today, lang, "long")),
        signature=_t(lang, "Signature and full name"),
        sender_blanks=[
            _t(lang, "Full name: ...................................................."),
            _t(lang, "ID card (CCCD) or passport number: ..............................."),
            _t(lang, "Address and phone: ..............................................."),
        ],
    )
