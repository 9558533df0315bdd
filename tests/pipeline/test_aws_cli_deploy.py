"""The documented AWS CLI deploy (docs/infrastructure.md) runs, from the docs' own script.

docs/infrastructure.md shows scripts/aws_cli_deploy.sh verbatim (checked here), and the
script runs with the real AWS CLI against the local emulator: upload of a build under
its content-addressed key (its version pinned), parameters, change set. CloudFormation
checks a change set's parameters against the template's constraints; moto does not, so
this test checks the parameters the change set was created with, with the local
stack's checker (a 84-character CodeKey, the bug this test was written for, fails
there). moto cannot execute this template's change set (no AWS::Lambda::Alias, which
the event source mapping refers to): the script runs with REVIEW=1 (stop after showing
the change set), and the local stack's deploy, which fills moto's gaps, deploys the
template with exactly the change set's parameters.
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

import pytest

from resizer_tools.local.deploy import deploy
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


def _build(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("resizer/handler.py", "def lambda_handler(event, context): ...\n")
    path = tmp_path / "resizer-0.1.0-py3.13-arm64-0123456789ab.zip"  # as make package names it
    path.write_bytes(buffer.getvalue())
    return path


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
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONWARNINGS": "ignore",  # moto's "not supported" notes go to the CLI's stderr
        "STACK": stack,
        "ARTIFACT_BUCKET": bucket,
        "REVIEW": "1",
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), "dev", str(zip_path)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "review done" in done.stdout

    change_set = aws.cloudformation.describe_change_set(
        StackName=stack, ChangeSetName=done.stdout.split("--change-set-name ")[-1].strip()
    )
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in change_set["Parameters"]}
    template = Template.load(ROOT / "infra" / "template.yaml")
    check_overrides(parameters, template)  # what CloudFormation checks at create-change-set
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert parameters["CodeKey"] == f"resizer/{digest}.zip"  # as scripts/package.py names it
    assert parameters["CodeBucket"] == bucket
    stored = aws.s3.get_object(
        Bucket=bucket, Key=parameters["CodeKey"], VersionId=parameters["CodeVersion"]
    )
    assert stored["Body"].read() == zip_path.read_bytes()

    # Executed by the local stack's deploy, with exactly the change set's parameters.
    aws.cloudformation.delete_stack(StackName=stack)
    deployment = deploy(aws, template, stack, parameters)
    function = aws.lambda_.get_function(FunctionName=deployment.outputs["FunctionName"])
    expected = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    assert function["Configuration"]["CodeSha256"] == expected
