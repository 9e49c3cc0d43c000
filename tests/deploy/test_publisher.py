"""The page publisher through a stack's life — create, update, delete — and every way it can fail.

Given moto's S3 and CloudFront and a local stand-in for the pre-signed ResponseURL, each test drives
the custom resource as CloudFormation would and asserts what CloudFormation receives (the JSON PUT)
and what a visitor would get (objects, their headers, invalidations).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from publisher import cfn_response, handler
from publisher.handler import Clients, handle
from publisher.site import cache_control, content_type
from tests.deploy.conftest import STACK_ID, FakeContext, ResponseEndpoint, cfn_event

OPENAI = "https://api.openai.com"
REQUEST_ID = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"


def props(bucket: str, distribution_id: str, origin: str = OPENAI) -> dict[str, str]:
    return {
        "BucketName": bucket,
        "DistributionId": distribution_id,
        "RealtimeOrigin": origin,
        "SiteVersion": "arn:aws:lambda:us-east-1:123456789012:function:publisher:1",
    }


def objects(clients: Clients, bucket: str) -> dict[str, dict[str, Any]]:
    """Every object in the bucket with the headers S3 (and so CloudFront) will serve it with."""
    found = {}
    for item in clients.s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        head = clients.s3.get_object(Bucket=bucket, Key=item["Key"])
        found[item["Key"]] = {
            "ContentType": head["ContentType"],
            "CacheControl": head.get("CacheControl"),
            "Body": head["Body"].read(),
        }
    return found


def invalidations(clients: Clients, distribution_id: str) -> list[dict[str, Any]]:
    listed = clients.cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    return [
        clients.cloudfront.get_invalidation(DistributionId=distribution_id, Id=i["Id"])["Invalidation"]
        for i in listed.get("Items", [])
    ]


def create(
    endpoint: ResponseEndpoint, clients: Clients, site: Path, properties: dict[str, str]
) -> dict[str, Any]:
    handle(cfn_event("Create", endpoint.url, properties), FakeContext(), clients=clients, site_root=site)
    return endpoint.answers[-1].document


# --- create ---------------------------------------------------------------------------------------


def test_create_uploads_every_file_with_its_headers_and_the_stacks_config(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))

    published = objects(clients, bucket)
    assert sorted(published) == [
        "config.json",
        "icon.svg",
        "index.html",
        "js/config.js",
        "js/main.js",
        "styles.css",
    ]
    assert published["index.html"]["ContentType"] == "text/html; charset=utf-8"
    assert published["index.html"]["CacheControl"] == "no-cache"
    assert published["js/main.js"]["ContentType"] == "text/javascript; charset=utf-8"
    assert published["js/main.js"]["CacheControl"] == "public, max-age=300, must-revalidate"
    assert published["styles.css"]["ContentType"] == "text/css; charset=utf-8"
    assert published["styles.css"]["CacheControl"] == "public, max-age=300, must-revalidate"
    assert published["icon.svg"]["ContentType"] == "image/svg+xml"
    assert published["config.json"]["ContentType"] == "application/json"
    assert published["config.json"]["CacheControl"] == "no-cache"
    assert published["js/main.js"]["Body"] == (site / "js/main.js").read_bytes()


def test_create_replaces_the_local_config_json_with_one_made_from_the_stack(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))

    config = json.loads(objects(clients, bucket)["config.json"]["Body"])
    assert config == {
        "sessionUrl": "/api/session",
        "realtimeCallsUrl": "https://api.openai.com/v1/realtime/calls",
    }


def test_create_answers_success_with_the_requests_ids_copied(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))

    answer = response_endpoint.answers[0]
    [invalidation] = invalidations(clients, distribution_id)
    assert answer.document == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": f"s3://{bucket}",
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "LogicalResourceId": "SitePublication",
        "NoEcho": False,
        "Data": {"ObjectCount": "6", "RemovedCount": "0", "InvalidationId": invalidation["Id"]},
    }
    # The pre-signed URL was signed without a content type: the PUT must not add one.
    assert answer.headers.get("content-type") == ""
    assert answer.path == "/cloudformation-response"


def test_create_invalidates_the_whole_distribution_once_per_request(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))

    [invalidation] = invalidations(clients, distribution_id)
    assert invalidation["InvalidationBatch"]["Paths"]["Items"] == ["/*"]
    assert invalidation["InvalidationBatch"]["CallerReference"] == REQUEST_ID


# --- update ---------------------------------------------------------------------------------------


def test_update_publishes_added_and_changed_files_and_deletes_removed_ones(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))
    (site / "js/extra.js").write_text("export const added = true;")
    (site / "styles.css").write_text("body { margin: 1rem }")
    (site / "icon.svg").unlink()
    new = props(bucket, distribution_id, origin="https://realtime.example.com")

    handle(
        cfn_event(
            "Update",
            response_endpoint.url,
            new,
            physical_id=f"s3://{bucket}",
            old_properties=props(bucket, distribution_id),
            request_id="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        ),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    published = objects(clients, bucket)
    answer = response_endpoint.answers[-1].document
    assert sorted(published) == [
        "config.json",
        "index.html",
        "js/config.js",
        "js/extra.js",
        "js/main.js",
        "styles.css",
    ]
    assert published["styles.css"]["Body"] == b"body { margin: 1rem }"
    assert published["js/extra.js"]["ContentType"] == "text/javascript; charset=utf-8"
    assert json.loads(published["config.json"]["Body"])["realtimeCallsUrl"] == (
        "https://realtime.example.com/v1/realtime/calls"
    )
    assert answer["Status"] == "SUCCESS"
    # The same physical id: CloudFormation sees an update, not a replacement (which would send a Delete).
    assert answer["PhysicalResourceId"] == f"s3://{bucket}"
    assert answer["Data"]["RemovedCount"] == "1"
    assert len(invalidations(clients, distribution_id)) == 2


# --- delete ---------------------------------------------------------------------------------------


def test_delete_empties_the_bucket_so_cloudformation_can_delete_it(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))

    handle(
        cfn_event(
            "Delete", response_endpoint.url, props(bucket, distribution_id), physical_id=f"s3://{bucket}"
        ),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    answer = response_endpoint.answers[-1].document
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == f"s3://{bucket}"
    assert objects(clients, bucket) == {}
    clients.s3.delete_bucket(Bucket=bucket)  # what CloudFormation does next; a non-empty bucket raises


def test_delete_removes_every_version_and_delete_marker_of_a_versioned_bucket(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    clients.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    create(response_endpoint, clients, site, props(bucket, distribution_id))
    clients.s3.put_object(Bucket=bucket, Key="index.html", Body=b"second version")
    clients.s3.delete_object(Bucket=bucket, Key="styles.css")  # leaves a delete marker

    handle(
        cfn_event(
            "Delete", response_endpoint.url, props(bucket, distribution_id), physical_id=f"s3://{bucket}"
        ),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    versions = clients.s3.list_object_versions(Bucket=bucket)
    assert response_endpoint.answers[-1].document["Status"] == "SUCCESS"
    assert versions.get("Versions", []) == []
    assert versions.get("DeleteMarkers", []) == []
    clients.s3.delete_bucket(Bucket=bucket)


def test_delete_succeeds_when_the_bucket_is_already_gone(
    response_endpoint: ResponseEndpoint, clients: Clients, distribution_id: str, site: Path
) -> None:
    handle(
        cfn_event(
            "Delete", response_endpoint.url, props("deleted-by-hand", distribution_id), physical_id="s3://x"
        ),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "s3://x"


def test_delete_after_a_create_that_failed_before_it_had_properties_succeeds(
    response_endpoint: ResponseEndpoint, clients: Clients, site: Path
) -> None:
    handle(
        cfn_event("Delete", response_endpoint.url, {}, physical_id="site-publication-1"),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    assert response_endpoint.only_answer()["Status"] == "SUCCESS"


# --- failures: always FAILED with a reason, never silence -------------------------------------------


def test_an_s3_error_fails_the_create_with_the_key_and_the_aws_error(
    response_endpoint: ResponseEndpoint, clients: Clients, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props("no-such-bucket-here", distribution_id))

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("uploading icon.svg to s3://no-such-bucket-here failed: NoSuchBucket")
    assert answer["PhysicalResourceId"]  # CloudFormation rejects an empty one, even on FAILED
    assert invalidations(clients, distribution_id) == []


class _DeniedS3:
    """The real (moto) client, except that one operation answers AccessDenied."""

    def __init__(self, real: Any, operation: str) -> None:
        self._real, self._operation = real, operation

    def __getattr__(self, name: str) -> Any:
        if name == self._operation:

            def denied(**_: Any) -> Any:
                error: Any = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
                raise ClientError(error, name)

            return denied
        return getattr(self._real, name)


def test_an_s3_access_error_on_delete_fails_the_deletion_with_a_reason(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))
    denied = Clients(s3=_DeniedS3(clients.s3, "delete_objects"), cloudfront=clients.cloudfront)  # type: ignore[arg-type]

    handle(
        cfn_event(
            "Delete", response_endpoint.url, props(bucket, distribution_id), physical_id=f"s3://{bucket}"
        ),
        FakeContext(),
        clients=denied,
        site_root=site,
    )

    answer = response_endpoint.answers[-1].document
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == f"deleting from s3://{bucket} failed: AccessDenied: Access Denied"
    assert answer["PhysicalResourceId"] == f"s3://{bucket}"


def test_a_cloudfront_error_fails_the_create_with_a_reason(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, "E0000000000000"))

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "invalidating CloudFront distribution E0000000000000 failed: NoSuchDistribution"
    )


@pytest.mark.parametrize("missing", ["BucketName", "DistributionId", "RealtimeOrigin"])
def test_a_missing_property_fails_and_says_which(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    missing: str,
) -> None:
    properties = props(bucket, distribution_id)
    del properties[missing]

    create(response_endpoint, clients, site, properties)

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == f"the custom resource needs a non-empty {missing} property"
    assert objects(clients, bucket) == {}


@pytest.mark.parametrize("origin", ["http://api.openai.com", "https://api.openai.com/v1", "api.openai.com"])
def test_a_realtime_origin_that_is_not_an_https_origin_fails(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    origin: str,
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id, origin=origin))

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert "RealtimeOrigin must be an https origin" in answer["Reason"]


def test_a_bundle_without_index_html_fails_and_publishes_nothing(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    (site / "index.html").unlink()

    create(response_endpoint, clients, site, props(bucket, distribution_id))

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert "no index.html" in answer["Reason"]
    assert objects(clients, bucket) == {}


def test_an_unknown_request_type_fails(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    handle(
        cfn_event("Replace", response_endpoint.url, props(bucket, distribution_id)),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == "unknown RequestType 'Replace'"


class _StuckS3:
    """PutObject hangs (a stalled connection) until released; records every upload attempted."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.release = threading.Event()
        self.attempts: list[str] = []

    def put_object(self, **kwargs: Any) -> Any:
        self.attempts.append(kwargs["Key"])
        self.release.wait(timeout=10)
        return self._real.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_the_timeout_guard_answers_failed_before_the_deadline_and_stops_the_work(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    stuck = _StuckS3(clients.s3)
    # 1.5 s left, 1 s kept back to answer: the guard gives the work 0.5 s.
    context = FakeContext(remaining_ms=1500)
    started = time.monotonic()

    handle(
        cfn_event("Create", response_endpoint.url, props(bucket, distribution_id)),
        context,
        clients=Clients(s3=stuck, cloudfront=clients.cloudfront),  # type: ignore[arg-type]
        site_root=site,
        margin_seconds=1.0,
    )
    answered_after = time.monotonic() - started
    stuck.release.set()
    time.sleep(0.3)  # let the released worker reach its next stop check

    answer = response_endpoint.only_answer()
    assert answered_after < 1.5  # before the function would have been killed
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Create did not finish before the function's timeout")
    assert stuck.attempts == ["icon.svg"]  # no upload started after the answer
    assert invalidations(clients, distribution_id) == []


def test_the_answer_is_retried_once_when_the_response_url_fails(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    response_endpoint.fail_next = 1

    create(response_endpoint, clients, site, props(bucket, distribution_id))

    assert response_endpoint.only_answer()["Status"] == "SUCCESS"


def test_an_event_without_a_response_url_is_not_answered(clients: Clients, site: Path) -> None:
    event = cfn_event("Create", "", {})

    assert handle(event, FakeContext(), clients=clients, site_root=site) is None


def test_a_long_reason_is_shortened_to_fit_cloudformations_4096_bytes() -> None:
    outcome = cfn_response.Outcome("FAILED", "s3://bucket", "x" * 10_000)

    payload = cfn_response.body(
        {"StackId": STACK_ID, "RequestId": REQUEST_ID, "LogicalResourceId": "L"}, outcome
    )

    document = json.loads(payload)
    assert len(payload) <= 4096
    assert document["Reason"].endswith("...")
    assert document["StackId"] == STACK_ID


def test_lambda_handler_publishes_the_bundled_site_with_the_runtimes_boto3(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handler, "SITE_ROOT", site)

    handler.lambda_handler(
        cfn_event("Create", response_endpoint.url, props(bucket, distribution_id)), FakeContext()
    )

    assert response_endpoint.only_answer()["Status"] == "SUCCESS"
    assert "index.html" in objects(clients, bucket)
    assert boto3.client("s3").head_object(Bucket=bucket, Key="config.json")["CacheControl"] == "no-cache"


# --- the header tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected_type", "expected_cache"),
    [
        ("index.html", "text/html; charset=utf-8", "no-cache"),
        ("config.json", "application/json", "no-cache"),
        ("styles.css", "text/css; charset=utf-8", "public, max-age=300, must-revalidate"),
        ("js/main.js", "text/javascript; charset=utf-8", "public, max-age=300, must-revalidate"),
        ("data/voices.json", "application/json", "public, max-age=3600, must-revalidate"),
        ("icon.svg", "image/svg+xml", "public, max-age=3600, must-revalidate"),
        ("logo.png", "image/png", "public, max-age=3600, must-revalidate"),
        ("favicon.ico", "image/x-icon", "public, max-age=3600, must-revalidate"),
        ("site.webmanifest", "application/manifest+json", "public, max-age=3600, must-revalidate"),
        ("robots.txt", "text/plain; charset=utf-8", "public, max-age=3600, must-revalidate"),
        ("LICENSE", "application/octet-stream", "public, max-age=3600, must-revalidate"),
    ],
)
def test_every_file_type_gets_its_content_type_and_cache_control(
    key: str, expected_type: str, expected_cache: str
) -> None:
    assert content_type(key) == expected_type
    assert cache_control(key) == expected_cache
    assert "immutable" not in cache_control(key)  # nothing here is fingerprinted


def test_the_pre_signed_response_url_never_reaches_the_log(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="publisher")

    create(response_endpoint, clients, site, props(bucket, distribution_id))
    create(response_endpoint, clients, site, props("no-such-bucket-here", distribution_id))

    assert [r.getMessage() for r in caplog.records].count("answering CloudFormation") == 2
    assert "cloudformation-response" not in caplog.text
    assert all("cloudformation-response" not in repr(r.__dict__) for r in caplog.records)


def test_lambda_handler_answers_failed_when_it_cannot_even_create_its_clients(
    response_endpoint: ResponseEndpoint, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_region(*_: Any, **__: Any) -> Any:
        raise RuntimeError("You must specify a region.")

    monkeypatch.setattr(boto3, "client", no_region)

    handler.lambda_handler(cfn_event("Create", response_endpoint.url, {}), FakeContext())

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == "could not create the AWS clients: You must specify a region."
