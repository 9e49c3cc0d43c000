"""Requests schemathesis generates from openapi.yaml, through API Gateway's event shape into the handler.

Schemathesis draws every documented parameter and body, valid and invalid (an SDP offer is text on
the wire: `application/sdp` is serialized as text/plain is); CloudFront's part (the
origin header, the viewer's address, the forwarded host) is drawn beside it, mostly as CloudFront
would set it, so that most requests get past the edge and reach the checks behind it. Each answer is
checked by schemathesis against the document (status, headers, body schema) and by the battery
(no exception, our JSON error or, for a started call, OpenAI's SDP answer with Location and
Call-Ends-At, no leak). The call operations run with CallMode both (the `calling` battery).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.functional.conftest import ORIGIN_VERIFY
from tests.security.harness import (
    OPENAPI,
    OUR_HOST,
    VIEWER_IPV4,
    VIEWER_IPV6,
    Battery,
    check,
    documented_responses,
    operation_for,
)
from tests.security.wsgi import ApiGatewayWsgi

# Two runs of the same document: as CloudFront forwards requests (every phase: the document's
# examples, its coverage cases, then fuzzing), and with CloudFront's headers forged or missing
# (fuzzing only: schemathesis cannot combine extra strategies with the document's examples).
schemathesis.serializer.alias("application/sdp", "text/plain")
SCHEMA = schemathesis.openapi.from_path(OPENAPI)
FORGED = schemathesis.openapi.from_path(
    OPENAPI,
    config=SchemathesisConfig.from_dict(
        {
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": False},
                "stateful": {"enabled": False},
            }
        }
    ),
)


def is_create_session(ctx: Any) -> bool:
    return bool(ctx.operation.path == "/api/session" and ctx.operation.method == "post")


def is_start_call(ctx: Any) -> bool:
    return bool(ctx.operation.path == "/api/call" and ctx.operation.method == "post")


def is_end_call(ctx: Any) -> bool:
    return bool(ctx.operation.path == "/api/call/{id}" and ctx.operation.method == "delete")


def is_served(ctx: Any) -> bool:
    return is_create_session(ctx) or is_start_call(ctx) or is_end_call(ctx)


CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

KEEP, DROP = object(), object()  # keep schemathesis's value (or its absence) / send no such header
EDGE = st.fixed_dictionaries(
    {
        "x-origin-verify": st.sampled_from(
            [ORIGIN_VERIFY, ORIGIN_VERIFY, ORIGIN_VERIFY, ORIGIN_VERIFY, KEEP, DROP]
        ),
        "cloudfront-viewer-address": st.sampled_from(
            [
                f"{VIEWER_IPV4}:443",
                f"{VIEWER_IPV4}:51234",
                f"{VIEWER_IPV6}:443",
                f"{VIEWER_IPV6}:1",
                KEEP,
                DROP,
            ]
        ),
        "x-forwarded-host": st.sampled_from([OUR_HOST, OUR_HOST, OUR_HOST, KEEP, DROP]),
        "origin": st.sampled_from([f"https://{OUR_HOST}", f"https://{OUR_HOST}", KEEP, DROP, DROP]),
        "sec-fetch-site": st.sampled_from(["same-origin", "same-origin", KEEP, DROP, DROP]),
        "x-forwarded-for": st.sampled_from([VIEWER_IPV4, f"203.0.113.5, {VIEWER_IPV4}", VIEWER_IPV6, DROP]),
    }
)
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "derandomize": True,
    "suppress_health_check": list(HealthCheck),
}


def send(case: schemathesis.Case, edge: dict[str, object], battery: Battery) -> None:
    headers = {name.lower(): value for name, value in (case.headers or {}).items()}
    for name, value in edge.items():
        if value is DROP:
            headers.pop(name, None)
        elif value is not KEEP:
            headers[name] = value
    case.headers = headers
    app = ApiGatewayWsgi(battery, "schemathesis")
    response = case.call(app=app)
    assert app.last is not None
    # Judged by what the function received: the coverage phase also sends methods the document does
    # not list (QUERY, say), and a generated {path} can decode to "session" or "call/x".
    http = app.last.event["requestContext"]["http"]
    operation = operation_for(http["path"], http["method"])
    check(app.last, documented_responses(*operation))
    if operation[0] != case.operation.path:
        return  # schemathesis would hold the route's answer to the /api/{path} operation
    case.validate_response(response, checks=CHECKS, transport_kwargs={"app": app})


# What CloudFront overwrites or adds on every /api request, whatever the viewer sent.
THROUGH_CLOUDFRONT = {
    "x-origin-verify": ORIGIN_VERIFY,
    "cloudfront-viewer-address": f"{VIEWER_IPV4}:443",
    "x-forwarded-host": OUR_HOST,
}


@SCHEMA.include(is_create_session).parametrize()
@settings(max_examples=250, **SETTINGS)
def test_create_session_through_cloudfront(case: schemathesis.Case, battery: Battery) -> None:
    send(case, THROUGH_CLOUDFRONT, battery)


@FORGED.include(is_create_session).parametrize()
@FORGED.given(edge=EDGE)
@settings(max_examples=250, **SETTINGS)
def test_create_session_with_forged_edge_headers(
    case: schemathesis.Case, edge: dict[str, object], battery: Battery
) -> None:
    send(case, edge, battery)


@SCHEMA.exclude(is_served).parametrize()
@settings(max_examples=12, **SETTINGS)
def test_every_other_method_and_path(case: schemathesis.Case, battery: Battery) -> None:
    send(case, THROUGH_CLOUDFRONT, battery)


@SCHEMA.include(is_start_call).parametrize()
@settings(max_examples=5, **SETTINGS)
def test_call_routes_switched_off(case: schemathesis.Case, battery: Battery) -> None:
    """CallMode client_secret (the default): the call route exists and answers 404 not_enabled."""
    send(case, THROUGH_CLOUDFRONT, battery)
