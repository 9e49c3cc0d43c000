"""The kill switch, for an operator during an incident: end every live relayed call of the stack.

    aws lambda invoke --function-name <OperatorFunction> \\
        --cli-binary-format raw-in-base64-out --payload '{"action":"end_all_calls"}' /dev/stdout
    -> {"ended": N}

With the pause switch on as well, nothing new starts and nothing already running goes on: spending
stops now. Client secrets already handed out cannot be revoked; their sessions end within the TTL
plus OpenAI's 60-minute session limit, which is why public sites should relay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vend import providers  # isort: skip  (first: starts the init prefetch)

from aws_lambda_powertools.metrics import MetricUnit

from vend.observability import annotate, logged_task, logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

ACTIONS = ("end_all_calls",)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
@logged_task("kill switch")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    if action not in ACTIONS:
        return {"error": f"unknown action; use one of: {', '.join(ACTIONS)}"}
    ended = providers.call_relay().end_all()
    metrics.add_metric(name="CallsKilled", unit=MetricUnit.Count, value=ended)
    annotate(ended=ended)
    return {"ended": ended}


providers.PREFETCH.wait()
