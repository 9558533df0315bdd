"""scripts/change_set.py against moto's CloudFormation on 127.0.0.1: prod's two halves.

create makes the change set through a service role and shows it, sending the template
by URL from the artifact bucket (moto's CloudFormation reads it from moto's S3); execute
runs only the change set that was shown, and refuses one that does not exist (yet) or
another one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import artifact_keys  # scripts/, on pytest's pythonpath
import boto3
import change_set  # scripts/, on pytest's pythonpath
import pytest
from moto.server import ThreadedMotoServer

ROLE = "arn:aws:iam::123456789012:role/resizer-deploy/resizer-prod-cloudformation"
TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"Retention": {"Type": "String", "Default": "345600"}},
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": {"Ref": "Retention"}},
        }
    },
    "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}},
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def cfn(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TF_BUILD", "True")  # the Azure logging commands too
    return boto3.client("cloudformation")


def files(tmp_path: Path, retention: str) -> list[str]:
    """The template in the artifact bucket (as publish_artifact.py puts it), the parameters."""
    body = json.dumps(TEMPLATE).encode()
    key = artifact_keys.template_key(hashlib.sha256(body).hexdigest())
    s3 = boto3.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(
            Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    s3.put_object(Bucket="artifacts", Key=key, Body=body)
    parameters = [{"ParameterKey": "Retention", "ParameterValue": retention}]
    (tmp_path / "p.json").write_text(json.dumps(parameters))
    url = artifact_keys.template_url("artifacts", "eu-west-1", key)
    return ["--template-url", url, "--parameters", str(tmp_path / "p.json")]


def create(stack: str, name: str, tmp_path: Path, retention: str) -> list[str]:
    summary = tmp_path / f"{name}.md"
    argv = ["--stack-name", stack, "--name", name, "--poll", "0.1", "create"]
    argv += [*files(tmp_path, retention), "--role-arn", ROLE, "--summary", str(summary)]
    argv += ["--description", "resizer 42 (abc)", "--tag", "environment=prod"]
    assert change_set.main(argv) == 0
    return argv


def execute(stack: str, name: str, expect: str) -> int:
    argv = ["--stack-name", stack, "--name", name, "--poll", "0.1", "execute"]
    return change_set.main([*argv, "--expect-id", expect])


def test_create_shows_the_change_set_then_execute_runs_exactly_it(
    cfn: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: dict[str, dict[str, Any]] = {}
    client = boto3.client

    def recording(*args: Any, **kwargs: Any) -> Any:
        made = client(*args, **kwargs)
        made.meta.events.register(
            "before-parameter-build.cloudformation.*",
            lambda params, model, **_: sent.__setitem__(model.name, dict(params)),
        )
        return made

    monkeypatch.setattr(change_set.boto3, "client", recording)
    create("prod-a", "resizer-1-1", tmp_path, "345600")
    out = capsys.readouterr().out
    shown = cfn.describe_change_set(StackName="prod-a", ChangeSetName="resizer-1-1")
    assert sent["CreateChangeSet"]["RoleARN"] == ROLE  # moto does not report it back
    assert "TemplateBody" not in sent["CreateChangeSet"]
    assert sent["CreateChangeSet"]["TemplateURL"].startswith("https://artifacts.s3.eu-west-1.")
    summary = (tmp_path / "resizer-1-1.md").read_text()
    assert "| Add | Queue | AWS::SQS::Queue |" in summary
    assert f"##vso[task.uploadsummary]{tmp_path / 'resizer-1-1.md'}" in out
    assert "##vso[task.setvariable variable=hasChanges;isOutput=true]true" in out
    assert f"variable=changeSetId;isOutput=true]{shown['ChangeSetId']}" in out

    assert execute("prod-a", "resizer-1-1", shown["ChangeSetId"]) == 0
    stack = cfn.describe_stacks(StackName="prod-a")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_execute_refuses_a_change_set_that_does_not_exist_yet(cfn: Any) -> None:
    with pytest.raises(SystemExit, match="does not exist"):
        execute("prod-b", "resizer-2-1", "arn:aws:cloudformation:x")


def test_execute_refuses_another_change_set_than_the_one_shown(cfn: Any, tmp_path: Path) -> None:
    create("prod-c", "resizer-3-1", tmp_path, "345600")
    shown = cfn.describe_change_set(StackName="prod-c", ChangeSetName="resizer-3-1")
    other = shown["ChangeSetId"].replace("resizer-3-1", "resizer-3-2")
    with pytest.raises(SystemExit, match="not the one shown"):
        execute("prod-c", "resizer-3-1", other)
    assert cfn.describe_stacks(StackName="prod-c")["Stacks"][0]["StackStatus"] in (
        "REVIEW_IN_PROGRESS",
        "CREATE_PENDING",
    )


def test_an_update_without_changes_is_deleted_not_shown(
    cfn: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create("prod-d", "resizer-4-1", tmp_path, "345600")
    first = cfn.describe_change_set(StackName="prod-d", ChangeSetName="resizer-4-1")
    assert execute("prod-d", "resizer-4-1", first["ChangeSetId"]) == 0
    capsys.readouterr()
    create("prod-d", "resizer-5-1", tmp_path, "345600")
    out = capsys.readouterr().out
    assert "nothing to change" in out
    assert "variable=hasChanges;isOutput=true]false" in out
    assert not (tmp_path / "resizer-5-1.md").exists()
    listed = cfn.list_change_sets(StackName="prod-d")["Summaries"]
    assert "resizer-5-1" not in [c["ChangeSetName"] for c in listed]


def test_the_summary_names_replacements_and_changed_properties() -> None:
    """A real DescribeChangeSet answer for an update (moto reports no Details)."""
    found = {
        "ChangeSetName": "resizer-6-1",
        "StackName": "resizer-prod",
        "ChangeSetId": "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/resizer-6-1/x",
        "RoleARN": ROLE,
        "Parameters": [{"ParameterKey": "MemorySize", "ParameterValue": "2048"}],
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "Version",
                    "ResourceType": "AWS::Lambda::Version",
                    "Replacement": "True",
                    "Details": [
                        {"Target": {"Attribute": "Properties", "Name": "Description"}},
                        {"Target": {"Attribute": "Properties", "Name": "Description"}},
                    ],
                },
            }
        ],
    }
    text = change_set.summary(found)
    assert "| Modify | Version | AWS::Lambda::Version | True | Description |" in text
    assert "`MemorySize=2048`" in text
