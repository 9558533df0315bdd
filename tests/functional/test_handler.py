"""The handler on emulated AWS: a mixed batch gives exactly the expected outcome."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from emulated_aws import Stack
from images import png
from PIL import Image

from resizer import handler
from resizer.notifications import created_record, notification_body

PHOTO = Path(__file__).parents[2] / "examples" / "photos" / "Picture_1A_by_freespace.jpg"
BOXES = {"large": 1600, "medium": 800, "thumbnails": 150}


def fit(width: int, height: int, box: int) -> tuple[int, int]:
    """Expected size: inside a box x box square, aspect kept (half up), never upscaled."""
    scale = min(1.0, box / width, box / height)
    return max(1, math.floor(width * scale + 0.5)), max(1, math.floor(height * scale + 0.5))


def assert_renditions(stack: Stack, key: str, size: tuple[int, int], content_type: str) -> None:
    for name, box in BOXES.items():
        obj = stack.s3.get_object(Bucket=stack.destination, Key=f"{name}/{key}")
        body = obj["Body"].read()
        with Image.open(io.BytesIO(body)) as image:
            assert image.size == fit(*size, box), (name, key)
        assert obj["ContentType"] == content_type
        assert obj["CacheControl"] == "public, max-age=31536000"
        assert obj["Metadata"]["width"] == str(fit(*size, box)[0])


def dlq_messages(stack: Stack) -> dict[str, dict[str, str]]:
    """SourceKey -> {attribute: value} for everything in the DLQ."""
    return {
        m["MessageAttributes"]["SourceKey"]["StringValue"]: {
            name: value["StringValue"] for name, value in m["MessageAttributes"].items()
        }
        | {"body": m["Body"]}
        for m in stack.receive(stack.dlq_url)
    }


def test_mixed_batch(stack: Stack, fail_s3_keys: Callable[[str], None]) -> None:
    photo = PHOTO.read_bytes()
    stack.put("holiday/Café at night 1+1%.jpg", photo)
    stack.put("logos/with alpha.png", png(2400, 1200, "RGBA"))
    stack.put("broken/truncated.jpg", photo[: len(photo) // 3])
    stack.put("broken/notes.jpg", b"these are my notes, not a photo")
    stack.put("flaky/photo.jpg", photo)
    fail_s3_keys("flaky")
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="garbage")

    response, messages = stack.invoke()

    # 5 uploads + the s3:TestEvent moto sends when the notification is set + garbage.
    assert len(messages) == 7
    by_key = {
        json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"]: m["MessageId"]
        for m in messages
        if "Records" in m["Body"]
    }
    assert response["batchItemFailures"] == [{"itemIdentifier": by_key["flaky%2Fphoto.jpg"]}]

    assert_renditions(stack, "holiday/Café at night 1+1%.jpg", (1365, 1074), "image/jpeg")
    assert_renditions(stack, "logos/with alpha.png", (2400, 1200), "image/png")
    listed = stack.s3.list_objects_v2(Bucket=stack.destination)["Contents"]
    # Three renditions and a manifest each; nothing for the broken and flaky ones.
    assert len(listed) == 8

    dead = dlq_messages(stack)
    assert set(dead) == {"broken/truncated.jpg", "broken/notes.jpg", "-"}
    assert dead["broken/truncated.jpg"]["ErrorType"] == "CorruptImageError"
    assert dead["broken/notes.jpg"]["ErrorType"] == "InvalidImageError"
    assert dead["-"]["ErrorType"] == "MalformedMessageError"
    assert dead["-"]["body"] == "garbage"
    for attributes in dead.values():
        assert len(attributes["ErrorReason"]) > 20  # a sentence, not a code
    # A dead-lettered record is a notification again: `dlq redrive` can replay it.
    body = json.loads(dead["broken/notes.jpg"]["body"])
    assert body["Records"][0]["s3"]["object"]["key"] == "broken%2Fnotes.jpg"

    # The flaky record is still on the queue, and succeeds once S3 behaves (a new
    # runtime has a new client, without the fault).
    handler.runtime.cache_clear()
    retried, again = stack.invoke(remaining_ms=60_000)
    assert [m["MessageId"] for m in again] == [by_key["flaky%2Fphoto.jpg"]]
    assert retried["batchItemFailures"] == []
    assert_renditions(stack, "flaky/photo.jpg", (1365, 1074), "image/jpeg")


def test_duplicate_delivery_writes_nothing_new(stack: Stack) -> None:
    etag = stack.put("a.jpg", PHOTO.read_bytes())
    stack.invoke()
    first = stack.s3.head_object(Bucket=stack.destination, Key="large/a.jpg")
    assert first["Metadata"]["source-etag"] == etag
    record = created_record(stack.source, "a.jpg", etag=etag)
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=notification_body([record]))
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    again = stack.s3.head_object(Bucket=stack.destination, Key="large/a.jpg")
    assert again["LastModified"] == first["LastModified"]
    assert again["ETag"] == first["ETag"]


def test_removal_deletes_renditions_unless_the_source_is_back(stack: Stack) -> None:
    stack.put("gone.png", png(300, 200, "RGBA"))
    stack.put("back.png", png(300, 200, "RGBA"))
    stack.invoke()
    stack.s3.delete_object(Bucket=stack.source, Key="gone.png")
    stack.s3.delete_object(Bucket=stack.source, Key="back.png")
    # back.png is re-uploaded before the removal events are processed.
    etag = stack.put("back.png", png(500, 100, "RGBA"))
    stack.invoke()
    keys = {o["Key"] for o in stack.s3.list_objects_v2(Bucket=stack.destination)["Contents"]}
    assert keys == {f"{name}/back.png" for name in BOXES} | {"manifests/back.png.json"}
    head = stack.s3.head_object(Bucket=stack.destination, Key="medium/back.png")
    assert head["Metadata"]["source-etag"] == etag
    assert (head["Metadata"]["width"], head["Metadata"]["height"]) == ("500", "100")


def test_created_event_for_a_deleted_source_is_dead_lettered(stack: Stack) -> None:
    etag = stack.put("short-lived.jpg", PHOTO.read_bytes())
    stack.s3.delete_object(Bucket=stack.source, Key="short-lived.jpg")
    stack.receive()  # drop the real events; replay only the creation
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)
    record = created_record(stack.source, "short-lived.jpg", etag=etag)
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=notification_body([record]))
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    assert dlq_messages(stack)["short-lived.jpg"]["ErrorType"] == "SourceGoneError"


def test_out_of_time_is_retried_and_writes_nothing(stack: Stack) -> None:
    stack.put("late.jpg", PHOTO.read_bytes())
    response, messages = stack.invoke(remaining_ms=5_000)  # under DEADLINE_MARGIN_MS
    late = [m["MessageId"] for m in messages if "late.jpg" in m["Body"]]
    assert response["batchItemFailures"] == [{"itemIdentifier": late[0]}]
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=stack.destination)
    assert stack.receive(stack.dlq_url, wait=0) == []


def test_an_image_too_big_for_the_functions_memory_is_dead_lettered(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "192")  # 64 MB for renders
    handler.runtime.cache_clear()
    stack.put("huge.png", png(4000, 3000, "RGBA"))  # ~108 MB to decode
    stack.put("small.png", png(400, 300, "RGBA"))
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    dead = dlq_messages(stack)
    assert set(dead) == {"huge.png"}
    assert dead["huge.png"]["ErrorType"] == "ImageTooLargeError"
    assert "MemorySize" in dead["huge.png"]["ErrorReason"]
    assert_renditions(stack, "small.png", (400, 300), "image/png")


def test_console_folder_markers_are_acknowledged_not_dead_lettered(stack: Stack) -> None:
    stack.put("albums/2026/", b"")
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    assert stack.receive(stack.dlq_url, wait=0) == []
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=stack.destination)


def test_a_record_naming_another_bucket_is_dead_lettered_and_the_rest_rendered(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_BUCKET", stack.source)
    handler.runtime.cache_clear()
    stack.put("own.jpg", PHOTO.read_bytes())
    # The foreign bucket exists and holds an image: only SOURCE_BUCKET stops it.
    stack.s3.create_bucket(Bucket="foreign-bucket")
    stack.s3.put_object(Bucket="foreign-bucket", Key="theirs.jpg", Body=PHOTO.read_bytes())
    # A forged removal would delete the renditions of a key of the real source.
    removal = created_record("foreign-bucket", "own.jpg") | {"eventName": "ObjectRemoved:Delete"}
    forged = [created_record("foreign-bucket", "theirs.jpg"), removal]
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=notification_body(forged))

    response, _ = stack.invoke()

    assert response["batchItemFailures"] == []
    dead = stack.receive(stack.dlq_url)
    assert {m["MessageAttributes"]["ErrorType"]["StringValue"] for m in dead} == {
        "ForeignBucketError"
    }
    assert len(dead) == 2
    reason = dead[0]["MessageAttributes"]["ErrorReason"]["StringValue"]
    assert "foreign-bucket" in reason
    assert "SOURCE_BUCKET" in reason
    written = [o["Key"] for o in stack.s3.list_objects_v2(Bucket=stack.destination)["Contents"]]
    assert sorted(written) == [
        "large/own.jpg",
        "manifests/own.jpg.json",
        "medium/own.jpg",
        "thumbnails/own.jpg",
    ]
