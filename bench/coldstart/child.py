"""One cold start, as a fresh execution environment runs it: init (interpreter start and handler import)
under the init cap, then the first and a second mint under the invoke cap.

    python -m bench.coldstart.child <handler module> <event.json>   (started by bench.coldstart.run)

Between the phases, outside what is timed, it reads the fakes' counts, so that the parent can tell
which service calls and new connections init made and which the first mint made.
"""

from __future__ import annotations

import sys

from bench.lambda_child import cpu_ms, enter_invoke_share, init, invoke, load_event, report, service_calls


def main() -> None:
    handler, init_ms = init(sys.argv[1])
    init_cpu_ms = cpu_ms()
    calls_after_init = service_calls()
    enter_invoke_share()
    event = load_event(sys.argv[2])
    first_cpu_start = cpu_ms()
    first_ms = invoke(handler, event, 1)
    first_cpu_ms = cpu_ms() - first_cpu_start
    calls_after_first = service_calls()
    second_ms = invoke(handler, event, 2)
    report(
        {
            "init_ms": init_ms,
            "first_ms": first_ms,
            "second_ms": second_ms,
            "init_cpu_ms": init_cpu_ms,
            "first_cpu_ms": first_cpu_ms,
            "calls_after_init": calls_after_init,
            "calls_after_first": calls_after_first,
        }
    )


if __name__ == "__main__":
    main()
