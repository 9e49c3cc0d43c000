"""The companion's collaborators from other packages: the price table and cost arithmetic
(vend.metering), the spend items and budgets (vend.aws.spend_ledger, vend.logic.spend_budget), and the
server tools (vend.tools), each bound to this stack's settings once per execution environment.

They are looked up by module name, typed by the Protocols in ports.py, so that this package builds and
is tested on its own; each is imported on a call's first use, not at init (the attach must be fast).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vend.companion.ports import Budget, Pricing, SpendRecorder, ToolOutcome, ToolRunner
from vend.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True, slots=True)
class _PriceTable:
    model: str
    transcription_model: str | None
    prices: Any
    cost: Any  # the vend.metering.cost module

    def response(self, usage: Mapping[str, Any]) -> int:
        return int(self.cost.response_cost(self.model, usage, self.prices))

    def transcription(self, usage: Mapping[str, Any]) -> int:
        return int(self.cost.transcription_cost(self.transcription_model, usage, self.prices))


@dataclass(frozen=True, slots=True)
class _Tools:
    by_name: Mapping[str, Any]
    timeout: float
    executor: Any  # the vend.tools.executor module

    def __call__(self, name: str, arguments_json: str) -> ToolOutcome:
        outcome: ToolOutcome = self.executor.run_tool_call(
            self.by_name, name, arguments_json, timeout=self.timeout
        )
        return outcome


@functools.cache
def pricing(settings: Settings) -> Pricing:
    cost = importlib.import_module("vend.metering.cost")
    prices = importlib.import_module("vend.metering.prices").price_table(settings.spend.model_prices_json)
    return _PriceTable(settings.model, settings.transcription_model, prices, cost)


@functools.cache
def spend_ledger(settings: Settings, client: DynamoDBClient) -> SpendRecorder:
    ledger: SpendRecorder = importlib.import_module("vend.aws.spend_ledger").SpendLedger(
        settings.usage_table_name, client
    )
    return ledger


@functools.cache
def spend_budget(settings: Settings) -> Budget:
    budget: Budget = importlib.import_module("vend.logic.spend_budget").SpendBudget(settings.spend)
    return budget


@functools.cache
def tool_runner(settings: Settings) -> ToolRunner:
    tools = importlib.import_module("vend.tools.registry").enabled(settings.companions.tools)
    executor = importlib.import_module("vend.tools.executor")
    return _Tools({tool.name: tool for tool in tools}, settings.companions.tool_timeout_seconds, executor)
