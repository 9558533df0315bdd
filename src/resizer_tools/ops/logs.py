"""The function's log lines: readable in a terminal, and followed from CloudWatch Logs.

The function logs one JSON object per line (Powertools). :func:`readable` turns one
into ``12:00:01.234 INFO  rendered photo.jpg  key=photo.jpg ms=41``; anything else is
returned unchanged. :func:`follow` reads the stack's log group (``/aws/lambda/<stack>``,
the template's ``LogGroup``), on AWS or in the emulator, where the local poller ships
the lines the handler logs (:mod:`resizer_tools.local.log_shipping`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from resizer_tools.errors import UsageError
from resizer_tools.ops.aws import Aws, StackResources

__all__ = ["LogLine", "follow", "log_group", "readable"]

# Powertools fields every line carries: noise when read one line after another.
_QUIET = {
    "level",
    "message",
    "timestamp",
    "service",
    "location",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "sampling_rate",
    "xray_trace_id",
    "_aws",
}
LogLine = tuple[int, str]  # (milliseconds since the epoch, the line as logged)


def readable(line: str) -> str:
    """One Powertools JSON line as ``time LEVEL message key=value...``; others unchanged."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict) or "level" not in record or "message" not in record:
        return line
    stamp = str(record.get("timestamp", ""))
    clock = stamp[11:23] if len(stamp) >= 23 else stamp
    extra = " ".join(f"{key}={_short(value)}" for key, value in record.items() if key not in _QUIET)
    message = record["message"]
    if not isinstance(message, str):
        message = json.dumps(message, separators=(",", ":"))
    return f"{clock} {record['level']!s:<7} {message}" + (f"  {extra}" if extra else "")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 200 else text[:197] + "..."


def log_group(stack: StackResources) -> str:
    """The function's log group, as the template names it."""
    return f"/aws/lambda/{stack.stack_name}"


def follow(
    aws: Aws,
    group: str,
    *,
    since_ms: int,
    keep_going: Callable[[], bool],
    poll_s: float = 1.0,
) -> Iterator[LogLine]:
    """Every line logged to ``group`` from ``since_ms`` on, in order, while ``keep_going``.

    Polls ``FilterLogEvents`` (CloudWatch Logs delivers within seconds), each event once.
    """
    seen: set[str] = set()
    start = since_ms
    while True:
        events: list[dict[str, Any]] = []
        try:
            pages = aws.logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, startTime=start
            )
            for page in pages:
                events.extend(dict(event) for event in page.get("events", []))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            raise UsageError(
                f"no log group {group}: has the function run yet, and is this its stack? "
                "(locally, `resizer local up` ships the function's lines there)"
            ) from None
        events.sort(key=lambda event: (event.get("timestamp", 0), event.get("eventId", "")))
        for event in events:
            if event["eventId"] in seen:
                continue
            seen.add(event["eventId"])
            start = max(start, int(event.get("timestamp", start)))
            yield int(event.get("timestamp", 0)), str(event.get("message", "")).rstrip("\n")
        if not keep_going():
            return
        time.sleep(poll_s)
