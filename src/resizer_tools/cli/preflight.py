"""``resizer preflight``: the first deploy's prerequisites, checked (docs/first-deploy.md)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from resizer_tools.cli.common import (
    EXIT_FAILED,
    JsonOption,
    Region,
    console,
    errors,
    literal,
    print_json,
)

__all__ = ["preflight"]


def preflight(  # noqa: PLR0917 (one parameter per option)
    environment: Annotated[
        str, typer.Option("--env", help="infra/parameters/<env>.json to deploy.")
    ] = "dev",
    stack_name: Annotated[
        str | None, typer.Option("--stack-name", "-s", help="Default: resizer-<env>.")
    ] = None,
    region: Region = None,
    artifact_bucket: Annotated[
        str | None,
        typer.Option(envvar="ARTIFACT_BUCKET", help="The bucket the build is uploaded to."),
    ] = None,
    alarm_email: Annotated[
        str | None, typer.Option(envvar="ALARM_EMAIL", help="Alarm address (prod needs one).")
    ] = None,
    expect_account: Annotated[
        str | None,
        typer.Option(help="Fail unless the credentials are this account's (dev vs prod)."),
    ] = None,
    zip_path: Annotated[
        Path | None,
        typer.Option("--zip", help="The build to deploy (default: the newest dist/*.zip)."),
    ] = None,
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter",
            "-p",
            metavar="KEY=VALUE",
            help="An override given to scripts/aws_cli_deploy.sh (repeatable).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check what scripts/aws_cli_deploy.sh needs: tools, credentials, region, account,
    parameter file (with the overrides), the build's runtime and architecture, alarm
    address, artifact bucket, permissions boundary, stack state (a pending reviewed
    change set included). Read-only; exit 1 if anything is missing."""
    from resizer.errors import ConfigurationError  # noqa: PLC0415
    from resizer_tools.errors import UsageError  # noqa: PLC0415
    from resizer_tools.local.parameters import parse_pairs  # noqa: PLC0415
    from resizer_tools.ops.aws import Aws  # noqa: PLC0415
    from resizer_tools.ops.preflight import Check  # noqa: PLC0415
    from resizer_tools.ops.preflight import preflight as run_checks  # noqa: PLC0415

    with errors():
        root = Path.cwd()
        if not (root / "infra" / "template.yaml").is_file():
            raise UsageError(
                f"no infra/template.yaml under {root}: run `resizer preflight` from the "
                "repository root"
            )
        try:
            aws: Aws | None = Aws(None, region)
            no_region = None
        except ConfigurationError as error:  # no region: the AWS checks cannot run
            aws, no_region = None, Check("region", False, error.reason)
        checks = run_checks(
            aws,
            root=root,
            environment=environment,
            stack_name=stack_name or f"resizer-{environment}",
            artifact_bucket=artifact_bucket,
            alarm_email=alarm_email,
            expect_account=expect_account,
            zip_path=zip_path,
            overrides=parse_pairs(parameter or []),
        )
        if no_region is not None:
            checks.append(no_region)
    if as_json:
        print_json([asdict(check) for check in checks])
    else:
        from rich.table import Table  # noqa: PLC0415

        table = Table("check", "", "detail")
        for check in checks:
            table.add_row(
                literal(check.name), "ok" if check.ok else "[red]no[/]", literal(check.detail)
            )
        console.print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(EXIT_FAILED)
