"""Event parsing, from recorded SQS events in tests/notifications/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from resizer.errors import ForeignBucketError, MalformedMessageError
from resizer.notifications import (
    Action,
    KeyForm,
    created_record,
    notification_body,
    parse_body,
    parse_record,
    require_source,
    resolve_key,
)

EVENTS = Path(__file__).parent.parent / "notifications"


def load(name: str) -> list[SQSRecord]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return [SQSRecord(record) for record in event["Records"]]


def test_real_s3_key_encoding_is_decoded() -> None:
    (record,) = load("sqs_s3_put_real.json")
    (event,) = parse_record(record)
    assert event.action is Action.RENDER
    assert event.key == "holiday/Café at night 1+1%.jpg"
    assert event.bucket == "resizer-dev-source-123456789012"
    assert event.etag == "d41d8cd98f00b204e9800998ecf8427e"
    assert event.size == 1024


def test_moto_encodes_slashes_too() -> None:
    (record,) = load("sqs_s3_put_moto.json")
    (event,) = parse_record(record)
    assert event.key == "uploads/2026/photo one.jpg"


def test_multipart_upload_keeps_its_etag() -> None:
    (record,) = load("sqs_s3_multipart.json")
    (event,) = parse_record(record)
    assert event.etag == "9b2cf535f27731c974343645a3985328-3"
    assert event.event_name == "ObjectCreated:CompleteMultipartUpload"


def test_several_records_in_one_message() -> None:
    (record,) = load("sqs_s3_two_records.json")
    events = parse_record(record)
    assert [(e.action, e.key) for e in events] == [
        (Action.RENDER, "a.jpg"),
        (Action.RENDER, "b.png"),
    ]


def test_test_event_yields_nothing() -> None:
    (record,) = load("sqs_s3_test_event.json")
    assert parse_record(record) == []


def test_removals() -> None:
    events = [event for record in load("sqs_s3_removed.json") for event in parse_record(record)]
    assert [(e.action, e.key, e.etag) for e in events] == [
        (Action.REMOVE, "holiday/old photo.jpg", ""),
        (Action.REMOVE, "holiday/versioned.jpg", ""),
    ]


@pytest.mark.parametrize("index", range(6))
def test_junk_is_a_permanent_malformed_message(index: int) -> None:
    record = load("sqs_junk.json")[index]
    with pytest.raises(MalformedMessageError) as caught:
        parse_record(record)
    assert caught.value.permanent
    assert "S3" in caught.value.reason


def test_backfill_record_round_trips_awkward_keys() -> None:
    key = "dir/ä b+c%20 d?.jpg"
    body = notification_body([created_record("bucket", key, etag="abc", size=3)])
    (event,) = parse_body(body)
    assert (event.key, event.etag, event.size, event.action) == (key, "abc", 3, Action.RENDER)


def test_only_the_source_bucket_is_accepted_when_one_is_set() -> None:
    (record,) = load("sqs_s3_put_real.json")
    (event,) = parse_record(record)
    require_source(event, "resizer-dev-source-123456789012")  # its own bucket
    require_source(event, "")  # unset: any bucket (outside Lambda)
    with pytest.raises(ForeignBucketError, match="'someone-elses-bucket'") as caught:
        require_source(event, "someone-elses-bucket")
    assert caught.value.permanent
    assert "SOURCE_BUCKET" in caught.value.reason


# --- S3 events delivered through EventBridge (ExistingSourceBucket) ---------------------


def test_eventbridge_created_and_deleted_use_the_key_as_it_arrives() -> None:
    created, deleted = (parse_record(r)[0] for r in load("sqs_eventbridge_s3.json"))
    assert (created.action, created.bucket, created.key) == (
        Action.RENDER,
        "acme-uploads",
        "holiday/Café at night 1+1%.jpg",
    )
    assert (created.etag, created.size, created.event_name) == (
        "d41d8cd98f00b204e9800998ecf8427e",
        1024,
        "Object Created",
    )
    assert (deleted.action, deleted.key, deleted.etag, deleted.size) == (
        Action.REMOVE,
        "holiday/old photo.jpg",
        "",
        None,
    )


def test_eventbridge_event_is_dead_lettered_as_the_equivalent_notification() -> None:
    """One shape in the dead-letter queue: a redrive parses it back to the same event."""
    for record in load("sqs_eventbridge_s3.json"):
        (event,) = parse_record(record)
        assert event.record is not None
        (again,) = parse_body(notification_body([event.record]))
        assert (again.action, again.bucket, again.key, again.etag, again.size) == (
            event.action,
            event.bucket,
            event.key,
            event.etag,
            event.size,
        )


def _envelope(**changes: Any) -> dict[str, Any]:
    body = json.loads(load("sqs_eventbridge_s3.json")[0].body)
    body.update(changes)
    return dict(body)


def test_eventbridge_moto_spelling_of_the_etag_is_read() -> None:
    envelope = _envelope()
    envelope["detail"]["object"] = {"key": "a b.jpg", "size": 3, "eTag": "abc"}
    (event,) = parse_body(json.dumps(envelope))
    assert (event.key, event.etag, event.size) == ("a b.jpg", "abc", 3)


#: Keys S3 notifications encode and EventBridge, by the evidence, does not (issue 18).
AWKWARD_KEYS = ["a b+c%.jpg", "x:y=1 (2).jpg", "été/ü.jpg"]


def _eventbridge(key: str, detail_type: str = "Object Created") -> dict[str, Any]:
    envelope = _envelope(**{"detail-type": detail_type})
    envelope["detail"]["object"]["key"] = key
    return envelope


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_eventbridge_keys_are_used_as_they_arrive(key: str) -> None:
    """EventBridge's ``detail.object.key`` is not URL-decoded (``+`` stays a plus)."""
    (event,) = parse_body(json.dumps(_eventbridge(key)))
    assert event.key == key
    # The dead-letter record, redriven as a notification, names the same object.
    assert event.record is not None
    (again,) = parse_body(notification_body([event.record]))
    assert again.key == key


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_s3_notification_keys_are_still_decoded(key: str) -> None:
    """S3 notifications URL-encode the key (``+`` for a space): decoded with unquote_plus."""
    record = created_record("b", key)
    assert record["s3"]["object"]["key"] != key  # really encoded on the way
    (event,) = parse_body(notification_body([record]))
    assert event.key == key


def test_s3_notification_as_s3_writes_it() -> None:
    record = created_record("b", "x")
    record["s3"]["object"]["key"] = "a+b%2Bc%25.jpg"
    (event,) = parse_body(notification_body([record]))
    assert event.key == "a b+c%.jpg"
    assert event.decoded_key == ""  # no second guess on this path


# --- resolve_key: when the raw key is missing and its decoded form exists -----------------


def _exists(*keys: str) -> tuple[list[str], Any]:
    asked: list[str] = []

    def exists(key: str) -> bool:
        asked.append(key)
        return key in keys

    return asked, exists


def test_resolve_key_keeps_the_raw_key_when_it_exists() -> None:
    (event,) = parse_body(json.dumps(_eventbridge("a+b%2Bc%25.jpg")))
    assert event.decoded_key == "a b+c%.jpg"
    asked, exists = _exists("a+b%2Bc%25.jpg", "a b+c%.jpg")
    resolved, form = resolve_key(event, exists)
    assert (resolved.key, form, asked) == ("a+b%2Bc%25.jpg", KeyForm.RAW, ["a+b%2Bc%25.jpg"])


def test_resolve_key_falls_back_to_the_decoded_form_when_only_it_exists() -> None:
    """Should AWS ever URL-encode EventBridge keys, the decoded key is the object."""
    (event,) = parse_body(json.dumps(_eventbridge("a+b%2Bc%25.jpg")))
    asked, exists = _exists("a b+c%.jpg")
    resolved, form = resolve_key(event, exists)
    assert (resolved.key, form) == ("a b+c%.jpg", KeyForm.DECODED)
    assert asked == ["a+b%2Bc%25.jpg", "a b+c%.jpg"]
    # Dead-lettered, it names the object found; etag and size are kept.
    assert resolved.record is not None
    (again,) = parse_body(notification_body([resolved.record]))
    assert (again.key, again.etag, again.size) == ("a b+c%.jpg", event.etag, event.size)


def test_resolve_key_keeps_the_raw_key_when_neither_exists() -> None:
    (event,) = parse_body(json.dumps(_eventbridge("a+b.jpg")))
    _, exists = _exists()
    resolved, form = resolve_key(event, exists)
    assert (resolved.key, form) == ("a+b.jpg", KeyForm.RAW)


@pytest.mark.parametrize("key", ["plain/photo.jpg", "x:y=1 (2).jpg", "été/ü.jpg"])
def test_resolve_key_asks_nothing_when_decoding_changes_nothing(key: str) -> None:
    (event,) = parse_body(json.dumps(_eventbridge(key)))
    asked, exists = _exists()
    assert resolve_key(event, exists) == (event, None)
    assert asked == []


def test_resolve_key_asks_nothing_for_s3_notifications() -> None:
    (event,) = parse_body(notification_body([created_record("b", "a b+c%.jpg")]))
    asked, exists = _exists()
    assert resolve_key(event, exists) == (event, None)
    assert asked == []


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        (_envelope(source="aws.ec2"), "not aws.s3"),
        (_envelope(**{"detail-type": "Object Restore Completed"}), "neither"),
        (_envelope(**{"detail-type": None}), "neither"),
        (_envelope(detail=None), "lacks"),
        (_envelope(detail={"bucket": {"name": "b"}}), "lacks"),
        (_envelope(detail={"bucket": "b", "object": {"key": "k"}}), "lacks"),
        (_envelope(detail={"bucket": {"name": "b"}, "object": {"key": ""}}), "no object key"),
        (_envelope(detail={"bucket": {"name": 7}, "object": {"key": "k"}}), "no bucket"),
        (_envelope(detail={"bucket": {"name": "b"}, "object": {"key": "k", "size": "x"}}), "lacks"),
        (_envelope(detail=["not", "a", "dict"]), "lacks"),
    ],
)
def test_eventbridge_junk_is_a_permanent_malformed_message(
    envelope: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedMessageError, match=reason) as caught:
        parse_body(json.dumps(envelope))
    assert caught.value.permanent
