"""The two tools this artifact ships, the registry the Tools parameter picks from, and their definitions
as openai-python's Realtime types and a JSON Schema validator read them."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
from openai.types.realtime import RealtimeFunctionTool, RealtimeFunctionToolParam
from pydantic import TypeAdapter

from tests.conftest import REPO, REQUIRED_ENV
from tests.fakes.openai_upstream import unknown_keys
from tests.unit.test_layers import import_blocked
from vend.settings import SettingsError, load_settings
from vend.tools import KNOWN, by_name, enabled
from vend.tools.end_call import GOODBYE
from vend.tools.executor import ToolOutcome, run_tool_call
from vend.tools.get_current_time import Arguments, get_current_time

WINTER = dt.datetime(2026, 12, 7, 18, 12, 3, tzinfo=dt.UTC).timestamp()
SUMMER = dt.datetime(2026, 7, 1, 10, 0, 0, tzinfo=dt.UTC).timestamp()
ALL = by_name(KNOWN.values())


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        ("Europe/Paris", WINTER, "2026-12-07T19:12:03+01:00 (Europe/Paris)"),
        ("Europe/Paris", SUMMER, "2026-07-01T12:00:00+02:00 (Europe/Paris)"),
        ("America/New_York", WINTER, "2026-12-07T13:12:03-05:00 (America/New_York)"),
        ("Asia/Kolkata", WINTER, "2026-12-07T23:42:03+05:30 (Asia/Kolkata)"),
        ("UTC", WINTER, "2026-12-07T18:12:03+00:00 (UTC)"),
    ],
)
def test_get_current_time_tells_the_time_in_the_zone(zone: str, moment: float, expected: str) -> None:
    assert get_current_time(Arguments(zone), clock=lambda: moment) == expected


def test_get_current_time_defaults_to_utc_through_the_executor() -> None:
    outcome = run_tool_call(ALL, "get_current_time", "{}", timeout=5)

    assert outcome.ok
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 \(UTC\)", outcome.output)
    shown = dt.datetime.fromisoformat(outcome.output.split(" ")[0])
    assert abs((shown - dt.datetime.now(dt.UTC)).total_seconds()) < 60


@pytest.mark.parametrize(
    "zone",
    ["Mars/Olympus_Mons", "Europe", "europe/paris", "../../etc/passwd", "/etc/localtime", "", "x" * 300],
)
def test_a_zone_that_is_not_iana_is_an_invalid_argument(zone: str) -> None:
    outcome = run_tool_call(ALL, "get_current_time", json.dumps({"time_zone": zone}), timeout=5)

    assert outcome == ToolOutcome(
        "Invalid arguments: 'time_zone' is not an IANA time zone; use a name such as Europe/Paris.",
        ok=False,
        ends_call=False,
    )


def test_the_zones_come_from_the_tzdata_wheel_when_the_os_has_none() -> None:
    # PYTHONTZPATH="" is a runtime without /usr/share/zoneinfo: zoneinfo then reads the tzdata package.
    code = "import zoneinfo, tzdata; print(zoneinfo.TZPATH, zoneinfo.ZoneInfo('Europe/Paris'))"
    result = subprocess.run(
        [sys.executable, "-I", "-c", code],
        env={"PYTHONTZPATH": "", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "() Europe/Paris"


def test_the_tzdata_pin_is_the_artifact_s() -> None:
    pins = (REPO / "functions" / "requirements.txt").read_text()
    pyproject = (REPO / "pyproject.toml").read_text()
    [pin] = re.findall(r"^tzdata==(\S+)$", pins, flags=re.MULTILINE)

    assert f'"tzdata=={pin}"' in pyproject


@pytest.mark.parametrize("arguments", ["{}", '{"reason": null}', '{"reason": "the user said goodbye"}'])
def test_end_call_asks_for_a_goodbye_and_ends_the_call(arguments: str) -> None:
    outcome = run_tool_call(ALL, "end_call", arguments, timeout=5)

    assert outcome == ToolOutcome(GOODBYE, ok=True, ends_call=True)
    assert "goodbye" in outcome.output


def test_end_call_is_described_as_the_user_s_choice_only() -> None:
    description = KNOWN["end_call"].description

    assert "only when the user says goodbye or asks to end the call" in description
    assert "never on your own initiative" in description


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_each_definition_is_a_realtime_function_tool(name: str) -> None:
    definition = KNOWN[name].definition()

    validated = TypeAdapter(RealtimeFunctionToolParam).validate_python(definition)
    assert unknown_keys(validated, definition) == []
    assert RealtimeFunctionTool.model_validate(definition).model_dump(exclude_none=True) == definition
    assert definition["type"] == "function"
    assert definition["name"] == name
    parameters: dict[str, Any] = definition["parameters"]
    jsonschema.Draft202012Validator.check_schema(parameters)
    assert parameters["type"] == "object"
    assert parameters["additionalProperties"] is False
    assert set(parameters["required"]) <= set(parameters["properties"])
    assert all(p["description"] for p in parameters["properties"].values())


def test_the_default_tools_setting_names_shipped_tools() -> None:
    settings = load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": "arn"})

    assert [t.name for t in enabled(settings.companions.tools)] == ["get_current_time", "end_call"]


def test_enabled_keeps_the_operator_s_order_and_none_is_empty() -> None:
    assert [t.name for t in enabled(["end_call", "get_current_time", "end_call"])] == [
        "end_call",
        "get_current_time",
    ]
    assert enabled(()) == ()


def test_an_unknown_tool_name_is_a_settings_error_naming_the_known_ones() -> None:
    with pytest.raises(SettingsError) as raised:
        enabled(["get_current_time", "get_weather"])

    assert raised.value.variable == "TOOLS"
    assert raised.value.problem == "unknown tool get_weather, known: end_call, get_current_time"


def test_the_tools_load_without_boto3_botocore_or_httpx() -> None:
    result = import_blocked("vend.tools")

    assert result.returncode == 0, result.stderr


def test_the_definitions_load_without_the_executor_or_zoneinfo() -> None:
    # the vend function imports vend.tools for the session's definitions: its cold start pays for no more
    code = (
        "import sys, vend.tools; "
        "heavy = ('vend.tools.executor', 'zoneinfo', 'concurrent.futures'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(REPO / 'functions')!r}); {code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
