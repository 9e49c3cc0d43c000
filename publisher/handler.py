"""The custom resource's entry point: publish on Create/Update, empty the bucket on Delete.

The one rule: CloudFormation always gets an answer, SUCCESS or FAILED with a reason, before this
function's own timeout. The work runs in a worker thread; the handler waits for it only until
`SAFETY_MARGIN_SECONDS` before the deadline, then answers FAILED itself and tells the worker to stop.
An unanswered custom resource would hold the stack in *_IN_PROGRESS for an hour.

Before any work, the request is checked (`_check_request`): a ResponseURL that is not CloudFormation's
response bucket over https gets no answer at all (cfn_response.response_target); a request from another
stack, of an unknown type, or without the template's properties gets FAILED and nothing is written.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from publisher import bucket, cfn_response, distribution, site
from publisher.cfn_response import Outcome, RefusedResponseURL, ResponseTarget

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

SAFETY_MARGIN_SECONDS = 10.0  # time kept back to send FAILED (two PUT attempts of 4 s each + pause)
# In the package `sam build` makes, web/ sits beside the code as site/ (publisher/Makefile).
SITE_ROOT = Path(__file__).resolve().parent.parent / "site"

REQUEST_TYPES = frozenset({"Create", "Update", "Delete"})
# What template.yaml's SitePublication sends; SiteVersion is unused here but proves the shape.
PUBLISH_PROPERTIES = ("BucketName", "DistributionId", "RealtimeOrigin", "SiteVersion")
# Optional, so that an Update carrying the properties of a stack that predates it (a rollback to that
# template sends them to this code) still publishes, with the mode such a stack served.
CALL_MODE_PROPERTY = "CallMode"
# Optional too: absent for anonymous visitors (template.yaml's AWS::NoValue) and on older stacks.
AUTH_PROPERTY = "Auth"
# Optional, as CallMode: a stack that predates GPT-Live served Realtime, with its text box.
VOICE_API_PROPERTY = "VoiceApi"
TYPED_TEXT_PROPERTY = "TypedText"  # "true" or "false": CloudFormation passes every value as a string
# The names template.yaml gives this function's log group and (unset FunctionName) CloudFormation
# generates for the function: both start with the stack's name.
LOGICAL_ID = "PublisherFunction"
_LOG_GROUP = re.compile(r"^/aws/lambda/(?P<stack>[A-Za-z][A-Za-z0-9-]*)-publisher$")
_FUNCTION_NAME = re.compile(r"^(?P<stack>[A-Za-z][A-Za-z0-9-]*)-(?P<logical>P[A-Za-z]*)-[A-Za-z0-9]+$")
_STACK_ID = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):cloudformation:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"stack/(?P<stack>[A-Za-z][A-Za-z0-9-]{0,127})/[0-9a-f-]{36}$"
)
_FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:[a-z0-9-]+:(?P<account>[0-9]{12}):function:"
)

logger = logging.getLogger("publisher")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


class Refused(ValueError):
    """The request is not one this function may act on; the message is the FAILED reason."""


class MissingProperty(Refused):
    """The custom resource was declared without a property the publisher needs."""


class LambdaContext(Protocol):
    # Set by Lambda, not by the event: the function's own identity, which a caller cannot choose.
    invoked_function_arn: str
    function_name: str
    log_group_name: str

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Clients:
    s3: S3Client
    cloudfront: CloudFrontClient


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    target = _response_target(event)
    if target is None:
        return
    try:
        import boto3  # noqa: PLC0415 - the runtime's; imported here so the package imports without it

        clients = Clients(s3=boto3.client("s3"), cloudfront=boto3.client("cloudfront"))
    except Exception as exc:  # still answer: silence would hold the stack in progress for an hour
        logger.exception("could not create the AWS clients")
        answer(
            target,
            event,
            Outcome("FAILED", _physical_id(event, None), f"could not create the AWS clients: {exc}"),
        )
        return
    # Returns None on purpose: Lambda serialises a handler's return value, and an error there would
    # make Lambda retry this (asynchronous) invocation after CloudFormation already has its answer.
    handle(event, context, clients=clients, site_root=SITE_ROOT)


def handle(
    event: Mapping[str, Any],
    context: LambdaContext,
    *,
    clients: Clients,
    site_root: Path,
    margin_seconds: float = SAFETY_MARGIN_SECONDS,
    send: Callable[[ResponseTarget, bytes], None] = cfn_response.send,
) -> Outcome | None:
    """Runs the request and answers CloudFormation once; returns what was answered (None: refused
    without an answer, because the ResponseURL is not CloudFormation's)."""
    target = _response_target(event)
    if target is None:
        return None
    request_type = event.get("RequestType")
    logger.info(
        "custom resource request",
        extra={"request_type": request_type, "logical_id": event.get("LogicalResourceId")},
    )
    try:
        _check_request(event, context)
    except Refused as exc:
        # The URL is CloudFormation's own response bucket, so answering reaches only CloudFormation:
        # the stack that sent this (another stack pointing at this function) fails fast, not in an hour.
        logger.error("refused the request", extra={"reason": str(exc), "stack_id": event.get("StackId")})
        outcome = Outcome("FAILED", _physical_id(event, None), str(exc))
        answer(target, event, outcome, send)
        return outcome

    stop = threading.Event()
    box: list[Outcome] = []

    def work() -> None:
        box.append(_outcome(event, clients, site_root, stop.is_set))

    budget = context.get_remaining_time_in_millis() / 1000 - margin_seconds
    worker = threading.Thread(target=work, name="publisher-work", daemon=True)
    worker.start()
    worker.join(timeout=max(budget, 0.0))
    if box:
        outcome = box[0]
    else:
        stop.set()
        outcome = Outcome(
            "FAILED",
            _physical_id(event, None),
            f"{request_type} did not finish before the function's timeout; stopped it and gave up. "
            "Check the publisher's log group, then retry the deployment.",
        )
    answer(target, event, outcome, send)
    return outcome


def answer(
    target: ResponseTarget,
    event: Mapping[str, Any],
    outcome: Outcome,
    send: Callable[[ResponseTarget, bytes], None] = cfn_response.send,
) -> None:
    """Sends the outcome to the checked ResponseURL; a delivery failure can only be logged."""
    log = logger.info if outcome.status == "SUCCESS" else logger.error
    log(
        "answering CloudFormation",
        extra={"status": outcome.status, "reason": outcome.reason, **outcome.data},
    )
    try:
        send(target, cfn_response.body(event, outcome))
    except (OSError, ValueError) as exc:
        logger.error("could not answer CloudFormation", extra={"error": str(exc)})


def _response_target(event: Mapping[str, Any]) -> ResponseTarget | None:
    """The checked ResponseURL, or None (logged) when nothing may be sent: no answer at all then."""
    url = event.get("ResponseURL")
    try:
        return cfn_response.response_target(url, os.environ.get("AWS_REGION", ""))
    except RefusedResponseURL as exc:
        # The reason names the scheme and host at most, never the path: a real one is pre-signed.
        logger.error("refused the request without answering", extra={"reason": str(exc)})
        return None


def _check_request(event: Mapping[str, Any], context: LambdaContext) -> None:
    """Raises Refused unless this is a request from this function's own stack that it can act on.

    Anyone allowed to invoke the function can write any event, so the StackId is compared with what
    Lambda, not the event, says about the function: the partition and account of the ARN it was
    invoked by, the region it runs in (AWS_REGION), and the stack name in its log group
    (`/aws/lambda/<stack>-publisher`, template.yaml) or in the name CloudFormation generated for it
    (`<stack>-PublisherFunction-<suffix>`). CloudFormation writes StackId itself, so another stack
    that points its custom resource at this function is refused, and its Delete cannot empty our bucket.
    A caller who invokes the function directly with our StackId copied in is not stopped here; it
    still cannot send the answer anywhere but CloudFormation's response bucket (`_response_target`),
    and the role can touch only this stack's bucket and distribution.
    """
    request_type = event.get("RequestType")
    if request_type not in REQUEST_TYPES:
        raise Refused(f"unknown RequestType {request_type!r}")
    for name in ("RequestId", "LogicalResourceId"):
        if not isinstance(event.get(name), str) or not event.get(name):
            raise Refused(f"the request has no {name}")
    _check_stack(event.get("StackId"), context)
    properties = event.get("ResourceProperties")
    if not isinstance(properties, Mapping):
        raise Refused("the request has no ResourceProperties")
    if request_type != "Delete":  # a Delete after a failed Create may lack them (see _delete)
        for name in PUBLISH_PROPERTIES:
            _required(properties, name)


def _check_stack(stack_id: object, context: LambdaContext) -> None:
    stack = _STACK_ID.fullmatch(stack_id) if isinstance(stack_id, str) else None
    if stack is None:
        raise Refused(f"StackId {stack_id!r} is not a CloudFormation stack ARN")
    # The template gives the function its own stack's id: then only an exact match will do. (The checks
    # below remain for a function deployed without it.)
    expected = os.environ.get("STACK_ID")
    if expected:
        if stack_id != expected:
            raise Refused(f"refused a request from stack {stack['stack']!r}: not this function's stack")
        return
    own = _FUNCTION_ARN.match(str(getattr(context, "invoked_function_arn", "")))
    ours = (own["partition"], own["account"], os.environ.get("AWS_REGION", "")) if own else None
    if (stack["partition"], stack["account"], stack["region"]) != ours:
        raise Refused(f"refused a request from stack {stack['stack']!r}: another account or region")
    if not _is_own_stack(stack["stack"], context):
        raise Refused(f"refused a request from stack {stack['stack']!r}: not this function's stack")


def _is_own_stack(name: str, context: LambdaContext) -> bool:
    """Whether `name` is the stack this function belongs to, by its log group or its generated name.

    CloudFormation cuts the stack name and the logical id short in a generated name that would be too
    long (`realtime-vend-produ-PublisherFunct-1A2B3C4D5E6F`); only then is a prefix match accepted.
    """
    log_group = _LOG_GROUP.fullmatch(str(getattr(context, "log_group_name", "")))
    if log_group is not None:
        return name == log_group["stack"]
    generated = _FUNCTION_NAME.fullmatch(str(getattr(context, "function_name", "")))
    if generated is None or not LOGICAL_ID.startswith(generated["logical"]):
        return False
    if generated["logical"] == LOGICAL_ID:
        return name == generated["stack"]
    return name.startswith(generated["stack"])


def _outcome(
    event: Mapping[str, Any], clients: Clients, site_root: Path, stop: Callable[[], bool]
) -> Outcome:
    """Does the request's work and says how it went; every exception becomes FAILED with a reason."""
    properties = event.get("ResourceProperties") or {}
    request_type = event.get("RequestType")
    try:
        if request_type == "Delete":
            return _delete(event, properties, clients, stop)
        return _publish(event, properties, clients, site_root, stop)  # Create or Update (checked)
    except bucket.Stopped:
        return Outcome("FAILED", _physical_id(event, None), "stopped: the deadline was reached")
    except (bucket.PublishError, site.SiteError, MissingProperty) as exc:
        return Outcome("FAILED", _physical_id(event, None), str(exc))
    except Exception as exc:  # anything else still gets an answer, never a hanging stack
        logger.exception("unexpected error")
        return Outcome("FAILED", _physical_id(event, None), f"unexpected error: {type(exc).__name__}: {exc}")


def _publish(
    event: Mapping[str, Any],
    properties: Mapping[str, Any],
    clients: Clients,
    site_root: Path,
    stop: Callable[[], bool],
) -> Outcome:
    bucket_name = _required(properties, "BucketName")
    distribution_id = _required(properties, "DistributionId")
    call_mode = properties.get(CALL_MODE_PROPERTY, site.DEFAULT_CALL_MODE)
    if not isinstance(call_mode, str):
        raise site.SiteError(f"{CALL_MODE_PROPERTY} must be a string, got {call_mode!r}")
    auth = site.PageAuth.from_properties(properties.get(AUTH_PROPERTY))
    voice_api = properties.get(VOICE_API_PROPERTY, site.DEFAULT_VOICE_API)
    if not isinstance(voice_api, str):
        raise site.SiteError(f"{VOICE_API_PROPERTY} must be a string, got {voice_api!r}")
    typed_text = properties.get(TYPED_TEXT_PROPERTY, "true")
    if typed_text not in {"true", "false"}:
        raise site.SiteError(f"{TYPED_TEXT_PROPERTY} must be 'true' or 'false', got {typed_text!r}")
    objects = site.site_objects(
        site_root,
        _required(properties, "RealtimeOrigin"),
        call_mode,
        auth,
        voice_api=voice_api,
        typed_text=typed_text == "true",
    )
    written = bucket.upload(clients.s3, bucket_name, objects, stop)
    removed = bucket.delete_stale(clients.s3, bucket_name, {o.key for o in objects}, stop)
    invalidation = distribution.invalidate(
        clients.cloudfront, distribution_id, str(event.get("RequestId") or uuid.uuid4())
    )
    logger.info("published", extra={"bucket": bucket_name, "written": written, "removed": removed})
    return Outcome(
        "SUCCESS",
        _physical_id(event, bucket_name),
        data={"ObjectCount": str(written), "RemovedCount": str(len(removed)), "InvalidationId": invalidation},
    )


def _delete(
    event: Mapping[str, Any], properties: Mapping[str, Any], clients: Clients, stop: Callable[[], bool]
) -> Outcome:
    physical_id = _physical_id(event, None)
    bucket_name = properties.get("BucketName")
    if not isinstance(bucket_name, str) or not bucket_name:
        # A Create that failed before it knew its bucket: there is nothing to clean up.
        return Outcome("SUCCESS", physical_id)
    deleted = bucket.empty(clients.s3, bucket_name, stop)
    logger.info("emptied", extra={"bucket": bucket_name, "deleted": deleted})
    return Outcome("SUCCESS", physical_id, data={"DeletedCount": str(deleted)})


def _required(properties: Mapping[str, Any], name: str) -> str:
    value = properties.get(name)
    if not isinstance(value, str) or not value:
        raise MissingProperty(f"the custom resource needs a non-empty {name} property")
    return value


def _physical_id(event: Mapping[str, Any], bucket_name: str | None) -> str:
    """One id per bucket: the same on every update, so CloudFormation never sees a replacement (and
    sends a Delete, which empties the bucket) unless the bucket itself was replaced."""
    if bucket_name:
        return f"s3://{bucket_name}"
    existing = event.get("PhysicalResourceId")
    if isinstance(existing, str) and existing:
        return existing
    # A Create that failed: any non-empty id will do; the Delete of the rollback reads its bucket from
    # ResourceProperties, not from this id.
    return f"site-publication-{event.get('RequestId') or uuid.uuid4()}"
