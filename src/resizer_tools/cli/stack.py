"""Commands on a deployed stack (local or AWS): upload, status, backfill."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from resizer_tools.cli.common import (
    DEFAULT_STACK_NAME,
    Endpoint,
    Exclude,
    Include,
    JsonOption,
    Region,
    StackName,
    aws_clients,
    console,
    errors,
    literal,
    print_json,
    stack_clients,
)

if TYPE_CHECKING:
    from resizer_tools.ops.dead_letters import DeadLetter

__all__ = ["backfill", "logs", "status", "upload"]


def upload(  # noqa: PLR0917 (one parameter per option)
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    prefix: Annotated[str, typer.Option(help="Key prefix in the source bucket.")] = "",
    include: Include = None,
    exclude: Exclude = None,
) -> None:
    """Upload images to the stack's source bucket, with a progress bar.

    Folders are uploaded recursively, without hidden files and sidecars (see --exclude).
    """
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from resizer_tools.ops.operations import (  # noqa: PLC0415
        DEFAULT_EXCLUDES,
        files_to_upload,
        require_source_bucket,
        upload_file,
    )

    with errors():
        files = files_to_upload(
            paths, include=tuple(include or ()), exclude=DEFAULT_EXCLUDES + tuple(exclude or ())
        )
        aws, stack = stack_clients(stack_name, endpoint, region)
        require_source_bucket(aws, stack)
        total = sum(path.stat().st_size for path, _ in files)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("uploading", total=total)
            for path, key in files:
                progress.update(task, description=literal(f"{prefix}{key}"))
                upload_file(
                    aws,
                    stack,
                    path,
                    f"{prefix}{key}",
                    lambda sent: progress.advance(task, sent),
                )
        console.print(
            literal(f"uploaded {len(files)} file(s) to s3://{stack.source_bucket}/{prefix}"),
            highlight=False,
        )


def status(
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    as_json: JsonOption = False,
) -> None:
    """Queue depth, messages in flight, dead letters and renditions."""
    from rich.table import Table  # noqa: PLC0415

    from resizer_tools.ops.operations import status as read_status  # noqa: PLC0415

    with errors():
        aws, stack = stack_clients(stack_name, endpoint, region)
        now = read_status(aws, stack)
    if as_json:
        print_json({"stack": stack_name, **asdict(now), "renditions": dict(now.renditions)})
        return
    table = Table(title=literal(f"stack {stack_name}"), show_header=False)
    table.add_row("queued", str(now.queued))
    table.add_row("in flight", str(now.in_flight))
    table.add_row("delayed", str(now.delayed))
    table.add_row("dead letters", f"{now.dead_letters} (+{now.dead_letters_in_flight} in flight)")
    table.add_row("source objects", str(now.source_objects))
    table.add_row("renditions", str(sum(now.renditions.values())))
    for name, count in sorted(now.renditions.items()):
        table.add_row(literal(f"  {name}/"), str(count))
    console.print(table)


def backfill(
    *,
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    prefix: Annotated[str, typer.Option(help="Only source keys starting with this.")] = "",
    prune: Annotated[
        bool,
        typer.Option(
            help="Then, once the queue is empty, delete the renditions (and formats) "
            "the manifests no longer list. Without it nothing is ever deleted."
        ),
    ] = False,
    wait: Annotated[
        int, typer.Option(min=1, help="With --prune: most seconds to wait for the queue.")
    ] = 900,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="With --prune: list what the prune would delete and delete nothing "
            "(the backfill itself still runs: it only re-renders what is out of date).",
        ),
    ] = False,
) -> None:
    """Enqueue existing source objects, as S3 notifications (after changing sizes)."""
    from resizer_tools.ops.operations import backfill as enqueue  # noqa: PLC0415

    if dry_run and not prune:
        raise typer.BadParameter("--dry-run lists what --prune would delete: add --prune")
    skipped: list[DeadLetter] = []
    with errors():
        aws, stack = stack_clients(stack_name, endpoint, region)
        sent = enqueue(aws, stack, prefix, on_skip=skipped.append)
    console.print(
        literal(f"enqueued {sent} object(s) from s3://{stack.source_bucket}/{prefix}"),
        highlight=False,
    )
    if skipped:
        _print_skipped(skipped)
    if prune:
        from resizer_tools.cli.prune import prune_after_backfill  # noqa: PLC0415

        prune_after_backfill(aws, stack, prefix, wait, dry_run=dry_run)


def _print_skipped(skipped: list[DeadLetter]) -> None:
    """How many sources the backfill left out, why, and what to do about them."""
    kinds = Counter(letter.error_type for letter in skipped)
    console.print(
        f"skipped {len(skipped)} object(s) already on the dead-letter queue with the same "
        f"ETag, dead-lettered by the version `live` runs ({skipped[0].function_version}): "
        "they would only fail again ("
        + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        + "); `resizer dlq list` shows why; fix or replace the file (a new ETag), or "
        "change the settings (a new version), and they are enqueued again",
        highlight=False,
        soft_wrap=True,
    )


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _since_ms(since: str) -> int:
    from resizer_tools.errors import UsageError  # noqa: PLC0415

    number, unit = since[:-1], since[-1:]
    if unit not in _UNITS or not number.isdigit():
        raise UsageError(f"--since {since!r}: write a number and a unit, e.g. 30s, 10m, 2h, 1d")
    return int((time.time() - int(number) * _UNITS[unit]) * 1000)


def logs(
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    since: Annotated[str, typer.Option(help="How far back to start: 30s, 10m, 2h, 1d.")] = "10m",
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
) -> None:
    """The function's log lines from its log group, on AWS or the local stack.

    Readable (time, level, message, fields) in a terminal; the JSON lines as logged
    when piped. Locally, `resizer local up` ships the function's lines to the
    emulator's log group.
    """
    from resizer_tools.ops.logs import follow as read_lines  # noqa: PLC0415
    from resizer_tools.ops.logs import log_group, readable  # noqa: PLC0415

    show = readable if console.is_terminal else (lambda line: line)
    with errors():
        aws = aws_clients(endpoint, region)
        group = log_group(aws.stack(stack_name))
        try:
            for _, line in read_lines(
                aws, group, since_ms=_since_ms(since), keep_going=lambda: follow
            ):
                console.print(show(line), highlight=False, soft_wrap=True, markup=False)
        except KeyboardInterrupt:
            return
