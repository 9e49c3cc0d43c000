"""The handler in-process, as Lambda runs it: moto for Secrets Manager, SSM and DynamoDB, a strict
fake for OpenAI. (moto's conditional writes are not atomic under concurrency: the quota's atomicity is
proven against dynalite in tests/quota; these tests are sequential.)

Every test gets a cold start: the environment is set first, then `vend.app` is (re)imported, as a new
execution environment would.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import botocore.client
import pytest
import respx
from botocore.exceptions import ClientError
from moto import mock_aws

from template_contract.reader import load_template
from tests.conftest import REQUIRED_ENV, FakeLambdaContext, load_event
from tests.fakes.openai_upstream import BASE_URL, FakeCalls, FakeClientSecrets, mount, mount_calls

# Canary keys: scanner-shaped but obviously fake; the leak guard looks for exactly this shape.
KEY = "sk-test-canary-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
ROTATED_KEY = "sk-test-canary-BBBBBBBBBBBBBBBBBBBBBBBBBBBB"
SECRET_NAME = "realtime-vend/openai-api-key"
# The events' origin header (events/README.md): what CloudFront adds, stored as the secret's current value.
ORIGIN_VERIFY = "events-origin-verify-not-a-real-secret-0123456789abcdef"
VISITOR_KEY = "visitor-key-for-tests-0123456789abcdef0123456789abcdef0123456789"
QUOTA_TABLE = REQUIRED_ENV["QUOTA_TABLE_NAME"]
PAUSE_PARAMETER = REQUIRED_ENV["PAUSE_PARAMETER_NAME"]


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(
            ("AWS_", "POWERTOOLS_", "OPENAI_", "REALTIME_", "CLIENT_SECRET_", "TRACING_", "QUOTA_", "DAILY_")
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RealtimeVendTest")


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def edge(aws: None) -> EdgeResources:
    return create_edge_resources()


@pytest.fixture
def secret_arn(edge: EdgeResources) -> str:
    client = boto3.client("secretsmanager")
    return client.create_secret(Name=SECRET_NAME, SecretString=KEY)["ARN"]


@dataclass(frozen=True)
class EdgeResources:
    """What the stack creates beside the key: origin secret, visitor key, quota table, pause switch."""

    origin_verify_arn: str
    visitor_key_arn: str

    def environment(self) -> dict[str, str]:
        return {
            "ORIGIN_VERIFY_SECRET_ARN": self.origin_verify_arn,
            "VISITOR_KEY_SECRET_ARN": self.visitor_key_arn,
            "QUOTA_TABLE_NAME": QUOTA_TABLE,
            "PAUSE_PARAMETER_NAME": PAUSE_PARAMETER,
        }


def create_edge_resources() -> EdgeResources:
    secrets = boto3.client("secretsmanager")
    origin = secrets.create_secret(
        Name=REQUIRED_ENV["ORIGIN_VERIFY_SECRET_ARN"],
        SecretString=json.dumps({"current": ORIGIN_VERIFY, "previous": ""}),
    )["ARN"]
    visitor_key = secrets.create_secret(
        Name=REQUIRED_ENV["VISITOR_KEY_SECRET_ARN"], SecretString=VISITOR_KEY
    )["ARN"]
    create_quota_table(boto3.client("dynamodb"))
    boto3.client("ssm").put_parameter(Name=PAUSE_PARAMETER, Value="false", Type="String")
    boto3.client("scheduler").create_schedule_group(Name=REQUIRED_ENV["SCHEDULE_GROUP_NAME"])
    return EdgeResources(origin, visitor_key)


def create_quota_table(client: Any) -> None:
    """The table as template.yaml's QuotaTable declares it."""
    properties = load_template()["Resources"]["QuotaTable"]["Properties"]
    client.create_table(
        TableName=QUOTA_TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
    )


def set_paused(value: str) -> None:
    boto3.client("ssm").put_parameter(Name=PAUSE_PARAMETER, Value=value, Type="String", Overwrite=True)


@pytest.fixture
def openai_fakes() -> Iterator[tuple[FakeClientSecrets, FakeCalls]]:
    fake, calls = FakeClientSecrets(valid_keys={KEY}), FakeCalls(valid_keys={KEY})
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        mount(router, fake)
        mount_calls(router, calls)
        yield fake, calls


@pytest.fixture
def upstream(openai_fakes: tuple[FakeClientSecrets, FakeCalls]) -> FakeClientSecrets:
    return openai_fakes[0]


@pytest.fixture
def calls(openai_fakes: tuple[FakeClientSecrets, FakeCalls]) -> FakeCalls:
    return openai_fakes[1]


@dataclass
class SecretsManagerSpy:
    """Counts GetSecretValue calls for the API key's secret and can make the next ones fail as AWS would.

    (The origin and visitor-key secrets are read too; they have tests of their own.)"""

    calls: int = 0
    fail_with: list[str] = field(default_factory=list)


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> SecretsManagerSpy:
    spy = SecretsManagerSpy()
    original = botocore.client.BaseClient._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if operation_name == "GetSecretValue" and SECRET_NAME in str(api_params.get("SecretId")):
            spy.calls += 1
            if spy.fail_with:
                code = spy.fail_with.pop(0)
                message = f"User: arn:aws:sts::123456789012:assumed-role/x is not authorized ({code})"
                raise ClientError({"Error": {"Code": code, "Message": message}}, operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", _make_api_call)
    return spy


HandlerFactory = Callable[..., ModuleType]


@pytest.fixture
def cold_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[HandlerFactory]:
    """Set the function's environment, then import the handler afresh: a new execution environment."""

    def start(**env: str) -> ModuleType:
        # The variables every stack sets beside the key; a test that cares passes its own.
        for name, value in {**REQUIRED_ENV, **env}.items():
            monkeypatch.setenv(name, value)
        # Init lives in vend.providers (settings, clients, prefetch) and vend.app (routes, tracing):
        # both run again, and the previous environment's keep-alive connection is closed first.
        previous = sys.modules.get("vend.providers")
        if previous is not None:
            if not isinstance(previous.INSTANCE, Exception):
                previous.INSTANCE.openai.close()
            importlib.reload(previous)
        if "vend.app" in sys.modules:
            return importlib.reload(sys.modules["vend.app"])
        return importlib.import_module("vend.app")

    yield start
    providers = sys.modules.get("vend.providers")
    if providers is not None and not isinstance(providers.INSTANCE, Exception):
        providers.INSTANCE.openai.close()  # the environment ends: its keep-alive connection too


@pytest.fixture
def handler(
    cold_start: HandlerFactory,
    secret_arn: str,
    edge: EdgeResources,
    upstream: FakeClientSecrets,
    secretsmanager: SecretsManagerSpy,  # counting from the cold start on: init reads the key
) -> ModuleType:
    # Quotas out of the way: these tests mint dozens of times from one visitor (test_quota.py sets its own).
    return cold_start(
        OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL, QUOTA_PER_VISITOR="10000"
    )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    raw: dict[str, Any]

    @property
    def error_code(self) -> str | None:
        return self.body.get("error", {}).get("code")


def invoke(module: ModuleType, event: dict[str, Any] | str, timeout_ms: int = 10_000) -> Reply:
    if isinstance(event, str):
        event = load_event(event)
    raw = module.lambda_handler(event, FakeLambdaContext(timeout_ms))
    headers = {k.lower(): v for k, v in raw.get("headers", {}).items()}
    is_json = headers.get("content-type", "").startswith("application/json")
    body = json.loads(raw["body"]) if raw.get("body") and is_json else {}
    return Reply(raw["statusCode"], headers, body, raw)


def post_session(module: ModuleType, body: str | None = "", content_type: str = "application/json") -> Reply:
    event = load_event("mint")
    event["body"] = body
    event["headers"]["content-type"] = content_type
    return invoke(module, event)


class LambdaStdout:
    """The function logger's own handler, writing to a strict UTF-8 stream as Lambda's stdout does."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.stream = io.TextIOWrapper(self.buffer, encoding="utf-8", errors="strict", write_through=True)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().decode("utf-8").splitlines() if line]

    def request_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("message") == "request"]


@pytest.fixture
def stdout(handler: ModuleType) -> Iterator[LambdaStdout]:
    captured = LambdaStdout()
    streams = [h for h in logging.getLogger("realtime-vend").handlers if isinstance(h, logging.StreamHandler)]
    assert streams, "the function logger has no stream handler"
    previous = [h.setStream(captured.stream) for h in streams]
    yield captured
    for h, stream in zip(streams, previous, strict=True):
        h.setStream(stream)
