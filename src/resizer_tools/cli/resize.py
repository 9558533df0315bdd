"""``resizer resize``: offline, with the same engine and settings as the Lambda."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from resizer.config import Settings
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

if TYPE_CHECKING:
    from resizer.imaging import RenderedImage

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
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <rendition>/<file>.")],
    as_json: JsonOption = False,
    include: Include = None,
    exclude: Exclude = None,
) -> None:
    """Resize files offline, with the same engine and settings (RENDITIONS...) as the Lambda.

    Files are rendered WORKERS at a time (Pillow releases the GIL while it works), as
    the function renders the records of a batch. Exit 1 if any file failed.
    """
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from resizer.imaging import render  # noqa: PLC0415

    with errors():
        settings = Settings.from_env()
        inputs = _inputs(files, include, exclude)

    def one(path: Path) -> list[RenderedImage] | str:
        try:
            return render(path.read_bytes(), settings)
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
            for image in result:
                target_name = name.with_suffix(image.extension) if image.converted else name
                target = out / image.rendition.name / target_name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(image.data)
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
