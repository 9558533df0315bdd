"""``resizer preflight``: what a first deploy with the AWS CLI needs, checked before it starts.

Each check names what is missing and how to get it (docs/first-deploy.md lists the
same items). Read-only: nothing is created or changed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from resizer.errors import ResizerError
from resizer_tools.ops.aws import Aws

__all__ = ["TOOLS", "Check", "preflight"]

#: What scripts/aws_cli_deploy.sh runs besides Python.
TOOLS = {
    "aws": "the AWS CLI: pip install awscli, or `make tools` (.tools/bin/aws)",
    "jq": "jq: apt-get install jq / brew install jq",
    "sha256sum": "sha256sum (coreutils; macOS: brew install coreutils)",
}
_TEMPLATE_BODY_LIMIT = 51_200  # bytes CloudFormation accepts in --template-body


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def preflight(
    aws: Aws | None,
    *,
    root: Path,
    environment: str,
    stack_name: str,
    artifact_bucket: str | None,
    alarm_email: str | None,
    expect_account: str | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> list[Check]:
    """Every check, in the order a deploy meets them; ``aws`` None: no credentials."""
    checks = [
        Check(f"tool {tool}", which(tool) is not None, which(tool) or f"missing: {hint}")
        for tool, hint in TOOLS.items()
    ]
    checks.extend(_template_checks(root, environment, alarm_email))
    if aws is None:
        return checks
    checks.append(_identity(aws, expect_account))
    checks.append(_artifact_bucket(aws, artifact_bucket))
    checks.append(_stack_state(aws, stack_name))
    return checks


def _template_checks(root: Path, environment: str, alarm_email: str | None) -> list[Check]:
    from resizer_tools.local.parameters import check_overrides  # noqa: PLC0415
    from resizer_tools.local.template import Template  # noqa: PLC0415

    template_path = root / "infra" / "template.yaml"
    size = template_path.stat().st_size
    checks = [
        Check(
            "template size",
            size <= _TEMPLATE_BODY_LIMIT,
            f"{size:,} bytes (--template-body takes up to {_TEMPLATE_BODY_LIMIT:,})",
        )
    ]
    path = root / "infra" / "parameters" / f"{environment}.json"
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        values = {entry["ParameterKey"]: entry["ParameterValue"] for entry in entries}
        check_overrides(values, Template.load(template_path))
        checks.append(Check("parameter file", True, f"{path.relative_to(root)} is valid"))
    except (OSError, ValueError, KeyError, TypeError, ResizerError) as error:
        reason = error.reason if isinstance(error, ResizerError) else str(error)
        checks.append(Check("parameter file", False, f"{path}: {reason}"))
        values = {}
    if values.get("Environment", environment) == "prod":
        checks.append(
            Check(
                "alarm e-mail",
                bool(alarm_email),
                alarm_email or "prod refuses to deploy without one: set ALARM_EMAIL",
            )
        )
    return checks


def _identity(aws: Aws, expect_account: str | None) -> Check:
    try:
        identity: Mapping[str, Any] = aws.sts.get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        return Check("credentials", False, f"{error} (aws configure, or aws sso login)")
    account = str(identity.get("Account", ""))
    detail = f"account {account} as {identity.get('Arn', '?')}, region {aws.region}"
    if expect_account and account != expect_account:
        return Check("credentials", False, f"{detail}: expected account {expect_account}")
    return Check("credentials", True, detail)


def _artifact_bucket(aws: Aws, bucket: str | None) -> Check:
    if not bucket:
        return Check(
            "artifact bucket",
            False,
            "set ARTIFACT_BUCKET (or --artifact-bucket) to a versioned bucket you may write to",
        )
    try:
        aws.s3.head_bucket(Bucket=bucket)
        location = dict(aws.s3.get_bucket_location(Bucket=bucket)).get("LocationConstraint")
        versioning = aws.s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except (ClientError, BotoCoreError) as error:
        return Check("artifact bucket", False, f"s3://{bucket}: {error}")
    region = str(location) if location else "us-east-1"  # S3 answers None for us-east-1
    problems = []
    if region != aws.region:
        problems.append(f"in {region}, not {aws.region} (Lambda reads code from its region)")
    if versioning != "Enabled":
        problems.append(
            "not versioned (aws s3api put-bucket-versioning --versioning-configuration "
            "Status=Enabled): CodeVersion pins an object version"
        )
    return Check("artifact bucket", not problems, "; ".join(problems) or f"s3://{bucket}")


def _stack_state(aws: Aws, stack_name: str) -> Check:
    try:
        stacks = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError:
        return Check("stack", True, f"{stack_name} does not exist yet: the deploy creates it")
    except BotoCoreError as error:
        return Check("stack", False, str(error))
    status = str(stacks[0].get("StackStatus", ""))
    if status.endswith("_IN_PROGRESS"):
        return Check("stack", False, f"{stack_name} is {status}: wait for it to finish")
    if status in {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"}:
        return Check(
            "stack",
            False,
            f"{stack_name} is {status}, which cannot be updated: find the cause in its events "
            "(aws cloudformation describe-stack-events), delete it (aws cloudformation "
            "delete-stack) and deploy again",
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        return Check(
            "stack",
            False,
            f"{stack_name} is {status}: aws cloudformation continue-update-rollback first",
        )
    return Check("stack", True, f"{stack_name} is {status}: the deploy updates it")
