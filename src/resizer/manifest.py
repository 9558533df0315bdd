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

from resizer.config import MANIFEST_PREFIX, Rendition, Settings, fingerprint
from resizer.imaging import RenderedImage, RenderSet, format_extensions

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
        head = metadata_of(output_key(rendition, source_key))
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


def manifest_key(source_key: str) -> str:
    """``manifests/<source key>.json`` (the prefix is a reserved rendition name)."""
    return f"{MANIFEST_PREFIX}/{source_key}.json"


def output_key(rendition: Rendition | str, source_key: str) -> str:
    """Where a rendition's first format is written: ``<name>/<source key>``."""
    name = rendition.name if isinstance(rendition, Rendition) else rendition
    return f"{name}/{source_key}"


def image_key(image: RenderedImage, source_key: str) -> str:
    """Where one format of a rendition is written: its first at :func:`output_key`,
    each further one there plus its extension (``.webp``, ``.avif``, ...)."""
    return output_key(image.rendition, source_key) + image.suffix


def configured_keys(settings: Settings, source_key: str) -> list[str]:
    """Every key the config may write for a source: each rendition's first format, and
    each further format with every extension it may take ("original" has several)."""
    keys: dict[str, None] = {}
    for rendition in settings.renditions:
        first = output_key(rendition, source_key)
        keys[first] = None
        for name in rendition.formats[1:]:
            keys.update(dict.fromkeys(first + extension for extension in format_extensions(name)))
    return list(keys)


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
