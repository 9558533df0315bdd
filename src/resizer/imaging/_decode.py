"""Shrink-on-load: decode a JPEG at the smallest scale that still covers the largest box.

libjpeg's IDCT can produce a reduced image straight from the DCT coefficients, for
much less work than decoding every pixel and resampling them. Pillow only exposes
1/2, 1/4 and 1/8 (``Image.draft``), so a 3088 px photo for a 1600 px box is decoded
whole (1/2 would give 1544 px). libjpeg-turbo decodes at any N/8: with simplejpeg
installed (an optional dependency, TurboJPEG inside; ``pip install 'resizer[turbo]'``)
that photo decodes at 5/8 (1930 px). Measured on examples/photos, decode + resize to
1600 px, one thread: 1.01 s of CPU with Pillow's draft, 0.90 s through simplejpeg,
quality within the guard (tests/unit/test_imaging_quality.py); docs/performance.md.

simplejpeg handles Huffman-coded greyscale and YCbCr/RGB JPEGs; CMYK (Adobe
inversion, ICC conversion), arithmetic-coded and lossless JPEGs, and every JPEG when
simplejpeg is not installed, go through Pillow. EXIF orientation and the ICC profile
come from Pillow's parse of the header either way (nothing here reads metadata).
"""

from __future__ import annotations

import functools
import importlib
import math
from types import ModuleType

from PIL import Image

from resizer.imaging._jpeg import HUFFMAN_DCT
from resizer.imaging._source import OpenedImage

# The smallest scale that still leaves at least DRAFT_GAP x the largest rendition, so
# the resampler always works from real pixels, never upscales. 1.0 instead of
# Pillow's thumbnail() default of 2.0: 25 % less resampling work, and a 100 MP JPEG
# decodes at 1/8 instead of 1/4. Measured with N/8 scales: gaps of 1.25-2.0 cost
# 15-40 % more CPU for SSIM 0.996 instead of 0.995 (both far above the guard).
DRAFT_GAP = 1.0
PILLOW_EIGHTHS = (1, 2, 4, 8)  # 1/8, 1/4, 1/2, 1/1
TURBO_EIGHTHS = tuple(range(1, 9))

Box = tuple[float, float, float, float]


@functools.cache
def turbo() -> ModuleType | None:
    """simplejpeg, imported on first use (it brings numpy: ~60-140 ms), or None."""
    try:
        return importlib.import_module("simplejpeg")
    except ImportError:
        return None


def uses_turbo(opened: OpenedImage) -> bool:
    return (
        opened.jpeg is not None
        and opened.jpeg.sof in HUFFMAN_DCT
        and opened.image.mode in ("L", "RGB")
        and turbo() is not None
    )


def eighths(size: tuple[int, int], largest: tuple[int, int], choices: tuple[int, ...]) -> int:
    """The smallest scale N/8 of ``choices`` whose decode covers ``largest`` x DRAFT_GAP.

    libjpeg rounds a scaled size up: ceil(width x N / 8).
    """
    wanted = (math.ceil(largest[0] * DRAFT_GAP), math.ceil(largest[1] * DRAFT_GAP))
    for n in choices:
        if all(math.ceil(side * n / 8) >= want for side, want in zip(size, wanted, strict=True)):
            return n
    return 8


def decoded_pixels(opened: OpenedImage, largest: tuple[int, int]) -> int:
    """How many pixels the decode produces for a ``largest`` box (stored orientation)."""
    width, height = opened.image.size
    if opened.format not in ("JPEG", "MPO"):
        return width * height
    n = eighths((width, height), largest, TURBO_EIGHTHS if uses_turbo(opened) else PILLOW_EIGHTHS)
    return math.ceil(width * n / 8) * math.ceil(height * n / 8)


def decode(
    data: bytes, opened: OpenedImage, largest: tuple[int, int]
) -> tuple[Image.Image, Box | None]:
    """Decoded pixels (shrunk on load where possible) and the source's box in them.

    The box is fractional: a reduced image is rounded up to whole pixels, so the
    original's area is ``size x N / 8``, which resize(box=...) uses to stay aligned.
    Call inside ``decoding()``: errors are classified there.
    """
    image = opened.image
    if uses_turbo(opened):
        return _turbo_decode(data, image, largest)
    if opened.format not in ("JPEG", "MPO") or largest == image.size:
        image.load()
        return image, None
    # Pillow quirk: draft(mode=None) keeps the colour mode and returns the box.
    wanted = (math.ceil(largest[0] * DRAFT_GAP), math.ceil(largest[1] * DRAFT_GAP))
    drafted = image.draft(None, wanted)
    image.load()
    return image, None if drafted is None else drafted[1]


def _turbo_decode(
    data: bytes, image: Image.Image, largest: tuple[int, int]
) -> tuple[Image.Image, Box | None]:
    simplejpeg = turbo()
    assert simplejpeg is not None  # uses_turbo() checked it
    width, height = image.size
    n = eighths((width, height), largest, TURBO_EIGHTHS)
    # strict: what libjpeg only warns about (a truncated file, damaged entropy
    # data) raises ValueError, a CorruptImageError for decoding(), as Pillow's
    # "image file is truncated" does, instead of a rendition with grey holes.
    pixels = simplejpeg.decode_jpeg(
        data,
        "GRAY" if image.mode == "L" else "RGB",
        min_width=math.ceil(width * n / 8),
        min_height=math.ceil(height * n / 8),
        strict=True,
    )
    size = (pixels.shape[1], pixels.shape[0])
    # TurboJPEG picks the smallest scale at least that large: normally n itself.
    n = next((k for k in TURBO_EIGHTHS if math.ceil(width * k / 8) == size[0]), 8)
    decoded = Image.frombuffer(image.mode, size, pixels, "raw", image.mode, 0, 1)
    if n == 8:
        return decoded, None
    return decoded, (0.0, 0.0, width * n / 8, height * n / 8)
