"""Small parts of the live companion: reflected audio is told apart unparsed, the attach URL, the live
price collaborator, the finalise reasons' ranks (aws/companion_ledger.py on moto), and the cumulative
voice meter (aws/spend_ledger.py `record_total` on moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import REQUIRED_ENV
from vend.aws.companion_ledger import CompanionLedger
from vend.aws.spend_ledger import SpendLedger
from vend.companion.collaborators import live_pricing
from vend.metering.totals import Increase, SpendTotals
from vend.openai_api.live_close import attach_url, is_reflected_audio
from vend.settings import load_settings

TABLE = "realtime-vend-quota"
CALL = "call_" + "ef" * 16
DAY = "2026-12-07"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        yield dynamodb


AUDIO = "QUFB" * 2000


@pytest.mark.parametrize(
    "message",
    [
        json.dumps({"type": "session.input_audio.append", "audio": AUDIO}),
        json.dumps({"audio": AUDIO, "type": "session.input_audio.append"}),  # type after the audio
        json.dumps({"type": "session.output_audio.delta", "delta": AUDIO, "start_ms": 0, "end_ms": 100}),
        json.dumps({"delta": AUDIO, "start_ms": 0, "end_ms": 100, "type": "session.output_audio.delta"}),
        '{"type" : "session.output_audio.delta", "delta": "AAAA"}',
    ],
)
def test_reflected_audio_is_recognised_without_parsing(message: str) -> None:
    assert is_reflected_audio(message)


@pytest.mark.parametrize(
    "message",
    [
        json.dumps({"type": "session.output_transcript.delta", "delta": "hi", "start_ms": 0, "end_ms": 1}),
        json.dumps({"type": "session.closed", "reason": "expired"}),
        # The words inside a transcript are a string: their quotes are escaped, so never a match.
        json.dumps(
            {"type": "session.input_transcript.delta", "delta": '"type":"session.output_audio.delta"'}
        ),
        json.dumps({"type": "response.event", "event": {"type": "response.output_item.done"}}),
    ],
)
def test_other_events_are_not_taken_for_audio(message: str) -> None:
    assert not is_reflected_audio(message)


def test_the_attach_url_follows_the_base_urls_scheme() -> None:
    assert (
        attach_url("https://api.openai.com", "live_abc")
        == "wss://api.openai.com/v1/live/sessions/live_abc/attach"
    )
    assert (
        attach_url("http://127.0.0.1:9000", "live_abc")
        == "ws://127.0.0.1:9000/v1/live/sessions/live_abc/attach"
    )


def test_our_reasons_beat_gpt_lives_and_gpt_lives_beat_call_over(client: Any) -> None:
    ledger = CompanionLedger(TABLE, client)
    assert ledger.mark_finalised(CALL, "call_over", now=1, ends_at=100)
    assert ledger.mark_finalised(CALL, "close_requested", now=2, ends_at=100)  # seen, more precise
    assert not ledger.mark_finalised(CALL, "expired", now=3, ends_at=100)  # first seen reason stays
    assert not ledger.mark_finalised(CALL, "call_over", now=4, ends_at=100)
    assert ledger.finalised_reason(CALL) == "close_requested"
    assert ledger.mark_finalised(CALL, "cap", now=5, ends_at=100)  # the close we caused was our cap
    assert not ledger.mark_finalised(CALL, "remote_hangup", now=6, ends_at=100)
    assert not ledger.mark_finalised(CALL, "spend_cap", now=7, ends_at=100)
    assert ledger.finalised_reason(CALL) == "cap"


def raise_to(ledger: SpendLedger, total: int, *, call: str = CALL, final: bool = False) -> Increase | None:
    return ledger.record_total(
        call_id=call,
        visitor="v1",
        day=DAY,
        model="gpt-live-1.1",
        meter="voice",
        total_micro_usd=total,
        final=final,
    )


def test_a_cumulative_meter_adds_only_its_increase_once(client: Any) -> None:
    first, second = SpendLedger(TABLE, client, shards=4), SpendLedger(TABLE, client, shards=4)

    assert raise_to(first, 12_500) == Increase(
        12_500, SpendTotals(call=12_500, visitor_day=12_500, stack_day=12_500)
    )
    assert raise_to(second, 12_500) is None  # the other generation saw the same snapshot
    assert raise_to(second, 50_000) == Increase(37_500, SpendTotals(50_000, 50_000, 50_000))  # missed none
    assert raise_to(first, 40_000) is None  # an older snapshot, or one that prices lower: nothing
    assert raise_to(first, 50_001) == Increase(1, SpendTotals(50_001, 50_001, 50_001))
    assert raise_to(first, 1_000, call="call_" + "12" * 16) == Increase(
        1_000, SpendTotals(1_000, 51_001, 51_001)
    )
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": f"spend#meter#{CALL}#voice"}})["Item"]
    assert item["micro_usd"] == {"N": "50001"}
    assert item["model"] == {"S": "gpt-live-1.1"}


def test_a_total_moved_by_another_companion_between_read_and_write_is_read_again(client: Any) -> None:
    other = SpendLedger(TABLE, client, shards=4)

    class Racing(SpendLedger):
        """Reads the meter, then another companion raises it before this one writes."""

        raced = False

        def _meter(self, key: str) -> tuple[int | None, bool]:
            found = super()._meter(key)
            if not self.raced:
                self.raced = True
                assert raise_to(other, 30_000) is not None
            return found

    racing = Racing(TABLE, client, shards=4, sleep=lambda _s: None)
    assert raise_to(racing, 50_000) == Increase(20_000, SpendTotals(50_000, 50_000, 50_000))


def test_the_live_price_collaborator_prices_the_configured_models_and_falls_back_for_a_backend_name() -> None:
    settings = load_settings(
        {
            **REQUIRED_ENV,
            "OPENAI_API_KEY_SECRET_ARN": "realtime-vend/openai-api-key",
            "CALL_MODE": "relay",
            "VOICE_API": "live",
            "LIVE_MODEL": "gpt-live-1",
            "LIVE_BACKEND_MODEL": "gpt-6-sol",
        }
    )
    pricing = live_pricing(settings)
    usage = {"input_tokens": 1_000_000, "output_tokens": 0}

    assert pricing.voice_total({"seconds": 60.0, "active_seconds": 30, "paused_seconds": 30}) == 50_000
    assert pricing.backend("gpt-6-luna", usage) == ("gpt-6-luna", 100_000)  # the model the turn names
    # A name without a price (a new snapshot): priced as the configured backend, never as free.
    assert pricing.backend("gpt-6-sol-next", usage) == ("gpt-6-sol", 2_000_000)


def test_the_final_total_is_recorded_as_it_is_and_closes_the_meter(client: Any) -> None:
    first, second = SpendLedger(TABLE, client, shards=4), SpendLedger(TABLE, client, shards=4)
    assert raise_to(first, 12_500) is not None  # 15 s counted active while the session ran

    # The session was billed 13 s active and 2 s paused: the final usage corrects the running total.
    assert raise_to(first, 11_500, final=True) == Increase(-1_000, SpendTotals(11_500, 11_500, 11_500))
    assert raise_to(second, 11_500, final=True) is None  # the other generation's session.closed
    assert raise_to(second, 12_500) is None  # a running snapshot processed late moves nothing
    assert raise_to(second, 20_000, final=True) is None
    assert first.totals(visitor="v1", day=DAY, call_id=CALL) == SpendTotals(11_500, 11_500, 11_500)


def test_a_final_total_without_running_ones_is_recorded_once(client: Any) -> None:
    ledger = SpendLedger(TABLE, client, shards=4)
    assert raise_to(ledger, 12_500, final=True) == Increase(12_500, SpendTotals(12_500, 12_500, 12_500))
    assert raise_to(ledger, 12_500, final=True) is None
