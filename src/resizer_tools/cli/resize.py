"""``resizer resize``: offline, with the same engine and settings as the Lambda."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from resizer import watermark
from resizer.config import Settings, parse_renditions
from resizer.errors import ResizerError
from resizer_tools.cli.common import (
    EXIT_FAILED,
    Exclude,
    Include,
    JsonOption,
    console,
    err_console,
    errors,
    print_json,
)
from resizer_tools.ops.offline import write_set

if TYPE_CHECKING:
    from resizer.imaging import RenderSet

__all__ = ["resize"]


def _inputs(
    paths: list[Path], include: list[str] | None, exclude: list[str] | None
) -> list[tuple[Path, Path]]:
    """(file, name under each rendition folder): files as given, folders recursively.

    Folders are filtered as ``resizer upload`` filters them; a missing path is a usage
    error (exit 2) before anything is written.
    """
    from resizer_tools.ops.operations import DEFAULT_EXCLUDES, files_to_upload  # noqa: PLC0415

    found = files_to_upload(
        paths, include=tuple(include or ()), exclude=DEFAULT_EXCLUDES + tuple(exclude or ())
    )
    return [(path, Path(key)) for path, key in found]


def resize(
    files: Annotated[
        list[Path], typer.Argument(help="Images, or folders of images.", show_default=False)
    ],
    *,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <rendition>/<file>.")],
    as_json: JsonOption = False,
    include: Include = None,
    exclude: Exclude = None,
    renditions: Annotated[
        str | None,
        typer.Option(
            envvar="RENDITIONS",
            help="RENDITIONS spec, e.g. 'thumbs=150x150:cover,medium=800x:format=original+webp'.",
        ),
    ] = None,
) -> None:
    """Resize files offline, with the same engine and settings (RENDITIONS...) as the Lambda.

    Files are rendered WORKERS at a time (Pillow releases the GIL while it works), as
    the function renders the records of a batch. Each file's manifest is written beside
    its renditions, to ``manifests/<file>.json``. Exit 1 if any file failed.
    """
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from resizer.imaging import render_set  # noqa: PLC0415

    with errors():
        settings = Settings.from_env()
        if renditions is not None:
            settings = replace(settings, renditions=parse_renditions(renditions))
        settings = watermark.from_file(settings)  # WATERMARK: a file path here
        inputs = _inputs(files, include, exclude)

    def one(path: Path) -> RenderSet | str:
        try:
            return render_set(path.read_bytes(), settings)
        except ResizerError as error:
            return error.reason
        except OSError as error:
            return str(error)

    table = Table("file", "rendition", "size", "bytes", "format")
    report: list[dict[str, Any]] = []
    failures = 0
    with (
        ThreadPoolExecutor(settings.workers) as executor,
        Progress(console=err_console, transient=True) as progress,
    ):
        task = progress.add_task("resizing", total=len(inputs))
        paths = [path for path, _ in inputs]
        for (path, name), result in zip(inputs, executor.map(one, paths), strict=True):
            progress.advance(task)
            if isinstance(result, str):
                err_console.print(f"[red]{path}[/]: {result}", highlight=False)
                report.append({"file": str(path), "error": result, "renditions": []})
                failures += 1
                continue
            written = []
            for image, target in write_set(out, name, path, result, settings):
                size, length = f"{image.width}x{image.height}", f"{len(image.data):,}"
                table.add_row(str(path), image.rendition.name, size, length, image.format)
                written.append(
                    {
                        "rendition": image.rendition.name,
                        "path": str(target),
                        "width": image.width,
                        "height": image.height,
                        "bytes": len(image.data),
                        "format": image.format,
                    }
                )
            report.append({"file": str(path), "error": None, "renditions": written})
    if as_json:
        print_json({"out": str(out), "failed": failures, "files": report})
    else:
        console.print(table)
        console.print(f"renditions written under {out}/")
    if failures:
        raise typer.Exit(EXIT_FAILED)
