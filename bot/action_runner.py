"""Rasa's action endpoint, run inside the Rasa server, and never silent.

Why: Rasa calls custom actions over HTTP on the action server, and when that call fails
(the action server died, an action raised) Rasa logs "Bot will continue" and the turn ends
with no reply at all (review 2026-11, finding 4). Here:
- with ACTIONS_IN_PROCESS (the default) the actions in `actions/` are run by rasa_sdk's own
  `ActionExecutor` inside the Rasa process, on a worker thread with its own event loop (a
  blocking query in an action cannot stall the server's loop, and there is no network hop
  or second process to lose);
- otherwise the call goes to the action server as before;
- either way, a failure (action server unreachable, an action raising or timing out) is
  answered with `bot.degraded.degraded_reply`: the urgent card for danger, else "temporarily
  unavailable" with the urgent numbers. A form's rejection (HTTP 400) is passed on, since
  Rasa's form handling needs it.

`ActionRunner` is an `EndpointConfig`, the object Rasa's `RemoteAction` calls `request` on;
`install` puts it on the agent once the model is loaded (`bot.ops` registers the listener).
The Rasa plug-in is this thin adapter; the actions stay plain rasa_sdk actions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot.degraded import degraded_reply
from bot.language import choose_language
from bot.metrics import ACTION_FAILURES

logger = logging.getLogger(__name__)

ACTIONS_PACKAGE = "actions"
ACTION_TIMEOUT_SECONDS = 30.0
IN_PROCESS_URL = "inprocess://actions"


class _LoopThread:
    """An event loop on a daemon thread, for the actions."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="actions", daemon=True).start()

    async def run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except asyncio.TimeoutError:
            future.cancel()
            raise


def fallback_response(action_call: dict[str, Any] | None) -> dict[str, Any]:
    """The action server's reply format with the degraded reply in the user's language."""
    tracker = (action_call or {}).get("tracker") or {}
    latest = tracker.get("latest_message") or {}
    slots = tracker.get("slots") or {}
    text = latest.get("text") if isinstance(latest.get("text"), str) else None
    slot = slots.get("language") if isinstance(slots.get("language"), str) else None
    lang = choose_language(slot, latest.get("metadata"), text)
    reply = degraded_reply(text, lang)
    return {"events": [], "responses": [{"text": reply["text"], "buttons": reply.get("buttons") or []}]}


class ActionRunner(EndpointConfig):
    """Runs custom actions in-process (`remote` None) or on the action server; see the module docstring."""

    def __init__(self, remote: EndpointConfig | None = None, timeout: float = ACTION_TIMEOUT_SECONDS) -> None:
        super().__init__(url=remote.url if remote is not None else IN_PROCESS_URL)
        self._remote = remote
        self._timeout = timeout
        self._executor: Any = None
        self._thread: _LoopThread | None = None
        self._lock = threading.Lock()

    @property
    def in_process(self) -> bool:
        return self._remote is None

    def _ready(self) -> tuple[Any, _LoopThread]:
        with self._lock:
            if self._executor is None:
                from rasa_sdk.executor import ActionExecutor

                executor = ActionExecutor()
                executor.register_package(ACTIONS_PACKAGE)
                self._executor = executor
                self._thread = _LoopThread()
            assert self._thread is not None
            return self._executor, self._thread

    async def _run_here(self, action_call: dict[str, Any]) -> Any:
        from rasa_sdk.interfaces import ActionExecutionRejection

        executor, thread = self._ready()
        try:
            return await thread.run(executor.run(action_call), self._timeout)
        except ActionExecutionRejection as rejection:
            # What the action server answers (400), so Rasa's forms behave the same.
            body = json.dumps({"error": rejection.message, "action_name": rejection.action_name})
            raise ClientResponseError(400, "action rejected", body) from None

    async def request(
        self,
        method: str = "post",
        subpath: str | None = None,
        content_type: str | None = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Any:
        action_call = kwargs.get("json")
        try:
            if self._remote is None:
                return await self._run_here(action_call or {})
            return await self._remote.request(
                method=method, subpath=subpath, content_type=content_type, compress=compress, **kwargs
            )
        except ClientResponseError as exc:
            if exc.status == 400:
                raise
            failure = f"HTTP {exc.status}"
        except Exception as exc:  # noqa: BLE001 - no turn may end in silence
            failure = type(exc).__name__
        name = (action_call or {}).get("next_action") if isinstance(action_call, dict) else None
        ACTION_FAILURES.inc()
        logger.error("action %s failed (%s); the user gets the fallback reply", name, failure)
        return fallback_response(action_call if isinstance(action_call, dict) else None)


def runner_for(remote: EndpointConfig | None, in_process: bool) -> ActionRunner:
    """In-process unless turned off; else a resilient wrapper of the configured endpoint."""
    return ActionRunner(None if in_process or remote is None else remote)


def install(agent: Any, in_process: bool) -> ActionRunner | None:
    """Put the runner on a loaded agent (and on its processor); None when there is no agent."""
    if agent is None:
        return None
    current = getattr(agent, "action_endpoint", None)
    if isinstance(current, ActionRunner):
        return current
    runner = runner_for(current, in_process)
    agent.action_endpoint = runner
    if getattr(agent, "processor", None) is not None:
        agent.processor.action_endpoint = runner
    logger.info("custom actions: %s", "in-process" if runner.in_process else "action server")
    return runner
