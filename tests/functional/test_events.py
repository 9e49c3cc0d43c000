"""Every file in events/ runs through the handler and gets the status events/README.md documents."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.conftest import EVENTS, documented_event_outcomes
from tests.functional.conftest import invoke


def test_every_event_file_is_documented() -> None:
    on_disk = {path.name for path in EVENTS.glob("*.json")}
    assert on_disk == set(documented_event_outcomes())
    assert len(on_disk) >= 7


@pytest.mark.parametrize(("name", "expected"), sorted(documented_event_outcomes().items()))
def test_event_gets_documented_status(handler: ModuleType, name: str, expected: tuple[int, str]) -> None:
    status, code = expected

    reply = invoke(handler, name.removesuffix(".json"))

    assert reply.status == status
    assert reply.headers["cache-control"] == "no-store"
    if status == 204:  # nothing to say, so no body and no type
        assert reply.raw["body"] == ""
        assert "content-type" not in reply.headers
        return
    assert reply.headers["content-type"] == "application/json"
    if code:
        assert reply.error_code == code
        assert reply.body["error"]["message"].endswith(".")
    else:
        assert reply.body["value"].startswith("ek_")
