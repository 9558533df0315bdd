"""The watermark: the WATERMARK PNG stamped bottom-right on renditions with ``watermark``.

Placement (:func:`placement`): the mark is WATERMARK_SCALE of the rendition's width wide
(its aspect kept), with a margin of :data:`MARGIN` (2 %) of the rendition's width from
the right and bottom edges; a mark that would be taller than the rendition less both
margins is shrunk to fit. Its alpha is multiplied by WATERMARK_OPACITY. Renditions
narrower than WATERMARK_MIN_WIDTH are left unmarked. Animations get the mark on every
frame. The mark's colours are taken as sRGB.

The mark is decoded once per process (:func:`decode`, which also checks it) and each
scaled copy is kept for the next rendition of the same width (a few, bounded).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence

from PIL import Image, UnidentifiedImageError

from resizer.config import Rendition, Settings
from resizer.errors import ConfigurationError
from resizer.imaging import _colour

#: The margin from the right and bottom edges, a fraction of the rendition's width.
MARGIN = 0.02
#: A mark with more pixels is refused when it is loaded (it is scaled down to at most a
#: rendition's width anyway): 16 MP, 64 MB decoded.
MAX_MARK_PIXELS = 16_000_000


@functools.lru_cache(maxsize=2)
def decode(data: bytes) -> Image.Image:
    """The WATERMARK bytes as an RGBA image, or a ConfigurationError naming the problem."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as opened:
            if opened.width * opened.height > MAX_MARK_PIXELS:
                raise ConfigurationError(
                    f"WATERMARK is {opened.width}x{opened.height} pixels, over "
                    f"{MAX_MARK_PIXELS:,}: a mark only needs a rendition's width"
                )
            return opened.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ConfigurationError(
            f"WATERMARK is not a readable PNG ({type(error).__name__}: {error}); "
            "give a PNG with an alpha channel"
        ) from None


def placement(
    size: tuple[int, int], mark: tuple[int, int], scale: float
) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) of the mark on a rendition of ``size``; None if it has no room."""
    width, height = size
    margin = round(width * MARGIN)
    mark_width = max(1, round(width * scale))
    mark_height = max(1, round(mark_width * mark[1] / mark[0]))
    room = height - 2 * margin
    if mark_height > room:
        mark_height = room
        mark_width = math.floor(mark_height * mark[0] / mark[1])
    if mark_width < 1 or mark_height < 1:
        return None
    return (width - margin - mark_width, height - margin - mark_height, mark_width, mark_height)


@functools.lru_cache(maxsize=8)
def _stamp(data: bytes, size: tuple[int, int], opacity: float) -> Image.Image:
    """The mark scaled to ``size`` (premultiplied, so edges keep their colour), its alpha
    multiplied by ``opacity``. Shared between threads: read only."""
    scaled = decode(data).convert("RGBa").resize(size, Image.Resampling.LANCZOS).convert("RGBA")
    scaled.putalpha(scaled.getchannel("A").point(lambda a: round(a * opacity)))
    return scaled


def mark(image: Image.Image, settings: Settings) -> Image.Image:
    """``image`` (a working-mode rendition) with the watermark, as a new image; ``image``
    itself when narrower than WATERMARK_MIN_WIDTH or too small to hold a mark."""
    loaded = settings.watermark_image
    if loaded is None:
        raise ConfigurationError(
            "a rendition asks for a watermark but WATERMARK was not loaded "
            "(resizer.watermark loads it when the function starts)"
        )
    if image.width < settings.watermark_min_width:
        return image
    placed = placement(image.size, decode(loaded.data).size, settings.watermark_scale)
    if placed is None:
        return image
    x, y, width, height = placed
    stamp = _stamp(loaded.data, (width, height), settings.watermark_opacity)
    base = _colour.straight(image)
    base = base.copy() if base is image else base  # cascade images are shared: never edit
    region = base.crop((x, y, x + width, y + height)).convert("RGBA")
    region.alpha_composite(stamp)
    base.paste(region.convert(base.mode), (x, y))
    return base


def mark_all(
    renditions: Sequence[Rendition], images: Sequence[Image.Image], settings: Settings
) -> list[Image.Image]:
    """One image per rendition: marked where the rendition has ``watermark``."""
    return [
        mark(image, settings) if rendition.watermark else image
        for rendition, image in zip(renditions, images, strict=True)
    ]


def mark_frames(
    renditions: Sequence[Rendition], frames: Sequence[list[Image.Image]], settings: Settings
) -> list[list[Image.Image]]:
    """Each rendition's frames (an animation's), every frame marked as :func:`mark_all`."""
    return [
        [mark(frame, settings) for frame in rendition_frames]
        if rendition.watermark
        else rendition_frames
        for rendition, rendition_frames in zip(renditions, frames, strict=True)
    ]
