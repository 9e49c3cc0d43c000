"""Issue 19 as `sam deploy` will create it, read from template.yaml: VoiceApi live is one parameter away,
relayed only (a Rule refuses the rest before anything is created), every function that starts, ends or
meters a call gets GPT-Live's configuration, and the page is told which protocol to speak."""

from __future__ import annotations

import re
from typing import Any

import pytest

from template_contract.reader import function_environment, load_template
from template_contract.values import condition, defaults, evaluate
from vend.settings import (
    DEFAULT_LIVE_BACKEND_INSTRUCTIONS,
    DEFAULT_LIVE_BACKEND_MODEL,
    DEFAULT_LIVE_INSTRUCTIONS,
    LIVE_BUILT_IN_VOICES,
    LIVE_HOSTED_TOOLS,
    LIVE_MODELS,
)

TEMPLATE = load_template()
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
LIVE = {"VoiceApi": "live", "CallMode": "relay"}
# The functions that start a GPT-Live call (vend), hold it (companion), or end it (hangup, kill switch).
CALL_FUNCTIONS = ("VendFunction", "CompanionFunction", "HangupFunction", "OperatorFunction")
LIVE_VARIABLES = {
    "VOICE_API": "VoiceApi",
    "LIVE_MODEL": "LiveModel",
    "LIVE_VOICE": "LiveVoice",
    "LIVE_INSTRUCTIONS": "LiveInstructions",
    "LIVE_IDLE_TIMEOUT_SECONDS": "LiveIdleTimeoutSeconds",
    "LIVE_DELEGATION": "LiveDelegation",
    "LIVE_BACKEND_MODEL": "LiveBackendModel",
    "LIVE_BACKEND_INSTRUCTIONS": "LiveBackendInstructions",
    "LIVE_HOSTED_TOOLS": "LiveHostedTools",
    "LIVE_TYPED_TEXT": "LiveTypedText",
}
# Lambda: "The total size of all environment variables doesn't exceed 4 KB" (keys and values).
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_ENVIRONMENT_BYTES = 4096
# What a value the evaluator leaves unresolved (a resource's ARN or name, a !Sub) is counted as: longer
# than any of them (a secret's ARN with a 57-character stack name is about 130).
UNRESOLVED_VALUE_BYTES = 160


def _refused_by_rules(**parameters: str) -> list[str]:
    """The Rules that refuse these parameters (with the other defaults), by name."""
    params = defaults(**parameters)
    refused = []
    for name, rule in TEMPLATE["Rules"].items():
        applies = "RuleCondition" not in rule or evaluate(rule["RuleCondition"], params)
        if applies and not all(evaluate(a["Assert"], params) for a in rule["Assertions"]):
            refused.append(name)
    return refused


def test_realtime_stays_the_default_and_live_is_one_parameter_away() -> None:
    assert (PARAMETERS["VoiceApi"]["Default"], PARAMETERS["VoiceApi"]["AllowedValues"]) == (
        "realtime",
        ["realtime", "live"],
    )
    assert _refused_by_rules() == []  # the defaults deploy as before
    assert _refused_by_rules(**LIVE) == []


@pytest.mark.parametrize("call_mode", ["client_secret", "both"])
def test_live_with_client_secrets_is_refused_before_anything_is_created(call_mode: str) -> None:
    rule = TEMPLATE["Rules"]["LiveNeedsRelay"]
    [assertion] = rule["Assertions"]

    assert _refused_by_rules(VoiceApi="live", CallMode=call_mode) == ["LiveNeedsRelay"]
    assert _refused_by_rules(VoiceApi="realtime", CallMode=call_mode) == []
    # the operator reads why, and what to set instead
    assert "CallMode relay" in assertion["AssertDescription"]
    assert "client secrets" in assertion["AssertDescription"]


def test_a_live_stack_serves_relay_and_so_has_its_companion() -> None:
    params = defaults(**LIVE)

    assert condition("LiveApi", params) is True
    assert condition("ServesRelay", params) is True
    assert RESOURCES["CompanionFunction"]["Condition"] == "ServesRelay"
    assert condition("LiveApi", defaults()) is False


def test_the_live_parameters_offer_what_settings_accepts() -> None:
    assert PARAMETERS["LiveModel"]["Default"] == "gpt-live-1.1"
    assert set(PARAMETERS["LiveModel"]["AllowedValues"]) == LIVE_MODELS
    assert PARAMETERS["LiveVoice"]["Default"] == "marin"
    assert set(PARAMETERS["LiveVoice"]["AllowedValues"]) == LIVE_BUILT_IN_VOICES
    idle = PARAMETERS["LiveIdleTimeoutSeconds"]
    assert (idle["MinValue"], idle["MaxValue"], idle["Default"]) == (0, 3600, 0)  # default: no standby
    assert PARAMETERS["LiveInstructions"]["MaxLength"] == 4000
    assert PARAMETERS["LiveBackendInstructions"]["MaxLength"] == 4000
    assert PARAMETERS["LiveTypedText"]["AllowedValues"] == ["true", "false"]
    assert PARAMETERS["LiveHostedTools"]["Default"] == "none"
    pattern = PARAMETERS["LiveHostedTools"]["AllowedPattern"]
    for tools in ("", "none", *LIVE_HOSTED_TOOLS):
        assert re.fullmatch(pattern, tools), tools
    for tools in ("file_search", "code_interpreter", "mcp", "web_search,file_search"):
        assert not re.fullmatch(pattern, tools), tools


def test_the_backend_model_default_is_the_one_settings_and_the_delegation_guide_name() -> None:
    assert PARAMETERS["LiveBackendModel"]["Default"] == DEFAULT_LIVE_BACKEND_MODEL
    assert DEFAULT_LIVE_BACKEND_MODEL in PARAMETERS["LiveBackendModel"]["Description"]


def test_the_instructions_defaults_are_settings_defaults() -> None:
    # a template default that differed would silently override what settings documents
    assert PARAMETERS["LiveInstructions"]["Default"] == DEFAULT_LIVE_INSTRUCTIONS
    assert PARAMETERS["LiveBackendInstructions"]["Default"] == DEFAULT_LIVE_BACKEND_INSTRUCTIONS


def test_delegation_has_no_none_and_says_why() -> None:
    delegation = PARAMETERS["LiveDelegation"]

    assert (delegation["Default"], delegation["AllowedValues"]) == ("responses", ["responses"])
    assert 'no "none"' in delegation["Description"]
    assert "client delegation" in delegation["Description"]


@pytest.mark.parametrize("function", CALL_FUNCTIONS)
def test_every_function_that_starts_ends_or_meters_a_call_gets_gpt_lives_configuration(function: str) -> None:
    environment = function_environment(function)

    assert {name: environment[name] for name in LIVE_VARIABLES} == {
        name: {"Ref": parameter} for name, parameter in LIVE_VARIABLES.items()
    }


def test_a_live_stacks_environment_fits_lambdas_4_kb_at_the_defaults() -> None:
    params = defaults(**LIVE)
    size = 0
    for name, value in function_environment("VendFunction").items():
        resolved = evaluate(value, params)
        text = str(resolved) if isinstance(resolved, str | int | float) else "x" * UNRESOLVED_VALUE_BYTES
        size += len(name.encode()) + len(text.encode())

    # the three instructions share the rest: docs/limits.md says so, and each parameter's description
    assert size < LAMBDA_ENVIRONMENT_BYTES
    for parameter in ("LiveInstructions", "LiveBackendInstructions"):
        assert "4 KB" in PARAMETERS[parameter]["Description"]


@pytest.mark.parametrize(
    ("parameters", "voice_api", "typed_text"),
    [
        ({}, "realtime", "true"),
        ({"LiveTypedText": "false"}, "realtime", "true"),  # a Realtime page always has its text box
        (LIVE, "live", "true"),
        ({**LIVE, "LiveTypedText": "false"}, "live", "false"),
    ],
)
def test_the_publisher_is_told_the_voice_api_and_whether_the_page_may_type(
    parameters: dict[str, str], voice_api: str, typed_text: str
) -> None:
    properties = RESOURCES["SitePublication"]["Properties"]
    params = defaults(**parameters)

    assert (evaluate(properties["VoiceApi"], params), evaluate(properties["TypedText"], params)) == (
        voice_api,
        typed_text,
    )


def test_the_outputs_say_which_voice_api_the_stack_serves() -> None:
    output = TEMPLATE["Outputs"]["VoiceApi"]

    assert output["Value"] == {"Ref": "VoiceApi"}
    assert "Condition" not in output
