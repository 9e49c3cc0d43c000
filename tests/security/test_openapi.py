"""openapi.yaml cannot rot: it is a valid OpenAPI 3.1 document, it documents exactly the (status, code)
pairs our errors can produce, and every route the function serves, with the methods it serves."""

from __future__ import annotations

import re

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from tests.security.harness import (
    OPENAPI,
    OPENAPI_METHODS,
    codes_in,
    documented_pairs,
    error_schema,
    resolve,
    spec,
)
from vend import errors
from vend.edge.routes import PATTERNS, ROUTES

CATCH_ALL = "/api/{path}"


def every_error_class(base: type[errors.VendError] = errors.VendError) -> set[type[errors.VendError]]:
    # A private base (_RetryLater) is never raised itself: only its subclasses are.
    found = set() if base.__name__.startswith("_") else {base}
    for subclass in base.__subclasses__():
        found |= every_error_class(subclass)
    return found


def test_the_document_is_valid_openapi_3_1() -> None:
    document, _ = read_from_filename(str(OPENAPI))
    validate(document)  # raises with the first problem
    assert document["openapi"].startswith("3.1")


def test_every_error_we_raise_is_documented_and_nothing_else() -> None:
    raised = {(cls.status, cls.code) for cls in every_error_class()}

    assert raised - documented_pairs() == set(), "errors.py has (status, code) pairs openapi.yaml lacks"
    assert documented_pairs() - raised == set(), "openapi.yaml documents codes errors.py cannot produce"


def test_every_error_response_is_json_and_every_success_is_not_an_error() -> None:
    for path, path_item in spec()["paths"].items():
        for method in OPENAPI_METHODS:
            for status, response in path_item.get(method, {}).get("responses", {}).items():
                if int(status) >= 400:
                    assert codes_in(error_schema(response)), (path, method, status)
                else:
                    assert (
                        "application/json" not in resolve(response).get("content", {}) or int(status) == 200
                    )


def _served(path: str, methods: tuple[str, ...]) -> None:
    path_item = spec()["paths"][path]
    for method in OPENAPI_METHODS:
        responses = path_item[method]["responses"]
        if method.upper() in methods:
            assert any(int(status) < 300 for status in responses), f"{method.upper()} {path} has no success"
            assert "405" not in responses
        else:
            assert "405" in responses, f"{method.upper()} {path} answers 405"
            allow = resolve(resolve(responses["405"])["headers"]["Allow"])["schema"]["const"]
            assert allow == ", ".join(methods), f"{method.upper()} {path}: Allow {allow}"


def test_every_route_is_described_with_its_methods_and_405_for_the_rest() -> None:
    paths = spec()["paths"]
    for path, methods in ROUTES.items():
        assert path in paths, f"{path} is a route but not in openapi.yaml"
        _served(path, methods)
    templated = {path for path in paths if "{" in path} - {CATCH_ALL}
    for pattern, methods in PATTERNS:
        # A templated path is the pattern's when its parameter, filled in, matches the pattern.
        [path] = [p for p in templated if pattern.fullmatch(re.sub(r"\{\w+\}", "call_0123abcd", p))]
        _served(path, methods)
        templated.discard(path)
    assert templated == set(), "openapi.yaml describes a templated path the function does not serve"
    described = {path for path in paths if "{" not in path}
    assert described == set(ROUTES), "openapi.yaml describes a path the function does not serve"
    # The catch-all excludes the served first segments, or it would claim their answers.
    excluded = set(resolve(paths[CATCH_ALL]["parameters"][0])["schema"]["not"]["enum"])
    assert excluded == {path.removeprefix("/api/") for path in ROUTES}


def test_every_response_whose_error_sends_a_header_documents_it() -> None:
    # Errors that send a header (Retry-After, Allow, WWW-Authenticate) override `headers()`: read from
    # errors.py.
    with_header = {
        (cls.status, cls.code) for cls in every_error_class() if cls.headers is not errors.VendError.headers
    }
    assert {
        (503, "service_paused"),
        (429, "concurrent_calls"),
        (503, "call_cap_unavailable"),
        (401, "sign_in_required"),
    } <= with_header
    for path_item in spec()["paths"].values():
        for method in OPENAPI_METHODS:
            for status, response in path_item.get(method, {}).get("responses", {}).items():
                resolved = resolve(response)
                if any((int(status), code) in with_header for code in codes_in(error_schema(response))):
                    sent = {"Retry-After", "Allow", "WWW-Authenticate"}
                    assert sent & set(resolved.get("headers", {})), (method, status)


def test_a_started_call_documents_its_answer_location_and_end() -> None:
    created = resolve(spec()["paths"]["/api/call"]["post"]["responses"]["201"])

    assert set(created["content"]) == {"application/sdp"}
    assert {"Location", "Call-Ends-At"} <= set(created["headers"])
    assert set(spec()["paths"]["/api/call"]["post"]["requestBody"]["content"]) == {"application/sdp"}
