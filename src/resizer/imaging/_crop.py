"""Cover crops: exact WIDTH x HEIGHT, cut around a focal point, never upscaled.

A ``cover`` rendition is made in two steps. The cascade scales the whole upright image
so that it just covers the box (:func:`cover_size`: one side equals the box, the other
overhangs); then :func:`window` cuts the box out of it around the focal point. Only
one axis is ever cut, so the choice is one-dimensional.

The focal point, in order:

1. the source's user metadata ``focal-point: "X,Y"`` (fractions 0..1 of the upright
   image), parsed by :func:`parse_focal_point`;
2. otherwise the faces (``_faces``, with FACE_DETECTION=on): the crop holds every face
   when they fit, else the largest;
3. otherwise :func:`attention`: edge energy (like libvips' ``smartcrop``): the
   largest sum of edge energy over every window position, found on a small (about 64
   px) greyscale copy: a 3x3 edge filter and a box-filtered profile, both in C,
   then a slide over at most 64 sums in Python; well under a millisecond of CPU
   (bench/web.py);
4. the centre, when the image is flat (no edges: nothing to prefer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from PIL import Image, ImageFilter, ImageOps

from resizer.config import Rendition

#: Long side of the copy :func:`energy` works on.
ANALYSIS_SIZE = 64
#: Edge values below this (of 255) are rounding noise of smooth areas, not detail.
NOISE_FLOOR = 8

_FOCAL = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*,\s*([0-9]*\.?[0-9]+)\s*$")

Point = tuple[float, float]
Size = tuple[int, int]


def parse_focal_point(text: str | None) -> Point | None:
    """``"X,Y"`` with both in 0..1 -> (X, Y); anything else (absent, malformed) -> None."""
    match = _FOCAL.match(text or "")
    if match is None:
        return None
    x, y = float(match[1]), float(match[2])
    return (x, y) if 0 <= x <= 1 and 0 <= y <= 1 else None


def looks_for_faces(renditions: Sequence[Rendition], face_detection: str) -> bool:
    """Whether a render looks for faces: FACE_DETECTION=on and a cover rendition (the
    plan then makes the detector's copy, and the admission reserves its memory)."""
    return face_detection == "on" and any(r.fit == "cover" for r in renditions)


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


def cover_size(upright: Size, box: Size) -> tuple[Size, Size]:
    """(scaled size of the whole image, crop size) for a ``cover`` rendition of ``box``.

    When the image covers the box, it is scaled so that it just covers it and the crop
    is the box. When it is smaller on either side it is never upscaled: the crop is
    the largest of the box's aspect ratio at the image's own scale.
    """
    width, height = upright
    box_width, box_height = box
    scale = max(box_width / width, box_height / height)
    if scale <= 1:
        scaled = (
            max(box_width, min(width, _half_up(width * scale))),
            max(box_height, min(height, _half_up(height * scale))),
        )
        return scaled, box
    if width * box_height >= height * box_width:  # wider than the box: keep the height
        crop = (max(1, min(width, _half_up(height * box_width / box_height))), height)
    else:
        crop = (width, max(1, min(height, _half_up(width * box_height / box_width))))
    return upright, crop


def window(scaled: Size, crop: Size, focal: Point) -> tuple[int, int, int, int]:
    """The crop box (left, top, right, bottom) of size ``crop``, centred on ``focal``
    as far as the image's edges allow."""
    left = min(max(_half_up(focal[0] * scaled[0] - crop[0] / 2), 0), scaled[0] - crop[0])
    top = min(max(_half_up(focal[1] * scaled[1] - crop[1] / 2), 0), scaled[1] - crop[1])
    return left, top, left + crop[0], top + crop[1]


def energy(image: Image.Image) -> Image.Image:
    """Edge energy (``L``) of a small upright image (any working mode)."""
    grey = image.convert("L") if image.mode != "L" else image
    edges = grey.filter(ImageFilter.FIND_EDGES)
    # Pillow quirk: a 3x3 filter leaves the outermost pixels unfiltered (their grey
    # values, not edges); zero them so a bright border is not taken for detail.
    if min(edges.size) > 2:
        inner = edges.crop((1, 1, edges.width - 1, edges.height - 1))
        edges = ImageOps.expand(inner, border=1, fill=0)
    # Rounding in smooth areas (gradients, sky) leaves a Laplacian of a few levels:
    # noise, not detail.
    return edges.point(lambda value: value if value >= NOISE_FLOOR else 0)


def _best_start(profile: list[float], length: int) -> int | None:
    """Start of the ``length``-long run of ``profile`` with the largest sum (ties: the
    most central); None when every run is equal (nothing to prefer)."""
    sums = [sum(profile[start : start + length]) for start in range(len(profile) - length + 1)]
    if max(sums) - min(sums) < 1e-6:
        return None
    middle = (len(sums) - 1) / 2
    return max(range(len(sums)), key=lambda start: (sums[start], -abs(start - middle)))


def attention(edges: Image.Image, scaled: Size, crop: Size) -> Point | None:
    """The focal point whose window holds the most edge energy, or None when flat."""
    if crop[0] < scaled[0]:
        axis, full, cut = 0, scaled[0], crop[0]
    elif crop[1] < scaled[1]:
        axis, full, cut = 1, scaled[1], crop[1]
    else:
        return None  # nothing is cut
    # Mean energy per column (or row), in C: a box-filtered resize to one pixel across.
    cells = edges.size[axis]
    line = edges.resize((cells, 1) if axis == 0 else (1, cells), Image.Resampling.BOX)
    profile = [float(value) for value in line.tobytes()]
    length = max(1, min(cells, _half_up(cut / full * cells)))
    start = _best_start(profile, length)
    if start is None:
        return None
    centre = (start + length / 2) / cells
    return (centre, 0.5) if axis == 0 else (0.5, centre)
