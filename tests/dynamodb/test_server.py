"""The local moto server's life, its injected latency, and tables made from the template."""

from __future__ import annotations

import socket
import statistics
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.dynamodb import client, create_table_from_template, template_table_properties
from local.moto_server import FAKE_CREDENTIALS, REGION, MotoServer
from template_contract.reader import TemplateError
from tests.dynamodb.quota import mint

LATENCY_MS = 40


def median_ms(call: Any, times: int = 5) -> float:
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations)


def test_latency_option_delays_every_response(quota_table_properties: dict[str, Any]) -> None:
    with MotoServer(latency_ms=LATENCY_MS) as slow:
        dynamodb = client(slow.endpoint)
        create_table_from_template(slow.endpoint, "quota", quota_table_properties)
        dynamodb.get_item(TableName="quota", Key={"pk": {"S": "warm"}})  # the connection, once

        reads = median_ms(lambda: dynamodb.get_item(TableName="quota", Key={"pk": {"S": "a"}}))
        mints = median_ms(lambda: mint(dynamodb, "quota", "visitor#v#0", "day#d", 1000, 1000))
        refusals = median_ms(lambda: mint(dynamodb, "quota", "visitor#v#1", "day#d", 0, 1000))

    assert reads >= LATENCY_MS
    assert mints >= LATENCY_MS
    assert refusals >= LATENCY_MS


def test_stop_frees_the_port() -> None:
    server = MotoServer().start()
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass

    server.stop()
    server.stop()  # twice is harmless

    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with pytest.raises(RuntimeError):
        server.create(tables={"after-stop": template_table_properties("QuotaTable")})


def test_the_server_exits_when_its_parent_goes_away() -> None:
    server = MotoServer().start()
    assert server._child is not None
    process = server._child.process
    assert process is not None and process.stdin is not None

    process.stdin.close()  # what the parent's death does to the pipe

    assert process.wait(timeout=5) == 0
    server.stop()


def test_table_from_template_properties(moto: MotoServer, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        """
Resources:
  QuotaTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-quota"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  Other:
    Type: AWS::SNS::Topic
""",
        encoding="utf-8",
    )

    properties = template_table_properties("QuotaTable", template)
    table = create_table_from_template(moto.endpoint, "from-template", properties)

    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    with pytest.raises(TemplateError):
        template_table_properties("Other", template)


def test_seeds_then_tables_and_schedule_groups_once_serving(quota_table_properties: dict[str, Any]) -> None:
    with MotoServer(secrets={"realtime-vend/key": "value"}) as moto:
        moto.create(tables={"quota": quota_table_properties}, schedule_groups=["calls"])

        assert moto.arns["realtime-vend/key"].startswith("arn:aws:secretsmanager:us-east-1:")
        table = client(moto.endpoint).describe_table(TableName="quota")["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert table["KeySchema"] == quota_table_properties["KeySchema"]
        with pytest.raises(RuntimeError, match="ResourceInUseException"):
            moto.create(tables={"quota": quota_table_properties})  # the server says why, and goes on
        moto.create(schedule_groups=["more"])
        scheduler = boto3.client(
            "scheduler",
            endpoint_url=moto.endpoint,
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
        )
        groups = {group["Name"] for group in scheduler.list_schedule_groups()["ScheduleGroups"]}
        assert {"calls", "more"} <= groups
