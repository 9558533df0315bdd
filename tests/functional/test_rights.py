"""Issue 20 through the handler on emulated AWS: METADATA decides what the renditions
keep, and changing it changes the fingerprint, so a backfill re-renders."""

from __future__ import annotations

import io

import pytest
from emulated_aws import Stack, record_calls
from images import RIGHTS, SECRETS, rights_tagged
from PIL import Image

from resizer import handler
from resizer.events import created_record, notification_body


def redeliver(stack: Stack, key: str) -> None:
    """What `resizer backfill` sends: an ObjectCreated notification for the key."""
    record = created_record(stack.source, key)
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=notification_body([record]))


def rendition(stack: Stack, key: str) -> tuple[bytes, dict[str, str]]:
    obj = stack.s3.get_object(Bucket=stack.destination, Key=key)
    return obj["Body"].read(), obj["Metadata"]


def ifd0(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def test_metadata_modes_through_the_handler(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDITIONS", "medium=200x200:format=original+webp")
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    stack.put("shoot/harbour.jpg", rights_tagged("JPEG", orientation=6))
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []

    # The default, copyright: the rights in the JPEG and the WebP, nothing else.
    prints = {}
    for key in ("medium/shoot/harbour.jpg", "medium/shoot/harbour.jpg.webp"):
        data, metadata = rendition(stack, key)
        assert ifd0(data) == {0x013B: RIGHTS["artist"], 0x8298: RIGHTS["copyright"]}, key
        assert RIGHTS["xmp_rights"].encode() in data
        for value in SECRETS.values():
            assert value.encode() not in data, (key, value)
        prints[key] = metadata["config"]

    modes = {"all": {0x013B, 0x8298, 0x010F, 0x8769}, "none": set()}
    for mode, tags in modes.items():
        monkeypatch.setenv("METADATA", mode)
        handler.runtime.cache_clear()
        record_calls(handler.runtime())
        redeliver(stack, "shoot/harbour.jpg")
        response, _ = stack.invoke()
        assert response["batchItemFailures"] == []
        for key, before in prints.items():
            data, metadata = rendition(stack, key)
            assert metadata["config"] != before, (mode, key)  # the fingerprint changed
            prints[key] = metadata["config"]
            assert set(ifd0(data)) == tags, (mode, key)
            for value in SECRETS.values():
                assert value.encode() not in data, (mode, key, value)
        assert stack.receive(stack.dlq_url, wait=0) == []
