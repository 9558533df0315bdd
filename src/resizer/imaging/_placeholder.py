"""Placeholders shown while a rendition loads: a BlurHash and a dominant colour.

Both come from a copy of at most :data:`SIZE` px a side that the cascade makes
anyway (from its smallest rendition, so it costs a resize of a thumbnail). The
BlurHash is encoded by the pure-Python ``blurhash`` package (6.6 KB, no
dependencies) from a further reduced copy of at most :data:`HASH_SIZE` px: its cost
grows with the pixels (6-9 ms of CPU at 32 px, 2.5-3.6 ms at 20 px, per photo of
examples/photos), while 4x3 cosine components need only a few samples each; the
decoded hashes differ by 4-8 levels of 255 on average, invisible in a blur.
"""

from __future__ import annotations

from dataclasses import dataclass

import blurhash  # type: ignore[import-untyped]
from PIL import Image

from resizer.imaging import _colour

#: Long side of the image the placeholder (its dominant colour) is computed from.
SIZE = 32
#: Long side of the copy the BlurHash is encoded from.
HASH_SIZE = 20
#: BlurHash components along the long and the short side.
COMPONENTS = (4, 3)


@dataclass(frozen=True)
class Placeholder:
    blurhash: str
    color: str  # "#rrggbb"


def _rgb(image: Image.Image) -> Image.Image:
    return _colour.flatten(_colour.straight(image)).convert("RGB")


def dominant_color(image: Image.Image) -> str:
    """The most frequent colour of a 4-colour median-cut palette, as ``#rrggbb``."""
    quantized = image.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    counts = quantized.getcolors() or [(1, 0)]
    _, found = max(counts)
    index = found if isinstance(found, int) else 0
    palette = quantized.getpalette() or [0, 0, 0]
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def placeholder(image: Image.Image) -> Placeholder:
    """The placeholder of a small (<= SIZE px) upright image in any working mode."""
    rgb = _rgb(image)
    if max(rgb.size) > SIZE:
        rgb.thumbnail((SIZE, SIZE), Image.Resampling.BOX)
    return Placeholder(_blurhash(rgb), dominant_color(rgb))


def _blurhash(rgb: Image.Image) -> str:
    small = rgb.copy()
    small.thumbnail((HASH_SIZE, HASH_SIZE), Image.Resampling.BOX)
    data, width = small.tobytes(), small.width
    rows = [
        [tuple(data[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)]
        for y in range(small.height)
    ]
    x_components, y_components = COMPONENTS if small.width >= small.height else COMPONENTS[::-1]
    return str(blurhash.encode(rows, x_components, y_components))
