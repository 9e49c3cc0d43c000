"""A local DynamoDB for the local stack, the tests and the benchmarks: dynalite plus TransactWriteItems.

Stock dynalite 4.0.0 has no TransactWriteItems; server.js adds it with dynalite's own per-item locks,
so the quota's one-transaction mint is atomic here as it is on DynamoDB. Everything is in memory.

    from local.dynamodb import Dynalite, create_table_from_template, template_table_properties

    with Dynalite(latency_ms=5) as dynamodb:  # latency_ms: every response waits that long
        create_table_from_template(dynamodb.endpoint_url, "quota", template_table_properties("QuotaTable"))
        client = boto3.client("dynamodb", endpoint_url=dynamodb.endpoint_url, **CLIENT_SETTINGS)

boto3 needs credentials and a region before it will sign a request, although dynalite checks neither:
give it fake ones (`CLIENT_SETTINGS`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_DEFAULT_REGION in
the environment), never real ones. The Lambda reaches it through AWS_ENDPOINT_URL_DYNAMODB.

The server is `node server.js` in this folder (Node.js 20+); `Dynalite` runs
`npm ci --no-audit --no-fund` here first unless node_modules was installed from the current
package.json and package-lock.json.
By hand: `npm ci && node server.js --port 8000 --latency-ms 5` prints `{"port":8000}`.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.child_process import PipedChild, RunsAsChild, node_command

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient

HERE = Path(__file__).resolve().parent
SERVER = HERE / "server.js"
REGION = "us-east-1"
# Fake, and only ever fake: dynalite accepts any signature.
CLIENT_SETTINGS: dict[str, str] = {
    "region_name": REGION,
    "aws_access_key_id": "local",
    "aws_secret_access_key": "local",
}
_STAMP = HERE / "node_modules" / ".installed-from"


class DynaliteError(RuntimeError):
    """Node or npm is missing, `npm ci` failed, or the server did not come up."""


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def ensure_installed(npm: str | None = None) -> None:
    """`npm ci` in this folder unless node_modules was installed from the current lockfile."""
    wanted = _lock_digest()
    # One install at a time, even across processes (parallel test workers).
    folder = hashlib.sha256(bytes(HERE)).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"realtime-vend-dynamodb-{folder}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _STAMP.is_file() and _STAMP.read_text(encoding="utf-8").strip() == wanted:
            return
        npm = npm or shutil.which("npm")
        if npm is None:
            raise DynaliteError("npm is not on PATH (scripts/bootstrap --node installs Node.js and npm)")
        result = subprocess.run(  # noqa: S603 - a fixed command line
            [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise DynaliteError(f"npm ci in {HERE} failed:\n{result.stdout}{result.stderr}")
        _STAMP.write_text(wanted + "\n", encoding="utf-8")


class Dynalite(RunsAsChild):
    """dynalite with TransactWriteItems, as a child process, in memory.

    `Dynalite(latency_ms=0, host="127.0.0.1", port=0)`; `start()` (or `with`) installs if needed,
    starts it and waits for its port; then `endpoint_url` and `port`. `stop()` ends it; it also ends
    by itself when this process dies (it exits when its stdin closes).
    `host`: another address when a container must reach it (sam local's bridge).
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        node: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        self.latency_ms = latency_ms
        self.host = host
        self.port = port
        self._node = node
        self._startup_timeout = startup_timeout
        self._child: PipedChild | None = None

    @property
    def endpoint_url(self) -> str:
        if self._child is None:
            raise DynaliteError("Dynalite is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Dynalite:
        if self._child is not None:
            return self
        ensure_installed()
        command = node_command(SERVER, self._node, DynaliteError)
        command += ["--host", self.host, "--port", str(self.port)]
        command += ["--latency-ms", f"{self.latency_ms:g}", "--exit-on-stdin-eof"]
        child = PipedChild(command, cwd=HERE, what="dynalite", error=DynaliteError, terminate=True)
        ready = child.start(self._startup_timeout)
        self._child = child
        port = ready.get("port")
        if not isinstance(port, int):
            self.stop()
            raise DynaliteError(f"dynalite printed an odd port: {ready!r}")
        self.port = port
        return self

    def client(self, **config: Any) -> DynamoDBClient:
        """A boto3 DynamoDB client for this server (fake credentials); `config` goes to botocore's Config."""
        from botocore.config import Config  # noqa: PLC0415 - heavy; only for callers that want a client

        return _client(self.endpoint_url, Config(**config))


def _client(endpoint_url: str, config: Config | None = None) -> DynamoDBClient:
    import boto3  # noqa: PLC0415 - heavy; only when a client is wanted

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        config=config,
        region_name=CLIENT_SETTINGS["region_name"],
        aws_access_key_id=CLIENT_SETTINGS["aws_access_key_id"],
        aws_secret_access_key=CLIENT_SETTINGS["aws_secret_access_key"],
    )


def template_table_properties(resource: str, template: Path | None = None) -> dict[str, Any]:
    """The Properties of an AWS::DynamoDB::Table in template.yaml (template_contract's reader)."""
    from template_contract.reader import TEMPLATE, TemplateError, load_template  # noqa: PLC0415

    path = template or TEMPLATE
    found = (load_template(path).get("Resources") or {}).get(resource)
    if not isinstance(found, dict) or found.get("Type") != "AWS::DynamoDB::Table":
        raise TemplateError(f"{path} has no AWS::DynamoDB::Table {resource}")
    properties = found.get("Properties")
    if not isinstance(properties, dict):
        raise TemplateError(f"{resource} in {path} has no Properties")
    return properties


def create_table_from_template(
    endpoint_url: str,
    table_name: str,
    properties: Mapping[str, Any],
    *,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Creates `table_name` with a template table's key schema and indexes; returns it once ACTIVE.

    `properties` are an AWS::DynamoDB::Table's Properties (see `template_table_properties`); their
    TableName, tags and stream settings do not matter locally and are not read. TimeToLiveSpecification
    is ignored: dynalite has no UpdateTimeToLive and never expires items. Nothing local depends on
    expiry: quota windows and days are part of the keys, so an old item is simply never read again.
    """
    client = _client(endpoint_url)
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
    }
    billing = properties.get("BillingMode", "PROVISIONED")
    request["BillingMode"] = billing
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
    for indexes in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(indexes):
            request[indexes] = properties[indexes]
    client.create_table(**request)
    deadline = time.monotonic() + timeout
    while True:
        table = client.describe_table(TableName=table_name)["Table"]
        if table.get("TableStatus") == "ACTIVE":
            return dict(table)
        if time.monotonic() > deadline:
            raise DynaliteError(f"table {table_name} is still {table.get('TableStatus')} after {timeout:g} s")
        time.sleep(0.02)
