"""The function's configuration: the template's environment, parsed and validated once.

Everyone else receives a frozen `Settings` and never reads `os.environ`. A bad value is reported by
the variable's name so that the operator can fix the template parameter it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar
from urllib.parse import urlsplit

# Built-in Realtime voices (openai-python `realtime_audio_config_output_param.py`, GA).
BUILT_IN_VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"}
)
# Models OpenAI has announced shut down on 2027-01-20 (SDK 3.57 docstring): still allowed, but logged.
DEPRECATED_MODELS = frozenset(
    {"gpt-realtime", "gpt-realtime-2025-08-28", "gpt-realtime-mini", "gpt-realtime-mini-2025-12-15"}
)
# GPT-Live's built-in voices (openai-python 3.63 `types/live/built_in_voice.py`).
LIVE_BUILT_IN_VOICES = frozenset(
    {
        "alloy", "ash", "ballad", "beacon", "bossa", "cedar", "cinder", "coral", "delta", "echo", "gleam",
        "marin", "meridian", "quartz", "ripple", "sage", "shida", "shimmer", "stone", "tempo", "verse",
        "vesper", "willow",
    }
)  # fmt: skip
LIVE_MODELS = frozenset({"gpt-live-1", "gpt-live-1.1"})
# Hosted tools GPT-Live's Responses delegation supports besides functions (the delegation guide).
LIVE_HOSTED_TOOLS = frozenset({"web_search"})
DEFAULT_LIVE_INSTRUCTIONS = (
    "You are a friendly, concise voice assistant. Answer in the language the user speaks, in short "
    "spoken sentences. Let the user interrupt you. Hand anything you cannot answer from the conversation "
    "itself (the time, looking something up, ending the call) to your backend, and say you are on it."
)
DEFAULT_LIVE_BACKEND_INSTRUCTIONS = (
    "You are the backend of a voice assistant. Use your tools when the task needs them and answer in "
    "one or two short sentences the assistant can say aloud."
)
DEFAULT_INSTRUCTIONS = (
    "You are a friendly, concise voice assistant. Answer in the language the user speaks, "
    "in short spoken sentences."
)

TurnDetection = Literal["server_vad", "semantic_vad", "none"]
CallMode = Literal["client_secret", "relay", "both"]
VoiceApi = Literal["realtime", "live"]
LiveDelegation = Literal["responses"]
Endpoint = Literal["client_secrets", "calls"]  # what CALL_MODE switches on or off
OutputModality = Literal["audio", "text"]
_T = TypeVar("_T")
# The handlers (template.yaml's Handler) of the functions that are not behind the API.
TASK_HANDLERS = ("vend.hangup.", "vend.kill_switch.", "vend.companion.")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_MODEL_ID = re.compile(r"[a-z0-9][a-z0-9.\-]{0,99}")
_SCHEDULE_GROUP = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{3,255}")
_PARAMETER_NAME = re.compile(r"/?[A-Za-z0-9_.\-/]{1,1010}")
_TOOL_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FUNCTION_NAME = re.compile(
    r"[A-Za-z0-9_\-]{1,64}|arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:[A-Za-z0-9_\-]{1,64}"
)
MICRO_USD_PER_DOLLAR = 1_000_000
# OpenAI's delegation guide: "Start with gpt-6-luna, or try gpt-6-sol for more complex backend tasks."
# (https://developers.openai.com/api/docs/guides/live-delegation, "Configure Responses delegation")
DEFAULT_LIVE_BACKEND_MODEL = "gpt-6-luna"


class SettingsError(ValueError):
    """One environment variable holds a value the function cannot run with."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    """Client secrets: how many a visitor may mint per window, and the whole stack per day."""

    per_visitor: int  # client secrets per visitor per window
    window_seconds: int
    daily_cap: int  # client secrets per UTC day for the whole stack


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Relayed calls: how long each may last and how many call-minutes a visitor and the stack get."""

    max_call_seconds: int  # the server hangs every relayed call up at start + this
    concurrent_per_visitor: int
    minutes_per_visitor: int  # per UTC day
    minutes_per_day: int  # per UTC day, the whole stack


@dataclass(frozen=True, slots=True)
class ScheduledHangups:
    """Where each relayed call's one-time hangup schedule goes, and what it invokes with which role."""

    function_arn: str
    role_arn: str
    group_name: str


@dataclass(frozen=True, slots=True)
class SpendLimits:
    """Relayed calls' metered spend (integer micro-dollars) per visitor and for the stack, per UTC day."""

    visitor_micro_usd_per_day: int
    stack_micro_usd_per_day: int
    # JSON that overrides the function's per-model price table ("" = the table as released).
    model_prices_json: str


@dataclass(frozen=True, slots=True)
class Companions:
    """The companion beside each relayed call: which function, and the server tools it executes."""

    function_name: str | None  # None: no companion (the scheduled hangup alone ends calls)
    tools: tuple[str, ...]  # enabled server tools, by name (functions/vend/tools)
    tool_timeout_seconds: float


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """GPT-Live sessions (VOICE_API=live): all fixed when the session is created."""

    model: str
    voice: str
    instructions: str  # the voice model's; fixed at startup
    idle_timeout_seconds: int  # standby after this much inactivity (wake on speech); 0 = never
    delegation: LiveDelegation
    backend_model: str  # the Responses model delegated tasks go to
    backend_instructions: str
    hosted_tools: tuple[str, ...]  # OpenAI-hosted tools on the backend (an allow-list: web_search)
    typed_text: bool  # the page may send typed text (to the backend)


@dataclass(frozen=True, slots=True)
class Settings:
    openai_api_key_secret_id: str
    openai_base_url: str
    model: str
    voices: tuple[str, ...]  # the allow-list the browser may choose from; the first is the default
    instructions: str
    client_secret_ttl_seconds: int  # an ek_ opens sessions until it expires: this is our replay window
    output_modality: OutputModality
    transcription_model: str | None  # None: no transcript of what the user said
    turn_detection: TurnDetection
    max_output_tokens: int | Literal["inf"]
    secret_max_age_seconds: int
    upstream_connect_timeout_seconds: float
    upstream_read_timeout_seconds: float
    tracing_enabled: bool
    # Only through CloudFront: the secret holding the origin header's current and previous values.
    origin_verify_secret_id: str
    # The HMAC key behind visitor fingerprints (logs, quota keys, OpenAI's safety identifier).
    visitor_key_secret_id: str
    # The one DynamoDB table: mint counters, call leases, call-second budgets and call records.
    usage_table_name: str
    quota: QuotaLimits
    pause_parameter_name: str
    # Which endpoints this stack serves: client secrets (POST /api/session), relayed calls, or both.
    call_mode: CallMode
    calls: CallLimits
    hangups: ScheduledHangups
    spend: SpendLimits
    companions: Companions
    # Which OpenAI voice API relayed calls use; "live" serves relay only (CALL_MODE must be relay).
    voice_api: VoiceApi
    live: LiveSettings
    # Signed-in mode: the JWT issuer API Gateway's authorizer checks tokens against; None = anonymous.
    auth_issuer: str | None

    @property
    def default_voice(self) -> str:
        return self.voices[0]

    @property
    def model_is_deprecated(self) -> bool:
        return self.model in DEPRECATED_MODELS

    def serves(self, endpoint: Endpoint) -> bool:
        """Whether CALL_MODE switches `endpoint` on: client secrets (POST /api/session) or calls."""
        if endpoint == "client_secrets":
            return self.call_mode in {"client_secret", "both"}
        return self.call_mode in {"relay", "both"}


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse the function's environment; raises SettingsError naming the first bad variable."""
    env = _Environment(environ)
    voice_api = env.get("VOICE_API", _voice_api, default="realtime")
    call_mode = env.get("CALL_MODE", _call_mode, default="client_secret")
    if voice_api == "live" and call_mode != "relay":
        # GPT-Live has no client secrets: only the server can create its sessions
        raise SettingsError("CALL_MODE", "must be 'relay' when VOICE_API is 'live'")
    return Settings(
        openai_api_key_secret_id=env.get("OPENAI_API_KEY_SECRET_ARN", _non_empty),
        openai_base_url=env.get("OPENAI_BASE_URL", _base_url, default="https://api.openai.com"),
        model=env.get("REALTIME_MODEL", _model, default="gpt-realtime-2.1"),
        voices=env.get("REALTIME_VOICES", _voices, default="marin,cedar"),
        instructions=env.get("REALTIME_INSTRUCTIONS", _instructions, default=DEFAULT_INSTRUCTIONS),
        client_secret_ttl_seconds=env.get("CLIENT_SECRET_TTL_SECONDS", _int_between(10, 7200), default="60"),
        output_modality=env.get("REALTIME_OUTPUT_MODALITY", _output_modality, default="audio"),
        transcription_model=env.get(
            "REALTIME_TRANSCRIPTION_MODEL", _optional_model, default="gpt-4o-mini-transcribe"
        ),
        turn_detection=env.get("REALTIME_TURN_DETECTION", _turn_detection, default="server_vad"),
        max_output_tokens=env.get("REALTIME_MAX_OUTPUT_TOKENS", _max_output_tokens, default="4096"),
        secret_max_age_seconds=env.get("SECRET_MAX_AGE_SECONDS", _int_between(0, 3600), default="300"),
        upstream_connect_timeout_seconds=env.get(
            "UPSTREAM_CONNECT_TIMEOUT_SECONDS", _seconds_between(0.1, 10.0), default="2"
        ),
        upstream_read_timeout_seconds=env.get(
            "UPSTREAM_READ_TIMEOUT_SECONDS", _seconds_between(0.5, 20.0), default="4"
        ),
        tracing_enabled=env.get("TRACING_ENABLED", _boolean, default="false"),
        origin_verify_secret_id=env.get("ORIGIN_VERIFY_SECRET_ARN", _non_empty),
        visitor_key_secret_id=env.get("VISITOR_KEY_SECRET_ARN", _non_empty),
        usage_table_name=env.get("QUOTA_TABLE_NAME", _table_name),
        quota=QuotaLimits(
            per_visitor=env.get("QUOTA_PER_VISITOR", _int_between(1, 10_000), default="10"),
            window_seconds=env.get("QUOTA_WINDOW_SECONDS", _int_between(60, 86_400), default="600"),
            daily_cap=env.get("DAILY_CAP", _int_between(1, 1_000_000), default="200"),
        ),
        pause_parameter_name=env.get("PAUSE_PARAMETER_NAME", _parameter_name),
        call_mode=call_mode,
        calls=CallLimits(
            max_call_seconds=env.get("MAX_CALL_SECONDS", _int_between(10, 3600), default="600"),
            concurrent_per_visitor=env.get("CONCURRENT_CALLS_PER_VISITOR", _int_between(1, 10), default="1"),
            minutes_per_visitor=env.get("CALL_MINUTES_PER_VISITOR", _int_between(1, 1440), default="30"),
            minutes_per_day=env.get("CALL_MINUTES_PER_DAY", _int_between(1, 1_000_000), default="600"),
        ),
        hangups=ScheduledHangups(
            function_arn=env.get("HANGUP_FUNCTION_ARN", _non_empty),
            role_arn=env.get("SCHEDULER_ROLE_ARN", _non_empty),
            group_name=env.get("SCHEDULE_GROUP_NAME", _schedule_group),
        ),
        spend=SpendLimits(
            visitor_micro_usd_per_day=env.get("CALL_DOLLARS_PER_VISITOR_PER_DAY", _dollars, default="2"),
            stack_micro_usd_per_day=env.get("CALL_DOLLARS_PER_DAY", _dollars, default="20"),
            model_prices_json=env.get("MODEL_PRICES", _json_object_or_empty, default="-"),
        ),
        companions=Companions(
            function_name=env.get("COMPANION_FUNCTION_NAME", _optional_function_name, default="-"),
            tools=env.get("TOOLS", _tool_names, default="get_current_time,end_call"),
            tool_timeout_seconds=env.get("TOOL_TIMEOUT_SECONDS", _seconds_between(0.5, 60.0), default="5"),
        ),
        voice_api=voice_api,
        live=LiveSettings(
            model=env.get("LIVE_MODEL", _live_model, default="gpt-live-1.1"),
            voice=env.get("LIVE_VOICE", _live_voice, default="marin"),
            instructions=env.get("LIVE_INSTRUCTIONS", _instructions, default=DEFAULT_LIVE_INSTRUCTIONS),
            idle_timeout_seconds=env.get("LIVE_IDLE_TIMEOUT_SECONDS", _int_between(0, 3600), default="0"),
            delegation=env.get("LIVE_DELEGATION", _live_delegation, default="responses"),
            backend_model=env.get("LIVE_BACKEND_MODEL", _model, default=DEFAULT_LIVE_BACKEND_MODEL),
            backend_instructions=env.get(
                "LIVE_BACKEND_INSTRUCTIONS", _instructions, default=DEFAULT_LIVE_BACKEND_INSTRUCTIONS
            ),
            hosted_tools=env.get("LIVE_HOSTED_TOOLS", _hosted_tools, default="none"),
            typed_text=env.get("LIVE_TYPED_TEXT", _boolean, default="true"),
        ),
        auth_issuer=env.get("AUTH_ISSUER", _optional_issuer, default=""),
    )


def serves_visitors(environ: Mapping[str, str]) -> bool:
    """False in the functions no visitor reaches: the scheduled hangup, the kill switch, the companion.

    Read from `_HANDLER`, which Lambda sets (not the template) to the function's handler. Those two
    need the key, OpenAI and the table at init, not the origin header, the visitor key or the pause
    switch, which their roles cannot read.
    """
    return not environ.get("_HANDLER", "").startswith(TASK_HANDLERS)


class _Environment:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str, parse: Callable[[str], _T], default: str | None = None) -> _T:
        raw = self._environ.get(name, "").strip()
        if not raw:
            if default is None:
                raise SettingsError(name, "is required and not set")
            raw = default
        try:
            return parse(raw)
        except ValueError as exc:
            raise SettingsError(name, str(exc)) from None


def _non_empty(raw: str) -> str:
    return raw


def _optional_issuer(raw: str) -> str | None:
    """An OpenID Connect issuer is an https URL (http only on loopback, for the local stack)."""
    if not raw:
        return None
    parts = urlsplit(raw)
    loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"}
    if not (parts.scheme == "https" or loopback) or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be the issuer's https URL, as in its tokens' iss claim")
    return raw


def _dollars(raw: str) -> int:
    """Dollars with at most six decimals (0.01 to 1,000,000), held as integer micro-dollars."""
    problem = "must be an amount of US dollars from 0.01 to 1000000, such as 2 or 0.50"
    whole, _, fraction = raw.partition(".")
    if not whole.isdigit() or (fraction and not (fraction.isdigit() and len(fraction) <= 6)):
        raise ValueError(problem)
    micro = int(whole) * MICRO_USD_PER_DOLLAR + int(fraction.ljust(6, "0") or "0")
    if not 10_000 <= micro <= 1_000_000 * MICRO_USD_PER_DOLLAR:
        raise ValueError(problem)
    return micro


def _json_object_or_empty(raw: str) -> str:
    """The price override's syntax only; metering.prices checks its content."""
    if raw == "-":
        return ""
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ValueError("must be a JSON object (or empty)") from None
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object (or empty)")
    return raw


def _optional_function_name(raw: str) -> str | None:
    if raw == "-":
        return None
    if not _FUNCTION_NAME.fullmatch(raw):
        raise ValueError("must be a Lambda function name or ARN")
    return raw


def _tool_names(raw: str) -> tuple[str, ...]:
    if raw.lower() == "none":
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if not all(_TOOL_NAME.fullmatch(n) for n in names):
        raise ValueError("must be a comma-separated list of tool names (lowercase, digits, _), or none")
    return names


def _call_mode(raw: str) -> CallMode:
    if raw == "client_secret":
        return "client_secret"
    if raw == "relay":
        return "relay"
    if raw == "both":
        return "both"
    raise ValueError("must be 'client_secret', 'relay' or 'both'")


def _voice_api(raw: str) -> VoiceApi:
    if raw == "realtime":
        return "realtime"
    if raw == "live":
        return "live"
    raise ValueError("must be 'realtime' or 'live'")


def _live_model(raw: str) -> str:
    if raw not in LIVE_MODELS:
        raise ValueError(f"must be one of {', '.join(sorted(LIVE_MODELS))}")
    return raw


def _live_voice(raw: str) -> str:
    if raw not in LIVE_BUILT_IN_VOICES:
        raise ValueError(f"must be a GPT-Live built-in voice ({', '.join(sorted(LIVE_BUILT_IN_VOICES))})")
    return raw


def _live_delegation(raw: str) -> LiveDelegation:
    # GPT-Live has no "no delegation": an omitted delegation means client delegation (docs/gpt-live.md)
    if raw == "responses":
        return "responses"
    raise ValueError("must be 'responses'")


def _hosted_tools(raw: str) -> tuple[str, ...]:
    if raw.lower() == "none":
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if not names or not set(names) <= LIVE_HOSTED_TOOLS:
        raise ValueError(
            f"must be a comma-separated list from {', '.join(sorted(LIVE_HOSTED_TOOLS))}, or none"
        )
    return names


def _schedule_group(raw: str) -> str:
    if not _SCHEDULE_GROUP.fullmatch(raw):
        raise ValueError("must be an EventBridge Scheduler group name (1-64 of A-Z a-z 0-9 _ . -)")
    return raw


def _table_name(raw: str) -> str:
    if not _TABLE_NAME.fullmatch(raw):
        raise ValueError("must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
    return raw


def _parameter_name(raw: str) -> str:
    if not _PARAMETER_NAME.fullmatch(raw):
        raise ValueError("must be an SSM parameter name such as /my-stack/paused")
    return raw


def _base_url(raw: str) -> str:
    # Fixed by the template, never by a request; plain http only for a local stand-in (SSRF, key leak).
    parts = urlsplit(raw)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError("must be an absolute https:// URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError("must use https:// (plain http is allowed for loopback only)")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        raise ValueError("must be an origin such as https://api.openai.com, without a path")
    return raw.rstrip("/")


def _model(raw: str) -> str:
    if not _MODEL_ID.fullmatch(raw):
        raise ValueError("must be a model id such as gpt-realtime-2.1")
    return raw


def _optional_model(raw: str) -> str | None:
    return None if raw.lower() == "none" else _model(raw)


def _voices(raw: str) -> tuple[str, ...]:
    voices = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    unknown = [v for v in voices if v not in BUILT_IN_VOICES]
    if not voices or unknown:
        raise ValueError(
            f"must be a comma-separated list of built-in voices ({', '.join(sorted(BUILT_IN_VOICES))})"
        )
    return voices


def _instructions(raw: str) -> str:
    if len(raw) > 4000:  # the template's MaxLength: Lambda's environment holds 4 KB in all
        raise ValueError("must be at most 4000 characters")
    return raw


def _int_between(low: int, high: int) -> Callable[[str], int]:
    return _number_between(int, low, high, "a whole number")


def _seconds_between(low: float, high: float) -> Callable[[str], float]:
    return _number_between(float, low, high, "a number of seconds")


_Number = TypeVar("_Number", int, float)


def _number_between(
    kind: Callable[[str], _Number], low: _Number, high: _Number, what: str
) -> Callable[[str], _Number]:
    problem = f"must be {what} from {low:g} to {high:g}"

    def parse(raw: str) -> _Number:
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(problem) from None
        if not low <= value <= high:
            raise ValueError(problem)
        return value

    return parse


def _output_modality(raw: str) -> OutputModality:
    # OpenAI accepts ["audio"] (with a transcript) or ["text"], not both.
    if raw == "audio":
        return "audio"
    if raw == "text":
        return "text"
    raise ValueError("must be 'audio' or 'text'")


def _turn_detection(raw: str) -> TurnDetection:
    if raw == "server_vad":
        return "server_vad"
    if raw == "semantic_vad":
        return "semantic_vad"
    if raw == "none":
        return "none"
    raise ValueError("must be 'server_vad', 'semantic_vad' or 'none'")


def _max_output_tokens(raw: str) -> int | Literal["inf"]:
    if raw == "inf":
        return "inf"
    return _int_between(1, 4096)(raw)


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise ValueError("must be true or false")
