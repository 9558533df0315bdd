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
from typing import Any

from resizer.config import MANIFEST_PREFIX, Rendition, Settings, fingerprint
from resizer.imaging import RenderedImage, RenderSet

MANIFEST_VERSION = 1
CONTENT_TYPE = "application/json"

Manifest = dict[str, Any]


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
