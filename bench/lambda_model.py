"""How Lambda runs the function, as far as CPU, environment and billing go.

On-demand Lambda runs the init phase (runtime start and handler import) on about one vCPU and every
invocation on a share proportional to memory: 1,769 MB is one vCPU. Since August 2025 the init phase is
billed like the handler, per GB-second. The memory is the template's, read from template.yaml.
"""

from __future__ import annotations

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


def lambda_env(memory_mb: int) -> dict[str, str]:
    """What the Lambda runtime sets besides the template's variables (Tracer reads some of them)."""
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
        # The function's own, from template.yaml (the rest have defaults in settings).
        **{k: v for k, v in function_environment(FUNCTION).items() if k.startswith("POWERTOOLS_")},
    }
