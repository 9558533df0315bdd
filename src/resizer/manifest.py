"""The manifest of a source: ``manifests/<source key>.json`` in the destination bucket.

Written after every rendition of the source, so that its presence means the set is
complete; it lists every object written for the source, so a removal deletes exactly
those (renditions of names or formats dropped from RENDITIONS since are not
orphaned). Its shape (``version`` 1) is a user contract, in the README:

```
{"version": 1,
 "source": {"bucket", "key", "etag", "width", "height", "format", "bytes"},
 "config": "<fingerprint of the set>",
 "renditions": [{"name", "key", "format", "content_type", "width", "height", "bytes", "fit"}],
 "placeholder": {"blurhash", "color"}}
```

It is also the ``Detail`` of the "Renditions Ready" event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from resizer.config import Settings, fingerprint
from resizer.imaging import RenderSet
from resizer.layout import image_key, manifest_key, rendition_key

MANIFEST_VERSION = 1
CONTENT_TYPE = "application/json"

#: Metadata (S3 lower-cases the keys and prefixes ``x-amz-meta-``): the ETag of the
#: source a rendition or manifest was made from, and its fingerprint (config.fingerprint:
#: the rendition's, or on a manifest the set's).
META_SOURCE_ETAG = "source-etag"
META_CONFIG = "config"
#: On a manifest: "true" once its Renditions Ready event was published (or events are off).
META_ANNOUNCED = "announced"

Manifest = dict[str, Any]


class SetState(Enum):
    """What the destination holds for a source."""

    STALE = "stale"  # no manifest, or one of another source version or config: render
    UNANNOUNCED = "unannounced"  # complete and current; its Ready event not yet published
    CURRENT = "current"  # complete, current and announced: a duplicate delivery


def _made_from(metadata: Mapping[str, str] | None, source_etag: str, config: str) -> bool:
    return (
        metadata is not None
        and metadata.get(META_SOURCE_ETAG) == source_etag
        and metadata.get(META_CONFIG) == config
    )


def state(
    settings: Settings,
    source_key: str,
    source_etag: str,
    metadata_of: Callable[[str], Mapping[str, str] | None],
) -> SetState:
    """The manifest first (written last, it speaks for the set; for a new image one
    404), then each rendition's first format, smallest first, so that renditions lost
    since (deleted by hand, a lifecycle rule) are made again: each must record
    ``source_etag`` and its current fingerprint. Further formats are trusted to the
    manifest. ``metadata_of(key)`` is a HEAD's user metadata, None when missing."""
    found = metadata_of(manifest_key(source_key))
    if not _made_from(found, source_etag, fingerprint(settings)):
        return SetState.STALE
    for rendition in reversed(settings.renditions):
        head = metadata_of(rendition_key(source_key, rendition.name))
        if not _made_from(head, source_etag, fingerprint(settings, rendition)):
            return SetState.STALE
    if found is None or found.get(META_ANNOUNCED) != "true":
        return SetState.UNANNOUNCED
    return SetState.CURRENT


def metadata(manifest: Manifest, *, announced: bool) -> dict[str, str]:
    """The manifest object's metadata."""
    return {
        META_SOURCE_ETAG: str(manifest["source"]["etag"]),
        META_CONFIG: str(manifest["config"]),
        META_ANNOUNCED: "true" if announced else "false",
    }


def build(bucket: str, key: str, etag: str, rendered: RenderSet, settings: Settings) -> Manifest:
    """The manifest of a set just rendered from ``s3://bucket/key`` at ``etag``."""
    source = rendered.source
    return {
        "version": MANIFEST_VERSION,
        "source": {
            "bucket": bucket,
            "key": key,
            "etag": etag,
            "width": source.width,
            "height": source.height,
            "format": source.format,
            "bytes": source.bytes,
        },
        "config": fingerprint(settings),
        "renditions": [
            {
                "name": image.rendition.name,
                "key": image_key(image, key),
                "format": image.format,
                "content_type": image.content_type,
                "width": image.width,
                "height": image.height,
                "bytes": len(image.data),
                "fit": image.rendition.fit,
            }
            for image in rendered.images
        ],
        "placeholder": {
            "blurhash": rendered.placeholder.blurhash,
            "color": rendered.placeholder.color,
        },
    }


def encode(manifest: Manifest) -> bytes:
    return json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes) -> Manifest | None:
    """A manifest, or None for bytes that are not one (damaged, another version)."""
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION:
        return None
    return manifest


def listed_keys(manifest: Manifest) -> list[str]:
    """The keys of the renditions a manifest lists."""
    entries = manifest.get("renditions")
    if not isinstance(entries, list):
        return []
    return [e["key"] for e in entries if isinstance(e, dict) and isinstance(e.get("key"), str)]
