"""The custom resource's entry point: publish on Create/Update, empty the bucket on Delete.

The one rule: CloudFormation always gets an answer, SUCCESS or FAILED with a reason, before this
function's own timeout. The work runs in a worker thread; the handler waits for it only until
`SAFETY_MARGIN_SECONDS` before the deadline, then answers FAILED itself and tells the worker to stop.
An unanswered custom resource would hold the stack in *_IN_PROGRESS for an hour.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from publisher import bucket, cfn_response, distribution, site
from publisher.cfn_response import Outcome

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

SAFETY_MARGIN_SECONDS = 10.0  # time kept back to send FAILED (two PUT attempts of 4 s each + pause)
# In the package `sam build` makes, web/ sits beside the code as site/ (publisher/Makefile).
SITE_ROOT = Path(__file__).resolve().parent.parent / "site"

logger = logging.getLogger("publisher")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


class MissingProperty(ValueError):
    """The custom resource was declared without a property the publisher needs."""


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Clients:
    s3: S3Client
    cloudfront: CloudFrontClient


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    try:
        import boto3  # noqa: PLC0415 - the runtime's; imported here so the package imports without it

        clients = Clients(s3=boto3.client("s3"), cloudfront=boto3.client("cloudfront"))
    except Exception as exc:  # still answer: silence would hold the stack in progress for an hour
        logger.exception("could not create the AWS clients")
        answer(
            event, Outcome("FAILED", _physical_id(event, None), f"could not create the AWS clients: {exc}")
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
    send: Callable[[str, bytes], None] = cfn_response.send,
) -> Outcome | None:
    """Runs the request and answers CloudFormation once; returns what was answered (None: no URL)."""
    response_url = event.get("ResponseURL")
    if not isinstance(response_url, str) or not response_url:
        # Nobody to answer: not a CloudFormation request. Never log the URL itself (it is pre-signed).
        logger.error("event has no ResponseURL; nothing to answer", extra={"keys": sorted(event)})
        return None
    request_type = event.get("RequestType")
    logger.info(
        "custom resource request",
        extra={"request_type": request_type, "logical_id": event.get("LogicalResourceId")},
    )

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
    answer(event, outcome, send)
    return outcome


def answer(
    event: Mapping[str, Any], outcome: Outcome, send: Callable[[str, bytes], None] = cfn_response.send
) -> None:
    """Sends the outcome to the request's ResponseURL; a delivery failure can only be logged."""
    log = logger.info if outcome.status == "SUCCESS" else logger.error
    log(
        "answering CloudFormation",
        extra={"status": outcome.status, "reason": outcome.reason, **outcome.data},
    )
    try:
        send(str(event.get("ResponseURL", "")), cfn_response.body(event, outcome))
    except (OSError, ValueError) as exc:
        logger.error("could not answer CloudFormation", extra={"error": str(exc)})


def _outcome(
    event: Mapping[str, Any], clients: Clients, site_root: Path, stop: Callable[[], bool]
) -> Outcome:
    """Does the request's work and says how it went; every exception becomes FAILED with a reason."""
    properties = event.get("ResourceProperties") or {}
    request_type = event.get("RequestType")
    try:
        if request_type == "Delete":
            return _delete(event, properties, clients, stop)
        if request_type in {"Create", "Update"}:
            return _publish(event, properties, clients, site_root, stop)
        return Outcome("FAILED", _physical_id(event, None), f"unknown RequestType {request_type!r}")
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
    objects = site.site_objects(site_root, _required(properties, "RealtimeOrigin"))
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
