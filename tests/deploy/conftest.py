"""Fixtures for the deployment suite: moto S3 + CloudFront, a site folder, and a stand-in for the
pre-signed ResponseURL that records what the publisher answers CloudFormation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from publisher.handler import Clients

REGION = "us-east-1"
BUCKET = "realtime-vend-sitebucket-1a2b3c"
STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/realtime-vend/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
)


@dataclass
class Answer:
    """One PUT the publisher sent to the ResponseURL, as CloudFormation would receive it."""

    path: str
    headers: dict[str, str]
    document: dict[str, Any]


@dataclass
class ResponseEndpoint:
    url: str
    answers: list[Answer] = field(default_factory=list)
    fail_next: int = 0  # answer this many PUTs with 500 first (a flaky network)
    received: threading.Event = field(default_factory=threading.Event)

    def only_answer(self) -> dict[str, Any]:
        assert len(self.answers) == 1, f"expected exactly one answer, got {len(self.answers)}"
        return self.answers[0].document


@pytest.fixture
def response_endpoint() -> Iterator[ResponseEndpoint]:
    endpoint = ResponseEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if endpoint.fail_next > 0:
                endpoint.fail_next -= 1
                self.send_response(500)
                self.end_headers()
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            endpoint.answers.append(Answer(self.path, headers, json.loads(body)))
            endpoint.received.set()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/cloudformation-response"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def clients(aws: None) -> Clients:
    return Clients(s3=boto3.client("s3", region_name=REGION), cloudfront=boto3.client("cloudfront"))


@pytest.fixture
def bucket(clients: Clients) -> str:
    clients.s3.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def distribution_id(clients: Clients) -> str:
    config: Any = {
        "CallerReference": "realtime-vend-test",
        "Comment": "test",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "site",
                    "DomainName": f"{BUCKET}.s3.{REGION}.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    }
    return clients.cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A web/ as `sam build` bundles it: the page, its modules, an icon, the local config.json, a dotfile."""
    root = tmp_path / "site"
    files = {
        "index.html": "<!doctype html><title>vend</title><script type=module src=js/main.js></script>",
        "styles.css": "body { margin: 0 }",
        "js/main.js": "import { loadConfig } from './config.js';",
        "js/config.js": "export async function loadConfig() {}",
        "icon.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "config.json": '{"sessionUrl": "/api/session", "realtimeCallsUrl": "http://127.0.0.1:9/v1/realtime/calls"}',
        ".DS_Store": "finder droppings",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


class FakeContext:
    def __init__(self, remaining_ms: int = 120_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def cfn_event(
    request_type: str,
    response_url: str,
    properties: dict[str, str],
    *,
    physical_id: str | None = None,
    old_properties: dict[str, str] | None = None,
    request_id: str = "5f4e3d2c-1b0a-4987-8654-3210fedcba98",
) -> dict[str, Any]:
    """A CloudFormation custom resource request, shaped as CloudFormation sends it."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-PublisherFunction",
        "ResponseURL": response_url,
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "SitePublication",
        "ResourceType": "AWS::CloudFormation::CustomResource",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-PublisherFunction",
            **properties,
        },
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    return event
