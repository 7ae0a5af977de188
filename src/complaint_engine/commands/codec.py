"""Commands as plain data and JSON: ``{"type": "Dispatch", "complaint_id": ..., ...}``.

An embedder's web handler or queue consumer turns a JSON body into a command in one call. The ``type`` tag
is the class name; the fields are structured by the project's converter (:func:`make_converter`), so bad
data is refused with ``$.path`` problems, and a command's own checks run as it is made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import cattrs
from cattrs.errors import BaseValidationError

from complaint_engine.commands.privacy import PRIVACY_COMMANDS
from complaint_engine.commands.register import CloseYear
from complaint_engine.commands.verbs import COMMANDS, Command
from complaint_engine.errors import ValidationError
from complaint_engine.messages import Message
from complaint_engine.serialization import JSONValue, describe_problems, make_converter

__all__ = ["from_dict", "from_json", "to_dict", "to_json"]

_BY_NAME = {cls.__name__: cls for cls in (*COMMANDS, *PRIVACY_COMMANDS, CloseYear)}
_CONVERTER: cattrs.Converter = make_converter()


def to_dict(command: Command[object]) -> dict[str, JSONValue]:
    """Plain data for a command: its ``type`` tag and its fields (those equal to their default left out)."""
    if type(command) not in _BY_NAME.values():
        raise ValidationError.of("command", command, Message("a command ({0})", sorted(_BY_NAME)))
    data: dict[str, JSONValue] = _CONVERTER.unstructure(command, type(command))
    return {"type": type(command).__name__, **data}


def from_dict(data: Mapping[str, JSONValue]) -> Command[object]:
    """The command of plain data, picked by its ``type``; unknown types and malformed fields are refused."""
    if not isinstance(data, Mapping):
        raise ValidationError.of("command", data, "a JSON object with a 'type'")
    fields = dict(data)
    name = fields.pop("type", None)
    cls = _BY_NAME.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValidationError.of("command type", name, Message("one of {0}", sorted(_BY_NAME)))
    try:
        command: Command[object] = _CONVERTER.structure(fields, cls)
    except ValidationError:
        raise  # the command's own check, naming its field
    except (BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValidationError.collect(Message("{name} command", name=name), describe_problems(exc)) from None
    return command


def to_json(command: Command[object]) -> str:
    return json.dumps(to_dict(command), ensure_ascii=False, separators=(",", ":"))


def from_json(text: str | bytes) -> Command[object]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError.of("command JSON", str(text)[:60], Message("valid JSON ({exc})", exc=exc)) from None
    return from_dict(data)
