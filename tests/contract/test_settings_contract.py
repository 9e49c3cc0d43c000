"""template.yaml and settings.py describe one configuration: every variable the function reads is set by
the template, the template's defaults are valid settings, and every bound they share is the same bound.

A parameter the template accepts but settings refuses would deploy cleanly and then answer every request
with 500; one that settings accepts but the template refuses is a limit documented in the wrong place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from template_contract.reader import function_environment, load_template
from vend.settings import SettingsError, load_settings

TEMPLATE = load_template()
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
ENVIRONMENT = function_environment("VendFunction")
# Read by libraries, not by settings.py: Powertools and boto3's endpoint override for `sam local`.
LIBRARY_VARIABLES = re.compile(r"^(POWERTOOLS_|AWS_ENDPOINT_URL_)")
ANY_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:realtime-vend-AbCdEf"
# What `Ref` gives for each resource type the environment names (CloudFormation's return values).
SAMPLE_REF = {
    "AWS::SecretsManager::Secret": ANY_SECRET_ARN,
    "AWS::DynamoDB::Table": "realtime-vend-QuotaTable-1A2B3C4D5E6F",
    "AWS::SSM::Parameter": "/realtime-vend/paused",
    "AWS::Scheduler::ScheduleGroup": "realtime-vend-calls",
}
SAMPLE_GETATT = {
    "AWS::IAM::Role": "arn:aws:iam::123456789012:role/realtime-vend-SchedulerRole-1A2B3C",
    "AWS::Serverless::Function": "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-hangup",
    "AWS::Lambda::Function": "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-hangup",
    # GetAtt ProviderURL: the pool's issuer
    "AWS::Cognito::UserPool": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI",
}
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "realtime-vend",
    "AWS::URLSuffix": "amazonaws.com",
}


class RecordingEnvironment(dict[str, str]):
    """An environment that remembers every variable asked for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.asked: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.append(key)
        return super().get(key, default)


def _ref(name: str, parameters: Mapping[str, str]) -> str:
    """A parameter's value, a pseudo parameter's, or what `Ref` returns for a resource of that type."""
    if name in parameters:
        return parameters[name]
    return PSEUDO_PARAMETERS.get(name) or SAMPLE_REF[TEMPLATE["Resources"][name]["Type"]]


def condition(name: str, parameters: Mapping[str, str]) -> bool:
    """A condition of the template, evaluated with the parameters' values."""
    return _truth(TEMPLATE["Conditions"][name], parameters)


def _truth(node: Any, parameters: Mapping[str, str]) -> bool:
    [(function, arg)] = node.items()
    if function == "Fn::Condition":  # !Condition, as template_contract's loader reads it
        return condition(arg, parameters)
    if function == "Fn::Equals":
        return resolve(arg[0], parameters) == resolve(arg[1], parameters)
    if function == "Fn::Not":
        return not _truth(arg[0], parameters)
    if function == "Fn::Or":
        return any(_truth(item, parameters) for item in arg)
    if function == "Fn::And":
        return all(_truth(item, parameters) for item in arg)
    raise AssertionError(f"the contract test cannot evaluate the condition {node!r}")


def resolve(value: Any, parameters: Mapping[str, str]) -> str:
    """A template value with the parameters' values substituted (Ref, Join, If, Sub, GetAtt)."""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        return _ref(value["Ref"], parameters)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, items = value["Fn::Join"]
        if isinstance(items, dict):  # a CommaDelimitedList parameter: its Ref is the list
            items = resolve(items, parameters).split(",")
        return separator.join(resolve(item, parameters) for item in items)
    if isinstance(value, dict) and "Fn::If" in value:
        name, then, otherwise = value["Fn::If"]
        return resolve(then if condition(name, parameters) else otherwise, parameters)
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return re.sub(r"\$\{([^}!]+)\}", lambda m: resolve({"Ref": m.group(1)}, parameters), value["Fn::Sub"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return SAMPLE_GETATT[TEMPLATE["Resources"][value["Fn::GetAtt"][0]]["Type"]]
    raise AssertionError(f"the contract test cannot resolve {value!r}")


def defaults() -> dict[str, str]:
    return {name: str(spec.get("Default", "")) for name, spec in PARAMETERS.items()}


def environment(**overrides: str) -> dict[str, str]:
    parameters = {**defaults(), **overrides}
    return {name: resolve(value, parameters) for name, value in ENVIRONMENT.items()}


def variable_of(parameter: str) -> str:
    [variable] = [name for name, value in ENVIRONMENT.items() if value == {"Ref": parameter}]
    return variable


def rules_accept(parameters: Mapping[str, str]) -> bool:
    """Whether the template's Rules let CloudFormation deploy these parameters at all."""
    for rule in TEMPLATE.get("Rules", {}).values():
        if "RuleCondition" in rule and not _truth(rule["RuleCondition"], parameters):
            continue
        if not all(_truth(assertion["Assert"], parameters) for assertion in rule["Assertions"]):
            return False
    return True


def accepted(env: Mapping[str, str]) -> bool:
    try:
        load_settings(env)
    except SettingsError:
        return False
    return True


def test_every_variable_settings_reads_is_set_by_the_template() -> None:
    recording = RecordingEnvironment(environment())

    load_settings(recording)

    assert recording.asked, "settings read no variable at all"
    assert sorted(set(recording.asked) - set(ENVIRONMENT)) == []
    unread = {name for name in ENVIRONMENT if not LIBRARY_VARIABLES.match(name)} - set(recording.asked)
    assert sorted(unread) == []


def test_the_templates_defaults_are_valid_settings() -> None:
    settings = load_settings(environment())

    assert settings.model == PARAMETERS["RealtimeModel"]["Default"]
    assert settings.client_secret_ttl_seconds == int(PARAMETERS["ClientSecretTtlSeconds"]["Default"])


def bounded_parameters() -> Iterator[Any]:
    for name, spec in PARAMETERS.items():
        if not any(value == {"Ref": name} for value in ENVIRONMENT.values()):
            continue
        for edge in ("MinValue", "MaxValue"):
            if edge in spec:
                step = -1 if edge == "MinValue" else 1
                yield pytest.param(name, str(spec[edge]), True, id=f"{name}-{edge}")
                yield pytest.param(name, str(int(spec[edge]) + step), False, id=f"{name}-beyond-{edge}")
        if "MaxLength" in spec:
            length = int(spec["MaxLength"])
            yield pytest.param(name, "x" * length, True, id=f"{name}-MaxLength")
            yield pytest.param(name, "x" * (length + 1), False, id=f"{name}-beyond-MaxLength")
        for allowed in spec.get("AllowedValues", []):
            yield pytest.param(name, str(allowed), True, id=f"{name}-{allowed}")


@pytest.mark.parametrize(("parameter", "value", "template_accepts"), list(bounded_parameters()))
def test_a_bound_the_template_declares_is_the_bound_settings_enforces(
    parameter: str, value: str, template_accepts: bool
) -> None:
    env = environment(**{parameter: value})
    # a value the template's Rules refuse with the other defaults never deploys (VoiceApi live needs relay)
    deployable = template_accepts and rules_accept({**defaults(), parameter: value})

    assert accepted(env) == deployable, f"{variable_of(parameter)}={value[:20]!r}"


@pytest.mark.parametrize("call_mode", PARAMETERS["CallMode"]["AllowedValues"])
@pytest.mark.parametrize("voice_api", PARAMETERS["VoiceApi"]["AllowedValues"])
def test_settings_accept_exactly_the_call_modes_the_rules_deploy_with_each_voice_api(
    voice_api: str, call_mode: str
) -> None:
    parameters = {**defaults(), "VoiceApi": voice_api, "CallMode": call_mode}

    assert accepted(environment(VoiceApi=voice_api, CallMode=call_mode)) == rules_accept(parameters)
    # GPT-Live is relayed only; Realtime keeps all three modes
    assert rules_accept(parameters) == (voice_api == "realtime" or call_mode == "relay")


def test_a_live_stack_at_the_templates_defaults_runs_with_settings_defaults() -> None:
    settings = load_settings(environment(VoiceApi="live", CallMode="relay"))

    assert (settings.voice_api, settings.call_mode) == ("live", "relay")
    assert (
        settings.live
        == load_settings(
            {name: value for name, value in environment().items() if not name.startswith("LIVE_")}
        ).live
    )


def test_the_issuer_in_force_reaches_the_settings_in_each_auth_mode() -> None:
    pool_issuer = SAMPLE_GETATT["AWS::Cognito::UserPool"]  # the created pool's ProviderURL

    assert load_settings(environment()).auth_issuer is None  # anonymous: today's behaviour
    assert load_settings(environment(JwtIssuer="https://example.eu.auth0.com/")).auth_issuer == (
        "https://example.eu.auth0.com/"
    )
    # the pool wins over a JwtIssuer left in place
    assert load_settings(environment(CreateUserPool="true", JwtIssuer="https://x.example/")).auth_issuer == (
        pool_issuer
    )


PATTERN_PROBES = {
    "MaxOutputTokens": ["1", "4096", "4097", "9999", "0", "inf", "-1", "10000"],
    "RealtimeModel": ["gpt-realtime-2.1", "gpt-realtime", "GPT-Realtime", "a" * 100, "a" * 101, "-x"],
    "LiveBackendModel": ["gpt-6-luna", "gpt-6-sol", "GPT-6", "a" * 100, "a" * 101, "-x", "gpt 6"],
    "LiveHostedTools": ["", "none", "web_search", "web_search,x", "x", "file_search", "Web_Search"],
    # what reaches AUTH_ISSUER (http, which settings allows on loopback for the local stack, is not probed)
    "JwtIssuer": [
        "",
        "https://example.eu.auth0.com/",
        "https://login.microsoftonline.com/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/v2.0",
        "https://example.okta.com/oauth2/default",
        "https://",
        "https://x/?q=1",
        "https://x/#f",
        "ftp://x",
        "x",
    ],
}


@pytest.mark.parametrize(
    ("parameter", "value"), [(p, v) for p, values in PATTERN_PROBES.items() for v in values]
)
def test_a_pattern_the_template_declares_admits_what_settings_admits(parameter: str, value: str) -> None:
    pattern = PARAMETERS[parameter]["AllowedPattern"]
    # CloudFormation matches the whole value against AllowedPattern.
    template_accepts = re.fullmatch(pattern, value) is not None

    assert accepted(environment(**{parameter: value})) == template_accepts, f"{parameter}={value[:20]!r}"
