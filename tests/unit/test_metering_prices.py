"""The price table and its MODEL_PRICES override: exact micro-dollars, clear refusals."""

from __future__ import annotations

import pytest

from vend.metering.prices import BUILT_IN, ModelPrice, UnpricedModel, price_table


def test_the_built_in_table_holds_the_reference_figures_in_micro_dollars() -> None:
    model = price_table().price("gpt-realtime-2.1")
    assert (model.text_input, model.text_cached_input, model.text_output) == (4_000_000, 400_000, 24_000_000)
    assert (model.audio_input, model.audio_cached_input, model.audio_output) == (
        32_000_000,
        400_000,
        64_000_000,
    )
    mini = price_table().price("gpt-realtime-2.1-mini")
    assert (mini.text_cached_input, mini.audio_input, mini.audio_output) == (60_000, 10_000_000, 20_000_000)


def test_an_override_merges_a_known_model_field_by_field_and_adds_a_new_one() -> None:
    table = price_table('{"gpt-realtime-2.1": {"audio_output": 60}, "new-model": {"text_input": "0.15"}}')
    assert table.price("gpt-realtime-2.1").audio_output == 60_000_000
    assert table.price("gpt-realtime-2.1").audio_input == 32_000_000
    assert table.price("new-model") == ModelPrice(text_input=150_000)
    assert price_table().price("gpt-realtime-2.1") == BUILT_IN["gpt-realtime-2.1"]  # no override leaks


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("{", "not valid JSON"),
        ("[1]", "JSON object"),
        ('{"m": 4}', "non-empty object"),
        ('{"m": {}}', "non-empty object"),
        ('{"m": {"audio_in": 4}}', "unknown fields \\['audio_in'\\]"),
        ('{"m": {"text_input": -1}}', "between 0"),
        ('{"m": {"text_input": "NaN"}}', "between 0"),
        ('{"m": {"text_input": true}}', "number of dollars"),
        ('{"m": {"text_input": "four"}}', "number of dollars"),
        ('{"m": {"text_input": 0.0000001}}', "finer than a micro-dollar"),
    ],
)
def test_a_bad_override_is_a_value_error_that_says_what_is_wrong(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        price_table(override)


def test_an_empty_override_is_the_built_in_table() -> None:
    assert price_table("  ").models == BUILT_IN
    with pytest.raises(UnpricedModel):
        price_table().price("gpt-5")
