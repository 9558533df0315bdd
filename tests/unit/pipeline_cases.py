"""What the pipeline tests share: the source bucket, a key, three versions of one
photo, the events, and the check that the renditions are the source as it is now."""

from __future__ import annotations

from images import jpeg, png

from resizer import imaging
from resizer.config import Settings, parse_renditions
from resizer.manifest import META_SOURCE_ETAG
from resizer.memory_storage import InMemoryStorage
from resizer.notifications import Action, ObjectChange

SOURCE = "uploads"
RENDITIONS = parse_renditions("big=96x96,small=24x24")
SETTINGS = Settings(destination_bucket="renditions", renditions=RENDITIONS)
KEY = "photos/cat.jpg"
#: Three versions of one photo, of different sizes (so different ETags) and families.
VERSIONS = (jpeg(160, 120), jpeg(60, 90), png(48, 48))


def created(key: str = KEY, etag: str = "", size: int | None = 1) -> ObjectChange:
    return ObjectChange(Action.RENDER, SOURCE, key, etag=etag, size=size)


def removed(key: str = KEY) -> ObjectChange:
    return ObjectChange(Action.REMOVE, SOURCE, key)


def assert_current(storage: InMemoryStorage, key: str = KEY) -> None:
    """The renditions are exactly the source as it is now, rendered; none if it is gone."""
    source = storage.get(SOURCE, key)
    found = storage.renditions(key)
    if source is None:
        assert found == {}
        return
    expected = imaging.render(source.data, storage.settings)
    assert sorted(found) == sorted(image.rendition.name for image in expected)
    for image in expected:
        stored = found[image.rendition.name]
        assert stored.metadata[META_SOURCE_ETAG] == source.etag
        assert stored.data == image.data


def replace_once(storage: InMemoryStorage, data: bytes) -> list[str]:
    """After the next download, replace the source with ``data``; returns [its ETag]."""
    replaced: list[str] = []

    def replace(bucket: str, key: str) -> None:
        if not replaced:
            replaced.append(storage.upload(bucket, key, data))

    storage.after_fetch = replace
    return replaced


def heads(storage: InMemoryStorage) -> list[str]:
    return [key for op, _, key in storage.calls if op == "head"]
