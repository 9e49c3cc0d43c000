"""`GET /api/call/{id}`'s decision: the visitor's own call only, live or ended, and only a reason the
API documents."""

from __future__ import annotations

import pytest

from vend.errors import CallNotFound
from vend.logic.call_status import REASONS, CallStatus, CallStatusReader
from vend.usage import CallRecord, CallState

CALL = "call_" + "a" * 32


def record(state: CallState = "live", visitor: str = "v1") -> CallRecord:
    return CallRecord(CALL, visitor, 0, "2026-12-07", 100, 700, 600, state, "live_" + "0" * 32)


class Records:
    def __init__(self, found: CallRecord | None) -> None:
        self.found = found

    def get(self, call_id: str) -> CallRecord | None:
        return self.found if call_id == CALL else None


class Reasons:
    def __init__(self, reason: str | None) -> None:
        self.reason = reason

    def finalised_reason(self, call_id: str) -> str | None:
        return self.reason


@pytest.mark.parametrize(
    ("state", "reason", "expected"),
    [
        ("pending", None, CallStatus("live", None)),
        ("live", None, CallStatus("live", None)),
        ("ended", None, CallStatus("ended", None)),
        ("ended", "cap", CallStatus("ended", "cap")),
        # the companion saw session.closed before the record was ended
        ("live", "connection_lost", CallStatus("ended", "connection_lost")),
        # a reason the API does not document is not shown, but the call is still over
        ("live", "something_new", CallStatus("ended", None)),
    ],
)
def test_status_and_reason(state: CallState, reason: str | None, expected: CallStatus) -> None:
    reader = CallStatusReader(Records(record(state)), Reasons(reason))

    assert reader.status(CALL, visitor="v1") == expected


def test_without_a_companion_there_is_never_a_reason() -> None:
    reader = CallStatusReader(Records(record("ended")), None)

    assert reader.status(CALL, visitor="v1").response_body() == {"status": "ended", "reason": None}


@pytest.mark.parametrize("found", [None, record(visitor="someone else")])
def test_another_visitors_or_an_unknown_call_is_not_found(found: CallRecord | None) -> None:
    reader = CallStatusReader(Records(found), Reasons("cap"))

    with pytest.raises(CallNotFound):
        reader.status(CALL, visitor="v1")


def test_the_reasons_are_the_documented_ones() -> None:
    assert {
        "cap", "assistant", "spend_cap", "call_over",
        "close_requested", "expired", "content", "remote_hangup", "connection_lost",
    } == REASONS  # fmt: skip
