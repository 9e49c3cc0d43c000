"""Schemathesis over the relay's operations (POST /api/call, DELETE /api/call/{id}) with CallMode both:
the same document, transport and checks as test_schemathesis.py (a module of its own because its
environment is another: one moto account per module)."""

from __future__ import annotations

import schemathesis
from hypothesis import settings
from schemathesis.config import SchemathesisConfig

from tests.security.harness import OPENAPI, Battery
from tests.security.test_schemathesis import (
    EDGE,
    FORGED,
    SCHEMA,
    SETTINGS,
    THROUGH_CLOUDFRONT,
    is_end_call,
    is_start_call,
    send,
)

# DELETE's id as the document describes it (`call_` + 32 hex) only: an id with a character Powertools'
# route parameter does not match ("#", a control character…) gets 405 "only accepts DELETE", a defect
# test_replays.py pins. Ids of every other shape reach the route in test_call_events.py.
POSITIVE = schemathesis.openapi.from_path(
    OPENAPI, config=SchemathesisConfig.from_dict({"generation": {"mode": "positive"}})
)


@SCHEMA.include(is_start_call).parametrize()
@settings(max_examples=100, **SETTINGS)
def test_start_call_through_cloudfront(case: schemathesis.Case, calling: Battery) -> None:
    send(case, THROUGH_CLOUDFRONT, calling)


@POSITIVE.include(is_end_call).parametrize()
@settings(max_examples=80, **SETTINGS)
def test_end_call_through_cloudfront(case: schemathesis.Case, calling: Battery) -> None:
    send(case, THROUGH_CLOUDFRONT, calling)


@FORGED.include(is_start_call).parametrize()
@FORGED.given(edge=EDGE)
@settings(max_examples=80, **SETTINGS)
def test_call_routes_with_forged_edge_headers(
    case: schemathesis.Case, edge: dict[str, object], calling: Battery
) -> None:
    send(case, edge, calling)
