"""get_current_time: the date and time now in an IANA time zone (zoneinfo, with the tzdata wheel)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from vend.tools.schema import Describe, InvalidArguments
from vend.tools.tool import Tool

if TYPE_CHECKING:
    import zoneinfo

# Area/Location names as IANA spells them; anything else never reaches the file lookup.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]{0,31}(/[A-Za-z0-9_+\-]{1,32}){0,2}")


@dataclass(frozen=True, slots=True)
class Arguments:
    time_zone: Annotated[str, Describe("IANA time zone, e.g. Europe/Paris or America/New_York")] = "UTC"


def get_current_time(args: Arguments, *, clock: Callable[[], float] = time.time) -> str:
    zone = _zone(args.time_zone)
    now = dt.datetime.fromtimestamp(clock(), zone)
    return f"{now.isoformat(timespec='seconds')} ({args.time_zone})"


def _zone(name: str) -> zoneinfo.ZoneInfo:
    # imported on the first call: the vend function loads this module for the definition alone, and
    # zoneinfo (with sysconfig) would add to every cold start of it
    import zoneinfo  # noqa: PLC0415

    if _ZONE_NAME.fullmatch(name):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise InvalidArguments("'time_zone' is not an IANA time zone; use a name such as Europe/Paris.")


TOOL = Tool(
    name="get_current_time",
    description=(
        "Returns the current date and time in a time zone. Call it whenever the user asks for the "
        "time, the date or the day of the week, instead of guessing; pass the IANA time zone of the "
        "place they name (UTC if they name none), then say the time naturally."
    ),
    arguments=Arguments,
    run=get_current_time,
)
