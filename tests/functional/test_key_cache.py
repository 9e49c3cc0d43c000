"""The key is read once per execution environment, and a rotation causes no failed mint."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.fakes.openai_upstream import FakeClientSecrets
from tests.functional.conftest import KEY, ROTATED_KEY, SECRET_NAME, SecretsManagerSpy, post_session


def test_warm_requests_reuse_the_cached_key(
    handler: ModuleType, upstream: FakeClientSecrets, secretsmanager: SecretsManagerSpy
) -> None:
    statuses = [post_session(handler).status for _ in range(5)]

    assert statuses == [200] * 5
    assert secretsmanager.calls == 1


def mint_all_at_once(handler: ModuleType, count: int) -> list[int]:
    """`count` mints released together by a barrier, so they really overlap."""
    barrier = threading.Barrier(count)

    def mint(_: int) -> int:
        barrier.wait()
        return post_session(handler).status

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(mint, range(count)))


# Lambda runs one invocation per process at a time; threads here stress the key cache, and Powertools
# Metrics (process-wide, not thread-safe) may find another thread already flushed its metrics: between
# its "anything to publish?" check and the publishing, another thread's flush can empty the set (which
# raised SchemaValidationError once in CI). Its flushes are taken one at a time here, as one Lambda
# environment's invocations are; the key cache, the subject, is left as concurrent as threads make it.
concurrent_metrics = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@pytest.fixture
def one_flush_at_a_time(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = handler.metrics  # the handler's own (process-wide) Metrics, as its decorator flushes it
    lock = threading.Lock()
    flush = metrics.flush_metrics

    def flush_alone(*args: Any, **kwargs: Any) -> None:
        with lock:
            flush(*args, **kwargs)

    monkeypatch.setattr(metrics, "flush_metrics", flush_alone)


@concurrent_metrics
@pytest.mark.usefixtures("one_flush_at_a_time")
def test_20_concurrent_mints_on_a_warm_handler_read_the_secret_once(
    handler: ModuleType, upstream: FakeClientSecrets, secretsmanager: SecretsManagerSpy
) -> None:
    assert post_session(handler).status == 200  # warm

    statuses = mint_all_at_once(handler, 20)

    assert statuses == [200] * 20
    assert secretsmanager.calls == 1
    assert len(set(upstream.minted)) == 21


@concurrent_metrics
@pytest.mark.usefixtures("one_flush_at_a_time")
def test_concurrent_cold_mints_read_the_secret_once(
    handler: ModuleType, upstream: FakeClientSecrets, secretsmanager: SecretsManagerSpy
) -> None:
    statuses = mint_all_at_once(handler, 10)

    assert statuses == [200] * 10
    assert secretsmanager.calls == 1


def test_rotation_is_invisible_to_callers(
    handler: ModuleType, upstream: FakeClientSecrets, secretsmanager: SecretsManagerSpy
) -> None:
    assert post_session(handler).status == 200
    # The operator rotates: new key in the secret, old key revoked at OpenAI. Our cache still holds the old.
    boto3.client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=ROTATED_KEY)
    upstream.valid_keys = {ROTATED_KEY}

    reply = post_session(handler)

    assert reply.status == 200
    assert upstream.seen_keys == [KEY, KEY, ROTATED_KEY]
    assert secretsmanager.calls == 2
    assert post_session(handler).status == 200
    assert secretsmanager.calls == 2  # the fresh key is cached again


def test_revoked_key_without_rotation_is_server_misconfigured_after_one_reread(
    handler: ModuleType, upstream: FakeClientSecrets, secretsmanager: SecretsManagerSpy
) -> None:
    upstream.valid_keys = set()

    reply = post_session(handler)

    assert (reply.status, reply.error_code) == (500, "server_misconfigured")
    assert upstream.seen_keys == [KEY]  # the same key is never sent twice
    assert secretsmanager.calls == 2


def test_cache_expires_after_max_age(
    cold_start,
    secret_arn: str,
    upstream: FakeClientSecrets,
    secretsmanager: SecretsManagerSpy,  # type: ignore[no-untyped-def]
) -> None:
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, SECRET_MAX_AGE_SECONDS="0")

    for _ in range(3):
        assert post_session(module).status == 200

    assert secretsmanager.calls == 3
