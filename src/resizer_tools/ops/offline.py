"""``resizer resize``'s files: the destination bucket's layout, in a folder.

Each rendition goes where the function puts it, under the output folder instead of
the bucket (resizer.layout): the first format at ``<name>/<file>`` (a converted one,
HEIC -> JPEG, with the new extension, so the file opens), each further format at
``_<name>/<file><ext>``; then the manifest, built by the function's own
:func:`resizer.manifest.build`, at ``manifests/<file>.json``, its keys the written
files' paths relative to the folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from resizer.config import Settings
from resizer.imaging import RenderedImage, RenderSet
from resizer.layout import manifest_key, rendition_key
from resizer.manifest import build

__all__ = ["write_set"]


def write_set(
    out: Path, name: Path, source: Path, rendered: RenderSet, settings: Settings
) -> list[tuple[RenderedImage, Path]]:
    """Write ``rendered`` (from ``source``, known as ``name``) and its manifest, last."""
    written: list[tuple[RenderedImage, Path]] = []
    for image in rendered.images:
        file = name.as_posix()
        if image.converted and not image.suffix:
            # A file must carry its real type's extension to open: HEIC -> JPEG.
            file = name.with_suffix(image.extension).as_posix()
        relative = Path(rendition_key(file, image.rendition.name, image.suffix))
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(image.data)
        written.append((image, target))
    data = source.read_bytes()
    # The ETag S3 gives an object uploaded in one part: the MD5 of its bytes.
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    manifest = build("", name.as_posix(), etag, rendered, settings)
    for entry, (_, target) in zip(manifest["renditions"], written, strict=True):
        entry["key"] = target.relative_to(out).as_posix()
    path = out / manifest_key(name.as_posix())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return written
