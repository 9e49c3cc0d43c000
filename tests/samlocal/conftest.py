"""`sam local` for real: Docker, the offline Lambda base image, the stand-ins and SAM's own processes.

Every fixture stops what it started, by process id or container id, also when a test fails. Docker is
used as found (DOCKER_HOST or the default socket); when none answers, the suite starts Debian's dockerd
itself (`scripts/bootstrap --docker` installs it) on a private socket, without touching iptables, and
stops it at the end. Only where no Docker daemon can run at all does the suite skip, loudly, and never
under CI (CI=true), where a missing Docker is a failure.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import platform
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from local.moto_server import REGION
from tests.conftest import REPO, SAM
from tests.samlocal.standins import FAKE_CREDENTIALS, RunningStandins, Standins

# Our own daemon, when the machine has none running: its socket and pid file are ours alone.
OWN_DOCKER_SOCKET = "/run/realtime-vend-dockerd.sock"
OWN_DOCKER_PIDFILE = "/run/realtime-vend-dockerd.pid"
IMAGE_SCRIPT = REPO / "scripts" / "lambda-image" / "build"
# No emulation: the function runs as this machine's architecture (the template's Architecture parameter).
ARCHITECTURE = "arm64" if platform.machine() in {"aarch64", "arm64"} else "x86_64"


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """SIGTERM, so the program can clean up after itself (dockerd its containers, SAM its warm ones),
    then SIGKILL if it takes more than a minute."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def _unavailable(reason: str) -> None:
    message = f"SAM LOCAL SUITE NOT RUN: Docker cannot run here ({reason})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run it: scripts/test installs docker.io (bootstrap --docker)")
    pytest.skip(message)


def _docker_answers(docker_host: str) -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        env={**os.environ, "DOCKER_HOST": docker_host},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


@dataclass
class Docker:
    host: str  # the DOCKER_HOST value SAM and the docker CLI are given
    bridge_address: str  # the host's address on the default bridge: what containers can reach

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args],
            env={**os.environ, "DOCKER_HOST": self.host},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _bridge_address(docker_host: str) -> str:
    result = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"],
        env={**os.environ, "DOCKER_HOST": docker_host},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    config = json.loads(result.stdout)[0]
    # Docker leaves Gateway out of the default bridge's IPAM config; the gateway is the first address.
    return config.get("Gateway") or str(ipaddress.ip_network(config["Subnet"])[1])


@contextlib.contextmanager
def _own_dockerd(log: Path) -> Iterator[str]:
    """Debian's dockerd on a private socket; stopped by its pid (which also stops its containers)."""
    if shutil.which("dockerd") is None:
        _unavailable("no dockerd: run scripts/bootstrap --docker")
    if os.geteuid() != 0:
        _unavailable("no Docker daemon answers and starting dockerd needs root")
    docker_host = f"unix://{OWN_DOCKER_SOCKET}"
    # --iptables=false --ip-forward=false: containers reach the host's bridge address and nothing
    # else; the machine's firewall and forwarding stay as they were.
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [
                "dockerd",
                "--iptables=false",
                "--ip-forward=false",
                "-H",
                docker_host,
                "--pidfile",
                OWN_DOCKER_PIDFILE,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not _docker_answers(docker_host):
            if daemon.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"dockerd did not start: {log.read_text()[-600:]}")
            time.sleep(0.5)
        yield docker_host
    finally:
        stop(daemon)


@pytest.fixture(scope="session")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Docker]:
    with contextlib.ExitStack() as stack:
        found = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        docker_host = (
            found
            if _docker_answers(found)
            else stack.enter_context(_own_dockerd(tmp_path_factory.mktemp("dockerd") / "log"))
        )
        yield Docker(host=docker_host, bridge_address=_bridge_address(docker_host))


@pytest.fixture(scope="session")
def base_image(docker: Docker) -> str:
    """The offline stand-in for public.ecr.aws/lambda/python:3.13 (built once per recipe per machine)."""
    started = time.monotonic()
    result = subprocess.run(
        [str(IMAGE_SCRIPT), ARCHITECTURE],
        env={**os.environ, "DOCKER_HOST": docker.host},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    print(
        f"\nLambda base image stand-in: {result.stdout.strip()} ready in {time.monotonic() - started:.1f} s"
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def standins(docker: Docker) -> Iterator[Standins]:
    running = RunningStandins(docker.bridge_address)
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture(scope="session")
def env_vars_file(standins: Standins, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("samlocal") / "vend-env.json"
    path.write_text(json.dumps(standins.env_vars()))
    return path


@dataclass
class SamLocal:
    """The `sam local` options every command of the suite shares (docs/local-stack.md shows the same)."""

    template: Path
    env_vars: Path
    image: str
    docker: Docker
    sts_endpoint: str  # moto's: SAM CLI asks STS for the account id on every command

    def options(self) -> list[str]:
        return [
            "--template-file",
            str(self.template),
            "--env-vars",
            str(self.env_vars),
            "--parameter-overrides",
            # The longest timeout the template allows: a cold container on a busy CI machine can take
            # more than the default 10 s to import and answer, which is not what this suite tests.
            f"Architecture={ARCHITECTURE} FunctionTimeout=29",
            "--invoke-image",
            self.image,
            "--skip-pull-image",
            # the test device (standins.py): `localhost` in the container also names the bridge address
            "--add-host",
            f"localhost:{self.docker.bridge_address}",
        ]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "DOCKER_HOST": self.docker.host,
            "SAM_CLI_TELEMETRY": "0",
            # SAM CLI calls sts:GetCallerIdentity for AWS::AccountId; offline, the real endpoint costs
            # seconds of retries per command before SAM falls back to a default. moto answers at once.
            "AWS_ENDPOINT_URL_STS": self.sts_endpoint,
        }

    def with_env_vars(self, env_vars: Path) -> SamLocal:
        """The same options with another --env-vars document (start-api's smaller quota)."""
        return replace(self, env_vars=env_vars)

    def command(self, *args: str) -> list[str]:
        return [str(SAM), "local", *args, *self.options()]

    def remove_leftover_containers(self) -> None:
        """Containers of our image that SAM left behind (it removes its own unless killed)."""
        listed = self.docker.run("ps", "-aq", "--filter", f"ancestor={self.image}").stdout.split()
        if listed:
            self.docker.run("rm", "-f", *listed)


@pytest.fixture(scope="session")
def sam_local(
    sam_build: Path, env_vars_file: Path, base_image: str, docker: Docker, standins: Standins
) -> Iterator[SamLocal]:
    # The default `sam build` (Architecture=arm64) serves both architectures: the artifact is pure
    # Python (tests/artifact), so only the parameter changes at invoke time.
    local = SamLocal(
        template=sam_build / "template.yaml",
        env_vars=env_vars_file,
        image=base_image,
        docker=docker,
        sts_endpoint=standins.aws_endpoint,
    )
    try:
        yield local
    finally:
        local.remove_leftover_containers()
