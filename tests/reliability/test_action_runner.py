"""The action server is not a single point of failure (`bot.action_runner`): actions run in
the Rasa process, and a failing action (or a dead action server) never ends a turn in silence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot import action_runner
from bot.action_runner import ActionRunner, install
from bot.services import free_port


def action_call(action: str, text: str, intent: str, language: str | None = "vi") -> dict[str, Any]:
    return {
        "next_action": action,
        "sender_id": "telegram-test",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "telegram-test",
            "slots": {"language": language},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": [],
                "metadata": {},
            },
            "latest_event_time": None,
            "followup_action": None,
            "paused": False,
            "events": [],
            "latest_input_channel": "telegram",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
    }


async def test_an_ordinary_question_is_answered_in_process_without_any_action_server():
    runner = ActionRunner()  # no URL: nothing is listening anywhere
    reply = await runner.request(
        json=action_call("action_answer_topic", "làm sao lấy lại tiền ký quỹ", "deposit_refund")
    )
    [response] = reply["responses"]
    assert response["text"].startswith("**Lấy lại tiền ký quỹ**")
    assert {"event": "slot", "timestamp": None, "name": "topic", "value": "deposit_refund"} in reply["events"]


async def test_a_dead_action_server_gets_the_unavailable_reply_not_silence():
    runner = ActionRunner(EndpointConfig(url=f"http://127.0.0.1:{free_port()}/webhook"))
    reply = await runner.request(
        json=action_call("action_answer_topic", "how do I get my deposit back", "deposit_refund", "en")
    )
    [response] = reply["responses"]
    assert response["text"].startswith("Sorry, the assistant is temporarily unavailable")
    assert "+84 981 84 84 84" in response["text"] and reply["events"] == []


async def test_a_failing_action_in_process_answers_danger_with_the_urgent_card(monkeypatch):
    runner = ActionRunner()

    async def explode(call: dict[str, Any]) -> Any:
        raise RuntimeError("the directory is down")

    monkeypatch.setattr(runner, "_run_here", explode)
    reply = await runner.request(
        json=action_call("action_lookup_referral_partner", "chủ đánh em, cứu em", "x")
    )
    [response] = reply["responses"]
    assert "113" in response["text"] and "Cần giúp khẩn cấp" in response["text"]


async def test_a_slow_action_times_out_into_the_fallback(monkeypatch):
    runner = ActionRunner(timeout=0.2)
    executor, thread = runner._ready()

    async def slow(call: dict[str, Any]) -> Any:
        await asyncio.sleep(5)

    monkeypatch.setattr(executor, "run", slow)
    reply = await runner.request(json=action_call("action_answer_topic", "xin chào", "greet"))
    assert reply["responses"][0]["text"].startswith("Xin lỗi, trợ lý tạm thời không hoạt động")


async def test_a_form_rejection_is_passed_on_to_rasa(monkeypatch):
    from rasa_sdk.interfaces import ActionExecutionRejection

    runner = ActionRunner()
    executor, _ = runner._ready()

    async def reject(call: dict[str, Any]) -> Any:
        raise ActionExecutionRejection("action_answer_topic", "not this time")

    monkeypatch.setattr(executor, "run", reject)
    with pytest.raises(ClientResponseError) as raised:
        await runner.request(json=action_call("action_answer_topic", "xin chào", "greet"))
    assert raised.value.status == 400


def test_install_puts_the_runner_on_the_agent_and_its_processor():
    class Processor:
        action_endpoint = EndpointConfig(url="http://localhost:5055/webhook")

    class Agent:
        action_endpoint = Processor.action_endpoint
        processor = Processor()

    agent = Agent()
    runner = install(agent, in_process=True)
    assert isinstance(runner, ActionRunner) and runner.in_process
    assert agent.action_endpoint is runner and agent.processor.action_endpoint is runner
    assert install(agent, in_process=True) is runner  # once
    remote = install(
        type("A", (), {"action_endpoint": EndpointConfig(url="http://x/webhook"), "processor": None})(), False
    )
    assert remote is not None and not remote.in_process
    assert install(None, True) is None
    assert action_runner.IN_PROCESS_URL == runner.url
