"""DynamoDB tables as the template declares them, on the local moto server (local.moto_server).

    from local.dynamodb import client, create_table_from_template, template_table_properties

    with MotoServer() as moto:
        create_table_from_template(moto.endpoint, "quota", template_table_properties("QuotaTable"))
        dynamodb = client(moto.endpoint)

boto3 needs credentials and a region before it will sign a request, although moto checks neither:
`client()` gives it fake ones, never real ones. The Lambda reaches the table through
AWS_ENDPOINT_URL_DYNAMODB.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-east-1"
# Fake, and only ever fake: moto accepts any signature.
CLIENT_SETTINGS: dict[str, str] = {
    "region_name": REGION,
    "aws_access_key_id": "local",
    "aws_secret_access_key": "local",
}


def client(endpoint_url: str, **config: Any) -> DynamoDBClient:
    """A boto3 DynamoDB client for a local endpoint (fake credentials); `config` goes to botocore's Config."""
    import boto3  # noqa: PLC0415 - heavy; only when a client is wanted
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        config=Config(**config),
        region_name=CLIENT_SETTINGS["region_name"],
        aws_access_key_id=CLIENT_SETTINGS["aws_access_key_id"],
        aws_secret_access_key=CLIENT_SETTINGS["aws_secret_access_key"],
    )


def template_table_properties(resource: str, template: Path | None = None) -> dict[str, Any]:
    """The Properties of an AWS::DynamoDB::Table in template.yaml (template_contract's reader)."""
    from template_contract.reader import TEMPLATE, load_template  # noqa: PLC0415

    path = template or TEMPLATE
    return table_properties(load_template(path), resource, path)


def table_properties(document: Mapping[str, Any], resource: str, template: Path) -> dict[str, Any]:
    """The Properties of the AWS::DynamoDB::Table `resource` in a loaded template (`template`: its path)."""
    from template_contract.reader import TemplateError  # noqa: PLC0415

    found = (document.get("Resources") or {}).get(resource)
    if not isinstance(found, dict) or found.get("Type") != "AWS::DynamoDB::Table":
        raise TemplateError(f"{template} has no AWS::DynamoDB::Table {resource}")
    properties = found.get("Properties")
    if not isinstance(properties, dict):
        raise TemplateError(f"{resource} in {template} has no Properties")
    return properties


def create_table_from_template(
    endpoint_url: str,
    table_name: str,
    properties: Mapping[str, Any],
    *,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Creates `table_name` with a template table's key schema and indexes; returns it once ACTIVE.

    `properties` are an AWS::DynamoDB::Table's Properties (see `template_table_properties`); their
    TableName, tags and stream settings do not matter locally and are not read, and neither is
    TimeToLiveSpecification: moto's server never expires items, and nothing local depends on expiry
    (quota windows and days are part of the keys, so an old item is simply never read again).
    """
    dynamodb = client(endpoint_url)
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
    }
    billing = properties.get("BillingMode", "PROVISIONED")
    request["BillingMode"] = billing
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
    for indexes in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(indexes):
            request[indexes] = properties[indexes]
    dynamodb.create_table(**request)
    deadline = time.monotonic() + timeout
    while True:
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        if table.get("TableStatus") == "ACTIVE":
            return dict(table)
        if time.monotonic() > deadline:
            raise RuntimeError(f"table {table_name} is still {table.get('TableStatus')} after {timeout:g} s")
        time.sleep(0.02)
