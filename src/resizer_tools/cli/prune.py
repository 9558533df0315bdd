"""``resizer backfill --prune``'s second half: wait for the re-renders, then prune."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from resizer_tools.cli.common import EXIT_FAILED, console, err_console, errors, literal

if TYPE_CHECKING:
    from resizer_tools.ops.aws import Aws, StackResources

__all__ = ["prune_after_backfill"]


def prune_after_backfill(
    aws: Aws, stack: StackResources, prefix: str, wait_s: int, *, dry_run: bool = False
) -> None:
    from resizer_tools.ops.prune import drained, prune  # noqa: PLC0415

    with errors(), console.status("waiting for the re-renders (queue not empty)...") as status:
        if not drained(
            aws, stack, wait_s, lambda left: status.update(f"waiting: {left} message(s) left")
        ):
            err_console.print(
                f"[red]the queue did not empty in {wait_s} s[/]: nothing pruned; run "
                "`resizer backfill --prune` again once it has (current renditions are skipped)"
            )
            raise typer.Exit(EXIT_FAILED)
        report = prune(aws, stack, prefix, dry_run=dry_run)
    done, verb = ("would prune", "would delete") if dry_run else ("pruned", "deleted")
    console.print(
        f"{done} {len(report.deleted)} object(s) no manifest lists from "
        f"{literal(f's3://{stack.destination_bucket}/')}",
        highlight=False,
    )
    # A dry run lists every key (it is the point); a real one the first 20.
    shown = report.deleted if dry_run else report.deleted[:20]
    for key in shown:
        console.print(f"  {verb} {literal(key)}", highlight=False)
    if len(report.deleted) > len(shown):
        console.print(f"  ... and {len(report.deleted) - len(shown)} more", highlight=False)
    if report.unowned:
        console.print(
            f"left alone: {len(report.unowned)} object(s) of sources without a manifest",
            highlight=False,
        )
    if report.in_progress:
        console.print(
            f"left alone: {len(report.in_progress)} object(s) newer than their manifest "
            "(a render in progress)",
            highlight=False,
        )
