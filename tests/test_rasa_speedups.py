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


async def test_sqlite_tracker_store_writes_ahead_and_its_log_files_stay_private(tmp_path):
    import os
    import stat

    import sqlalchemy as sa
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.tracker_store import PrivacyTrackerStore, sql_store_kwargs

    store = PrivacyTrackerStore(**sql_store_kwargs(f"sqlite:///{tmp_path}/tracker.db"))
    tracker = DialogueStateTracker.from_events("rest-a", [UserUttered("xin chào")])
    await store.save(tracker)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        files = sorted(os.listdir(tmp_path))
        assert "tracker.db-wal" in files
        assert {stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in files} == {0o600}
    assert (await store.retrieve("rest-a")).latest_message.text == "xin chào"


def test_event_types_resolve_to_the_classes_rasa_finds():
    """The table gives, for every event type name, the class Rasa's own walk gives; an
    unknown name gets Rasa's answers (the default, None for "topic", else ValueError)."""
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event, SlotSet

    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert len(names) > 20
    rasa_speedups.uninstall()
    try:
        original = {name: Event.resolve_by_type(name) for name in names}
    finally:
        rasa_speedups.install()
    assert {name: Event.resolve_by_type(name) for name in names} == original
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_an_event_class_defined_after_the_first_lookup_is_found():
    from rasa.shared.core.events import AlwaysEqualEventMixin, Event

    Event.resolve_by_type("slot")  # fills the table

    class LateEvent(AlwaysEqualEventMixin):  # defined now, after the table was made
        type_name = "late_event_for_the_test"

        def as_story_string(self) -> str:
            return ""

        def as_dict(self) -> dict:
            return {}

    assert Event.resolve_by_type("late_event_for_the_test") is LateEvent


def test_in_process_actions_are_not_checked_against_the_schema_and_remote_ones_are():
    from bot.action_runner import ActionRunner

    in_process = RemoteAction("action_answer", ActionRunner())
    assert in_process._validate_action_result(BAD[0]) is True
    with pytest.raises(ValidationError):
        _action()._validate_action_result(BAD[0])


def test_the_modules_without_copy_use_it_only_for_debug_logs():
    """`_NoCopyForDebugLog` replaces the `copy` module in the rule policy and the message
    processor: safe only while every use of `copy` there is an argument of a
    `structlogger.debug` call (a Rasa upgrade that copies for real fails here)."""
    import ast
    import inspect

    rasa_speedups.install()
    for module in rasa_speedups.DEBUG_LOG_COPIERS:
        tree = ast.parse(inspect.getsource(module))
        uses = {
            id(node)
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "copy"
        }
        in_debug_logs = {
            id(inner)
            for call in ast.walk(tree)
            if isinstance(call, ast.Call) and ast.unparse(call.func) == "structlogger.debug"
            for inner in ast.walk(call)
        }
        assert uses and uses <= in_debug_logs, module.__name__
        assert module.copy is rasa_speedups._NoCopyForDebugLog


async def test_the_graph_runs_without_dask_to_the_same_parses_and_predictions():
    """The trained model, run by Rasa's dask runner and by `_run_graph`: the same intents,
    confidences, entities and next actions for a conversation."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.engine.runner.dask import DaskGraphRunner

    from tests.fakes.bot_run import require_model

    require_model()
    texts = [
        "làm sao lấy lại tiền ký quỹ",
        "chủ không trả lương 3 tháng, em muốn về nước, còn bảo hiểm thì sao",
        "lam sao lay lai bhxh",
        "cứu em với, chủ đánh em",
        "xin chào",
        "đại sứ quán ở Đài Loan",
        "asdfgh",
    ]

    async def run() -> tuple[list, list]:
        agent = Agent.load("models/current.tar.gz")
        parses = [await agent.parse_message(text) for text in texts]
        for text in texts:
            await agent.handle_message(UserMessage(text, CollectingOutputChannel(), "graph-test"))
        tracker = await agent.tracker_store.retrieve("graph-test")
        actions = [e.action_name for e in tracker.events if getattr(e, "action_name", None)]
        return parses, actions

    rasa_speedups.install()  # as loading our endpoints does
    assert DaskGraphRunner.run is rasa_speedups._run_graph
    ours = await run()
    rasa_speedups.uninstall()
    try:
        theirs = await run()
    finally:
        rasa_speedups.install()
    assert ours == theirs
    assert len(ours[1]) > len(texts)  # the conversation really ran


async def test_count_featurizers_give_rasas_features_with_the_sentence_row_summed(monkeypatch):
    """Every count featurizer of the trained model, on the held-out messages: the same
    sequence and sentence matrices as Rasa's two passes, and the shortcut really taken."""
    from rasa.core.agent import Agent
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

    from bot.load_bench import our_messages
    from tests.fakes.bot_run import require_model

    require_model()
    rasa_speedups.install()
    agent = Agent.load("models/current.tar.gz")
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    featurizers = [
        n._component for n in nodes if isinstance(getattr(n, "_component", None), CountVectorsFeaturizer)
    ]
    assert len(featurizers) == 4
    assert all(
        rasa_speedups._sentence_is_token_sum(f.vectorizers["text"]) for f in featurizers
    )  # else the comparison below proves nothing
    messages = our_messages()[::7] + ["", "a", "Bảo hiểm   xã hội!! 1 lần??", "x" * 300, "lần lần lần"]

    def same_as_rasa(featurizer: CountVectorsFeaturizer, text: str) -> None:
        tokens = text.lower().split()
        ours = rasa_speedups._create_features(featurizer, "text", [tokens])
        theirs = rasa_speedups._ORIGINAL_CREATE_FEATURES(featurizer, "text", [tokens])
        for mine, rasas in zip(ours, theirs, strict=True):
            if rasas[0] is None:
                assert mine[0] is None
                continue
            assert mine[0].shape == rasas[0].shape and mine[0].dtype == rasas[0].dtype
            assert (mine[0].tocsr() != rasas[0].tocsr()).nnz == 0

    for featurizer in featurizers:
        for text in messages * 2:  # the second time from the remembered token rows
            same_as_rasa(featurizer, text)
    monkeypatch.setattr(rasa_speedups, "TOKEN_ROWS_KEPT", 5)  # rows dropped and counted again
    for featurizer in featurizers:
        featurizer.__dict__.pop("_bot_token_rows")
        for text in messages[:20]:
            same_as_rasa(featurizer, text)
        assert all(len(rows) <= 5 for _, rows in featurizer._bot_token_rows.values())


async def test_past_states_are_remembered_until_an_event_is_added_and_handed_out_as_copies():
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.shared.core.events import ActionExecuted

    from tests.fakes.bot_run import require_model

    require_model()
    rasa_speedups.install()
    agent = Agent.load("models/current.tar.gz")
    for text in ["xin chào", "làm sao lấy lại tiền ký quỹ", "ở Hàn Quốc"]:
        await agent.handle_message(UserMessage(text, CollectingOutputChannel(), "states-test"))
    tracker = await agent.tracker_store.retrieve("states-test")
    domain = agent.domain
    rule_only = {"rule_only_slots": ["x"], "rule_only_loops": []}
    first = tracker.past_states(domain, rule_only_data=rule_only)
    assert first == rasa_speedups._ORIGINAL_PAST_STATES(tracker, domain, rule_only_data=rule_only)
    first[-1].clear()  # what the featurizer does to its copy must not reach the next caller
    second = tracker.past_states(domain, rule_only_data=dict(rule_only))
    assert second == rasa_speedups._ORIGINAL_PAST_STATES(tracker, domain, rule_only_data=rule_only)
    assert second[-1]
    tracker.update(ActionExecuted("action_fallback_suggest"))  # a new event: computed again
    third = tracker.past_states(domain, rule_only_data=rule_only)
    assert third == rasa_speedups._ORIGINAL_PAST_STATES(tracker, domain, rule_only_data=rule_only)
    assert len(third) == len(second) + 1
    assert tracker.past_states(domain, ignore_rule_only_turns=True, rule_only_data=rule_only) == (
        rasa_speedups._ORIGINAL_PAST_STATES(
            tracker, domain, ignore_rule_only_turns=True, rule_only_data=rule_only
        )
    )


async def test_rule_filter_stopped_past_the_longest_rule_finds_the_same_rules():
    """On the trained rule policy, for every point of a few conversations (and for states
    longer than any rule): the same applicable rules as Rasa's full filter."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
    from rasa.shared.core.trackers import DialogueStateTracker

    from tests.fakes.bot_run import require_model

    require_model()
    rasa_speedups.install()
    agent = Agent.load("models/current.tar.gz")
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    policy = next(n._component for n in nodes if isinstance(getattr(n, "_component", None), RulePolicy))
    conversations = [
        ["xin chào", "làm sao lấy lại tiền ký quỹ", "ở Hàn Quốc", "cảm ơn"],
        ["chủ không trả lương", "asdf", "/forget", "đại sứ quán Nhật", "english please", "thanks"],
    ]
    checked = 0
    for number, texts in enumerate(conversations):
        for text in texts:
            await agent.handle_message(UserMessage(text, CollectingOutputChannel(), f"rules-{number}"))
        tracker = await agent.tracker_store.retrieve(f"rules-{number}")
        for prefix in tracker.generate_all_prior_trackers():
            prior = DialogueStateTracker.from_events(
                tracker.sender_id, list(prefix[0].events), agent.domain.slots
            )
            for use_text in (True, False):
                states = policy._prediction_states(prior, agent.domain, use_text)
                for lookup in (policy.lookup[RULES], policy.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {})):
                    ours = rasa_speedups._get_possible_keys(policy, lookup, states)
                    assert ours == rasa_speedups._ORIGINAL_POSSIBLE_KEYS(policy, lookup, states)
                    checked += 1
    longest = max(len(policy._rule_key_to_state(key)) for key in policy.lookup[RULES])
    assert max(len(policy._prediction_states(tracker, agent.domain)) for _ in [0]) > longest
    assert checked > 40


def _tracker_fields(tracker) -> dict:
    return {
        "events": list(tracker.events),
        "slots": {name: (type(slot), slot.value, slot.has_been_set) for name, slot in tracker.slots.items()},
        "slots type": type(tracker.slots),
        "paused": tracker._paused,
        "followup": tracker.followup_action,
        "latest action": dict(tracker.latest_action or {}),
        "latest message": tracker.latest_message,
        "latest bot": tracker.latest_bot_utterance,
        "loop": repr(tracker.active_loop),  # a value: a shared object would hide a change
        "sender": tracker.sender_id,
        "max history": tracker._max_event_history,
        "state": tracker.current_state(),
    }


async def test_tracker_copies_equal_rasas_replayed_copies_and_are_independent():
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from tests.fakes.bot_run import require_model

    require_model()
    rasa_speedups.install()
    agent = Agent.load("models/current.tar.gz")
    for text in ["xin chào", "làm sao lấy lại tiền ký quỹ", "ở Hàn Quốc", "english please", "/forget"]:
        await agent.handle_message(UserMessage(text, CollectingOutputChannel(), "copy-test"))
    tracker = await agent.tracker_store.retrieve("copy-test")
    tracker.update(ActiveLoop("some_form"))  # a loop, interrupted: the copy must not share it
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("x", {"name": "greet", "confidence": 1.0}))
    trackers = [tracker, DialogueStateTracker.from_events("no-domain", [SlotSet("anything", 3)])]
    for original in trackers:
        before = _tracker_fields(original)
        ours, theirs = original.copy(), rasa_speedups._ORIGINAL_COPY(original)
        assert _tracker_fields(ours) == _tracker_fields(theirs)
        ours.update(SlotSet("language", "en"))
        ours.update(ActionExecuted("action_listen"))
        if ours.active_loop is not None:
            ours.active_loop.rejected = True
        assert _tracker_fields(original) == before  # the original is untouched
    assert tracker.active_loop is not None and tracker.active_loop.name == "some_form"
