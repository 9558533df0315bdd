"""``resizer dlq``: look at, delete, purge and redrive the dead-letter queue."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from resizer_tools.cli.common import (
    DEFAULT_STACK_NAME,
    EXIT_USAGE,
    Endpoint,
    JsonOption,
    Region,
    StackName,
    aws_clients,
    console,
    errors,
    fail,
    literal,
    print_json,
    stack_clients,
)

if TYPE_CHECKING:
    from rich.table import Table

    from resizer_tools.ops.dead_letters import DeadLetter, Filter

__all__ = ["dlq_app"]

dlq_app = typer.Typer(
    help="Look at, delete, purge and redrive the dead-letter queue.", no_args_is_help=True
)

ErrorTypes = Annotated[
    list[str] | None,
    typer.Option(
        "--type",
        "-t",
        help="Only this ErrorType (e.g. SourceGoneError, RetriesExhausted); repeatable.",
    ),
]
KeyPrefix = Annotated[
    str, typer.Option("--key-prefix", help="Only source keys starting with this.")
]


def _filter(types: list[str] | None, key_prefix: str, ids: list[str] | None = None) -> Filter:
    from resizer_tools.ops.dead_letters import Filter  # noqa: PLC0415 (boto3: when run)

    return Filter(
        error_types=tuple(types or ()), key_prefix=key_prefix, message_ids=tuple(ids or ())
    )


def _table(letters: list[DeadLetter]) -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table("message id", "source key", "error", "reason", "sent", "receives")
    for letter in letters:
        sent = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(letter.sent_timestamp_ms / 1000))
        table.add_row(
            *map(
                literal,
                (
                    letter.message_id,
                    letter.source_key,
                    letter.error_type,
                    letter.reason,
                    sent,
                    letter.receive_count,
                ),
            )
        )
    return table


@dlq_app.command("list")
def dlq_list(
    *,
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    limit: Annotated[int, typer.Option(min=1, help="Most messages to show.")] = 100,
    error_type: ErrorTypes = None,
    key_prefix: KeyPrefix = "",
    as_json: JsonOption = False,
) -> None:
    """Dead letters with why they are there, oldest first; they stay on the queue.

    SQS has no peek: each look raises a message's receive count (shown as
    "receives"), which has no other effect on the dead-letter queue.
    """
    from resizer_tools.ops.dead_letters import dead_letters  # noqa: PLC0415

    with errors():
        aws, stack = stack_clients(stack_name, endpoint, region)
        letters = dead_letters(aws, stack, limit, _filter(error_type, key_prefix))
    if as_json:
        print_json([letter.to_json() for letter in letters])
    elif not letters:
        console.print("no dead letters" + (" match" if error_type or key_prefix else ""))
    else:
        console.print(_table(letters))


@dlq_app.command("show")
def dlq_show(
    message_id: Annotated[str, typer.Argument(help="A message id from `resizer dlq list`.")],
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    as_json: JsonOption = False,
) -> None:
    """One dead letter in full: its reason and the S3 notification body (left on the queue)."""
    from resizer_tools.ops.dead_letters import find  # noqa: PLC0415

    with errors():
        aws = aws_clients(endpoint, region)
        letter = find(aws, aws.stack(stack_name), message_id)
    if as_json:
        print_json(letter.to_json())
        return
    from rich.table import Table  # noqa: PLC0415

    table = Table(show_header=False, box=None)
    for name, value in letter.to_json().items():
        table.add_row(name.replace("_", " "), literal(value))
    console.print(table)


@dlq_app.command("delete")
def dlq_delete(
    message_ids: Annotated[
        list[str] | None, typer.Argument(help="Message ids to delete.", show_default=False)
    ] = None,
    *,
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    error_type: ErrorTypes = None,
    key_prefix: KeyPrefix = "",
    as_json: JsonOption = False,
) -> None:
    """Delete dead letters by id, or all those matching --type/--key-prefix."""
    from resizer_tools.ops.dead_letters import delete  # noqa: PLC0415

    if not (message_ids or error_type or key_prefix):
        fail(
            "name message ids, --type or --key-prefix (`resizer dlq purge` deletes them all)",
            EXIT_USAGE,
        )
    with errors():
        aws = aws_clients(endpoint, region)
        deleted = delete(aws, aws.stack(stack_name), _filter(error_type, key_prefix, message_ids))
    if as_json:
        print_json([letter.to_json() for letter in deleted])
    else:
        console.print(f"deleted {len(deleted)} message(s) from the dead-letter queue")


@dlq_app.command("purge")
def dlq_purge(
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every message on the dead-letter queue (SQS allows one purge a minute)."""
    from resizer_tools.ops.dead_letters import purge  # noqa: PLC0415

    with errors():
        aws, stack = stack_clients(stack_name, endpoint, region)
        if not yes and not typer.confirm(
            f"delete every message on {stack.dead_letter_queue_url}?", err=True
        ):
            fail("nothing deleted (pass --yes to skip this question)", EXIT_USAGE)
        purge(aws, stack)
    console.print("purged the dead-letter queue (SQS may take up to 60 s to finish)")


@dlq_app.command("redrive")
def dlq_redrive(
    *,
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Most messages to move (default: all).")
    ] = None,
    error_type: ErrorTypes = None,
    key_prefix: KeyPrefix = "",
    drop_gone: Annotated[
        bool,
        typer.Option(help="Delete entries whose source object is gone instead of keeping them."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Move dead letters back to the main queue (after fixing their cause).

    Entries for a created object that no longer exists are not moved (they would
    only fail again): they stay on the queue, or are deleted with --drop-gone.
    """
    from resizer_tools.ops.dead_letters import redrive  # noqa: PLC0415

    with errors():
        aws = aws_clients(endpoint, region)
        result = redrive(
            aws,
            aws.stack(stack_name),
            limit,
            _filter(error_type, key_prefix),
            drop_gone=drop_gone,
        )
    if as_json:
        print_json(
            {
                "moved": [letter.to_json() for letter in result.moved],
                "source_gone": [letter.to_json() for letter in result.source_gone],
                "source_gone_deleted": result.dropped,
            }
        )
        return
    console.print(f"moved {len(result.moved)} message(s) back to the queue")
    if result.source_gone:
        what = "deleted" if result.dropped else "left on the dead-letter queue"
        console.print(
            f"{len(result.source_gone)} message(s) not moved, their source object is gone "
            f"({what}): "
            + ", ".join(literal(letter.source_key) for letter in result.source_gone[:5])
            + ("" if result.dropped else "; delete them with `resizer dlq redrive --drop-gone`"),
            highlight=False,
        )
