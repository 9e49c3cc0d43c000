"""Issue 11 as `sam deploy` will create it, read from template.yaml: relayed calls have their routes, every
call's hangup is scheduled in the stack's own group and run by a role that can do nothing else, the
three functions read one configuration, each holds only what it uses, and the operator has a kill switch.

The roles are checked by asking what they allow: each policy is resolved with sample values for a stack
named realtime-vend in eu-west-1 and evaluated the way IAM matches actions, ARNs and StringEquals
conditions (only what these policies use: wildcards, no NotAction or Deny)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from template_contract.reader import (
    function_environment,
    function_properties,
    http_api_route_keys,
    load_template,
    nested_template,
)
from template_contract.values import condition, defaults

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
MONITORING: dict[str, dict[str, Any]] = load_template(nested_template("Monitoring"))["Resources"]
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
FUNCTIONS = ("VendFunction", "HangupFunction", "OperatorFunction")

ACCOUNT = "123456789012"
REGION = "eu-west-1"
STACK = "realtime-vend"
PREFIX = f"arn:aws:scheduler:{REGION}:{ACCOUNT}"
GROUP = f"{STACK}-calls"
HANGUP_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-hangup"
VEND_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-VendFunction-AbC123"
SCHEDULER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STACK}-SchedulerRole-AbC123"
VEND_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STACK}-VendFunctionRole-AbC123"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{STACK}-QuotaTable-AbC123"
OTHER_TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/someone-elses"
KEY_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:OpenAIApiKeySecret-AbCdEf"
ORIGIN_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:OriginVerifySecret-AbCdEf"
VISITOR_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:VisitorKeySecret-AbCdEf"
OUR_SCHEDULE = f"{PREFIX}:schedule/{GROUP}/call_0123456789abcdef0123456789abcdef"
# What CloudFormation gives for the references these policies make (Ref and GetAtt return values).
REFS = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": STACK,
    "CallScheduleGroup": GROUP,
    "OpenAIApiKeySecret": KEY_ARN,
    "OriginVerifySecret": ORIGIN_SECRET_ARN,
    "VisitorKeySecret": VISITOR_SECRET_ARN,
    "PauseParameter": f"/{STACK}/paused",
}
ATTRIBUTES = {
    "SchedulerRole.Arn": SCHEDULER_ROLE_ARN,
    "CallScheduleGroup.Arn": f"{PREFIX}:schedule-group/{GROUP}",
    "QuotaTable.Arn": TABLE_ARN,
    "VendLogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}-vend:*",
    "HangupLogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}-hangup:*",
    "OperatorLogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}-operator:*",
    "CompanionLogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}-companion:*",
}
_NO_VALUE = object()


def resolve(node: Any, params: dict[str, str]) -> Any:
    """A template value as CloudFormation would deploy it with `params` and the sample references."""
    if isinstance(node, list):
        return [v for v in (resolve(item, params) for item in node) if v is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        [(key, arg)] = node.items()
        if key in _INTRINSICS:
            return _INTRINSICS[key](arg, params)
    return {k: v for k, v in ((k, resolve(v, params)) for k, v in node.items()) if v is not _NO_VALUE}


def _ref(name: str, params: dict[str, str]) -> Any:
    if name == "AWS::NoValue":
        return _NO_VALUE
    return params[name] if name in params else REFS[name]


def _if(arg: list[Any], params: dict[str, str]) -> Any:
    name, then, otherwise = arg
    return resolve(then if condition(name, params) else otherwise, params)


def _sub(arg: str | list[Any], params: dict[str, str]) -> str:
    text, variables = (arg, {}) if isinstance(arg, str) else arg
    values = {k: resolve(v, params) for k, v in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match[1]
        if name in values:
            return str(values[name])
        return ATTRIBUTES[name] if "." in name else str(_ref(name, params))

    return re.sub(r"\$\{([^}!]+)\}", substitute, text)


_INTRINSICS: dict[str, Any] = {
    "Ref": _ref,
    "Fn::GetAtt": lambda arg, _params: ATTRIBUTES[".".join(arg)],
    "Fn::If": _if,
    "Fn::Sub": _sub,
    "Fn::Join": lambda arg, params: arg[0].join(str(resolve(item, params)) for item in arg[1]),
}


def statements(role: str, **overrides: str) -> list[dict[str, Any]]:
    properties = resolve(RESOURCES[role]["Properties"], defaults(**{"AWS::Region": REGION, **overrides}))
    return [s for policy in properties["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows(
    role: str, action: str, resource: str, context: dict[str, str] | None = None, **overrides: str
) -> bool:
    """Whether the role's policies allow `action` on `resource` (IAM wildcards: * any run, ? one char)."""
    for statement in statements(role, **overrides):
        assert statement["Effect"] == "Allow", statement  # no Deny to weigh in these policies
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(statement["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _listed(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"StringEquals"}, conditions
        if all((context or {}).get(k) in _listed(v) for k, v in conditions.get("StringEquals", {}).items()):
            return True
    return False


def roles() -> list[str]:
    return [name for name, r in RESOURCES.items() if r["Type"] == "AWS::IAM::Role"]


# One configuration, three functions


def test_the_three_functions_run_the_same_code_with_one_environment() -> None:
    environments = [function_environment(name) for name in FUNCTIONS]
    properties = [function_properties(name) for name in FUNCTIONS]

    assert environments[1] == environments[0] and environments[2] == environments[0]
    assert {p["CodeUri"] for p in properties} == {"functions/"}
    assert [p["Handler"] for p in properties] == [
        "vend.app.lambda_handler",
        "vend.hangup.lambda_handler",
        "vend.kill_switch.lambda_handler",
    ]
    assert {p["Runtime"] for p in properties} == {"python3.13"}


def test_every_call_variable_of_the_contract_is_set() -> None:
    variables = function_environment("VendFunction")

    assert {name: variables[name] for name in ("CALL_MODE", "MAX_CALL_SECONDS")} == {
        "CALL_MODE": {"Ref": "CallMode"},
        "MAX_CALL_SECONDS": {"Ref": "MaxCallSeconds"},
    }
    assert variables["CONCURRENT_CALLS_PER_VISITOR"] == {"Ref": "ConcurrentCallsPerVisitor"}
    assert variables["CALL_MINUTES_PER_VISITOR"] == {"Ref": "CallMinutesPerVisitor"}
    assert variables["CALL_MINUTES_PER_DAY"] == {"Ref": "CallMinutesPerDay"}
    assert variables["SCHEDULE_GROUP_NAME"] == {"Ref": "CallScheduleGroup"}
    assert variables["SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert variables["AWS_ENDPOINT_URL_SCHEDULER"] == ""  # declared so `sam local --env-vars` can set it
    # The name the hangup function is given, as an ARN: the one the schedules and their role name.
    assert resolve(variables["HANGUP_FUNCTION_ARN"], defaults()) == HANGUP_ARN
    assert resolve(RESOURCES["HangupFunction"]["Properties"]["FunctionName"], defaults()) == f"{STACK}-hangup"
    assert resolve(RESOURCES["CallScheduleGroup"]["Properties"]["Name"], defaults()) == GROUP


@pytest.mark.parametrize(
    ("parameter", "default", "low", "high"),
    [
        ("MaxCallSeconds", 600, 10, 3600),
        ("ConcurrentCallsPerVisitor", 1, 1, 10),
        ("CallMinutesPerVisitor", 30, 1, 1440),
        ("CallMinutesPerDay", 600, 1, 1_000_000),
    ],
)
def test_the_call_limits_have_the_contracts_defaults_bounds_and_a_price(
    parameter: str, default: int, low: int, high: int
) -> None:
    declared = PARAMETERS[parameter]

    assert (declared["Type"], declared["Default"], declared["MinValue"], declared["MaxValue"]) == (
        "Number",
        default,
        low,
        high,
    )
    assert "$0.096" in declared["Description"]


def test_client_secrets_stay_the_default_and_relay_is_recommended_for_public_sites() -> None:
    mode = PARAMETERS["CallMode"]

    assert (mode["Default"], mode["AllowedValues"]) == ("client_secret", ["client_secret", "relay", "both"])
    assert "relay (recommended for public sites)" in mode["Description"]
    assert RESOURCES["SitePublication"]["Properties"]["CallMode"] == {"Ref": "CallMode"}


def test_the_relay_routes_reach_the_vend_function() -> None:
    events = RESOURCES["VendFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()}

    assert {"POST /api/call", "DELETE /api/call/{id}", "ANY /api/session"} <= set(http_api_route_keys())
    assert {("POST", "/api/call"), ("DELETE", "/api/call/{id}")} <= routes
    # any other method on those paths still reaches the handler (405 with Allow), not API Gateway's 404
    assert ("ANY", "/api/{proxy+}") in routes
    assert all(e["Properties"]["ApiId"] == {"Ref": "HttpApi"} for e in events.values())
    assert (
        "DELETE"
        in RESOURCES["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"][0][
            "AllowedMethods"
        ]
    )


def test_hangup_and_kill_switch_have_their_timeouts_and_their_own_logs() -> None:
    for name, timeout, group in (
        ("HangupFunction", 30, "HangupLogGroup"),
        ("OperatorFunction", 300, "OperatorLogGroup"),
    ):
        function = function_properties(name)

        assert function["Timeout"] == timeout, name
        assert function["LoggingConfig"] == {"LogGroup": {"Ref": group}, "LogFormat": "JSON"}
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert "ReservedConcurrentExecutions" not in function  # a throttled hangup is a call running on
        assert function["Architectures"] == [{"Ref": "Architecture"}]


# Least privilege


def test_the_vend_function_schedules_only_in_its_group_and_passes_only_the_scheduler_role() -> None:
    to_scheduler = {"iam:PassedToService": "scheduler.amazonaws.com"}

    assert allows("VendFunctionRole", "scheduler:CreateSchedule", OUR_SCHEDULE)
    assert allows("VendFunctionRole", "scheduler:DeleteSchedule", OUR_SCHEDULE)
    for elsewhere in ("default", f"{GROUP}-x", "other-stack-calls"):
        assert not allows(
            "VendFunctionRole", "scheduler:CreateSchedule", f"{PREFIX}:schedule/{elsewhere}/call_1"
        )
    assert not allows("VendFunctionRole", "scheduler:UpdateSchedule", OUR_SCHEDULE)
    assert not allows("VendFunctionRole", "scheduler:DeleteScheduleGroup", f"{PREFIX}:schedule-group/{GROUP}")

    assert allows("VendFunctionRole", "iam:PassRole", SCHEDULER_ROLE_ARN, to_scheduler)
    assert not allows(
        "VendFunctionRole",
        "iam:PassRole",
        SCHEDULER_ROLE_ARN,
        {"iam:PassedToService": "lambda.amazonaws.com"},
    )
    assert not allows("VendFunctionRole", "iam:PassRole", VEND_ROLE_ARN, to_scheduler)


def test_the_vend_function_holds_calls_in_its_table_and_nowhere_else() -> None:
    for action in ("PutItem", "UpdateItem", "GetItem", "DeleteItem"):
        assert allows("VendFunctionRole", f"dynamodb:{action}", TABLE_ARN), action
        assert not allows("VendFunctionRole", f"dynamodb:{action}", OTHER_TABLE_ARN), action
    assert not allows("VendFunctionRole", "dynamodb:Scan", TABLE_ARN)


def test_the_hangup_function_ends_calls_and_cannot_start_schedules_or_read_the_other_secrets() -> None:
    assert allows("HangupFunctionRole", "secretsmanager:GetSecretValue", KEY_ARN)
    for action in ("GetItem", "UpdateItem", "DeleteItem"):
        assert allows("HangupFunctionRole", f"dynamodb:{action}", TABLE_ARN), action
    assert not allows("HangupFunctionRole", "dynamodb:Scan", TABLE_ARN)
    assert not allows("HangupFunctionRole", "dynamodb:PutItem", TABLE_ARN)
    assert not allows("HangupFunctionRole", "scheduler:CreateSchedule", OUR_SCHEDULE)
    assert not allows(
        "HangupFunctionRole",
        "iam:PassRole",
        SCHEDULER_ROLE_ARN,
        {"iam:PassedToService": "scheduler.amazonaws.com"},
    )
    for secret in (ORIGIN_SECRET_ARN, VISITOR_SECRET_ARN):
        assert not allows("HangupFunctionRole", "secretsmanager:GetSecretValue", secret)
    assert not allows(
        "HangupFunctionRole", "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{STACK}/paused"
    )


def test_the_kill_switch_finds_every_call_and_deletes_schedules_but_creates_none() -> None:
    assert allows("OperatorFunctionRole", "secretsmanager:GetSecretValue", KEY_ARN)
    for action in ("Scan", "GetItem", "UpdateItem", "DeleteItem"):
        assert allows("OperatorFunctionRole", f"dynamodb:{action}", TABLE_ARN), action
    assert allows("OperatorFunctionRole", "scheduler:DeleteSchedule", OUR_SCHEDULE)
    assert not allows("OperatorFunctionRole", "scheduler:DeleteSchedule", f"{PREFIX}:schedule/default/call_1")
    assert not allows("OperatorFunctionRole", "scheduler:CreateSchedule", OUR_SCHEDULE)
    assert not allows(
        "OperatorFunctionRole",
        "iam:PassRole",
        SCHEDULER_ROLE_ARN,
        {"iam:PassedToService": "scheduler.amazonaws.com"},
    )


@pytest.mark.parametrize("role", ["HangupFunctionRole", "OperatorFunctionRole"])
def test_an_existing_key_and_its_kms_key_reach_the_hangup_and_the_kill_switch_too(role: str) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:openai"
    kms = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}

    assert allows(role, "secretsmanager:GetSecretValue", f"{arn}-AbCdEf", ExistingSecretArn=arn)
    assert not allows(role, "secretsmanager:GetSecretValue", KEY_ARN, ExistingSecretArn=arn)
    assert allows(role, "kms:Decrypt", kms, via, ExistingSecretKmsKeyArn=kms)
    assert not allows(role, "kms:Decrypt", kms, {}, ExistingSecretKmsKeyArn=kms)


def test_only_the_vend_function_may_pass_a_role_or_create_a_schedule() -> None:
    granted = {
        role: {a.lower() for s in statements(role) for a in _listed(s["Action"])}
        for role in roles()
        if "Policies" in RESOURCES[role]["Properties"]
    }

    assert [r for r, actions in granted.items() if "iam:passrole" in actions] == ["VendFunctionRole"]
    assert [r for r, actions in granted.items() if "scheduler:createschedule" in actions] == [
        "VendFunctionRole"
    ]
    assert all(not any("*" in a for a in actions) for actions in granted.values())  # no wildcard actions


def test_the_scheduler_role_can_only_invoke_the_hangup_function() -> None:
    assert allows("SchedulerRole", "lambda:InvokeFunction", HANGUP_ARN)
    assert not allows("SchedulerRole", "lambda:InvokeFunction", VEND_ARN)
    assert not allows("SchedulerRole", "lambda:InvokeFunction", f"{HANGUP_ARN}-x")
    assert [_listed(s["Action"]) for s in statements("SchedulerRole")] == [["lambda:InvokeFunction"]]


def test_only_eventbridge_scheduler_may_assume_the_scheduler_role_for_this_accounts_call_group() -> None:
    trust = resolve(RESOURCES["SchedulerRole"]["Properties"]["AssumeRolePolicyDocument"], defaults())

    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": ACCOUNT,
                    "aws:SourceArn": f"{PREFIX}:schedule-group/{GROUP}",
                }
            },
        }
    ]


def test_the_functions_use_the_templates_roles() -> None:
    assert {name: RESOURCES[name]["Properties"]["Role"] for name in FUNCTIONS} == {
        name: {"Fn::GetAtt": [f"{name}Role", "Arn"]} for name in FUNCTIONS
    }
    assert "Policies" not in RESOURCES["HangupFunction"]["Properties"]


# Operations


def test_the_kill_switch_command_invokes_the_operator_function_with_its_action() -> None:
    outputs = TEMPLATE["Outputs"]
    command = shlex.split(outputs["KillSwitchCommand"]["Value"]["Fn::Sub"])

    assert command[:3] == ["aws", "lambda", "invoke"]
    options = dict(zip(command[3:-1:2], command[4:-1:2], strict=True))
    assert options == {
        "--region": "${AWS::Region}",
        "--function-name": "${OperatorFunction}",
        # AWS CLI v2 reads --payload as base64 without it
        "--cli-binary-format": "raw-in-base64-out",
        # the CLI's default 60 s read timeout would retry (invoke again) a kill switch still at work
        "--cli-read-timeout": str(RESOURCES["OperatorFunction"]["Properties"]["Timeout"] + 10),
        "--payload": '{"action":"end_all_calls"}',
    }
    assert json.loads(options["--payload"]) == {"action": "end_all_calls"}
    assert command[-1] == "/dev/stdout"
    assert outputs["CallMode"]["Value"] == {"Ref": "CallMode"}
    assert list(outputs)[-1] == "PageUrl"


def test_a_hangup_that_failed_alarms_at_once() -> None:
    alarm = MONITORING["HangupFailuresAlarm"]["Properties"]
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    watched = {
        (q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
        for q in alarm["Metrics"]
        if "MetricStat" in q
    }
    [expression] = [q for q in alarm["Metrics"] if q.get("ReturnData")]

    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert ("RealtimeVend", "HangupFailures") in watched and ("AWS/Lambda", "Errors") in watched
    # every figure counts even when the others have no data in the period
    for name in (i for i, q in queries.items() if "MetricStat" in q):
        assert f"FILL({name}, 0)" in expression["Expression"]
    assert "KillSwitchCommand" in alarm["AlarmDescription"]


def test_the_dashboard_shows_calls_started_and_ended() -> None:
    body = MONITORING["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "0", body))
    [calls] = [w for w in dashboard["widgets"] if w["properties"]["title"] == "Relayed calls"]

    assert [row[1] for row in calls["properties"]["metrics"]][:2] == ["CallsStarted", "CallsEnded"]


@pytest.mark.slow
def test_cloudformation_gets_four_plain_copies_of_the_environment(sam_build: Path) -> None:
    # The template shares one environment through a YAML alias; `sam build` writes what is deployed.
    built = load_template(sam_build / "template.yaml")
    environments = [
        built["Resources"][name]["Properties"]["Environment"]["Variables"]
        for name in (*FUNCTIONS, "CompanionFunction")
    ]
    text = (sam_build / "template.yaml").read_text()

    assert environments[0] == environments[1] == environments[2] == environments[3]
    assert "CALL_MODE" in environments[0]
    assert not re.search(r"(^|\s)[&*]FunctionEnvironment\b|[&*]id0", text)
