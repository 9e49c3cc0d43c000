"""A tool's arguments dataclass becomes one JSON Schema, and what the model sends is checked against it
exactly as a JSON Schema validator would check it."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jsonschema
import pytest

from vend.tools.schema import Describe, InvalidArguments, fields_of, parameters_schema, parse_arguments


@dataclass(frozen=True, slots=True)
class Everything:
    city: Annotated[str, Describe("A city")]
    count: Annotated[int, Describe("How many")]
    ratio: Annotated[float, Describe("A ratio")]
    loud: Annotated[bool, Describe("Whether loud")]
    unit: Annotated[Literal["celsius", "fahrenheit"], Describe("The unit")]
    stars: Annotated[Literal[1, 2, 3], Describe("A rating")]
    note: Annotated[str | None, Describe("A note")] = None
    language: Annotated[str, Describe("A language")] = "en"
    level: Annotated[int, Describe("A level")] = 2
    mood: Annotated[Literal["calm", "busy"] | None, Describe("A mood")] = None


SCHEMA = parameters_schema(fields_of(Everything))
VALID = {"city": "Paris", "count": 2, "ratio": 0.5, "loud": False, "unit": "celsius", "stars": 3}


def parse(arguments: dict[str, Any] | str) -> Everything:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return parse_arguments(Everything, fields_of(Everything), text)


def test_each_supported_type_becomes_its_json_schema() -> None:
    assert SCHEMA == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "A city"},
            "count": {"type": "integer", "description": "How many"},
            "ratio": {"type": "number", "description": "A ratio"},
            "loud": {"type": "boolean", "description": "Whether loud"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "The unit"},
            "stars": {"type": "integer", "enum": [1, 2, 3], "description": "A rating"},
            "note": {"type": ["string", "null"], "description": "A note"},
            "language": {"type": "string", "description": "A language", "default": "en"},
            "level": {"type": "integer", "description": "A level", "default": 2},
            "mood": {"type": ["string", "null"], "enum": ["calm", "busy", None], "description": "A mood"},
        },
        "required": ["city", "count", "ratio", "loud", "unit", "stars"],
        "additionalProperties": False,
    }


def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_valid_arguments_become_the_dataclass_with_its_defaults() -> None:
    assert parse(VALID) == Everything(
        city="Paris", count=2, ratio=0.5, loud=False, unit="celsius", stars=3, note=None, language="en"
    )
    assert parse({**VALID, "note": "hi", "mood": None}).note == "hi"


def test_each_number_arrives_as_its_field_s_python_type() -> None:
    parsed = parse({**VALID, "ratio": 1, "count": 2.0, "stars": 3.0})

    assert (parsed.ratio, parsed.count, parsed.stars) == (1.0, 2, 3)
    assert (type(parsed.ratio), type(parsed.count), type(parsed.stars)) == (float, int, int)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("{not json", "the arguments are not valid JSON."),
        ('{"ratio": NaN}', "the arguments are not valid JSON."),
        ("[1, 2]", "the arguments must be a JSON object."),
        ('"Paris"', "the arguments must be a JSON object."),
        ({k: v for k, v in VALID.items() if k != "count"}, "missing required argument 'count'."),
        ({**VALID, "count": "2"}, "'count' must be a whole number."),
        ({**VALID, "count": 2.5}, "'count' must be a whole number."),
        (
            json.dumps({**VALID, "count": 0}).replace('"count": 0', '"count": 1e400'),
            "'count' must be a whole number.",
        ),
        (
            json.dumps({**VALID, "ratio": 0}).replace('"ratio": 0', '"ratio": -1e400'),
            "'ratio' must be a number.",
        ),
        ({**VALID, "count": True}, "'count' must be a whole number."),
        ({**VALID, "loud": 1}, "'loud' must be true or false."),
        ({**VALID, "ratio": "0.5"}, "'ratio' must be a number."),
        ({**VALID, "city": None}, "'city' must be a string."),
        ({**VALID, "note": 3}, "'note' must be a string."),
        ({**VALID, "unit": "kelvin"}, '\'unit\' must be one of "celsius", "fahrenheit".'),
        ({**VALID, "stars": 5}, "'stars' must be one of 1, 2, 3."),
        ({**VALID, "mood": "sad"}, '\'mood\' must be one of "calm", "busy".'),
        ({**VALID, "country": "FR"}, "unknown argument 'country'."),
    ],
)
def test_invalid_arguments_are_refused_in_one_short_sentence(
    arguments: dict[str, Any] | str, message: str
) -> None:
    with pytest.raises(InvalidArguments) as raised:
        parse(arguments)

    assert str(raised.value) == message


@pytest.mark.parametrize(
    "arguments",
    [
        VALID,
        {**VALID, "note": None, "mood": "busy", "level": 7, "language": "fr"},
        {**VALID, "ratio": 3},
        {**VALID, "ratio": 10**400},
        {**VALID, "count": 2.0},
        {**VALID, "count": False},
        {**VALID, "stars": 0},
        {**VALID, "unit": "Celsius"},
        {**VALID, "extra": 1},
        {**VALID, "level": None},
        {k: v for k, v in VALID.items() if k != "city"},
        {},
    ],
)
def test_the_check_agrees_with_a_json_schema_validator(arguments: dict[str, Any]) -> None:
    by_schema = jsonschema.Draft202012Validator(SCHEMA).is_valid(arguments)
    try:
        parse(arguments)
        by_us = True
    except InvalidArguments:
        by_us = False

    # the one difference: an integer beyond a float's range cannot be a Python float field
    if arguments.get("ratio") == 10**400:
        assert (by_schema, by_us) == (True, False)
    else:
        assert by_us == by_schema


@dataclass(frozen=True)
class NoDescription:
    city: str


@dataclass(frozen=True)
class EmptyDescription:
    city: Annotated[str, Describe("  ")]


@dataclass(frozen=True)
class UnsupportedType:
    cities: Annotated[list[str], Describe("Cities")]


@dataclass(frozen=True)
class MixedLiteral:
    choice: Annotated[Literal["a", 1], Describe("A choice")]


@dataclass(frozen=True)
class OptionalWithoutDefault:
    note: Annotated[str | None, Describe("A note")]


@dataclass(frozen=True)
class DefaultOfTheWrongType:
    level: Annotated[int, Describe("A level")] = "high"  # type: ignore[assignment]


@dataclass(frozen=True)
class DefaultFactory:
    level: Annotated[int, Describe("A level")] = dataclasses.field(default_factory=lambda: 1)


@dataclass
class NotFrozen:
    city: Annotated[str, Describe("A city")]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (NoDescription, "NoDescription.city needs Annotated"),
        (EmptyDescription, "EmptyDescription.city needs exactly one non-empty Describe"),
        (UnsupportedType, "UnsupportedType.cities: list[str] is not one of"),
        (MixedLiteral, "MixedLiteral.choice: a Literal must hold only strings or only integers"),
        (OptionalWithoutDefault, "OptionalWithoutDefault.note is `… | None` and needs a default"),
        (DefaultOfTheWrongType, "DefaultOfTheWrongType.level: the default does not fit"),
        (DefaultFactory, "DefaultFactory.level: a default_factory cannot appear"),
        (NotFrozen, "NotFrozen must be a frozen dataclass"),
    ],
)
def test_a_declaration_that_cannot_be_a_schema_fails_at_import_by_field(
    arguments: type[Any], problem: str
) -> None:
    with pytest.raises(TypeError) as raised:
        fields_of(arguments)

    assert str(raised.value).startswith(problem)
