"""`resizer preflight` on emulated AWS: each missing prerequisite named, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from emulated_aws import REGION
from typer.testing import CliRunner

from resizer_tools.cli.app import app
from resizer_tools.ops.aws import Aws
from resizer_tools.ops.preflight import TOOLS, preflight

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


def test_everything_in_place_passes(aws: Aws, endpoint: str) -> None:
    checks = preflight(
        aws,
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
    checks = _by_name(
        preflight(
            aws,
            root=ROOT,
            environment="dev",
            stack_name="resizer-preflight-failed",
            artifact_bucket=None,
            alarm_email=None,
        )
    )
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
