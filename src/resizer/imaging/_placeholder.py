"""Placeholders shown while a rendition loads: a BlurHash and a dominant colour.

Both come from a copy of at most :data:`SIZE` px a side that the cascade makes
anyway (from its smallest rendition, so it costs a resize of a thumbnail). The
BlurHash is encoded by the pure-Python ``blurhash`` package (6.6 KB, no
dependencies): about 7 ms of CPU at 32 px with 4x3 components (bench/web.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import blurhash  # type: ignore[import-untyped]
from PIL import Image

from resizer.imaging import _colour

#: Long side of the image the placeholder is computed from.
SIZE = 32
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
    data = rgb.tobytes()
    width = rgb.width
    rows = [
        [tuple(data[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)]
        for y in range(rgb.height)
    ]
    x_components, y_components = COMPONENTS if rgb.width >= rgb.height else COMPONENTS[::-1]
    return Placeholder(str(blurhash.encode(rows, x_components, y_components)), dominant_color(rgb))
