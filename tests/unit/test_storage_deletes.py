"""What a removal deletes: only keys the layout gives the source's renditions, whatever
its manifest lists, and in DeleteObjects requests of at most 1,000 keys."""

from __future__ import annotations

from typing import Any, cast

import pytest

from resizer.config import Settings, parse_renditions
from resizer.errors import TransientError
from resizer.layout import manifest_key
from resizer.memory_storage import InMemoryStorage
from resizer.storage import MAX_DELETE_KEYS, S3Storage

KEY = "photos/cat.jpg"
SETTINGS = Settings(destination_bucket="renditions", renditions=parse_renditions("big=96x96"))


def listing(*keys: str) -> dict[str, Any]:
    return {"version": 1, "renditions": [{"key": key} for key in keys]}


def test_a_manifest_listing_other_objects_never_gets_them_deleted() -> None:
    storage = InMemoryStorage(SETTINGS)
    own = [
        "big/photos/cat.jpg",
        "_big/photos/cat.jpg.webp",
        "_gone/photos/cat.jpg.avif",
        "big/photos/cat.jpg.webp",  # the seed's layout, in a manifest written before the move
    ]
    foreign = [
        "big/photos/dog.jpg",  # another source's rendition
        "_big/photos/cat.webp",  # source photos/cat's WebP
        "big/photos/cat.jpg.exe",  # not a format's extension
        "_big/photos/cat.jpg.exe",
        "_big/photos/cat.jpg",
        "big/photos/cat.jpg/x",
        manifest_key(KEY),  # the manifest goes last, by delete_manifest
        "manifests/photos/cat.jpg",
        "/photos/cat.jpg",
        "photos/cat.jpg",
    ]
    for key in own + foreign:
        storage.upload("renditions", key, b"x")
    storage.delete_renditions(KEY, listing(*own, *foreign))
    left = {key for bucket, key in storage.objects if bucket == "renditions"}
    assert left == set(foreign)


class _DeletingS3:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail or set()

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        keys = [item["Key"] for item in Delete["Objects"]]
        assert len(keys) <= MAX_DELETE_KEYS, "S3 refuses more than 1,000 keys a request"
        self.batches.append(keys)
        failed = [key for key in keys if key in self.fail]
        return {"Errors": [{"Key": key, "Code": "InternalError", "Message": "x"} for key in failed]}


def test_deletions_go_in_requests_of_at_most_1000_keys() -> None:
    fake = _DeletingS3()
    own = [f"r{n}/{KEY}" for n in range(2_345)]
    S3Storage(cast(Any, fake), SETTINGS).delete_renditions(KEY, listing(*own))
    assert [len(batch) for batch in fake.batches] == [1000, 1000, 346]
    assert {key for batch in fake.batches for key in batch} == {*own, f"big/{KEY}"}


def test_a_key_left_in_any_request_is_a_transient_error() -> None:
    own = [f"r{n}/{KEY}" for n in range(1_500)]
    fake = _DeletingS3(fail={own[1_200]})
    with pytest.raises(TransientError, match="1 of 1501 object") as raised:
        S3Storage(cast(Any, fake), SETTINGS).delete_renditions(KEY, listing(*own))
    assert own[1_200] in str(raised.value)
    assert len(fake.batches) == 2  # every batch was tried
