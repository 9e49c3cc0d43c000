"""What a local stack is asked to run (`StackOptions`), and the names it gives what it creates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from template_contract.reader import TEMPLATE

REPO = Path(__file__).resolve().parent.parent
OPENAI_ORIGIN = "https://api.openai.com"
SECRET_NAME = "realtime-vend/local/openai-api-key"  # noqa: S105 - a name, not a secret
ORIGIN_VERIFY_SECRET_NAME = "realtime-vend/local/origin-verify"  # noqa: S105 - a name
VISITOR_KEY_SECRET_NAME = "realtime-vend/local/visitor-key"  # noqa: S105 - a name
PAUSE_PARAMETER = "/realtime-vend-local/paused"  # the template's `/<stack name>/paused`
QUOTA_TABLE = "realtime-vend-local-quota"
# Relayed calls: the template's `<stack>-calls` group, and ARNs of the right shape for the schedules'
# target and role (moto stores them; local.scheduler invokes the hangup handler in this process).
SCHEDULE_GROUP = "realtime-vend-local-calls"
HANGUP_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-local-HangupFunction"
SCHEDULER_ROLE_ARN = "arn:aws:iam::123456789012:role/realtime-vend-local-SchedulerRole"
# The companion (issue 18): the vend function invokes it by this name through the Lambda API, which
# local.lambda_invoke serves (`<stack>-Companion`, as the template names it).
COMPANION_FUNCTION_NAME = "realtime-vend-local-companion"
CALL_MODES = ("client_secret", "relay", "both")
VOICE_APIS = ("realtime", "live")  # the template's VoiceApi
AUTH_MODES = ("none", "oidc")


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    standin_port: int = 0
    # A real key makes the stack talk to OpenAI instead of the stand-in.
    openai_api_key: str | None = None
    # Round trip added to every /api request, as a network between browser and API Gateway would.
    api_latency_ms: float = 0.0
    # Extra static folders, e.g. {"/bench/": Path(...)} for the benchmark's reference page.
    extra_static: Mapping[str, Path] = field(default_factory=dict)
    # Stand-in knobs (see local.openai_standin.StandinOptions).
    session_max_seconds: float = 3600.0
    handler_env: Mapping[str, str] = field(default_factory=dict)
    # Where the page's security headers and the API routes are read from.
    template: Path = TEMPLATE
    execute_api_port: int = 0
    # The abuse limits; None: the template's default.
    quota_per_visitor: int | None = None
    quota_window_seconds: int | None = None
    daily_cap: int | None = None
    paused: bool = False  # the pause switch's value at start (tests flip it in SSM mid-run)
    # Relayed calls; None: the template's default.
    mode: str | None = None  # CALL_MODE: client_secret | relay | both
    concurrent_calls: int | None = None
    max_call_seconds: int | None = None
    call_minutes_per_visitor: int | None = None
    call_minutes_per_day: int | None = None
    call_dollars_per_visitor: str | None = None  # US dollars, as the template's parameter takes them
    call_dollars_per_day: str | None = None
    tools: str | None = None
    # How often the local scheduler looks for due schedules.
    scheduler_interval: float = 0.5
    # Signed-in visitors: "oidc" runs a real OpenID Connect provider and API Gateway's JWT authorizer.
    auth: str = "none"
    access_token_ttl: int = 600  # the provider's access tokens, seconds
    # Functions invoked through the Lambda API (name -> handler module); None: local.lambda_invoke's
    # ASYNC_FUNCTIONS (the companion). Tests point a name at a module of their own.
    async_functions: Mapping[str, str] | None = None
    # The emulated deadline of every such invocation, seconds; None: the function's timeout (900 s).
    companion_deadline_seconds: float | None = None
    # Lambda's async retries wait about 1 and 2 minutes; here this many seconds, then twice as many.
    async_retry_seconds: float = 1.0
    # Lambda's init for each new execution environment of such a function (none idle), milliseconds.
    companion_init_ms: float = 0.0
    # GPT-Live (VOICE_API=live, relay only); None: the template's default. typed_text and hosted_tools
    # as the template's parameters take them ("true"/"false"; "web_search" or "none").
    voice_api: str | None = None
    live_model: str | None = None
    live_voice: str | None = None
    live_idle_timeout_seconds: int | None = None
    live_typed_text: str | None = None
    live_hosted_tools: str | None = None
    # The stand-in's GPT-Live options (local.openai_standin.options.StandinOptions, by field name), set
    # when it starts: live_usage_interval_seconds, live_max_session_seconds, live_webrtc_hangup,
    # live_reflect_audio. Empty: the stand-in's defaults.
    standin_live: Mapping[str, object] = field(default_factory=dict)
