"""Validate a request against an SDK TypedDict the way OpenAI does: strictly.

The SDK's request types are TypedDicts: pydantic silently drops unknown keys and coerces
nothing in strict mode, so we validate strictly and then compare the output with the input
to find the keys it dropped. Errors name the offending field by its path in the input
(`session.audio.output.speed`), never by pydantic's union-branch names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError


class StrictValidationError(ValueError):
    def __init__(self, message: str, param: str | None, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def join(root: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{root}[{key}]"
    return f"{root}.{key}" if root else key


class _LazyItemError(Exception):
    """A ValidationError raised while iterating a lazy field, with the field's location."""

    def __init__(self, loc: tuple[int | str, ...], error: ValidationError) -> None:
        super().__init__(str(error))
        self.errors = [{**err, "loc": (*loc, *err["loc"])} for err in error.errors(include_url=False)]


def _materialize(value: Any, loc: tuple[int | str, ...] = ()) -> Any:
    """Turn the lazy iterators pydantic returns for `Iterable[...]` fields into lists.

    Iterating is what validates their items, and their errors carry locations relative to
    the iterator, so this re-raises them with the field's own location.
    """
    if isinstance(value, Mapping):
        return {k: _materialize(v, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_materialize(v, (*loc, i)) for i, v in enumerate(value)]
    if isinstance(value, Iterator) and not isinstance(value, str):
        try:
            items = list(value)
        except ValidationError as exc:
            raise _LazyItemError(loc, exc) from None
        return [_materialize(v, (*loc, i)) for i, v in enumerate(items)]
    return value


def _input_path(data: Any, loc: Sequence[int | str], root: str, *, keep_last: bool) -> str:
    """Map a pydantic `loc` to a path through the input, skipping union-branch labels."""
    path, node = root, data
    for index, part in enumerate(loc):
        in_object = isinstance(node, Mapping) and isinstance(part, str) and part in node
        in_array = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_object or in_array:
            path, node = join(path, part), node[part]
        elif keep_last and index == len(loc) - 1 and isinstance(part, str):
            path = join(path, part)
    return path


def _describe(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "an array"}
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    return names.get(type(value), type(value).__name__)


def _from_pydantic(errors: Sequence[Mapping[str, Any]], data: Any, root: str) -> StrictValidationError:
    """Pick the most specific error (the deepest path into the input) and word it like OpenAI."""
    best: tuple[int, str, dict[str, Any]] | None = None
    for err in errors:
        missing = err["type"] == "missing"
        path = _input_path(data, err["loc"], root, keep_last=missing)
        depth = path.count(".") + path.count("[") + (1 if path else 0)
        if best is None or depth > best[0]:
            best = (depth, path, dict(err))
    if best is None:  # pragma: no cover - pydantic always reports at least one error
        return StrictValidationError("Invalid request.", root or None, "invalid_value")
    _, path, err = best
    param = path or None
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        return StrictValidationError(
            f"Missing required parameter: '{path}'.", param, "missing_required_parameter"
        )
    if kind in {"literal_error", "enum"}:
        expected = err.get("ctx", {}).get("expected", "")
        return StrictValidationError(
            f"Invalid value: {value!r}. Supported values are: {expected}.", param, "invalid_value"
        )
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_attributes_type":
        return StrictValidationError(
            f"Invalid type for '{path}': expected {err['msg'].removeprefix('Input should be ').lower()}, "
            f"but got {_describe(value)} instead.",
            param,
            "invalid_type",
        )
    return StrictValidationError(f"Invalid value for '{path}': {err['msg']}.", param, "invalid_value")


def _first_unknown_key(data: Any, validated: Any, path: str) -> str | None:
    if isinstance(data, Mapping) and isinstance(validated, Mapping):
        for key, value in data.items():
            if key not in validated:
                return join(path, key)
            found = _first_unknown_key(value, validated[key], join(path, key))
            if found:
                return found
    elif isinstance(data, list) and isinstance(validated, list):
        for index, (item, checked) in enumerate(zip(data, validated, strict=False)):
            found = _first_unknown_key(item, checked, join(path, index))
            if found:
                return found
    return None


def strict_validate(adapter: TypeAdapter[Any], data: Any, root: str = "") -> Any:
    """Validate `data` strictly; unknown keys at any level are errors. Returns the validated value."""
    try:
        validated = _materialize(adapter.validate_python(data, strict=True))
    except ValidationError as exc:
        raise _from_pydantic(exc.errors(include_url=False), data, root) from None
    except _LazyItemError as exc:
        raise _from_pydantic(exc.errors, data, root) from None
    unknown = _first_unknown_key(data, validated, root)
    if unknown:
        raise StrictValidationError(f"Unknown parameter: '{unknown}'.", unknown, "unknown_parameter")
    return validated


def check_range(path: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool) and not low <= value <= high:
        raise StrictValidationError(
            f"Invalid '{path}': expected a value between {low:g} and {high:g}, but got {value!r} instead.",
            path,
            "invalid_value",
        )
