"""bot/rasa_speedups.py: Rasa's action-response check with a cached validator gives the same
answers and the same errors as Rasa's own, and is installed by loading our endpoints."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_speedups

GOOD = {"events": [{"event": "slot", "name": "topic", "value": "x"}], "responses": [{"text": "hi"}]}
BAD = [{"events": "not a list"}, {"responses": ["not an object"]}, {"events": [{"no_event_key": 1}]}]


def _action() -> RemoteAction:
    return RemoteAction("action_answer", EndpointConfig("http://127.0.0.1:1/webhook"))


def _outcome(result: dict) -> str:
    try:
        return str(_action()._validate_action_result(result))
    except ValidationError as error:
        return error.message


@pytest.mark.parametrize("result", [GOOD, *BAD])
def test_same_answers_and_errors_as_rasa(result):
    rasa_speedups.uninstall()
    try:
        original = _outcome(result)
    finally:
        rasa_speedups.install()
    assert _outcome(result) == original
    assert ("Failed to validate Action server response" in original) == (result is not GOOD)


def test_installed_by_loading_our_endpoints():
    import bot.tracker_store  # noqa: F401 - what Rasa imports for endpoints.yml

    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result
