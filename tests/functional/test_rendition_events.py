"""Events, manifest and fingerprint on emulated AWS: the events arrive on an EventBridge
rule's SQS target; PutEvents failing is retried without losing the event; a changed
config re-renders on a backfill-style delivery, an unchanged one rewrites nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from emulated_aws import REGION, Stack, StreamedBody, record_calls
from images import png

from resizer import handler, publish


@pytest.fixture
def events(stack: Stack, endpoint: str) -> Iterator[str]:
    """A rule on the default bus matching source "resizer", its target an SQS queue."""
    client = boto3.client("events", region_name=REGION, endpoint_url=endpoint)
    name = f"watch-{uuid.uuid4().hex[:8]}"
    url = stack.sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    client.put_rule(Name=name, EventPattern=json.dumps({"source": ["resizer"]}))
    client.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    yield url
    client.remove_targets(Rule=name, Ids=["q"])
    client.delete_rule(Name=name)


def arrived(stack: Stack, url: str) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in stack.receive(url)]


def test_ready_removed_and_failed_arrive_on_the_rule_target(stack: Stack, events: str) -> None:
    stack.put("a/b.png", png(300, 200))
    stack.put("bad.jpg", b"not an image")
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    got = {e["detail-type"]: e for e in arrived(stack, events)}
    assert set(got) == {"Renditions Ready", "Rendition Failed"}
    ready = got["Renditions Ready"]
    assert ready["source"] == "resizer"
    assert ready["detail"] == stack.manifest("a/b.png")
    listed = {e["key"] for e in ready["detail"]["renditions"]}
    written = {o["Key"] for o in stack.s3.list_objects_v2(Bucket=stack.destination)["Contents"]} - {
        "manifests/a/b.png.json"
    }
    assert listed == written
    failed = got["Rendition Failed"]["detail"]
    assert (failed["bucket"], failed["key"], failed["error_type"]) == (
        stack.source,
        "bad.jpg",
        "InvalidImageError",
    )
    assert len(failed["reason"]) > 20

    stack.redeliver("a/b.png")  # a duplicate: nothing published
    stack.invoke()
    assert arrived(stack, events) == []

    stack.s3.delete_object(Bucket=stack.source, Key="a/b.png")
    stack.invoke()
    (removed,) = arrived(stack, events)
    assert removed["detail-type"] == "Renditions Removed"
    assert removed["detail"] == {"bucket": stack.source, "key": "a/b.png"}
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=stack.destination)


def _fail_put_events(times: int) -> list[int]:
    """The handler's EventBridge client answers PutEvents with a failed entry ``times``
    times (HTTP 200, FailedEntryCount 1), then passes through."""
    calls: list[int] = []

    def failing(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        calls.append(1)
        if len(calls) > times:
            return None
        body = {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
        }
        return AWSResponse(request.url, 200, {}, StreamedBody(json.dumps(body).encode()))

    client = handler.runtime().publisher.client  # type: ignore[attr-defined]
    client.meta.events.register("before-send.events.PutEvents", failing)
    return calls


def test_a_failed_entry_is_sent_again_and_the_event_arrives_once(stack: Stack, events: str) -> None:
    calls = _fail_put_events(times=1)
    stack.put("p.png", png(120, 80))
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    assert len(calls) == 2
    assert [e["detail-type"] for e in arrived(stack, events)] == ["Renditions Ready"]


def test_putevents_failing_for_good_is_retried_by_sqs_without_rendering_again(
    stack: Stack, events: str
) -> None:
    _fail_put_events(times=10)
    stack.put("p.png", png(120, 80))
    response, _ = stack.invoke()
    assert len(response["batchItemFailures"]) == 1  # transient: SQS delivers it again
    assert arrived(stack, events) == []
    before = stack.s3.head_object(Bucket=stack.destination, Key="thumbnails/p.png")
    handler.runtime.cache_clear()  # a new container: PutEvents works again
    record_calls(handler.runtime())
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    assert [e["detail-type"] for e in arrived(stack, events)] == ["Renditions Ready"]
    after = stack.s3.head_object(Bucket=stack.destination, Key="thumbnails/p.png")
    assert after["LastModified"] == before["LastModified"]  # not rendered again


def test_a_changed_config_re_renders_on_backfill_and_an_unchanged_one_does_not(
    stack: Stack, events: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.put("c.png", png(400, 300))
    stack.invoke()
    arrived(stack, events)
    first = stack.s3.head_object(Bucket=stack.destination, Key="medium/c.png")
    stack.redeliver("c.png")
    stack.invoke()
    same = stack.s3.head_object(Bucket=stack.destination, Key="medium/c.png")
    assert same["LastModified"] == first["LastModified"]
    assert arrived(stack, events) == []

    monkeypatch.setenv("RENDITIONS", "medium=200x200:format=original+webp")
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    stack.redeliver("c.png")
    stack.invoke()
    changed = stack.s3.head_object(Bucket=stack.destination, Key="medium/c.png")
    assert changed["Metadata"]["config"] != first["Metadata"]["config"]
    assert changed["Metadata"]["width"] == "200"
    assert stack.s3.head_object(Bucket=stack.destination, Key="_medium/c.png.webp")
    (ready,) = arrived(stack, events)
    assert ready["detail"]["config"] == stack.manifest("c.png")["config"]
    # Names dropped from the config stay (no --prune): large/ is still there.
    assert stack.s3.head_object(Bucket=stack.destination, Key="large/c.png")


# The emulator accepts PutEvents entries of any size; AWS refuses one of 256 KB or more
# on every retry ("The total entry size must be less than 256KB":
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html). So
# many renditions with a long key (issue 22's 288 KB manifest) must arrive slim, with
# the manifest's key and counts, while the manifest in S3 stays whole.
SLIM_NAMES = [f"r{index:02d}" for index in range(90)]


def test_a_ready_event_over_the_entry_limit_arrives_slim(
    stack: Stack, events: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 90 renditions x 3 formats = 270 objects listed, each with a ~900-byte key.
    renditions = ",".join(f"{n}=32x32:format=jpeg+webp+png" for n in SLIM_NAMES)
    monkeypatch.setenv("RENDITIONS", renditions)
    handler.runtime.cache_clear()
    key = "catalogue/" + "a-long-folder-name/" * 46 + "photo.png"
    stack.put(key, png(40, 30))
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    whole = stack.manifest(key)
    assert len(whole["renditions"]) == 270
    full_entry = {
        "Source": publish.SOURCE,
        "DetailType": publish.READY,
        "Detail": publish.encode(whole),
    }
    assert publish.entry_size(full_entry) > publish.ENTRY_LIMIT  # AWS would refuse it
    (event,) = arrived(stack, events)
    assert event["detail-type"] == publish.READY
    detail = event["detail"]
    assert detail["slim"] is True
    assert detail["manifest_key"] == f"manifests/{key}.json"
    assert detail["source"] == whole["source"]
    assert detail["config"] == whole["config"]
    assert detail["counts"] == {
        "renditions": 90,
        "objects": 270,
        "bytes": sum(entry["bytes"] for entry in whole["renditions"]),
    }
    assert len(json.dumps(detail)) < 8_000
