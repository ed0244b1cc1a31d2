"""Per-turn work in the Rasa server that profiling showed to be waste, removed without
changing what Rasa does.

Measured with py-spy on a replica under load (docs/benchmarks.md, load section): about a
third of the Rasa server's event-loop time went to `jsonschema.validate` checking each
action server response. `validate(instance, schema)` first checks the *schema* itself
against the JSON Schema meta-schema, on every call, and Rasa's schema is a constant. Here
the same validator class (`validator_for`, as `validate` chooses it) is built once and
validates the same responses with the same errors; the meta-check of Rasa's constant
schema runs once at start.

`install()` is called when Rasa loads our endpoints (`bot.tracker_store`), so it runs in
every Rasa server process (`rasa run`, `bot run`, the replicas) and nowhere else. It
patches one method of Rasa 3.6 and checks that the method is there, so a Rasa upgrade that
renames it fails loudly in tests (tests/test_rasa_speedups.py) instead of silently.
"""

from __future__ import annotations

import functools
from typing import Any

from rasa.core.actions.action import RemoteAction

_ORIGINAL = RemoteAction._validate_action_result


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


def install() -> None:
    """Validate action server responses with one cached validator (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result


def uninstall() -> None:
    RemoteAction._validate_action_result = _ORIGINAL
