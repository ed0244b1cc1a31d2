"""The guided tools as Rasa actions: the Fund checker and the complaint letter builder.

Why thin: the conversations are plain Python in bot/tools/; these actions start a tool
(its intent, `fund_check` or `complaint_letter`) and carry each later turn to it. A
later turn may be classified as anything, so the router (actions/dialogue.py) sends
every turn whose `requested_slot` is "fund:…" or "letter:…" here first, whichever
action the intent picked (`tool_turn`). The Fund answers are a few codes in the
`tool_answers` slot; the letter's answers wait in `letter_drafts`, and the finished PDF
in `letter_files`, sent by the channel from a custom message {"letter": {...}}.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import latest_entity
from actions.conversation import ConversationAction
from actions.replies import REQUESTED, Events
from bot.content.topics import topic_groups, topic_ids
from bot.db import database_url, get_engine
from bot.i18n import gettext
from bot.tools import fund, letter, letter_store
from bot.tools.guided import CHOICE_ENTITY, Said, Step
from bot.tools.letter import Addressee

logger = logging.getLogger(__name__)
STATE_SLOT = "tool_answers"
TOOLS = {fund.TOOL: fund.INTENT, letter.TOOL: letter.INTENT}
LETTER_KEY = "letter"


def pending_tool(tracker: Tracker) -> tuple[str, str] | None:
    value = tracker.get_slot(REQUESTED) or ""
    tool, _, question = value.partition(":")
    return (tool, question) if tool in TOOLS and question else None


def said_of(tracker: Tracker, tool: str | None = None) -> Said:
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    name = intent.get("name") or ""
    meta = set(topic_groups().get("meta", []))
    other = name in set(topic_ids()) - meta and name != TOOLS.get(tool or "")
    return Said(
        text=(latest.get("text") or "")[:2000],
        intent=name,
        confidence=float(intent.get("confidence") or 0.0),
        choice=latest_entity(tracker, CHOICE_ENTITY),
        other_topic=other,
    )


def _engine():
    return get_engine(database_url())


def _send(dispatcher: CollectingDispatcher, step: Step) -> None:
    for reply in step.replies:
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)


async def drop_letter_draft(sender_id: str, unless_kept: bool = True) -> None:
    """The letter was left unfinished (another question, danger): its answers go, except a
    draft the user asked to keep; a cancel ("huỷ") deletes that too (`unless_kept=False`)."""
    try:
        await asyncio.to_thread(letter_store.delete_draft, _engine(), sender_id, unless_kept)
    except SQLAlchemyError as exc:
        logger.error("letter draft not deleted: %s", type(exc).__name__)


async def tool_turn(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events | None:
    """The pending tool's answer to this turn; None when the user moved on (the caller
    answers their message as usual, the tool dropped)."""
    pending = pending_tool(tracker)
    if pending is None:
        return None
    tool, question = pending
    said = said_of(tracker, tool)
    if tool == fund.TOOL:
        try:
            state = json.loads(tracker.get_slot(STATE_SLOT) or "{}")
        except ValueError:
            state = {}
        step = fund.turn(question, state if isinstance(state, dict) else {}, said, lang)
        if step.left:
            return None
        _send(dispatcher, step)
        return [
            SlotSet(REQUESTED, f"{tool}:{step.question}" if step.question else None),
            SlotSet(STATE_SLOT, json.dumps(step.state) if step.question else None),
        ]
    answers = await asyncio.to_thread(letter_store.load_draft, _engine(), tracker.sender_id)
    step = letter.turn(question, answers, said, lang)
    if step.left or step.cancelled:
        await drop_letter_draft(tracker.sender_id, unless_kept=not step.cancelled)
        if step.left:
            return None
        _send(dispatcher, step)
        return [SlotSet(REQUESTED, None)]
    return await _letter_step(dispatcher, tracker, lang, step)


async def _letter_step(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str, step: Step) -> Events:
    engine = _engine()
    if step.document is None:
        await asyncio.to_thread(letter_store.save_draft, engine, tracker.sender_id, step.state)
        _send(dispatcher, step)
        return [SlotSet(REQUESTED, f"{letter.TOOL}:{step.question}" if step.question else None)]
    answers = step.state
    keep = answers.get("keep") == "yes"
    mission_vi = await asyncio.to_thread(_mission, answers.get("country"), "vi")
    mission_en = await asyncio.to_thread(_mission, answers.get("country"), "en")
    today = _dt.date.today()
    from bot.tools.letter_pdf import render_pdf

    pdf = await asyncio.to_thread(
        render_pdf,
        [letter.content(answers, "vi", today, mission_vi), letter.content(answers, "en", today, mission_en)],
    )
    filename = f"don-khieu-nai-{today.isoformat()}.pdf"
    token = await asyncio.to_thread(letter_store.store_file, engine, tracker.sender_id, filename, pdf)
    if keep:
        await asyncio.to_thread(letter_store.save_draft, engine, tracker.sender_id, answers, True)
    else:
        await asyncio.to_thread(letter_store.delete_draft, engine, tracker.sender_id)
    _send(dispatcher, step)
    dispatcher.utter_message(json_message={LETTER_KEY: {"token": token, "filename": filename}})
    dispatcher.utter_message(text=_after_letter(answers, lang, keep))
    return [SlotSet(REQUESTED, None)]


def _after_letter(answers: dict[str, Any], lang: str, keep: bool) -> str:
    lines = [
        gettext(
            lang,
            'Send it to the enterprise first (keep a copy and proof of sending). If it does not answer, send it to the bodies under "Copy to". Ask them to confirm the deadline and where to file: complaints have a deadline, so do not wait.',
            domain="tools",
        )
    ]
    if keep:
        lines.append(
            gettext(
                lang,
                'Your answers are kept as a draft. Write "forget me" to delete everything.',
                domain="tools",
            )
        )
    else:
        lines.append(gettext(lang, "Your answers have been deleted.", domain="tools"))
    return "\n\n".join(lines)


def _mission(country: str | None, lang: str) -> Addressee | None:
    """The labour management board in the host country, else the mission's labour section."""
    if not country:
        return None
    from bot.directory.db import session_scope
    from bot.directory.queries import country_info, find_consular_contacts

    try:
        with session_scope() as session:
            offices = find_consular_contacts(session, country).offices
            info = country_info(session, country)
    except SQLAlchemyError as exc:
        logger.error("directory look-up for a letter failed: %s", type(exc).__name__)
        offices, info = (), None
    boards = [o for o in offices if o.kind == "labour_management_board"]
    if boards:
        board = boards[0]
        return Addressee(board.name_vi if lang == "vi" else board.name_en, board.address)
    embassies = [o for o in offices if o.kind == "embassy"] or list(offices)
    if embassies:
        office = embassies[0]
        name = office.name_vi if lang == "vi" else office.name_en
        return Addressee(
            gettext(lang, "Labour section, {office}", domain="tools", office=name), office.address
        )
    place = (info.name_vi if lang == "vi" else info.name_en) if info else country
    return Addressee(
        gettext(
            lang,
            "Labour management board at the Vietnamese mission in {country}",
            domain="tools",
            country=place,
        )
    )


class ActionFundCheck(ConversationAction):
    """Starts the Fund checker (later turns come through `tool_turn`)."""

    def name(self) -> str:
        return "action_fund_check"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
        step = fund.start(lang, said_of(tracker, fund.TOOL))
        _send(dispatcher, step)
        return [
            SlotSet(REQUESTED, f"{fund.TOOL}:{step.question}" if step.question else None),
            SlotSet(STATE_SLOT, json.dumps(step.state) if step.question else None),
        ]


class ActionComplaintLetter(ConversationAction):
    """Starts the complaint letter builder (later turns come through `tool_turn`)."""

    def name(self) -> str:
        return "action_complaint_letter"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
        engine = _engine()
        kept = await asyncio.to_thread(letter_store.load_draft, engine, tracker.sender_id)
        said = said_of(tracker, letter.TOOL)
        if kept.get("keep") == "yes" and letter.complete(kept) and said.choice is None:
            step = letter.resume(kept, lang)
            _send(dispatcher, step)
            return [SlotSet(REQUESTED, f"{letter.TOOL}:{step.question}")]
        step = letter.start(lang, said)
        await asyncio.to_thread(letter_store.save_draft, engine, tracker.sender_id, step.state)
        _send(dispatcher, step)
        return [SlotSet(REQUESTED, f"{letter.TOOL}:{step.question}" if step.question else None)]
