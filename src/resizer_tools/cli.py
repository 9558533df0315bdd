"""The ``resizer`` command: offline resizing, the local stack, and operating a stack.

Every command that talks to AWS finds its resources from a CloudFormation stack's
outputs (``--stack-name``), against the local stack (``--endpoint`` or
``AWS_ENDPOINT_URL``) or a real account alike.

Exit codes: 0 success; 1 the operation failed (some files could not be resized,
AWS refused a call); 2 bad usage or configuration (a missing stack, file or setting).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from resizer.config import Settings
from resizer.errors import ConfigurationError, ResizerError

if TYPE_CHECKING:
    from resizer.imaging import RenderedImage

__all__ = ["app", "main"]

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="resizer",
    help="Event-driven image resizing for AWS (S3 -> SQS -> Lambda -> S3), and its local twin.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
local_app = typer.Typer(
    help="The whole pipeline on this machine: embedded AWS, the same template and handler.",
    no_args_is_help=True,
)
dlq_app = typer.Typer(help="Inspect and redrive the dead-letter queue.", no_args_is_help=True)
app.add_typer(local_app, name="local")
app.add_typer(dlq_app, name="dlq")

DEFAULT_STACK_NAME = "resizer-local"
EXIT_FAILED = 1
EXIT_USAGE = 2

StackName = Annotated[
    str,
    typer.Option(
        "--stack-name",
        "-s",
        envvar="RESIZER_STACK_NAME",
        help="CloudFormation stack whose outputs name the buckets and queues.",
    ),
]
Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar="AWS_ENDPOINT_URL",
        help="AWS endpoint, e.g. http://127.0.0.1:4566 for `resizer local up`; omit for real AWS.",
    ),
]
Region = Annotated[
    str | None,
    typer.Option("--region", help="AWS region (default: your AWS configuration)."),
]
TemplateOption = Annotated[
    Path,
    typer.Option("--template", help="The CloudFormation template to deploy locally."),
]


def _fail(message: str, code: int) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the errors users can act on into one clear line and an exit code."""
    try:
        yield
    except (ConfigurationError, FileNotFoundError) as error:
        _fail(str(error), EXIT_USAGE)
    except ClientError as error:
        details = error.response.get("Error", {})
        _fail(
            f"AWS refused {error.operation_name}: {details.get('Code')}: {details.get('Message')}",
            EXIT_FAILED,
        )
    except BotoCoreError as error:
        _fail(f"{error} (is the endpoint running? `resizer local up`)", EXIT_FAILED)
    except ResizerError as error:
        _fail(error.reason, EXIT_FAILED)


def _aws(endpoint: str | None, region: str | None) -> Any:
    from resizer_tools.ops.aws import Aws  # noqa: PLC0415 (keeps `resizer resize` light)

    return Aws(endpoint, region)


# ------------------------------------------------------------------ resize
@app.command()
def resize(
    files: Annotated[list[Path], typer.Argument(help="Images to resize.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <rendition>/<file>.")],
) -> None:
    """Resize files offline, with the same engine and settings (RENDITIONS...) as the Lambda.

    Files are rendered WORKERS at a time (Pillow releases the GIL while it works), as
    the function renders the records of a batch.
    """
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from resizer.imaging import render  # noqa: PLC0415

    with _errors():
        settings = Settings.from_env()

    def one(path: Path) -> list[RenderedImage] | str:
        try:
            return render(path.read_bytes(), settings)
        except ResizerError as error:
            return error.reason
        except OSError as error:
            return str(error)

    table = Table("file", "rendition", "size", "bytes", "format")
    failures = 0
    with (
        ThreadPoolExecutor(settings.workers) as executor,
        Progress(console=err_console, transient=True) as progress,
    ):
        task = progress.add_task("resizing", total=len(files))
        for path, result in zip(files, executor.map(one, files), strict=True):
            progress.advance(task)
            if isinstance(result, str):
                err_console.print(f"[red]{path}[/]: {result}", highlight=False)
                failures += 1
                continue
            for image in result:
                name = (Path(path.name).stem + image.extension) if image.converted else path.name
                target = out / image.rendition.name / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(image.data)
                table.add_row(
                    str(path),
                    image.rendition.name,
                    f"{image.width}x{image.height}",
                    f"{len(image.data):,}",
                    image.format,
                )
    console.print(table)
    console.print(f"renditions written under {out}/")
    if failures:
        raise typer.Exit(EXIT_FAILED)


# ------------------------------------------------------------------ upload
@app.command()
def upload(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    prefix: Annotated[str, typer.Option(help="Key prefix in the source bucket.")] = "",
) -> None:
    """Upload images to the stack's source bucket, with a progress bar."""
    from resizer_tools.ops.operations import files_to_upload, upload_file  # noqa: PLC0415

    with _errors():
        files = files_to_upload(paths)
        aws = _aws(endpoint, region)
        stack = aws.stack(stack_name)
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
                progress.update(task, description=f"{prefix}{key}")
                upload_file(
                    aws,
                    stack,
                    path,
                    f"{prefix}{key}",
                    lambda sent: progress.advance(task, sent),
                )
        console.print(f"uploaded {len(files)} file(s) to s3://{stack.source_bucket}/{prefix}")


# ------------------------------------------------------------------ status
@app.command()
def status(
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
) -> None:
    """Queue depth, messages in flight, dead letters and renditions."""
    from resizer_tools.ops.operations import status as read_status  # noqa: PLC0415

    with _errors():
        aws = _aws(endpoint, region)
        stack = aws.stack(stack_name)
        now = read_status(aws, stack)
    table = Table(title=f"stack {stack_name}", show_header=False)
    table.add_row("queued", str(now.queued))
    table.add_row("in flight", str(now.in_flight))
    table.add_row("delayed", str(now.delayed))
    table.add_row("dead letters", f"{now.dead_letters} (+{now.dead_letters_in_flight} in flight)")
    table.add_row("source objects", str(now.source_objects))
    table.add_row("renditions", str(sum(now.renditions.values())))
    for name, count in sorted(now.renditions.items()):
        table.add_row(f"  {name}/", str(count))
    console.print(table)


# ---------------------------------------------------------------- backfill
@app.command()
def backfill(
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    prefix: Annotated[str, typer.Option(help="Only source keys starting with this.")] = "",
) -> None:
    """Enqueue existing source objects, as S3 notifications (after changing sizes)."""
    from resizer_tools.ops.operations import backfill as enqueue  # noqa: PLC0415

    with _errors():
        aws = _aws(endpoint, region)
        stack = aws.stack(stack_name)
        sent = enqueue(aws, stack, prefix)
    console.print(f"enqueued {sent} object(s) from s3://{stack.source_bucket}/{prefix}")


# --------------------------------------------------------------------- dlq
@dlq_app.command("list")
def dlq_list(
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
    limit: Annotated[int, typer.Option(min=1, help="Most messages to show.")] = 100,
) -> None:
    """Messages on the dead-letter queue, with why they are there (left on the queue)."""
    from resizer_tools.ops.operations import dead_letters  # noqa: PLC0415

    with _errors():
        aws = _aws(endpoint, region)
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

    with _errors():
        aws = _aws(endpoint, region)
        stack = aws.stack(stack_name)
        moved = redrive(aws, stack, limit)
    console.print(f"moved {moved} message(s) back to the queue")


# ------------------------------------------------------------------- local
@contextmanager
def _until_interrupted() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM set the event instead of raising, from entry on.

    Entered before ``ready`` is printed, so a signal sent on seeing it is never lost.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait(stop: threading.Event) -> None:
    while not stop.wait(0.5):
        pass


def _print_batch(result: Any) -> None:
    retried = f", [yellow]{len(result.failed)} left for retry[/]" if result.failed else ""
    error = f" [red]{result.error}[/]" if result.error else ""
    console.print(
        f"[dim]invocation {result.request_id[:8]}[/] {len(result.message_ids)} record(s): "
        f"{len(result.succeeded)} done{retried} in {result.ms:.0f} ms{error}",
        highlight=False,
    )


@local_app.command("up")
def local_up(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 for any free one).")] = 4566,
    stack_name: StackName = DEFAULT_STACK_NAME,
    template: TemplateOption = Path("infra/template.yaml"),
    worker: Annotated[
        bool, typer.Option(help="Run the poller here (--no-worker: use `local worker`).")
    ] = True,
) -> None:
    """Start the emulator, deploy the template, run the poller; until Ctrl-C."""
    from resizer_tools.local.stack import LocalStack  # noqa: PLC0415

    stack = LocalStack(
        template, port=port, stack_name=stack_name, on_batch=_print_batch, poller=worker
    )
    with _errors():
        stack.start()
    try:
        with _until_interrupted() as stop:
            _print_ready(stack)
            _wait(stop)
    finally:
        console.print("stopping: finishing the invocations in flight...")
        stack.stop()
        console.print("stopped")


def _print_ready(stack: Any) -> None:
    resources, deployment, endpoint = stack.resources, stack.deployment, stack.endpoint_url
    console.print("ready", style="bold green")
    table = Table(show_header=False, box=None)
    table.add_row("endpoint", endpoint)
    table.add_row("stack", f"{resources.stack_name} (up in {stack.seconds:.1f} s)")
    table.add_row("source bucket", resources.source_bucket)
    table.add_row("destination bucket", resources.destination_bucket)
    table.add_row("queue", resources.queue_url)
    table.add_row("dead-letter queue", resources.dead_letter_queue_url)
    if stack.poller is not None:
        config = stack.poller.config
        table.add_row(
            "function",
            f"{config.function_name} ({config.handler}, batch {config.batch_size}, "
            f"{config.concurrency} concurrent, timeout {config.timeout_s} s)",
        )
    else:
        table.add_row("function", f"not polled here: resizer local worker --endpoint {endpoint}")
    for item in deployment.not_emulated:
        table.add_row("not emulated", item)
    console.print(table)
    src, dst = resources.source_bucket, resources.destination_bucket
    console.print(
        "\n[bold]Try it[/] (any credentials work locally):\n"
        "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
        "AWS_DEFAULT_REGION=us-east-1\n"
        f"  aws --endpoint-url {endpoint} s3 cp photo.jpg s3://{src}/\n"
        f"  aws --endpoint-url {endpoint} s3 ls s3://{dst}/ --recursive\n"
        f"  AWS_ENDPOINT_URL={endpoint} resizer status\n"
        f'  AWS_ENDPOINT_URL={endpoint} python -c "import boto3; '
        f"boto3.client('s3').upload_file('photo.jpg', '{src}', 'photo.jpg')\"\n"
        "Ctrl-C stops everything.",
        highlight=False,
        soft_wrap=True,
    )


@local_app.command("worker")
def local_worker(
    endpoint: Annotated[
        str, typer.Option(envvar="AWS_ENDPOINT_URL", help="The running emulator's endpoint.")
    ],
    stack_name: StackName = DEFAULT_STACK_NAME,
) -> None:
    """Run only the poller against a running emulator (stop, kill, restart at will)."""
    from resizer_tools.local.poller import MappingConfig, Poller  # noqa: PLC0415

    with _errors():
        aws = _aws(endpoint, None)
        stack = aws.stack(stack_name)
        poller = Poller(aws, MappingConfig.discover(aws, stack), on_batch=_print_batch)
        poller.start()
    config = poller.config
    try:
        with _until_interrupted() as stop:
            console.print(
                f"polling {config.queue_url} for {config.function_name} "
                f"(batch {config.batch_size}, {config.concurrency} concurrent); Ctrl-C stops",
                highlight=False,
            )
            _wait(stop)
    finally:
        poller.stop()
        console.print("stopped")


# -------------------------------------------------------------------- demo
@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the HTML gallery (replaced).")] = Path(
        "build/demo"
    ),
    template: TemplateOption = Path("infra/template.yaml"),
    photos: Annotated[
        list[Path] | None,
        typer.Option(help="Images to use (default: examples/photos and examples/demo)."),
    ] = None,
) -> None:
    """The whole pipeline locally on the bundled photos: table, gallery, then stop."""
    from resizer_tools.local.demo import run_demo  # noqa: PLC0415

    with _errors():
        code = run_demo(console, template=template, out=out, photos=photos)
    raise typer.Exit(code)


# ------------------------------------------------------------------- tune
@app.command()
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
) -> None:
    """Measure memory and CPU per image; recommend MemorySize, Timeout and the cost."""
    from resizer_tools.tuning import render_report, tune_command  # noqa: PLC0415

    def measured(path: Path, result: Any) -> None:
        note = result if isinstance(result, str) else f"peak {result.peak_mb:.0f} MB"
        err_console.print(f"{path.name}: {note}", highlight=False)

    with _errors():
        report = tune_command(
            folder, prices=prices, workers=workers, batch_size=batch_size, on_image=measured
        )
    console.print(render_report(report))


def main() -> None:
    """Console-script entry point."""
    app()
