"""Every file in events/ runs through the handler and gets the status events/README.md documents."""

from __future__ import annotations

import re
from types import ModuleType

import pytest

from tests.conftest import EVENTS
from tests.functional.conftest import invoke


def documented_statuses() -> dict[str, tuple[int, str]]:
    rows = re.findall(r"^\| (\S+\.json) \| (\d{3}) \| (\w*) ?\|$", (EVENTS / "README.md").read_text(), re.M)
    return {name: (int(status), code) for name, status, code in rows}


def test_every_event_file_is_documented() -> None:
    on_disk = {path.name for path in EVENTS.glob("*.json")}
    assert on_disk == set(documented_statuses())
    assert len(on_disk) >= 7


@pytest.mark.parametrize(("name", "expected"), sorted(documented_statuses().items()))
def test_event_gets_documented_status(handler: ModuleType, name: str, expected: tuple[int, str]) -> None:
    status, code = expected

    reply = invoke(handler, name.removesuffix(".json"))

    assert reply.status == status
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["cache-control"] == "no-store"
    if code:
        assert reply.error_code == code
        assert reply.body["error"]["message"].endswith(".")
    else:
        assert reply.body["value"].startswith("ek_")
