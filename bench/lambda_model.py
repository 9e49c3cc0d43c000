"""How Lambda runs the function, as far as CPU, environment and billing go.

On-demand Lambda runs the init phase (runtime start and handler import) on about one vCPU and every
invocation on a share proportional to memory: 1,769 MB is one vCPU. Since August 2025 the init phase is
billed like the handler, per GB-second. The memory is the template's, read from template.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from template_contract.reader import TEMPLATE, function_environment, load_template

FUNCTION = "VendFunction"
MB_PER_VCPU = 1769
INIT_VCPUS = 1.0


def function_memory_mb(template: Path = TEMPLATE, function: str = FUNCTION) -> int:
    """The function's MemorySize (or Globals/Function's), a parameter reference resolved to its default."""
    document = load_template(template)
    properties = document["Resources"][function].get("Properties", {})
    value: Any = properties.get(
        "MemorySize", document.get("Globals", {}).get("Function", {}).get("MemorySize")
    )
    if isinstance(value, dict) and set(value) == {"Ref"}:
        value = document["Parameters"][value["Ref"]].get("Default")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise SystemExit(f"template.yaml: {function}'s MemorySize is not a number or a parameter default")
    return int(value)


def invoke_vcpus(memory_mb: int) -> float:
    return memory_mb / MB_PER_VCPU


def gb_seconds(milliseconds: float, memory_mb: int) -> float:
    """Billed GB-seconds: duration rounded up to the millisecond, times the configured memory."""
    billed_ms = -(-milliseconds // 1)
    return billed_ms / 1000 * memory_mb / 1024


def lambda_env(memory_mb: int, resources: Mapping[str, str]) -> dict[str, str]:
    """What the Lambda runtime sets, and the function's whole environment as template.yaml declares it
    with every parameter at its default; `resources` give what `Ref` to each resource returns."""
    return {
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": "realtime-vend-VendFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": "/var/task",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        # As in Lambda: Tracer only records when LAMBDA_TASK_ROOT is set and a trace header exists.
        "_X_AMZN_TRACE_ID": "Root=1-6745a1b2-3c4d5e6f7a8b9c0d1e2f3a4b;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",  # the discard port: segments are sent, to nowhere
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        **function_env(resources),
    }


def function_env(resources: Mapping[str, str], template: Path = TEMPLATE) -> dict[str, str]:
    """The function's Environment.Variables with Ref, Fn::Join, Fn::If and the conditions they use
    resolved against the parameters' defaults (what a deploy with no overrides sets)."""
    document = load_template(template)
    parameters = {name: spec.get("Default", "") for name, spec in document["Parameters"].items()}
    parameters |= {
        "AWS::Region": "us-east-1",
        "AWS::StackName": "realtime-vend",
        "AWS::Partition": "aws",
        "AWS::AccountId": "123456789012",
        "AWS::URLSuffix": "amazonaws.com",
    }
    conditions = document.get("Conditions", {})

    def value(node: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic function
        if isinstance(node, str | int | float) and not isinstance(node, bool):
            return str(node)
        if isinstance(node, list):
            return [value(item) for item in node]
        [(function, argument)] = node.items()
        if function == "Ref":
            if argument in parameters:
                default = parameters[argument]
                return [str(v) for v in default] if isinstance(default, list) else str(default)
            if argument not in resources:
                raise SystemExit(f"template.yaml: {FUNCTION}'s environment names {argument}: no bench value")
            return resources[argument]
        if function == "Fn::Join":
            separator, items = argument
            items = value(items)
            return separator.join(items.split(",") if isinstance(items, str) else items)
        if function == "Fn::If":
            name, when_true, when_false = argument
            return value(when_true if holds(conditions[name]) else when_false)
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(value({"Ref": m.group(1)})), argument)
        if function == "Fn::GetAtt":
            resource, attribute = argument
            # An ARN-shaped stand-in: the function only passes these on (e.g. to Scheduler).
            stand_in = f"arn:aws:bench:us-east-1:123456789012:{resource}"
            return resources.get(f"{resource}.{attribute}", stand_in)
        raise SystemExit(f"template.yaml: the bench cannot resolve {function} in {FUNCTION}'s environment")

    def holds(node: Any) -> bool:
        [(function, argument)] = node.items()
        if function == "Fn::Equals":
            left, right = (value(side) for side in argument)
            return bool(left == right)
        if function == "Fn::Not":
            return not holds(argument[0])
        if function == "Fn::And":
            return all(holds(item) for item in argument)
        if function == "Fn::Or":
            return any(holds(item) for item in argument)
        if function == "Condition":
            return holds(conditions[argument])
        raise SystemExit(f"template.yaml: the bench cannot evaluate {function} in a condition")

    resolved = {name: value(node) for name, node in function_environment(FUNCTION, template).items()}
    return {name: v if isinstance(v, str) else ",".join(v) for name, v in resolved.items()}
