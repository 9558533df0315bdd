"""``resizer dlq``: look at, redrive and clear the dead-letter queue."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from resizer_tools.cli.common import (
    DEFAULT_STACK_NAME,
    Endpoint,
    Region,
    StackName,
    aws_clients,
    console,
    errors,
)

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="Inspect and redrive the dead-letter queue.", no_args_is_help=True)


@dlq_app.command("list")
def dlq_list(
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    limit: Annotated[int, typer.Option(min=1, help="Most messages to show.")] = 100,
) -> None:
    """Messages on the dead-letter queue, with why they are there (left on the queue)."""
    from resizer_tools.ops.operations import dead_letters  # noqa: PLC0415

    with errors():
        aws = aws_clients(endpoint, region)
        stack = aws.stack(stack_name)
        letters = dead_letters(aws, stack, limit)
    if not letters:
        console.print("the dead-letter queue is empty")
        return
    table = Table("source key", "error", "reason", "sent", "receives")
    for letter in letters:
        sent = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(letter.sent_timestamp_ms / 1000))
        table.add_row(
            letter.source_key, letter.error_type, letter.reason, sent, str(letter.receive_count)
        )
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive(
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Most messages to move (default: all).")
    ] = None,
) -> None:
    """Move dead letters back to the main queue (after fixing their cause)."""
    from resizer_tools.ops.operations import redrive  # noqa: PLC0415

    with errors():
        aws = aws_clients(endpoint, region)
        stack = aws.stack(stack_name)
        moved = redrive(aws, stack, limit)
    console.print(f"moved {moved} message(s) back to the queue")
