"""Placeholders shown while a rendition loads: a BlurHash and a dominant colour.

Both come from a copy of at most :data:`SIZE` px a side that the cascade makes
anyway (from its smallest rendition, so it costs a resize of a thumbnail). The
BlurHash is encoded from a further reduced copy of at most :data:`HASH_SIZE` px: 4x3
cosine components need only a few samples each (the decoded hashes differ from a
32 px copy's by 4-8 levels of 255 on average, invisible in a blur).

:func:`encode` is the ``blurhash`` package's encoder (the reference: the same
string, ``tests/unit/test_placeholder_hash.py``) with its sums separated: each
component's cosine is a product of one along x and one along y, so every row is
summed once per x component and the rows once per component, instead of two cosines
and a product per pixel per component, and sRGB -> linear is a table of 256. Per
photo of examples/photos 0.18-0.25 ms of CPU instead of the package's 0.9-1.4 ms, in
one run (docs/performance.md, issue 21). The package still quantizes and writes the
characters (its ``base83_encode``, ``sign_pow``, ``linear_to_srgb``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from blurhash import blurhash as _reference  # type: ignore[import-untyped]
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
    x_components, y_components = COMPONENTS if small.width >= small.height else COMPONENTS[::-1]
    return encode(small, x_components, y_components)


#: sRGB level (0-255) -> linear light, as the reference encoder converts each sample.
_LINEAR = [float(_reference.srgb_to_linear(level)) for level in range(256)]


def _cosines(count: int, length: int) -> list[list[float]]:
    """cos(pi * k * n / length) for every component k < count and position n."""
    return [[math.cos(math.pi * k * n / length) for n in range(length)] for k in range(count)]


def _dot(left: Sequence[float], right: Sequence[float]) -> float:
    return float(sum(map(operator.mul, left, right)))


def encode(image: Image.Image, x_components: int, y_components: int) -> str:
    """The BlurHash of an RGB image (what ``blurhash.encode`` returns for its rows)."""
    width, height = image.size
    linear = [_LINEAR[level] for level in image.tobytes()]
    channels = [linear[band::3] for band in range(3)]  # r, g, b planes, row after row
    along_x, along_y = _cosines(x_components, width), _cosines(y_components, height)
    # rows[i][c][y]: row y of channel c weighted by the x component i's cosine.
    rows = [
        [
            [_dot(cosine, plane[y * width : (y + 1) * width]) for y in range(height)]
            for plane in channels
        ]
        for cosine in along_x
    ]
    components = [
        [
            (1.0 if i == 0 and j == 0 else 2.0) * _dot(along_y[j], rows[i][c]) / (width * height)
            for c in range(3)
        ]
        for j in range(y_components)
        for i in range(x_components)
    ]
    return _characters(components, x_components, y_components)


def _characters(components: list[list[float]], x_components: int, y_components: int) -> str:
    """The reference encoder's quantization and base-83 characters, for its components."""
    largest_ac = max((abs(value) for ac in components[1:] for value in ac), default=0.0)
    red, green, blue = (_reference.linear_to_srgb(value) for value in components[0])
    quantized_ac = int(max(0, min(82, math.floor(largest_ac * 166 - 0.5))))
    scale = (quantized_ac + 1) / 166.0

    def level(value: float) -> int:
        signed = _reference.sign_pow(value / scale, 0.5)
        return int(max(0.0, min(18.0, math.floor(signed * 9.0 + 9.5))))

    text = _reference.base83_encode((x_components - 1) + (y_components - 1) * 9, 1)
    text += _reference.base83_encode(quantized_ac, 1)
    text += _reference.base83_encode((red << 16) + (green << 8) + blue, 4)
    for r, g, b in components[1:]:
        text += _reference.base83_encode(level(r) * 19 * 19 + level(g) * 19 + level(b), 2)
    return str(text)
