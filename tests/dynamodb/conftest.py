"""One local moto server (local.moto_server, one request at a time) for the suite, and a fresh quota
table per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.dynamodb import client as dynamodb_client
from local.dynamodb import create_table_from_template, template_table_properties
from local.moto_server import MotoServer
from template_contract.reader import TemplateError

# The quota table as issue 10 specifies it, for as long as template.yaml lacks QuotaTable
CONTRACT_QUOTA_TABLE: dict[str, Any] = {
    "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
}


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def quota_table_properties() -> dict[str, Any]:
    try:
        return template_table_properties("QuotaTable")
    except TemplateError:
        return CONTRACT_QUOTA_TABLE


@pytest.fixture
def table(moto: MotoServer, quota_table_properties: dict[str, Any]) -> str:
    name = f"quota-{uuid.uuid4().hex[:12]}"
    create_table_from_template(moto.endpoint, name, quota_table_properties)
    return name


@pytest.fixture(scope="module")
def client(moto: MotoServer) -> Any:
    """A DynamoDB client with a connection per thread a concurrency test releases at once."""
    return dynamodb_client(moto.endpoint, max_pool_connections=64)
