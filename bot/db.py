"""The assistant's own database (DATABASE_URL): engines, the tables it owns, migrations.

One engine per URL for the whole process (creating one per look-up would cost more than
the look-up), SQLite with foreign keys on and its directory created, PostgreSQL with
pre-ping so a restarted server does not fail the next request.

Every table the project owns is declared on the one `metadata` below: the channel tables
here, the directory tables in `bot.directory.models` (declared on `Base`, which shares
it). The conversations themselves live in Rasa's tracker store (TRACKER_STORE_URL), not here.

The schema changes only through the Alembic migrations in `bot/migrations/`
(`python -m bot db upgrade`; `bot run` and the stores run them too, through
`ensure_schema`). The Alembic configuration is built in code with the live connection, so
no database URL or password is ever written to a file. The first revision creates the
schema the bot had before migrations existed, table by table, skipping tables that an
older version already created: an existing database is adopted with its data.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

metadata = sa.MetaData()
# Any: SQLAlchemy 1.4's declarative base is a runtime class that mypy cannot see through.
Base: Any = declarative_base(metadata=metadata)

# --- the channel tables ------------------------------------------------------------------

# The way back from a pseudonym (Rasa's sender id) to a platform user, needed to deliver
# replies. Deleted by "forget me"; nothing else links a conversation to a person.
identities = sa.Table(
    "platform_identities",
    metadata,
    sa.Column("sender_id", sa.String(80), primary_key=True),
    sa.Column("platform", sa.String(20), nullable=False),
    sa.Column("platform_user_id", sa.String(100), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    info={"doc": "pseudonym -> platform user id, to deliver replies; deleted on 'forget me'"},
)

# The HMAC key of the pseudonyms when SENDER_ID_SECRET is not set: generated once and shared
# by every replica, so pseudonyms are stable across restarts.
pseudonym_secrets = sa.Table(
    "pseudonym_secrets",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
    info={"doc": "the generated pseudonym key, when SENDER_ID_SECRET is not set"},
)

# Platform update ids already handled, so a redelivered update gets no second reply. Keys
# hold update/message ids, never user ids; rows older than the TTL are purged.
processed_updates = sa.Table(
    "channel_processed_updates",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    info={"doc": "webhook dedupe claims (update/message ids), kept >= 25 h"},
)

# Button payloads too long for a platform (Telegram's 64-byte callback_data) under a short
# hashed id, and, for 48 h, which payload a button title stood for in one conversation
# (Zalo sends the title back as text).
button_payloads = sa.Table(
    "channel_button_payloads",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    info={"doc": "button payload short ids and recent button titles"},
)

# The Zalo OA's current token pair. The refresh token is single-use, so the pair must be
# shared by every replica and survive restarts; replaced by compare-and-swap.
zalo_tokens = sa.Table(
    "zalo_oauth_tokens",
    metadata,
    sa.Column("app_id", sa.String(64), primary_key=True),
    sa.Column("access_token", sa.Text, nullable=False),
    sa.Column("refresh_token", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    info={"doc": "the Zalo OA access/refresh token pair"},
)

# --- the staff console (bot/staff/) --------------------------------------------------------

# NGO staff accounts. Only an Argon2 hash of the password is kept; a new or reset account
# carries a one-time password that must be changed at first login.
staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("must_change_password", sa.Boolean, nullable=False, default=True),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("password_changed_at", sa.DateTime, nullable=True),
    info={"doc": "staff console accounts: e-mail, role, Argon2 password hash"},
)

# Logged-in sessions. The cookie holds a random token; only its SHA-256 is stored, so a
# copy of the database does not let anyone log in. Expired rows are purged at login.
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    info={"doc": "staff console sessions (hashed tokens, CSRF token, idle/absolute expiry)"},
)

# Failed logins, counted per account and per address for the rate limit; kept one day.
staff_login_failures = sa.Table(
    "staff_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, index=True),
    sa.Column("ip", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    info={"doc": "failed staff logins for the rate limit, purged after a day"},
)

# Who did what, when, in the console. Details name ids and outcomes, never message text.
staff_audit_log = sa.Table(
    "staff_audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("staff", sa.String(254), nullable=False, index=True),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    info={"doc": "every staff action in the console: who, when, what (no message text)"},
)


# --- the web chat outbox ------------------------------------------------------------------

# Messages for a web-chat user that arrive outside a request/response turn (a staff reply,
# the end of a handoff), waiting for the page's next poll (`bot.channels.webchat`). A row
# is deleted once the page acknowledges it, after WEBCHAT_OUTBOX_TTL_HOURS, and by "forget
# me". `id` gives the order (a new row's id is above every row still waiting); the page
# acknowledges `key`, a random token, because SQLite may give a new row the id of one
# already delivered, and an acknowledgement repeated after a lost answer must not delete it.
webchat_outbox = sa.Table(
    "webchat_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(32), nullable=False, unique=True),
    sa.Column("sender_id", sa.String(80), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("buttons", sa.Text, nullable=True),  # JSON list of {"title", "payload"}
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    info={
        "doc": "web-chat messages waiting for the page's poll; deleted when delivered, after a TTL, on 'forget me'"
    },
)


# --- the handoff tables (bot.handoff) -------------------------------------------------------

# One request to talk to a person. `sender_id` is the pseudonym (as in the tracker store);
# staff see only `label`. Deleted with "forget me" and after RETENTION_DAYS.
handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(80), nullable=False, index=True),
    sa.Column("label", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("lang", sa.String(5), nullable=False),
    sa.Column("country", sa.String(2), nullable=True),
    sa.Column("province", sa.String(80), nullable=True),
    sa.Column("topic", sa.String(80), nullable=True),
    sa.Column("state", sa.String(10), nullable=False, index=True),  # waiting | active | closed
    sa.Column("urgent", sa.Boolean, nullable=False, default=False),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("last_user_message_at", sa.DateTime, nullable=True),
    sa.Column("closed_at", sa.DateTime, nullable=True),
    sa.Column("outcome", sa.String(30), nullable=True),
    sa.Column("staff_thread_id", sa.BigInteger, nullable=True),  # Telegram staff-group topic
    info={"doc": "requests to talk to a person (pseudonymous)"},
)

# The conversation of a handoff: conversation content like the tracker store.
handoff_messages = sa.Table(
    "handoff_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "handoff_id", sa.Integer, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("author", sa.String(5), nullable=False),  # user | bot | staff
    sa.Column("staff", sa.String(200), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("delivery", sa.String(200), nullable=True),  # "sent", or why not (bot/staff turns)
    info={"doc": "the turns of a handoff conversation"},
)

# Every change to a handoff, so the staff inbox can ask "what changed since N" cheaply.
handoff_changes = sa.Table(
    "handoff_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "handoff_id", sa.Integer, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    info={"doc": "a change log of handoffs for the inbox's live updates"},
)

# Signals that the bot is not helping one user (two thumbs down): offer a person.
handoff_signals = sa.Table(
    "handoff_signals",
    metadata,
    sa.Column("sender_id", sa.String(80), primary_key=True),
    sa.Column("thumbs_down", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    info={"doc": "per-user count of recent thumbs down (offer a handoff at two)"},
)


# --- feedback and the unanswered queue (bot/feedback.py) ---------------------------------
# Nothing here holds a platform id or a pseudonym: rows carry `sender_key`, a one-way hash
# of the pseudonym, only so that "forget me" can find them. Queue text is masked before
# it is stored. Votes and queue items are deleted after RETENTION_DAYS.

feedback_votes = sa.Table(
    "feedback_votes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("topic", sa.String(80), nullable=False),
    sa.Column("lang", sa.String(5), nullable=False),
    sa.Column("vote", sa.String(4), nullable=False),
    sa.Column("sender_key", sa.String(64), nullable=True, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    info={"doc": "thumbs up/down per answer card (no message text); purged after RETENTION_DAYS"},
)

feedback_queue_items = sa.Table(
    "feedback_queue_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("lang", sa.String(5), nullable=False),
    sa.Column("topic", sa.String(80), nullable=True),
    sa.Column("sender_key", sa.String(64), nullable=True, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    info={"doc": "unanswered messages, masked; grouped by `key`; purged after RETENTION_DAYS"},
)

feedback_queue_groups = sa.Table(
    "feedback_queue_groups",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("topic", sa.String(80), nullable=True),
    sa.Column("updated_by", sa.String(200), nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    info={"doc": "staff decisions on a queue group (handled, linked to a topic); no row: open"},
)

feedback_training_examples = sa.Table(
    "feedback_training_examples",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("topic", sa.String(80), nullable=False),
    sa.Column("lang", sa.String(5), nullable=True),
    sa.Column("linked_by", sa.String(200), nullable=True),
    sa.Column("linked_at", sa.DateTime, nullable=False),
    info={"doc": "folded, masked queue text linked to a topic: candidate training examples"},
)


# --- privacy: deletions still owed, and the lease of the daily purge (bot.privacy) --------

# A "forget me" that could not delete everything at once (a store was down): the sender is
# kept here, and only here, until the purge job has deleted the rest, then the row goes.
pending_deletions = sa.Table(
    "privacy_pending_deletions",
    metadata,
    sa.Column("sender_id", sa.String(80), primary_key=True),
    sa.Column("requested_at", sa.DateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_failure", sa.String(100), nullable=True),
    info={"doc": "'forget me' requests not yet completed, retried by the purge job"},
)

# One row per scheduled job: the replica holding an unexpired lease runs it, so several
# replicas sharing the database purge once a day, not once per replica.
job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(80), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("last_run_at", sa.DateTime, nullable=True),
    info={"doc": "leases of scheduled jobs shared by replicas (the daily purge)"},
)


# --- answer-card revisions and the verification queue (bot.content.revisions, .verification) --

# Every version of an answer card the console has seen: both languages' whole files, so a
# revision is one unit that the checks (same figures in vi and en) can judge. Drafts,
# reviews, the live version and the ones it replaced are all kept; nothing here names a user.
content_revisions = sa.Table(
    "content_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("card_id", sa.String(80), nullable=False, index=True),
    sa.Column("vi_text", sa.Text, nullable=False),
    sa.Column("en_text", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # draft, review, live, superseded, rejected
    sa.Column("author", sa.String(254), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("based_on", sa.Integer, nullable=True),  # the live revision the draft started from
    sa.Column("note", sa.String(300), nullable=False, default=""),
    sa.Column("reviewer", sa.String(254), nullable=True),
    sa.Column("reviewed_at", sa.DateTime, nullable=True),
    sa.Column("published_at", sa.DateTime, nullable=True),
    info={"doc": "every revision of an answer card (vi + en files), its review and publication"},
)

# A fact an agent saw questioned in a conversation: the topic and the agent's own note only,
# never the user's words, so it outlives the conversation without holding anything personal.
fact_flags = sa.Table(
    "fact_flags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("topic", sa.String(80), nullable=False),
    sa.Column("note", sa.String(500), nullable=False),
    sa.Column("flagged_by", sa.String(254), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("resolved_by", sa.String(254), nullable=True),
    sa.Column("resolved_at", sa.DateTime, nullable=True),
    sa.Column("resolution", sa.String(300), nullable=True),
    info={"doc": "facts flagged for review by an agent: topic and the agent's note, no user text"},
)


# --- directory edits and statistics (branch staffdir; bot/directory/editing.py, bot/statistics.py)

# A change to data/directory/ proposed in the staff console: written by an editor, published
# by a reviewer other than the author (the CSV row is then written and the directory
# reloaded). `cells` is the proposed row (CSV column -> text) as JSON; `base` the row as it
# was when the draft was written, so a draft over a row changed since is refused. Directory
# rows are public contacts, never user data.
directory_drafts = sa.Table(
    "directory_drafts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table_name", sa.String(20), nullable=False),  # offices | partners
    sa.Column("row_id", sa.String(80), nullable=False, index=True),
    sa.Column("action", sa.String(10), nullable=False),  # add | edit | retire
    sa.Column("cells", sa.Text, nullable=False),
    sa.Column("base", sa.Text, nullable=True),
    sa.Column("author", sa.String(254), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, index=True),  # pending | published | rejected
    sa.Column("reviewer", sa.String(254), nullable=True),
    sa.Column("decided_at", sa.DateTime, nullable=True),
    sa.Column("note", sa.String(500), nullable=True),
    info={"doc": "directory changes proposed in the console, waiting for or past review"},
)

# Statistics without identities. A conversation is counted through a key that is an HMAC of
# the pseudonym under a random salt of the current week; the salt is deleted when the week
# ends and the week's keyed rows are rolled up into `stats_weekly` (counts only), so no row
# can be joined back to a conversation. No text, no platform id, no time finer than a week.
stats_week_salts = sa.Table(
    "stats_week_salts",
    metadata,
    sa.Column("week", sa.Date, primary_key=True),  # the Monday of the week (UTC)
    sa.Column("salt", sa.String(64), nullable=False),
    info={"doc": "the random salt of the current week's conversation keys; deleted when the week ends"},
)

stats_turns = sa.Table(
    "stats_turns",
    metadata,
    sa.Column("week", sa.Date, primary_key=True),
    sa.Column("conversation", sa.String(32), primary_key=True),  # HMAC(week salt, pseudonym)
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("lang", sa.String(5), primary_key=True),
    sa.Column("topic", sa.String(80), primary_key=True),  # "" when none
    sa.Column("country", sa.String(2), primary_key=True),  # "" when none
    sa.Column("province", sa.String(80), primary_key=True),  # "" when none
    sa.Column("answered", sa.Boolean, primary_key=True),
    sa.Column("turns", sa.Integer, nullable=False),
    info={"doc": "the current week's turn counts per unlinkable conversation key and cell"},
)

stats_weekly = sa.Table(
    "stats_weekly",
    metadata,
    sa.Column("week", sa.Date, primary_key=True),
    sa.Column("dimension", sa.String(20), primary_key=True),  # all | channel | lang | topic | ...
    sa.Column("value", sa.String(80), primary_key=True),
    sa.Column("conversations", sa.Integer, nullable=False),
    sa.Column("turns", sa.Integer, nullable=False),
    sa.Column("unanswered", sa.Integer, nullable=False),
    info={"doc": "past weeks' counts per dimension value (conversations, turns, unanswered); no keys"},
)


# --- understanding: training examples added in the console, and retrain jobs (bot.training) ---
# Examples are staff-chosen training text (from the masked unanswered queue, or typed), with
# no sender: they also live in data/nlu/console/ in git. A job row is the progress bar the
# console polls and the record of what was published and what it replaced (for rollback).
# `active` is 1 while a job runs and NULL after: its unique index allows one running job.

training_examples = sa.Table(
    "training_examples",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("topic", sa.String(80), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("file", sa.String(200), nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("added_by", sa.String(200), nullable=False),
    sa.Column("added_at", sa.DateTime, nullable=False),
    info={"doc": "training examples added in the staff console (also written to data/nlu/console/)"},
)

training_jobs = sa.Table(
    "training_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("step", sa.String(40), nullable=False),
    sa.Column("progress", sa.Integer, nullable=False, default=0),
    sa.Column("active", sa.Integer, nullable=True, unique=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("figures", sa.Text, nullable=True),
    sa.Column("candidate", sa.String(500), nullable=True),
    sa.Column("published_model", sa.String(500), nullable=True),
    sa.Column("previous_model", sa.String(500), nullable=True),
    sa.Column("rolled_back_at", sa.DateTime, nullable=True),
    sa.Column("rolled_back_by", sa.String(200), nullable=True),
    info={"doc": "retrains started in the staff console: progress, held-out figures, published model"},
)

# --- fundletter: complaint-letter drafts and the finished letters waiting (bot/tools/letter_store.py)

# The answers of a complaint letter in progress (JSON), one row per sender. Deleted when the
# letter is made unless the user asked to keep a draft (`keep`), on "forget me", on
# cancel, and after RETENTION_DAYS.
letter_drafts = sa.Table(
    "letter_drafts",
    metadata,
    sa.Column("sender_id", sa.String(80), primary_key=True),
    sa.Column("answers", sa.Text, nullable=False),
    sa.Column("keep", sa.Boolean, nullable=False, default=False),
    sa.Column("updated_at", sa.DateTime, nullable=False, index=True),
    info={"doc": "complaint-letter answers until the letter is made (longer only when kept as a draft)"},
)

# A finished letter (PDF) until its channel delivers it: Telegram and Zalo send it at once;
# the web chat's one-time link downloads it. Found by the SHA-256 of an unguessable token;
# deleted when taken, on "forget me", and when `expires_at` passes.
letter_files = sa.Table(
    "letter_files",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("sender_id", sa.String(80), nullable=False, index=True),
    sa.Column("filename", sa.String(100), nullable=False),
    sa.Column("pdf", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
    info={"doc": "finished complaint letters (PDF) waiting to be sent or downloaded once"},
)

# --- deadline reminders and anonymous returnee profiles (issue 14, branch remind) ----------

# A reminder the user asked for ("nhắc tôi"): the pseudonym, which deadline, the date the
# user gave, the deadline and the day to remind; nothing else. `status`: due -> sending
# (claimed by one scheduler replica with an atomic UPDATE ... WHERE status='due') -> sent,
# or missed (the deadline passed undelivered, e.g. outside Zalo's 7-day window). Deleted
# by "forget me", by the user's cancel, and after the deadline (bot.reminders.purge).
reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(80), nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),
    sa.Column("remind_on", sa.Date, nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("claimed_at", sa.DateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    info={"doc": "deadline reminders: pseudonym, deadline kind and dates; deleted on 'forget me'"},
)

# One anonymous survey answer set. Deliberately NO pseudonym, conversation id, channel or
# timestamp: the id is random (row order says nothing about time), values are coarse (year,
# province, host country). Nothing can join a row to a person, so "forget me" cannot find
# it either, which the survey says before the first question.
returnee_profiles = sa.Table(
    "returnee_profiles",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("host_country", sa.String(2), nullable=True),
    sa.Column("sector", sa.String(20), nullable=True),
    sa.Column("return_year", sa.Integer, nullable=True),
    sa.Column("return_mode", sa.String(20), nullable=True),
    sa.Column("voluntary", sa.String(5), nullable=True),
    sa.Column("gender", sa.String(10), nullable=True),
    sa.Column("province", sa.String(80), nullable=True),
    sa.Column("needs", sa.String(200), nullable=True),
    info={"doc": "anonymous returnee survey answers: no pseudonym, no time finer than the year"},
)

# --- reliability: delivery (branch reliab; bot.channels.stores, bot.channels.zalo) --------

# Platform updates whose turn is running: claimed here until the reply was sent, then moved
# to `channel_processed_updates`. A claim whose lease expired belongs to a turn that died
# (a crash), so the platform's redelivery runs it again. Keys hold update/message ids only.
turns_in_flight = sa.Table(
    "channel_turns_in_flight",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("lease_until", sa.DateTime, nullable=False),
    info={"doc": "platform updates whose turn is running (lease), until the reply is sent"},
)

# The latest Zalo message id of a conversation, so that replies sent outside the turn
# (staff replies, cards from the console) go out as replies to it, which Zalo counts in the
# 8 free replies within 48 h (channels.md 3.8). Useless after 48 h; deleted by "forget me".
zalo_reply_targets = sa.Table(
    "zalo_reply_targets",
    metadata,
    sa.Column("sender_id", sa.String(80), primary_key=True),
    sa.Column("message_id", sa.String(100), nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False, index=True),
    info={"doc": "latest Zalo message id per conversation (48 h), for free replies from staff"},
)


def all_metadata() -> sa.MetaData:
    """`metadata` with every table declared (the directory models are imported here)."""
    import bot.directory.models  # noqa: F401 - declares the directory tables on `metadata`

    return metadata


# --- engines ------------------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """Hosting platforms still hand out `postgres://`, which SQLAlchemy 1.4 no longer accepts."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else DATABASE_URL (which defaults to var/bot.db)."""
    if not url:
        from bot.settings import get_settings

        url = get_settings().database_url
    return normalize_url(url)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_ENGINES: dict[str, Engine] = {}
_SESSIONS: dict[str, sessionmaker] = {}
_MIGRATED: weakref.WeakSet[Engine] = weakref.WeakSet()
_LOCK = threading.RLock()


def get_engine(url: str | None = None) -> Engine:
    """The process's engine for the URL (SQLAlchemy 2.0 style, `future=True`)."""
    url = database_url(url)
    with _LOCK:
        if url not in _ENGINES:
            _ENGINES[url] = _create_engine(url)
        return _ENGINES[url]


def private_sqlite_file(path: str) -> None:
    """Create a SQLite file (and its directory) readable by this user only, or make an
    existing one so: it holds conversations and the pseudonym map."""
    import os

    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(file, 0o600)


def _create_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""  # "sqlite://": memory
        if path and not path.startswith(":memory:"):
            private_sqlite_file(path)
        # Look-ups run in executor threads, not the thread that opened the connection.
        kwargs["connect_args"] = {"check_same_thread": False}
        if path and not path.startswith(":memory:"):
            # Connections kept open between uses (SQLAlchemy 1.4 opens and closes one per
            # session on a SQLite file, with the PRAGMAs below each time: most of a
            # directory look-up's 4 ms, docs/benchmarks.md). Forked Rasa workers drop the
            # parent's pooled connections (`bot.rasa_server`).
            from sqlalchemy.pool import QueuePool

            kwargs.update(poolclass=QueuePool, pool_size=5, max_overflow=10)
    else:
        kwargs["pool_pre_ping"] = True
    engine = sa.create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        sa.event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        sqlite_write_ahead_log(engine)
    return engine


def _write_ahead_log(connection: Any, _: Any) -> None:
    import sqlite3

    cursor = connection.cursor()
    try:
        # Switching a file to WAL needs it to itself for a moment; while another process
        # or engine holds it open, the switch fails ("database is locked"). WAL only speeds
        # things up, so this connection stays in the file's current mode and a later one
        # switches it (once switched, the mode is kept in the file).
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        pass
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_write_ahead_log(engine: Engine) -> None:
    """A SQLite database file in write-ahead-log mode with `synchronous=NORMAL`: every
    SQLite engine of bot.db here, and Rasa's tracker store (`bot.tracker_store`). In
    SQLite's default mode every commit waits for two fsyncs and readers block the writer:
    Rasa's save of each turn stalled the event loop, and the "replied" mark took 50-500 ms
    under load (measured; a crash within that time answers the update twice). A kill (even
    SIGKILL) loses no commit in WAL mode; a power cut can lose the last ones, never corrupt
    the file (https://sqlite.org/wal.html). The -wal and -shm files get the database
    file's permissions (0600). Production uses PostgreSQL."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    if not sa.event.contains(engine, "connect", _write_ahead_log):
        sa.event.listen(engine, "connect", _write_ahead_log)
        engine.dispose()  # pooled connections opened before the listener get it too


def _session_factory(url: str) -> sessionmaker:
    engine = get_engine(url)
    with _LOCK:
        if url not in _SESSIONS:
            _SESSIONS[url] = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        return _SESSIONS[url]


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session; closed (and its connection returned to the pool) on exit."""
    session: Session = _session_factory(database_url(url))()
    try:
        yield session
    finally:
        session.close()


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, shutdown)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _SESSIONS.clear()
        _MIGRATED.clear()


# --- migrations ---------------------------------------------------------------------------


def _alembic_config(connection: sa.engine.Connection) -> Any:
    from alembic.config import Config

    config = Config()  # no alembic.ini: nothing about the database is written to a file
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; adopts a database created before migrations existed."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None before the first upgrade."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision in `bot/migrations/versions/`."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def ensure_schema(engine: Engine) -> Engine:
    """Run the migrations once per engine in this process (the stores call it before use)."""
    with _LOCK:
        if engine not in _MIGRATED:
            upgrade(engine)
            _MIGRATED.add(engine)
    return engine
