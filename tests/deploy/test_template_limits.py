"""Issue 10 as `sam deploy` will create it, read from template.yaml (and its nested monitoring stack): only
CloudFront reaches the API, the quotas have their table and their limits, an operator can pause, the role
holds no more than it uses, the throttles fit the reserved concurrency, the alarms watch figures that
exist, and the logs keep no query string."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from template_contract.reader import (
    function_environment,
    http_api_route_keys,
    http_api_route_settings,
    load_template,
    nested_template,
)
from template_contract.values import NO_VALUE, condition, defaults, evaluate
from tests.conftest import REPO

SAM_PYTHON = REPO / ".venv-tools" / "bin" / "python"
TEMPLATE = load_template()
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
MONITORING_TEMPLATE = load_template(nested_template("Monitoring"))
MONITORING: dict[str, dict[str, Any]] = MONITORING_TEMPLATE["Resources"]
CONTRACT_METRICS = {
    "Requests",
    "ClientSecretsMinted",
    "UpstreamLatency",
    "MintFailures",
    "QuotaRejected",
    "DailyCapReached",
    "QuotaUnavailable",
    "ServicePaused",
    "OriginRefused",
    "CrossSiteRefused",
    # issue 11: relayed calls (the vend and hangup functions)
    "CallsStarted",
    "CallsEnded",
    "CallsRefused_concurrent_calls",
    "ScheduledHangups",
    "HangupFailures",
    # issue 18: the companion (functions/vend/observability.py)
    "CompanionFailures",
    "SpendMicroUSD",
}
UPSTREAM_ERROR = re.compile(r"UpstreamError_[a-z_]+")
# What AWS publishes for the resources we alarm on (Lambda, HTTP API, DynamoDB metric pages).
AWS_METRICS = {
    "AWS/Lambda": {
        "Invocations",
        "Errors",
        "Throttles",
        "ConcurrentExecutions",
        "Duration",
        "AsyncEventsDropped",
    },
    "AWS/ApiGateway": {"Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed"},
    "AWS/DynamoDB": {
        "WriteThrottleEvents",
        "ReadThrottleEvents",
        "ThrottledRequests",
        "ConsumedWriteCapacityUnits",
    },
    "AWS/Scheduler": {"InvocationAttemptCount", "TargetErrorCount", "InvocationDroppedCount"},
}


def _statements(**overrides: str) -> list[dict[str, Any]]:
    role = evaluate(RESOURCES["VendFunctionRole"]["Properties"], defaults(**overrides))
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _granted(action_prefix: str, **overrides: str) -> list[Any]:
    return [
        s["Resource"]
        for s in _statements(**overrides)
        if any(a.startswith(action_prefix) for a in _actions(s))
    ]


# Only through CloudFront


def test_cloudfront_sends_the_generated_origin_secret_that_a_direct_call_lacks() -> None:
    distribution = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]
    api = next(o for o in distribution["Origins"] if o["Id"] == "api")
    generated = RESOURCES["OriginVerifySecret"]["Properties"]["GenerateSecretString"]

    assert api["OriginCustomHeaders"] == [
        {
            "HeaderName": "X-Origin-Verify",
            "HeaderValue": {
                "Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString:current}}"
            },
        }
    ]
    assert json.loads(generated["SecretStringTemplate"]) == {"previous": ""}
    assert generated["GenerateStringKey"] == "current"
    assert generated["PasswordLength"] >= 32 and generated["ExcludePunctuation"] is True
    # CloudFront re-reads the secret only when the distribution changes: the generation is part of it.
    assert "${OriginVerifyGeneration}" in distribution["Comment"]["Fn::Sub"]
    assert "answers 403" in TEMPLATE["Outputs"]["ExecuteApiUrl"]["Description"]


def test_the_visitor_key_is_a_generated_64_character_string() -> None:
    generated = RESOURCES["VisitorKeySecret"]["Properties"]["GenerateSecretString"]

    assert generated == {"PasswordLength": 64, "ExcludePunctuation": True}


@pytest.mark.parametrize(
    ("viewer_headers", "forwarded_host"),
    [
        ({"host": {"value": "d111.cloudfront.net"}}, "d111.cloudfront.net"),
        (
            {"host": {"value": "d111.cloudfront.net"}, "x-forwarded-host": {"value": "evil.example"}},
            "d111.cloudfront.net",
        ),
        ({"x-forwarded-host": {"value": "evil.example"}}, None),
    ],
)
def test_the_viewer_request_function_sets_x_forwarded_host_to_the_viewers_host_whatever_it_sent(
    tmp_path: Path, viewer_headers: dict[str, Any], forwarded_host: str | None
) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed (scripts/bootstrap --node installs it)"
    function = RESOURCES["ApiForwardedHostFunction"]["Properties"]
    [association] = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"][0][
        "FunctionAssociations"
    ]
    script = tmp_path / "run.js"
    script.write_text(
        function["FunctionCode"]
        + f"\nconsole.log(JSON.stringify(handler({{request: {{headers: {json.dumps(viewer_headers)}}}}})));\n"
    )

    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=30, check=True)
    headers = json.loads(result.stdout)["headers"]

    assert (headers.get("x-forwarded-host") or {}).get("value") == forwarded_host
    assert headers.get("host") == viewer_headers.get("host")
    assert association["EventType"] == "viewer-request"
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


# Quotas, the pause switch, the function's configuration


def test_every_contract_variable_is_set_and_the_limits_are_the_parameters() -> None:
    variables = function_environment("VendFunction")

    assert variables["ORIGIN_VERIFY_SECRET_ARN"] == {"Ref": "OriginVerifySecret"}
    assert variables["VISITOR_KEY_SECRET_ARN"] == {"Ref": "VisitorKeySecret"}
    assert variables["QUOTA_TABLE_NAME"] == {"Ref": "QuotaTable"}
    assert variables["PAUSE_PARAMETER_NAME"] == {"Ref": "PauseParameter"}
    assert variables["QUOTA_PER_VISITOR"] == {"Ref": "QuotaPerVisitor"}
    assert variables["QUOTA_WINDOW_SECONDS"] == {"Ref": "QuotaWindowSeconds"}
    assert variables["DAILY_CAP"] == {"Ref": "DailyCap"}
    assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == variables["AWS_ENDPOINT_URL_SSM"] == ""


@pytest.mark.parametrize(
    ("parameter", "default", "low", "high"),
    [
        ("QuotaPerVisitor", 10, 1, 10_000),
        ("QuotaWindowSeconds", 600, 60, 86_400),
        ("DailyCap", 200, 1, 1_000_000),
    ],
)
def test_the_limits_have_the_contracts_defaults_bounds_and_a_price(
    parameter: str, default: int, low: int, high: int
) -> None:
    declared = PARAMETERS[parameter]

    assert (declared["Default"], declared["MinValue"], declared["MaxValue"]) == (default, low, high)
    assert re.search(r"cost|bill|spend|\$", declared["Description"])


def test_the_quota_table_is_on_demand_keyed_by_pk_and_expires_its_counters() -> None:
    table = RESOURCES["QuotaTable"]["Properties"]

    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_pause_switch_is_created_serving_and_the_outputs_say_how_to_flip_it() -> None:
    parameter = RESOURCES["PauseParameter"]["Properties"]
    outputs = TEMPLATE["Outputs"]

    assert (parameter["Name"], parameter["Type"], parameter["Value"]) == (
        {"Fn::Sub": "/${AWS::StackName}/paused"},
        "String",
        "false",
    )
    for output, value in (("PauseCommand", "true"), ("ResumeCommand", "false")):
        command = "aws ssm put-parameter --region ${AWS::Region} --name ${PauseParameter}"
        assert outputs[output]["Value"]["Fn::Sub"] == f"{command} --value {value} --overwrite"
    assert list(outputs)[-1] == "PageUrl"


# Least privilege


def test_the_function_may_use_only_its_table_and_read_only_its_pause_switch() -> None:
    statements = _statements()
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    ssm = [s for s in statements if any(a.startswith("ssm:") for a in _actions(s))]

    # each operation of a transaction needs its single-item twin (DynamoDB's transactions IAM page):
    # Update for counters, Put for a call's lease and record, Delete to free a lease; GetItem reads a
    # call and is init's connection warm-up; BatchGetItem sums the day's spend shards at admission.
    # Nothing that scans or reaches another table.
    assert [(sorted(_actions(s)), s["Resource"]) for s in dynamodb] == [
        (
            [
                "dynamodb:BatchGetItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            ],
            {"Fn::GetAtt": ["QuotaTable", "Arn"]},
        )
    ]
    assert [_actions(s) for s in ssm] == [["ssm:GetParameter"]]
    assert ssm[0]["Resource"]["Fn::Sub"].endswith(":parameter${PauseParameter}")
    assert all(s["Resource"] != "*" for s in statements if not _actions(s)[0].startswith("xray:"))


@pytest.mark.parametrize(("tracing", "may_trace"), [("false", False), ("true", True)])
def test_the_function_may_write_traces_only_when_tracing_is_on(tracing: str, may_trace: bool) -> None:
    assert bool(_granted("xray:", TracingEnabled=tracing)) is may_trace


def test_sam_attaches_no_role_of_its_own_so_no_xray_policy_when_tracing_is_off() -> None:
    assert SAM_PYTHON.exists(), "run scripts/bootstrap --tools first (SAM CLI lives in .venv-tools)"
    code = f"""
import json, sys
sys.path.insert(0, {str(REPO)!r})
from template_contract.reader import load_template
from samtranslator.translator.transform import transform
class NoManagedPolicies:
    def load(self):
        return {{}}
template = load_template()
for name in ("VendFunction", "HangupFunction", "OperatorFunction", "CompanionFunction", "PublisherFunction"):
    template["Resources"][name]["Properties"]["CodeUri"] = "s3://artifacts/" + name
resources = transform(template, {{}}, NoManagedPolicies())["Resources"]
print(json.dumps(resources))
"""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    translated = json.loads(result.stdout.strip().splitlines()[-1])
    roles = {
        r["Properties"]["Handler"]: r["Properties"]["Role"]
        for r in translated.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"].startswith("vend.")
    }

    assert roles == {
        "vend.app.lambda_handler": {"Fn::GetAtt": ["VendFunctionRole", "Arn"]},
        "vend.hangup.lambda_handler": {"Fn::GetAtt": ["HangupFunctionRole", "Arn"]},
        "vend.kill_switch.lambda_handler": {"Fn::GetAtt": ["OperatorFunctionRole", "Arn"]},
        "vend.companion.handler.lambda_handler": {"Fn::GetAtt": ["CompanionFunctionRole", "Arn"]},
    }
    for role in ("VendFunctionRole", "HangupFunctionRole", "OperatorFunctionRole", "CompanionFunctionRole"):
        assert "ManagedPolicyArns" not in translated[role]["Properties"], role


def test_an_existing_secret_is_granted_by_full_or_partial_arn() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai"
    [resources] = _granted("secretsmanager:", ExistingSecretArn=arn)

    assert arn in resources
    assert {"Fn::Sub": "${ExistingSecretArn}-??????"} in resources  # the suffix a partial ARN leaves out
    assert {"Ref": "OriginVerifySecret"} in resources and {"Ref": "VisitorKeySecret"} in resources
    assert len(resources) == 4


def test_a_customer_managed_key_may_decrypt_only_through_secrets_manager() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    assert _granted("kms:") == []
    [statement] = [s for s in _statements(ExistingSecretKmsKeyArn=key) if _actions(s)[0].startswith("kms:")]
    assert (_actions(statement), statement["Resource"]) == (["kms:Decrypt"], key)
    assert statement["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
    }


# Throttles that fit the reserved concurrency: one knob (ThrottleBurstLimit) sets the API's burst, and the
# function reserves that plus every route-level burst (the warm-up route's), so no request the API admits
# meets Lambda's throttle (API Gateway's bare 500) and warm-ups never take a mint's place.


def _reserved(**overrides: str) -> int | None:
    node = RESOURCES["VendFunction"]["Properties"]["ReservedConcurrentExecutions"]
    value = evaluate(node, defaults(**overrides))
    return None if value is NO_VALUE else int(value)


def _bursts(**overrides: str) -> tuple[int, int]:
    """The minting routes' burst (the stage default) and the sum of the route-level bursts."""
    api = evaluate(RESOURCES["HttpApi"]["Properties"], defaults(**overrides))
    routes = api["RouteSettings"].values()
    return int(api["DefaultRouteSettings"]["ThrottlingBurstLimit"]), sum(
        int(r["ThrottlingBurstLimit"]) for r in routes
    )


def test_the_reserved_concurrency_covers_every_burst_the_api_admits_over_the_whole_range() -> None:
    knob = PARAMETERS["ThrottleBurstLimit"]
    wrong = []
    for burst in range(knob["MinValue"], knob["MaxValue"] + 1):
        minting, warm = _bursts(ThrottleBurstLimit=str(burst))
        if (minting, _reserved(ThrottleBurstLimit=str(burst))) != (burst, minting + warm):
            wrong.append(burst)

    assert wrong == []
    assert knob["MinValue"] >= 1  # a burst of 0 would refuse every request
    assert "ReservedConcurrency" not in PARAMETERS  # one knob: the reservation is derived, never set


def test_reserving_nothing_stays_possible_for_accounts_whose_whole_quota_is_10() -> None:
    knob = PARAMETERS["ThrottleBurstLimit"]

    assert PARAMETERS["ReserveConcurrency"]["AllowedValues"] == ["true", "false"]
    assert all(
        _reserved(ThrottleBurstLimit=str(b), ReserveConcurrency="false") is None
        for b in range(knob["MinValue"], knob["MaxValue"] + 1)
    )
    # the defaults reserve: 5 for the API's burst and 2 for the warm-ups
    assert (PARAMETERS["ReserveConcurrency"]["Default"], _reserved()) == ("true", 7)


def test_warm_ups_have_their_own_small_fixed_throttle_with_route_metrics() -> None:
    settings = http_api_route_settings()

    assert set(settings) == {"GET /api/warm"}
    assert set(settings) <= set(http_api_route_keys())  # a route of VendFunction's events
    warm = settings["GET /api/warm"]
    # literals, not parameters: no knob can make warm-ups crowd the function
    assert (warm["ThrottlingRateLimit"], warm["ThrottlingBurstLimit"]) == (1, 2)
    # the alarm and the dashboard read its refusals from its route-level 4xx
    assert warm["DetailedMetricsEnabled"] is True
    assert _bursts() == (5, 2)


# Alarms and the dashboard


def _alarms() -> dict[str, dict[str, Any]]:
    return {n: r["Properties"] for n, r in MONITORING.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _metrics_of(alarm: dict[str, Any]) -> list[tuple[str, str]]:
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"])]
    return [
        (q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
        for q in alarm["Metrics"]
        if "MetricStat" in q
    ]


def test_every_alarm_watches_a_metric_that_exists_and_notifies_the_topic() -> None:
    for name, alarm in _alarms().items():
        for namespace, metric in _metrics_of(alarm):
            if namespace == "RealtimeVend":
                assert metric in CONTRACT_METRICS or UPSTREAM_ERROR.fullmatch(metric), (name, metric)
            else:
                assert metric in AWS_METRICS[namespace], (name, namespace, metric)
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name


def test_the_issues_alarms_are_all_there() -> None:
    watched = {metric for alarm in _alarms().values() for _, metric in _metrics_of(alarm)}

    assert {
        "ClientSecretsMinted",
        "MintFailures",
        "QuotaRejected",
        "DailyCapReached",
        "QuotaUnavailable",
        "HangupFailures",
    } <= watched
    assert {"Count", "Invocations", "Errors", "Throttles", "WriteThrottleEvents"} <= watched


def test_our_metrics_carry_the_dimension_powertools_gives_them() -> None:
    for alarm in _alarms().values():
        queries = alarm.get("Metrics") or [{"MetricStat": {"Metric": alarm}}]
        for query in queries:
            metric = query.get("MetricStat", {}).get("Metric", {})
            if metric.get("Namespace") == "RealtimeVend":
                assert metric["Dimensions"][0] == {"Name": "service", "Value": "realtime-vend"}
                # and SpendMicroUSD its Model (observability.py records it per model)
                extra = [d["Name"] for d in metric["Dimensions"][1:]]
                assert extra == (["Model"] if metric["MetricName"] == "SpendMicroUSD" else [])


def test_the_dashboard_is_valid_json_and_shows_the_alarmed_figures() -> None:
    body = MONITORING["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "0", body))
    rows = [row for w in dashboard["widgets"] for row in w["properties"]["metrics"]]
    shown = {row[i] for row in rows if isinstance(row[0], str) for i in (0, 1)}
    searched = {
        n
        for row in rows
        if isinstance(row[0], dict)
        for n in re.findall(r'MetricName="(\w+)"', row[0]["expression"])
    }
    watched = {metric for alarm in _alarms().values() for _, metric in _metrics_of(alarm)}

    assert watched - {"Count"} <= shown | searched | {"."}
    assert "Count" in shown
    # every ${...} is the nested stack's own parameter or a pseudo parameter
    names = set(re.findall(r"\$\{([^}]+)\}", body))
    assert names <= set(MONITORING_TEMPLATE["Parameters"]) | {"AWS::Region"}


def test_refused_warm_ups_count_neither_in_the_throttle_alarm_nor_as_dashboard_errors() -> None:
    alarm = _alarms()["ApiThrottleAlarm"]
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    warm = queries["warmups"]["MetricStat"]["Metric"]
    [expression] = [q["Expression"] for q in alarm["Metrics"] if q.get("ReturnData")]
    body = MONITORING["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    [api_widget] = [
        w["properties"]
        for w in json.loads(re.sub(r"\$\{[^}]+\}", "0", body))["widgets"]
        if w["properties"]["title"] == "API Gateway"
    ]
    expressions = [row[0]["expression"] for row in api_widget["metrics"] if isinstance(row[0], dict)]

    # the warm-up route's own 4xx (route-level metric: ApiId, Method, Resource, Stage), the only route
    # with settings of its own, is taken out of what API Gateway refused
    method, path = next(iter(http_api_route_settings())).split(" ")
    assert (warm["MetricName"], {d["Name"]: d["Value"] for d in warm["Dimensions"]}) == (
        "4xx",
        {"ApiId": {"Ref": "ApiId"}, "Method": method, "Resource": path, "Stage": "$default"},
    )
    assert expression == "FILL(requests, 0) - FILL(invocations, 0) - FILL(warmups, 0)"
    assert expressions == ["FILL(all4xx, 0) - FILL(warm, 0)"]
    assert f'"Method", "{method}", "Resource", "{path}"' in body


def _monitoring_parameters(**overrides: str) -> dict[str, Any]:
    """What the parent passes its Monitoring stack, with the parent's parameters and `overrides`."""
    told = RESOURCES["Monitoring"]["Properties"]["Parameters"]
    return {**evaluate(told, defaults(**overrides)), "AWS::Region": defaults(**overrides)["AWS::Region"]}


def test_an_alarm_email_subscribes_only_when_given() -> None:
    subscription = MONITORING["AlarmEmailSubscription"]

    assert subscription["Condition"] == "HasAlarmEmail"
    assert not condition("HasAlarmEmail", _monitoring_parameters(), MONITORING_TEMPLATE)
    assert condition(
        "HasAlarmEmail", _monitoring_parameters(AlarmEmail="ops@example.com"), MONITORING_TEMPLATE
    )


def test_the_monitoring_stack_gets_every_parameter_it_declares_and_needs_no_extra_capability() -> None:
    told = RESOURCES["Monitoring"]["Properties"]["Parameters"]
    declared = MONITORING_TEMPLATE["Parameters"]

    assert set(told) == set(declared)
    assert set(_monitoring_parameters()) - {"AWS::Region"} == set(declared)
    # a Transform (macro) in a nested stack would need CAPABILITY_AUTO_EXPAND; samconfig asks only IAM
    assert "Transform" not in MONITORING_TEMPLATE
    # named after the parent's stack, not the nested stack's own
    assert told["StackName"] == {"Ref": "AWS::StackName"}


def test_the_dashboard_name_cannot_collide_with_the_one_stacks_had_before_monitoring_was_nested() -> None:
    # Updating a stack from before the split creates the nested dashboard before it deletes the parent's
    # `<stack>-<region>` one: the same name would collide, then be deleted by the parent's cleanup.
    name = MONITORING["Dashboard"]["Properties"]["DashboardName"]["Fn::Sub"]
    longest_stack = "s" + "-" * 127  # CloudFormation: at most 128 of [A-Za-z0-9-]
    longest = name.replace("${StackName}", longest_stack).replace("${AWS::Region}", "ap-southeast-5")

    assert name == "${StackName}-${AWS::Region}-overview"
    assert name != "${StackName}-${AWS::Region}"
    # CloudWatch: at most 255 characters of A-Z a-z 0-9 - _
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", longest)


def test_the_parent_still_outputs_the_topic_and_the_dashboard() -> None:
    outputs = TEMPLATE["Outputs"]
    nested = MONITORING_TEMPLATE["Outputs"]

    for name in ("AlarmTopicArn", "DashboardUrl"):
        assert outputs[name]["Value"] == {"Fn::GetAtt": ["Monitoring", f"Outputs.{name}"]}, name
        assert name in nested, name
    assert nested["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


# Access logs without query strings


def test_the_api_access_log_has_the_request_and_never_a_query_string_or_body() -> None:
    settings = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]
    line = json.loads(settings["Format"])

    assert {
        "requestId",
        "ip",
        "requestTime",
        "routeKey",
        "status",
        "responseLength",
        "integrationError",
    } <= set(line)
    assert not any(
        v in settings["Format"]
        for v in ("$context.path", "querystring", "$request.body", "$input", "header.")
    )
    assert RESOURCES["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_cloudfront_logs_in_every_region_and_v2_drops_the_query_string() -> None:
    delivery = RESOURCES["CloudFrontAccessLogDelivery"]
    fields = delivery["Properties"]["RecordFields"]
    source = RESOURCES["CloudFrontLogSource"]["Properties"]
    destination = RESOURCES["CloudFrontLogDestination"]["Properties"]
    logging = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]["Logging"]["Fn::If"]

    assert {"date", "time", "c-ip", "cs-method", "cs-uri-stem", "sc-status"} <= set(fields)
    assert not {"cs-uri-query", "cs(Cookie)", "cs(Referer)"} & set(fields)
    assert RESOURCES["CloudFrontLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # the delivery writes the distribution's access log into the log group beside them
    assert source["LogType"] == "ACCESS_LOGS"
    assert "distribution/${Distribution}" in source["ResourceArn"]["Fn::Sub"]
    assert destination["DestinationResourceArn"] == {"Fn::GetAtt": ["CloudFrontLogGroup", "Arn"]}
    assert delivery["Properties"]["DeliverySourceName"] == {"Ref": "CloudFrontLogSource"}
    assert delivery["Properties"]["DeliveryDestinationArn"] == {
        "Fn::GetAtt": ["CloudFrontLogDestination", "Arn"]
    }
    # v2 where its delivery source can live, legacy to an expiring bucket elsewhere
    assert condition("InUsEast1", defaults(**{"AWS::Region": "us-east-1"}))
    assert not condition("InUsEast1", defaults())
    assert {
        RESOURCES[n]["Condition"]
        for n in (
            "CloudFrontLogGroup",
            "CloudFrontLogSource",
            "CloudFrontLogDestination",
            "CloudFrontAccessLogDelivery",
        )
    } == {"InUsEast1"}
    assert logging[0] == "NotInUsEast1" and logging[1]["IncludeCookies"] is False
    expiry = RESOURCES["LogBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert expiry["ExpirationInDays"] == {"Ref": "LogRetentionDays"}


def test_the_log_delivery_stays_in_the_parent_as_stacks_from_before_the_split_have_it() -> None:
    # An update moving it would create a second ACCESS_LOGS source for the same distribution before
    # deleting the first, which CloudWatch does not document as allowed: same logical ids, same names.
    name = {"Fn::Join": ["-", ["cf", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]]}
    delivery = ("CloudFrontLogSource", "CloudFrontLogDestination", "CloudFrontAccessLogDelivery")

    assert RESOURCES["CloudFrontLogSource"]["Properties"]["Name"] == name
    assert RESOURCES["CloudFrontLogDestination"]["Properties"]["Name"] == name
    assert not set(delivery) & set(MONITORING)
    assert not {r["Type"] for r in MONITORING.values()} & {
        "AWS::Logs::DeliverySource",
        "AWS::Logs::DeliveryDestination",
        "AWS::Logs::Delivery",
    }
