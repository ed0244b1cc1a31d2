"""Zalo Official Account API client: sending messages, the OAuth token pair, event signatures.

Zalo has no maintained Python SDK, so this is ours. It is independent of Rasa and of the
webhook (`bot.channels.zalo`), so scripts and `python -m bot zalo refresh-token` use it
alone.

Sending: POST {ZALO_API_BASE_URL}/v3.0/oa/message/cs with the `access_token` header.

Tokens: the access token lasts ~25 h and the refresh token is single-use, so the current
pair lives in the database (`zalo_oauth_tokens`, seeded once from ZALO_ACCESS_TOKEN /
ZALO_REFRESH_TOKEN). A refresh stores the new pair atomically (compare-and-swap on the old
refresh token) before the new access token is used; on -216 the client refreshes once and
retries. -230 / -213 and other refusals are logged by code (never a token) and counted in
`ZaloClient.problems`. HTTP 5xx, 429, network errors, timeouts and -32 are retried with
backoff within SEND_RETRY_SECONDS (`bot.channels.delivery`).

A reply to a user's message names that message (`recipient.message_id`): Zalo counts it
in the 8 free replies within 48 h, where a message to `user_id` alone is "proactive".
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.channels.delivery import DEFAULT_BUDGET_SECONDS, ON_ACCEPTED, Attempt, deliver
from bot.db import ensure_schema
from bot.db import zalo_tokens as _tokens
from bot.settings import ZaloSettings

logger = logging.getLogger(__name__)
# httpx logs every request URL at INFO; ours carry no token, but keep the logs about us.
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

_DEFAULTS = ZaloSettings()

# Expired/invalid access token. -201 is "invalid parameter" in general and only counts
# when Zalo's message says it is about the token.
TOKEN_ERRORS = {-216, -220}
# The user cannot be messaged: not following (-213), no interaction in 7 days (-230), ...
RECIPIENT_ERRORS = {-213, -227, -230, -232, -244}
RATE_LIMITED = -32
# The threads that send a turn's first message (`ZaloClient._post_and_report`): one per
# reply in flight, without queueing behind the process's other blocking work.
_SENDS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="zalo-send")
SIGNATURE_HEADER = "X-ZEvent-Signature"
TIMESTAMP_HEADER = "X-ZEvent-Timestamp"


class ZaloAuthError(RuntimeError):
    """The OA access token could not be refreshed (the tokens need re-authorising)."""


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Zalo's event MAC: hex SHA-256 of app id + raw body + timestamp + OA secret key."""
    material = app_id.encode("utf-8") + raw_body + timestamp.encode("utf-8") + oa_secret_key.encode("utf-8")
    return hashlib.sha256(material).hexdigest()


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: _dt.datetime | None = None

    def __repr__(self) -> str:  # tokens must never end up in a log line or traceback
        return f"TokenPair(expires_at={self.expires_at!r})"


class ZaloTokenStore:
    """The OA's current token pair, shared by all replicas through the database."""

    def __init__(self, engine: Engine, app_id: str, seed: TokenPair | None = None) -> None:
        self._engine = engine
        self._app_id = app_id
        self._seed = seed
        try:
            ensure_schema(engine)
        except SQLAlchemyError:
            pass  # the database is down at start: the first use migrates

    def current(self) -> TokenPair:
        ensure_schema(self._engine)
        return self._current()

    def _current(self) -> TokenPair:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(_tokens).where(_tokens.c.app_id == self._app_id)).first()
        if row is not None:
            return TokenPair(row.access_token, row.refresh_token, row.expires_at)
        if self._seed is None or not (self._seed.access_token or self._seed.refresh_token):
            raise ZaloAuthError("no Zalo tokens: set ZALO_ACCESS_TOKEN and ZALO_REFRESH_TOKEN")
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    sa.insert(_tokens).values(
                        app_id=self._app_id,
                        access_token=self._seed.access_token,
                        refresh_token=self._seed.refresh_token,
                        expires_at=self._seed.expires_at,
                        updated_at=_dt.datetime.utcnow(),
                    )
                )
        except IntegrityError:
            pass  # another replica seeded first
        return self.current()

    def replace(self, old_refresh_token: str, new: TokenPair) -> bool:
        """Store `new` only if the stored refresh token is still `old_refresh_token`."""
        with self._engine.begin() as conn:
            changed = conn.execute(
                sa.update(_tokens)
                .where(_tokens.c.app_id == self._app_id, _tokens.c.refresh_token == old_refresh_token)
                .values(
                    access_token=new.access_token,
                    refresh_token=new.refresh_token,
                    expires_at=new.expires_at,
                    updated_at=_dt.datetime.utcnow(),
                )
            ).rowcount
        return changed == 1


# --- API client ------------------------------------------------------------------------------


@dataclass
class ZaloConfig:
    app_id: str
    oa_secret_key: str
    app_secret: str
    access_token: str = ""
    refresh_token: str = ""
    api_base_url: str = _DEFAULTS.api_base_url
    oauth_base_url: str = _DEFAULTS.oauth_base_url
    signature_window_seconds: int = _DEFAULTS.signature_window_seconds

    def __repr__(self) -> str:
        return f"ZaloConfig(app_id=..., api_base_url={self.api_base_url!r})"

    def seed(self) -> TokenPair:
        """The first token pair, from the settings (used until the database holds one)."""
        return TokenPair(self.access_token, self.refresh_token)

    @classmethod
    def from_settings(cls, zalo: ZaloSettings) -> ZaloConfig:
        def secret(value: Any) -> str:
            return value.get_secret_value() if value is not None else ""

        return cls(
            app_id=str(zalo.app_id or ""),
            oa_secret_key=secret(zalo.oa_secret_key),
            app_secret=secret(zalo.app_secret),
            access_token=secret(zalo.access_token),
            refresh_token=secret(zalo.refresh_token),
            api_base_url=zalo.api_base_url,
            oauth_base_url=zalo.oauth_base_url,
            signature_window_seconds=zalo.signature_window_seconds,
        )


class ZaloClient:
    """Sends OA consultation messages and keeps the access token fresh."""

    def __init__(
        self,
        config: ZaloConfig,
        tokens: ZaloTokenStore,
        timeout: float = 10.0,
        retry_seconds: float = DEFAULT_BUDGET_SECONDS,
    ) -> None:
        self._config = config
        self._tokens = tokens
        self._timeout = timeout
        self._budget = retry_seconds
        self._last_pair: TokenPair | None = None
        self._refresh_lock: asyncio.Lock | None = None
        self._http: httpx.AsyncClient | None = None
        self._blocking: httpx.Client | None = None  # for `_post_and_report`'s threads
        self._blocking_lock = threading.Lock()
        self.problems: Counter[str] = Counter()  # error code -> times seen, for monitoring/tests

    def _client(self) -> httpx.AsyncClient:
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(timeout=self._timeout)
        return self._http

    async def _access_token(self) -> str:
        try:
            pair = await asyncio.to_thread(self._tokens.current)
            self._last_pair = pair
        except SQLAlchemyError:
            # The database is down: the last pair seen (or the configured seed) still works
            # for hours, so urgent replies go out (bot.degraded).
            pair = self._last_pair or self._config.seed()
            if not pair.access_token:
                raise ZaloAuthError("no access token while the database is down") from None
            return pair.access_token
        if pair.expires_at and pair.expires_at - _dt.timedelta(minutes=5) < _dt.datetime.utcnow():
            return await self.refresh(pair.access_token)
        return pair.access_token

    async def refresh(self, failed_access_token: str) -> str:
        """A fresh access token; refreshes unless someone already replaced `failed_access_token`."""
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            pair = await asyncio.to_thread(self._tokens.current)
            if pair.access_token != failed_access_token:
                return pair.access_token
            try:
                reply = await self._client().post(
                    f"{self._config.oauth_base_url.rstrip('/')}/v4/oa/access_token",
                    headers={"secret_key": self._config.app_secret},
                    data={
                        "refresh_token": pair.refresh_token,
                        "app_id": self._config.app_id,
                        "grant_type": "refresh_token",
                    },
                )
                body = reply.json()
            except (httpx.HTTPError, ValueError) as exc:
                self.problems["refresh_failed"] += 1
                logger.error("zalo token refresh failed: %s", type(exc).__name__)
                raise ZaloAuthError("token refresh failed") from exc
            if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
                # Maybe another replica spent the single-use refresh token a moment ago.
                latest = await asyncio.to_thread(self._tokens.current)
                if latest.refresh_token != pair.refresh_token:
                    return latest.access_token
                self.problems["refresh_failed"] += 1
                code = body.get("error") if isinstance(body, dict) else None
                logger.error("zalo token refresh refused (error %s); re-authorise the OA", code)
                raise ZaloAuthError("token refresh refused")
            try:
                lifetime = int(body.get("expires_in") or 0)
            except (TypeError, ValueError):
                lifetime = 0
            new = TokenPair(
                str(body["access_token"]),
                str(body["refresh_token"]),
                _dt.datetime.utcnow() + _dt.timedelta(seconds=lifetime) if lifetime > 0 else None,
            )
            # Persist before use: the old refresh token is now spent, losing the new pair
            # would lock the OA out until someone re-authorises it by hand.
            stored = await asyncio.to_thread(self._tokens.replace, pair.refresh_token, new)
            if not stored:
                latest = await asyncio.to_thread(self._tokens.current)
                return latest.access_token
            self.problems["refreshed"] += 1
            logger.info("zalo access token refreshed")
            return new.access_token

    async def send(self, user_id: str, message: dict[str, Any], reply_to: str | None = None) -> bool:
        """Send one consultation message; True when Zalo accepted it.

        `reply_to` (the user's `msg_id`) sends it as a reply to that message, which Zalo
        counts in the 8 free replies within 48 h; with only `user_id` it is a "proactive"
        message (channels.md 3.8)."""
        url = f"{self._config.api_base_url.rstrip('/')}/v3.0/oa/message/cs"
        recipient = {"message_id": reply_to} if reply_to else {"user_id": user_id}
        body = {"recipient": recipient, "message": message}
        try:
            token = await self._access_token()
        except ZaloAuthError:
            return False
        refreshed = False

        async def attempt() -> Attempt:
            nonlocal token, refreshed
            accepted = ON_ACCEPTED.get()
            try:
                if accepted is None:
                    reply = await self._client().post(url, json=body, headers={"access_token": token})
                else:
                    reply = await asyncio.get_running_loop().run_in_executor(
                        _SENDS, self._post_and_report, url, body, token, accepted
                    )
            except httpx.TimeoutException as exc:
                self.problems["http"] += 1
                return Attempt.transient(type(exc).__name__, kind="timeout")
            except httpx.HTTPError as exc:
                self.problems["http"] += 1
                return Attempt.transient(type(exc).__name__, kind="network")
            if reply.status_code == 429:
                return Attempt.transient("HTTP 429", _retry_after(reply), kind="429")
            if reply.status_code >= 500:
                self.problems["http"] += 1
                return Attempt.transient(f"HTTP {reply.status_code}", _retry_after(reply), kind="5xx")
            try:
                result = reply.json()
            except ValueError:
                self.problems["http"] += 1
                return Attempt.failed(f"HTTP {reply.status_code}, not JSON")
            code = _error_code(result)
            if code == 0:
                return Attempt.sent()
            if _is_token_error(code, result) and not refreshed:
                refreshed = True
                try:
                    token = await self.refresh(token)
                except ZaloAuthError:
                    return Attempt.failed("access token expired and the refresh failed")
                return Attempt.transient("access token expired, refreshed", 0, kind="token")
            if code == RATE_LIMITED:
                return Attempt.transient(f"rate limited (error {code})", 1.0, kind="rate_limited")
            self.problems[str(code)] += 1
            reason = _safe_reason(result.get("message") if isinstance(result, dict) else None)
            if code in RECIPIENT_ERRORS:
                return Attempt.failed(f"Zalo refused delivery to this user: error {code} ({reason})")
            return Attempt.failed(f"error {code} ({reason})")

        return await deliver(attempt, "zalo send", self._budget)

    def _post_and_report(
        self, url: str, body: dict[str, Any], token: str, accepted: Callable[[], None]
    ) -> httpx.Response:
        """The first message of a turn's reply, sent from a thread of its own, which calls
        `accepted` (the webhook marks the update handled) as soon as Zalo accepted it
        (`ON_ACCEPTED` in `bot.channels.delivery`: the event loop may hear of the answer a
        quarter of a second later, and a crash in that time answered the update twice)."""
        with self._blocking_lock:
            if self._blocking is None:
                self._blocking = httpx.Client(timeout=self._timeout)
            client = self._blocking
        reply = client.post(url, json=body, headers={"access_token": token})
        if reply.status_code == 200:
            try:
                if _error_code(reply.json()) == 0:
                    accepted()
            except ValueError:
                pass  # not JSON: `attempt` reports it
        return reply

    async def upload_file(self, filename: str, data: bytes) -> str | None:
        """Upload a file (PDF, DOC, DOCX; at most 5 MB) for a message; Zalo's file token, or
        None when the upload failed (logged by type, never with the token)."""
        url = f"{self._config.api_base_url.rstrip('/')}/v2.0/oa/upload/file"
        try:
            token = await self._access_token()
        except ZaloAuthError:
            return None
        for attempt in range(2):
            try:
                reply = await self._client().post(
                    url,
                    headers={"access_token": token},
                    files={"file": (filename, data, "application/pdf")},
                )
                result = reply.json()
            except (httpx.HTTPError, ValueError) as exc:
                self.problems["http"] += 1
                logger.warning("zalo upload failed: %s", type(exc).__name__)
                return None
            code = _error_code(result)
            if code == 0:
                file_token = (result.get("data") or {}).get("token")
                return str(file_token) if file_token else None
            if _is_token_error(code, result) and attempt == 0:
                try:
                    token = await self.refresh(token)
                except ZaloAuthError:
                    return None
                continue
            self.problems[str(code)] += 1
            logger.warning("zalo upload refused: error %s (%s)", code, _safe_reason(result.get("message")))
            return None
        return None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._blocking is not None:
            self._blocking.close()
            self._blocking = None


def _retry_after(reply: httpx.Response) -> float:
    """The server's Retry-After in seconds (0 when absent or not a number)."""
    try:
        return max(0.0, float(reply.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


def _error_code(result: Any) -> int:
    if not isinstance(result, dict):
        return -1
    try:
        return int(result.get("error", -1))
    except (TypeError, ValueError):
        return -1


def _is_token_error(code: int, result: dict[str, Any]) -> bool:
    if code in TOKEN_ERRORS:
        return True
    return code == -201 and "token" in str(result.get("message", "")).lower()


def _safe_reason(reason: Any) -> str:
    """Zalo's error text, trimmed; it names the problem, not the user or the token."""
    text = str(reason or "")[:80]
    return text if text.isascii() else "non-ASCII message"
