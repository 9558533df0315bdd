"""End to end on the local stack: the real template, the real handler, a faithful poller."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote

import pytest
from e2e import ROOT, jpeg, renditions_of, wait_for
from PIL import Image

from resizer.notifications import created_record, notification_body
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops import dead_letters, operations
from resizer_tools.ops.aws import Aws, StackResources

pytestmark = pytest.mark.integration

ALL = ("thumbnails", "medium", "large")


def _expect_renditions(aws: Aws, stack: StackResources, key: str) -> None:
    wanted = {f"{name}/{key}" for name in ALL}
    wait_for(
        lambda: renditions_of(aws, stack, key) == wanted,
        what=f"the renditions of {key!r}",
    )


def test_stack_is_deployed_from_the_template_with_the_gaps_applied(
    local_stack: LocalStack, aws: Aws, resources: StackResources
) -> None:
    assert local_stack.deployment is not None
    applied = " ".join(local_stack.deployment.applied)
    assert "SourceBucket.NotificationConfiguration" in applied
    assert "SourceBucket.PublicAccessBlockConfiguration" in applied
    notification = aws.s3.get_bucket_notification_configuration(Bucket=resources.source_bucket)
    events = {e for q in notification["QueueConfigurations"] for e in q["Events"]}
    assert events == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    policy = aws.sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["Policy"])
    statement = json.loads(policy["Attributes"]["Policy"])["Statement"][0]
    # The policy names the deployed bucket: resolved from the same template.
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(resources.source_bucket)
    block = aws.s3.get_public_access_block(Bucket=resources.source_bucket)
    assert all(block["PublicAccessBlockConfiguration"].values())
    # The emulator's own mapping would push every message to the DLQ: it must be off.
    mappings = aws.lambda_.list_event_source_mappings()["EventSourceMappings"]
    assert mappings
    assert all(m["State"] == "Disabled" for m in mappings)
    assert local_stack.poller is not None
    config = local_stack.poller.config
    assert config.function_arn.endswith(":live")  # the mapping invokes the alias
    assert config.function_version == "1"  # which points to version 1
    assert config.report_batch_item_failures
    assert config.environment["DESTINATION_BUCKET"] == resources.destination_bucket


def test_upload_makes_renditions_that_fit_their_boxes(aws: Aws, resources: StackResources) -> None:
    key = "it/upload/a photo+1.jpg"  # a space and a plus: S3 URL-encodes keys in events
    aws.s3.put_object(Bucket=resources.source_bucket, Key=key, Body=jpeg(2400, 1800))
    _expect_renditions(aws, resources, key)
    head = aws.s3.head_object(Bucket=resources.destination_bucket, Key=f"medium/{key}")
    assert head["ContentType"] == "image/jpeg"
    assert (head["Metadata"]["width"], head["Metadata"]["height"]) == ("800", "600")
    # Metadata is ASCII-only: the handler stores the key percent-encoded.
    assert unquote(head["Metadata"]["source-key"]) == key


def test_broken_file_goes_to_the_dead_letter_queue_with_its_reason(
    aws: Aws, resources: StackResources
) -> None:
    key = "it/broken/not-an-image.jpg"
    aws.s3.put_object(Bucket=resources.source_bucket, Key=key, Body=b"this is not a JPEG")

    def letter() -> dead_letters.DeadLetter | None:
        found = dead_letters.dead_letters(aws, resources, where=dead_letters.Filter(key_prefix=key))
        return found[0] if found else None

    dead = wait_for(letter, what="the broken file on the dead-letter queue")
    assert dead.error_type in {"CorruptImageError", "UnsupportedFormatError", "InvalidImageError"}
    assert dead.reason
    assert not renditions_of(aws, resources, key)
    # Listing leaves the messages on the queue.
    assert letter() is not None


def test_delete_removes_the_renditions(aws: Aws, resources: StackResources) -> None:
    key = "it/delete/photo.jpg"
    aws.s3.put_object(Bucket=resources.source_bucket, Key=key, Body=jpeg())
    _expect_renditions(aws, resources, key)
    aws.s3.delete_object(Bucket=resources.source_bucket, Key=key)
    wait_for(lambda: not renditions_of(aws, resources, key), what="the renditions to go")


def _aws_cli() -> str:
    local = ROOT / ".tools" / "bin" / "aws"
    found = str(local) if local.exists() else shutil.which("aws")
    if not found:
        pytest.fail(
            "the AWS CLI is missing: run `make tools` (it installs .tools/bin/aws) or put "
            "`aws` on PATH; `make test` does both"
        )
    return found


def _client_environment(endpoint: str | None, home: Path) -> dict[str, str]:
    """A clean environment: dummy credentials, no user AWS config."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }
    if endpoint:
        environment["AWS_ENDPOINT_URL"] = endpoint
    return environment


def test_upload_through_the_real_aws_cli(
    local_stack: LocalStack, aws: Aws, resources: StackResources, tmp_path: Path
) -> None:
    photo = tmp_path / "cli photo.jpg"
    photo.write_bytes(jpeg(1000, 1500))
    key = "it/cli/cli photo.jpg"
    completed = subprocess.run(
        [
            _aws_cli(),
            "--endpoint-url",
            local_stack.endpoint_url,
            "s3",
            "cp",
            str(photo),
            f"s3://{resources.source_bucket}/{key}",
        ],
        env=_client_environment(None, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    _expect_renditions(aws, resources, key)


def test_a_boto3_program_given_only_the_endpoint_works(
    local_stack: LocalStack, aws: Aws, resources: StackResources, tmp_path: Path
) -> None:
    key = "it/boto3/program.jpg"
    (tmp_path / "photo.jpg").write_bytes(jpeg(900, 900))
    program = textwrap.dedent(
        f"""
        import time, boto3
        s3 = boto3.client("s3")  # no endpoint_url: AWS_ENDPOINT_URL says where
        s3.upload_file("photo.jpg", {resources.source_bucket!r}, {key!r})
        sqs = boto3.client("sqs")
        sqs.get_queue_attributes(QueueUrl={resources.queue_url!r}, AttributeNames=["All"])
        deadline = time.monotonic() + 90  # the poller and the render, on a loaded machine
        while time.monotonic() < deadline:
            listed = s3.list_objects_v2(Bucket={resources.destination_bucket!r}, Prefix="large/")
            if any(o["Key"] == "large/{key}" for o in listed.get("Contents", [])):
                print("rendition found")
                break
            time.sleep(0.1)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        env=_client_environment(local_stack.endpoint_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "rendition found" in completed.stdout


def _render_then_lose_renditions(aws: Aws, resources: StackResources, key: str) -> None:
    """Upload ``key``, wait for its renditions, then delete them (the source stays)."""
    aws.s3.put_object(Bucket=resources.source_bucket, Key=key, Body=jpeg())
    _expect_renditions(aws, resources, key)
    for name in ALL:
        aws.s3.delete_object(Bucket=resources.destination_bucket, Key=f"{name}/{key}")


def test_backfill_enqueues_existing_objects(aws: Aws, resources: StackResources) -> None:
    key = "it/backfill/old.jpg"
    # As if the renditions were lost (or new sizes configured): backfill brings them back.
    _render_then_lose_renditions(aws, resources, key)
    assert operations.backfill(aws, resources, prefix="it/backfill/") == 1
    _expect_renditions(aws, resources, key)


def test_dlq_redrive_moves_messages_back_to_the_queue(aws: Aws, resources: StackResources) -> None:
    key = "it/redrive/fixed.jpg"
    _render_then_lose_renditions(aws, resources, key)
    # A dead letter whose cause is fixed: redriving it must make the renditions.
    aws.sqs.send_message(
        QueueUrl=resources.dead_letter_queue_url,
        MessageBody=notification_body([created_record(resources.source_bucket, key)]),
    )
    before = {d.source_key for d in dead_letters.dead_letters(aws, resources)}
    assert key in before
    moved = dead_letters.redrive(aws, resources).moved
    assert len(moved) >= 1
    _expect_renditions(aws, resources, key)
    after = {d.source_key for d in dead_letters.dead_letters(aws, resources)}
    assert key not in after


def test_cli_reads_the_stack(local_stack: LocalStack, resources: StackResources) -> None:
    from typer.testing import CliRunner

    from resizer_tools.cli.app import app

    runner = CliRunner()
    endpoint = ["--endpoint", local_stack.endpoint_url, "--stack-name", resources.stack_name]
    result = runner.invoke(app, ["status", *endpoint])
    assert result.exit_code == 0, result.output
    assert "dead letters" in result.output
    assert "renditions" in result.output
    result = runner.invoke(app, ["dlq", "list", *endpoint])
    assert result.exit_code == 0, result.output
    missing = ["--endpoint", local_stack.endpoint_url, "--stack-name", "no-such-stack"]
    result = runner.invoke(app, ["status", *missing])
    assert result.exit_code == 2
    assert "no-such-stack" in result.output


def test_a_burst_of_uploads_all_get_renditions(aws: Aws, resources: StackResources) -> None:
    burst = [f"it/burst/{n:02d}.jpg" for n in range(12)]
    for key in burst:
        aws.s3.put_object(Bucket=resources.source_bucket, Key=key, Body=jpeg(600, 400))
    for key in burst:
        _expect_renditions(aws, resources, key)
    large = aws.s3.get_object(Bucket=resources.destination_bucket, Key=f"large/{burst[0]}")
    with Image.open(io.BytesIO(large["Body"].read())) as image:
        assert image.size == (600, 400)  # never upscaled


def test_cli_upload_and_offline_resize(
    local_stack: LocalStack, aws: Aws, resources: StackResources, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from resizer_tools.cli.app import app

    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "deep.jpg").write_bytes(jpeg(640, 480))
    runner = CliRunner()
    endpoint = ["--endpoint", local_stack.endpoint_url, "--stack-name", resources.stack_name]
    result = runner.invoke(app, ["upload", str(folder), "--prefix", "it/cli-upload/", *endpoint])
    assert result.exit_code == 0, result.output
    _expect_renditions(aws, resources, "it/cli-upload/sub/deep.jpg")

    out = tmp_path / "out"
    result = runner.invoke(app, ["resize", str(folder / "sub" / "deep.jpg"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out / "thumbnails" / "deep.jpg") as image:
        assert image.width == 150
        assert image.height in {112, 113}  # 480 * 150 / 640 = 112.5
    result = runner.invoke(app, ["resize", str(tmp_path / "missing.jpg"), "--out", str(out)])
    assert result.exit_code == 2  # a missing file is a usage error
