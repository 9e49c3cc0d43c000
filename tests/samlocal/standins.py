"""The two services the function calls, for a function that runs inside a Docker container.

OpenAI is the project's stand-in (local.openai_standin) and Secrets Manager is moto's server, both
started in this process and bound to the Docker bridge's host address: the only address of this
machine that a container on the default bridge can reach (the host's loopback is not its loopback).

The test device that makes this work (write-up in tests/samlocal/README.md): the function accepts plain
http only to loopback names (vend/settings.py), so its OPENAI_BASE_URL is `http://localhost:<port>`, and
the container is started with `--add-host localhost:<bridge address>`. Inside it, `localhost` then
resolves to 127.0.0.1 (refused at once: nothing listens there) and to the bridge address, which
`socket.create_connection` tries next. The handler's rule is untouched; only the test's name resolution
differs.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from aiohttp import web

from local.openai_standin import StandinOptions, create_app
from local.secrets_manager import SeededSecretsManager

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Accepted by the stand-in as the only valid key (too short to look like a real sk- key in any log).
STANDIN_API_KEY = "sk-samlocal-standin"
SECRET_NAME = "realtime-vend/openai-api-key"


@dataclass
class Standins:
    openai_port: int
    secrets_port: int
    secret_arn: str

    def env_vars(self) -> dict[str, dict[str, str]]:
        """SAM's --env-vars document: the function's declared variables pointed at the stand-ins."""
        return {
            "VendFunction": {
                "OPENAI_API_KEY_SECRET_ARN": self.secret_arn,
                "OPENAI_BASE_URL": f"http://localhost:{self.openai_port}",
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://localhost:{self.secrets_port}",
            }
        }


class RunningStandins:
    """Starts both stand-ins on `host` in background threads; `stop()` always ends both."""

    def __init__(self, host: str, secret_value: str = STANDIN_API_KEY) -> None:
        self._host = host
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openai-standin", daemon=True)
        self._runner: web.AppRunner | None = None
        self._secrets = SeededSecretsManager(SECRET_NAME, secret_value, host=host)

    def start(self) -> Standins:
        self._thread.start()
        openai_port = asyncio.run_coroutine_threadsafe(self._serve_openai(), self._loop).result(timeout=30)
        self._secrets.start()
        return Standins(
            openai_port=openai_port, secrets_port=self._secrets.port, secret_arn=self._secrets.arn
        )

    async def _serve_openai(self) -> int:
        self._runner = web.AppRunner(create_app(StandinOptions(api_key=STANDIN_API_KEY)), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port: int = self._runner.addresses[0][1]
        return port

    def stop(self) -> None:
        self._secrets.stop()
        if self._thread.is_alive():
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()
