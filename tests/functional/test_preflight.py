"""`resizer preflight` on emulated AWS: each missing prerequisite named, nothing changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from emulated_aws import REGION
from typer.testing import CliRunner

from resizer_tools.cli.app import app
from resizer_tools.ops.aws import Aws
from resizer_tools.ops.preflight import TEMPLATE_S3_LIMIT, TOOLS, preflight

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    return Aws(endpoint)


def _bucket(endpoint: str, name: str, *, versioned: bool) -> str:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _by_name(checks: list) -> dict[str, tuple[bool, str]]:  # type: ignore[type-arg]
    return {check.name: (check.ok, check.detail) for check in checks}


def _dev(
    aws: Aws | None, stack_name: str = "resizer-dev", **options: Any
) -> dict[str, tuple[bool, str]]:
    """The checks of ``preflight`` for the dev environment, no artifact bucket or alarm
    e-mail given, by name."""
    return _by_name(
        preflight(
            aws,
            root=ROOT,
            environment="dev",
            stack_name=stack_name,
            artifact_bucket=None,
            alarm_email=None,
            **options,
        )
    )


def _build(tmp_path: Path, runtime: str = "python3.13", arch: str = "arm64") -> Path:
    """A stand-in for `make package`'s output: the zip and its manifest."""
    zip_path = tmp_path / f"resizer-0.1.0-py313-{arch}-0123456789ab.zip"
    zip_path.write_bytes(b"PK")
    manifest = {"zip": zip_path.name, "runtime": runtime, "arch": arch, "host_build": False}
    zip_path.with_name(zip_path.stem + ".manifest.json").write_text(json.dumps(manifest))
    return zip_path


def test_everything_in_place_passes(aws: Aws, endpoint: str, tmp_path: Path) -> None:
    checks = preflight(
        aws,
        zip_path=_build(tmp_path),
        root=ROOT,
        environment="dev",
        stack_name="resizer-preflight-ok",
        artifact_bucket=_bucket(endpoint, "preflight-ok", versioned=True),
        alarm_email=None,
        expect_account="123456789012",
        which=lambda tool: f"/usr/bin/{tool}",
    )
    assert [c for c in checks if not c.ok] == []
    assert {"credentials", "artifact bucket", "stack", "parameter file"} <= set(_by_name(checks))


def test_each_missing_piece_is_named_with_its_fix(aws: Aws, endpoint: str) -> None:
    checks = _by_name(
        preflight(
            aws,
            root=ROOT,
            environment="prod",
            stack_name="resizer-preflight-missing",
            artifact_bucket=_bucket(endpoint, "preflight-unversioned", versioned=False),
            alarm_email=None,
            expect_account="210987654321",
            which=lambda tool: None if tool == "jq" else f"/usr/bin/{tool}",
        )
    )
    assert checks["tool jq"] == (False, f"missing: {TOOLS['jq']}")
    assert checks["tool aws"][0]
    assert not checks["alarm e-mail"][0]
    assert "ALARM_EMAIL" in checks["alarm e-mail"][1]
    assert not checks["artifact bucket"][0]
    assert "not versioned" in checks["artifact bucket"][1]
    assert not checks["credentials"][0]
    assert "expected account 210987654321" in checks["credentials"][1]


@pytest.mark.parametrize(
    ("status", "fix"),
    [
        ("ROLLBACK_COMPLETE", "delete-stack"),
        ("CREATE_FAILED", "delete-stack"),
        ("UPDATE_IN_PROGRESS", "wait"),
        ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback"),
        ("UPDATE_ROLLBACK_COMPLETE", "updates it"),
    ],
)
def test_a_stack_that_cannot_be_deployed_to_is_named(status: str, fix: str) -> None:
    from types import SimpleNamespace

    from resizer_tools.ops.preflight import _stack_state

    stacks = {"Stacks": [{"StackStatus": status}]}
    fake = SimpleNamespace(cloudformation=SimpleNamespace(describe_stacks=lambda **_: stacks))
    check = _stack_state(fake, "resizer-dev")  # type: ignore[arg-type]
    assert check.ok is (status == "UPDATE_ROLLBACK_COMPLETE")
    assert status in check.detail
    assert fix in check.detail


def test_an_existing_stack_is_updated(aws: Aws, endpoint: str) -> None:
    aws.cloudformation.create_stack(
        StackName="resizer-preflight-failed",
        TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}',
    )
    stacks = aws.cloudformation.describe_stacks(StackName="resizer-preflight-failed")
    assert stacks["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    checks = _dev(aws, "resizer-preflight-failed")
    assert checks["stack"][0]  # an existing, healthy stack is updated
    assert not checks["artifact bucket"][0]
    assert "ARTIFACT_BUCKET" in checks["artifact bucket"][1]


def test_the_command_prints_json_and_exits_1_when_something_is_missing(aws: Aws) -> None:
    result = CliRunner().invoke(
        app, ["preflight", "--env", "dev", "--json"], env={"ARTIFACT_BUCKET": ""}
    )
    assert result.exit_code == 1
    checks = json.loads(result.stdout)
    assert {"name", "ok", "detail"} == set(checks[0])
    assert any(c["name"] == "artifact bucket" and not c["ok"] for c in checks)


def _iam(endpoint: str) -> Any:
    return boto3.client("iam", region_name=REGION, endpoint_url=endpoint)


def test_a_named_permissions_boundary_must_exist(aws: Aws, endpoint: str, tmp_path: Path) -> None:
    """Issue 18 item 1: a boundary only deploy-roles.yaml creates, and preflight said ok."""
    name = "resizer-dev-function-boundary"
    stack, build = "resizer-preflight-boundary", _build(tmp_path)
    missing = _dev(aws, stack, zip_path=build, overrides={"FunctionPermissionsBoundary": name})
    assert missing["permissions boundary"][0] is False
    assert "deploy infra/deploy-roles.yaml first" in missing["permissions boundary"][1]
    none = _dev(aws, stack, zip_path=build)  # the parameter files leave it empty
    assert none["permissions boundary"][0]
    assert "none" in none["permissions boundary"][1]
    _iam(endpoint).create_policy(
        PolicyName=name,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    present = _dev(aws, stack, zip_path=build, overrides={"FunctionPermissionsBoundary": name})
    assert present["permissions boundary"] == (True, f"managed policy {name} exists")


def test_the_builds_runtime_and_architecture_must_match_the_parameters(tmp_path: Path) -> None:
    """Issue 18 item 5: nothing checked the parameter file's Architecture against the zip."""
    x86 = _build(tmp_path, arch="x86_64")
    wrong = _dev(None, zip_path=x86)
    assert wrong["build"][0] is False
    assert "python3.13/x86_64, the parameters say python3.13/arm64" in wrong["build"][1]
    right = _dev(None, zip_path=x86, overrides={"Architecture": "x86_64"})
    assert right["build"][0]
    assert not _dev(None, zip_path=tmp_path / "none.zip")["build"][0]


def test_a_cdn_certificate_outside_us_east_1_is_named(tmp_path: Path) -> None:
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0f2c3d4e-1111-2222-3333-444455556666"
    checks = _dev(
        None,
        zip_path=_build(tmp_path),
        overrides={"Cdn": "true", "CdnAliases": "img.example.com", "CdnCertificateArn": arn},
    )
    assert checks["CDN certificate"][0] is False
    assert "CloudFront needs us-east-1" in checks["CDN certificate"][1]


def test_an_own_source_bucket_in_another_region_is_named(
    aws: Aws, endpoint: str, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    s3.create_bucket(
        Bucket="preflight-uploads-eu",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    checks = _dev(
        aws, zip_path=_build(tmp_path), overrides={"ExistingSourceBucket": "preflight-uploads-eu"}
    )
    assert checks["source bucket"][0] is False
    assert "--region eu-west-1" in checks["source bucket"][1]


def test_a_reviewed_change_set_of_a_new_stack_is_named(aws: Aws) -> None:
    """Issue 18 item 5: REVIEW=1 on a new stack left REVIEW_IN_PROGRESS; preflight said
    "wait for it to finish", which it never does."""
    aws.cloudformation.create_change_set(
        StackName="resizer-preflight-review",
        ChangeSetName="deploy-20260101000000",
        ChangeSetType="CREATE",
        TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}',
    )
    checks = _dev(aws, "resizer-preflight-review")
    ok, detail = checks["stack"]
    assert ok
    assert "REVIEW_IN_PROGRESS: change set deploy-20260101000000 is pending" in detail
    assert "EXECUTE=deploy-20260101000000 scripts/aws_cli_deploy.sh" in detail


def test_the_template_is_held_to_the_s3_limit_not_the_bodys(tmp_path: Path) -> None:
    """Every deploy sends the template by URL: 1,000,000 bytes from S3, where a body
    stops at 51,200 (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html)."""
    shutil.copytree(ROOT / "infra", tmp_path / "infra")
    template = tmp_path / "infra" / "template.yaml"
    original = template.read_text(encoding="utf-8")

    def size_check(padding: int) -> tuple[bool, str]:
        template.write_text(original + "#" + "x" * padding + "\n", encoding="utf-8")
        checks = preflight(
            None,
            root=tmp_path,
            environment="dev",
            stack_name="resizer-dev",
            artifact_bucket=None,
            alarm_email=None,
            zip_path=_build(tmp_path),
        )
        return _by_name(checks)["template size"]

    ok, detail = size_check(TEMPLATE_S3_LIMIT // 2)  # far over a body's 51,200
    assert ok, detail
    assert "--template-url" in detail
    room = TEMPLATE_S3_LIMIT - len(original.encode()) - 2  # the padding's "#" and newline
    assert size_check(room)[0]  # exactly the limit
    ok, detail = size_check(room + 1)
    assert not ok, detail
    assert f"{TEMPLATE_S3_LIMIT:,}" in detail
