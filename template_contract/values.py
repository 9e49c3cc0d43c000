"""A template's values as CloudFormation would deploy them with given parameters: a small evaluator of
the intrinsic functions the template uses for values and rules (Ref, Condition, Equals, Not, And, Or,
If, Join, Select). A Ref to a resource stays {"Ref": name}; AWS::NoValue is NO_VALUE, and drops out of
a list. The local stack reads its gateway limits through it, the template tests their guarantees."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from template_contract.reader import load_template

NO_VALUE: Final = object()
Parameters = Mapping[str, str]


def defaults(template: Mapping[str, Any] | None = None, /, **overrides: str) -> dict[str, str]:
    """Every parameter of `template` (template.yaml by default) at its default, in eu-west-1, with
    `overrides`."""
    document = load_template() if template is None else template
    values = {name: str(p.get("Default", "")) for name, p in (document.get("Parameters") or {}).items()}
    values.update({"AWS::Region": "eu-west-1"}, **overrides)
    return values


def condition(name: str, params: Parameters, template: Mapping[str, Any] | None = None) -> bool:
    document = load_template() if template is None else template
    return bool(evaluate(document["Conditions"][name], params, document))


def evaluate(node: Any, params: Parameters, template: Mapping[str, Any] | None = None) -> Any:
    """A condition or an intrinsic-bearing value with the parameters substituted."""
    document = load_template() if template is None else template
    if isinstance(node, list):
        items = [evaluate(item, params, document) for item in node]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    [(key, arg)] = node.items() if len(node) == 1 else [("", None)]
    function = _FUNCTIONS.get(key)
    if function is None:
        return {k: evaluate(v, params, document) for k, v in node.items()}
    return function(arg, params, document)


def _ref(name: str, params: Parameters, _: Mapping[str, Any]) -> Any:
    return NO_VALUE if name == "AWS::NoValue" else params.get(name, {"Ref": name})


def _if(arg: list[Any], params: Parameters, document: Mapping[str, Any]) -> Any:
    name, then, otherwise = arg
    return evaluate(then if condition(name, params, document) else otherwise, params, document)


def _equals(arg: list[Any], params: Parameters, document: Mapping[str, Any]) -> bool:
    return str(evaluate(arg[0], params, document)) == str(evaluate(arg[1], params, document))


def _join(arg: list[Any], params: Parameters, document: Mapping[str, Any]) -> str:
    return str(arg[0]).join(str(evaluate(a, params, document)) for a in arg[1])


def _select(arg: list[Any], params: Parameters, document: Mapping[str, Any]) -> Any:
    return evaluate(arg[1], params, document)[int(evaluate(arg[0], params, document))]


_FUNCTIONS: dict[str, Callable[[Any, Parameters, Mapping[str, Any]], Any]] = {
    "Ref": _ref,
    "Condition": condition,
    "Fn::Equals": _equals,
    "Fn::Not": lambda arg, params, document: not evaluate(arg[0], params, document),
    "Fn::And": lambda arg, params, document: all(evaluate(item, params, document) for item in arg),
    "Fn::Or": lambda arg, params, document: any(evaluate(item, params, document) for item in arg),
    "Fn::If": _if,
    "Fn::Join": _join,
    "Fn::Select": _select,
}
