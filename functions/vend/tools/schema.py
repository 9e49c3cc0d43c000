"""A tool's arguments, declared once as a frozen dataclass: its JSON Schema and its validation.

Each field is `Annotated[<type>, Describe("…")]`, where the type is str, int, float, bool, a Literal of
strings or of integers, or `<one of those> | None`. A field with a default is optional. From that one
declaration come both the JSON Schema OpenAI shows the model and the check of what the model sent,
so the two cannot drift apart. (No pydantic: the function's artifact does not carry it.)
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

_A = TypeVar("_A")
_JSON_TYPES: Mapping[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
# How each JSON type reads in a sentence to the model ("must be a whole number").
_SAID: Mapping[str, str] = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}


@dataclass(frozen=True, slots=True)
class Describe:
    """What a field means, for the model: it becomes the property's `description`."""

    text: str


class InvalidArguments(ValueError):
    """The arguments the model sent do not fit the tool: the message is one short sentence for it."""


@dataclass(frozen=True, slots=True)
class Field:
    """One argument, as both the schema and the validator see it."""

    name: str
    json_types: tuple[str, ...]  # "null" included when the field is `… | None`
    enum: tuple[str | int, ...] | None
    description: str
    required: bool
    default: Any  # dataclasses.MISSING when required

    def schema(self) -> dict[str, Any]:
        prop: dict[str, Any] = {
            "type": self.json_types[0] if len(self.json_types) == 1 else list(self.json_types)
        }
        if self.enum is not None:
            prop["enum"] = [*self.enum, *([None] if "null" in self.json_types else [])]
        prop["description"] = self.description
        if not self.required and self.default is not None:
            prop["default"] = self.default
        return prop

    def check(self, value: Any) -> None:
        if value is None and "null" in self.json_types:
            return
        if not any(_is_json_type(value, t) for t in self.json_types):
            allowed = " or ".join(_SAID[t] for t in self.json_types if t != "null")
            raise InvalidArguments(f"'{self.name}' must be {allowed}.")
        if self.enum is not None and value not in self.enum:
            choices = ", ".join(json.dumps(v) for v in self.enum)
            raise InvalidArguments(f"'{self.name}' must be one of {choices}.")

    def python_value(self, checked: Any) -> Any:
        """The checked JSON value as the field's annotation promises it: 2 for an int, 1.0 for a float."""
        if checked is None:
            return None
        if self.json_types[0] == "number":
            return float(checked)
        if self.json_types[0] == "integer":
            return int(checked)
        return checked


def fields_of(arguments: type[Any]) -> tuple[Field, ...]:
    """The fields of an arguments dataclass; a TypeError names the first one that cannot be a schema."""
    if not (dataclasses.is_dataclass(arguments) and arguments.__dataclass_params__.frozen):  # type: ignore[attr-defined]
        raise TypeError(f"{arguments.__qualname__} must be a frozen dataclass")
    hints = typing.get_type_hints(arguments, include_extras=True)
    return tuple(_field(f, hints[f.name], arguments.__qualname__) for f in dataclasses.fields(arguments))


def parameters_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    """The `parameters` of a Realtime function tool: an object that allows no other property."""
    return {
        "type": "object",
        "properties": {f.name: f.schema() for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }


def parse_arguments(arguments: type[_A], fields: tuple[Field, ...], arguments_json: str) -> _A:
    """The model's `arguments` string as an instance of the dataclass, or InvalidArguments."""
    try:
        # NaN and Infinity are not JSON, whatever Python's parser would accept
        raw = json.loads(arguments_json or "{}", parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise InvalidArguments("the arguments are not valid JSON.") from None
    if not isinstance(raw, dict):
        raise InvalidArguments("the arguments must be a JSON object.")
    known = {f.name for f in fields}
    unknown = sorted(k for k in raw if k not in known)
    if unknown:
        raise InvalidArguments(f"unknown argument '{_shortened(unknown[0])}'.")
    for f in fields:
        if f.name in raw:
            f.check(raw[f.name])
        elif f.required:
            raise InvalidArguments(f"missing required argument '{f.name}'.")
    return arguments(**{f.name: f.python_value(raw[f.name]) for f in fields if f.name in raw})


def _field(field: dataclasses.Field[Any], hint: Any, owner: str) -> Field:
    where = f"{owner}.{field.name}"
    if get_origin(hint) is not Annotated:
        raise TypeError(f"{where} needs Annotated[<type>, Describe('…')]")
    inner, *extras = get_args(hint)
    descriptions = [e.text for e in extras if isinstance(e, Describe)]
    if len(descriptions) != 1 or not descriptions[0].strip():
        raise TypeError(f"{where} needs exactly one non-empty Describe('…')")
    nullable, base = _split_optional(inner)
    json_type, enum = _json_type(base, where)
    has_default = field.default is not dataclasses.MISSING
    if field.default_factory is not dataclasses.MISSING:
        raise TypeError(f"{where}: a default_factory cannot appear in a JSON Schema")
    if nullable and not has_default:
        # an optional argument the model may leave out: it needs a value to take when it does
        raise TypeError(f"{where} is `… | None` and needs a default")
    field_ = Field(
        name=field.name,
        json_types=(json_type, "null") if nullable else (json_type,),
        enum=enum,
        description=descriptions[0],
        required=not has_default,
        default=field.default if has_default else dataclasses.MISSING,
    )
    if has_default:
        try:
            field_.check(field.default)
        except InvalidArguments:
            raise TypeError(f"{where}: the default does not fit the field's own type") from None
    return field_


def _split_optional(hint: Any) -> tuple[bool, Any]:
    if get_origin(hint) in (Union, types.UnionType):
        members = get_args(hint)
        rest = tuple(m for m in members if m is not type(None))
        if len(rest) == 1 and len(members) == 2:
            return True, rest[0]
    return False, hint


def _json_type(hint: Any, where: str) -> tuple[str, tuple[str | int, ...] | None]:
    if get_origin(hint) is Literal:
        values = get_args(hint)
        if all(type(v) is str for v in values):
            return "string", values
        if all(type(v) is int for v in values):
            return "integer", values
        raise TypeError(f"{where}: a Literal must hold only strings or only integers")
    if isinstance(hint, type) and hint in _JSON_TYPES:
        return _JSON_TYPES[hint], None
    raise TypeError(f"{where}: {hint!r} is not one of str, int, float, bool, Literal[…] or `… | None`")


def _is_json_type(value: Any, json_type: str) -> bool:
    # bool is an int in Python but not in JSON, so it is tested by exact type
    if json_type == "boolean":
        return type(value) is bool
    if json_type == "integer":
        # JSON Schema counts 2.0 as an integer, and so does this check (the tool receives int 2)
        return type(value) is int or (type(value) is float and value.is_integer())
    if json_type == "number":
        try:
            return type(value) in (int, float) and math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            return False
    return type(value) is str


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _shortened(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
