"""Secrets Manager on loopback (moto's server) holding one secret: the OpenAI key the handler reads.

Used by the local stack; the handler reaches it through
AWS_ENDPOINT_URL_SECRETS_MANAGER, exactly as it reaches the real service.
"""

from __future__ import annotations

import logging
from typing import Any

REGION = "us-east-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class SeededSecretsManager:
    def __init__(self, name: str, value: str, host: str = "127.0.0.1") -> None:
        self._name = name
        self._value = value
        self._host = host  # another address when a container must reach it (tests/samlocal)
        self._server: Any = None
        self.endpoint = ""
        self.port = 0
        self.arn = ""

    def start(self) -> None:
        """Starts the server on a free port and creates the secret (blocking: ~1 ms + one call)."""
        import boto3  # noqa: PLC0415 - heavy; only when starting
        from moto.server import ThreadedMotoServer  # noqa: PLC0415

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every call as an access line
        self._server = ThreadedMotoServer(ip_address=self._host, port=0, verbose=False)
        self._server.start()
        host, self.port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{self.port}"
        client = boto3.client(
            "secretsmanager", region_name=REGION, endpoint_url=self.endpoint, **FAKE_CREDENTIALS
        )
        self.arn = client.create_secret(Name=self._name, SecretString=self._value)["ARN"]

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
