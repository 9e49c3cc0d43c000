"""The page publisher through a stack's life — create, update, delete — and every way it can fail.

Given moto's S3 and CloudFront and a local stand-in for the pre-signed ResponseURL, each test drives
the custom resource as CloudFormation would and asserts what CloudFormation receives (the JSON PUT)
and what a visitor would get (objects, their headers, invalidations).

The events carry a ResponseURL on CloudFormation's real response host; only the TLS connection is
pointed at the local stand-in (cfn_response.connect), so the publisher's URL checks run as deployed.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from publisher import cfn_response, handler
from publisher.handler import Clients, handle
from publisher.site import cache_control, content_type, publishable
from tests.deploy.conftest import STACK_ID, ResponseEndpoint, cfn_event
from tests.deploy.conftest import FakeContext as _RemainingTime

OPENAI = "https://api.openai.com"
REQUEST_ID = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
REGION = "us-east-1"
RESPONSE_HOST = "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"
SIGNATURE = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
# The shape CloudFormation signs: the object key is "<StackId>|<LogicalResourceId>|<RequestId>".
RESPONSE_PATH = (
    "/arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/realtime-vend/"
    f"0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b%7CSitePublication%7C{REQUEST_ID}"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20250101T000000Z&X-Amz-SignedHeaders=host"
    f"&X-Amz-Expires=7200&X-Amz-Credential=AKIAEXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"
    f"&X-Amz-Signature={SIGNATURE}"
)
RESPONSE_URL = f"https://{RESPONSE_HOST}{RESPONSE_PATH}"


class FakeContext(_RemainingTime):
    """What Lambda tells the deployed publisher about itself (SAM names it, the template its log group)."""

    def __init__(
        self,
        remaining_ms: int = 120_000,
        *,
        function_name: str = "realtime-vend-PublisherFunction-AbCdEf123456",
        log_group_name: str = "/aws/lambda/realtime-vend-publisher",
        account: str = "123456789012",
    ) -> None:
        super().__init__(remaining_ms)
        self.function_name = function_name
        self.log_group_name = log_group_name
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{account}:function:{function_name}:live"


@pytest.fixture(autouse=True)
def lambda_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)  # Lambda sets it; the response host is checked against it


@dataclass
class Wire:
    """Where the publisher's connections go: the hosts it opened, each routed to 127.0.0.1:`port`."""

    port: int = 0
    stand_in_port: int = 0  # the conftest stand-in that records answers
    hosts: list[str] = field(default_factory=list)


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    wire = Wire()

    def connect(host: str, timeout: float) -> http.client.HTTPConnection:
        wire.hosts.append(host)
        return http.client.HTTPConnection("127.0.0.1", wire.port, timeout=timeout)

    monkeypatch.setattr(cfn_response, "connect", connect)
    return wire


@pytest.fixture
def response_endpoint(response_endpoint: ResponseEndpoint, wire: Wire) -> ResponseEndpoint:
    """The conftest stand-in, reached through CloudFormation's response host and URL."""
    wire.port = wire.stand_in_port = urlsplit(response_endpoint.url).port or 0
    response_endpoint.url = RESPONSE_URL
    return response_endpoint


def props(
    bucket: str, distribution_id: str, origin: str = OPENAI, call_mode: str | None = "client_secret"
) -> dict[str, str]:
    """SitePublication's properties as template.yaml writes them (call_mode None: as a stack from
    before CallMode existed wrote them)."""
    properties = {
        "BucketName": bucket,
        "DistributionId": distribution_id,
        "RealtimeOrigin": origin,
        "SiteVersion": "arn:aws:lambda:us-east-1:123456789012:function:publisher:1",
    }
    if call_mode is not None:
        properties["CallMode"] = call_mode
    return properties


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


def delete(
    endpoint: ResponseEndpoint, clients: Clients, site: Path, properties: dict[str, str], physical_id: str
) -> dict[str, Any]:
    """CloudFormation's Delete of the publication `physical_id`; returns the answer it got."""
    event = cfn_event("Delete", endpoint.url, properties, physical_id=physical_id)
    handle(event, FakeContext(), clients=clients, site_root=site)
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
        "callMode": "client_secret",
        "callUrl": "/api/call",
        "auth": None,  # anonymous visitors: template.yaml sends no Auth
        "voiceApi": "realtime",  # a stack without VoiceApi (from before GPT-Live) served Realtime
        "typedText": True,
    }


@pytest.mark.parametrize("mode", ["relay", "both"])
def test_the_config_tells_the_page_the_stacks_call_mode(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    mode: str,
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id, call_mode=mode))

    config = json.loads(objects(clients, bucket)["config.json"]["Body"])
    assert (config["callMode"], config["callUrl"]) == (mode, "/api/call")
    assert response_endpoint.only_answer()["Status"] == "SUCCESS"


def test_a_switch_to_relay_republishes_the_config_with_the_new_mode(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))

    handle(
        cfn_event(
            "Update",
            response_endpoint.url,
            props(bucket, distribution_id, call_mode="relay"),
            physical_id=f"s3://{bucket}",
            old_properties=props(bucket, distribution_id),
            request_id="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        ),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    assert json.loads(objects(clients, bucket)["config.json"]["Body"])["callMode"] == "relay"
    assert len(invalidations(clients, distribution_id)) == 2  # visitors get the new mode, not a cached one


def test_properties_from_before_call_mode_still_publish_and_serve_client_secrets(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    # A rollback to a template that predates CallMode sends its old properties to this code: failing
    # there would leave the stack in UPDATE_ROLLBACK_FAILED.
    handle(
        cfn_event(
            "Update",
            response_endpoint.url,
            props(bucket, distribution_id, call_mode=None),
            physical_id=f"s3://{bucket}",
            old_properties=props(bucket, distribution_id, call_mode="relay"),
        ),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    assert response_endpoint.only_answer()["Status"] == "SUCCESS"
    assert json.loads(objects(clients, bucket)["config.json"]["Body"])["callMode"] == "client_secret"


@pytest.mark.parametrize("mode", ["", "Relay", "client-secret", "none"])
def test_an_unknown_call_mode_fails_and_publishes_nothing(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    mode: str,
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id, call_mode=mode))

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == f"CallMode must be one of client_secret, relay, both, got {mode!r}"
    assert objects(clients, bucket) == {}


@pytest.mark.parametrize(
    ("voice_api", "typed_text", "expected"),
    [
        ("realtime", "true", {"voiceApi": "realtime", "typedText": True}),
        ("realtime", "false", {"voiceApi": "realtime", "typedText": True}),  # Realtime always has it
        ("live", "true", {"voiceApi": "live", "typedText": True}),
        ("live", "false", {"voiceApi": "live", "typedText": False}),
    ],
)
def test_the_config_tells_the_page_its_voice_api_and_whether_it_may_type(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    voice_api: str,
    typed_text: str,
    expected: dict[str, Any],
) -> None:
    properties = {**props(bucket, distribution_id, call_mode="relay"), "VoiceApi": voice_api}
    properties["TypedText"] = typed_text

    create(response_endpoint, clients, site, properties)

    config = json.loads(objects(clients, bucket)["config.json"]["Body"])
    assert {key: config[key] for key in ("voiceApi", "typedText")} == expected
    assert (config["callMode"], config["callUrl"]) == ("relay", "/api/call")
    assert response_endpoint.only_answer()["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"VoiceApi": "Live"}, "VoiceApi must be one of realtime, live, got 'Live'"),
        ({"VoiceApi": "live", "CallMode": "both"}, "VoiceApi live needs CallMode relay, got 'both'"),
        (
            {"VoiceApi": "live", "CallMode": "client_secret"},
            "VoiceApi live needs CallMode relay, got 'client_secret'",
        ),
        ({"TypedText": "yes"}, "TypedText must be 'true' or 'false', got 'yes'"),
    ],
)
def test_a_voice_api_the_page_cannot_serve_fails_and_publishes_nothing(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    extra: dict[str, str],
    reason: str,
) -> None:
    create(response_endpoint, clients, site, {**props(bucket, distribution_id, call_mode="relay"), **extra})

    answer = response_endpoint.only_answer()
    assert (answer["Status"], answer["Reason"]) == ("FAILED", reason)
    assert objects(clients, bucket) == {}


POOL_AUTH = {
    "Issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI",
    "ClientId": "4example5client6id7abcdefgh",
    "Audience": "4example5client6id7abcdefgh",
    "Scope": "realtime-vend/call",
}


def test_a_signed_in_stack_tells_the_page_how_to_sign_in(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, {**props(bucket, distribution_id), "Auth": POOL_AUTH})

    config = json.loads(objects(clients, bucket)["config.json"]["Body"])
    assert response_endpoint.only_answer()["Status"] == "SUCCESS"
    assert config["auth"] == {
        "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI",
        "clientId": "4example5client6id7abcdefgh",
        "audience": "4example5client6id7abcdefgh",
        "scope": "realtime-vend/call",
        "requestScope": "realtime-vend/call",
    }
    assert config["sessionUrl"] == "/api/session"  # the rest of the contract is unchanged


def test_turning_sign_in_off_republishes_a_config_without_auth(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    signed_in = {**props(bucket, distribution_id), "Auth": POOL_AUTH}
    create(response_endpoint, clients, site, signed_in)

    handle(
        cfn_event(
            "Update",
            response_endpoint.url,
            props(bucket, distribution_id),
            physical_id=f"s3://{bucket}",
            old_properties=signed_in,
            request_id="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        ),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    assert json.loads(objects(clients, bucket)["config.json"]["Body"])["auth"] is None
    assert len(invalidations(clients, distribution_id)) == 2


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        ("https://issuer.example", "Auth must be an object, got 'https://issuer.example'"),
        ({**POOL_AUTH, "Scope": None}, "Auth needs the strings Issuer, ClientId, Audience and Scope"),
        ({**POOL_AUTH, "Issuer": "http://issuer.example"}, "the auth issuer must be an https URL"),
        ({**POOL_AUTH, "Issuer": "https://issuer.example/?x=1"}, "the auth issuer must be an https URL"),
        ({**POOL_AUTH, "ClientId": ""}, "the auth client id must be one non-empty word"),
        ({**POOL_AUTH, "Scope": "openid realtime-vend/call"}, "the auth scope must be one non-empty word"),
        (
            {**POOL_AUTH, "RequestScope": "api://x/Call openid"},
            "the auth request scope must be one non-empty word",
        ),
        ({**POOL_AUTH, "RequestScope": 7}, "Auth's RequestScope must be a string"),
    ],
)
def test_an_auth_the_page_could_not_sign_in_with_fails_and_publishes_nothing(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    auth: object,
    reason: str,
) -> None:
    create(response_endpoint, clients, site, {**props(bucket, distribution_id), "Auth": auth})

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(reason)
    assert objects(clients, bucket) == {}


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
    assert answer.path == RESPONSE_PATH


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

    delete(response_endpoint, clients, site, props(bucket, distribution_id), f"s3://{bucket}")

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

    delete(response_endpoint, clients, site, props(bucket, distribution_id), f"s3://{bucket}")

    versions = clients.s3.list_object_versions(Bucket=bucket)
    assert response_endpoint.answers[-1].document["Status"] == "SUCCESS"
    assert versions.get("Versions", []) == []
    assert versions.get("DeleteMarkers", []) == []
    clients.s3.delete_bucket(Bucket=bucket)


def test_delete_succeeds_when_the_bucket_is_already_gone(
    response_endpoint: ResponseEndpoint, clients: Clients, distribution_id: str, site: Path
) -> None:
    delete(response_endpoint, clients, site, props("deleted-by-hand", distribution_id), "s3://x")

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "s3://x"


def test_delete_after_a_create_that_failed_before_it_had_properties_succeeds(
    response_endpoint: ResponseEndpoint, clients: Clients, site: Path
) -> None:
    delete(response_endpoint, clients, site, {}, "site-publication-1")

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

    delete(response_endpoint, denied, site, props(bucket, distribution_id), f"s3://{bucket}")

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


@pytest.mark.parametrize("missing", ["BucketName", "DistributionId", "RealtimeOrigin", "SiteVersion"])
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
    for secret in (SIGNATURE, "X-Amz-Credential", "SitePublication%7C"):
        assert secret not in caplog.text
        assert all(secret not in repr(r.__dict__) for r in caplog.records)


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


# --- who is answered: only CloudFormation's response bucket, over https ------------------------------


def _published_nothing(clients: Clients, bucket: str, distribution_id: str) -> bool:
    return objects(clients, bucket) == {} and invalidations(clients, distribution_id) == []


def test_an_http_response_url_is_refused_nothing_is_sent_and_nothing_published(
    response_endpoint: ResponseEndpoint,
    wire: Wire,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = cfn_event("Create", f"http://{RESPONSE_HOST}{RESPONSE_PATH}", props(bucket, distribution_id))

    outcome = handle(event, FakeContext(), clients=clients, site_root=site)

    assert outcome is None
    assert wire.hosts == []
    assert response_endpoint.answers == []
    assert _published_nothing(clients, bucket, distribution_id)
    [refusal] = [r for r in caplog.records if r.getMessage() == "refused the request without answering"]
    assert refusal.__dict__["reason"] == "the ResponseURL's scheme is 'http', not https"
    assert SIGNATURE not in repr(refusal.__dict__)


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/collect",
        f"https://{RESPONSE_HOST}.attacker.example{RESPONSE_PATH}",
        f"https://attacker.example@{RESPONSE_HOST}{RESPONSE_PATH}",
        f"https://{RESPONSE_HOST}:8443{RESPONSE_PATH}",
        f"https://{RESPONSE_HOST}\t.attacker.example{RESPONSE_PATH}",
        # another region's response bucket: this function's stack is in us-east-1
        f"https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com{RESPONSE_PATH}",
        # path style names the right bucket on a host CloudFormation does not use
        f"https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1{RESPONSE_PATH}",
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        f"ftp://{RESPONSE_HOST}{RESPONSE_PATH}",
    ],
)
def test_a_response_url_on_any_other_host_is_refused_without_a_word(
    response_endpoint: ResponseEndpoint,
    wire: Wire,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    url: str,
) -> None:
    for request_type in ("Create", "Delete"):
        event = cfn_event(request_type, url, props(bucket, distribution_id), physical_id=f"s3://{bucket}")

        assert handle(event, FakeContext(), clients=clients, site_root=site) is None

    assert wire.hosts == []
    assert response_endpoint.answers == []
    assert _published_nothing(clients, bucket, distribution_id)


def test_lambda_handler_refuses_a_foreign_response_url_before_it_does_anything(
    response_endpoint: ResponseEndpoint, wire: Wire, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    monkeypatch.setattr(boto3, "client", lambda name, **_: created.append(name))

    handler.lambda_handler(cfn_event("Create", "https://attacker.example/collect", {}), FakeContext())

    assert created == []
    assert wire.hosts == []
    assert response_endpoint.answers == []


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"),
        ("us-east-1", "cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com"),
        ("eu-west-1", "cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com"),
        ("eu-west-1", "cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com"),
        (
            "us-gov-west-1",
            "cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com",
        ),
        ("cn-north-1", "cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_cloudformations_response_hosts_are_accepted_in_their_own_region(region: str, host: str) -> None:
    target = cfn_response.response_target(f"https://{host}{RESPONSE_PATH}", region)

    assert target.host == host
    assert target.path == RESPONSE_PATH
    assert SIGNATURE not in repr(target)
    with pytest.raises(cfn_response.RefusedResponseURL):
        cfn_response.response_target(f"https://{host}{RESPONSE_PATH}", "ap-southeast-2")


def test_a_redirect_from_the_response_url_is_not_followed(
    response_endpoint: ResponseEndpoint,
    wire: Wire,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redirected: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        # Points at the stand-in that records answers: following it would deliver the answer there.
        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            redirected.append(self.path)
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{wire.stand_in_port}/followed")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    wire.port = server.server_address[1]
    monkeypatch.setattr(cfn_response, "RETRY_PAUSE_SECONDS", 0.0)
    try:
        create_event = cfn_event("Create", response_endpoint.url, props(bucket, distribution_id))
        handle(create_event, FakeContext(), clients=clients, site_root=site)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    assert redirected == [RESPONSE_PATH, RESPONSE_PATH]  # tried twice, as any failed delivery is
    assert wire.hosts == [RESPONSE_HOST, RESPONSE_HOST]
    assert response_endpoint.answers == []


# --- whose requests: only this function's own stack -------------------------------------------------

GUID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def _from_stack(event: dict[str, Any], stack_id: str | None) -> dict[str, Any]:
    if stack_id is None:
        del event["StackId"]
    else:
        event["StackId"] = stack_id
    return event


@pytest.mark.parametrize(
    ("stack_id", "reason"),
    [
        (
            f"arn:aws:cloudformation:us-east-1:123456789012:stack/someone-else/{GUID}",
            "not this function's stack",
        ),
        (
            f"arn:aws:cloudformation:us-east-1:123456789012:stack/realtime-vend-2/{GUID}",
            "not this function's stack",
        ),
        (
            f"arn:aws:cloudformation:us-east-1:210987654321:stack/realtime-vend/{GUID}",
            "another account or region",
        ),
        (
            f"arn:aws:cloudformation:eu-west-1:123456789012:stack/realtime-vend/{GUID}",
            "another account or region",
        ),
        (f"arn:aws-cn:cloudformation:us-east-1:123456789012:stack/realtime-vend/{GUID}", "another account"),
        ("realtime-vend", "is not a CloudFormation stack ARN"),
        (None, "is not a CloudFormation stack ARN"),
    ],
)
def test_a_request_from_another_stack_is_answered_failed_and_publishes_nothing(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    stack_id: str | None,
    reason: str,
) -> None:
    event = _from_stack(cfn_event("Create", response_endpoint.url, props(bucket, distribution_id)), stack_id)

    handle(event, FakeContext(), clients=clients, site_root=site)

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert reason in answer["Reason"]
    assert _published_nothing(clients, bucket, distribution_id)


def test_a_delete_from_another_stack_leaves_the_page_in_place(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create(response_endpoint, clients, site, props(bucket, distribution_id))
    foreign = f"arn:aws:cloudformation:us-east-1:123456789012:stack/someone-else/{GUID}"

    handle(
        _from_stack(
            cfn_event("Delete", response_endpoint.url, props(bucket, distribution_id), physical_id="s3://x"),
            foreign,
        ),
        FakeContext(),
        clients=clients,
        site_root=site,
    )

    answer = response_endpoint.answers[-1].document
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == "refused a request from stack 'someone-else': not this function's stack"
    assert answer["StackId"] == foreign
    assert "index.html" in objects(clients, bucket)


@pytest.mark.parametrize(
    ("function_name", "log_group", "stack", "accepted"),
    [
        # Lambda reports the template's log group: the stack name, exactly
        (
            "realtime-vend-PublisherFunction-AbCdEf123456",
            "/aws/lambda/realtime-vend-publisher",
            "realtime-vend",
            True,
        ),
        (
            "realtime-vend-PublisherFunction-AbCdEf123456",
            "/aws/lambda/realtime-vend-publisher",
            "realtime",
            False,
        ),
        # otherwise the name CloudFormation generated for the function
        ("realtime-vend-PublisherFunction-AbCdEf123456", "/aws/lambda/x", "realtime-vend", True),
        ("realtime-vend-PublisherFunction-AbCdEf123456", "/aws/lambda/x", "realtime-vend-x", False),
        # ... which CloudFormation shortens for a long stack name: then a prefix is all there is
        (
            "realtime-vend-produ-PublisherFunct-1A2B3C4D5E6F",
            "/aws/lambda/x",
            "realtime-vend-production",
            True,
        ),
        ("realtime-vend-produ-PublisherFunct-1A2B3C4D5E6F", "/aws/lambda/x", "realtime-vend-staging", False),
        # a function that cannot tell its stack refuses everything
        ("renamed-by-hand", "/aws/lambda/renamed-by-hand", "renamed-by-hand", False),
    ],
)
def test_the_function_knows_its_stack_from_what_lambda_tells_it(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    function_name: str,
    log_group: str,
    stack: str,
    accepted: bool,
) -> None:
    stack_id = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack}/{GUID}"
    event = _from_stack(cfn_event("Create", response_endpoint.url, props(bucket, distribution_id)), stack_id)
    context = FakeContext(function_name=function_name, log_group_name=log_group)

    handle(event, context, clients=clients, site_root=site)

    assert response_endpoint.only_answer()["Status"] == ("SUCCESS" if accepted else "FAILED")
    assert ("index.html" in objects(clients, bucket)) is accepted


def test_a_function_invoked_in_another_account_refuses_our_stack(
    response_endpoint: ResponseEndpoint, clients: Clients, bucket: str, distribution_id: str, site: Path
) -> None:
    create_event = cfn_event("Create", response_endpoint.url, props(bucket, distribution_id))

    handle(create_event, FakeContext(account="210987654321"), clients=clients, site_root=site)

    assert response_endpoint.only_answer()["Reason"].endswith("another account or region")
    assert _published_nothing(clients, bucket, distribution_id)


# --- what is published: page asset types only -------------------------------------------------------


def test_only_page_asset_types_are_published_and_every_other_file_is_logged(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    strays = ["js/main.js.map", "deploy-key.pem", "LICENSE", "notes.md", "index.html~", "backup.tar.gz"]
    for name in [*strays, "images/logo.png", "site.webmanifest", ".env", ".aws/credentials"]:
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(b"not for the public")
    (site.parent / "outside.js").write_text("// a file elsewhere on the build machine")
    (site / "js/linked.js").symlink_to(site.parent / "outside.js")
    caplog.set_level("INFO", logger="publisher")

    create(response_endpoint, clients, site, props(bucket, distribution_id))

    published = objects(clients, bucket)
    assert response_endpoint.only_answer()["Status"] == "SUCCESS"
    assert sorted(published) == [
        "config.json",
        "icon.svg",
        "images/logo.png",
        "index.html",
        "js/config.js",
        "js/main.js",
        "site.webmanifest",
        "styles.css",
    ]
    assert published["images/logo.png"]["ContentType"] == "image/png"
    assert published["site.webmanifest"]["ContentType"] == "application/manifest+json"
    skipped = sorted(r.__dict__["key"] for r in caplog.records if r.getMessage().startswith("skipped"))
    assert skipped == sorted([*strays, "js/linked.js"])


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("index.html", True),
        ("INDEX.HTML", True),
        ("js/app.mjs", True),
        ("fonts/inter.woff2", True),
        ("robots.txt", True),
        ("js/main.js.map", False),
        ("server.key", False),
        ("id_rsa", False),
        ("config.yaml", False),
        ("page.html.bak", False),
    ],
)
def test_the_allow_list_names_page_assets_only(key: str, allowed: bool) -> None:
    assert publishable(key) is allowed


def test_with_its_stack_id_the_publisher_accepts_that_stack_and_no_other(
    response_endpoint: ResponseEndpoint,
    clients: Clients,
    bucket: str,
    distribution_id: str,
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The template tells the function its own stack id; a stack of the same name, account and region
    # (deleted and created again, or named in a forged event) differs in its id and is refused.
    from template_contract.reader import function_environment

    assert function_environment("PublisherFunction")["STACK_ID"] == {"Ref": "AWS::StackId"}
    monkeypatch.setenv("STACK_ID", STACK_ID)
    same_name = STACK_ID.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    event = _from_stack(cfn_event("Create", response_endpoint.url, props(bucket, distribution_id)), same_name)

    handle(event, FakeContext(), clients=clients, site_root=site)

    answer = response_endpoint.only_answer()
    assert answer["Status"] == "FAILED"
    assert "not this function's stack" in answer["Reason"]
    assert _published_nothing(clients, bucket, distribution_id)
