"""Sizes and orientation: pure arithmetic, no pixels."""

from __future__ import annotations

import math

from PIL import Image

# EXIF Orientation (tag 0x0112) -> the transpose that makes the pixels upright.
# 1 is upright; 5-8 swap width and height.
TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def swaps_axes(orientation: int) -> bool:
    """True when applying ``orientation`` turns a W x H image into H x W."""
    return orientation in (5, 6, 7, 8)


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest size with ``size``'s aspect that fits in ``box``, never upscaled.

    Each side is at least 1 px, so a 1x10000 strip still gets a 1 px wide rendition.
    """
    width, height = size
    box_width, box_height = box
    scale = min(box_width / width, box_height / height)
    if scale >= 1:
        return width, height
    # Half up (112.5 -> 113; Python's round() would give 112). min() guards against
    # float noise; max() against 0 px.
    return (
        max(1, min(box_width, math.floor(width * scale + 0.5))),
        max(1, min(box_height, math.floor(height * scale + 0.5))),
    )
