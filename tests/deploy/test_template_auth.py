"""Issue 12 as `sam deploy` will create it, read from template.yaml: empty JwtIssuer is the anonymous stack
of before; with an issuer (or the pool CreateUserPool makes), API Gateway's JWT authorizer guards the
minting and call routes with the scope, CloudFront's /api/* goes to that API, and the page, its CSP and
the function are told the issuer in force."""

from __future__ import annotations

import re
from typing import Any

import pytest

from template_contract.page_headers import origin_of, page_headers
from template_contract.reader import http_api_route_keys, jwt_route_keys, load_template, nested_template

TEMPLATE = load_template()
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
OUTPUTS: dict[str, dict[str, Any]] = TEMPLATE["Outputs"]
MONITORING: dict[str, dict[str, Any]] = load_template(nested_template("Monitoring"))["Resources"]
ACCOUNT = "123456789012"
STACK_UUID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
PSEUDO = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "realtime-vend",
    "AWS::StackId": f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/realtime-vend/{STACK_UUID}",
}
PROTECTED = {"ANY /api/session", "POST /api/call", "DELETE /api/call/{id}", "GET /api/call/{id}"}
AUTH0 = {"JwtIssuer": "https://example.eu.auth0.com/", "JwtAudience": "https://realtime-vend,second"}
POOL = {"CreateUserPool": "true"}
# Entra ID with v2 tokens: aud is the API app's id; its scope is requested by the App ID URI.
ENTRA = {
    "JwtIssuer": "https://login.microsoftonline.com/99999999-8888-7777-6666-555555555555/v2.0",
    "JwtAudience": "11111111-2222-3333-4444-555555555555",
    "JwtClientId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
}
# Every resource issue 12 adds, with the condition it exists under.
SIGNED_IN_RESOURCES = {
    "SignedInApi": "SignedIn",
    "SignedInApiStage": "SignedIn",
    "SignedInAuthorizer": "SignedIn",
    "SignedInApiIntegration": "SignedIn",
    "SignedInSessionRoute": "SignedIn",
    "SignedInStartCallRoute": "SignedIn",
    "SignedInEndCallRoute": "SignedIn",
    "SignedInCallStatusRoute": "SignedIn",
    "SignedInWarmRoute": "SignedIn",
    "SignedInOtherApiPathsRoute": "SignedIn",
    "SignedInApiInvokePermission": "SignedIn",
    "UserPool": "CreatePool",
    "UserPoolResourceServer": "CreatePool",
    "UserPoolClient": "CreatePool",
    "UserPoolDomain": "CreatePool",
}


# A small CloudFormation evaluator: parameters, pseudo parameters and conditions are resolved, a
# resource's Ref or GetAtt becomes a placeholder such as <UserPoolClient> or <UserPool.ProviderURL>.

_NO_VALUE = object()


def _params(**overrides: str) -> dict[str, str]:
    return {name: str(spec.get("Default", "")) for name, spec in PARAMETERS.items()} | PSEUDO | overrides


def condition(name: str, params: dict[str, str]) -> bool:
    return bool(evaluate(TEMPLATE["Conditions"][name], params))


def _ref(name: str, params: dict[str, str]) -> Any:
    if name == "AWS::NoValue":
        return _NO_VALUE
    return params.get(name, f"<{name}>")


def _sub(arg: Any, params: dict[str, str]) -> str:
    text, local = (arg, {}) if isinstance(arg, str) else (arg[0], evaluate(arg[1], params))

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in local:
            return str(local[name])
        if "." in name and name not in params:
            return f"<{name}>"
        return str(_ref(name, params))

    return re.sub(r"\$\{([^}!]+)\}", replace, text)


def _if(arg: list[Any], params: dict[str, str]) -> Any:
    name, then, otherwise = arg
    return evaluate(then if condition(name, params) else otherwise, params)


_FUNCTIONS: dict[str, Any] = {
    "Ref": _ref,
    "Fn::Condition": condition,  # !Condition, as template_contract's loader reads it
    "Fn::If": _if,
    "Fn::Equals": lambda a, p: str(evaluate(a[0], p)) == str(evaluate(a[1], p)),
    "Fn::Not": lambda a, p: not evaluate(a[0], p),
    "Fn::Or": lambda a, p: any(evaluate(x, p) for x in a),
    "Fn::And": lambda a, p: all(evaluate(x, p) for x in a),
    "Fn::Join": lambda a, p: a[0].join(str(x) for x in evaluate(a[1], p)),
    "Fn::Split": lambda a, p: str(evaluate(a[1], p)).split(a[0]),
    "Fn::Select": lambda a, p: evaluate(a[1], p)[int(evaluate(a[0], p))],
    "Fn::Sub": _sub,
    "Fn::GetAtt": lambda a, p: f"<{a[0]}.{a[1]}>",
}


def evaluate(node: Any, params: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [x for x in (evaluate(item, params) for item in node) if x is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and next(iter(node)) in _FUNCTIONS:
        [(key, arg)] = node.items()
        return _FUNCTIONS[key](arg, params)
    items = {k: evaluate(v, params) for k, v in node.items()}
    return {k: v for k, v in items.items() if v is not _NO_VALUE}


def properties(name: str, **overrides: str) -> dict[str, Any]:
    value: dict[str, Any] = evaluate(RESOURCES[name]["Properties"], _params(**overrides))
    return value


def csp_directives(**overrides: str) -> dict[str, str]:
    config = properties("PageResponseHeadersPolicy", **overrides)["ResponseHeadersPolicyConfig"]
    csp = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    return dict(d.strip().split(" ", 1) for d in csp.split(";"))


def api_origin(**overrides: str) -> str:
    config = properties("Distribution", **overrides)["DistributionConfig"]
    [origin] = [o for o in config["Origins"] if o["Id"] == "api"]
    domain: str = origin["DomainName"]
    return domain


def signed_in_routes() -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }


# The parameters


def test_the_auth_parameters_default_to_anonymous_visitors() -> None:
    names = (
        "JwtIssuer",
        "JwtAudience",
        "JwtScope",
        "JwtClientId",
        "JwtRequestScope",
        "CreateUserPool",
        "UserPoolSelfSignUp",
    )
    defaults = {name: PARAMETERS[name]["Default"] for name in names}

    assert defaults == {
        "JwtIssuer": "",
        "JwtAudience": "",
        "JwtScope": "realtime-vend/call",
        "JwtClientId": "",
        "JwtRequestScope": "",
        "CreateUserPool": "false",
        "UserPoolSelfSignUp": "false",
    }
    assert PARAMETERS["CreateUserPool"]["AllowedValues"] == ["true", "false"]
    assert PARAMETERS["UserPoolSelfSignUp"]["AllowedValues"] == ["true", "false"]
    assert not condition("SignedIn", _params())
    assert not condition("CreatePool", _params())
    grouped = {
        p
        for g in TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        for p in g["Parameters"]
    }
    assert {"JwtIssuer", "JwtAudience", "JwtScope", "JwtClientId", "CreateUserPool"} <= grouped


@pytest.mark.parametrize(
    ("issuer", "accepted"),
    [
        ("", True),
        ("https://example.eu.auth0.com/", True),
        ("https://example.okta.com/oauth2/default", True),
        ("https://login.microsoftonline.com/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/v2.0", True),
        ("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI", True),
        ("http://example.com", False),  # the authorizer fetches discovery and keys over https only
        ("https://", False),
        ("https://example.com/?x=1", False),
        ("https://example.com/#x", False),
        ("https://exa mple.com", False),
    ],
)
def test_the_issuer_must_be_an_https_url_as_in_the_tokens_iss(issuer: str, accepted: bool) -> None:
    assert (re.fullmatch(PARAMETERS["JwtIssuer"]["AllowedPattern"], issuer) is not None) == accepted


@pytest.mark.parametrize(
    ("scope", "accepted"),
    [
        ("realtime-vend/call", True),
        ("call:realtime", True),
        ("api://x/Call", True),
        ("a b", False),
        ("", False),
    ],
)
def test_the_scope_is_one_oauth_scope_token(scope: str, accepted: bool) -> None:
    assert (re.fullmatch(PARAMETERS["JwtScope"]["AllowedPattern"], scope) is not None) == accepted


def test_an_issuer_without_an_audience_is_refused_before_anything_is_created() -> None:
    rule = TEMPLATE["Rules"]["JwtIssuerNeedsAnAudience"]

    def refused(**overrides: str) -> bool:
        params = _params(**overrides)
        return bool(evaluate(rule["RuleCondition"], params)) and not all(
            evaluate(a["Assert"], params) for a in rule["Assertions"]
        )

    assert refused(JwtIssuer="https://example.eu.auth0.com/")
    assert not refused(**AUTH0)
    assert not refused()  # anonymous
    assert not refused(**POOL)  # the pool brings its own audience


# Anonymous mode is exactly the stack of before


def test_every_resource_of_the_issue_exists_only_when_visitors_sign_in() -> None:
    added = {name: r.get("Condition") for name, r in RESOURCES.items() if name in SIGNED_IN_RESOURCES}

    assert added == SIGNED_IN_RESOURCES
    assert {
        n for n, r in RESOURCES.items() if r["Type"].startswith(("AWS::Cognito::", "AWS::ApiGatewayV2::"))
    } <= set(SIGNED_IN_RESOURCES)


def test_anonymous_visitors_get_the_anonymous_api_an_empty_issuer_and_no_auth_config() -> None:
    env = properties("VendFunction")["Environment"]["Variables"]

    assert api_origin() == "<HttpApi>.execute-api.eu-west-1.amazonaws.com"
    assert env["AUTH_ISSUER"] == ""
    assert "Auth" not in properties("SitePublication")
    assert csp_directives()["connect-src"] == "'self' https://api.openai.com"
    assert evaluate(OUTPUTS["AuthMode"]["Value"], _params()) == "anonymous"
    # VendFunction's events, which `sam local start-api` reads, stay on the anonymous HttpApi
    events = RESOURCES["VendFunction"]["Properties"]["Events"]
    assert {e["Properties"]["ApiId"]["Ref"] for e in events.values()} == {"HttpApi"}
    assert "Auth" not in RESOURCES["HttpApi"]["Properties"]


# The signed-in API: the same routes, the ones that spend or name a call behind the JWT authorizer


def test_the_signed_in_api_has_exactly_the_anonymous_apis_routes() -> None:
    assert sorted(signed_in_routes()) == sorted(http_api_route_keys())


def test_the_minting_and_call_routes_need_a_token_with_the_scope_and_the_rest_stay_open() -> None:
    routes = signed_in_routes()

    assert jwt_route_keys() == PROTECTED
    for key in PROTECTED:
        assert routes[key]["AuthorizationType"] == "JWT", key
        assert routes[key]["AuthorizerId"] == {"Ref": "SignedInAuthorizer"}, key
        assert evaluate(routes[key]["AuthorizationScopes"], _params(**AUTH0)) == ["realtime-vend/call"], key
        assert evaluate(routes[key]["AuthorizationScopes"], _params(**AUTH0, JwtScope="call:realtime")) == [
            "call:realtime"
        ], key
        assert evaluate(routes[key]["AuthorizationScopes"], _params(**POOL)) == ["realtime-vend/call"], key
    for key in ("ANY /api/{proxy+}", "GET /api/warm"):  # mint nothing: open, as on the anonymous API
        assert routes[key]["AuthorizationType"] == "NONE", key
        assert "AuthorizerId" not in routes[key], key
    assert {r["ApiId"]["Ref"] for r in routes.values()} == {"SignedInApi"}
    assert {r["Target"]["Fn::Sub"] for r in routes.values()} == {"integrations/${SignedInApiIntegration}"}


def test_every_route_reaches_the_vend_function_as_the_sam_events_do() -> None:
    integration = RESOURCES["SignedInApiIntegration"]["Properties"]
    permission = properties("SignedInApiInvokePermission", **AUTH0)

    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["VendFunction", "Arn"]}
    assert permission["FunctionName"] == "<VendFunction>"
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"] == f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:<SignedInApi>/*/*/api/*"


def test_the_signed_in_stage_has_the_anonymous_apis_throttle_metrics_and_access_log() -> None:
    stage = RESOURCES["SignedInApiStage"]["Properties"]
    anonymous = RESOURCES["HttpApi"]["Properties"]

    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    assert stage["DefaultRouteSettings"] == anonymous["DefaultRouteSettings"]
    # the warm-up route's own throttle too; a route's settings need the route to exist first
    assert stage["RouteSettings"] == anonymous["RouteSettings"]
    routes = {r["Properties"]["RouteKey"]: n for n, r in RESOURCES.items() if r["Type"].endswith("::Route")}
    assert {routes[key] for key in stage["RouteSettings"]} == {RESOURCES["SignedInApiStage"]["DependsOn"]}
    assert stage["AccessLogSettings"] == anonymous["AccessLogSettings"]
    assert RESOURCES["SignedInApi"]["Properties"]["CorsConfiguration"] == anonymous["CorsConfiguration"]
    assert '"authError":"$context.authorizer.error"' in stage["AccessLogSettings"]["Format"]


def test_the_authorizer_checks_the_bearer_token_against_the_issuer_and_audiences_in_force() -> None:
    issuer = properties("SignedInAuthorizer", **AUTH0)
    pool = properties("SignedInAuthorizer", **POOL, JwtIssuer="https://ignored.example/")

    assert (issuer["AuthorizerType"], issuer["IdentitySource"]) == ("JWT", ["$request.header.Authorization"])
    assert issuer["JwtConfiguration"] == {
        "Issuer": "https://example.eu.auth0.com/",
        "Audience": ["https://realtime-vend", "second"],
    }
    # a Cognito access token has no aud: API Gateway checks its client_id, the page's client
    assert pool["JwtConfiguration"] == {"Issuer": "<UserPool.ProviderURL>", "Audience": ["<UserPoolClient>"]}


def test_cloudfront_the_alarm_and_the_dashboard_follow_the_api_in_force() -> None:
    # The monitoring stack is told the API in force; its alarm and dashboard watch that one only.
    alarm = MONITORING["ApiThrottleAlarm"]["Properties"]
    dimensions = [m["MetricStat"]["Metric"]["Dimensions"] for m in alarm["Metrics"] if "MetricStat" in m]
    body = MONITORING["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    told = RESOURCES["Monitoring"]["Properties"]["Parameters"]["ApiId"]

    assert api_origin(**AUTH0) == "<SignedInApi>.execute-api.eu-west-1.amazonaws.com"
    assert api_origin(**POOL) == "<SignedInApi>.execute-api.eu-west-1.amazonaws.com"
    for mode, api in (({}, "<HttpApi>"), (AUTH0, "<SignedInApi>"), (POOL, "<SignedInApi>")):
        assert evaluate(told, _params(**mode)) == api
    api_dimensions = [d for d in dimensions if d[0]["Name"] == "ApiId"]
    assert len(api_dimensions) == 2  # the stage's requests and the warm-up route's refusals
    assert all(d[0]["Value"] == {"Ref": "ApiId"} for d in api_dimensions)
    assert body.count('"ApiId", "${ApiId}"') == 2
    assert "${HttpApi}" not in body and "${SignedInApi}" not in body


# The function, the page and its CSP are told the issuer in force


def test_the_functions_get_the_issuer_in_force() -> None:
    for name in ("VendFunction", "HangupFunction", "OperatorFunction"):
        assert properties(name, **AUTH0)["Environment"]["Variables"]["AUTH_ISSUER"] == AUTH0["JwtIssuer"]
        assert properties(name, **POOL)["Environment"]["Variables"]["AUTH_ISSUER"] == "<UserPool.ProviderURL>"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            AUTH0,
            {
                "Issuer": "https://example.eu.auth0.com/",
                "ClientId": "https://realtime-vend",
                "Audience": "https://realtime-vend",
                "Scope": "realtime-vend/call",
                "RequestScope": "realtime-vend/call",
            },
        ),
        (
            {**AUTH0, "JwtClientId": "spa-client", "JwtScope": "call:realtime"},
            {
                "Issuer": "https://example.eu.auth0.com/",
                "ClientId": "spa-client",
                "Audience": "https://realtime-vend",
                "Scope": "call:realtime",
                "RequestScope": "call:realtime",
            },
        ),
        (
            {
                **ENTRA,
                "JwtScope": "Call",
                "JwtRequestScope": "api://11111111-2222-3333-4444-555555555555/Call",
            },
            {
                "Issuer": ENTRA["JwtIssuer"],
                "ClientId": ENTRA["JwtClientId"],
                "Audience": "11111111-2222-3333-4444-555555555555",
                "Scope": "Call",
                "RequestScope": "api://11111111-2222-3333-4444-555555555555/Call",
            },
        ),
        (
            POOL,
            {
                "Issuer": "<UserPool.ProviderURL>",
                "ClientId": "<UserPoolClient>",
                "Audience": "<UserPoolClient>",
                "Scope": "realtime-vend/call",
                "RequestScope": "realtime-vend/call",
            },
        ),
    ],
)
def test_the_publisher_is_told_how_the_page_signs_in(mode: dict[str, str], expected: dict[str, str]) -> None:
    assert properties("SitePublication", **mode)["Auth"] == expected


def test_the_csp_lets_the_page_reach_the_issuer_and_the_pools_sign_in_domain() -> None:
    prefix = f"realtime-vend-{STACK_UUID}"

    assert (
        csp_directives(**AUTH0)["connect-src"] == "'self' https://api.openai.com https://example.eu.auth0.com"
    )
    assert (
        csp_directives(JwtIssuer="https://login.example.com:8443/tenant/v2.0", JwtAudience="a")["connect-src"]
        == "'self' https://api.openai.com https://login.example.com:8443"
    )
    assert csp_directives(**POOL)["connect-src"] == (
        "'self' https://api.openai.com https://cognito-idp.eu-west-1.amazonaws.com"
        f" https://{prefix}.auth.eu-west-1.amazoncognito.com"
    )


def test_the_local_stack_renders_the_csp_the_template_deploys_with_an_issuer() -> None:
    deployed = csp_directives(**AUTH0)
    rendered = page_headers("https://api.openai.com", auth_origins=[origin_of(AUTH0["JwtIssuer"])])
    local = dict(d.strip().split(" ", 1) for d in rendered["Content-Security-Policy"].split(";"))

    assert local == deployed
    assert (
        page_headers("https://api.openai.com")["Content-Security-Policy"].count(
            "connect-src 'self' https://api.openai.com;"
        )
        == 1
    )


# The created pool


def test_the_pool_is_on_the_free_plan_and_only_an_administrator_adds_users_by_default() -> None:
    pool = properties("UserPool", **POOL)
    open_pool = properties("UserPool", **POOL, UserPoolSelfSignUp="true")

    assert pool["UserPoolTier"] == "LITE"
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert open_pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert pool["DeletionProtection"] == "INACTIVE"  # `sam delete` removes it all


def test_the_pages_client_is_public_code_with_pkce_and_returns_to_the_page_itself() -> None:
    client = properties("UserPoolClient", **POOL)
    server = properties("UserPoolResourceServer", **POOL)
    scopes = [f"{server['Identifier']}/{s['ScopeName']}" for s in server["Scopes"]]

    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert "ALLOW_REFRESH_TOKEN_AUTH" in client["ExplicitAuthFlows"]
    assert client["CallbackURLs"] == client["LogoutURLs"] == ["https://<Distribution.DomainName>/"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert scopes == ["realtime-vend/call"]
    assert "realtime-vend/call" in client["AllowedOAuthScopes"]
    assert RESOURCES["UserPoolClient"]["DependsOn"] == "UserPoolResourceServer"


def test_the_sign_in_domain_is_the_classic_hosted_ui_under_a_valid_unique_prefix() -> None:
    domain = properties("UserPoolDomain", **POOL)
    prefix = domain["Domain"]

    assert domain["ManagedLoginVersion"] == 1
    assert prefix == f"realtime-vend-{STACK_UUID}"
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", prefix)
    assert not any(word in prefix for word in ("aws", "amazon", "cognito"))
    assert ACCOUNT not in prefix


def test_the_outputs_say_the_mode_where_to_sign_in_and_how_to_add_a_user() -> None:
    command = evaluate(OUTPUTS["AddUserCommand"]["Value"], _params(**POOL))
    sign_in = evaluate(OUTPUTS["SignInUrl"]["Value"], _params(**POOL))

    assert evaluate(OUTPUTS["AuthMode"]["Value"], _params(**AUTH0)) == "issuer"
    assert evaluate(OUTPUTS["AuthMode"]["Value"], _params(**POOL)) == "user_pool"
    assert command.split()[:3] == ["aws", "cognito-idp", "admin-create-user"]
    assert "--user-pool-id <UserPool>" in command
    assert '--username "$USER_EMAIL"' in command
    assert sign_in.startswith(f"https://realtime-vend-{STACK_UUID}.auth.eu-west-1.amazoncognito.com/login?")
    assert "client_id=<UserPoolClient>" in sign_in
    assert "redirect_uri=https%3A%2F%2F<Distribution.DomainName>%2F" in sign_in
    assert {OUTPUTS[n].get("Condition") for n in ("AddUserCommand", "SignInUrl", "UserPoolId")} == {
        "CreatePool"
    }
    assert list(OUTPUTS)[-1] == "PageUrl"


# No circular dependency in signed-in mode (the client needs the distribution's domain, the
# distribution the API, the authorizer the client): cfn-lint checks too; this names the cycle.


def _references(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_references(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value.split(".")[0])
        elif key == "Fn::GetAtt":
            found.add(value[0])
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
            if not isinstance(value, str):
                found |= _references(value[1])
        else:
            found |= _references(value)
    return found & set(RESOURCES)


def test_the_resources_depend_on_each_other_without_a_cycle() -> None:
    graph = {
        name: _references(r.get("Properties", {}))
        | set([r["DependsOn"]] if isinstance(r.get("DependsOn"), str) else r.get("DependsOn", []))
        for name, r in RESOURCES.items()
    }
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", f"circular dependency: {' -> '.join([*path, name])}"
        state[name] = "open"
        for dependency in sorted(graph[name]):
            visit(dependency, [*path, name])
        state[name] = "done"

    for name in sorted(graph):
        visit(name, [])


def test_sam_local_start_api_still_reads_the_routes_from_vend_functions_events() -> None:
    # SAM CLI picks its route reader by the first API-like resource in template order: a SAM one reads
    # VendFunction's events (what tests/samlocal serves); an AWS::ApiGatewayV2 one first would make it
    # read SignedInApi's routes instead, and those exist only in signed-in mode.
    sam_types = {"AWS::Serverless::Function", "AWS::Serverless::Api", "AWS::Serverless::HttpApi"}
    api_like = [
        r["Type"]
        for r in RESOURCES.values()
        if r["Type"] in sam_types or r["Type"].startswith("AWS::ApiGateway")
    ]

    assert api_like[0] in sam_types
