"""Per-turn work in the Rasa server that profiling showed to be waste, removed without
changing what Rasa does.

Measured with py-spy on a replica under load (docs/benchmarks.md, load section): about a
third of the Rasa server's event-loop time went to `jsonschema.validate` checking each
action server response. `validate(instance, schema)` first checks the *schema* itself
against the JSON Schema meta-schema, on every call, and Rasa's schema is a constant. Here
the same validator class (`validator_for`, as `validate` chooses it) is built once and
validates the same responses with the same errors; the meta-check of Rasa's constant
schema runs once at start.

Loading a conversation from the tracker store turns each stored event back into an object
(`Event.resolve_by_type`), and Rasa finds the class by walking every subclass of `Event`
(with an `inspect.isabstract` check on each) for every event: 15 % of the time spent loading
a conversation (py-spy, load section of docs/benchmarks.md). `_resolve_by_type` keeps the
type name -> class table that walk produces, in the same order (the first class with the
name wins, as in Rasa's loop), and walks again when a name is missing (an event class
defined later, or a name that does not exist, which then gets Rasa's own answer).

Actions run inside the Rasa process (`bot.action_runner`, the default) answer through
rasa_sdk's own executor, which builds the response it would send over HTTP; checking that
response against Rasa's JSON schema was 9 % of a turn and guards against nothing the
executor can produce, so it is checked only for a real action server
(`_validate_action_result`).

Rasa runs its model graph (the NLU pipeline, then the policies, three times a turn) through
dask's synchronous scheduler: for each run it works out the part of the graph the targets
need (recursively, without memory), builds a dask graph, orders it and executes it. The
graph never changes while a model is loaded, so `_run_graph` works out the order once per
set of targets and calls the nodes in that order, each with the outputs of the nodes it
needs, as dask calls them (a depth-first order of the same dependencies; the pipeline is a
chain, so its order is forced). About 8 % of a turn.

The rule policy deep-copies the conversation's states on every prediction for one debug
log line (`structlogger.debug(..., current_states=copy.deepcopy(...))`), at any log level,
and Rasa's message processor deep-copies the parse, the slots and every action's events
for five more; `_NoCopyForDebugLog` hands those logs the objects themselves (a log only
reads them, and these are the two modules' only uses of `copy`, checked by
tests/test_rasa_speedups.py).

Each count featurizer turns a message into sequence features (one row per token:
`transform(tokens)`) and sentence features (`transform([" ".join(tokens)])`): two passes
of scikit-learn over the same text, 17 % of a turn for the four featurizers. For
character n-grams within word boundaries (`char_wb`) and single words (`word`, n-grams of
one, Rasa's pattern `\\b\\w+\\b`), the n-grams of the joined text are exactly the union of
each token's, since none spans a space: the sentence row is the sum of the token rows
(`_create_features`; other settings keep Rasa's two passes; tests/test_rasa_speedups.py
compares both on the trained model's featurizers). And a token's row depends on the token
alone, while scikit-learn's counting is a Python loop over every n-gram of every token
(with `char_wb` 2-5, some 20 per syllable): each featurizer remembers the rows of the
tokens it has seen (`TOKEN_ROWS_KEPT`, oldest dropped first) and counts only new ones.

The rule policy asks twice per prediction (once reading the user's text, once the intent)
for the conversation's past states, which Rasa rebuilds each time by replaying every event
into a fresh tracker per step (`DialogueStateTracker.past_states`). `_past_states` keeps the
last answer for each tracker object, keyed by its event count and last event, and hands out copies
(the featurizer deletes keys from the last state's sub-dictionaries, never deeper).

To find the rules that apply, the rule policy filters every rule against every turn of
the conversation, newest first (`RulePolicy._get_possible_keys`); a rule shorter than the
turn's distance from the end is kept without a check, so past the longest remaining rule
the filter keeps everything. `_get_possible_keys` stops there: the same set, after a few
turns instead of the whole conversation (a long conversation cost the most). And for the
newest turn it checks only the rules whose newest state asks for that turn's intent or for
no intent (`_rule_index`): every other rule fails that check in Rasa's filter.

Before running each action (two a turn) Rasa copies the conversation (`tracker.copy()`,
so that a rejected action's events can be dropped) by replaying every event into a new
tracker. `_copy_tracker` builds the same tracker from the state the events left: the same
events, copies of the slots with their values, and the other fields the events set (the
latest message, action and bot utterance, the active loop, the follow-up action, the
pause); tests/test_rasa_speedups.py compares it with the replay at every point of
conversations.

`install()` is called when Rasa loads our endpoints (`bot.tracker_store`), so it runs in
every Rasa server process (`rasa run`, `bot run`, the replicas) and nowhere else. It
patches one method of Rasa 3.6 and checks that the method is there, so a Rasa upgrade that
renames it fails loudly in tests (tests/test_rasa_speedups.py) instead of silently.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

import numpy as np
import rasa.core.policies.rule_policy
import rasa.core.processor
import scipy.sparse
from rasa.core.actions.action import RemoteAction
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT

_ORIGINAL = RemoteAction._validate_action_result
_ORIGINAL_RESOLVE = Event.__dict__["resolve_by_type"]
_ORIGINAL_RUN = DaskGraphRunner.run
_ORIGINAL_RULE_COPY = rasa.core.policies.rule_policy.copy
_ORIGINAL_PROCESSOR_COPY = rasa.core.processor.copy
# The modules whose only use of `copy` is deep copies for debug logs (module docstring).
DEBUG_LOG_COPIERS = (rasa.core.policies.rule_policy, rasa.core.processor)
_ORIGINAL_CREATE_FEATURES = CountVectorsFeaturizer._create_features
_ORIGINAL_PAST_STATES = DialogueStateTracker.past_states
_ORIGINAL_COPY = DialogueStateTracker.copy
_ORIGINAL_POSSIBLE_KEYS = rasa.core.policies.rule_policy.RulePolicy._get_possible_keys
# Tracker id -> (weak reference, key, states): not on the tracker itself, which Rasa
# sometimes deep-copies; a few hundred conversations in flight at most.
_PAST_STATES: dict[int, tuple[Any, tuple[Any, ...], list[Any]]] = {}
_PAST_STATES_KEPT = 256
_WORD_PATTERN = r"(?u)\b\w+\b"  # Rasa's, for analyzer "word"
# Token rows remembered per featurizer: Vietnamese has some 7,000 syllables in use, and a
# row is a few dozen numbers (about 5 MB for the four featurizers when full).
TOKEN_ROWS_KEPT = 20_000
_EVENT_TYPES: dict[str, Any] = {}


@functools.lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as `jsonschema.validate` does on every call
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(self.action_endpoint, "in_process", False):
        return True  # rasa_sdk's executor in this process built it (module docstring)

    try:
        _response_validator().validate(result)
        return True
    except ValidationError as e:  # the message Rasa gives
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise e


def _event_types() -> dict[str, Any]:
    import rasa.shared.utils.common

    table: dict[str, Any] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def _resolve_by_type(type_name: str, default: Any = None) -> Any:
    cls = _EVENT_TYPES.get(type_name)
    if cls is None:
        _EVENT_TYPES.clear()
        _EVENT_TYPES.update(_event_types())
        cls = _EVENT_TYPES.get(type_name)
    if cls is not None:
        return cls
    return _ORIGINAL_RESOLVE.__func__(type_name, default)  # Rasa's answer for unknown names


def _plan(runner: DaskGraphRunner, targets: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """The nodes `targets` need, each after the nodes it needs: (name, names of its inputs)."""
    plans = runner.__dict__.setdefault("_bot_plans", {})
    plan = plans.get(targets)
    if plan is None:
        nodes = runner._graph_schema.nodes
        plan, done = [], set()

        def visit(name: str) -> None:
            if name in done:
                return
            done.add(name)
            node = nodes.get(name)
            if node is None:  # an input placeholder
                return
            for need in node.needs.values():
                visit(need)
            plan.append((name, tuple(node.needs.values())))

        for target in targets:
            visit(target)
        plans[targets] = plan
    return plan


def _run_graph(
    self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
) -> dict[str, Any]:
    """`DaskGraphRunner.run` without dask: the same calls, in an order computed once."""
    run_targets = targets if targets else self._graph_schema.target_names
    plan = _plan(self, tuple(run_targets))
    results: dict[str, Any] = {}
    names = {name for name, _ in plan}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and (value in names or value in results):
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the "
                f"input names passed to the `run` method are the same as node names in the "
                f"graph schema."
            )
        results[name] = (name, value)
    given = set(results)
    try:
        for name, needs in plan:
            if name not in given:  # an input replaces the node of that name, as in dask
                results[name] = self._instantiated_nodes[name](*(results[need] for need in needs))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e
    return dict(results[target] for target in run_targets)


def _sentence_is_token_sum(vectorizer: Any) -> bool:
    """True when the joined text's counts are the sum of its tokens' (module docstring)."""
    if getattr(vectorizer, "binary", True) or getattr(vectorizer, "preprocessor", None) is not None:
        return False
    if getattr(vectorizer, "tokenizer", None) is not None:
        return False
    if vectorizer.analyzer == "char_wb":
        return True
    return (
        vectorizer.analyzer == "word"
        and vectorizer.ngram_range[1] == 1
        and vectorizer.token_pattern == _WORD_PATTERN
    )


def _create_features(self: CountVectorsFeaturizer, attribute: str, all_tokens: list[list[str]]) -> Any:
    """Rasa's `_create_features` with the sentence row summed from the token rows."""
    from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES

    vectorizer = (self.vectorizers or {}).get(attribute)
    if (
        not vectorizer
        or attribute not in DENSE_FEATURIZABLE_ATTRIBUTES
        or not _sentence_is_token_sum(vectorizer)
    ):
        return _ORIGINAL_CREATE_FEATURES(self, attribute, all_tokens)
    rows = _token_rows(self, attribute, vectorizer)
    sequence_features: list[Any] = []
    sentence_features: list[Any] = []
    for tokens in all_tokens:
        if not tokens:
            sequence_features.append(None)
            sentence_features.append(None)
            continue
        missing = list(dict.fromkeys(token for token in tokens if token not in rows))
        if missing:
            fresh = vectorizer.transform(missing)
            fresh.sort_indices()
            for number, token in enumerate(missing):
                start, end = fresh.indptr[number], fresh.indptr[number + 1]
                rows[token] = (fresh.indices[start:end].copy(), fresh.data[start:end].copy())
        parts = [rows[token] for token in tokens]
        while len(rows) > TOKEN_ROWS_KEPT:
            rows.pop(next(iter(rows)))
        width = len(vectorizer.vocabulary_)
        indices = np.concatenate([indices for indices, _ in parts])
        data = np.concatenate([data for _, data in parts])
        token_of = np.repeat(np.arange(len(tokens), dtype=indices.dtype), [len(i) for i, _ in parts])
        # What Rasa keeps: the rows of `transform(tokens)`, sorted, as COO (built as such).
        sequence_features.append(
            scipy.sparse.coo_matrix((data, (token_of, indices)), shape=(len(tokens), width))
        )
        # The column sums over the non-zero entries only (the vocabulary is tens of
        # thousands of columns wide; a dense sum would walk them all).
        columns, where = np.unique(indices, return_inverse=True)
        counts = np.bincount(where, weights=data, minlength=len(columns)).astype(data.dtype)
        sentence = scipy.sparse.coo_matrix(
            (counts, (np.zeros(len(columns), dtype=columns.dtype), columns)), shape=(1, width)
        )
        sentence_features.append(sentence)
    return sequence_features, sentence_features


def _token_rows(featurizer: Any, attribute: str, vectorizer: Any) -> dict[str, tuple[Any, Any]]:
    """The featurizer's remembered token rows for `attribute` (emptied if the vectorizer
    changed): token -> (column indices, counts), oldest first."""
    cache = featurizer.__dict__.setdefault("_bot_token_rows", {})
    entry = cache.get(attribute)
    if entry is None or entry[0] is not vectorizer:
        entry = cache[attribute] = (vectorizer, {})
    return entry[1]


def _past_states(
    self: DialogueStateTracker,
    domain: Any,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: Any = None,
) -> list[dict[str, Any]]:
    """Rasa's past states, remembered for the tracker until an event is added (docstring)."""
    events = self.events
    key = (
        len(events),
        id(events[-1]) if events else None,
        id(domain),
        omit_unset_slots,
        ignore_rule_only_turns,
        tuple(sorted((name, tuple(value)) for name, value in (rule_only_data or {}).items())),
    )
    cached = _PAST_STATES.get(id(self))
    if cached is None or cached[0]() is not self or cached[1] != key:
        states = _ORIGINAL_PAST_STATES(
            self,
            domain,
            omit_unset_slots=omit_unset_slots,
            ignore_rule_only_turns=ignore_rule_only_turns,
            rule_only_data=rule_only_data,
        )
        cached = (weakref.ref(self), key, states)
        _PAST_STATES.pop(id(self), None)
        _PAST_STATES[id(self)] = cached
        while len(_PAST_STATES) > _PAST_STATES_KEPT:
            _PAST_STATES.pop(next(iter(_PAST_STATES)))
    return [{name: dict(sub) for name, sub in state.items()} for state in cached[2]]


def _get_possible_keys(self: Any, lookup: dict[str, str], states: list[dict[str, Any]]) -> set[str]:
    """Rasa's rule filter, stopped once every remaining rule is shorter than the distance
    from the end, and with the newest turn checked only against the rules that ask for its
    intent or for none (module docstring)."""
    by_intent, free, longest = _rule_index(self, lookup)
    possible_keys: set[str] = set(lookup.keys())
    for i, state in enumerate(reversed(states)):
        if i >= longest:
            break  # Rasa's `_is_rule_applicable` is True for every key from here on
        if i == 0 and state.get(PREVIOUS_ACTION):
            # A rule whose newest state asks for another intent fails `_does_rule_match_state`
            # here (a rule state without a previous action fails too, so keeping those
            # among the candidates changes nothing).
            possible_keys = free | by_intent.get((state.get(USER) or {}).get(INTENT), set())
        possible_keys = {key for key in possible_keys if self._is_rule_applicable(key, i, state)}
    return possible_keys


def _rule_index(policy: Any, lookup: dict[str, str]) -> tuple[dict[Any, set[str]], set[str], int]:
    """For a rule lookup: the keys by the intent their newest state asks for, the keys that
    ask for none, and the longest rule; worked out once per lookup."""
    cache = policy.__dict__.setdefault("_bot_rule_index", {})
    entry = cache.get(id(lookup))
    if entry is not None and entry[0] is lookup and entry[1] == len(lookup):
        return entry[2]
    by_intent: dict[Any, set[str]] = {}
    free: set[str] = set()
    longest = 0
    for key in lookup:
        rule_states = policy._rule_key_to_state(key)
        longest = max(longest, len(rule_states))
        intent = (rule_states[-1].get(USER) or {}).get(INTENT) if rule_states else None
        if isinstance(intent, str) and intent and intent != SHOULD_NOT_BE_SET:
            by_intent.setdefault(intent, set()).add(key)
        else:
            free.add(key)
    index = (by_intent, free, longest)
    cache[id(lookup)] = (lookup, len(lookup), index)
    return index


def _copy_tracker(self: DialogueStateTracker) -> DialogueStateTracker:
    """What `tracker.copy()` gives (a replay of every event), without the replay (docstring)."""
    import copy

    new = self.init_copy()
    new.events = new._create_events(list(self.events))
    slots = type(new.slots)()  # the kind of dict Rasa's copy has (AnySlotDict without slots)
    slots.update((name, copy.copy(slot)) for name, slot in self.slots.items())
    new.slots = slots
    new._paused = self._paused
    new.followup_action = self.followup_action
    new.latest_action = dict(self.latest_action) if self.latest_action is not None else None
    new.latest_message = self.latest_message
    new.latest_bot_utterance = self.latest_bot_utterance
    new.active_loop = copy.copy(self.active_loop)
    return new


class _NoCopyForDebugLog:
    """Stands in for the `copy` module in `DEBUG_LOG_COPIERS` (module docstring)."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value


def _patches() -> list[tuple[Any, str, Any, Any]]:
    """(owner, attribute, Rasa's original, replacement): what `install` sets and
    `uninstall` puts back."""
    rule_policy = rasa.core.policies.rule_policy
    return [
        (RemoteAction, "_validate_action_result", _ORIGINAL, _validate_action_result),
        (Event, "resolve_by_type", _ORIGINAL_RESOLVE, staticmethod(_resolve_by_type)),
        (DaskGraphRunner, "run", _ORIGINAL_RUN, _run_graph),
        (rule_policy, "copy", _ORIGINAL_RULE_COPY, _NoCopyForDebugLog),
        (rasa.core.processor, "copy", _ORIGINAL_PROCESSOR_COPY, _NoCopyForDebugLog),
        (CountVectorsFeaturizer, "_create_features", _ORIGINAL_CREATE_FEATURES, _create_features),
        (DialogueStateTracker, "past_states", _ORIGINAL_PAST_STATES, _past_states),
        (DialogueStateTracker, "copy", _ORIGINAL_COPY, _copy_tracker),
        (rule_policy.RulePolicy, "_get_possible_keys", _ORIGINAL_POSSIBLE_KEYS, _get_possible_keys),
    ]


def install() -> None:
    """Put every replacement of the module docstring in place (idempotent)."""
    for owner, name, _original, replacement in _patches():
        setattr(owner, name, replacement)


def uninstall() -> None:
    """Rasa's own code again (tests compare the two)."""
    for owner, name, original, _replacement in _patches():
        setattr(owner, name, original)
