"""The ``resizer`` Typer application: every command group, registered in one place.

Every command that talks to AWS finds its resources from a CloudFormation stack's
outputs (``--stack-name``), against the local stack (``--endpoint`` or
``AWS_ENDPOINT_URL``) or a real account alike. Exit codes: see
:mod:`resizer_tools.cli.common` and docs/cli.md.
"""

from __future__ import annotations

import typer

from resizer_tools.cli import dlq, events, invoke, local, preflight, resize, stack, tune

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
