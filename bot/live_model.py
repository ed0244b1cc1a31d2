"""Swapping the model of the running Rasa server without a restart, for the staff console.

Two ways were possible. Rasa's own HTTP API (`rasa run --enable-api --auth-token T`, then
`PUT /model`) turns on every API route (trackers, conversations, training, with the
token on the command line, where `ps` shows it) to use one of them. Instead, `bot run`
registers `ModelInput`, a channel that receives no messages and adds two routes to the
Rasa server:

- `GET /model/live`: which model is served (file name, path, Rasa's model id);
- `PUT /model/live` with `{"model_file": "/abs/path.tar.gz"}`: load that archive into the
  running agent (`Agent.load_model`, which keeps the tracker store, lock store, action
  endpoint and NLG) and answer when the new one serves. Conversations go on: the trackers
  are untouched, and a turn that started on the old model finishes on it.

Both need `Authorization: Bearer <MODEL_SWAP_TOKEN>`. `bot run` makes a random token at
each start and hands it to the Rasa server and the console in their environment only
(never a command line, a file or a log); without a token the routes answer 404, as if
absent. The archive must be a `.tar.gz` inside MODELS_DIR, so a stolen token cannot make
the server load a file from anywhere.

Loading reads the archive and builds the graph (a few seconds), in a worker thread so the
server keeps answering meanwhile. With several Rasa replicas behind a balancer, this swaps
the one the console reaches (HOST:PORT); the others load the newest model in MODELS_DIR at
their next restart.

The client side (`served_model`, `swap`) is plain Python, used by `bot.training`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import Settings, get_settings, reachable_address

ROUTE = "/model/live"
SWAP_TIMEOUT = 180.0
_SWAP_LOCK: asyncio.Lock | None = None


class SwapError(RuntimeError):
    """The running assistant did not load the model; the message says why (no secret)."""


def _authorised(request: Request, settings: Settings) -> bool:
    token = settings.model_swap_token.get_secret_value() if settings.model_swap_token else ""
    sent = request.headers.get("authorization", "")
    return bool(token) and secrets.compare_digest(sent.encode(), f"Bearer {token}".encode())


def _describe(agent: Any) -> dict[str, Any]:
    processor = getattr(agent, "processor", None)
    path = getattr(processor, "model_path", None)
    return {
        "model_file": str(Path(path).resolve()) if path else None,
        "model_name": Path(path).name if path else None,
        "model_id": agent.model_id if processor else None,
    }


def allowed_model(path: Path, models_dir: Path) -> bool:
    """An existing .tar.gz under MODELS_DIR (sub-directories included)."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return resolved.name.endswith(".tar.gz") and resolved.is_relative_to(models_dir.resolve())


async def live_model(request: Request) -> HTTPResponse:
    settings = get_settings()
    if not _authorised(request, settings):
        return response.json({"error": "not found"}, status=404)
    return response.json(_describe(request.app.ctx.agent))


async def load_live_model(request: Request) -> HTTPResponse:
    global _SWAP_LOCK
    settings = get_settings()
    if not _authorised(request, settings):
        return response.json({"error": "not found"}, status=404)
    body = request.json if isinstance(request.json, dict) else {}
    model_file = body.get("model_file")
    if not isinstance(model_file, str) or not allowed_model(Path(model_file), settings.models_dir):
        return response.json({"error": "model_file must be a .tar.gz archive in MODELS_DIR"}, status=400)
    agent = request.app.ctx.agent
    _SWAP_LOCK = _SWAP_LOCK or asyncio.Lock()
    async with _SWAP_LOCK:
        try:
            await asyncio.get_running_loop().run_in_executor(None, agent.load_model, model_file)
        except Exception as error:  # noqa: BLE001 - the old model keeps serving; say why
            return response.json({"error": f"the model did not load: {type(error).__name__}"}, status=500)
    return response.json(_describe(agent))


class ModelBlueprint(Blueprint):
    """Adds the model routes at the root of the Rasa app when registered."""

    def register(self, app: Any, options: Any) -> None:
        super().register(app, options)
        app.add_route(live_model, ROUTE, methods=["GET"], name="model_live_get")
        app.add_route(load_live_model, ROUTE, methods=["PUT"], name="model_live_put")


class ModelInput(InputChannel):
    """Not a messaging channel: it carries the model routes (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "model"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return ModelBlueprint("model", __name__)


# --- the client: the console and the retrain job ------------------------------------------------


def server_url(settings: Settings) -> str:
    return f"http://{reachable_address(settings.host)}:{settings.port}{ROUTE}"


def _call(settings: Settings, method: str, body: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    if settings.model_swap_token is None:
        raise SwapError(
            "MODEL_SWAP_TOKEN is not set: start the assistant with `python -m bot run`, "
            "which gives the console a token for the running Rasa server."
        )
    request = urllib.request.Request(
        server_url(settings),
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {settings.model_swap_token.get_secret_value()}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return dict(json.loads(reply.read().decode("utf-8")))
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read().decode("utf-8")).get("error") or ""
        except ValueError:
            detail = ""
        raise SwapError(f"the assistant answered {error.code} {detail}".strip()) from None
    except (OSError, ValueError) as error:
        raise SwapError(f"the assistant could not be reached: {type(error).__name__}") from None


def served_model(settings: Settings | None = None) -> dict[str, Any]:
    """What the running Rasa server serves: model_file, model_name, model_id."""
    return _call(settings or get_settings(), "GET", None, timeout=10)


def swap(model: Path, settings: Settings | None = None) -> dict[str, Any]:
    """Make the running Rasa server serve `model` (an archive in MODELS_DIR); what it serves now."""
    return _call(settings or get_settings(), "PUT", {"model_file": str(model.resolve())}, SWAP_TIMEOUT)
