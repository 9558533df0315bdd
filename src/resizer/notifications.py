"""SQS record -> S3 notifications -> the objects to work on.

Two shapes reach the queue: S3 event notifications (``{"Records": [...]}``, from the
bucket the stack creates) and S3 events delivered through EventBridge (one envelope
per message, ``source`` ``aws.s3``, from an existing bucket: ``ExistingSourceBucket``).
S3 URL-encodes object keys in notifications (``+`` for a space, ``%2F`` for ``/``
in moto): they are decoded here with ``unquote_plus``. EventBridge's ``detail.object.key``
is used as it arrives: AWS does not document an encoding for it, and the evidence says
raw (recorded ``Object Created`` events carry raw colons, where a notification writes
``%3A``; issue 18). Since that is not documented, an EventBridge event whose key decoding
would change also carries the decoded form (:attr:`ObjectChange.decoded_key`), and
:func:`resolve_key` picks the form that names an object: the raw key when it exists, the
decoded one when only it does (docs/infrastructure.md "Bring your own source bucket").
Everything downstream sees the key of the object itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from resizer.errors import ForeignBucketError, MalformedMessageError


class Action(Enum):
    RENDER = "render"
    REMOVE = "remove"


@dataclass(frozen=True)
class ObjectChange:
    """One S3 object to render (created) or whose renditions to remove (removed)."""

    action: Action
    bucket: str
    key: str
    etag: str = ""
    size: int | None = None
    event_name: str = ""
    #: The raw notification record, kept so a failure can be dead-lettered as is.
    record: dict[str, Any] | None = None
    #: EventBridge only: ``key`` URL-decoded, when that differs from the key as it
    #: arrived ("" otherwise); :func:`resolve_key` decides which of the two is meant.
    decoded_key: str = ""


def parse_body(body: str) -> list[ObjectChange]:
    """The object changes in one SQS message body; empty for ``s3:TestEvent``.

    Raises :class:`MalformedMessageError` for anything that is not an S3 notification.
    """
    try:
        payload = json.loads(body)
    except (TypeError, ValueError):
        raise MalformedMessageError("message body is not JSON, so not an S3 notification") from None
    if not isinstance(payload, dict):
        raise MalformedMessageError("message body is not a JSON object: not an S3 notification")
    if payload.get("Event") == "s3:TestEvent":
        return []
    if "detail-type" in payload:
        return [_eventbridge_event(payload)]
    records = payload.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedMessageError("message has no 'Records': not an S3 notification")
    return [_object_event(record) for record in S3Event(payload).records]


def parse_record(record: SQSRecord) -> list[ObjectChange]:
    return parse_body(record.body)


def _object_event(record: Any) -> ObjectChange:
    try:
        name = record.event_name
        obj = record.s3.get_object
        bucket = record.s3.bucket.name
        key = unquote_plus(obj.key)
        size = int(obj["size"]) if "size" in obj else None
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MalformedMessageError(
            "S3 record lacks eventName, bucket name or object key: not an S3 notification"
        ) from None
    if name.startswith("ObjectCreated:"):
        action = Action.RENDER
    elif name.startswith("ObjectRemoved:"):
        action = Action.REMOVE
    else:
        raise MalformedMessageError(
            f"S3 event {name!r} is neither ObjectCreated nor ObjectRemoved; "
            "narrow the bucket notification to those events"
        )
    return ObjectChange(
        action=action,
        bucket=bucket,
        key=key,
        etag=obj.etag.strip('"'),
        size=size,
        event_name=name,
        record=dict(record.raw_event),
    )


#: EventBridge ``detail-type`` of S3's events -> what to do (the rule matches these two),
#: and the notification event name kept for the dead-letter queue.
EVENTBRIDGE_ACTIONS = {
    "Object Created": (Action.RENDER, "ObjectCreated:Put"),
    "Object Deleted": (Action.REMOVE, "ObjectRemoved:Delete"),
}


def _eventbridge_event(envelope: dict[str, Any]) -> ObjectChange:
    """One S3 event delivered through EventBridge (the rule's target is the queue)."""
    detail_type = envelope.get("detail-type")
    if envelope.get("source") != "aws.s3":
        raise MalformedMessageError(
            f"EventBridge event from {envelope.get('source')!r}, not aws.s3: not an S3 event"
        )
    known = EVENTBRIDGE_ACTIONS.get(str(detail_type))
    if known is None:
        raise MalformedMessageError(
            f"S3 EventBridge event {detail_type!r} is neither 'Object Created' nor "
            "'Object Deleted'; narrow the EventBridge rule to those two"
        )
    detail = envelope.get("detail")
    try:
        bucket = detail["bucket"]["name"]  # type: ignore[index]
        obj = detail["object"]  # type: ignore[index]
        raw_key = obj["key"]
        size = int(obj["size"]) if obj.get("size") is not None else None
        # S3 spells it "etag"; moto (the local emulator) "eTag".
        etag = str(obj.get("etag") or obj.get("eTag") or "")
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MalformedMessageError(
            "S3 EventBridge event lacks detail.bucket.name or detail.object.key"
        ) from None
    if not isinstance(bucket, str) or not bucket or not isinstance(raw_key, str) or not raw_key:
        raise MalformedMessageError("S3 EventBridge event names no bucket or no object key")
    action, notification_name = known
    decoded = unquote_plus(raw_key)
    etag = etag.strip('"')
    return ObjectChange(
        action=action,
        bucket=bucket,
        key=raw_key,
        etag=etag,
        size=size,
        event_name=str(detail_type),
        # Dead-lettered as the equivalent notification record: one shape to redrive.
        record=_notification_record(notification_name, bucket, raw_key, etag=etag, size=size),
        decoded_key=decoded if decoded != raw_key else "",
    )


class KeyForm(Enum):
    """Which form of an EventBridge key named the object (logged: the first-deploy check)."""

    RAW = "raw"
    DECODED = "decoded"


def resolve_key(
    event: ObjectChange, exists: Callable[[str], bool]
) -> tuple[ObjectChange, KeyForm | None]:
    """The event with the key it means, and which form that was (None: nothing to decide).

    Only an EventBridge event whose key URL-decoding would change has two candidates.
    The key as it arrived wins when ``exists`` says so, or when neither exists (the
    usual outcome then follows: SourceGoneError, or nothing to remove); the decoded form
    only when it alone exists. ``exists`` is asked about the raw key first, and about
    the decoded one only when the raw key is missing.
    """
    if not event.decoded_key:
        return event, None
    if exists(event.key) or not exists(event.decoded_key):
        return replace(event, decoded_key=""), KeyForm.RAW
    key = event.decoded_key
    _action, notification_name = EVENTBRIDGE_ACTIONS[event.event_name]
    record = _notification_record(
        notification_name, event.bucket, key, etag=event.etag, size=event.size
    )
    return replace(event, key=key, decoded_key="", record=record), KeyForm.DECODED


def require_source(event: ObjectChange, source_bucket: str) -> None:
    """Refuse an event naming a bucket other than ``source_bucket`` (empty: any bucket).

    The queue policy lets only the source bucket send, but anyone allowed to send to
    the queue could name another bucket, and a forged removal would delete renditions.
    """
    if source_bucket and event.bucket != source_bucket:
        raise ForeignBucketError(
            f"the record names bucket {event.bucket!r}, not this function's source bucket "
            f"{source_bucket!r} (SOURCE_BUCKET): refused, nothing read or written"
        )


def notification_body(records: list[dict[str, Any]]) -> str:
    """An S3 notification body holding ``records`` (for the DLQ and backfills)."""
    return json.dumps({"Records": records}, separators=(",", ":"))


def created_record(
    bucket: str, key: str, *, etag: str = "", size: int | None = None
) -> dict[str, Any]:
    """A minimal ``ObjectCreated:Put`` record, key encoded as S3 does (for backfills)."""
    return _notification_record("ObjectCreated:Put", bucket, key, etag=etag, size=size)


def _notification_record(
    event_name: str, bucket: str, key: str, *, etag: str = "", size: int | None = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "eTag": etag}
    if size is not None:
        obj["size"] = size
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": event_name,
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": obj},
    }
