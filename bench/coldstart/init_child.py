"""Init alone, as a fresh execution environment runs it: interpreter start and handler import under
the init cap, and nothing invoked (the companion's invocation would open a sideband).

    python -m bench.coldstart.init_child <handler module>   (started by bench.connect for the companion)
"""

from __future__ import annotations

import sys

from bench.lambda_child import cpu_ms, init, report


def main() -> None:
    _, init_ms = init(sys.argv[1])
    report({"init_ms": init_ms, "init_cpu_ms": cpu_ms()})


if __name__ == "__main__":
    main()
