"""The two guided tools of issue 14 as conversations: deadline reminders and the anonymous
returnee survey.

Why this shape: like the look-ups, a tool keeps its pending question in Rasa's
`requested_slot` ("remind:<step>", "survey:<question>") and its answers so far in the
`tool_answers` slot, so whatever intent the classifier gives a typed date or province, the
answering action (actions/conversation.py) hands the turn here first. A turn that answers
goes on; "stop"/"dừng" or the Stop button leaves; a confident question about something
else leaves and is answered; anything else gets the question again, with an example. The
urgent card clears `requested_slot` (actions/urgent.py), so danger midway always wins and
the unfinished answers are never stored. The logic lives in `bot.reminders` and
`bot.survey`; this module only talks.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import language_events, latest_entity, latest_intent, latest_text, user_language
from actions.replies import REQUESTED, Events, in_thread
from bot import db, reminders, survey
from bot.answers import menu_button
from bot.content.topics import topic_groups, topic_ids
from bot.directory.lookups import country_code
from bot.i18n import format_date, gettext
from bot.payloads import EMERGENCY_INTENT, FALLBACK_INTENT, payload
from bot.vietnamese.text import fold

log = logging.getLogger(__name__)

D = reminders.DOMAIN
REMIND, SURVEY = "remind", "survey"
ANSWERS = "tool_answers"
OFFERED = "survey_offered"
# Four intents only: every button of a tool is `tool_choice` with its value (Stop is
# "stop", "no thanks" to the survey "no_survey"), a Cancel button is `my_reminders` with the
# reminder's id. Each intent with training examples costs the classifier's calibration.
CHOICE_INTENT = "tool_choice"
REMIND_INTENT, LIST_INTENT, SURVEY_INTENT = "remind_me", "my_reminders", "survey_start"
STOP, NO_SURVEY = "stop", "no_survey"
TOOL_INTENTS = {CHOICE_INTENT, REMIND_INTENT, LIST_INTENT, SURVEY_INTENT}
REMIND_STEPS = ("country", reminders.CONTRACT_END, reminders.RETURN)
# Above these, a message that answers nothing is another question: leave the tool.
CLEAR_TOPIC_CONFIDENCE = 0.8
CLEAR_META_CONFIDENCE = 0.6
_STOP_WORDS = (
    "dung",
    "dung lai",
    "dung di",
    "thoi",
    "thoi khoi",
    "thoi dung lai",
    "huy",
    "huy bo",
    "thoat",
    "khong lam nua",
    "stop",
    "stop it",
    "cancel",
    "quit",
    "exit",
    "stop the survey",
    "dung khao sat",
    "dung dat loi nhac",
)
_DONT_KNOW = (
    "khong nho",
    "khong biet",
    "chua biet",
    "chua ve",
    "don t know",
    "dont know",
    "do not know",
    "not sure",
    "not yet",
    "bo qua",
    "skip",
)


def today() -> _dt.date:
    """The action server's date (UTC); tests patch it."""
    return _dt.datetime.now(_dt.timezone.utc).date()


def pending_tool(tracker: Tracker) -> tuple[str, str] | None:
    """("remind", step) or ("survey", question) when a tool waits for an answer."""
    value = tracker.get_slot(REQUESTED) or ""
    tool, _, step = value.partition(":")
    return (tool, step) if tool in (REMIND, SURVEY) and step else None


def _answers(tracker: Tracker) -> dict[str, Any]:
    try:
        value = json.loads(tracker.get_slot(ANSWERS) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _ask(tool: str, step: str, answers: dict[str, Any]) -> Events:
    return [SlotSet(REQUESTED, f"{tool}:{step}"), SlotSet(ANSWERS, json.dumps(answers))]


def _end() -> Events:
    return [SlotSet(REQUESTED, None), SlotSet(ANSWERS, None)]


def _buttons(choices: list[tuple[str, str]], lang: str, skip: str | None = None) -> list[dict[str, str]]:
    buttons = [{"title": title, "payload": payload(CHOICE_INTENT, choice=value)} for value, title in choices]
    if skip:
        buttons.append(
            {
                "title": gettext(lang, skip, domain="reminders"),
                "payload": payload(CHOICE_INTENT, choice="skip"),
            }
        )
    buttons.append(
        {"title": gettext(lang, "Stop", domain="reminders"), "payload": payload(CHOICE_INTENT, choice=STOP)}
    )
    return buttons


def _typed(tracker: Tracker) -> str:
    """The answer: a button's value, else the text typed."""
    if latest_intent(tracker) == CHOICE_INTENT:
        chosen = latest_entity(tracker, "choice")
        if chosen:
            return chosen
    return latest_text(tracker)


def _wants_to_stop(tracker: Tracker) -> bool:
    """The Stop button, or a message that only says stop (read from the words, not from the
    classifier: "xây dựng" folds to a word of "dừng")."""
    text = latest_text(tracker)
    if latest_intent(tracker) == CHOICE_INTENT and latest_entity(tracker, "choice") == STOP:
        return True
    folded = " ".join(fold(text).split())
    return folded in _STOP_WORDS


def _moves_on(tracker: Tracker) -> bool:
    """A confident question about something else (or another button): the user has left."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name, confidence = intent.get("name") or "", float(intent.get("confidence") or 0.0)
    if name == CHOICE_INTENT:
        return False  # a button of this tool: asked again
    if latest_text(tracker).startswith("/"):
        return True  # a menu or topic button
    if name in (FALLBACK_INTENT, "out_of_scope"):
        return False
    meta = set(topic_groups().get("meta", []))
    if name in meta or name in TOOL_INTENTS:
        return confidence >= CLEAR_META_CONFIDENCE
    return name in set(topic_ids()) and confidence >= CLEAR_TOPIC_CONFIDENCE


def in_danger(tracker: Tracker) -> bool:
    """Whether this conversation has had the urgent card (or a danger message)."""
    for event in tracker.events or []:
        if event.get("event") == "action" and event.get("name") == "utter_emergency_help":
            return True
        if (
            event.get("event") == "slot"
            and event.get("name") == "topic"
            and event.get("value") == EMERGENCY_INTENT
        ):
            return True
        if event.get("event") == "user":
            if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == EMERGENCY_INTENT:
                return True
    return False


async def continue_tool(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> tuple[bool, Events]:
    """(handled, events): the turn answered by the pending tool, or (False, events to apply
    before the usual answer) when the user left it."""
    pending = pending_tool(tracker)
    if pending is None:
        return False, []
    tool, step = pending
    if _wants_to_stop(tracker):
        dispatcher.utter_message(
            text=gettext(lang, "OK, I stopped. Nothing from these questions was saved.", domain="reminders"),
            buttons=[menu_button(lang)],
        )
        return True, _end()
    if tool == REMIND:
        return await _remind_step(dispatcher, tracker, lang, step)
    return await _survey_step(dispatcher, tracker, lang, step)


def _left(dispatcher: CollectingDispatcher, lang: str, tool: str) -> tuple[bool, Events]:
    left = (
        "(I have left the reminders: nothing was saved.)"
        if tool == REMIND
        else "(I have left the survey: nothing was saved.)"
    )
    dispatcher.utter_message(text=gettext(lang, left, domain="reminders"))
    return False, _end()


# --- reminders ---------------------------------------------------------------------------

_COUNTRY_CHOICES = (("KR", "Korea"), ("JP", "Japan"), ("other", "Another country"))


def _remind_question(lang: str, step: str) -> tuple[str, list[dict[str, str]]]:
    if step == "country":
        choices = [(v, gettext(lang, t, domain="reminders")) for v, t in _COUNTRY_CHOICES]
        return gettext(lang, "In which country did you work?", domain="reminders"), _buttons(choices, lang)
    if step == reminders.CONTRACT_END:
        text = gettext(
            lang,
            "When did (or will) your labour contract abroad end? Write the date as day/month/year, "
            "for example 15/03/2025, or the month and year, for example 3/2025.",
            domain="reminders",
        )
        return text, _buttons([], lang, skip="I don't know")
    text = gettext(
        lang,
        "When did (or will) you come back to Viet Nam? Write the date as day/month/year, "
        "for example 15/03/2025, or the month and year, for example 3/2025.",
        domain="reminders",
    )
    return text, _buttons([], lang, skip="Not yet decided")


def _start_reminders(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
    lines = [
        gettext(
            lang,
            "I can remind you before these deadlines, from the dates you give me:",
            domain="reminders",
        )
    ]
    for rule in reminders.DEADLINES:
        lines.append("- " + _rule_line(rule, lang))
    lines.append(
        gettext(
            lang,
            "I keep only the dates and the deadlines, under an anonymous id; you can cancel them "
            'with /reminders, and "forget me" deletes them. You can stop at any time.',
            domain="reminders",
        )
    )
    if tracker.get_latest_input_channel() == "zalo":
        lines.append(
            gettext(
                lang,
                "On Zalo I can only write to you within 7 days of your last message: if you have not "
                "written for 7 days, Zalo will not let me remind you. Write to me now and then, or "
                "note the dates yourself.",
                domain="reminders",
            )
        )
    dispatcher.utter_message(text="\n".join(lines))
    text, buttons = _remind_question(lang, "country")
    dispatcher.utter_message(text=text, buttons=buttons)
    return _ask(REMIND, "country", {})


def _rule_line(rule: reminders.Deadline, lang: str) -> str:
    if rule.start == reminders.RETURN:
        after = gettext(lang, "after you come back", domain="reminders")
    else:
        after = gettext(lang, "after your labour contract ends", domain="reminders")
    period = (
        gettext(lang, "{n} days", domain="reminders", n=rule.days)
        if rule.days
        else gettext(lang, "{n} years", domain="reminders", n=rule.years)
    )
    where = {"JP": " (Nhật Bản)", "KR": " (Hàn Quốc)"}.get(rule.country or "", "")
    if lang == "en":
        where = {"JP": " (Japan)", "KR": " (Korea)"}.get(rule.country or "", "")
    title = gettext(lang, rule.title, domain="reminders")
    return f"{title}{where}: {period} {after}"


async def _remind_step(
    dispatcher: CollectingDispatcher, tracker: Tracker, lang: str, step: str
) -> tuple[bool, Events]:
    answers = _answers(tracker)
    typed = _typed(tracker)
    now = today()
    if step == "country":
        value = typed if typed in ("KR", "JP", "other") else None
        if value is None:
            code = country_code(typed) if len(typed.strip()) > 2 else None
            value = code if code in ("KR", "JP") else ("other" if code else None)
        if value is None:
            if _moves_on(tracker):
                return _left(dispatcher, lang, REMIND)
            text, buttons = _remind_question(lang, step)
            dispatcher.utter_message(text=text, buttons=buttons)
            return True, _ask(REMIND, step, answers)
        answers["country"] = value
        return True, _next_remind(dispatcher, lang, answers, reminders.CONTRACT_END)
    folded = " ".join(re.sub(r"[^a-z0-9/]+", " ", fold(typed)).split())
    parsed = None if typed == "skip" else reminders.parse_date(typed, now)
    if parsed is None and (typed == "skip" or any(re.search(rf"\b{w}\b", folded) for w in _DONT_KNOW)):
        answers[step] = None
    else:
        if parsed is None or not reminders.plausible(parsed.day, now):
            if parsed is None and _moves_on(tracker):
                return _left(dispatcher, lang, REMIND)
            dispatcher.utter_message(
                text=gettext(
                    lang,
                    "Sorry, I could not read that date. Write the date as day/month/year, for example "
                    "15/03/2025, or the month and year, for example 3/2025.",
                    domain="reminders",
                ),
                buttons=_remind_question(lang, step)[1],
            )
            return True, _ask(REMIND, step, answers)
        answers[step] = parsed.day.isoformat()
        if not parsed.exact:
            dispatcher.utter_message(
                text=gettext(
                    lang,
                    "I will count from {date}, the first day of that month, so that the reminder comes early.",
                    domain="reminders",
                    date=format_date(parsed.day, lang),
                )
            )
    if step == reminders.CONTRACT_END:
        return True, _next_remind(dispatcher, lang, answers, reminders.RETURN)
    return True, await _finish_reminders(dispatcher, tracker, lang, answers, now)


def _next_remind(dispatcher: CollectingDispatcher, lang: str, answers: dict[str, Any], step: str) -> Events:
    text, buttons = _remind_question(lang, step)
    dispatcher.utter_message(text=text, buttons=buttons)
    return _ask(REMIND, step, answers)


async def _finish_reminders(
    dispatcher: CollectingDispatcher, tracker: Tracker, lang: str, answers: dict[str, Any], now: _dt.date
) -> Events:
    dates = {
        key: _dt.date.fromisoformat(answers[key])
        for key in (reminders.CONTRACT_END, reminders.RETURN)
        if answers.get(key)
    }
    planned = reminders.plan(answers.get("country"), dates, now)
    if not planned:
        dispatcher.utter_message(
            text=gettext(
                lang,
                'Without a date I cannot set a reminder. Ask "remind me" again when you know the dates.',
                domain="reminders",
            ),
            buttons=[menu_button(lang)],
        )
        return _end()
    ahead = [p for p in planned if not p.passed(now)]
    try:
        await in_thread(reminders.save, db.get_engine(), tracker.sender_id, ahead)
    except SQLAlchemyError as error:
        log.error("could not store reminders (%s)", type(error).__name__)
        dispatcher.utter_message(
            text=gettext(
                lang,
                "Sorry, I could not save the reminders just now. Please try again later.",
                domain="reminders",
            )
        )
        return _end()
    lines = []
    for p in planned:
        what = gettext(lang, p.rule.title, domain="reminders")
        if p.passed(now):
            lines.append(
                gettext(
                    lang,
                    "- {what}: the deadline was {deadline}; it has passed. Ask me about it to see "
                    "what you can still do.",
                    domain="reminders",
                    what=what,
                    deadline=format_date(p.deadline, lang),
                )
            )
        else:
            lines.append(
                gettext(
                    lang,
                    "- {what}: by {deadline}. I will remind you on {remind_on}.",
                    domain="reminders",
                    what=what,
                    deadline=format_date(p.deadline, lang),
                    remind_on=format_date(p.remind_on, lang),
                )
            )
    head = (
        gettext(lang, "Done. Your deadlines:", domain="reminders")
        if ahead
        else gettext(lang, "Your deadlines:", domain="reminders")
    )
    tail = gettext(
        lang,
        "Check each deadline with the office named in my answer on it. Send /reminders (or "
        '"my reminders") to see or cancel them.',
        domain="reminders",
    )
    dispatcher.utter_message(text="\n".join([head, *lines, "", tail]), buttons=[menu_button(lang)])
    return _end()


def reminders_list_reply(items: list[reminders.Reminder], lang: str) -> tuple[str, list[dict[str, str]]]:
    if not items:
        return (
            gettext(lang, 'You have no reminders. Say "remind me" to set some.', domain="reminders"),
            [
                {
                    "title": gettext(lang, "Remind me of my deadlines", domain="reminders"),
                    "payload": payload(REMIND_INTENT),
                }
            ],
        )
    lines = [gettext(lang, "Your reminders:", domain="reminders")]
    buttons = []
    for number, item in enumerate(items, 1):
        what = gettext(lang, reminders.BY_KIND[item.kind].title, domain="reminders")
        lines.append(
            gettext(
                lang,
                "{n}. {what}: by {deadline} (reminder on {remind_on})",
                domain="reminders",
                n=number,
                what=what,
                deadline=format_date(item.deadline, lang),
                remind_on=format_date(item.remind_on, lang),
            )
        )
        buttons.append(
            {
                "title": gettext(lang, "Cancel {n}", domain="reminders", n=number),
                "payload": payload(LIST_INTENT, reminder=str(item.id)),
            }
        )
    buttons.append(
        {
            "title": gettext(lang, "Cancel all", domain="reminders"),
            "payload": payload(LIST_INTENT, reminder="all"),
        }
    )
    return "\n".join(lines), buttons


class ActionRemindersStart(Action):
    """ "nhắc tôi" / "remind me": explains the deadlines and asks the first question."""

    def name(self) -> str:
        return "action_reminders_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        return [*language_events(tracker), *_start_reminders(dispatcher, tracker, lang)]


class ActionRemindersList(Action):
    """`/reminders`, "lịch nhắc", "my reminders": the user's reminders, each with a Cancel
    button (the same intent with the reminder's id, or "all"), which deletes it first."""

    def name(self) -> str:
        return "action_reminders_list"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        which = latest_entity(tracker, "reminder") or ""
        engine = db.get_engine()
        try:
            deleted = None
            if which == "all":
                deleted = await in_thread(reminders.cancel, engine, tracker.sender_id)
            elif which.isdigit():
                deleted = await in_thread(reminders.cancel, engine, tracker.sender_id, int(which))
            items = await in_thread(reminders.waiting, engine, tracker.sender_id)
        except SQLAlchemyError as error:
            log.error("could not read or cancel reminders (%s)", type(error).__name__)
            dispatcher.utter_message(
                text=gettext(lang, "Sorry, I cannot read your reminders just now.", domain="reminders")
            )
            return list(language_events(tracker))
        if deleted is not None:
            dispatcher.utter_message(
                text=gettext(lang, "Cancelled.", domain="reminders")
                if deleted
                else gettext(lang, "That reminder was already gone.", domain="reminders")
            )
            if not items:
                return [*language_events(tracker), *_end()]
        text, buttons = reminders_list_reply(items, lang)
        dispatcher.utter_message(text=text, buttons=buttons)
        return [*language_events(tracker), *_end()]


# --- the survey --------------------------------------------------------------------------


def survey_offer(lang: str) -> dict[str, Any]:
    return {
        "text": gettext(
            lang,
            "Could you help people who come back after you? Answer {n} short anonymous questions about "
            "your return (about a minute; you can skip any). Nothing links the answers to you.",
            domain="reminders",
            n=len(survey.QUESTIONS),
        ),
        "buttons": [
            {
                "title": gettext(lang, "Yes, I will answer", domain="reminders"),
                "payload": payload(SURVEY_INTENT),
            },
            {
                "title": gettext(lang, "No, thanks", domain="reminders"),
                "payload": payload(CHOICE_INTENT, choice=NO_SURVEY),
            },
        ],
    }


def maybe_offer_survey(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> Events:
    """After a helpful answer: the survey offer, once per conversation, never after danger."""
    if tracker.get_slot(OFFERED) or in_danger(tracker) or pending_tool(tracker):
        return []
    offer = survey_offer(lang)
    dispatcher.utter_message(text=offer["text"], buttons=offer["buttons"])
    return [SlotSet(OFFERED, True)]


def _survey_question(
    dispatcher: CollectingDispatcher, lang: str, key: str, answers: dict[str, Any]
) -> Events:
    question = survey.BY_KEY[key]
    number = survey.ORDER.index(key) + 1
    choices = [(value, gettext(lang, title, domain="reminders")) for value, title in question.choices]
    text = f"({number}/{len(survey.ORDER)}) {survey.question_text(key, lang)}"
    dispatcher.utter_message(text=text, buttons=_buttons(choices, lang, skip="Skip"))
    return _ask(SURVEY, key, answers)


async def _survey_step(
    dispatcher: CollectingDispatcher, tracker: Tracker, lang: str, key: str
) -> tuple[bool, Events]:
    if key not in survey.BY_KEY:
        return False, _end()
    answers = _answers(tracker)
    value = survey.read_answer(key, _typed(tracker), today())
    if value is None:
        if _moves_on(tracker):
            return _left(dispatcher, lang, SURVEY)
        dispatcher.utter_message(
            text=gettext(
                lang, "Sorry, I did not understand. Choose a button, or write Skip.", domain="reminders"
            )
        )
        return True, _survey_question(dispatcher, lang, key, answers)
    answers[key] = value
    position = survey.ORDER.index(key)
    if position + 1 < len(survey.ORDER):
        return True, _survey_question(dispatcher, lang, survey.ORDER[position + 1], answers)
    try:
        stored = await in_thread(survey.save, db.get_engine(), answers)
    except SQLAlchemyError as error:
        log.error("could not store survey answers (%s)", type(error).__name__)
        stored = False
    dispatcher.utter_message(
        text=gettext(
            lang,
            "Thank you. Your anonymous answers help plan support for people who come back.",
            domain="reminders",
        )
        if stored
        else gettext(lang, "Thank you. Nothing was saved.", domain="reminders"),
        buttons=[menu_button(lang)],
    )
    return True, _end()


class ActionSurveyStart(Action):
    """Yes to the offer, or "I want to do the survey": the first question (never after danger)."""

    def name(self) -> str:
        return "action_survey_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        events: Events = [*language_events(tracker), SlotSet(OFFERED, True)]
        if in_danger(tracker):
            dispatcher.utter_message(
                text=gettext(
                    lang, "Not now: your safety comes first. Ask me for help at any time.", domain="reminders"
                ),
                buttons=[menu_button(lang)],
            )
            return events + _end()
        dispatcher.utter_message(
            text=gettext(
                lang,
                "Thank you. The answers are stored without your name, account, conversation or date, "
                "so nobody can link them to you (and so they cannot be deleted later). Skip any question; "
                "Stop ends the survey and saves nothing.",
                domain="reminders",
            )
        )
        return events + _survey_question(dispatcher, lang, survey.ORDER[0], {})


def decline_survey(dispatcher: CollectingDispatcher, lang: str) -> Events:
    """ "No, thanks" to the survey offer: never asked again in this conversation."""
    dispatcher.utter_message(
        text=gettext(lang, "OK, I will not ask again.", domain="reminders"), buttons=[menu_button(lang)]
    )
    return [SlotSet(OFFERED, True), *_end()]


class ActionToolStep(Action):
    """A tool's button pressed (an answer, Skip, Stop, or "no" to the survey offer): the
    pending tool takes it; a stale button of a tool already finished gets the menu."""

    def name(self) -> str:
        return "action_tool_step"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = user_language(tracker)
        if latest_entity(tracker, "choice") == NO_SURVEY:
            return [*language_events(tracker), *decline_survey(dispatcher, lang)]
        handled, events = await continue_tool(dispatcher, tracker, lang)
        if not handled:
            # "bỏ qua" / "skip" read as this intent may answer the Fund checker's or the
            # letter builder's question (actions/tools.py): that tool takes it.
            from actions.tools import tool_turn

            answered = await tool_turn(dispatcher, tracker, lang)
            if answered is not None:
                return [*language_events(tracker), *events, *answered]
            dispatcher.utter_message(
                text=gettext(
                    lang, "That question is closed. What would you like to know?", domain="reminders"
                ),
                buttons=[menu_button(lang)],
            )
        return [*language_events(tracker), *events]
