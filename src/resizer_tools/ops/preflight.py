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

__all__ = ["CDN_CERTIFICATE_REGION", "TEMPLATE_S3_LIMIT", "TOOLS", "Check", "preflight"]

#: What scripts/aws_cli_deploy.sh runs besides Python.
TOOLS = {
    "aws": "the AWS CLI: pip install awscli, or `make tools` (.tools/bin/aws)",
    "jq": "jq: apt-get install jq / brew install jq",
    "sha256sum": "sha256sum (coreutils; macOS: brew install coreutils)",
}
# Bytes CloudFormation accepts in a template it reads from S3 (--template-url, how every
# deploy sends it; "Template body size in an Amazon S3 object: 1 MB", read as 1,000,000,
# the stricter, which the service's "Template may not exceed 1000000 bytes" names):
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
# As a body (--template-body) only 51,200: the template outgrew that.
TEMPLATE_S3_LIMIT = 1_000_000
#: CloudFront takes certificates from ACM in this region only.
#: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
CDN_CERTIFICATE_REGION = "us-east-1"


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
    zip_path: Path | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[Check]:
    """Every check, in the order a deploy meets them; ``aws`` None: no credentials.

    ``overrides`` are the ``Key=Value`` arguments given to scripts/aws_cli_deploy.sh;
    ``zip_path`` the build it deploys (default: the newest dist/*.zip, as the script).
    """
    checks = [
        Check(f"tool {tool}", which(tool) is not None, which(tool) or f"missing: {hint}")
        for tool, hint in TOOLS.items()
    ]
    template_checks, values = _template_checks(root, environment, alarm_email, overrides or {})
    checks.extend(template_checks)
    checks.append(_build(root, zip_path, values))
    if values.get("CdnCertificateArn"):
        checks.append(_certificate_region(values["CdnCertificateArn"]))
    if aws is None:
        return checks
    checks.append(_identity(aws, expect_account))
    checks.append(_artifact_bucket(aws, artifact_bucket))
    checks.append(_boundary(aws, values.get("FunctionPermissionsBoundary", "")))
    if values.get("ExistingSourceBucket"):
        checks.append(_source_bucket_region(aws, values["ExistingSourceBucket"]))
    checks.append(_stack_state(aws, stack_name))
    return checks


def _template_checks(
    root: Path, environment: str, alarm_email: str | None, overrides: Mapping[str, str]
) -> tuple[list[Check], dict[str, str]]:
    from resizer_tools.local.parameters import check_overrides  # noqa: PLC0415
    from resizer_tools.local.template import Template  # noqa: PLC0415

    template_path = root / "infra" / "template.yaml"
    size = template_path.stat().st_size
    checks = [
        Check(
            "template size",
            size <= TEMPLATE_S3_LIMIT,
            f"{size:,} bytes (--template-url, from S3, takes up to {TEMPLATE_S3_LIMIT:,})",
        )
    ]
    path = root / "infra" / "parameters" / f"{environment}.json"
    values: dict[str, str] = {}
    try:
        template = Template.load(template_path)
        entries = json.loads(path.read_text(encoding="utf-8"))
        values = {entry["ParameterKey"]: entry["ParameterValue"] for entry in entries}
        values |= dict(overrides)
        check_overrides(values, template)
        shown = f"{path.relative_to(root)} is valid"
        if overrides:
            shown += f" with {', '.join(sorted(overrides))}"
        checks.append(Check("parameter file", True, shown))
        values = {**template.parameter_defaults(), **values}
    except (OSError, ValueError, KeyError, TypeError, ResizerError) as error:
        reason = error.reason if isinstance(error, ResizerError) else str(error)
        checks.append(Check("parameter file", False, f"{path}: {reason}"))
    if values.get("Environment", environment) == "prod":
        checks.append(
            Check(
                "alarm e-mail",
                bool(alarm_email),
                alarm_email or "prod refuses to deploy without one: set ALARM_EMAIL",
            )
        )
    return checks, values


def _build(root: Path, zip_path: Path | None, values: Mapping[str, str]) -> Check:
    """The zip's Python and CPU are the parameter file's Runtime and Architecture."""
    if zip_path is None:
        builds = sorted((root / "dist").glob("*.zip"), key=lambda p: p.stat().st_mtime)
        if not builds:
            return Check("build", False, "no dist/*.zip: run `make package`")
        zip_path = builds[-1]
    manifest_path = zip_path.with_name(zip_path.name.removesuffix(".zip") + ".manifest.json")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return Check("build", False, f"{manifest_path.name}: {error} (`make package` writes it)")
    built = (str(manifest.get("runtime")), str(manifest.get("arch")))
    wanted = (values.get("Runtime", ""), values.get("Architecture", ""))
    if manifest.get("host_build"):
        return Check("build", False, f"{zip_path.name} is a --host build: not for Lambda")
    if built != wanted:
        return Check(
            "build",
            False,
            f"{zip_path.name} is {built[0]}/{built[1]}, the parameters say "
            f"{wanted[0]}/{wanted[1]}: make package PACKAGE_ARGS='--python-version ... "
            "--arch ...', or change the parameter file",
        )
    return Check("build", True, f"{zip_path.name}: {built[0]}/{built[1]}, as the parameters")


def _certificate_region(arn: str) -> Check:
    region = arn.split(":")[3] if arn.count(":") >= 5 else "?"
    fix = "" if region == CDN_CERTIFICATE_REGION else f": CloudFront needs {CDN_CERTIFICATE_REGION}"
    return Check("CDN certificate", region == CDN_CERTIFICATE_REGION, f"{arn} is in {region}{fix}")


def _boundary(aws: Aws, name: str) -> Check:
    if not name:
        return Check(
            "permissions boundary",
            True,
            "none (FunctionPermissionsBoundary empty): the function role is bounded by its "
            "own least-privilege policies only (docs/first-deploy.md)",
        )
    try:
        account = str(aws.sts.get_caller_identity()["Account"])
        iam = aws.session.client("iam", endpoint_url=aws.endpoint_url)
        iam.get_policy(PolicyArn=f"arn:aws:iam::{account}:policy/{name}")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchEntity", "NoSuchEntityException", "404"):
            return Check(
                "permissions boundary",
                False,
                f"no managed policy {name}: deploy infra/deploy-roles.yaml first, or leave "
                "FunctionPermissionsBoundary empty (docs/first-deploy.md)",
            )
        return Check("permissions boundary", False, f"{name}: {error}")
    except BotoCoreError as error:
        return Check("permissions boundary", False, f"{name}: {error}")
    return Check("permissions boundary", True, f"managed policy {name} exists")


def _source_bucket_region(aws: Aws, bucket: str) -> Check:
    """EventBridge delivers a bucket's events in the bucket's own region only."""
    try:
        location = dict(aws.s3.get_bucket_location(Bucket=bucket)).get("LocationConstraint")
    except (ClientError, BotoCoreError) as error:
        return Check("source bucket", False, f"s3://{bucket}: {error}")
    region = str(location) if location else "us-east-1"
    if region != aws.region:
        return Check(
            "source bucket",
            False,
            f"s3://{bucket} is in {region}, the stack would be in {aws.region}: its S3 "
            f"events reach EventBridge in its own region only; deploy with --region {region}",
        )
    return Check("source bucket", True, f"s3://{bucket}, in {region}")


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


def _stack_state(aws: Aws, stack_name: str) -> Check:  # noqa: PLR0911 (one per state)
    try:
        stacks = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError:
        return Check("stack", True, f"{stack_name} does not exist yet: the deploy creates it")
    except BotoCoreError as error:
        return Check("stack", False, str(error))
    status = str(stacks[0].get("StackStatus", ""))
    if status == "REVIEW_IN_PROGRESS":
        return _under_review(aws, stack_name)
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


def _under_review(aws: Aws, stack_name: str) -> Check:
    """A stack a reviewed change set would create, which nobody executed."""
    try:
        summaries = aws.cloudformation.list_change_sets(StackName=stack_name)["Summaries"]
    except (ClientError, BotoCoreError) as error:
        return Check("stack", False, f"{stack_name} is REVIEW_IN_PROGRESS: {error}")
    pending = [s["ChangeSetName"] for s in summaries if s.get("ExecutionStatus") == "AVAILABLE"]
    if not pending:
        return Check(
            "stack",
            True,
            f"{stack_name} is REVIEW_IN_PROGRESS with no change set to execute: "
            "the deploy creates the stack",
        )
    return Check(
        "stack",
        True,
        f"{stack_name} is REVIEW_IN_PROGRESS: change set {pending[-1]} is pending; "
        f"EXECUTE={pending[-1]} scripts/aws_cli_deploy.sh executes it, a plain run "
        "creates the stack with a new one",
    )
