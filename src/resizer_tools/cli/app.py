"""The ``resizer`` Typer application: every command group, registered in one place.

Every command that talks to AWS finds its resources from a CloudFormation stack's
outputs (``--stack-name``), against the local stack (``--endpoint`` or
``AWS_ENDPOINT_URL``) or a real account alike. Exit codes: see
:mod:`resizer_tools.cli.common` and docs/cli.md.
"""

from __future__ import annotations

import typing

import typer

from resizer_tools.cli import (
    coercion,
    dlq,
    events,
    invoke,
    local,
    preflight,
    resize,
    richhelp,
    stack,
    tune,
)

__all__ = ["app"]

app = typer.Typer(
    name="resizer",
    help="Event-driven image resizing for AWS (S3 -> SQS -> Lambda -> S3), and its local twin.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command()(resize.resize)
app.command()(stack.upload)
app.command()(stack.status)
app.command()(stack.backfill)
app.command()(stack.logs)
app.command()(invoke.invoke)
app.command()(events.events)
app.add_typer(dlq.dlq_app, name="dlq")
app.add_typer(local.local_app, name="local")
app.command()(local.demo)
app.command()(tune.tune)
app.command()(preflight.preflight)


def _evaluate_annotations(group: typer.Typer) -> None:
    """Each command's annotations evaluated once, here. Typer reads every command's
    signature twice at each start (``--help`` too), and with ``from __future__ import
    annotations`` each read evaluates every annotation string again, ``typer.Option``
    calls and all: about 8 ms of CPU for the 18 commands, against 2 ms once (issue 21,
    docs/performance.md)."""
    for command in group.registered_commands:
        if command.callback is not None:
            hints = typing.get_type_hints(command.callback, include_extras=True)
            command.callback.__annotations__ = hints
    for child in group.registered_groups:
        if child.typer_instance is not None:
            _evaluate_annotations(child.typer_instance)


_evaluate_annotations(app)
coercion.install()  # no pydantic at start-up (issue 21)
richhelp.install()  # help without Rich's Markdown and traceback modules (issue 21)
