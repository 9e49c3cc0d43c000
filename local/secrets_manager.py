"""Secrets Manager, SSM and Scheduler on loopback (moto's server), seeded with what the handler reads.

Used by the local stack (the OpenAI key, the origin-verify and visitor-key secrets, the pause
parameter) and by tests/samlocal (the key alone). The handler reaches it through
AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_SSM, exactly as it reaches the real services:
moto's server answers every service on one port.

The server runs in a child interpreter (`python -m local.secrets_manager`, seeds on its stdin, one
JSON line back), so its imports and seeding use another core while the caller starts the rest; it
exits when its stdin closes, so it never outlives its parent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from local.child_process import PipedChild

REGION = "us-east-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_REPO = Path(__file__).resolve().parent.parent


class SeededSecretsManager:
    """`SeededSecretsManager(name, value)`: one secret; `secrets=` and `parameters=` seed more.

    After `start()`: `endpoint`, `port`, `arn` (the first secret's), `arns` (every secret's, by name).
    Parameters are SSM String parameters; `schedule_groups` are EventBridge Scheduler groups (moto
    stores schedules, local.scheduler fires them), created just after `start()` returns: call
    `wait_for_schedule_groups()` before anything writes schedules.
    """

    def __init__(
        self,
        name: str,
        value: str,
        host: str = "127.0.0.1",
        *,
        secrets: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
        schedule_groups: Sequence[str] = (),
        startup_timeout: float = 60.0,
    ) -> None:
        self._secrets = {name: value, **(secrets or {})}
        self._name = name
        self._parameters = dict(parameters or {})
        self._schedule_groups = list(schedule_groups)
        self._groups_ready = False
        self._host = host  # another address when a container must reach it (tests/samlocal)
        self._timeout = startup_timeout
        self._child: PipedChild | None = None
        self.endpoint = ""
        self.port = 0
        self.arn = ""
        self.arns: dict[str, str] = {}

    def start(self) -> None:
        """Starts the server on a free port and seeds it; blocks until it is serving."""
        child = PipedChild(
            [sys.executable, "-m", "local.secrets_manager", "--host", self._host], cwd=_REPO, what="moto"
        )
        seeds = {
            "secrets": self._secrets,
            "parameters": self._parameters,
            "schedule_groups": self._schedule_groups,
        }
        answer = child.start(self._timeout, seeds=seeds)
        self._child = child
        self.port = int(answer["port"])
        self.endpoint = answer["endpoint"]
        self.arns = dict(answer["arns"])
        self.arn = self.arns[self._name]
        if not self._schedule_groups:
            self._groups_ready = True

    def wait_for_schedule_groups(self) -> None:
        """Blocks until the schedule groups exist (moto creates them after `start()` returns)."""
        if self._groups_ready:
            return
        if self._child is None or "schedule_groups" not in self._child.read_json(self._timeout):
            raise RuntimeError("moto did not create the schedule groups")
        self._groups_ready = True

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop()


def _serve(host: str) -> None:
    """The child: read the seeds, start moto, seed it, say where it is, serve until stdin closes."""
    import boto3  # noqa: PLC0415 - heavy; only in the child
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    seeds = json.loads(sys.stdin.readline())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every call as an access line
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    try:
        bound_host, port = server.get_host_and_port()
        endpoint = f"http://{f'[{bound_host}]' if ':' in bound_host else bound_host}:{port}"
        session = boto3.session.Session(
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
        )
        client = session.client("secretsmanager", endpoint_url=endpoint)
        arns = {
            name: client.create_secret(Name=name, SecretString=value)["ARN"]
            for name, value in seeds["secrets"].items()
        }
        if seeds["parameters"]:
            ssm = session.client("ssm", endpoint_url=endpoint)
            for name, value in seeds["parameters"].items():
                ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        print(json.dumps({"port": port, "endpoint": endpoint, "arns": arns}), flush=True)
        if seeds.get("schedule_groups"):
            # After the ready line: the first Scheduler request costs moto ~75 ms (it loads its
            # Scheduler), which the caller's start need not wait for; it waits for this line later.
            scheduler = session.client("scheduler", endpoint_url=endpoint)
            for group in seeds["schedule_groups"]:
                scheduler.create_schedule_group(Name=group)
            print(json.dumps({"schedule_groups": seeds["schedule_groups"]}), flush=True)
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    finally:
        server.stop()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m local.secrets_manager", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    with contextlib.suppress(KeyboardInterrupt):
        _serve(parser.parse_args().host)
