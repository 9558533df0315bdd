"""One cold start, in the fresh interpreter bench/coldstart.py starts: import, then one batch.

    python [-I -S] bench/coldstart_probe.py PATH EVENT_JSON

PATH goes first on sys.path: an unzipped deployment zip (run with -I -S, so nothing else
but the standard library is importable, as on Lambda) or a checkout's src/ (with the
venv's site-packages). Only the handler's public entry point is used
(``resizer.handler.lambda_handler``), so any commit can be measured. Prints one JSON line,
last: wall and CPU milliseconds of the import and of the first invocation, the response,
and where ``resizer`` was imported from. Standard library only.
"""

from __future__ import annotations

import json
import sys
import time


class Context:
    """The attributes Powertools and the handler read from Lambda's context."""

    function_name = "resizer"
    function_version = "1"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:resizer:live"
    aws_request_id = "00000000-0000-0000-0000-00000000c01d"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def main() -> None:
    path, event = sys.argv[1], json.loads(sys.argv[2])
    sys.path.insert(0, path)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    import resizer.handler  # what is measured

    wall1, cpu1 = time.perf_counter(), time.process_time()
    response = resizer.handler.lambda_handler(event, Context())
    wall2, cpu2 = time.perf_counter(), time.process_time()
    figures = {
        "import_ms": (wall1 - wall0) * 1e3,
        "import_cpu_ms": (cpu1 - cpu0) * 1e3,
        "invoke_ms": (wall2 - wall1) * 1e3,
        "invoke_cpu_ms": (cpu2 - cpu1) * 1e3,
        "response": response,
        "resizer": resizer.__file__,
    }
    sys.stdout.flush()  # the handler's log and metric lines come first
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
