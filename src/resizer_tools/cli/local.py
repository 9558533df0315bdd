"""``resizer local up|worker`` and ``resizer demo``: the pipeline on this machine."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from resizer_tools.cli.common import (
    DEFAULT_STACK_NAME,
    StackName,
    TemplateOption,
    aws_clients,
    console,
    errors,
    literal,
)

__all__ = ["demo", "local_app"]

local_app = typer.Typer(
    help="The whole pipeline on this machine: embedded AWS, the same template and handler.",
    no_args_is_help=True,
)


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
    error = f" [red]{literal(result.error)}[/]" if result.error else ""
    console.print(
        f"[dim]invocation {result.request_id[:8]}[/] {len(result.message_ids)} record(s): "
        f"{len(result.succeeded)} done{retried} in {result.ms:.0f} ms{error}",
        highlight=False,
    )


def _print_version(config: Any) -> None:
    console.print(
        f"alias {config.alias} now points to version {config.function_version}: invoking it "
        f"with its configuration (RENDITIONS={config.environment.get('RENDITIONS', '')})",
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
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter",
            "-p",
            help="KEY=VALUE template parameter override (repeatable), e.g. Renditions=...",
        ),
    ] = None,
) -> None:
    """Start the emulator, deploy the template, run the poller; until Ctrl-C."""
    from resizer_tools.local.parameters import parse_pairs  # noqa: PLC0415
    from resizer_tools.local.stack import LocalStack  # noqa: PLC0415

    with errors():
        overrides = parse_pairs(parameter or [])
        stack = LocalStack(
            template,
            port=port,
            stack_name=stack_name,
            parameters=overrides,
            on_batch=_print_batch,
            on_version=_print_version,
            poller=worker,
            readable_logs=console.is_terminal,
        )
        stack.start()
    try:
        with _until_interrupted() as stop:
            _print_ready(stack, overrides)
            _wait(stop)
    finally:
        console.print("stopping: finishing the invocations in flight...")
        stack.stop()
        console.print("stopped")


def _command(name: str) -> str:
    """How to run ``name`` in the commands the ready screen prints, so that they work as
    pasted from a shell in the current folder. ``resizer`` and ``python`` (boto3): this
    process's own, bare when the PATH finds them (an activated venv), else by their path
    (``.venv/bin/resizer``). ``aws``: bare when the PATH has one, else ``.tools/bin/aws``
    where ``make tools`` put it. The bare name when there is no such file."""
    found = shutil.which(name)
    if name == "aws":
        mine = Path.cwd() / ".tools" / "bin" / name
        on_path = found is not None
    else:
        mine = Path(sys.executable).parent / name
        on_path = found is not None and os.path.abspath(found) == os.path.abspath(mine)
    if on_path or not mine.exists():
        return name
    try:
        return str(Path(os.path.abspath(mine)).relative_to(Path.cwd()))
    except ValueError:
        return str(mine)


def _print_ready(stack: Any, parameters: Mapping[str, str] | None = None) -> None:
    """What is running and how to use it: one ``name: value`` line each, never cut.

    Lines, not a table: queue URLs are longer than a terminal is wide, and a table cut
    at 80 columns loses the part one needs to copy. With ``ExistingSourceBucket`` the
    stack reads a bucket it does not create: the bucket and the one-time EventBridge
    step come first, before any upload (:func:`_print_own_bucket_steps`).
    """
    resources, deployment, endpoint = stack.resources, stack.deployment, stack.endpoint_url
    aws, resizer, python = _command("aws"), _command("resizer"), _command("python")
    console.print("ready", style="bold green")
    rows = [
        ("endpoint", endpoint),
        ("stack", f"{resources.stack_name} (up in {stack.seconds:.1f} s)"),
        ("source bucket", resources.source_bucket),
        ("destination bucket", resources.destination_bucket),
        ("queue", resources.queue_url),
        ("dead-letter queue", resources.dead_letter_queue_url),
    ]
    if stack.poller is not None:
        config = stack.poller.config
        rows.append(
            (
                "function",
                f"{config.function_name} ({config.handler}, batch {config.batch_size}, "
                f"{config.concurrency} concurrent, timeout {config.timeout_s} s)",
            )
        )
    else:
        rows.append(
            (
                "function",
                f"not polled here: {resizer} local worker --endpoint {endpoint}",
            )
        )
    rows.extend(("not emulated", item) for item in deployment.not_emulated)
    for name, value in rows:
        console.print(f"[dim]{name + ':':<20}[/]{value}", highlight=False, soft_wrap=True)
    src, dst = resources.source_bucket, resources.destination_bucket
    own_bucket = bool((parameters or {}).get("ExistingSourceBucket"))
    if own_bucket:
        _print_own_bucket_steps(stack, aws)
    console.print(
        f"\n[bold]{'Then try it' if own_bucket else 'Try it'}[/] "
        "(any credentials work locally):\n"
        "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
        "AWS_DEFAULT_REGION=us-east-1\n"
        f"  {aws} --endpoint-url {endpoint} s3 cp photo.jpg s3://{src}/\n"
        f"  {aws} --endpoint-url {endpoint} s3 ls s3://{dst}/ --recursive\n"
        f"  AWS_ENDPOINT_URL={endpoint} {resizer} status\n"
        f"  AWS_ENDPOINT_URL={endpoint} {resizer} logs --follow\n"
        f'  AWS_ENDPOINT_URL={endpoint} {python} -c "import boto3; '
        f"boto3.client('s3').upload_file('photo.jpg', '{src}', 'photo.jpg')\"\n"
        "Ctrl-C stops everything.",
        highlight=False,
        soft_wrap=True,
    )


def _print_own_bucket_steps(stack: Any, aws: str) -> None:
    """ExistingSourceBucket: the bucket must exist and send its events to EventBridge
    before an upload reaches the queue (docs/infrastructure.md, "Bring your own source
    bucket"); said first, with the commands for the emulator (``aws``: how to run the
    AWS CLI, :func:`_command`)."""
    from resizer_tools.ops.operations import source_bucket_exists  # noqa: PLC0415

    endpoint, bucket = stack.endpoint_url, stack.resources.source_bucket
    exists = stack.aws is not None and source_bucket_exists(stack.aws, stack.resources)
    state = "exists" if exists else "does not exist yet: create it"
    lines = [
        "\n[bold]First[/] (ExistingSourceBucket: the stack reads a bucket it does not create; "
        "until both steps are done an upload renders nothing):",
        f"  1. the bucket s3://{bucket} {state}",
    ]
    if not exists:
        lines.append(f"     {aws} --endpoint-url {endpoint} s3 mb s3://{bucket}")
    lines += [
        "  2. the one-time step: turn on its EventBridge delivery (here the bucket has no "
        "other notification; on AWS merge it into the existing configuration, "
        'docs/infrastructure.md "Bring your own source bucket")',
        f"     {aws} --endpoint-url {endpoint} "
        "s3api put-bucket-notification-configuration "
        f"--bucket {bucket} --notification-configuration '{{\"EventBridgeConfiguration\": {{}}}}'",
    ]
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


@local_app.command("set")
def local_set(
    pairs: Annotated[
        list[str],
        typer.Argument(
            help="KEY=VALUE: a function variable (RENDITIONS, JPEG_QUALITY...) or the "
            "template parameter that sets it (Renditions, JpegQuality...). Quote a value "
            "with spaces; commas are kept (RENDITIONS=a=100x100,b=200x200).",
        ),
    ],
    endpoint: Annotated[
        str, typer.Option(envvar="AWS_ENDPOINT_URL", help="The running emulator's endpoint.")
    ] = "http://127.0.0.1:4566",
    stack_name: StackName = DEFAULT_STACK_NAME,
    template: TemplateOption = Path("infra/template.yaml"),
) -> None:
    """Change settings of the running local stack as a stack update does: the function's
    configuration, a new version, `live` moved to it; the poller runs it from then on."""
    from resizer_tools.local.parameters import parse_pairs  # noqa: PLC0415
    from resizer_tools.local.settings import apply_settings  # noqa: PLC0415
    from resizer_tools.local.template import Template  # noqa: PLC0415

    with errors():
        aws = aws_clients(endpoint, None)
        stack = aws.stack(stack_name)
        loaded = Template.load(template) if template.is_file() else None
        change = apply_settings(aws, stack, parse_pairs(pairs), loaded)
    shown = " ".join(f"{key}={value}" for key, value in change.variables.items())
    if change.version is None:
        console.print(f"no change: {shown} already set; nothing published", highlight=False)
        return
    console.print(
        f"set {shown}: version {change.version} published and `live` moved to it; the "
        "running poller (`resizer local up` or `local worker`) follows within a second",
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

    with errors():
        aws = aws_clients(endpoint, None)
        stack = aws.stack(stack_name)
        poller = Poller(
            aws,
            MappingConfig.discover(aws, stack),
            on_batch=_print_batch,
            on_version=_print_version,
        )
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

    with errors():
        code = run_demo(console, template=template, out=out, photos=photos)
    raise typer.Exit(code)
