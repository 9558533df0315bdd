"""The documented AWS CLI deploy (docs/infrastructure.md) runs, from the docs' own script.

docs/infrastructure.md shows scripts/aws_cli_deploy.sh verbatim (checked here), and the
script runs with the real AWS CLI against the embedded emulator, the full run: upload
of a build under its content-addressed key (its version pinned), parameters with
overrides, a reviewed change set on a new stack (REVIEW=1, which leaves it
REVIEW_IN_PROGRESS), the next run creating it, then an update that changes
``Renditions`` to more than 1,000 characters: a new version, ``live`` moved.
CloudFormation checks a change set's parameters against the template's constraints;
moto does not, so this test checks them with the local stack's checker.

Before the emulator learnt the template's gaps (resizer_tools.local.moto_gaps
.install_stack_gaps), executing the change set failed with the AWS CLI's "Unable to
parse response ... invalid XML received": moto answered ExecuteChangeSet with Lambda's
JSON error of the event source mapping on the alias it could not create.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import artifact_keys  # scripts/, on pytest's pythonpath
import pytest

from resizer_tools.local.emulator import Emulator
from resizer_tools.local.parameters import check_overrides
from resizer_tools.local.template import Template
from resizer_tools.ops.aws import Aws

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "aws_cli_deploy.sh"
DOCS = ROOT / "docs" / "infrastructure.md"


@pytest.fixture
def emulator() -> Iterator[str]:
    with Emulator(0) as running:
        yield running.endpoint_url


def test_the_docs_show_the_script_verbatim() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert SCRIPT.read_text(encoding="utf-8") in blocks


def test_the_script_names_the_keys_and_url_as_artifact_keys_does() -> None:
    """The shell spells the layout of scripts/artifact_keys.py: checked line by line."""
    text = SCRIPT.read_text(encoding="utf-8")
    sha = "$(sha256sum {} | cut -d' ' -f1)"
    code_key = artifact_keys.code_key(sha.format('"$ZIP"'))
    assert f'KEY="{code_key}"' in text
    template_key = artifact_keys.template_key(sha.format("infra/template.yaml"))
    assert f'TEMPLATE_KEY="{template_key}"' in text
    url = artifact_keys.template_url("$ARTIFACTS", "$STACK_REGION", "$TEMPLATE_KEY")
    assert f'TEMPLATE_URL="{url}"' in text
    assert '--template-url "$TEMPLATE_URL"' in text
    assert "--template-body" not in text


def _build(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("resizer/handler.py", "def lambda_handler(event, context): ...\n")
    path = tmp_path / "resizer-0.1.0-py3.13-arm64-0123456789ab.zip"  # as make package names it
    path.write_bytes(buffer.getvalue())
    return path


def _longest_renditions() -> str:
    """Over 1,000 characters: 13 items of 80 (issue 18 item 6; the limit was 128)."""
    return ",".join(f"n{i:02d}" + "r" * 73 + "=1x1" for i in range(13))


# moto notes each resource type its CloudFormation skips.
@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_the_documented_recipe_deploys_into_the_emulator(emulator: str, tmp_path: Path) -> None:
    aws_cli = shutil.which("aws")
    if aws_cli is None:
        pytest.fail(
            "the AWS CLI is not on PATH: run `make tools` (make test puts .tools/bin on it)"
        )
    run = uuid.uuid4().hex[:8]
    stack, zip_path, bucket = f"resizer-docs-{run}", _build(tmp_path), f"docs-{run}"
    aws = Aws(emulator)
    aws.s3.create_bucket(Bucket=bucket)
    aws.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": emulator,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",  # --region wins
        "PYTHONWARNINGS": "ignore",  # moto's "not supported" notes go to the CLI's stderr
        "STACK": stack,
        "ARTIFACT_BUCKET": bucket,
    }

    def deploy(*overrides: str, review: bool = False) -> str:
        done = subprocess.run(
            ["bash", str(SCRIPT), "--region", "us-east-1", "dev", str(zip_path), *overrides],
            cwd=ROOT,
            env=environment | ({"REVIEW": "1"} if review else {}),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def status() -> str:
        return str(aws.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])

    reviewed = deploy("MemorySize=2048", review=True)
    assert "review done: EXECUTE=deploy-" in reviewed
    assert status() == "REVIEW_IN_PROGRESS"
    change_set = aws.cloudformation.describe_change_set(
        StackName=stack, ChangeSetName=reviewed.split("EXECUTE=")[-1].split()[0]
    )
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in change_set["Parameters"]}
    template = Template.load(ROOT / "infra" / "template.yaml")
    check_overrides(parameters, template)  # what CloudFormation checks at create-change-set
    assert parameters["MemorySize"] == "2048"  # the override replaced the file's 1024
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert parameters["CodeKey"] == artifact_keys.code_key(digest)  # as package.py names it
    # The template went to the bucket under its own hash; the change set read it from there.
    body = (ROOT / "infra" / "template.yaml").read_bytes()
    key = artifact_keys.template_key(hashlib.sha256(body).hexdigest())
    assert aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert parameters["CodeBucket"] == bucket
    stored = aws.s3.get_object(
        Bucket=bucket, Key=parameters["CodeKey"], VersionId=parameters["CodeVersion"]
    )
    assert stored["Body"].read() == zip_path.read_bytes()

    # The second run creates the stack left REVIEW_IN_PROGRESS (issue 18 item 5).
    assert "FunctionAliasArn" in deploy("MemorySize=2048")
    assert status() == "CREATE_COMPLETE"
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in aws.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    }
    function = aws.lambda_.get_function(FunctionName=outputs["FunctionName"])
    expected = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    assert function["Configuration"]["CodeSha256"] == expected
    assert function["Configuration"]["MemorySize"] == 2048
    before = aws.lambda_.get_alias(FunctionName=outputs["FunctionName"], Name="live")

    # A Renditions change of over 1,000 characters publishes a version and moves live.
    renditions = _longest_renditions()
    assert len(renditions) > 1000
    deploy("MemorySize=2048", f"Renditions={renditions}")
    assert status() == "UPDATE_COMPLETE"
    after = aws.lambda_.get_alias(FunctionName=outputs["FunctionName"], Name="live")
    assert int(after["FunctionVersion"]) > int(before["FunctionVersion"])
    live = aws.lambda_.get_function_configuration(
        FunctionName=outputs["FunctionName"], Qualifier="live"
    )
    assert live["Environment"]["Variables"]["RENDITIONS"] == renditions


def test_a_failing_resource_fails_the_stack_as_on_aws(emulator: str, tmp_path: Path) -> None:
    """ExecuteChangeSet succeeds and the stack then fails with the reason in its events;
    moto used to answer with the failing service's JSON error, which the AWS CLI cannot
    parse ("Unable to parse response ... invalid XML received")."""
    stack = f"resizer-failing-{uuid.uuid4().hex[:8]}"
    template = tmp_path / "failing.json"
    template.write_text(
        '{"Resources": {"Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties":'
        ' {"FunctionName": "no-such-function", "EventSourceArn":'
        ' "arn:aws:sqs:us-east-1:123456789012:no-such-queue"}}}}'
    )
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": emulator,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONWARNINGS": "ignore",
    }

    def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["aws", "cloudformation", *arguments, "--stack-name", stack],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    created = cli(
        "create-change-set", "--change-set-name", "c1", "--change-set-type", "CREATE",
        "--template-body", f"file://{template}",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    executed = cli("execute-change-set", "--change-set-name", "c1")
    assert executed.returncode == 0, executed.stderr
    assert "invalid XML" not in executed.stderr
    waited = cli("wait", "stack-create-complete")
    assert waited.returncode != 0  # the waiter sees the failure, as on AWS
    aws = Aws(emulator)
    described = aws.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    events = aws.cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    reasons = [e.get("ResourceStatusReason") or "" for e in events]
    assert any("Function not found" in r or "no-such-function" in r for r in reasons), reasons
