"""``resizer events``: watch a stack's Renditions Ready / Removed / Rendition Failed events."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer

from resizer_tools.cli.common import (
    DEFAULT_STACK_NAME,
    Endpoint,
    Region,
    StackName,
    console,
    err_console,
    errors,
    literal,
    stack_clients,
)
from resizer_tools.cli.local import _until_interrupted  # Ctrl-C ends the watch cleanly

__all__ = ["events"]


def events(
    *,
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep watching until Ctrl-C (or --count).")
    ] = False,
    seconds: Annotated[int, typer.Option(min=1, help="Without --follow: how long to watch.")] = 30,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many events.")] = None,
    bus: Annotated[
        str | None,
        typer.Option(help="Event bus (default: the stack's EventBusName parameter)."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON line per event (EventBridge's envelope)."),
    ] = False,
) -> None:
    """Watch the stack's events: a temporary EventBridge rule and queue, removed on exit.

    Only events published while watching are seen (EventBridge keeps no history).
    """
    from resizer_tools.ops.events import event_bus, receive, watching  # noqa: PLC0415

    seen = 0
    with errors(), _until_interrupted() as stop:
        aws, stack = stack_clients(stack_name, endpoint, region)
        name = bus or event_bus(aws, stack_name)
        with watching(aws, stack, name) as watch:
            ends = None if follow else time.monotonic() + seconds
            err_console.print(
                f"watching bus {literal(repr(name))} for the events of stack {literal(stack_name)} "
                f"(temporary rule {watch.rule} -> queue); "
                + ("Ctrl-C stops" if follow else f"for {seconds} s"),
                highlight=False,
            )
            while not stop.is_set() and (ends is None or time.monotonic() < ends):
                for event in receive(aws, watch, wait_seconds=1):
                    _show(event, as_json)
                    seen += 1
                    if count is not None and seen >= count:
                        stop.set()
                        break
    err_console.print(f"{seen} event(s); the temporary rule and queue are removed", highlight=False)


def _show(event: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(event.envelope, sort_keys=True) + "\n")
        sys.stdout.flush()
        return
    from resizer.publish import FAILED, READY, REMOVED, SLIM  # noqa: PLC0415

    detail = event.detail
    if event.detail_type == READY and detail.get(SLIM):
        counts = detail.get("counts") or {}
        note = literal(
            f"{counts.get('renditions')} rendition(s), {counts.get('objects')} object(s), "
            f"{counts.get('bytes')} bytes (slim: too large for EventBridge; the whole "
            f"manifest is {detail.get('manifest_key')})"
        )
    elif event.detail_type == READY:
        parts = [
            f"{r.get('name')} {r.get('width')}x{r.get('height')} {r.get('format')}"
            for r in detail.get("renditions") or []
        ]
        note = literal(f"{len(parts)} rendition(s): " + ", ".join(parts))
    elif event.detail_type == FAILED:
        note = f"[red]{literal(detail.get('error_type'))}[/]: {literal(detail.get('reason'))}"
    else:
        note = ""
    style = {READY: "green", REMOVED: "yellow"}.get(event.detail_type, "red")
    console.print(
        f"{literal(event.time)} [{style}]{literal(event.detail_type)}[/] "
        f"{literal(f's3://{event.bucket}/{event.key}')} {note}",
        highlight=False,
        soft_wrap=True,
    )
