"""``resizer tune``: measure memory and CPU per image, recommend the Lambda's sizing."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from resizer_tools.cli.common import (
    JsonOption,
    console,
    err_console,
    errors,
    literal,
    print_json,
)

__all__ = ["tune"]


def tune(
    folder: Annotated[
        Path, typer.Argument(help="Images to measure (default: examples/photos).")
    ] = Path("examples/photos"),
    prices: Annotated[
        Path | None, typer.Option(help="JSON price table overriding the defaults.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Renders at once (default: WORKERS).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10000, help="BatchSize.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Measure memory and CPU per image; recommend MemorySize, Timeout and the cost."""
    from resizer_tools.tuning import render_report, tune_command  # noqa: PLC0415

    def measured(path: Path, result: Any) -> None:
        note = result if isinstance(result, str) else f"peak {result.peak_mb:.0f} MB"
        err_console.print(literal(f"{path.name}: {note}"), highlight=False)

    with errors():
        report = tune_command(
            folder, prices=prices, workers=workers, batch_size=batch_size, on_image=measured
        )
    if as_json:
        print_json(asdict(report))
    else:
        console.print(render_report(report))
