"""template.yaml as data: a safe YAML loader that keeps CloudFormation's short tags.

The one template reader that the local stack, the smoke test, the benchmarks and the tests share, so
each reads the deployment's own values (headers, routes, memory, environment) instead of a copy.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class TemplateError(RuntimeError):
    """template.yaml is missing, or lacks what a reader needs, or has it in an unexpected shape."""


# libyaml's parser when PyYAML has it: the template is read by every local stack start.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CloudFormationLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader that keeps CloudFormation short tags (`!Sub x` → `{"Fn::Sub": x}`)."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise TemplateError(f"!{tag_suffix} has a node YAML does not define: {node!r}")
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_template(template: Path = TEMPLATE) -> dict[str, Any]:
    """Parses a CloudFormation/SAM template, short tags included. Each caller gets its own copy."""
    try:
        stat = template.stat()
    except FileNotFoundError as exc:
        raise TemplateError(f"{template} does not exist") from exc
    return copy.deepcopy(_parsed(template.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(template: Path, _mtime_ns: int, _size: int) -> dict[str, Any]:
    """Parsed once per version of the file (the key holds its mtime and size)."""
    text = template.read_text(encoding="utf-8")
    document = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        raise TemplateError(f"{template} is not a CloudFormation template")
    return document


def nested_template(application: str, template: Path = TEMPLATE) -> Path:
    """The local template of an `AWS::Serverless::Application` (its Location, relative to the parent)."""
    resource = (load_template(template).get("Resources") or {}).get(application)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Application":
        raise TemplateError(f"{template} has no AWS::Serverless::Application {application}")
    location = (resource.get("Properties") or {}).get("Location")
    if not isinstance(location, str):
        raise TemplateError(f"{application} in {template} has no local template Location")
    return template.parent / location


def _merge_globals(global_value: Any, local_value: Any, *, replace: bool) -> Any:
    """SAM's Globals merge: maps merge by key (the resource wins), lists add up, scalars the resource's."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(global_value[key], value, replace=False) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list) and not replace:
        return [*global_value, *local_value]
    return local_value


def function_properties(function: str, template: Path = TEMPLATE) -> dict[str, Any]:
    """An `AWS::Serverless::Function`'s Properties with `Globals.Function` applied as SAM applies them
    (Architectures replaced, not added), intrinsic functions unresolved."""
    document = load_template(template)
    resource = (document.get("Resources") or {}).get(function)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
        raise TemplateError(f"{template} has no AWS::Serverless::Function {function}")
    merged: dict[str, Any] = dict((document.get("Globals") or {}).get("Function") or {})
    for key, value in (resource.get("Properties") or {}).items():
        merged[key] = (
            _merge_globals(merged[key], value, replace=key == "Architectures") if key in merged else value
        )
    return merged


def function_environment(function: str, template: Path = TEMPLATE) -> dict[str, Any]:
    """A function's `Environment.Variables`, as written (intrinsic functions unresolved)."""
    resource = (load_template(template).get("Resources") or {}).get(function)
    if not isinstance(resource, dict):
        raise TemplateError(f"{template} has no resource {function}")
    variables = (resource.get("Properties", {}).get("Environment") or {}).get("Variables")
    if not isinstance(variables, dict):
        raise TemplateError(f"{function} in {template} declares no environment variables")
    return variables


def http_api_route_keys(template: Path = TEMPLATE) -> tuple[str, ...]:
    """The HttpApi routes the template's functions declare, as API Gateway route keys (`POST /api/x`)."""
    keys: list[str] = []
    for resource in (load_template(template).get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            props = event.get("Properties", {}) if isinstance(event, dict) else {}
            if event.get("Type") == "HttpApi" and isinstance(props.get("Path"), str):
                method = str(props.get("Method", "ANY")).upper()
                keys.append(f"{'ANY' if method in {'*', 'ANY'} else method} {props['Path']}")
    return tuple(keys)


def http_api_route_settings(template: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    """The route-level settings (throttles) of the template's `AWS::Serverless::HttpApi`s, by route key;
    every other route takes the API's DefaultRouteSettings."""
    settings: dict[str, dict[str, Any]] = {}
    for resource in (load_template(template).get("Resources") or {}).values():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::HttpApi":
            settings.update((resource.get("Properties") or {}).get("RouteSettings") or {})
    return settings


def jwt_route_keys(template: Path = TEMPLATE) -> frozenset[str]:
    """The route keys (`POST /api/call`) a JWT authorizer protects when visitors sign in: the
    `AWS::ApiGatewayV2::Route` resources with AuthorizationType JWT. The local stack checks a bearer
    token on exactly these; every other route key stays open, as in production."""
    keys = set()
    for resource in (load_template(template).get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::ApiGatewayV2::Route":
            continue
        props = resource.get("Properties") or {}
        if props.get("AuthorizationType") == "JWT" and isinstance(props.get("RouteKey"), str):
            keys.add(props["RouteKey"])
    return frozenset(keys)
