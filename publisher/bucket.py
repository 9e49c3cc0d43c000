"""S3 side of a publication: upload the site, remove what web/ no longer has, empty the bucket.

Every step checks `stop` first, so a publication the handler has given up on (deadline reached,
FAILED already sent) does no more writes if Lambda thaws its thread in a later invocation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from publisher.site import SiteObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DELETE_BATCH = 1000  # DeleteObjects' limit per request
_MISSING_BUCKET = {"NoSuchBucket"}


class Stopped(RuntimeError):
    """The handler stopped waiting for this publication; nothing more may be written."""


class PublishError(RuntimeError):
    """An S3 or CloudFront call failed; the message says which, on what, and AWS's error code."""


def _check(stop: Callable[[], bool]) -> None:
    if stop():
        raise Stopped("stopped before the deadline")


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"


def upload(s3: S3Client, bucket: str, objects: Iterable[SiteObject], stop: Callable[[], bool]) -> int:
    """Puts every object with its Content-Type and Cache-Control; returns how many were written."""
    count = 0
    for item in objects:
        _check(stop)
        try:
            s3.put_object(
                Bucket=bucket,
                Key=item.key,
                Body=item.body,
                ContentType=item.content_type,
                CacheControl=item.cache_control,
            )
        except ClientError as exc:
            raise PublishError(f"uploading {item.key} to s3://{bucket} failed: {_describe(exc)}") from exc
        count += 1
    return count


def delete_stale(s3: S3Client, bucket: str, keep: set[str], stop: Callable[[], bool]) -> list[str]:
    """Deletes every object whose key is not in `keep` (a file removed from web/); returns their keys."""
    stale: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            stale.extend(o["Key"] for o in page.get("Contents", []) if o["Key"] not in keep)
    except ClientError as exc:
        raise PublishError(f"listing s3://{bucket} failed: {_describe(exc)}") from exc
    _delete(s3, bucket, [{"Key": key} for key in stale], stop)
    return sorted(stale)


def empty(s3: S3Client, bucket: str, stop: Callable[[], bool]) -> int:
    """Deletes every object, version and delete marker, so CloudFormation can delete the bucket.

    A bucket that is already gone counts as empty: a stack deletion must not fail for it.
    """
    try:
        entries = list(_versions(s3, bucket))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING_BUCKET:
            return 0
        raise PublishError(f"listing s3://{bucket} failed: {_describe(exc)}") from exc
    _delete(s3, bucket, entries, stop)
    return len(entries)


def _versions(s3: S3Client, bucket: str) -> Iterator[Any]:
    # ListObjectVersions also lists an unversioned bucket's objects (VersionId "null").
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            yield {"Key": entry["Key"], "VersionId": entry["VersionId"]}


def _delete(s3: S3Client, bucket: str, entries: list[Any], stop: Callable[[], bool]) -> None:
    for start in range(0, len(entries), DELETE_BATCH):
        _check(stop)
        batch = entries[start : start + DELETE_BATCH]
        try:
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        except ClientError as exc:
            raise PublishError(f"deleting from s3://{bucket} failed: {_describe(exc)}") from exc
        # DeleteObjects answers 200 even when single keys fail; those come back in Errors.
        if errors := result.get("Errors"):
            first = errors[0]
            raise PublishError(
                f"deleting {first.get('Key')} from s3://{bucket} failed: "
                f"{first.get('Code')}: {first.get('Message')} ({len(errors)} objects not deleted)"
            )
