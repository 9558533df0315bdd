"""``resizer resize``: offline, with the same engine and settings as the Lambda."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from resizer.errors import ResizerError
from resizer_tools.cli.common import (
    EXIT_FAILED,
    Exclude,
    Include,
    JsonOption,
    console,
    err_console,
    errors,
    literal,
    print_json,
)
from resizer_tools.errors import UsageError

if TYPE_CHECKING:
    from resizer.config import Settings
    from resizer.imaging import RenderedImage, RenderSet

__all__ = ["renders_at_once", "resize"]


def _inputs(
    paths: list[Path], include: list[str] | None, exclude: list[str] | None
) -> list[tuple[Path, Path]]:
    """(file, name under each rendition folder): files as given, folders recursively.

    Folders are filtered as ``resizer upload`` filters them; a missing path is a usage
    error (exit 2) before anything is written.
    """
    from resizer_tools.ops.files import DEFAULT_EXCLUDES, files_to_upload  # noqa: PLC0415

    found = files_to_upload(
        paths, include=tuple(include or ()), exclude=DEFAULT_EXCLUDES + tuple(exclude or ())
    )
    return [(path, Path(key)) for path, key in found]


class _Bar:
    """Progress per file: a transient Rich bar on a terminal; nothing otherwise (and
    then neither Rich's progress nor its table module is imported)."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._progress: Any = None

    def __enter__(self) -> _Bar:
        if err_console.is_terminal:
            from rich.progress import Progress  # noqa: PLC0415

            self._progress = Progress(console=err_console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("resizing", total=self._total)
        return self

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def stop(self) -> None:
        """Before printing anything else."""
        if self._progress is not None:
            self._progress.stop()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Staging:
    """Files written under a hidden folder in ``out``, moved into place only if no two
    inputs share an output path; otherwise nothing is moved and the folder removed.

    The paths are the ones the writer returns (:func:`resizer_tools.ops.offline.write_set`,
    from the function's own key layout), so the check follows the layout; a manifest's
    path is the writer's too, a function of the input's name alone, so two inputs of one
    name share it. Renditions are moved first and the manifests last, as the function
    writes them.
    """

    def __init__(self, out: Path) -> None:
        self._out = out
        self._created = not out.exists()
        self._folder: Path | None = None
        #: Output path (relative to ``out``) -> the inputs that write it.
        self.claims: dict[str, list[Path]] = {}
        #: Name (the manifest's source key) -> the inputs known by it.
        self.names: dict[str, list[Path]] = {}

    def open(self) -> None:
        """Make ``out`` (if needed) and the staging folder in it."""
        self._out.mkdir(parents=True, exist_ok=True)
        self._folder = Path(tempfile.mkdtemp(prefix=".resizer-staging-", dir=self._out))

    def __enter__(self) -> _Staging:
        return self

    def write(
        self, path: Path, name: Path, rendered: RenderSet, settings: Settings
    ) -> list[tuple[RenderedImage, Path]]:
        """Write one input's set in the staging folder; (image, its final path) each."""
        from resizer_tools.ops.offline import write_set  # noqa: PLC0415

        assert self._folder is not None
        written = []
        for image, target in write_set(self._folder, name, path, rendered, settings):
            relative = target.relative_to(self._folder).as_posix()
            self.claims.setdefault(relative, []).append(path)
            written.append((image, self._out / relative))
        self.names.setdefault(name.as_posix(), []).append(path)
        return written

    def shared(self) -> list[str]:
        """Each output two inputs would write: the path (or manifest) and the inputs."""

        def inputs(paths: list[Path]) -> str:
            return " and ".join(str(p) for p in dict.fromkeys(paths))

        shared = [
            f"{key} ({inputs(paths)})"
            for key, paths in sorted(self.claims.items())
            if len(set(paths)) > 1
        ]
        shared += [
            f"the manifest of {name} ({inputs(paths)})"
            for name, paths in sorted(self.names.items())
            if len(set(paths)) > 1
        ]
        return shared

    def commit(self) -> None:
        """Move every file into ``out``; a :class:`UsageError` if two inputs share one."""
        shared = self.shared()
        if shared:
            raise UsageError(
                f"{len(shared)} output(s) would be written by two inputs, nothing written: "
                f"{'; '.join(shared[:5])}{'; ...' if len(shared) > 5 else ''}. "
                "Resize them into separate --out folders, or rename one"
            )
        assert self._folder is not None
        for key in self.claims:
            self._move(self._folder / key)
        for left in sorted(p for p in self._folder.rglob("*") if p.is_file()):
            self._move(left)  # the manifests, last

    def _move(self, staged: Path) -> None:
        assert self._folder is not None
        target = self._out / staged.relative_to(self._folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.replace(target)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        if self._created and not any(self._out.iterdir()):
            self._out.rmdir()


def _settings(renditions: str | None) -> Settings:
    """The function's settings from the environment, ``--renditions`` over RENDITIONS,
    WATERMARK read from a file."""
    from resizer import watermark  # noqa: PLC0415
    from resizer.config import Settings, parse_renditions  # noqa: PLC0415

    settings = Settings.from_env()
    if renditions is not None:
        settings = replace(settings, renditions=parse_renditions(renditions))
    return watermark.from_file(settings)  # WATERMARK: a file path here


def renders_at_once(settings: Settings) -> int:
    """How many files ``resize`` renders at once: as many as the function does, WORKERS
    records of which RENDER_CONCURRENCY render at a time (by default one per CPU; 0: no
    limit). Reading a file and writing its renditions take little, so more threads
    than render slots would only share the CPUs (measured 2-3 % more CPU with four
    renders on two cores: docs/performance.md, issue 21)."""
    return min(settings.workers, settings.render_concurrency or settings.workers)


def _render(path: Path, settings: Settings) -> RenderSet | str:
    """One file's set, or why it failed (one line)."""
    from resizer.imaging import render_set  # noqa: PLC0415 (resize() imports it after its checks)

    try:
        return render_set(path.read_bytes(), settings)
    except ResizerError as error:
        return error.reason
    except OSError as error:
        return str(error)


class _Report:
    """What was written per file, or why not: a table (or JSON) at the end; each
    failure also printed as it happens."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []
        self.files: list[dict[str, Any]] = []
        self.failures = 0

    def failed(self, path: Path, reason: str) -> None:
        err_console.print(f"[red]{literal(path)}[/]: {literal(reason)}", highlight=False)
        self.files.append({"file": str(path), "error": reason, "renditions": []})
        self.failures += 1

    def wrote(self, path: Path, written: list[tuple[RenderedImage, Path]]) -> None:
        renditions = []
        for image, target in written:
            size, length = f"{image.width}x{image.height}", f"{len(image.data):,}"
            self.rows.append((literal(path), image.rendition.name, size, length, image.format))
            renditions.append(
                {
                    "rendition": image.rendition.name,
                    "path": str(target),
                    "width": image.width,
                    "height": image.height,
                    "bytes": len(image.data),
                    "format": image.format,
                }
            )
        self.files.append({"file": str(path), "error": None, "renditions": renditions})

    def show(self, out: Path, as_json: bool) -> None:
        if as_json:
            print_json({"out": str(out), "failed": self.failures, "files": self.files})
            return
        from rich.table import Table  # noqa: PLC0415 (only for a table: keeps start-up light)

        table = Table("file", "rendition", "size", "bytes", "format")
        for row in self.rows:
            table.add_row(*row)
        console.print(table)
        console.print(f"renditions written under {literal(out)}/", highlight=False)


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

    Files are rendered as the function renders the records of a batch: WORKERS at a
    time, at most RENDER_CONCURRENCY (one per CPU) at once (threads: Pillow releases
    the GIL while it works). Each file's manifest is written beside
    its renditions, to ``manifests/<file>.json``. Exit 1 if any file failed; exit 2,
    writing nothing, if two inputs would write one output path (``photo.jpg`` and
    ``photo.png`` both converted to ``hero/photo.webp``, or one name from two folders).
    """
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415
    from functools import partial  # noqa: PLC0415

    with errors():
        inputs = _inputs(files, include, exclude)  # first: it needs no engine (start-up)
        settings = _settings(renditions)

    from resizer.imaging import tune_allocator  # noqa: PLC0415 (after the checks)

    tune_allocator()  # renders as the function does (resizer.imaging._allocator)
    report = _Report()
    staging = _Staging(out)
    with errors():  # an output folder that cannot be made: one line, exit 1
        staging.open()
    with (
        staging,
        ThreadPoolExecutor(renders_at_once(settings)) as executor,
        _Bar(len(inputs)) as bar,
    ):
        rendered = executor.map(partial(_render, settings=settings), [p for p, _ in inputs])
        for (path, name), result in zip(inputs, rendered, strict=True):
            bar.advance()
            if isinstance(result, str):
                report.failed(path, result)
            else:
                report.wrote(path, staging.write(path, name, result, settings))
        bar.stop()
        with errors():
            staging.commit()
    report.show(out, as_json)
    if report.failures:
        raise typer.Exit(EXIT_FAILED)
