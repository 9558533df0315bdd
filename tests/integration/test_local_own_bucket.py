"""``resizer local up -p ExistingSourceBucket=...``: the ready screen puts the bucket and
the one-time EventBridge step before any upload (issue 18 item 8), and following it
works: the printed commands, run with the AWS CLI against the emulator, make an upload
render through EventBridge, including a key S3 notifications would encode.
"""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from e2e import TEMPLATE, jpeg, keys, wait_for
from rich.console import Console

from resizer_tools.cli import local as local_cli
from resizer_tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

BUCKET = f"own-uploads-{uuid.uuid4().hex[:8]}"
PARAMETERS = {"ExistingSourceBucket": BUCKET}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(TEMPLATE, port=0, stack_name="resizer-own-bucket", parameters=PARAMETERS)
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _ready(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(local_cli, "console", Console(file=out, width=80, color_system=None))
    local_cli._print_ready(stack, PARAMETERS)
    return out.getvalue()


def _aws_cli(stack: LocalStack, command: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return subprocess.run(shlex.split(command), check=True, capture_output=True, timeout=60)


def test_the_ready_screen_puts_the_bucket_and_eventbridge_first(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _ready(stack, monkeypatch)
    first = text.index("First")
    assert text.index(f"s3://{BUCKET} does not exist yet") > first
    create = text.index(f"s3 mb s3://{BUCKET}")
    eventbridge = text.index("EventBridgeConfiguration")
    upload = text.index(f"s3 cp photo.jpg s3://{BUCKET}/")
    assert first < create < eventbridge < upload
    assert "Then try it" in text
    # Without the parameter: no such steps.
    out = io.StringIO()
    monkeypatch.setattr(local_cli, "console", Console(file=out, width=80, color_system=None))
    local_cli._print_ready(stack, {})
    assert "First" not in out.getvalue()


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_following_the_ready_screen_renders_an_upload(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.aws is not None
    assert stack.resources is not None
    text = _ready(stack, monkeypatch)
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("aws ")]
    steps = [c for c in commands if " s3 mb " in c or "put-bucket-notification" in c]
    assert len(steps) == 2, text
    for command in steps:
        _aws_cli(stack, command, monkeypatch)

    assert "exists" in _ready(stack, monkeypatch)
    key = "a b+c%.jpg"
    stack.aws.s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg(600, 400))
    wait_for(
        lambda: f"thumbnails/{key}" in keys(stack.aws, stack.resources.destination_bucket),
        what="the upload's renditions, through EventBridge",
    )
