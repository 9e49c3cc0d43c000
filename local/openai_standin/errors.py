"""OpenAI's REST error body, and the exception that carries it to the HTTP layer."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class ApiError(Exception):
    """An error OpenAI would answer with `{"error": {message, type, param, code}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status)


def invalid_api_key(message: str = "Incorrect API key provided.") -> ApiError:
    return ApiError(401, message, code="invalid_api_key")


BETA_SHAPE_MESSAGE = "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."


def beta_shape_disabled(param: str | None = None) -> ApiError:
    return ApiError(400, BETA_SHAPE_MESSAGE, param=param, code="beta_api_shape_disabled")


# What OpenAI answers for the statuses a test may inject with `calls_status`.
_INJECTED: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_value", "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "model_not_found", "You do not have access to this model."),
    404: ("invalid_request_error", "not_found", "Not found."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", "server_error", "The server had an error while processing your request."),
    503: ("server_error", "overloaded", "The engine is currently overloaded, please try again later."),
}


def injected_failure(status: int) -> ApiError:
    type_, code, message = _INJECTED.get(
        status,
        ("server_error", "server_error", "The server had an error.")
        if status >= 500
        else ("invalid_request_error", "invalid_request", "Request refused."),
    )
    return ApiError(status, message, type_=type_, code=code)
