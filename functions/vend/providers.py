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

import importlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vend.aws.call_ledger import CallLedger
from vend.aws.companion_ledger import CompanionLedger
from vend.aws.companions import CompanionInvoker
from vend.aws.parameters import ParameterUnavailable, SsmParameterReader
from vend.aws.schedules import CallSchedules
from vend.aws.secrets_manager import SecretsManagerReader
from vend.aws.spend_ledger import SpendLedger
from vend.aws.usage_table import UsageTable
from vend.errors import ServerMisconfigured, VendError
from vend.logic.api_key import OpenAIApiKeySource
from vend.logic.call_status import CallStatusReader
from vend.logic.mint import ClientSecretVendor
from vend.logic.origin_verify import OriginVerifySource
from vend.logic.pause import PauseSwitch
from vend.logic.quota import MintQuota
from vend.logic.relay import CallRelay
from vend.logic.relay import CallsApi as RelayCallsApi
from vend.logic.spend_budget import SpendBudget
from vend.logic.visitors import VisitorFingerprints
from vend.metering.prices import price_table
from vend.observability import logger
from vend.openai_api.calls import CallsApi
from vend.openai_api.client_secrets import PATH as CLIENT_SECRETS_PATH
from vend.openai_api.client_secrets import ClientSecretsApi
from vend.openai_api.either_api import CallsOfEitherApi
from vend.openai_api.http import OpenAIHttp
from vend.openai_api.live_sessions import LiveCloser, LiveSessionsApi
from vend.secret_values import OpenAIApiKey
from vend.settings import Settings, SettingsError, load_settings, serves_visitors
from vend.tools.registry import enabled

PREFETCH_BUDGET_SECONDS = 1.0  # init is billed: never spend more than this on work the request can redo


@dataclass(frozen=True, slots=True)
class Providers:
    settings: Settings
    api_key: OpenAIApiKeySource
    openai: OpenAIHttp
    vendor: ClientSecretVendor
    origin_verify: OriginVerifySource
    visitors: VisitorFingerprints
    pause: PauseSwitch
    usage_table: UsageTable
    relay: CallRelay
    call_status: CallStatusReader
    # What the companion uses besides the above (vend/companion/wiring.py); the two companion
    # objects are None when COMPANION_FUNCTION_NAME is empty (no companion: Scheduler alone ends calls).
    call_ledger: CallLedger
    calls_api: RelayCallsApi  # Realtime's calls, or GPT-Live's sessions (VOICE_API)
    schedules: CallSchedules
    companions: CompanionInvoker | None
    companion_ledger: CompanionLedger | None


def build(settings: Settings) -> Providers:
    secrets = SecretsManagerReader()
    api_key = OpenAIApiKeySource(secrets, settings.openai_api_key_secret_id, settings.secret_max_age_seconds)
    openai = OpenAIHttp(
        settings.openai_base_url,
        connect_timeout=settings.upstream_connect_timeout_seconds,
        read_timeout=settings.upstream_read_timeout_seconds,
    )
    usage_table = UsageTable(settings.usage_table_name)
    # Metered dollars close both doors, but only relayed calls are metered: a client-secret-only stack
    # never reads the spend items.
    spend = (
        SpendBudget(
            visitor_micro_usd=settings.spend.visitor_micro_usd_per_day,
            stack_micro_usd=settings.spend.stack_micro_usd_per_day,
            ledger=SpendLedger(settings.usage_table_name, usage_table.client),
        )
        if settings.serves("calls")
        else None
    )
    vendor = ClientSecretVendor(
        settings, api_key, ClientSecretsApi(openai), MintQuota(settings.quota, usage_table), spend=spend
    )
    call_ledger = CallLedger(settings.usage_table_name, usage_table.client)
    calls_api = _calls_api(settings, openai)
    schedules = CallSchedules(
        settings.hangups.group_name, settings.hangups.function_arn, settings.hangups.role_arn
    )
    function_name = settings.companions.function_name
    companions = CompanionInvoker(function_name) if function_name else None
    companion_ledger = (
        CompanionLedger(settings.usage_table_name, usage_table.client) if function_name else None
    )
    return Providers(
        settings=settings,
        api_key=api_key,
        openai=openai,
        vendor=vendor,
        origin_verify=OriginVerifySource(
            secrets, settings.origin_verify_secret_id, settings.secret_max_age_seconds
        ),
        visitors=VisitorFingerprints(secrets, settings.visitor_key_secret_id),
        pause=PauseSwitch(
            SsmParameterReader(), settings.pause_parameter_name, unavailable=ParameterUnavailable
        ),
        usage_table=usage_table,
        relay=CallRelay(
            settings, api_key, calls_api, call_ledger, schedules, companions=companions, spend=spend
        ),
        call_status=CallStatusReader(call_ledger, companion_ledger),
        call_ledger=call_ledger,
        calls_api=calls_api,
        schedules=schedules,
        companions=companions,
        companion_ledger=companion_ledger,
    )


def _calls_api(settings: Settings, openai: OpenAIHttp) -> RelayCallsApi:
    """What relayed calls open (Realtime calls, or GPT-Live sessions, by VOICE_API) and how each is
    ended: by the API that opened it, which a deploy switching VOICE_API may have changed since."""
    realtime = CallsApi(openai)
    live = LiveSessionsApi(openai, settings.openai_base_url, _close_live_session)
    return CallsOfEitherApi(live if settings.voice_api == "live" else realtime, realtime=realtime, live=live)


def _close_live_session(base_url: str, api_key: OpenAIApiKey, session_id: str, *, deadline: float) -> bool:
    """The companion's sideband close (openai_api/live_close.py), imported at the first hangup, not at
    init: starting a call never needs the WebSocket client it brings, so no cold start pays for it."""
    module = importlib.import_module("vend.openai_api.live_close")
    close: LiveCloser = module.close_live_session
    return close(base_url, api_key, session_id, deadline=deadline)


class Prefetch:
    """Reads what every request needs (the key, the origin header's values, the visitor key, the pause
    switch) and opens the connections to OpenAI and DynamoDB in background threads, started as early
    as init allows so that their network waits overlap the imports still to come; `wait()` ends init.

    Never raises and never logs a value: a failure (Secrets Manager down, key not stored yet, OpenAI
    unreachable) is logged by its code only, and the first request simply does the work again.
    """

    def __init__(
        self, providers: Providers, *, serves_api: bool, budget_seconds: float = PREFETCH_BUDGET_SECONDS
    ) -> None:
        self._providers = providers
        self._started = time.perf_counter()
        self._deadline = time.monotonic() + budget_seconds
        self._outcome: dict[str, str] = {}
        # One thread per service, so their waits overlap; within a service one after another, so they
        # share one TLS connection (a handshake and a CA bundle load each cost ~30 ms of init CPU).
        # The scheduled hangup and the kill switch serve no visitor: they need the key, OpenAI and the
        # table, not the origin header, the visitor key or the pause switch (their roles cannot read them).
        secrets: list[tuple[str, Callable[[], object]]] = []
        if providers.api_key.caches:  # with no cache, the first request reads these secrets anyway
            secrets.append(("key", providers.api_key.current))
            if serves_api:
                secrets.insert(0, ("origin_verify", providers.origin_verify.accepted))
        if serves_api:
            secrets.append(("visitor_key", providers.visitors.key_ready))
        lanes: list[list[tuple[str, Callable[[], object]]]] = [
            [("connection", self._connect)],
            secrets,
            [("quota_table", providers.usage_table.connect)],  # named as the template names the table
        ]
        if serves_api:
            lanes.append([("pause", providers.pause.paused)])
        lanes = [lane for lane in lanes if lane]
        self._expected = tuple(name for lane in lanes for name, _ in lane)
        self._threads = [
            threading.Thread(target=self._run, args=(lane,), name=f"prefetch-{lane[0][0]}", daemon=True)
            for lane in lanes
        ]
        for thread in self._threads:
            thread.start()

    def wait(self) -> None:
        """Join the threads until the budget is spent (a thread still running just finishes later)."""
        for thread in self._threads:
            thread.join(max(0.0, self._deadline - time.monotonic()))
        outcome = {name: self._outcome.get(name, "pending") for name in self._expected}
        if not self._providers.api_key.caches:
            outcome.update(key="skipped")
        logger.info(
            "init prefetch",
            extra={**outcome, "duration_ms": round((time.perf_counter() - self._started) * 1000, 2)},
        )

    def _run(self, lane: list[tuple[str, Callable[[], object]]]) -> None:
        for name, task in lane:
            try:
                task()
                self._outcome[name] = "ready"
            except _NotReady:
                self._outcome[name] = "failed"
            except VendError as error:
                self._outcome[name] = error.reason
            except Exception as error:
                self._outcome[name] = type(error).__name__

    def _connect(self) -> None:
        timeout = max(0.05, self._deadline - time.monotonic())
        if not self._providers.openai.preconnect(CLIENT_SECRETS_PATH, timeout=timeout):
            raise _NotReady


class _NotReady(Exception):
    """A prefetch task that reports failure without an error of its own."""


class _NoPrefetch:
    def wait(self) -> None:
        """Nothing was started: the settings are invalid, and every request says so."""


def _check_relay_configuration(settings: Settings) -> None:
    """What only relayed calls use, checked at init so a typo fails the cold start, not a call: each
    enabled tool exists, and the models the companion meters have a price."""
    if not settings.serves("calls"):
        return
    enabled(settings.companions.tools)  # raises SettingsError("TOOLS", …) naming the unknown tool
    if settings.companions.function_name is None:
        return
    try:
        prices = price_table(settings.spend.model_prices_json)
    except ValueError as exc:
        raise SettingsError("MODEL_PRICES", str(exc)) from None
    metered = (
        (("LIVE_MODEL", settings.live.model), ("LIVE_BACKEND_MODEL", settings.live.backend_model))
        if settings.voice_api == "live"
        else (
            ("REALTIME_MODEL", settings.model),
            ("REALTIME_TRANSCRIPTION_MODEL", settings.transcription_model),
        )
    )
    for variable, model in metered:
        if model is not None:
            try:
                prices.price(model)
            except LookupError:
                raise SettingsError(variable, f"{model} has no price: add it with MODEL_PRICES") from None


def _note_live_configuration(settings: Settings) -> None:
    """A GPT-Live stack's tools run in the companion; without one, the backend gets only hosted tools
    (as a Realtime relay then gets none). Valid, but worth one line at init."""
    if settings.voice_api != "live" or not settings.serves("calls"):
        return
    if settings.companions.function_name is None and settings.companions.tools:
        logger.info(
            "function tools left out: no companion runs them",
            extra={"tools": list(settings.companions.tools)},
        )


def _init() -> Providers | SettingsError:
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        logger.error("invalid configuration", extra={"variable": exc.variable, "problem": exc.problem})
        return exc
    try:
        _check_relay_configuration(settings)
    except SettingsError as exc:
        logger.error("invalid configuration", extra={"variable": exc.variable, "problem": exc.problem})
        return exc
    _note_live_configuration(settings)
    if settings.model_is_deprecated:
        logger.warning("model shuts down on 2027-01-20; set REALTIME_MODEL", extra={"model": settings.model})
    try:
        providers = build(settings)
    except Exception as exc:
        logger.error("could not build clients", extra={"error_type": type(exc).__name__})
        return SettingsError("AWS_REGION", "no AWS client could be built (region or credentials missing)")
    return providers


INSTANCE = _init()
# Started now, joined by vend.app once its own imports are done (see Prefetch).
PREFETCH: Prefetch | _NoPrefetch = (
    _NoPrefetch()
    if isinstance(INSTANCE, SettingsError)
    else Prefetch(INSTANCE, serves_api=serves_visitors(os.environ))
)


def current() -> Providers:
    """The environment's providers, or 500 server_misconfigured naming nothing but the variable."""
    if isinstance(INSTANCE, SettingsError):
        raise ServerMisconfigured(f"invalid_setting_{INSTANCE.variable}")
    return INSTANCE


def settings() -> Settings:
    return current().settings


def client_secret_vendor() -> ClientSecretVendor:
    return current().vendor


def origin_verify() -> OriginVerifySource:
    return current().origin_verify


def visitors() -> VisitorFingerprints:
    return current().visitors


def pause_switch() -> PauseSwitch:
    return current().pause


def call_relay() -> CallRelay:
    return current().relay


def call_status() -> CallStatusReader:
    return current().call_status


def tracing_enabled() -> bool:
    return not isinstance(INSTANCE, SettingsError) and INSTANCE.settings.tracing_enabled
