"""Object keys through the handler on emulated AWS, on both paths of the queue.

Bring your own bucket (ExistingSourceBucket): the bucket's EventBridge delivery is on,
a rule on the default bus matches its Object Created/Deleted events and targets the
queue, as the template wires it; moto's S3 emits the events and moto's EventBridge
routes them, so the envelope the handler reads is one the emulator produced (moto
writes the key as is, as the recorded AWS events do: issue 18). The S3-notification
path (the created bucket) must still decode its URL-encoded keys.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from emulated_aws import REGION, Stack, build_stack, lambda_context
from images import jpeg

from resizer import handler

AWKWARD_KEYS = ["a b+c%.jpg", "x:y=1 (2).jpg", "été/ü.jpg"]
RENDITIONS = ("large", "medium", "thumbnails")


@pytest.fixture
def byob(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The stack with its source bucket reached through EventBridge only."""
    stack = build_stack(monkeypatch, endpoint)
    # The documented one-time step on the bucket (and no S3 notification to the queue).
    stack.s3.put_bucket_notification_configuration(
        Bucket=stack.source, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    events = boto3.client("events", region_name=REGION, endpoint_url=endpoint)
    rule = f"rule-{stack.source}"
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps(
            {
                "source": ["aws.s3"],
                "detail-type": ["Object Created", "Object Deleted"],
                "detail": {"bucket": {"name": [stack.source]}},
            }
        ),
    )
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": stack.queue_arn}])
    monkeypatch.setenv("SOURCE_BUCKET", stack.source)
    handler.runtime.cache_clear()
    yield stack
    events.remove_targets(Rule=rule, Ids=["queue"])
    events.delete_rule(Name=rule)
    handler.runtime.cache_clear()


def _receive(stack: Stack, count: int) -> list[dict[str, Any]]:
    """``count`` messages, taken off the queue at once (as the event source mapping does
    after a batch succeeds; every test here expects success). Left in flight, a message
    comes back after the test queue's 1 s visibility timeout and a later receive in the
    same test would get it twice (a CI run under load did)."""
    deadline = time.monotonic() + 10
    messages: list[dict[str, Any]] = []
    while len(messages) < count and time.monotonic() < deadline:
        batch = stack.receive(wait=1)
        for m in batch:  # at once: a batch left in flight meanwhile would come back
            stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"])
        messages += batch
    return messages


def _invoke(stack: Stack, messages: list[dict[str, Any]]) -> dict[str, Any]:
    response: dict[str, Any] = handler.lambda_handler(
        stack.lambda_event(messages), lambda_context()
    )
    return response


def _key_forms(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The handler's "EventBridge key form" log lines, with their fields."""
    return [
        vars(record)
        for record in caplog.records
        if record.name == "resizer" and record.getMessage() == "EventBridge key form"
    ]


def _rendered(stack: Stack) -> set[str]:
    listed = stack.s3.list_objects_v2(Bucket=stack.destination).get("Contents", [])
    return {o["Key"] for o in listed if not o["Key"].startswith("manifests/")}


def test_own_bucket_keys_are_used_as_they_arrive(byob: Stack) -> None:
    for key in AWKWARD_KEYS:
        byob.put(key, jpeg())
    messages = _receive(byob, len(AWKWARD_KEYS))
    envelopes = [json.loads(m["Body"]) for m in messages]
    assert {e["detail-type"] for e in envelopes} == {"Object Created"}
    assert sorted(e["detail"]["object"]["key"] for e in envelopes) == sorted(AWKWARD_KEYS)

    assert _invoke(byob, messages) == {"batchItemFailures": []}

    assert _rendered(byob) == {f"{r}/{key}" for r in RENDITIONS for key in AWKWARD_KEYS}
    assert byob.receive(byob.dlq_url, wait=0) == []


def test_own_bucket_deletion_removes_the_renditions_of_the_raw_key(byob: Stack) -> None:
    key = AWKWARD_KEYS[0]
    byob.put(key, jpeg())
    assert _invoke(byob, _receive(byob, 1)) == {"batchItemFailures": []}
    byob.s3.delete_object(Bucket=byob.source, Key=key)
    (message,) = _receive(byob, 1)
    assert json.loads(message["Body"])["detail-type"] == "Object Deleted"
    assert _invoke(byob, [message]) == {"batchItemFailures": []}
    assert _rendered(byob) == set()


def test_an_encoded_eventbridge_key_falls_back_to_its_decoded_form(
    byob: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Should AWS ever URL-encode EventBridge keys: the object is found, and the log says
    which form matched."""
    key = "a b+c%.jpg"
    byob.s3.put_object(Bucket=byob.source, Key=key, Body=jpeg())
    (real,) = _receive(byob, 1)
    envelope = json.loads(real["Body"])
    envelope["detail"]["object"]["key"] = "a+b%2Bc%25.jpg"
    byob.sqs.send_message(QueueUrl=byob.queue_url, MessageBody=json.dumps(envelope))
    messages = _receive(byob, 1)
    caplog.clear()

    assert _invoke(byob, messages) == {"batchItemFailures": []}

    assert _rendered(byob) == {f"{r}/{key}" for r in RENDITIONS}
    (logged,) = _key_forms(caplog)
    assert (logged["key_form"], logged["key"], logged["key_as_received"]) == (
        "decoded",
        key,
        "a+b%2Bc%25.jpg",
    )


def test_a_raw_key_that_decoding_would_change_logs_raw(
    byob: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The first-deploy check: upload ``a b+c%.jpg``, the log says ``key_form`` raw."""
    byob.put("a b+c%.jpg", jpeg())
    messages = _receive(byob, 1)
    caplog.clear()
    assert _invoke(byob, messages) == {"batchItemFailures": []}
    (logged,) = _key_forms(caplog)
    assert (logged["key_form"], logged["key"]) == ("raw", "a b+c%.jpg")


def test_s3_notification_keys_are_still_decoded(stack: Stack) -> None:
    for key in AWKWARD_KEYS:
        stack.put(key, jpeg())
    response, messages = stack.invoke()
    bodies = [json.loads(m["Body"]) for m in messages if "Records" in m["Body"]]
    encoded = {b["Records"][0]["s3"]["object"]["key"] for b in bodies}
    assert encoded.isdisjoint(AWKWARD_KEYS)  # moto URL-encodes them, as S3 does
    assert response == {"batchItemFailures": []}
    assert _rendered(stack) == {f"{r}/{key}" for r in RENDITIONS for key in AWKWARD_KEYS}
