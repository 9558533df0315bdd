"""Hand-delivered notifications: the real bodies S3 (moto) sent, in any order, any number
of times, one message per invocation or several in one batch."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulated_aws import Stack, lambda_context
from PIL import Image

from resizer import handler
from resizer.config import Settings
from resizer.errors import no_deadline
from resizer.storage import SourceObject, Storage

#: The default RENDITIONS (config.py): rendition name -> box.
BOXES = {r.name: r.box for r in Settings().renditions}


@dataclass(frozen=True)
class Notification:
    body: str
    event_name: str
    etag: str


def take_notifications(stack: Stack) -> list[Notification]:
    """Everything S3 has queued so far, in upload order (moto's queue is FIFO-ish;
    sorted by sequence to be sure), removed from the queue."""
    messages = stack.receive(wait=1)
    for m in messages:
        stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"])
    found = []
    for m in messages:
        record = json.loads(m["Body"])["Records"][0]
        found.append(
            (
                record["s3"]["object"].get("sequencer", ""),
                Notification(
                    m["Body"], record["eventName"], record["s3"]["object"].get("eTag", "")
                ),
            )
        )
    return [n for _, n in sorted(found, key=lambda pair: pair[0])]


def deliver(stack: Stack, *bodies: str, remaining_ms: int = 60_000) -> dict[str, Any]:
    """One invocation holding ``bodies`` (each its own SQS message)."""
    messages = [
        {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "-", "Body": body, "Attributes": {}}
        for body in bodies
    ]
    return dict(
        handler.lambda_handler(
            stack.lambda_event(messages), lambda_context(remaining_ms=remaining_ms)
        )
    )


def renditions(stack: Stack, key: str) -> dict[str, dict[str, Any]]:
    """name -> {etag: source-etag, size: decoded size, metadata size} for what exists."""
    found: dict[str, dict[str, Any]] = {}
    for name in BOXES:
        try:
            obj = stack.s3.get_object(Bucket=stack.destination, Key=f"{name}/{key}")
        except stack.s3.exceptions.NoSuchKey:
            continue
        with Image.open(io.BytesIO(obj["Body"].read())) as image:
            size = image.size
        metadata = obj["Metadata"]
        found[name] = {
            "etag": metadata["source-etag"],
            "size": size,
            "meta_size": (int(metadata["width"]), int(metadata["height"])),
        }
    return found


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return max(1, int(size[0] * scale + 0.5)), max(1, int(size[1] * scale + 0.5))


def assert_match(stack: Stack, key: str, etag: str, size: tuple[int, int]) -> None:
    """Every rendition exists and was made from the source with ``etag`` and ``size``."""
    found = renditions(stack, key)
    assert set(found) == set(BOXES), f"renditions of {key!r}: {sorted(found)}"
    for name, box in BOXES.items():
        assert found[name]["etag"] == etag, f"{name}/{key} made from another source"
        assert found[name]["size"] == fit(size, box) == found[name]["meta_size"], name


def clear(stack: Stack, key: str) -> None:
    for name in BOXES:
        stack.s3.delete_object(Bucket=stack.destination, Key=f"{name}/{key}")


class AfterFetch:
    """The handler's own storage, with ``action`` run after each download (while the
    render is under way): how these tests act mid-render, through the storage seam
    and without patching. Everything else goes to the wrapped storage."""

    def __init__(self, inner: Storage, action: Callable[[str, str], None]) -> None:
        self.inner = inner
        self.action = action

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def fetch(
        self, bucket: str, key: str, check_deadline: Callable[[], None] = no_deadline
    ) -> SourceObject:
        source = self.inner.fetch(bucket, key, check_deadline)
        self.action(bucket, key)
        return source


def after_fetch(action: Callable[[str, str], None]) -> Callable[[], None]:
    """Put :class:`AfterFetch` between the handler's pipeline and its S3 storage;
    returns what takes it out again."""
    pipeline = handler.runtime().pipeline
    inner = pipeline.storage
    pipeline.storage = AfterFetch(inner, action)

    def restore() -> None:
        pipeline.storage = inner

    return restore
