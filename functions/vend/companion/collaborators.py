"""The companion's collaborators from other packages: the price table and cost arithmetic
(vend.metering), the spend items and budgets (vend.aws.spend_ledger, vend.logic.spend_budget), and the
server tools (vend.tools), each bound to this stack's settings once per execution environment.

Each is imported on a call's first use, not at init: the attach must be fast, and these are built in a
thread after it (session.py). The Protocols in ports.py type them, so the loop's tests can pass fakes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vend.companion.ports import Budget, LivePricing, Pricing, ToolOutcome, ToolRunner, TotalSpendRecorder
from vend.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from vend.metering.prices import PriceTable
    from vend.tools.tool import Tool


@dataclass(frozen=True, slots=True)
class _PriceTable:
    model: str
    transcription_model: str | None
    prices: PriceTable

    def response(self, usage: Mapping[str, Any]) -> int:
        from vend.metering.cost import response_cost  # noqa: PLC0415  (first use, after the attach)

        return response_cost(self.model, usage, self.prices)

    def transcription(self, usage: Mapping[str, Any]) -> int:
        from vend.metering.cost import transcription_cost  # noqa: PLC0415

        if self.transcription_model is None:  # no transcription configured: OpenAI bills none
            return 0
        return transcription_cost(self.transcription_model, usage, self.prices)


@dataclass(frozen=True, slots=True)
class _LivePriceTable:
    voice_model: str
    backend_model: str
    prices: PriceTable

    def voice_total(self, usage: Mapping[str, Any]) -> int:
        from vend.metering.live_cost import voice_total_cost  # noqa: PLC0415

        return voice_total_cost(self.voice_model, usage, self.prices)

    def backend(self, model: str, usage: Mapping[str, Any]) -> tuple[str, int]:
        """The model the turn is priced for (the configured backend if `model` has no price), and its
        cost: the configured one is checked at init, a name OpenAI reports may be a newer snapshot."""
        from vend.metering.live_cost import backend_cost  # noqa: PLC0415
        from vend.metering.prices import UnpricedModel  # noqa: PLC0415

        try:
            return model, backend_cost(model, usage, self.prices)
        except UnpricedModel:
            return self.backend_model, backend_cost(self.backend_model, usage, self.prices)


@dataclass(frozen=True, slots=True)
class _Tools:
    by_name: Mapping[str, Tool[Any]]
    timeout: float

    def __call__(self, name: str, arguments_json: str) -> ToolOutcome:
        from vend.tools.executor import run_tool_call  # noqa: PLC0415

        return run_tool_call(self.by_name, name, arguments_json, timeout=self.timeout)


@functools.cache
def pricing(settings: Settings) -> Pricing:
    from vend.metering.prices import price_table  # noqa: PLC0415

    return _PriceTable(
        settings.model, settings.transcription_model, price_table(settings.spend.model_prices_json)
    )


@functools.cache
def live_pricing(settings: Settings) -> LivePricing:
    from vend.metering.prices import price_table  # noqa: PLC0415

    live = settings.live
    return _LivePriceTable(live.model, live.backend_model, price_table(settings.spend.model_prices_json))


@functools.cache
def spend_ledger(settings: Settings, client: DynamoDBClient) -> TotalSpendRecorder:
    from vend.aws.spend_ledger import SpendLedger  # noqa: PLC0415

    return SpendLedger(settings.usage_table_name, client)


@functools.cache
def spend_budget(settings: Settings, client: DynamoDBClient) -> Budget:
    from vend.logic.spend_budget import SpendBudget  # noqa: PLC0415

    return SpendBudget(
        visitor_micro_usd=settings.spend.visitor_micro_usd_per_day,
        stack_micro_usd=settings.spend.stack_micro_usd_per_day,
        ledger=spend_ledger(settings, client),  # type: ignore[arg-type]
    )


@functools.cache
def tool_runner(settings: Settings) -> ToolRunner:
    from vend.tools.registry import by_name, enabled  # noqa: PLC0415

    return _Tools(by_name(enabled(settings.companions.tools)), settings.companions.tool_timeout_seconds)
