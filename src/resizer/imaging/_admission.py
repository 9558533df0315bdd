"""Open a source under its memory reservation: nothing is decoded before it is admitted.

The order matters. Limits first (MAX_INPUT_BYTES, MAX_INPUT_FRAMES, MAX_INPUT_PIXELS,
from the bytes and the header), then the reservation of the render's estimated peak
from the shared budget, and only then anything that decodes pixels: a TIFF's load, a
PNG's EXIF (Pillow decodes the whole PNG to find an eXIf chunk after the pixels),
every frame of an animation. WebP is reserved even before Pillow opens it, since
libwebp allocates its canvases at open. The estimate covers the encodes too: every
rendition held until the last is encoded, and the largest encoder's buffers (an
AVIF rendition needs several times its pixels: _memory.ENCODER_BYTES_PER_PIXEL).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PIL import Image

from resizer.config import Settings
from resizer.errors import no_deadline
from resizer.imaging import _crop, _frames, _gainmap, _output
from resizer.imaging._geometry import fit
from resizer.imaging._memory import (
    FACE_DETECTION_BYTES,
    MemoryBudget,
    encode_bytes,
    estimate_bytes,
)
from resizer.imaging._source import OpenedImage, open_image

_UNLIMITED = MemoryBudget(0)


def _sizes(canvas: tuple[int, int], settings: Settings) -> list[tuple[int, int]]:
    """An upper bound of each rendition's size: fitted in either orientation (EXIF may
    turn it), or the whole canvas for a cover crop (scaled to cover, then cropped)."""
    turned = (canvas[1], canvas[0])
    return [
        canvas
        if r.fit == "cover"
        else max(fit(canvas, r.box), fit(turned, r.box), key=lambda size: size[0] * size[1])
        for r in settings.renditions
    ]


Size = tuple[int, int]


def _encoders(name: str, source_format: str) -> set[str]:
    """The Pillow encoders a RENDITIONS format name may resolve to (opacity unknown;
    ``auto``: every candidate, each encoded at least once)."""
    if name == "auto":
        return {output.format for output in _output.AUTO_OUTPUTS}
    return {_output.resolve(name, source_format, opaque)[0].format for opaque in (True, False)}


def _searched(settings: Settings) -> list[int]:
    """Per rendition, how many metric references its search holds (``_memory.encode_bytes``):
    none unless format=auto or quality=auto; two when JPEG's flattened pixels may differ
    from another listed lossy format's (alpha)."""
    counts = []
    for r in settings.renditions:
        lossy = {"jpeg", "webp", "avif"}.intersection(r.formats)
        flattened = r.auto_quality and "jpeg" in lossy and len(lossy) > 1
        counts.append(0 if not (r.auto_format or r.auto_quality) else 2 if flattened else 1)
    return counts


def _encodes(
    canvas: Size, source_format: str, settings: Settings
) -> list[tuple[Size, list[tuple[str, Size]]]]:
    """Per rendition, an upper bound of the size it is held at and of its encodes
    (either orientation, as EXIF may turn it)."""
    turned = (canvas[1], canvas[0])
    result = []
    for rendition in settings.renditions:
        if rendition.fit == "cover":
            sizes = [_crop.cover_size(upright, rendition.box) for upright in (canvas, turned)]
        else:
            sizes = [(fit(upright, rendition.box),) * 2 for upright in (canvas, turned)]
        held = max((scaled for scaled, _ in sizes), key=lambda s: s[0] * s[1])
        encoded = max((crop for _, crop in sizes), key=lambda s: s[0] * s[1])
        names = {e for name in rendition.formats for e in _encoders(name, source_format)}
        result.append((held, [(name, encoded) for name in sorted(names)]))
    return result


def _has_alpha(image: Image.Image) -> bool:
    return any(band in ("A", "a") for band in image.getbands()) or "transparency" in image.info


def open_within_limits(data: bytes, settings: Settings) -> OpenedImage:
    """The source opened (not decoded) under MAX_INPUT_BYTES/FRAMES/PIXELS and
    MAX_JPEG_SCANS; nothing reserved (see :func:`admitted`)."""
    return open_image(
        data,
        settings.max_input_pixels,
        settings.max_input_bytes,
        settings.max_input_frames,
        settings.max_jpeg_scans,
    )


def _is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def estimate(opened: OpenedImage, data_size: int, settings: Settings) -> int:
    """A render's peak memory, from the opened (not decoded) image and its frames."""
    canvas = opened.image.size
    encodes = encode_bytes(
        _encodes(canvas, opened.format, settings),
        alpha=opened.frames > 1 or _has_alpha(opened.image),
        searched=_searched(settings),
    )
    if _crop.looks_for_faces(settings.renditions, settings.face_detection):
        encodes += FACE_DETECTION_BYTES  # freed before the encodes: counted as one
    if opened.frames == 1 and opened.format != "WEBP":
        # The largest rendition in the stored grid, whichever way EXIF turns it: a
        # JPEG decodes shrunk on load to cover it.
        boxes = [size for w, h in _sizes(canvas, settings) for size in ((w, h), (h, w))]
        return max(estimate_bytes(opened, data_size, box) for box in boxes) + encodes
    frames = _frames.animation_bytes(canvas, opened.frames, _sizes(canvas, settings))
    return data_size + frames + encodes


def gain_map_bytes(gain_map: _gainmap.GainMap | None, opened: OpenedImage) -> int:
    """What keeping an Ultra HDR source's gain map adds to its render: the map decoded,
    turned and resized, three copies at most at once, from its header (not decoded).
    A map with more pixels than the primary is never decoded (``_gainmap.decode``)."""
    if gain_map is None:
        return 0
    try:
        with Image.open(io.BytesIO(gain_map.jpeg)) as image:
            width, height, bands = image.width, image.height, len(image.getbands())
    except (OSError, SyntaxError, ValueError):
        return 0  # an unreadable map is not kept (rendered as SDR)
    if width * height > opened.image.width * opened.image.height:
        return 0
    return 3 * width * height * bands


@contextmanager
def admitted(
    data: bytes,
    settings: Settings,
    budget: MemoryBudget | None,
    check_deadline: Callable[[], None] = no_deadline,
    gain_map: _gainmap.GainMap | None = None,
) -> Iterator[OpenedImage]:
    """The opened source, within limits, while its estimated peak is reserved (with
    ``gain_map``'s, the map the renditions keep); ``check_deadline`` is called while
    waiting for the reservation."""
    budget = budget or _UNLIMITED
    if _is_webp(data):
        container = _frames.scan(data, "WebP", settings.max_input_frames)
        if container is not None:
            # Check the limits first, so that a bomb is refused for what it is.
            _frames.check("WebP", container, settings.max_input_pixels, settings.max_input_frames)
            canvas = (container.width, container.height)
            # Alpha unknown before the open: counted as present.
            encodes = encode_bytes(
                _encodes(canvas, "WEBP", settings), alpha=True, searched=_searched(settings)
            )
            amount = (
                len(data)
                + _frames.animation_bytes(canvas, container.frames, _sizes(canvas, settings))
                + encodes
            )
            with budget.reserve(amount, check_deadline):
                yield open_within_limits(data, settings)
            return
    opened = open_within_limits(data, settings)
    amount = estimate(opened, len(data), settings) + gain_map_bytes(gain_map, opened)
    with budget.reserve(amount, check_deadline):
        yield opened
