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
log line (`structlogger.debug(..., current_states=copy.deepcopy(...))`), at any log level;
`_NoCopyForDebugLog` hands the log the states themselves (the log only reads them, and
this is the module's only use of `copy`, checked by tests/test_rasa_speedups.py).

`install()` is called when Rasa loads our endpoints (`bot.tracker_store`), so it runs in
every Rasa server process (`rasa run`, `bot run`, the replicas) and nowhere else. It
patches one method of Rasa 3.6 and checks that the method is there, so a Rasa upgrade that
renames it fails loudly in tests (tests/test_rasa_speedups.py) instead of silently.
"""

from __future__ import annotations

import functools
from typing import Any

import rasa.core.policies.rule_policy
from rasa.core.actions.action import RemoteAction
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event

_ORIGINAL = RemoteAction._validate_action_result
_ORIGINAL_RESOLVE = Event.__dict__["resolve_by_type"]
_ORIGINAL_RUN = DaskGraphRunner.run
_ORIGINAL_RULE_COPY = rasa.core.policies.rule_policy.copy
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


class _NoCopyForDebugLog:
    """Stands in for the `copy` module in rasa.core.policies.rule_policy (module docstring)."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value


def install() -> None:
    """Validate action server responses with one cached validator (none for in-process
    actions), resolve event types from a table, run the model graph without dask, and keep
    the rule policy from copying states for a debug log (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
    DaskGraphRunner.run = _run_graph
    rasa.core.policies.rule_policy.copy = _NoCopyForDebugLog


def uninstall() -> None:
    RemoteAction._validate_action_result = _ORIGINAL
    Event.resolve_by_type = _ORIGINAL_RESOLVE
    DaskGraphRunner.run = _ORIGINAL_RUN
    rasa.core.policies.rule_policy.copy = _ORIGINAL_RULE_COPY
