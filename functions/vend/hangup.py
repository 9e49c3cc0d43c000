"""The scheduled hangup: EventBridge Scheduler invokes this at a relayed call's cap.

    {"call_id": "call_…"}  ->  {"ended": true}   (false: the call had already ended; that is success)

A failure raises, so that Scheduler retries it (its default retry policy): a call that could not be
ended is money still running, and the HangupFailures metric lets an alarm say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vend import providers  # isort: skip  (first: starts the init prefetch)

from vend.edge.call_request import CALL_ID
from vend.errors import VendError
from vend.observability import annotate, logged_task, logger, metrics, record_hangup

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
@logged_task("scheduled hangup")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    call_id = event.get("call_id") if isinstance(event, dict) else None
    if not isinstance(call_id, str) or not CALL_ID.fullmatch(call_id):
        annotate(reason="no_call_id")
        record_hangup(failed=True)
        return {"ended": False}  # nothing to retry: the schedule itself is malformed
    try:
        ended = providers.call_relay().end_scheduled(call_id)
    except VendError as error:
        record_hangup(failed=True)
        annotate(call_id=call_id, reason=error.reason)
        raise
    record_hangup(failed=False)
    annotate(call_id=call_id, ended=ended)
    return {"ended": ended}


providers.PREFETCH.wait()
