"""openapi.yaml cannot rot: it is a valid OpenAPI 3.1 document, it documents exactly the (status, code)
pairs our errors can produce, and every route the function serves, with the methods it serves."""

from __future__ import annotations

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from tests.security.harness import OPENAPI, OPENAPI_METHODS, codes_in, resolve, spec
from vend import errors
from vend.edge.routes import ROUTES


def every_error_class(base: type[errors.VendError] = errors.VendError) -> set[type[errors.VendError]]:
    # A private base (_RetryLater) is never raised itself: only its subclasses are.
    found = set() if base.__name__.startswith("_") else {base}
    for subclass in base.__subclasses__():
        found |= every_error_class(subclass)
    return found


def documented_pairs() -> set[tuple[int, str]]:
    pairs = set()
    for path_item in spec()["paths"].values():
        for method in OPENAPI_METHODS:
            for status, response in path_item.get(method, {}).get("responses", {}).items():
                schema = resolve(response)["content"]["application/json"]["schema"]
                pairs |= {(int(status), code) for code in codes_in(schema)}
    return pairs


def test_the_document_is_valid_openapi_3_1() -> None:
    document, _ = read_from_filename(str(OPENAPI))
    validate(document)  # raises with the first problem
    assert document["openapi"].startswith("3.1")


def test_every_error_we_raise_is_documented_and_nothing_else() -> None:
    raised = {(cls.status, cls.code) for cls in every_error_class()}

    assert raised - documented_pairs() == set(), "errors.py has (status, code) pairs openapi.yaml lacks"
    assert documented_pairs() - raised == set(), "openapi.yaml documents codes errors.py cannot produce"


def test_every_route_is_described_with_its_methods_and_405_for_the_rest() -> None:
    paths = spec()["paths"]
    for path, methods in ROUTES.items():
        assert path in paths, f"{path} is a route but not in openapi.yaml"
        for method in OPENAPI_METHODS:
            responses = paths[path][method]["responses"]
            if method.upper() in methods:
                assert "200" in responses and "405" not in responses
            else:
                assert "405" in responses, f"{method.upper()} {path} answers 405"
    described = {path for path in paths if "{" not in path}
    assert described == set(ROUTES), "openapi.yaml describes a path the function does not serve"


def test_every_response_whose_error_sends_a_header_documents_it() -> None:
    # Errors that send a header (Retry-After, Allow) override `headers()`: read from errors.py.
    with_header = {
        (cls.status, cls.code) for cls in every_error_class() if cls.headers is not errors.VendError.headers
    }
    assert (503, "service_paused") in with_header
    for path_item in spec()["paths"].values():
        for method in OPENAPI_METHODS:
            for status, response in path_item.get(method, {}).get("responses", {}).items():
                resolved = resolve(response)
                schema = resolved["content"]["application/json"]["schema"]
                if any((int(status), code) in with_header for code in codes_in(schema)):
                    assert {"Retry-After", "Allow"} & set(resolved.get("headers", {})), (method, status)
