"""Stack operations and their commands on emulated AWS: the DLQ housekeeping, --json.

The stack is the functional harness's buckets and queues, named by the outputs of a
CloudFormation stack (as `resizer` finds every deployed stack).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from emulated_aws import REGION, Stack, build_stack
from images import jpeg
from typer.testing import CliRunner

from resizer import handler
from resizer.notifications import created_record, notification_body
from resizer_tools.cli.app import app
from resizer_tools.ops import dead_letters as dlq
from resizer_tools.ops.aws import Aws, StackResources

_OUTPUTS_TEMPLATE = """
Parameters:
  Source: {Type: String}
  Destination: {Type: String}
  Queue: {Type: String}
  DeadLetters: {Type: String}
Resources:
  Topic: {Type: "AWS::SNS::Topic"}
Outputs:
  SourceBucketName: {Value: !Ref Source}
  DestinationBucketName: {Value: !Ref Destination}
  QueueUrl: {Value: !Ref Queue}
  DeadLetterQueueUrl: {Value: !Ref DeadLetters}
  FunctionName: {Value: resizer}
"""


@pytest.fixture
def ops(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, str]]:
    """The harness's resources, and the name of a stack whose outputs point at them."""
    stack = build_stack(monkeypatch, endpoint)
    name = f"ops-{uuid.uuid4().hex[:8]}"
    boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint).create_stack(
        StackName=name,
        TemplateBody=_OUTPUTS_TEMPLATE,
        Parameters=[
            {"ParameterKey": "Source", "ParameterValue": stack.source},
            {"ParameterKey": "Destination", "ParameterValue": stack.destination},
            {"ParameterKey": "Queue", "ParameterValue": stack.queue_url},
            {"ParameterKey": "DeadLetters", "ParameterValue": stack.dlq_url},
        ],
    )
    yield stack, name
    handler.runtime.cache_clear()


def _resources(endpoint: str, name: str) -> tuple[Aws, StackResources]:
    aws = Aws(endpoint)
    return aws, aws.stack(name)


def _dead_letter(stack: Stack, key: str, error_type: str, *, source_exists: bool = True) -> str:
    if source_exists:
        stack.put(key, jpeg(64, 48))
    return str(
        stack.sqs.send_message(
            QueueUrl=stack.dlq_url,
            MessageBody=notification_body([created_record(stack.source, key)]),
            MessageAttributes={
                "ErrorType": {"DataType": "String", "StringValue": error_type},
                "ErrorReason": {"DataType": "String", "StringValue": f"{error_type} for {key}"},
                "SourceKey": {"DataType": "String", "StringValue": key},
            },
        )["MessageId"]
    )


def _peek(stack: Stack, url: str) -> list[dict[str, Any]]:
    """The messages now on a queue, looked at and left visible (VisibilityTimeout=0):
    received and left in flight, they would be missing from a look less than the
    queue's 1 s visibility timeout later."""
    seen: dict[str, dict[str, Any]] = {}
    while batch := stack.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", []):
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        seen.update((m["MessageId"], m) for m in fresh)
    return list(seen.values())


def _on_queue(stack: Stack, url: str) -> list[str]:
    """Message ids now on a queue, left visible."""
    return sorted(m["MessageId"] for m in _peek(stack, url))


def _cli(endpoint: str, name: str, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*arguments, "--endpoint", endpoint, "--stack-name", name])
    return result.exit_code, result.stdout + result.stderr


def test_a_look_leaves_every_message_visible_and_shows_each_once(
    endpoint: str, ops: tuple[Stack, str]
) -> None:
    stack, name = ops
    ids = {_dead_letter(stack, f"look/{n}.jpg", "CorruptImageError") for n in range(13)}
    aws, resources = _resources(endpoint, name)
    first = dlq.dead_letters(aws, resources)
    assert sorted(letter.message_id for letter in first) == sorted(ids)
    # Visible again at once: a consumer receives them all right after the look.
    assert {m["MessageId"] for m in stack.receive(stack.dlq_url, wait=0)} == ids


def test_the_dead_letter_queue_has_no_redrive_policy_so_a_look_moves_nothing() -> None:
    """SQS has no peek: a look raises ApproximateReceiveCount. That is harmless only
    because the DLQ itself never redrives on that count."""
    from cfn_template import load

    queue = load()["Resources"]["DeadLetterQueue"]["Properties"]
    assert "RedrivePolicy" not in queue


def test_list_filters_by_type_and_prefix_and_prints_json(
    endpoint: str, ops: tuple[Stack, str]
) -> None:
    stack, name = ops
    gone = _dead_letter(stack, "a/gone.jpg", "SourceGoneError", source_exists=False)
    _dead_letter(stack, "a/bad.jpg", "CorruptImageError")
    _dead_letter(stack, "b/bad.jpg", "CorruptImageError")
    code, out = _cli(endpoint, name, "dlq", "list", "--json", "--type", "CorruptImageError")
    assert code == 0, out
    assert sorted(d["source_key"] for d in json.loads(out)) == ["a/bad.jpg", "b/bad.jpg"]
    code, out = _cli(endpoint, name, "dlq", "list", "--json", "--key-prefix", "a/")
    listed = json.loads(out)
    assert sorted(d["source_key"] for d in listed) == ["a/bad.jpg", "a/gone.jpg"]
    entry = next(d for d in listed if d["message_id"] == gone)
    assert entry["error_type"] == "SourceGoneError"
    assert entry["event_name"] == "ObjectCreated:Put"
    assert entry["source_bucket"] == stack.source
    assert json.loads(entry["body"])["Records"][0]["s3"]["object"]["key"] == "a/gone.jpg"
    assert set(entry) == {
        "message_id",
        "source_bucket",
        "source_key",
        "event_name",
        "error_type",
        "reason",
        "sent_timestamp_ms",
        "receive_count",
        "body",
        "source_etag",
        "function_version",
    }
    code, out = _cli(endpoint, name, "dlq", "show", gone, "--json")
    assert code == 0, out
    assert json.loads(out)["reason"] == "SourceGoneError for a/gone.jpg"
    code, out = _cli(endpoint, name, "dlq", "show", "no-such-id")
    assert code == 2
    assert "no-such-id" in out


def test_delete_by_id_and_by_type_leaves_the_rest(endpoint: str, ops: tuple[Stack, str]) -> None:
    stack, name = ops
    one = _dead_letter(stack, "d/one.jpg", "CorruptImageError")
    _dead_letter(stack, "d/two.jpg", "UnsupportedFormatError")
    keep = _dead_letter(stack, "d/keep.jpg", "ImageTooLargeError")
    code, out = _cli(endpoint, name, "dlq", "delete", one)
    assert code == 0, out
    code, out = _cli(endpoint, name, "dlq", "delete", "--type", "UnsupportedFormatError")
    assert code == 0, out
    assert "deleted 1" in out
    assert [m["MessageId"] for m in stack.receive(stack.dlq_url, wait=0)] == [keep]
    code, out = _cli(endpoint, name, "dlq", "delete")
    assert code == 2  # nothing named: refuses to guess


def test_purge_asks_first(endpoint: str, ops: tuple[Stack, str]) -> None:
    stack, name = ops
    _dead_letter(stack, "p/1.jpg", "CorruptImageError")
    result = CliRunner().invoke(
        app, ["dlq", "purge", "--endpoint", endpoint, "-s", name], input="n\n"
    )
    assert result.exit_code == 2
    assert len(stack.receive(stack.dlq_url, wait=0)) == 1
    code, out = _cli(endpoint, name, "dlq", "purge", "--yes")
    assert code == 0, out
    assert stack.receive(stack.dlq_url, wait=0) == []


def test_redrive_by_type_and_never_an_entry_whose_source_is_gone(
    endpoint: str, ops: tuple[Stack, str]
) -> None:
    stack, name = ops
    fixed = _dead_letter(stack, "r/fixed.jpg", "ImageTooLargeError")
    other = _dead_letter(stack, "r/other.jpg", "CorruptImageError")
    gone = _dead_letter(stack, "r/gone.jpg", "ImageTooLargeError", source_exists=False)
    for message in stack.receive(wait=0):  # the uploads' own notifications
        stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
    code, out = _cli(endpoint, name, "dlq", "redrive", "--type", "ImageTooLargeError", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert [d["message_id"] for d in result["moved"]] == [fixed]
    assert [d["message_id"] for d in result["source_gone"]] == [gone]
    queued = _peek(stack, stack.queue_url)
    assert [json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"] for m in queued] == [
        "r/fixed.jpg"
    ]
    assert _on_queue(stack, stack.dlq_url) == sorted([other, gone])
    # Again: the gone entry is still not moved (it would only come back), until dropped.
    code, out = _cli(
        endpoint, name, "dlq", "redrive", "--type", "ImageTooLargeError", "--drop-gone"
    )
    assert code == 0, out
    assert "moved 0" in out
    assert "deleted" in out
    assert [m["MessageId"] for m in stack.receive(stack.dlq_url, wait=0)] == [other]
    main = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10)
    assert [
        json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"] for m in main["Messages"]
    ] == ["r/fixed.jpg"]


def test_a_removal_is_redriven_although_its_source_is_gone(
    endpoint: str, ops: tuple[Stack, str]
) -> None:
    stack, name = ops
    record = created_record(stack.source, "rm/x.jpg")
    record["eventName"] = "ObjectRemoved:Delete"
    stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=notification_body([record]))
    aws, resources = _resources(endpoint, name)
    result = dlq.redrive(aws, resources)
    assert len(result.moved) == 1
    assert result.source_gone == []


def test_status_json(endpoint: str, ops: tuple[Stack, str]) -> None:
    stack, name = ops
    stack.put("s/1.jpg", jpeg(64, 48))
    # Counted per rendition, every format (resizer.layout); manifests are not renditions.
    for key in ("thumbnails/s/1.jpg", "_thumbnails/s/1.jpg.webp", "manifests/s/1.jpg.json"):
        stack.s3.put_object(Bucket=stack.destination, Key=key, Body=b"x")
    _dead_letter(stack, "s/2.jpg", "CorruptImageError")
    code, out = _cli(endpoint, name, "status", "--json")
    assert code == 0, out
    document = json.loads(out)
    assert document == {
        "stack": name,
        "queued": 2,  # two uploads notified the queue
        "in_flight": 0,
        "delayed": 0,
        "dead_letters": 1,
        "dead_letters_in_flight": 0,
        "source_objects": 2,
        "renditions": {"thumbnails": 2},
    }


def test_an_endpoint_without_a_scheme_is_one_line_and_exit_2(ops: tuple[Stack, str]) -> None:
    _, name = ops
    code, out = _cli("127.0.0.1:4566", name, "status")
    assert code == 2
    assert "http://127.0.0.1:4566" in out
    assert "Traceback" not in out


def test_upload_to_a_missing_bucket_is_one_line_and_exit_2(
    endpoint: str, ops: tuple[Stack, str], tmp_path: Path
) -> None:
    """An ExistingSourceBucket stack reads a bucket it does not create: uploading before
    it exists is a classified error naming the fix, not "a bug in resizer"."""
    stack, name = ops
    for page in stack.s3.get_paginator("list_objects_v2").paginate(Bucket=stack.source):
        for item in page.get("Contents", []):
            stack.s3.delete_object(Bucket=stack.source, Key=item["Key"])
    stack.s3.delete_bucket(Bucket=stack.source)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg(64, 48))

    code, out = _cli(endpoint, name, "upload", str(photo))

    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert f"s3://{stack.source}" in lines[0]
    assert "does not exist" in lines[0]
    assert "EventBridge" in lines[0]
    assert "uploading" not in out
