"""One cold start, as a fresh execution environment runs it: init (interpreter start and handler import)
under the init cap, then the first and a second mint under the invoke cap.

    python -m bench.coldstart.child <handler module> <event.json>   (started by bench.coldstart.run)
"""

from __future__ import annotations

import sys

from bench.lambda_child import cpu_ms, enter_invoke_share, init, invoke, load_event, report


def main() -> None:
    handler, init_ms = init(sys.argv[1])
    init_cpu_ms = cpu_ms()
    enter_invoke_share()
    event = load_event(sys.argv[2])
    first_ms = invoke(handler, event, 1)
    first_cpu_ms = cpu_ms() - init_cpu_ms
    second_ms = invoke(handler, event, 2)
    report(
        {
            "init_ms": init_ms,
            "first_ms": first_ms,
            "second_ms": second_ms,
            "init_cpu_ms": init_cpu_ms,
            "first_cpu_ms": first_cpu_ms,
        }
    )


if __name__ == "__main__":
    main()
