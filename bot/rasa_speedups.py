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

`install()` is called when Rasa loads our endpoints (`bot.tracker_store`), so it runs in
every Rasa server process (`rasa run`, `bot run`, the replicas) and nowhere else. It
patches one method of Rasa 3.6 and checks that the method is there, so a Rasa upgrade that
renames it fails loudly in tests (tests/test_rasa_speedups.py) instead of silently.
"""

from __future__ import annotations

import functools
from typing import Any

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event

_ORIGINAL = RemoteAction._validate_action_result
_ORIGINAL_RESOLVE = Event.__dict__["resolve_by_type"]
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


def install() -> None:
    """Validate action server responses with one cached validator, and resolve event
    types from a table (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)


def uninstall() -> None:
    RemoteAction._validate_action_result = _ORIGINAL
    Event.resolve_by_type = _ORIGINAL_RESOLVE
