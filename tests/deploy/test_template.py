"""What `sam deploy` will create, read from template.yaml: a private bucket only CloudFront can read, one
origin for page and API, the page's headers, a publisher that re-runs whenever web/ changes."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from typing import Any

import boto3
import pytest

from template_contract.reader import function_environment, function_properties, load_template
from tests.conftest import REPO

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SAM_PYTHON = REPO / ".venv-tools" / "bin" / "python"


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_template()["Resources"]
    return resources


@pytest.fixture(scope="module")
def distribution(resources: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = resources["Distribution"]["Properties"]["DistributionConfig"]
    return config


def test_the_bucket_is_private_encrypted_and_owner_enforced(resources: dict[str, Any]) -> None:
    bucket = resources["SiteBucket"]["Properties"]

    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "WebsiteConfiguration" not in bucket


def test_only_this_distribution_may_read_the_bucket_and_only_over_tls(resources: dict[str, Any]) -> None:
    statements = resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    deny = [s for s in statements if s["Effect"] == "Deny"]

    assert [s["Principal"] for s in allow] == [{"Service": "cloudfront.amazonaws.com"}]
    assert "s3:PutObject" not in allow[0]["Action"]
    source_arn = allow[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source_arn.endswith(":distribution/${Distribution}")
    assert deny[0]["Principal"] == "*"
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_cloudfront_reads_the_bucket_through_origin_access_control(
    resources: dict[str, Any], distribution: dict[str, Any]
) -> None:
    oac = resources["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    site = next(o for o in distribution["Origins"] if o["Id"] == "site")

    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    assert site["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert site["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_the_page_is_https_http3_compressed_cached_and_gets_the_security_headers(
    distribution: dict[str, Any],
) -> None:
    page = distribution["DefaultCacheBehavior"]

    assert distribution["DefaultRootObject"] == "index.html"
    assert distribution["HttpVersion"] == "http2and3"
    assert distribution["IPV6Enabled"] is True
    assert page["ViewerProtocolPolicy"] == "redirect-to-https"
    assert page["Compress"] is True
    assert page["CachePolicyId"] == CACHING_OPTIMIZED
    assert page["ResponseHeadersPolicyId"] == {"Ref": "PageResponseHeadersPolicy"}


def test_api_requests_go_uncached_to_the_http_api_with_the_viewer_address_and_never_host(
    resources: dict[str, Any], distribution: dict[str, Any]
) -> None:
    [api] = distribution["CacheBehaviors"]
    origin = next(o for o in distribution["Origins"] if o["Id"] == api["TargetOriginId"])
    cache = resources["ApiCachePolicy"]["Properties"]["CachePolicyConfig"]
    forwarded = resources["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"][
        "HeadersConfig"
    ]
    in_cache_key = cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]
    headers = {h.lower() for h in forwarded["Headers"] + in_cache_key["Headers"]}

    assert api["PathPattern"] == "/api/*"
    assert "POST" in api["AllowedMethods"]
    assert (api["CachePolicyId"], api["OriginRequestPolicyId"]) == (
        {"Ref": "ApiCachePolicy"},
        {"Ref": "ApiOriginRequestPolicy"},
    )
    assert (cache["MinTTL"], cache["DefaultTTL"]) == (0, 0)  # nothing is cached unless we say so; we never do
    # the identity the quotas count, and what the function checks (Authorization: the JWT issue)
    assert {
        "cloudfront-viewer-address",
        "x-forwarded-host",
        "origin",
        "sec-fetch-site",
        "content-type",
    } <= headers
    assert "authorization" in headers
    assert (
        forwarded["HeaderBehavior"] == "whitelist"
    )  # allViewer* would forward Host: API Gateway answers 403
    assert "host" not in headers
    assert api["ViewerProtocolPolicy"] == "https-only"  # a redirect would turn the POST into a GET
    # the API in force: the signed-in one (JWT authorizer) when visitors sign in, HttpApi otherwise
    assert origin["DomainName"] == {
        "Fn::If": [
            "SignedIn",
            {"Fn::Sub": "${SignedInApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
            {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
        ]
    }
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert "OriginPath" not in origin  # /api/session reaches the route /api/session as it is


def test_the_csp_allows_only_self_and_the_realtime_origin(resources: dict[str, Any]) -> None:
    security = resources["PageResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]
    csp, variables = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))

    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    # AuthOrigins: the sign-in origins, none for anonymous visitors (tests/deploy/test_template_auth.py)
    assert directives["connect-src"] == "'self' ${RealtimeOrigin}${AuthOrigins}"
    assert set(variables) == {"AuthOrigins"}
    assert "media-src" in directives
    assert directives["frame-ancestors"] == "'none'"


def test_the_publisher_is_told_the_bucket_distribution_origin_and_a_version_of_web(
    resources: dict[str, Any],
) -> None:
    publication = resources["SitePublication"]["Properties"]

    assert publication == {
        "ServiceToken": {"Ref": "PublisherFunction.Alias"},
        "BucketName": {"Ref": "SiteBucket"},
        "DistributionId": {"Ref": "Distribution"},
        "RealtimeOrigin": {"Ref": "RealtimeOrigin"},
        "CallMode": {"Ref": "CallMode"},
        "Auth": publication["Auth"],  # its values: tests/deploy/test_template_auth.py
        "VoiceApi": {"Ref": "VoiceApi"},
        "TypedText": publication["TypedText"],  # its values: tests/deploy/test_template_live.py
        "SiteVersion": {"Ref": "PublisherFunction.Version"},
    }
    assert publication["Auth"]["Fn::If"][0] == "SignedIn"
    assert publication["Auth"]["Fn::If"][2] == {
        "Ref": "AWS::NoValue"
    }  # anonymous: config.json's auth is null
    assert resources["PublisherFunction"]["Properties"]["CodeUri"] == "publisher/"
    assert resources["PublisherFunction"]["Properties"]["AutoPublishAlias"]


def test_the_outputs_give_the_page_the_api_the_secret_and_the_put_key_command() -> None:
    outputs = load_template()["Outputs"]

    assert outputs["PageUrl"]["Value"] == {"Fn::Sub": "https://${Distribution.DomainName}/"}
    assert outputs["ApiUrl"]["Value"] == {"Fn::Sub": "https://${Distribution.DomainName}/api/session"}
    assert "SecretArn" in outputs
    assert "put-secret-value" in outputs["PutKeyCommand"]["Value"]["Fn::Sub"][0]
    assert list(outputs)[-1] == "PageUrl"  # what `sam deploy` prints last


def _translated_site_version(package_key: str) -> Any:
    """SitePublication.SiteVersion after the SAM transform, with the publisher packaged at `package_key`
    (as `sam deploy` names it: the MD5 of the built folder, so it changes exactly when web/ does)."""
    code = f"""
import json, sys
sys.path.insert(0, {str(REPO)!r})
from template_contract.reader import load_template
from samtranslator.translator.transform import transform

class NoManagedPolicies:
    def load(self):
        return {{}}

template = load_template()
for name in ("VendFunction", "HangupFunction", "OperatorFunction", "CompanionFunction"):
    template["Resources"][name]["Properties"]["CodeUri"] = "s3://artifacts/vend"
template["Resources"]["PublisherFunction"]["Properties"]["CodeUri"] = "s3://artifacts/{package_key}"
resources = transform(template, {{}}, NoManagedPolicies())["Resources"]
publication = resources["SitePublication"]["Properties"]
version = publication["SiteVersion"]
alias = resources[publication["ServiceToken"]["Ref"]]
retries = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
print(json.dumps({{
    "version": version,
    "type": resources[version["Ref"]]["Type"],
    "invoked_alias": alias["Properties"]["Name"],
    "retry_config": {{
        r["FunctionName"]["Ref"]: [r["Qualifier"], r["MaximumRetryAttempts"]] for r in retries
    }},
}}))
"""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_changed_web_folder_changes_what_the_publisher_is_told_so_sam_deploy_republishes() -> None:
    assert SAM_PYTHON.exists(), "run scripts/bootstrap --tools first (SAM CLI lives in .venv-tools)"

    first = _translated_site_version("0123456789abcdef0123456789abcdef")
    same = _translated_site_version("0123456789abcdef0123456789abcdef")
    edited = _translated_site_version("fedcba9876543210fedcba9876543210")

    assert first["type"] == "AWS::Lambda::Version"
    # CloudFormation invokes the alias, the one the no-retry setting is attached to.
    assert first["retry_config"]["PublisherFunction"] == [first["invoked_alias"], 0]
    assert set(first["retry_config"]) == {"PublisherFunction", "CompanionFunction"}
    assert first["retry_config"]["CompanionFunction"] == ["$LATEST", 2]  # its async retries re-attach
    assert same == first  # nothing changed: no update, no needless invalidation
    assert edited["version"] != first["version"]  # web/ changed: a new version, so an Update


def test_samconfig_makes_the_readme_commands_work_without_pinning_a_region() -> None:
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    deploy = config["default"]["deploy"]["parameters"]

    assert config["default"]["global"]["parameters"]["stack_name"] == "realtime-vend"
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    assert all("region" not in section.get("parameters", {}) for section in config["default"].values())


def test_every_function_takes_its_architecture_from_one_parameter_arm64_by_default() -> None:
    template = load_template()
    parameter = template["Parameters"]["Architecture"]
    architectures = {
        name: function_properties(name)["Architectures"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }

    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("arm64", ["arm64", "x86_64"])
    assert architectures == {
        "VendFunction": [{"Ref": "Architecture"}],
        "HangupFunction": [{"Ref": "Architecture"}],
        "OperatorFunction": [{"Ref": "Architecture"}],
        "CompanionFunction": [{"Ref": "Architecture"}],
        "PublisherFunction": [{"Ref": "Architecture"}],
    }


def test_the_variables_sam_local_overrides_are_declared_with_what_the_function_assumes_anyway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `sam local --env-vars` overrides only declared variables; tests/samlocal points these at stand-ins.
    variables = function_environment("VendFunction")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", variables["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
    deployed_client = boto3.client("secretsmanager", region_name="eu-west-1")

    assert variables["OPENAI_BASE_URL"] == "https://api.openai.com"
    # declared, yet in AWS the function still reaches the regional Secrets Manager endpoint
    assert deployed_client.meta.endpoint_url == "https://secretsmanager.eu-west-1.amazonaws.com"
