"""One cold start in a fresh process: import the handler module, then serve one mint. Prints JSON."""

from __future__ import annotations

import importlib
import json
import sys
import time

started = time.perf_counter()
module = importlib.import_module(sys.argv[1])
imported = time.perf_counter()


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


event = json.loads(open(sys.argv[2]).read())  # noqa: SIM115 - one-shot child process
response = module.lambda_handler(event, Context())
served = time.perf_counter()
sys.stdout.flush()
print(
    json.dumps(
        {
            "status": response["statusCode"],
            "import_ms": (imported - started) * 1000,
            "first_request_ms": (served - imported) * 1000,
        }
    ),
    file=sys.stderr,
)
