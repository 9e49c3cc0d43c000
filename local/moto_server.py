"""AWS on loopback: moto's server, one port for every service the functions call, seeded for them.

Secrets Manager (the OpenAI key, the origin-verify and visitor-key secrets), SSM (the pause
parameter), DynamoDB (the quota table) and EventBridge Scheduler (the calls' schedule group). The
handler reaches it through AWS_ENDPOINT_URL_SECRETS_MANAGER, _SSM, _DYNAMODB and _SCHEDULER, exactly
as it reaches the real services. Used by the local stack, tests/samlocal, tests/quota, tests/dynamodb
and bench/fake_infra.

One request at a time: moto's backends are not safe under concurrent requests (two conditional
writes to one item can both pass their condition), so its WSGI app runs behind one lock, which makes
every TransactWriteItems and conditional write atomic, as DynamoDB's are. `latency_ms` delays every
answer after its work, outside the lock, as a network would.

The server runs in a child interpreter (`python -m local.moto_server`, seeds on its stdin, one JSON
line back), so its imports and seeding use another core while the caller starts the rest. Tables and
schedule groups come after it serves (`create()`, a further stdin line): loading moto's DynamoDB and
Scheduler costs it a few hundred ms, which the caller spends importing the handler. The child exits
when its stdin closes, so it never outlives its parent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from local.child_process import PipedChild, RunsAsChild

REGION = "us-east-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_REPO = Path(__file__).resolve().parent.parent


class MotoServer(RunsAsChild):
    """`MotoServer(secrets={name: value}, parameters={name: value}, latency_ms=0)`.

    After `start()` (or `with`): `endpoint`, `host`, `port`, `arns` (every secret's ARN, by name).
    Parameters are SSM String parameters. `create(tables=, schedule_groups=)` then makes DynamoDB
    tables (name: an AWS::DynamoDB::Table's Properties, see local.dynamodb) and Scheduler groups.
    `host`: another address when a container must reach it (tests/samlocal).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        secrets: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
        latency_ms: float = 0.0,
        startup_timeout: float = 60.0,
    ) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        self._secrets = dict(secrets or {})
        self._parameters = dict(parameters or {})
        self._latency_ms = latency_ms
        self.host = host
        self._timeout = startup_timeout
        self._child: PipedChild | None = None
        self.endpoint = ""
        self.port = 0
        self.arns: dict[str, str] = {}

    def start(self) -> Self:
        """Starts the server on a free port and seeds it; blocks until it is serving."""
        child = PipedChild(
            [sys.executable, "-m", "local.moto_server", "--host", self.host], cwd=_REPO, what="moto"
        )
        seeds = {"secrets": self._secrets, "parameters": self._parameters, "latency_ms": self._latency_ms}
        answer = child.start(self._timeout, seeds=seeds)
        self._child = child
        self.port = int(answer["port"])
        self.endpoint = answer["endpoint"]
        self.arns = dict(answer["arns"])
        return self

    def create(
        self, *, tables: Mapping[str, Mapping[str, Any]] | None = None, schedule_groups: Sequence[str] = ()
    ) -> None:
        """Creates DynamoDB tables (each ACTIVE when this returns) and Scheduler groups."""
        child = self._child
        if child is None or child.process is None or child.process.stdin is None:
            raise RuntimeError("moto is not running")
        request = {"tables": dict(tables or {}), "schedule_groups": list(schedule_groups)}
        child.process.stdin.write(json.dumps(request) + "\n")
        child.process.stdin.flush()
        answer = child.read_json(self._timeout)
        if "error" in answer:
            raise RuntimeError(f"moto could not create {request}: {answer['error']}")


def one_at_a_time(app: Callable[..., Iterable[bytes]], latency_ms: float) -> Callable[..., list[bytes]]:
    """`app` behind one lock (its whole answer is produced inside it), each answer `latency_ms` late."""
    lock = threading.Lock()
    delay = latency_ms / 1000

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            body = list(app(environ, start_response))
        if delay:
            time.sleep(delay)  # the server's headers go out with the first chunk of the body, after this
        return body

    return serve


def _serve(host: str) -> None:
    """The child: read the seeds, start moto, seed it, say where it is, then create what it is asked
    for, one stdin line at a time, until stdin closes."""
    import boto3  # noqa: PLC0415 - heavy; only in the child
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server  # noqa: PLC0415

    from local.dynamodb import create_table_from_template  # noqa: PLC0415
    from local.dynamodb_checks import refusing_unused_placeholders  # noqa: PLC0415

    seeds = json.loads(sys.stdin.readline())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every call as an access line
    moto = refusing_unused_placeholders(DomainDispatcherApplication(create_backend_app))
    app = one_at_a_time(moto, float(seeds.get("latency_ms", 0)))
    server = make_server(host, 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    try:
        bound_host, port = str(server.server_address[0]), int(server.server_address[1])
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
        for line in sys.stdin:  # until the parent closes the pipe (or dies)
            request = json.loads(line)
            try:
                for name, properties in request["tables"].items():
                    create_table_from_template(endpoint, name, properties)
                if request["schedule_groups"]:
                    scheduler = session.client("scheduler", endpoint_url=endpoint)
                    for group in request["schedule_groups"]:
                        scheduler.create_schedule_group(Name=group)
            except Exception as exc:  # told to the parent, which raises it where it asked
                print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
            else:
                print(json.dumps({"created": True}), flush=True)
    finally:
        server.shutdown()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m local.moto_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    with contextlib.suppress(KeyboardInterrupt):
        _serve(parser.parse_args().host)
