"""The companion's Lambda handler: one asynchronous invocation per relayed call (and per hand-over).

    {"call_id": "call_…", "generation": 0}  ->  {"outcome": "finalised_cap" | "handed_over" | …}

Its init is kept small on purpose (the attach must follow the SDP answer within a second): no
Powertools event handler, and the metering and tool modules are imported on first use. A failure is
counted (CompanionFailures) and raised, so that Lambda retries the event, twice; each retry re-attaches,
and the Scheduler's hangup still ends the call if none succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vend import providers  # isort: skip  (first: starts the init prefetch)

from vend.companion.event import parse_event
from vend.companion.wiring import parts_from, serve
from vend.observability import (
    annotate,
    logged_task,
    logger,
    metrics,
    record_companion_failure,
    record_companion_run,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
@logged_task("companion")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    record_companion_run()
    parsed = parse_event(event)
    if parsed is None:
        annotate(reason="bad_event")
        record_companion_failure()
        return {"outcome": "bad_event"}  # nothing to retry: no call can be named
    annotate(call_id=parsed.call_id, generation=parsed.generation)
    try:
        outcome = serve(
            parts_from(providers.current()),
            parsed,
            remaining_seconds=context.get_remaining_time_in_millis() / 1000,
        )
    except Exception as error:
        record_companion_failure()
        annotate(error_type=type(error).__name__, reason=getattr(error, "reason", None))
        raise
    annotate(companion_outcome=outcome)
    return {"outcome": outcome}


providers.PREFETCH.wait()
