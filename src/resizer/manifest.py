"""The manifest of a source (``manifests/<source key>.json``, resizer.layout) and the
rule of what is up to date.

Written after every rendition of the source, so that its presence means the set is
complete; it lists every object written for the source, so a removal deletes exactly
those (renditions of names or formats dropped from RENDITIONS since are not
orphaned). Its shape (``version`` 1) is a user contract, in the README:

```
{"version": 1,
 "source": {"bucket", "key", "etag", "width", "height", "format", "bytes"},
 "config": "<fingerprint of the set>",
 "renditions": [{"name", "key", "format", "content_type", "width", "height", "bytes",
                 "fit", "sha256", "quality" (lossy outputs), "score" (quality=auto),
                 "url" (with CDN_URL)}],
 "placeholder": {"blurhash", "color"}}
```

It is also the ``Detail`` of the "Renditions Ready" event.

Up to date means everything listed (:func:`plan`): a rendition is current when the
manifest is of the source as it is now and lists the rendition, every object listed
for it is where the layout puts it, exists, and records that source's ETag, the
rendition's current fingerprint and the source's key. Only the renditions that are not
current are rendered again; the new manifest lists the current ones as they were
(their objects untouched) and the new ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import quote

from resizer import layout
from resizer.config import Rendition, Settings, fingerprint
from resizer.imaging import RenderSet

MANIFEST_VERSION = 1
CONTENT_TYPE = "application/json"

#: Metadata (S3 lower-cases the keys and prefixes ``x-amz-meta-``): the ETag of the
#: source a rendition or manifest was made from, and its fingerprint (config.fingerprint:
#: the rendition's, or on a manifest the set's); on a rendition, the source's key
#: URL-encoded (:func:`encoded_source_key`; left out when too long for metadata).
META_SOURCE_ETAG = "source-etag"
META_CONFIG = "config"
META_SOURCE_KEY = "source-key"
#: On a manifest: "true" once its Renditions Ready event was published (or events are off).
META_ANNOUNCED = "announced"
#: Hex digits of an entry's sha256 in its CDN URL's ``?v=``.
URL_VERSION_DIGITS = 12

Manifest = dict[str, Any]
Entry = dict[str, Any]


class SetState(Enum):
    """What the destination holds for a source."""

    STALE = "stale"  # something is missing or out of date: render (Plan.stale) or rewrite
    UNANNOUNCED = "unannounced"  # complete and current; its Ready event not yet published
    CURRENT = "current"  # complete, current and announced: a duplicate delivery


@dataclass(frozen=True)
class Plan:
    """What to do for a source: render ``stale`` (none: only write a new manifest),
    listing ``kept`` (the current renditions' entries) beside them. ``manifest`` is the
    one found (to announce when UNANNOUNCED, to rewrite when nothing is stale)."""

    state: SetState
    manifest: Manifest | None = None
    stale: tuple[Rendition, ...] = ()
    kept: tuple[Entry, ...] = field(default=())


def encoded_source_key(source_key: str) -> str:
    """The source key as rendition metadata records it (ASCII: URL-encoded)."""
    return quote(source_key, safe="/")


def entries(manifest: Manifest) -> list[Entry]:
    """The manifest's rendition entries that have a key."""
    found = manifest.get("renditions")
    if not isinstance(found, list):
        return []
    return [e for e in found if isinstance(e, dict) and isinstance(e.get("key"), str)]


def listed_keys(manifest: Manifest) -> list[str]:
    """The keys of the renditions a manifest lists."""
    return [entry["key"] for entry in entries(manifest)]


def _of_source(manifest: Manifest | None, found: Mapping[str, str] | None, etag: str) -> bool:
    return (
        manifest is not None
        and found is not None
        and found.get(META_SOURCE_ETAG) == etag
        and isinstance(manifest.get("source"), dict)
        and manifest["source"].get("etag") == etag
    )


def keys_to_check(
    settings: Settings, manifest: Manifest, found: Mapping[str, str], source_etag: str
) -> list[str]:
    """The objects :func:`plan` needs a HEAD of: those the manifest lists for a
    configured rendition (none when the manifest is of another source version)."""
    if not _of_source(manifest, found, source_etag):
        return []
    names = {rendition.name for rendition in settings.renditions}
    return list(dict.fromkeys(e["key"] for e in entries(manifest) if e.get("name") in names))


def plan(
    settings: Settings,
    source_key: str,
    source_etag: str,
    *,
    manifest: Manifest | None,
    found: Mapping[str, str] | None,
    heads: Mapping[str, Mapping[str, str] | None],
) -> Plan:
    """What is up to date (the module's rule), from the manifest (``found``: its
    metadata; None when there is none) and the HEADs (user metadata, None when missing)
    of the objects :func:`keys_to_check` named."""
    if manifest is None or not _of_source(manifest, found, source_etag):
        return Plan(SetState.STALE, stale=settings.renditions)
    listed: dict[str, list[Entry]] = {}
    for entry in entries(manifest):
        listed.setdefault(str(entry.get("name")), []).append(entry)
    kept: list[Entry] = []
    stale: list[Rendition] = []
    for rendition in settings.renditions:
        mine = listed.get(rendition.name, [])
        config = fingerprint(settings, rendition)
        if (
            mine
            and _first_format_placed(rendition, mine)
            and all(
                _current(
                    entry, source_key, source_etag, config=config, head=heads.get(entry["key"])
                )
                for entry in mine
            )
        ):
            kept += mine
        else:
            stale.append(rendition)
    if stale or rewritten(manifest, kept, settings) != manifest:
        return Plan(SetState.STALE, manifest, tuple(stale), tuple(kept))
    announced = found is not None and found.get(META_ANNOUNCED) == "true"
    return Plan(SetState.CURRENT if announced else SetState.UNANNOUNCED, manifest, (), tuple(kept))


def _first_format_placed(rendition: Rendition, mine: Sequence[Entry]) -> bool:
    """Exactly one of a rendition's entries is at its first-format key, listed where
    ``layout.first_format_index`` puts it."""
    firsts = [n for n, entry in enumerate(mine) if _first_key(entry)]
    return firsts == [layout.first_format_index(rendition, len(mine))]


def _first_key(entry: Entry) -> bool:
    place = layout.parse(entry["key"])
    return place is not None and place.extension == ""


def _current(
    entry: Entry,
    source_key: str,
    source_etag: str,
    *,
    config: str,
    head: Mapping[str, str] | None,
) -> bool:
    """One listed object: where the layout puts it, with a digest, present, and made
    from this source at ``source_etag`` with ``config``."""
    place = layout.parse(entry["key"])
    return (
        place is not None
        and (place.source_key, place.rendition) == (source_key, entry.get("name"))
        and isinstance(entry.get("sha256"), str)
        and head is not None
        and head.get(META_SOURCE_ETAG) == source_etag
        and head.get(META_CONFIG) == config
        and head.get(META_SOURCE_KEY, encoded_source_key(source_key))
        == encoded_source_key(source_key)
    )


def metadata(manifest: Manifest, *, announced: bool) -> dict[str, str]:
    """The manifest object's metadata."""
    return {
        META_SOURCE_ETAG: str(manifest["source"]["etag"]),
        META_CONFIG: str(manifest["config"]),
        META_ANNOUNCED: "true" if announced else "false",
    }


def build(
    bucket: str,
    key: str,
    etag: str,
    rendered: RenderSet,
    settings: Settings,
    *,
    kept: Sequence[Entry] = (),
) -> Manifest:
    """The manifest of a set rendered from ``s3://bucket/key`` at ``etag``: the images
    just rendered and the ``kept`` entries of renditions still current, in the config's
    order (``settings`` is the whole config, not only what was rendered)."""
    source = rendered.source
    made = [
        {
            "name": image.rendition.name,
            "key": layout.image_key(image, key),
            "format": image.format,
            "content_type": image.content_type,
            "width": image.width,
            "height": image.height,
            "bytes": len(image.data),
            "fit": image.rendition.fit,
            "sha256": hashlib.sha256(image.data).hexdigest(),
            **({} if image.quality is None else {"quality": image.quality}),
            **({} if image.score is None else {"score": round(image.score, 1)}),
        }
        for image in rendered.images
    ]
    manifest = {
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
        "config": "",
        "renditions": [],
        "placeholder": {
            "blurhash": rendered.placeholder.blurhash,
            "color": rendered.placeholder.color,
        },
    }
    return rewritten(manifest, [*kept, *made], settings)


def rewritten(manifest: Manifest, listed: Sequence[Entry], settings: Settings) -> Manifest:
    """``manifest`` listing ``listed`` (in the config's order; entries of renditions no
    longer configured left out), with the current config's fingerprint and CDN URLs."""
    order = {rendition.name: n for n, rendition in enumerate(settings.renditions)}
    chosen = sorted(
        (entry for entry in listed if entry.get("name") in order),
        key=lambda entry: order[entry["name"]],  # stable: a rendition's formats in order
    )
    return {
        **manifest,
        "config": fingerprint(settings),
        "renditions": [_with_url(entry, settings.cdn_url) for entry in chosen],
    }


def _with_url(entry: Entry, cdn_url: str) -> Entry:
    """The entry with ``url`` = ``<CDN_URL>/<key URL-quoted>?v=<12 hex of sha256>`` when
    CDN_URL is set (new bytes, new URL), without one when it is not."""
    entry = {name: value for name, value in entry.items() if name != "url"}
    if cdn_url and isinstance(entry.get("sha256"), str):
        version = entry["sha256"][:URL_VERSION_DIGITS]
        entry["url"] = f"{cdn_url.rstrip('/')}/{quote(entry['key'], safe='/')}?v={version}"
    return entry


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
