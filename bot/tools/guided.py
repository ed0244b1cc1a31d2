"""What the guided tools share: the answer to one turn, leaving, choices and yes/no.

Why: both tools are forms whose pending question lives in Rasa's `requested_slot` as
"<tool>:<question>" (as the directory look-ups keep "country" there, actions/dialogue.py).
Each turn, the tool reads the message against that question and returns a `Step`: the
replies, the next question (None when done) and what it keeps. Leaving is decided the
same way for both: a cancel word ends the tool at once; a clear other question (a
confident intent for another topic that does not answer the question) is answered
instead, the tool dropped. Danger never reaches here: the urgent card is rendered in
process and its follow-up action clears `requested_slot`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.payloads import payload
from bot.vietnamese.text import fold

# "thôi", "huỷ", "cancel", "dừng lại", "không làm nữa", "stop", "exit", "quit".
_CANCEL = re.compile(
    r"^\s*(?:thoi|huy|huy bo|dung|dung lai|ngung|bo qua di|khong lam nua|thoi khong can|"
    r"thoi khoi|khoi|cancel|stop|quit|exit|never mind|nevermind|forget it)\b"
    r"|\b(?:huy bo|khong lam nua|dung lai|thoi khong|cancel|stop this)\b"
)
_YES = re.compile(
    r"^\s*(?:co|co a|da co|vang|u|uh|um|dung|dung roi|roi|da dong|yes|yeah|yep|y|ok|i did|did)\b"
)
_NO = re.compile(r"^\s*(?:khong|ko|k|kg|hong|chua|chua co|no|nope|not|i did not|didn t|didnt)\b")
_UNSURE = re.compile(
    r"\b(?:khong biet|ko biet|k biet|kb|khong nho|ko nho|k nho|hong nho|khong ro|chua ro|not sure|"
    r"don t know|dont know|unsure|no idea)\b"
)
_QUESTION = re.compile(
    r"\?|\b(?:gi|nao|o dau|the nao|lam sao|vi sao|tai sao|bao nhieu|bao gio|bao lau|khong a|"
    r"what|where|when|why|how|which|can i|do i|should i)\b"
)
# Above this, the classifier's intent for another topic means a new question (as in
# actions/dialogue.py NAMED_TOPIC_CONFIDENCE).
OTHER_QUESTION_CONFIDENCE = 0.8
CHOICE_ENTITY = "choice"
TOOLS_DOMAIN = "tools"


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Step:
    """The result of one turn of a tool."""

    replies: list[Reply] = field(default_factory=list)
    question: str | None = None  # the next pending question, None when the tool ended
    state: dict[str, Any] = field(default_factory=dict)
    left: bool = False  # the user moved on: answer their message as usual
    cancelled: bool = False
    document: dict[str, Any] | None = None  # a finished letter to deliver (bot/tools/letter.py)


@dataclass
class Said:
    """One user turn as a tool reads it."""

    text: str
    intent: str = ""
    confidence: float = 0.0
    choice: str | None = None  # a button's value (`choice` entity of the payload)
    other_topic: bool = False  # the intent is a content topic other than this tool's


def cancels(text: str) -> bool:
    return bool(_CANCEL.search(fold(text or "")))


def yes_no(text: str) -> str | None:
    """ "yes", "no", "unsure" or None."""
    folded = fold(text or "").strip()
    if _UNSURE.search(folded):
        return "unsure"
    if _NO.search(folded):
        return "no"
    if _YES.search(folded):
        return "yes"
    return None


def asks_something_else(said: Said) -> bool:
    """A confident intent for another topic, worded as a question ("?", "gì", "how"...):
    a company's name or a date is an answer, whatever the classifier makes of it."""
    if not said.other_topic or said.confidence < OTHER_QUESTION_CONFIDENCE:
        return False
    return bool(_QUESTION.search(fold(said.text or "")))


def choice_buttons(intent: str, options: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Buttons whose payload is the tool's own intent with the option as `choice`."""
    return [{"title": title, "payload": payload(intent, choice=value)} for value, title in options]


def numbered(text: str, values: list[str]) -> str | None:
    """The option a typed number picks ("2", "số 2"), if any."""
    match = re.fullmatch(r"\s*(?:so\s*|option\s*|#)?(\d{1,2})\s*[.)]?\s*", fold(text or ""))
    if not match:
        return None
    index = int(match.group(1)) - 1
    return values[index] if 0 <= index < len(values) else None
