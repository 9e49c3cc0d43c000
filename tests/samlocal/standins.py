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
import logging
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from local.openai_standin import StandinOptions, create_app

REGION = "us-east-1"
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
        self._secret_value = secret_value
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openai-standin", daemon=True)
        self._runner: web.AppRunner | None = None
        self._moto: Any = None

    def start(self) -> Standins:
        import boto3
        from moto.server import ThreadedMotoServer

        self._thread.start()
        openai_port = asyncio.run_coroutine_threadsafe(self._serve_openai(), self._loop).result(timeout=30)

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every call as an access line
        self._moto = ThreadedMotoServer(ip_address=self._host, port=0, verbose=False)
        self._moto.start()
        _, secrets_port = self._moto.get_host_and_port()
        client = boto3.client(
            "secretsmanager",
            region_name=REGION,
            endpoint_url=f"http://{self._host}:{secrets_port}",
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        arn = client.create_secret(Name=SECRET_NAME, SecretString=self._secret_value)["ARN"]
        return Standins(openai_port=openai_port, secrets_port=secrets_port, secret_arn=arn)

    async def _serve_openai(self) -> int:
        self._runner = web.AppRunner(create_app(StandinOptions(api_key=STANDIN_API_KEY)), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port: int = self._runner.addresses[0][1]
        return port

    def stop(self) -> None:
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._thread.is_alive():
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()
