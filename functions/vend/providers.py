"""The long-lived objects of one execution environment, built once at init, and the init-time prefetch.

Why eagerly: Lambda runs init on about one full vCPU, but each invocation only on memory/1769 of a
vCPU (0.145 at 256 MB), and since August 2025 init is billed like the handler. Importing boto3,
Powertools Parameters and httpx, building their clients and doing the first TLS handshake cost about
ten times more wall time inside the first request than at init. So init builds every client the first
request needs, then, best effort and bounded to about a second, reads the key and opens the TLS
connection to OpenAI. What most cold starts never use (the X-Ray SDK when tracing is off) stays lazy.

Importing this module cannot fail: a bad setting is kept as a `SettingsError` and reported by every
request as 500 server_misconfigured; a failed prefetch leaves the work to the first request.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from vend.aws.secrets_manager import SecretsManagerReader
from vend.errors import ServerMisconfigured, VendError
from vend.logic.api_key import OpenAIApiKeySource
from vend.logic.mint import ClientSecretVendor
from vend.observability import logger
from vend.openai_api.client_secrets import PATH as CLIENT_SECRETS_PATH
from vend.openai_api.client_secrets import ClientSecretsApi
from vend.openai_api.http import OpenAIHttp
from vend.settings import Settings, SettingsError, load_settings

PREFETCH_BUDGET_SECONDS = 1.0  # init is billed: never spend more than this on work the request can redo


@dataclass(frozen=True, slots=True)
class Providers:
    settings: Settings
    api_key: OpenAIApiKeySource
    openai: OpenAIHttp
    vendor: ClientSecretVendor


def build(settings: Settings) -> Providers:
    api_key = OpenAIApiKeySource(
        SecretsManagerReader(), settings.openai_api_key_secret_id, settings.secret_max_age_seconds
    )
    openai = OpenAIHttp(
        settings.openai_base_url,
        connect_timeout=settings.upstream_connect_timeout_seconds,
        read_timeout=settings.upstream_read_timeout_seconds,
    )
    return Providers(
        settings, api_key, openai, ClientSecretVendor(settings, api_key, ClientSecretsApi(openai))
    )


def prefetch(providers: Providers, budget_seconds: float = PREFETCH_BUDGET_SECONDS) -> None:
    """Read the key and open the connection to OpenAI in parallel, waiting at most `budget_seconds`.

    Never raises and never logs a value: a failure (Secrets Manager down, key not stored yet, OpenAI
    unreachable) is logged by its code only, and the first request simply does the work again.
    """
    started = time.perf_counter()
    outcome: dict[str, str] = {}

    def read_key() -> None:
        try:
            providers.api_key.current()
            outcome["key"] = "ready"
        except VendError as error:
            outcome["key"] = error.reason
        except Exception as error:
            outcome["key"] = type(error).__name__

    def connect() -> None:
        ready = providers.openai.preconnect(CLIENT_SECRETS_PATH, timeout=budget_seconds)
        outcome["connection"] = "ready" if ready else "failed"

    tasks = [connect]
    if providers.api_key.caches:  # with no cache, the first request reads the secret anyway
        tasks.append(read_key)
    threads = [threading.Thread(target=task, name=f"prefetch-{task.__name__}", daemon=True) for task in tasks]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + budget_seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    logger.info(
        "init prefetch",
        extra={
            "key": outcome.get("key", "skipped" if not providers.api_key.caches else "pending"),
            "connection": outcome.get("connection", "pending"),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )


def _init() -> Providers | SettingsError:
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        logger.error("invalid configuration", extra={"variable": exc.variable, "problem": exc.problem})
        return exc
    if settings.model_is_deprecated:
        logger.warning("model shuts down on 2027-01-20; set REALTIME_MODEL", extra={"model": settings.model})
    try:
        providers = build(settings)
    except Exception as exc:
        logger.error("could not build clients", extra={"error_type": type(exc).__name__})
        return SettingsError("AWS_REGION", "no AWS client could be built (region or credentials missing)")
    prefetch(providers)
    return providers


INSTANCE = _init()


def current() -> Providers:
    """The environment's providers, or 500 server_misconfigured naming nothing but the variable."""
    if isinstance(INSTANCE, SettingsError):
        raise ServerMisconfigured(f"invalid_setting_{INSTANCE.variable}")
    return INSTANCE


def settings() -> Settings:
    return current().settings


def client_secret_vendor() -> ClientSecretVendor:
    return current().vendor


def tracing_enabled() -> bool:
    return not isinstance(INSTANCE, SettingsError) and INSTANCE.settings.tracing_enabled
