"""The function as the local stack runs it: its environment (the template's names, pointed at the
local services) and its handler, imported into this process as a Lambda execution environment would."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from local.moto_server import REGION, MotoServer
from local.stack_options import (
    COMPANION_FUNCTION_NAME,
    HANGUP_FUNCTION_ARN,
    ORIGIN_VERIFY_SECRET_NAME,
    PAUSE_PARAMETER,
    QUOTA_TABLE,
    REPO,
    SCHEDULE_GROUP,
    SCHEDULER_ROLE_ARN,
    SECRET_NAME,
    VISITOR_KEY_SECRET_NAME,
    StackOptions,
)

FUNCTION = "VendFunction"
Handler = Callable[[dict[str, Any], Any], Mapping[str, Any]]


def function_environment(
    options: StackOptions,
    template: Mapping[str, Any],
    moto: MotoServer,
    openai_base_url: str,
    lambda_endpoint: str = "",
) -> dict[str, str]:
    """What the template would set, with every AWS service at `moto` and OpenAI at `openai_base_url`;
    a limit not given in `options` is the template's default; `options.handler_env` overrides all.

    With `lambda_endpoint` (local.lambda_invoke), the vend function invokes the companion there, by
    the name local.lambda_invoke.ASYNC_FUNCTIONS runs it under; the companion, in the same process,
    sees this environment too, as the template gives it the vend function's."""
    limits = {
        "QUOTA_PER_VISITOR": options.quota_per_visitor,
        "QUOTA_WINDOW_SECONDS": options.quota_window_seconds,
        "DAILY_CAP": options.daily_cap,
        "CALL_MODE": options.mode,
        "MAX_CALL_SECONDS": options.max_call_seconds,
        "CONCURRENT_CALLS_PER_VISITOR": options.concurrent_calls,
        "CALL_MINUTES_PER_VISITOR": options.call_minutes_per_visitor,
        "CALL_MINUTES_PER_DAY": options.call_minutes_per_day,
        "CALL_DOLLARS_PER_VISITOR_PER_DAY": options.call_dollars_per_visitor,
        "CALL_DOLLARS_PER_DAY": options.call_dollars_per_day,
        "TOOLS": options.tools,
        "VOICE_API": options.voice_api,
        "LIVE_MODEL": options.live_model,
        "LIVE_VOICE": options.live_voice,
        "LIVE_IDLE_TIMEOUT_SECONDS": options.live_idle_timeout_seconds,
        "LIVE_TYPED_TEXT": options.live_typed_text,
        "LIVE_HOSTED_TOOLS": options.live_hosted_tools,
    }
    if options.voice_api == "live" and options.mode is None:
        limits["CALL_MODE"] = "relay"  # GPT-Live is relayed only (the template's rule LiveNeedsRelay)
    env = {
        "OPENAI_API_KEY_SECRET_ARN": moto.arns[SECRET_NAME],
        "OPENAI_BASE_URL": openai_base_url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.endpoint,
        "AWS_ENDPOINT_URL_SSM": moto.endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": moto.endpoint,
        "AWS_ENDPOINT_URL_SCHEDULER": moto.endpoint,
        "ORIGIN_VERIFY_SECRET_ARN": moto.arns[ORIGIN_VERIFY_SECRET_NAME],
        "VISITOR_KEY_SECRET_ARN": moto.arns[VISITOR_KEY_SECRET_NAME],
        "QUOTA_TABLE_NAME": QUOTA_TABLE,
        "PAUSE_PARAMETER_NAME": PAUSE_PARAMETER,
        "HANGUP_FUNCTION_ARN": HANGUP_FUNCTION_ARN,
        "SCHEDULER_ROLE_ARN": SCHEDULER_ROLE_ARN,
        "SCHEDULE_GROUP_NAME": SCHEDULE_GROUP,
    }
    if lambda_endpoint:
        env["AWS_ENDPOINT_URL_LAMBDA"] = lambda_endpoint
        env["COMPANION_FUNCTION_NAME"] = COMPANION_FUNCTION_NAME
    for variable, value in limits.items():
        chosen = str(value) if value is not None else template_default(template, variable)
        if chosen is not None:  # else the handler's own default, as with a template without it
            env[variable] = chosen
    return {**env, **options.handler_env}


def template_default(document: Mapping[str, Any], variable: str) -> str | None:
    """The template's value for a function variable: a literal, or the default of the parameter it refs."""
    resources = document.get("Resources") or {}
    properties = (resources.get(FUNCTION) or {}).get("Properties") or {}
    value = ((properties.get("Environment") or {}).get("Variables") or {}).get(variable)
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        value = ((document.get("Parameters") or {}).get(value["Ref"]) or {}).get("Default")
    return None if value is None or isinstance(value, dict | list) else str(value)


def import_handler(env: Mapping[str, str]) -> Handler:
    """`vend.app.lambda_handler`, imported after `env` is in os.environ: the handler reads its
    environment once, at import, as in a Lambda execution environment."""
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "POWERTOOLS_SERVICE_NAME": "realtime-vend-local",
            "POWERTOOLS_METRICS_NAMESPACE": "RealtimeVendLocal",
            **env,
        }
    )
    functions = str(REPO / "functions")
    if functions not in sys.path:
        sys.path.insert(0, functions)
    from vend.app import lambda_handler  # noqa: PLC0415

    return lambda_handler  # type: ignore[no-any-return]
