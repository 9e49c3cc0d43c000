"""bench/call_cost's arithmetic: GPT-Live's figures follow from the metering's price table alone."""

from __future__ import annotations

from bench.call_cost.run import live, realtime


def test_a_ten_minute_live_call_costs_its_seconds() -> None:
    figures, lines = live(600, 0.3)

    backend = 5 * 270  # 5 turns x (1,000 x $0.10 + 2,000 x $0.01 + 300 x $0.50) per 1M, in micro-dollars
    assert figures == {
        "all_active": 500_000 + backend,  # 600 s x $0.05 a minute
        "with_standby": 350_000 + 60_000 + backend,  # 420 s active + 180 s x $0.02 a minute
        "minimum": 12_500,  # the create's 15 s
    }
    assert any("$0.5000" in line for line in lines)


def test_a_call_shorter_than_the_create_minimum_bills_fifteen_seconds() -> None:
    figures, _ = live(5, 0.0)
    assert figures["all_active"] == 12_500


def test_the_realtime_figure_is_the_metered_responses_and_transcription() -> None:
    total, lines = realtime(600)
    assert total == 600_000 + 12_600
    assert lines[-1].startswith("  total $0.6126")
