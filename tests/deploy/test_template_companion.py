"""Issue 18 as `sam deploy` will create it, read from template.yaml and monitoring/template.yaml: every
relayed call's companion is a function of its own, with a role that holds exactly what it uses, that only
the vend function (and the companion itself, to hand over) may invoke, that no API reaches, that exists
only when calls are relayed; its failures and the metered spend are alarmed and on the dashboard.

The roles are resolved and asked as in test_template_calls.py (sample ARNs of a stack named realtime-vend
in eu-west-1); the alarm's threshold is computed from the parameters with template_contract's evaluator."""

from __future__ import annotations

import ast
import json
import operator
import re
from collections.abc import Callable
from typing import Any

import pytest

from template_contract.reader import function_environment, function_properties, load_template, nested_template
from template_contract.values import condition, defaults, evaluate
from tests.deploy.test_template_calls import (
    ACCOUNT,
    GROUP,
    HANGUP_ARN,
    KEY_ARN,
    ORIGIN_SECRET_ARN,
    OTHER_TABLE_ARN,
    OUR_SCHEDULE,
    PREFIX,
    REGION,
    RESOURCES,
    SCHEDULER_ROLE_ARN,
    STACK,
    TABLE_ARN,
    VEND_ARN,
    VISITOR_SECRET_ARN,
    allows,
    resolve,
    roles,
    statements,
)

TEMPLATE = load_template()
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
MONITORING_TEMPLATE = load_template(nested_template("Monitoring"))
MONITORING: dict[str, dict[str, Any]] = MONITORING_TEMPLATE["Resources"]
COMPANION = f"{STACK}-companion"
COMPANION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{COMPANION}"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{COMPANION}:*"
RELAYED = ("relay", "both")
# The companion's resources: they exist only when calls are relayed.
COMPANION_RESOURCES = ("CompanionFunction", "CompanionFunctionRole", "CompanionLogGroup")


# The function


def test_the_companion_runs_the_functions_code_with_their_environment_for_up_to_lambdas_15_minutes() -> None:
    companion = function_properties("CompanionFunction")
    vend = function_properties("VendFunction")

    assert RESOURCES["CompanionFunction"]["Metadata"]["BuildMethod"] == "makefile"  # functions/Makefile
    assert (companion["CodeUri"], companion["Runtime"]) == (vend["CodeUri"], vend["Runtime"])
    assert companion["Handler"] == "vend.companion.handler.lambda_handler"
    assert resolve(companion["FunctionName"], defaults()) == COMPANION
    assert (companion["Timeout"], companion["MemorySize"]) == (900, 256)
    assert companion["Architectures"] == [{"Ref": "Architecture"}]
    assert companion["Tracing"] == vend["Tracing"]
    assert function_environment("CompanionFunction") == function_environment("VendFunction")
    assert companion["LoggingConfig"] == {"LogGroup": {"Ref": "CompanionLogGroup"}, "LogFormat": "JSON"}
    group = RESOURCES["CompanionLogGroup"]["Properties"]
    assert resolve(group["LogGroupName"], defaults()) == f"/aws/lambda/{COMPANION}"
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_no_api_reaches_the_companion_and_it_takes_no_concurrency_from_the_apis() -> None:
    companion = function_properties("CompanionFunction")
    integrations = [r for r in RESOURCES.values() if r["Type"] == "AWS::ApiGatewayV2::Integration"]
    permissions = [r for r in RESOURCES.values() if r["Type"] == "AWS::Lambda::Permission"]

    assert "Events" not in companion
    assert "ReservedConcurrentExecutions" not in companion  # one per live call, from the account's pool
    assert all("Companion" not in json.dumps(r) for r in integrations + permissions)


def test_lambda_retries_a_failed_companion_twice_and_drops_it_only_once_no_call_can_be_live() -> None:
    config = function_properties("CompanionFunction")["EventInvokeConfig"]
    longest_call = PARAMETERS["MaxCallSeconds"]["MaxValue"]

    assert config["MaximumRetryAttempts"] == 2
    # Lambda retries about 1 and then 2 minutes after a failure: both retries fit...
    assert config["MaximumEventAgeInSeconds"] >= 3 * 60
    # ...and so does the longest call any stack may have (a retry or hand-over late in it still helps),
    assert config["MaximumEventAgeInSeconds"] >= longest_call
    # but no more: Lambda's default keeps an event 6 hours, long after its call ended.
    assert config["MaximumEventAgeInSeconds"] == longest_call == 3600


# Only when calls are relayed


@pytest.mark.parametrize(("mode", "relayed"), [("client_secret", False), ("relay", True), ("both", True)])
def test_the_companion_exists_and_is_named_to_the_vend_function_only_when_calls_are_relayed(
    mode: str, relayed: bool
) -> None:
    params = defaults(CallMode=mode)
    variables = function_environment("VendFunction")

    assert condition("ServesRelay", params) is relayed
    assert all(RESOURCES[name].get("Condition") == "ServesRelay" for name in COMPANION_RESOURCES)
    named = resolve(variables["COMPANION_FUNCTION_NAME"], {**params, "AWS::Region": REGION})
    assert named == (COMPANION if relayed else "")
    if relayed:  # the name the vend function invokes is the name the function is given
        assert named == resolve(RESOURCES["CompanionFunction"]["Properties"]["FunctionName"], params)


def _references(node: Any) -> set[str]:
    """Every resource or parameter a template value names (Ref, GetAtt, and ${...} in Sub)."""
    if isinstance(node, list):
        return {name for item in node for name in _references(item)}
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref":
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add(value[0])
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= _references(value[1:]) if isinstance(value, list) else set()
        else:
            found |= _references(value)
    return found


def test_only_resources_that_exist_with_the_companion_refer_to_it() -> None:
    # A stack that does not relay has none of them: a reference from elsewhere would fail its deploy.
    referring = {
        name
        for name, resource in RESOURCES.items()
        if name not in COMPANION_RESOURCES and _references(resource) & set(COMPANION_RESOURCES)
    }

    assert referring == {"CompanionFunction", "CompanionFunctionRole"} - set(COMPANION_RESOURCES)
    assert not _references(TEMPLATE["Outputs"]) & set(COMPANION_RESOURCES)


# Least privilege


def _granted(role: str, **overrides: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the role's statements name, resolved with the sample values."""
    return {
        (action, resource)
        for s in statements(role, **overrides)
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }


COMPANION_GRANTS = {
    ("logs:CreateLogStream", LOG_GROUP_ARN),
    ("logs:PutLogEvents", LOG_GROUP_ARN),
    ("secretsmanager:GetSecretValue", KEY_ARN),
    *(
        (f"dynamodb:{action}", TABLE_ARN)
        for action in ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem")
    ),
    ("scheduler:DeleteSchedule", f"{PREFIX}:schedule/{GROUP}/*"),
    ("lambda:InvokeFunction", COMPANION_ARN),
}


def test_the_companions_role_grants_exactly_what_it_uses() -> None:
    role = RESOURCES["CompanionFunctionRole"]["Properties"]

    assert _granted("CompanionFunctionRole") == COMPANION_GRANTS
    assert resolve(role["AssumeRolePolicyDocument"], defaults())["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert "ManagedPolicyArns" not in role
    assert function_properties("CompanionFunction")["Role"] == {
        "Fn::GetAtt": ["CompanionFunctionRole", "Arn"]
    }
    assert "Policies" not in function_properties("CompanionFunction")


def test_the_companion_writes_traces_only_when_tracing_is_on() -> None:
    traced = _granted("CompanionFunctionRole", TracingEnabled="true") - COMPANION_GRANTS

    assert traced == {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}


def test_an_existing_key_and_its_kms_key_reach_the_companion() -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:openai"
    kms = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}

    assert allows(
        "CompanionFunctionRole", "secretsmanager:GetSecretValue", f"{arn}-AbCdEf", ExistingSecretArn=arn
    )
    assert not allows(
        "CompanionFunctionRole", "secretsmanager:GetSecretValue", KEY_ARN, ExistingSecretArn=arn
    )
    assert allows("CompanionFunctionRole", "kms:Decrypt", kms, via, ExistingSecretKmsKeyArn=kms)
    assert not allows("CompanionFunctionRole", "kms:Decrypt", kms, {}, ExistingSecretKmsKeyArn=kms)


def test_the_companion_cannot_read_the_other_secrets_start_schedules_or_reach_other_functions() -> None:
    role = "CompanionFunctionRole"
    to_scheduler = {"iam:PassedToService": "scheduler.amazonaws.com"}

    for secret in (ORIGIN_SECRET_ARN, VISITOR_SECRET_ARN):
        assert not allows(role, "secretsmanager:GetSecretValue", secret)
    assert not allows(role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{STACK}/paused")
    assert not allows(role, "dynamodb:Scan", TABLE_ARN)
    assert not allows(role, "dynamodb:PutItem", OTHER_TABLE_ARN)
    assert allows(role, "scheduler:DeleteSchedule", OUR_SCHEDULE)
    assert not allows(role, "scheduler:DeleteSchedule", f"{PREFIX}:schedule/default/call_1")
    assert not allows(role, "scheduler:CreateSchedule", OUR_SCHEDULE)
    assert not allows(role, "iam:PassRole", SCHEDULER_ROLE_ARN, to_scheduler)
    assert allows(role, "lambda:InvokeFunction", COMPANION_ARN)  # the hand-over
    for other in (HANGUP_ARN, VEND_ARN, f"{COMPANION_ARN}-x", f"{COMPANION_ARN}:1"):
        assert not allows(role, "lambda:InvokeFunction", other), other


@pytest.mark.parametrize("mode", RELAYED)
def test_the_vend_function_may_invoke_the_companion_and_no_other_function(mode: str) -> None:
    invokes = {r for a, r in _granted("VendFunctionRole", CallMode=mode) if a == "lambda:InvokeFunction"}

    assert invokes == {COMPANION_ARN}
    assert allows("VendFunctionRole", "lambda:InvokeFunction", COMPANION_ARN, CallMode=mode)
    for other in (HANGUP_ARN, VEND_ARN, f"{COMPANION_ARN}-x"):
        assert not allows("VendFunctionRole", "lambda:InvokeFunction", other, CallMode=mode), other


def test_without_relayed_calls_the_vend_function_may_invoke_no_function() -> None:
    assert not any(a.startswith("lambda:") for a, _ in _granted("VendFunctionRole", CallMode="client_secret"))


def test_who_may_invoke_which_function() -> None:
    invoking = {
        role: sorted(r for a, r in _granted(role, CallMode="relay") if a == "lambda:InvokeFunction")
        for role in roles()
        if "Policies" in RESOURCES[role]["Properties"]
    }

    assert {role: arns for role, arns in invoking.items() if arns} == {
        "VendFunctionRole": [COMPANION_ARN],
        "CompanionFunctionRole": [COMPANION_ARN],
        "SchedulerRole": [HANGUP_ARN],
    }


# Alarms and the dashboard


def _alarm(name: str) -> dict[str, Any]:
    resource = MONITORING[name]
    assert resource["Type"] == "AWS::CloudWatch::Alarm"
    assert resource.get("Condition") == "ServesRelay"  # a stack that relays no call has no companion
    properties: dict[str, Any] = resource["Properties"]
    return properties


def _watched(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["Id"]: q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q}


def _expression(alarm: dict[str, Any]) -> Any:
    [query] = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    return query["Expression"]


def test_the_nested_stack_is_told_what_the_companions_alarms_need() -> None:
    passed = RESOURCES["Monitoring"]["Properties"]["Parameters"]
    declared = MONITORING_TEMPLATE["Parameters"]

    assert {name: passed[name] for name in ("CallMode", "CallDollarsPerDay", "RealtimeModel")} == {
        "CallMode": {"Ref": "CallMode"},
        "CallDollarsPerDay": {"Ref": "CallDollarsPerDay"},
        "RealtimeModel": {"Ref": "RealtimeModel"},
    }
    assert passed["TranscriptionModel"] == {"Ref": "TranscriptionModel"}
    assert passed["LiveModel"] == {"Ref": "LiveModel"}
    assert passed["LiveBackendModel"] == {"Ref": "LiveBackendModel"}
    assert {n for n, p in declared.items() if "Default" not in p} <= set(passed) <= set(declared)
    for mode, relayed in (("client_secret", False), ("relay", True), ("both", True)):
        assert condition("ServesRelay", {"CallMode": mode}, MONITORING_TEMPLATE) is relayed


def test_a_companion_that_failed_alarms_at_once() -> None:
    alarm = _alarm("CompanionFailuresAlarm")
    watched = _watched(alarm)
    reported = watched["reported"]

    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["EvaluationPeriods"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
        1,
    )
    assert (reported["Metric"]["Namespace"], reported["Metric"]["MetricName"]) == (
        "RealtimeVend",
        "CompanionFailures",
    )
    assert (reported["Stat"], reported["Period"]) == ("Sum", 300)
    assert reported["Metric"]["Dimensions"] == [{"Name": "service", "Value": "realtime-vend"}]
    # Lambda's own figures for the function template.yaml names <stack>-companion
    for query in ("crashed", "dropped"):
        [dimension] = watched[query]["Metric"]["Dimensions"]
        assert dimension == {"Name": "FunctionName", "Value": {"Fn::Sub": "${StackName}-companion"}}
        assert (watched[query]["Stat"], watched[query]["Period"]) == ("Sum", 300)
    for query in watched:
        assert f"FILL({query}, 0)" in _expression(alarm)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _arithmetic(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _arithmetic(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_arithmetic(node.left), _arithmetic(node.right))
    raise AssertionError(f"not plain arithmetic: {ast.dump(node)}")


def _alarm_value(expression: str, figures: dict[str, float]) -> float:
    """A metric-math expression of FILL(id, 0) terms and arithmetic, with each id's figure (0 if absent)."""
    filled = re.sub(r"FILL\((\w+), 0\)", lambda m: repr(figures.get(m[1], 0.0)), expression)
    return _arithmetic(ast.parse(filled, mode="eval"))


def _spend_alarm_fires(micro_usd: dict[str, float], **parameters: str) -> bool:
    alarm = _alarm("SpendBudgetAlarm")
    params = {**defaults(MONITORING_TEMPLATE), **parameters}
    expression = evaluate(_expression(alarm), params, MONITORING_TEMPLATE)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    return _alarm_value(expression, micro_usd) >= float(alarm["Threshold"])


@pytest.mark.parametrize("dollars_per_day", ["20", "0.5", "1000"])
def test_the_spend_alarm_fires_at_80_percent_of_call_dollars_per_day(dollars_per_day: str) -> None:
    budget_micro_usd = round(float(dollars_per_day) * 1_000_000)
    at_80 = budget_micro_usd * 0.8

    # the realtime model's and the transcription model's spend add up
    assert _spend_alarm_fires(
        {"realtime": at_80 * 0.75, "transcription": at_80 * 0.25}, CallDollarsPerDay=dollars_per_day
    )
    assert _spend_alarm_fires({"realtime": at_80}, CallDollarsPerDay=dollars_per_day)  # no transcription
    # GPT-Live's seconds and its backend's tokens add up too
    assert _spend_alarm_fires(
        {"live": at_80 * 0.9, "backend": at_80 * 0.1}, CallDollarsPerDay=dollars_per_day
    )
    assert not _spend_alarm_fires({"live": at_80 * 0.9, "backend": 0}, CallDollarsPerDay=dollars_per_day)
    assert not _spend_alarm_fires({"realtime": at_80 - 1}, CallDollarsPerDay=dollars_per_day)
    assert not _spend_alarm_fires({}, CallDollarsPerDay=dollars_per_day)


def test_the_spend_alarm_sums_the_stacks_models_over_a_day_and_says_which_day() -> None:
    alarm = _alarm("SpendBudgetAlarm")
    watched = _watched(alarm)
    description = alarm["AlarmDescription"]["Fn::Sub"]

    assert set(watched) == {"realtime", "transcription", "live", "backend"}
    for query, parameter in (
        ("realtime", "RealtimeModel"),
        ("transcription", "TranscriptionModel"),
        ("live", "LiveModel"),
        ("backend", "LiveBackendModel"),
    ):
        metric = watched[query]["Metric"]
        assert (metric["Namespace"], metric["MetricName"]) == ("RealtimeVend", "SpendMicroUSD")
        assert metric["Dimensions"] == [
            {"Name": "service", "Value": "realtime-vend"},
            {"Name": "Model", "Value": {"Ref": parameter}},
        ]
        assert (watched[query]["Stat"], watched[query]["Period"]) == ("Sum", 86_400)  # an alarm's longest
    assert "rolling day" in description and "UTC day" in description
    assert "${CallDollarsPerDay}" in description
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_dashboard_shows_the_spend_of_every_model_and_the_companions() -> None:
    body = MONITORING["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "0", body))
    widgets = {w["properties"]["title"]: w["properties"] for w in dashboard["widgets"]}
    spend = widgets["Metered spend by model (US dollars per hour)"]
    expressions = {row[0]["id"]: row[0] for row in spend["metrics"]}
    companions = [row[1] for row in widgets["Companions"]["metrics"]]

    # one line per Model SpendMicroUSD carries, whichever models the stack has used
    search = expressions["spend"]["expression"]
    assert search.startswith("SEARCH('{RealtimeVend,Model,service} MetricName=\"SpendMicroUSD\"', 'Sum', ")
    assert expressions["dollars"]["expression"] == "spend / 1000000"
    assert expressions["spend"]["visible"] is False
    assert companions[:3] == ["CompanionFailures", "Errors", "AsyncEventsDropped"]
    assert '"FunctionName", "${StackName}-companion"' in body
