"""The destination bucket's key layout: the one module that spells a key and reads it back.

::

    <name>/<source key>             a rendition's first format (the seed's layout);
                                    with format=auto, its fallback (JPEG or PNG)
    _<name>/<source key><ext>       each of its further formats (.webp, .avif, .jpg, ...);
                                    with format=auto, each candidate kept (.avif, .webp)
    manifests/<source key>.json     the source's manifest (resizer.manifest)

Injective by construction, whatever the source keys: no two (source key, rendition,
format) ever share an object key, and no rendition shares one with a manifest.

* The top-level folder says what a key is. A rendition name starts with a letter or a
  digit (:data:`RENDITION_NAME`), so it is never ``_<name>`` (a further-format folder)
  and never ``manifests`` (:data:`RESERVED_NAMES`).
* Under ``<name>/`` the rest *is* the source key.
* Under ``_<name>/`` the rest is the source key plus an extension: a dot and letters or
  digits (:data:`EXTENSION`), so the extension is the text after the rest's last dot
  and what precedes it is the source key. ``a.jpg``'s WebP (``_hero/a.jpg.webp``) and
  ``a``'s WebP (``_hero/a.webp``) and ``a.jpg.webp``'s first format
  (``hero/a.jpg.webp``) are three objects.

The seed wrote further formats to ``<name>/<source key><ext>``, where another source
whose key is ``<source key><ext>`` writes its first format (issue 22):
:func:`legacy_further` reads that layout back for ``resizer backfill --prune``, which
moves a bucket to this one.

Why a ``_`` prefix rather than, say, ``<name>.webp/``: names may contain dots, so
``hero.webp`` is a valid rendition name; ``_`` is outside the first letter of every
name, needs no escaping in S3 (one of its "safe" characters), in URLs or in shells, and
a future format adds no new reserved name.

A source key with a ``.`` or ``..`` path segment is refused (:func:`check_source_key`,
:class:`resizer.errors.UnreachableKeyError`): browsers and CDNs resolve dot segments
before they request a URL, so ``hero/x/../b.jpg`` would be fetched as ``hero/b.jpg``,
another source's rendition.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resizer.errors import KeyTooLongError, UnreachableKeyError

if TYPE_CHECKING:
    from resizer.config import Rendition, Settings
    from resizer.imaging import RenderedImage

#: The manifests' folder (a reserved rendition name).
MANIFEST_PREFIX = "manifests"
MANIFEST_SUFFIX = ".json"
#: Rendition names that would collide with other key prefixes of the destination bucket.
RESERVED_NAMES = frozenset({MANIFEST_PREFIX})
#: What a rendition name may be: its first character is never FURTHER_PREFIX.
RENDITION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: The first character of a further-format folder: ``_<name>``.
FURTHER_PREFIX = "_"
#: A further format's extension: one leading dot, then letters or digits.
EXTENSION = re.compile(r"\.[a-z0-9]+")
_LAST_EXTENSION = re.compile(r"\.[a-z0-9]+\Z")
#: S3's limit: a key is at most 1,024 bytes of UTF-8.
#: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
MAX_KEY_BYTES = 1024
_DOT_SEGMENTS = frozenset({".", ".."})


@dataclass(frozen=True, order=True)
class RenditionKey:
    """What a rendition's object key names: its source, its rendition and its format,
    as the extension a further format is written with ("" for the first format)."""

    source_key: str
    rendition: str
    extension: str = ""


def rendition_key(source_key: str, rendition: str, extension: str = "") -> str:
    """The object key of ``rendition``'s first format (``extension`` ""), or of its
    further format written with ``extension`` (``.webp``, ...)."""
    if not is_rendition_name(rendition):
        raise ValueError(f"{rendition!r} is not a rendition name")
    if not extension:
        return f"{rendition}/{source_key}"
    if not EXTENSION.fullmatch(extension):
        raise ValueError(f"{extension!r} is not an extension ('.webp', '.avif', ...)")
    return f"{FURTHER_PREFIX}{rendition}/{source_key}{extension}"


def key_of(place: RenditionKey) -> str:
    return rendition_key(place.source_key, place.rendition, place.extension)


def image_key(image: RenderedImage, source_key: str) -> str:
    """Where one rendered format is written (its ``suffix`` is "" for the first)."""
    return rendition_key(source_key, image.rendition.name, image.suffix)


def first_format_index(rendition: Rendition, count: int) -> int:
    """Where the manifest lists the object at a rendition's first-format key among its
    ``count`` objects: first, or with ``format=auto`` (whose fallback it is) last, as
    its outputs are listed smallest first, fallback last."""
    return count - 1 if rendition.auto_format else 0


def parse(key: str) -> RenditionKey | None:
    """What rendition ``key`` is, or None for a key this layout never writes (a
    manifest, or any other object)."""
    folder, slash, rest = key.partition("/")
    if not slash:
        return None
    if folder.startswith(FURTHER_PREFIX):
        name = folder[len(FURTHER_PREFIX) :]
        found = _LAST_EXTENSION.search(rest)
        if found is None or not is_rendition_name(name):
            return None
        return RenditionKey(rest[: found.start()], name, found.group())
    if not is_rendition_name(folder):
        return None
    return RenditionKey(rest, folder)


def legacy_further(key: str) -> RenditionKey | None:
    """The further format the seed's layout (``<name>/<source key><ext>``) may have
    written at ``key`` (it may as well be the first format of the source named
    ``<source key><ext>``: only a manifest can tell which)."""
    place = parse(key)
    if place is None or place.extension:
        return None
    found = _LAST_EXTENSION.search(place.source_key)
    if found is None:
        return None
    return RenditionKey(place.source_key[: found.start()], place.rendition, found.group())


def manifest_key(source_key: str) -> str:
    """``manifests/<source key>.json``."""
    return f"{MANIFEST_PREFIX}/{source_key}{MANIFEST_SUFFIX}"


def manifest_source(key: str) -> str | None:
    """The source whose manifest ``key`` is, or None for any other key."""
    prefix = MANIFEST_PREFIX + "/"
    if not key.startswith(prefix) or not key.endswith(MANIFEST_SUFFIX):
        return None
    return key[len(prefix) : -len(MANIFEST_SUFFIX)]


def manifest_folder() -> str:
    """The prefix every manifest key starts with (for listings)."""
    return MANIFEST_PREFIX + "/"


def configured_keys(settings: Settings, source_key: str) -> list[str]:
    """Every key the config may write for a source: each rendition's first format, and
    each further format with every extension it may take ("original" has several)."""
    # Imported here: resizer.config imports this module (the name rules), and
    # resizer.imaging imports resizer.config.
    from resizer.imaging import format_extensions  # noqa: PLC0415

    keys: dict[str, None] = {}
    for rendition in settings.renditions:
        keys[rendition_key(source_key, rendition.name)] = None
        for name in rendition.formats if rendition.auto_format else rendition.formats[1:]:
            for extension in format_extensions(name):
                keys[rendition_key(source_key, rendition.name, extension)] = None
    return list(keys)


def check_source_key(settings: Settings, source_key: str) -> None:
    """Raise a permanent error, before any work, for a source no rendition can have:
    a ``.``/``..`` path segment (UnreachableKeyError) or a key that leaves a rendition
    or the manifest over S3's 1,024 bytes (KeyTooLongError)."""
    dots = sorted(_DOT_SEGMENTS.intersection(source_key.split("/")))
    if dots:
        raise UnreachableKeyError(
            f"the source key {source_key!r} has a {' and a '.join(repr(d) for d in dots)} "
            "path segment: browsers and CDNs resolve those before requesting a URL, so its "
            "renditions' URLs would reach another key; rename the source without them"
        )
    keys = [*configured_keys(settings, source_key), manifest_key(source_key)]
    longest = max(len(key.encode()) for key in keys)
    if longest > MAX_KEY_BYTES:
        raise KeyTooLongError(
            f"the rendition key would be {longest:,} bytes, over S3's limit of "
            f"{MAX_KEY_BYTES:,}; shorten the source key (or the rendition names) "
            f"by {longest - MAX_KEY_BYTES:,} bytes"
        )


def is_rendition_name(name: str) -> bool:
    """Whether ``name`` may name a rendition (RENDITION_NAME, not reserved)."""
    return bool(RENDITION_NAME.fullmatch(name)) and name not in RESERVED_NAMES


def belongs_to(key: str, source_key: str) -> bool:
    """Whether ``key`` is a rendition of ``source_key`` in this layout or in the seed's
    (a manifest written before the move lists ``<name>/<source key><ext>``), with an
    extension resizer writes: a damaged or hand-edited manifest names nothing else."""
    written = ("", *_written_extensions())
    return any(
        place is not None and place.source_key == source_key and place.extension in written
        for place in (parse(key), legacy_further(key))
    )


@functools.cache
def _written_extensions() -> frozenset[str]:
    """Every extension a format resizer writes takes (.jpg, .png, .gif, .webp, .avif)."""
    # Imported here: resizer.config imports this module (the name rules), and
    # resizer.imaging imports resizer.config.
    from resizer.config import FORMATS  # noqa: PLC0415
    from resizer.imaging import format_extensions  # noqa: PLC0415

    return frozenset(extension for name in FORMATS for extension in format_extensions(name))
