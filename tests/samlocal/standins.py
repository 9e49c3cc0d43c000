"""The services the function calls, for a function that runs inside a Docker container.

OpenAI is the project's stand-in (local.openai_standin); Secrets Manager, SSM and DynamoDB are moto's
server (local.moto_server, one port for all), seeded with the OpenAI key, the origin-verify secret (its
current value is the `x-origin-verify` every file in events/ carries), the visitor key and the pause
parameter ("false"), and holding the template's QuotaTable. All are started by this process and bound
to the Docker bridge's host address: the only address of this machine that a container on the default
bridge can reach (the host's loopback is not its loopback).

The AWS endpoints are that address itself: the function takes any endpoint boto3 takes. OpenAI needs
a test device (write-up in tests/samlocal/README.md): the function accepts plain http only to loopback
names (vend/settings.py), so its OPENAI_BASE_URL is `http://localhost:<port>`, and the container is
started with `--add-host localhost:<bridge address>`. Inside it, `localhost` then resolves to
127.0.0.1 (refused at once: nothing listens there) and to the bridge address, which
`socket.create_connection` tries next. The handler's rule is untouched; only the test's name
resolution differs.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from dataclasses import dataclass

from aiohttp import web

from local.dynamodb import template_table_properties
from local.moto_server import MotoServer
from local.openai_standin import StandinOptions, create_app
from tests.conftest import load_event

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Accepted by the stand-in as the only valid key (too short to look like a real sk- key in any log).
STANDIN_API_KEY = "sk-samlocal-standin"
SECRET_NAME = "realtime-vend/openai-api-key"
ORIGIN_VERIFY_SECRET_NAME = "realtime-vend/origin-verify"
VISITOR_KEY_SECRET_NAME = "realtime-vend/visitor-key"
PAUSE_PARAMETER = "/realtime-vend/paused"  # the template's `/<stack name>/paused`
QUOTA_TABLE = "realtime-vend-quota"
# What CloudFront would add as X-Origin-Verify: the events' value, read from them so it cannot drift.
ORIGIN_VERIFY = str(load_event("mint")["headers"]["x-origin-verify"])
# Far above what the suite mints from one visitor (every event and every curl together), so no test
# meets the quota by accident; the quota test starts its own API with a small one.
GENEROUS_QUOTA = 1000


@dataclass
class Standins:
    host: str  # the bridge address everything listens on
    openai_port: int
    aws_port: int  # Secrets Manager, SSM and DynamoDB
    arns: dict[str, str]  # every secret's ARN, by name

    @property
    def aws_endpoint(self) -> str:
        """moto's server: Secrets Manager, SSM and DynamoDB for the function, STS for SAM CLI itself."""
        return f"http://{self.host}:{self.aws_port}"

    def env_vars(
        self, *, quota_per_visitor: int = GENEROUS_QUOTA, daily_cap: int = 100_000
    ) -> dict[str, dict[str, str]]:
        """SAM's --env-vars document: the function's declared variables pointed at the stand-ins."""
        aws = self.aws_endpoint
        return {
            "VendFunction": {
                "OPENAI_API_KEY_SECRET_ARN": self.arns[SECRET_NAME],
                "OPENAI_BASE_URL": f"http://localhost:{self.openai_port}",
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws,
                "AWS_ENDPOINT_URL_SSM": aws,
                "AWS_ENDPOINT_URL_DYNAMODB": aws,
                "ORIGIN_VERIFY_SECRET_ARN": self.arns[ORIGIN_VERIFY_SECRET_NAME],
                "VISITOR_KEY_SECRET_ARN": self.arns[VISITOR_KEY_SECRET_NAME],
                "QUOTA_TABLE_NAME": QUOTA_TABLE,
                "PAUSE_PARAMETER_NAME": PAUSE_PARAMETER,
                "QUOTA_PER_VISITOR": str(quota_per_visitor),
                # The longest window the template allows: a test never straddles two windows in practice.
                "QUOTA_WINDOW_SECONDS": "86400",
                "DAILY_CAP": str(daily_cap),
                # Read at init whatever the CallMode; sam local cannot resolve the template's !GetAtt.
                "HANGUP_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-hangup",
                "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/realtime-vend-SchedulerRole",
                "SCHEDULE_GROUP_NAME": "realtime-vend-calls",
            }
        }


class RunningStandins:
    """Starts every stand-in on `host` (moto and the OpenAI stand-in side by side); `stop()` always ends
    all."""

    def __init__(self, host: str, secret_value: str = STANDIN_API_KEY) -> None:
        self._host = host
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openai-standin", daemon=True)
        self._runner: web.AppRunner | None = None
        self._aws = MotoServer(
            host,
            secrets={
                SECRET_NAME: secret_value,
                ORIGIN_VERIFY_SECRET_NAME: json.dumps({"current": ORIGIN_VERIFY, "previous": ""}),
                VISITOR_KEY_SECRET_NAME: secrets.token_urlsafe(48),
            },
            parameters={PAUSE_PARAMETER: "false"},
        )

    def start(self) -> Standins:
        self._thread.start()
        openai = asyncio.run_coroutine_threadsafe(self._serve_openai(), self._loop)
        # moto (a child interpreter) starts while the stand-in starts on its own loop's thread.
        self._aws.start()
        self._aws.create(tables={QUOTA_TABLE: template_table_properties("QuotaTable")})
        return Standins(
            host=self._host,
            openai_port=openai.result(timeout=30),
            aws_port=self._aws.port,
            arns=self._aws.arns,
        )

    async def _serve_openai(self) -> int:
        self._runner = web.AppRunner(create_app(StandinOptions(api_key=STANDIN_API_KEY)), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port: int = self._runner.addresses[0][1]
        return port

    def stop(self) -> None:
        self._aws.stop()
        if self._thread.is_alive():
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()
