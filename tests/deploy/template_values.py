"""template.yaml's values as CloudFormation would deploy them with given parameters: a small evaluator of
the intrinsic functions the tests meet (Ref, Condition, Equals, Not, If, Join, Select). A Ref to a
resource stays {"Ref": name}; AWS::NoValue drops the entry."""

from __future__ import annotations

from typing import Any

from template_contract.reader import load_template

TEMPLATE = load_template()
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]


def defaults(**overrides: str) -> dict[str, str]:
    """Every parameter at its default, in eu-west-1, with `overrides`."""
    values = {name: str(p.get("Default", "")) for name, p in PARAMETERS.items()}
    values.update({"AWS::Region": "eu-west-1"}, **overrides)
    return values


def condition(name: str, params: dict[str, str], template: dict[str, Any] = TEMPLATE) -> bool:
    return bool(evaluate(template["Conditions"][name], params))


def evaluate(node: Any, params: dict[str, str]) -> Any:
    """A condition or an intrinsic-bearing value with the parameters substituted."""
    if isinstance(node, list):
        items = [evaluate(item, params) for item in node]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    [(key, arg)] = node.items() if len(node) == 1 else [("", None)]
    function = _FUNCTIONS.get(key)
    if function is None:
        return {k: evaluate(v, params) for k, v in node.items()}
    return function(arg, params)


def _ref(name: str, params: dict[str, str]) -> Any:
    return NO_VALUE if name == "AWS::NoValue" else params.get(name, {"Ref": name})


def _if(arg: list[Any], params: dict[str, str]) -> Any:
    name, then, otherwise = arg
    return evaluate(then if condition(name, params) else otherwise, params)


_FUNCTIONS: dict[str, Any] = {
    "Ref": _ref,
    "Condition": condition,
    "Fn::Equals": lambda arg, params: str(evaluate(arg[0], params)) == str(evaluate(arg[1], params)),
    "Fn::Not": lambda arg, params: not evaluate(arg[0], params),
    "Fn::If": _if,
    "Fn::Join": lambda arg, params: arg[0].join(str(evaluate(a, params)) for a in arg[1]),
    "Fn::Select": lambda arg, params: evaluate(arg[1], params)[int(evaluate(arg[0], params))],
}
NO_VALUE = object()
