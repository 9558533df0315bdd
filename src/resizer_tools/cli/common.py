"""What every command shares: consoles, the stack options, error handling.

Exit codes (defined in :mod:`resizer_tools.errors`): 0 success; 1 the operation
failed (some files could not be resized, AWS refused a call); 2 bad usage or
configuration (a missing stack, file or setting).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from resizer.errors import ResizerError
from resizer_tools.errors import EXIT_FAILED, EXIT_USAGE, MissingExtrasError, exit_code
from resizer_tools.ops import DEFAULT_STACK_NAME

if TYPE_CHECKING:
    from resizer_tools.ops.aws import Aws, StackResources

__all__ = [
    "DEFAULT_STACK_NAME",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "Endpoint",
    "Exclude",
    "Include",
    "JsonOption",
    "Region",
    "StackName",
    "TemplateOption",
    "aws_clients",
    "console",
    "err_console",
    "errors",
    "fail",
    "literal",
    "print_json",
]

console = Console()
err_console = Console(stderr=True)

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
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        help="In folders, only files whose name or relative path matches (e.g. '*.jpg'); "
        "repeatable.",
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        help="In folders, also skip files or folders matching this (e.g. 'raw'); repeatable. "
        "Always skipped: hidden files and folders, Thumbs.db, desktop.ini, *.xmp, *.aae.",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on stdout instead of a table."),
]


def literal(value: object) -> str:
    """``value`` as text that Rich prints as it is, never as markup.

    The one way every command puts data (keys, file names, reasons, ids) into a Rich
    string or table cell: S3 keys are any UTF-8, and ``[/].jpg`` would otherwise be a
    closing tag (Rich raises) and ``[bold]x[/bold].jpg`` a style.
    """
    return escape(str(value))


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, ``message`` printed literally, and exit ``code``."""
    err_console.print(f"[bold red]error:[/] {literal(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """Turn the errors users can act on into one clear line and an exit code."""
    try:
        yield
    except ResizerError as error:
        fail(error.reason, exit_code(error))
    except ModuleNotFoundError as error:
        fail(MissingExtrasError(error.name or str(error)).reason, EXIT_USAGE)
    except Exception as error:
        _fail_aws(error)
        if isinstance(error, OSError):  # this machine refused: a folder not writable...
            fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "), EXIT_FAILED)
        raise


def _fail_aws(error: Exception) -> None:
    """One line for an AWS error; nothing for others. Without botocore imported (the
    command never made a client, as ``resize``), it cannot be one: no import here."""
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:
        return
    if isinstance(error, exceptions.ClientError):
        details = error.response.get("Error", {})
        fail(
            f"AWS refused {error.operation_name}: {details.get('Code')}: {details.get('Message')}",
            EXIT_FAILED,
        )
    if isinstance(error, exceptions.BotoCoreError):
        fail(f"{error} (is the endpoint running? `resizer local up`)", EXIT_FAILED)


def aws_clients(endpoint: str | None, region: str | None) -> Aws:
    from resizer_tools.ops.aws import Aws  # noqa: PLC0415 (keeps `resizer resize` light)

    return Aws(endpoint, region)


def stack_clients(
    stack_name: str, endpoint: str | None, region: str | None
) -> tuple[Aws, StackResources]:
    """Clients for the endpoint, and the resources of ``stack_name`` from its outputs."""
    aws = aws_clients(endpoint, region)
    return aws, aws.stack(stack_name)


def print_json(document: Any) -> None:
    """One JSON document on stdout, unstyled (for scripts and CI)."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()
