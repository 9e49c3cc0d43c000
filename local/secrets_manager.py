"""Secrets Manager and SSM on loopback (moto's server), seeded with what the handler reads at startup.

Used by the local stack (the OpenAI key, the origin-verify and visitor-key secrets, the pause
parameter) and by tests/samlocal (the key alone). The handler reaches it through
AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_SSM, exactly as it reaches the real services:
moto's server answers every service on one port.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

REGION = "us-east-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class SeededSecretsManager:
    """`SeededSecretsManager(name, value)`: one secret; `secrets=` and `parameters=` seed more.

    After `start()`: `endpoint`, `arn` (the first secret's), `arns` (every secret's, by name).
    Parameters are SSM String parameters.
    """

    def __init__(
        self,
        name: str,
        value: str,
        host: str = "127.0.0.1",
        *,
        secrets: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self._secrets = {name: value, **(secrets or {})}
        self._name = name
        self._parameters = dict(parameters or {})
        self._host = host  # another address when a container must reach it (tests/samlocal)
        self._server: Any = None
        self.endpoint = ""
        self.port = 0
        self.arn = ""
        self.arns: dict[str, str] = {}

    def start(self) -> None:
        """Starts the server on a free port and seeds it (blocking: the import, then one call each)."""
        import boto3  # noqa: PLC0415 - heavy; only when starting
        from moto.server import ThreadedMotoServer  # noqa: PLC0415

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every call as an access line
        self._server = ThreadedMotoServer(ip_address=self._host, port=0, verbose=False)
        self._server.start()
        host, self.port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{self.port}"
        session = boto3.session.Session(
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
        )
        client = session.client("secretsmanager", endpoint_url=self.endpoint)
        for name, value in self._secrets.items():
            self.arns[name] = client.create_secret(Name=name, SecretString=value)["ARN"]
        self.arn = self.arns[self._name]
        if self._parameters:
            ssm = session.client("ssm", endpoint_url=self.endpoint)
            for name, value in self._parameters.items():
                ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
