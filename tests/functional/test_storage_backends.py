"""The two storage backends agree: the pipeline on S3Storage (moto) and on
InMemoryStorage writes the same keys, bytes, metadata and headers, and fails the same
way. What the fast unit tests prove on the fake therefore holds for S3."""

from __future__ import annotations

from typing import Any

import pytest
from emulated_aws import Stack
from images import encode, jpeg, picture

from resizer.config import Settings, parse_renditions
from resizer.errors import ImageTooLargeError, SourceGoneError, TransientError
from resizer.layout import rendition_key
from resizer.memory_storage import InMemoryStorage
from resizer.notifications import Action, ObjectChange
from resizer.pipeline import Pipeline, Result
from resizer.storage import S3Storage

RENDITIONS = parse_renditions("big=300x300,small=40x40")


def backends(stack: Stack, **settings: Any) -> tuple[S3Storage, InMemoryStorage]:
    config = Settings(destination_bucket=stack.destination, renditions=RENDITIONS, **settings)
    return S3Storage(stack.s3, config), InMemoryStorage(config)


def s3_object(stack: Stack, key: str) -> dict[str, Any]:
    got = stack.s3.get_object(Bucket=stack.destination, Key=key)
    return {
        "data": got["Body"].read(),
        "etag": got["ETag"].strip('"'),
        "content_type": got["ContentType"],
        "metadata": got["Metadata"],
        "cache_control": got.get("CacheControl", ""),
        "content_disposition": got.get("ContentDisposition"),
    }


@pytest.mark.parametrize(
    ("key", "data"),
    [
        ("photos/cat.jpg", jpeg(400, 300)),
        # Converted (BMP -> JPEG): a Content-Disposition; a non-ASCII key, URL-encoded.
        ("été/photo 1.bmp", encode(picture(120, 90), "BMP")),
    ],
)
def test_both_backends_write_the_same_renditions(stack: Stack, key: str, data: bytes) -> None:
    s3, memory = backends(stack)
    assert stack.put(key, data) == memory.upload(stack.source, key, data)  # S3's ETag
    outcomes = [
        Pipeline(backend.settings, backend).handle(ObjectChange(Action.RENDER, stack.source, key))
        for backend in (s3, memory)
    ]
    assert outcomes[0].kind is Result.RENDERED
    assert [(o.kind, o.bytes_in, o.bytes_out, o.renditions) for o in outcomes[1:]] == [
        (o.kind, o.bytes_in, o.bytes_out, o.renditions) for o in outcomes[:1]
    ]
    for rendition in RENDITIONS:
        written = memory.renditions(key)[rendition.name]
        assert s3_object(stack, rendition_key(key, rendition.name)) == {
            "data": written.data,
            "etag": written.etag,
            "content_type": written.content_type,
            "metadata": written.metadata,
            "cache_control": written.cache_control,
            "content_disposition": written.content_disposition,
        }

    stack.s3.delete_object(Bucket=stack.source, Key=key)
    memory.remove(stack.source, key)
    for backend in (s3, memory):
        removal = ObjectChange(Action.REMOVE, stack.source, key)
        assert Pipeline(backend.settings, backend).handle(removal).kind is Result.REMOVED
    assert stack.s3.list_objects_v2(Bucket=stack.destination).get("KeyCount") == 0
    assert memory.renditions(key) == {}


def test_both_backends_refuse_the_same_way(stack: Stack) -> None:
    data = jpeg(64, 48)
    s3, memory = backends(stack, max_input_bytes=len(data) - 1)
    stack.put("big.jpg", data)
    memory.upload(stack.source, "big.jpg", data)
    errors = []
    for backend in (s3, memory):
        assert backend.source_etag(stack.source, "missing.jpg") is None
        with pytest.raises(SourceGoneError) as gone:
            backend.fetch(stack.source, "missing.jpg")
        with pytest.raises(ImageTooLargeError) as large:
            backend.fetch(stack.source, "big.jpg")
        errors.append((gone.value.reason, large.value.reason))
    assert errors[0] == errors[1]


def test_s3_deletions_it_could_not_make_are_transient(stack: Stack) -> None:
    """DeleteObjects answers 200 with per-key errors; those must not pass for done."""
    s3, _ = backends(stack)

    def refuse(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Errors"] = [{"Key": "small/x.jpg", "Code": "AccessDenied", "Message": "no"}]

    stack.s3.meta.events.register("after-call.s3.DeleteObjects", refuse)
    with pytest.raises(TransientError, match=r"could not delete 1 of 2 .*AccessDenied"):
        s3.delete_renditions("x.jpg")
