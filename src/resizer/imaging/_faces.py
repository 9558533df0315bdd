"""Faces for cover crops: a Viola-Jones cascade of LBP features, in pure Python + Pillow.

The detector is OpenCV's frontal-face LBP cascade (``lbpcascade_frontalface.xml``,
20 stages of stumps over a 24x24 window; licence in ``faces_lbp.NOTICE``), converted
by scripts/face_cascade.py into ``faces_lbp.json`` (17 KB), which ships in the package
and is read once per process, on first use (:func:`cascade`): work that needs no face
never loads it. :func:`detect` follows OpenCV's ``detectMultiScale`` (checked against
``cv2.CascadeClassifier`` by tests/unit/test_imaging_faces.py and bench/faces.py):

* the image (a greyscale copy of at most :data:`ANALYSIS_SIZE` px on its long side,
  made by the render's cascade) is scaled down by :data:`SCALE_STEP` per step while
  the window fits; windows are 2 px apart at every scale;
* each window runs the stages in order and stops at the first that rejects it. The
  first :data:`VECTOR_STAGES` stages run on every window of a scale at once in
  Pillow's C (:class:`_Grid`: exact integer cell sums, the same float stage sums),
  which rejects all but a few per cent; the scales at most half as wide as the copy
  share one such grid (:func:`_mosaic`: a grid has a fixed cost of a few ms, and 35 of
  the ~50 scales are small). The survivors run the rest in Python on an integral image
  made in C (:func:`_integral`, :func:`_passes`);
* hits are grouped as OpenCV's ``groupRectangles`` does (:func:`group`): overlapping
  hits (edges within 20 % of the size) form a group, a group of at least
  :data:`MIN_NEIGHBOURS` hits becomes one face (their mean box); a face inside a
  better-supported one is dropped.

Memory: the grid runs on bands of at most :data:`BAND` rows, the integral image is an
``array`` of 4-byte sums: 17 MB at most on top of the render
(``_memory.FACE_DETECTION_BYTES``; 16 MB on a busy 560 x 560 copy on 2026-12-07).
Hostile input cannot make it run long: the copy's size bounds the vectorised work, at
most :data:`MAX_WINDOWS` windows run in Python per image (scales are visited from the
largest faces down, so the bound drops the smallest faces first; photos need 0.1-15 k),
and ``check_deadline`` is called every :data:`CHECK_EVERY` scales. :func:`focus` turns
the faces into a cover crop's focal point: the centre of the box holding every face when that fits
the crop, else the largest face's centre.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import takewhile
from operator import itemgetter
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageMath

from resizer.errors import no_deadline
from resizer.imaging._frames import DeadlineCheck

#: Long side of the greyscale copy faces are looked for in. The smallest face found is
#: the window, 24 px: 4.3 % of this side. bench/faces.py on the labelled set with steps
#: of 1.1 (recall of 32 labelled faces / median CPU per image): 480 px 0.50 / 0.27 s,
#: 560 px 0.84 / 0.36 s, 640 px 0.78 / 0.48 s (docs/performance.md, "Faces").
ANALYSIS_SIZE = 560
#: Each scale is 1/SCALE_STEP of the previous, and a face needs MIN_NEIGHBOURS hits
#: (OpenCV's defaults: 1.1 and 3). On the labelled set (bench/faces.py, 560 px): 1.1/3
#: found 27 of 28 frontal faces but with 3-9 hits each, so a re-encode or another
#: cascade path lost a face; 1.05/4 finds all 28 (precision 1.00) at twice the CPU.
#: Coarser steps for the large faces only (1.1 beyond a scale of 2 or of 1.6) cost 10-18 %
#: less but lost 3-4 of 12 faces of 47-93 px on a 560 px copy that 1.05 finds
#: (2026-12-07, docs/performance.md "Faces"): 1.05 at every scale.
SCALE_STEP = 1.05
#: Hits a face needs (OpenCV's minNeighbors).
MIN_NEIGHBOURS = 4
#: Two hits belong to one face when every edge is within this fraction of their size.
GROUP_EPS = 0.2
#: Windows stay 2 px apart at every scale (OpenCV goes to 1 px beyond a scale of 2,
#: which costs about twice the windows for faces the crop does not need).
FINE_ABOVE = float("inf")
#: ``check_deadline`` is called before every CHECK_EVERY-th scale (about 0.1 s apart).
CHECK_EVERY = 8
#: Rows of pixels (window positions 2 px apart: half as many rows of windows) per band
#: of the grid at most; a scale's bands are made even (a 129-row scale: two of 65).
BAND = 128
#: Stages run on every window at once in C (:class:`_Grid`) before the rest in Python.
#: 5 leave 2.8 % of the windows (~12 k an image) to Python. CPU an image against 5 on the
#: labelled set's copies (2026-12-07): 3 stages +14 %, 4 +5 %, 6 and 7 within 1 %: from
#: the sixth on, a stage in C costs what it saves in Python.
VECTOR_STAGES = 5
#: Windows run in Python per image at most (those that pass the first stages): a hard
#: bound on CPU whatever the image.
MAX_WINDOWS = 40_000

_DATA = Path(__file__).with_name("faces_lbp.json")
_LOCK = threading.Lock()

Box = tuple[int, int, int, int]  # left, top, width, height


@dataclass(frozen=True)
class Cascade:
    """The loaded cascade: window size, features (x, y, cell w, cell h) and stages
    (threshold, stumps of (feature index, 256-bit code set, leaf in set, leaf not))."""

    window: tuple[int, int]
    features: tuple[tuple[int, int, int, int], ...]
    stages: tuple[tuple[float, tuple[tuple[int, int, float, float], ...]], ...]


@functools.cache
def _load() -> Cascade:
    data = json.loads(_DATA.read_text())
    return Cascade(
        window=(int(data["window"][0]), int(data["window"][1])),
        features=tuple((int(a), int(b), int(c), int(d)) for a, b, c, d in data["features"]),
        stages=tuple(
            (
                float(threshold),
                tuple(
                    (int(feature), int(mask, 16), float(hit), float(miss))
                    for feature, mask, hit, miss in stumps
                ),
            )
            for threshold, stumps in data["stages"]
        ),
    )


def cascade() -> Cascade:
    """The cascade, read from the package once per process (thread-safe)."""
    with _LOCK:
        return _load()


def _integral(image: Image.Image) -> array[int]:
    """The integral image of an ``L`` image, (width + 1) x (height + 1), row after row,
    made in Pillow's C: running sums by doubling shifts (``I``, exact 32-bit integers;
    a copy of at most 8 M pixels, whose sums fit). An ``array``: 4 bytes a value."""
    width, height = image.width + 1, image.height + 1
    if image.width * image.height * 255 >= 2**31:
        raise ValueError(f"{image.size}: too large for 32-bit sums (the copy is smaller)")
    table = Image.new("I", (width, height))
    table.paste(image.convert("I"), (1, 1))
    shift = 1
    while shift < width:  # each value += the one `shift` to its left (0 beyond the edge)
        table = _add(table, table.crop((-shift, 0, width - shift, height)))
        shift *= 2
    shift = 1
    while shift < height:
        table = _add(table, table.crop((0, -shift, width, height - shift)))
        shift *= 2
    return array("i", table.tobytes())


def _add(a: Image.Image, b: Image.Image) -> Image.Image:
    """``a + b`` (``I`` images of one size), in C."""
    total: Image.Image = ImageMath.lambda_eval(lambda m: m["a"] + m["b"], a=a, b=b)
    return total


def _corners(model: Cascade, stride: int) -> list[Callable[[memoryview], tuple[int, ...]]]:
    """Per feature, a getter of the 16 integral-image values of its 4x4 grid of cell
    corners from a view that starts at the window's top-left (one C call a feature)."""
    return [
        itemgetter(*((y + j * h) * stride + x + i * w for j in range(4) for i in range(4)))
        for x, y, w, h in model.features
    ]


def _passes(
    window: memoryview,
    model: Cascade,
    corners: list[Callable[[memoryview], tuple[int, ...]]],
    first: int = 0,
) -> bool:
    """Whether the window (a view of the integral image from its top-left on) passes
    every stage from ``first`` on.

    The LBP code of a feature compares its 8 outer cells with the centre cell, clockwise
    from the top-left (OpenCV's bit order: 128 for the top-left .. 1 for the left)."""
    for threshold, stumps in model.stages[first:]:
        total = 0.0
        for feature, mask, hit, miss in stumps:
            get = corners[feature]
            g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15 = get(window)
            centre = g5 - g6 - g9 + g10
            code = (
                (128 if g0 - g1 - g4 + g5 >= centre else 0)
                | (64 if g1 - g2 - g5 + g6 >= centre else 0)
                | (32 if g2 - g3 - g6 + g7 >= centre else 0)
                | (16 if g6 - g7 - g10 + g11 >= centre else 0)
                | (8 if g10 - g11 - g14 + g15 >= centre else 0)
                | (4 if g9 - g10 - g13 + g14 >= centre else 0)
                | (2 if g8 - g9 - g12 + g13 >= centre else 0)
                | (1 if g4 - g5 - g8 + g9 >= centre else 0)
            )
            total += hit if (mask >> code) & 1 else miss
        if total < threshold:
            return False
    return True


def _lbp(cells: dict[str, Any]) -> Any:
    """The LBP code of 9 cells (``c0`` .. ``c8``, row after row) in ``ImageMath``: the 8
    outer cells against the centre, clockwise from the top-left, the first the highest
    bit. Horner's rule with additions only: a constant operand would cost ImageMath a
    full-size constant image per operation."""
    centre = cells["c4"]
    code = cells["c0"] >= centre
    for outer in ("c1", "c2", "c5", "c8", "c7", "c6", "c3"):
        code = code + code + (cells[outer] >= centre)
    return code


class _Grid:
    """The first stages on every window of one scale at once, in Pillow's C.

    Cell sums come from box-sum images (``I``, exact integers: a box of w x h is the
    box of w x (h - 1) plus a row, each a shifted copy added), sampled on the 2 px grid
    of window positions; a feature's LBP code for every window is one ``ImageMath``
    expression over its 9 cells; each stump's leaf becomes a bit (``point``), and a
    stage's bits map to pass / fail by a table of the same float sums the Python
    evaluation makes. What survives goes on in Python (:func:`_passes`)."""

    def __init__(self, image: Image.Image, window: tuple[int, int]) -> None:
        self.image = image.convert("I")
        self.size = ((image.width - window[0]) // 2 + 1, (image.height - window[1]) // 2 + 1)
        self._rows: dict[int, Image.Image] = {1: self.image}
        self._boxes: dict[tuple[int, int], Image.Image] = {}
        self._phases: dict[tuple[int, int, int, int], Image.Image] = {}

    def _row(self, w: int) -> Image.Image:
        """Sums of w pixels along each row, at every start (width - w + 1 wide)."""
        if w not in self._rows:
            shorter = self._row(w - 1)
            width, height = self.image.width - w + 1, self.image.height
            self._rows[w] = _add(
                shorter.crop((0, 0, width, height)),
                self.image.crop((w - 1, 0, w - 1 + width, height)),
            )
        return self._rows[w]

    def _box(self, w: int, h: int) -> Image.Image:
        """Sums of w x h boxes, at every top-left."""
        if h == 1:
            return self._row(w)
        if (w, h) not in self._boxes:
            shorter, row = self._box(w, h - 1), self._row(w)
            width, height = row.width, self.image.height - h + 1
            self._boxes[w, h] = _add(
                shorter.crop((0, 0, width, height)), row.crop((0, h - 1, width, h - 1 + height))
            )
        return self._boxes[w, h]

    def cell(self, x: int, y: int, w: int, h: int) -> Image.Image:
        """The sum of the w x h cell at (x, y) of every window on the 2 px grid."""
        key = (w, h, x % 2, y % 2)
        if key not in self._phases:
            # Pillow's affine NEAREST samples at (2u + 1 + c, 2v + 1 + f).
            matrix = (2, 0, x % 2 - 1, 0, 2, y % 2 - 1)
            box = self._box(w, h)
            size = ((box.width - x % 2 + 1) // 2, (box.height - y % 2 + 1) // 2)
            self._phases[key] = box.transform(
                size, Image.Transform.AFFINE, matrix, Image.Resampling.NEAREST
            )
        u, v = x // 2, y // 2
        return self._phases[key].crop((u, v, u + self.size[0], v + self.size[1]))

    def code(self, feature: tuple[int, int, int, int]) -> Image.Image:
        """The feature's LBP code (``L``) for every window."""
        x, y, w, h = feature
        c = [self.cell(x + i * w, y + j * h, w, h) for j in range(3) for i in range(3)]
        code = ImageMath.lambda_eval(_lbp, **{f"c{k}": cell for k, cell in enumerate(c)})
        converted: Image.Image = code.convert("L")
        return converted

    def survivors(self, model: Cascade, stages: int) -> list[tuple[int, int]]:
        """(x, y) of every window on the grid that passes the first ``stages`` stages."""
        mask: Image.Image | None = None
        for (_, stumps), (luts, table) in zip(model.stages[:stages], _tables(), strict=False):
            bits: Image.Image | None = None
            for (feature, _, _, _), lut in zip(stumps, luts, strict=True):
                bit = self.code(model.features[feature]).point(lut)
                bits = bit if bits is None else ImageChops.add(bits, bit)
            assert bits is not None
            passed = bits.point(table)
            mask = passed if mask is None else ImageChops.darker(mask, passed)
            if mask.getbbox() is None:
                return []  # every window rejected: the later stages need not run
        assert mask is not None
        columns = self.size[0]
        return [
            (2 * (found.start() % columns), 2 * (found.start() // columns))
            for found in re.finditer(rb"[^\x00]", mask.tobytes())
        ]


@functools.cache
def _tables() -> list[tuple[list[list[int]], list[int]]]:
    """Per stage of at most 8 stumps (the first ones): each stump's code -> its bit
    (``1 << k`` when the code is in its set), and the stage's bits -> 255 (passes) or 0."""
    tables = []
    for threshold, stumps in cascade().stages:
        if len(stumps) > 8:
            break
        luts = [
            [(1 << k) if (in_set >> code) & 1 else 0 for code in range(256)]
            for k, (_, in_set, _, _) in enumerate(stumps)
        ]
        table = [255 if _stage_sum(stumps, bits) >= threshold else 0 for bits in range(256)]
        tables.append((luts, table))
    return tables


def _stage_sum(stumps: tuple[tuple[int, int, float, float], ...], bits: int) -> float:
    """A stage's sum when stump k's code is in its set iff bit k of ``bits`` is set (the
    same float additions, in the same order, as :func:`_passes`)."""
    total = 0.0
    for k, (_, _, hit, miss) in enumerate(stumps):
        total += hit if (bits >> k) & 1 else miss
    return total


def _banded(scaled: Image.Image, model: Cascade, stages: int) -> list[tuple[int, int]]:
    """:meth:`_Grid.survivors` over bands of :data:`BAND` window rows, so the grid's
    images (a few dozen 4-byte copies) stay small whatever the copy's height."""
    win_h = model.window[1]
    found: list[tuple[int, int]] = []
    rows = (scaled.height - win_h) // 2 + 1  # window rows, 2 px apart
    bands = -(-rows // (BAND // 2))
    height = 2 * -(-rows // bands)  # even bands: no band of a few rows (a grid's fixed cost)
    for top in range(0, scaled.height - win_h + 1, height):
        band = scaled.crop((0, top, scaled.width, min(scaled.height, top + height - 2 + win_h)))
        found += [(x, y + top) for x, y in _Grid(band, model.window).survivors(model, stages)]
    return found


def _scales(size: tuple[int, int], window: tuple[int, int], step: float) -> list[float]:
    """The scale factors at which the window still fits, smallest first."""
    factors = []
    factor = 1.0
    while round(size[0] / factor) > window[0] and round(size[1] / factor) > window[1]:
        factors.append(factor)
        factor *= step
    return factors


def _levels(grey: Image.Image, factors: list[float]) -> list[tuple[float, Image.Image]]:
    """``grey`` scaled down by each factor (BILINEAR), in the order given."""
    return [
        (
            factor,
            grey
            if factor == 1.0
            else grey.resize(
                (round(grey.width / factor), round(grey.height / factor)),
                Image.Resampling.BILINEAR,
            ),
        )
        for factor in factors
    ]


def _mosaic(
    levels: list[Image.Image], width: int, model: Cascade, stages: int
) -> list[list[tuple[int, int]]]:
    """:func:`_banded` on the ``levels`` packed side by side into shelves ``width`` wide:
    per level, the (x, y) of its windows that pass the first ``stages`` stages, as if
    each level had run alone. One grid over many small levels costs what their area
    costs, not a fixed cost per level (the Pillow calls of a grid: about 3.5 ms).

    Levels sit at even offsets, so the 2 px grid of the canvas is each level's own grid;
    windows that straddle two levels or the blank canvas are dropped."""
    win_w, win_h = model.window
    places: list[tuple[int, int]] = []
    x = y = shelf = 0
    for level in levels:
        if x and x + level.width > width:
            x, y, shelf = 0, y + shelf, 0
        places.append((x, y))
        x += level.width + level.width % 2
        shelf = max(shelf, level.height + level.height % 2)
    canvas = Image.new("L", (width, y + shelf))
    for level, place in zip(levels, places, strict=True):
        canvas.paste(level, place)
    shelves = sorted({top for _, top in places})
    by_shelf: dict[int, list[int]] = {}
    for index, (_, top) in enumerate(places):
        by_shelf.setdefault(top, []).append(index)
    found: list[list[tuple[int, int]]] = [[] for _ in levels]
    for cx, cy in _banded(canvas, model, stages):
        top = shelves[bisect_right(shelves, cy) - 1]
        row = by_shelf[top]
        index = row[bisect_right([places[i][0] for i in row], cx) - 1]
        left = places[index][0]
        level = levels[index]
        if cx + win_w <= left + level.width and cy + win_h <= top + level.height:
            found[index].append((cx - left, cy - top))
    return found


def hits(
    grey: Image.Image,
    check_deadline: DeadlineCheck = no_deadline,
    *,
    scale_step: float = SCALE_STEP,
    fine_above: float = FINE_ABOVE,
    vector_stages: int = VECTOR_STAGES,
    max_windows: int = MAX_WINDOWS,
) -> tuple[list[Box], int]:
    """(every window the cascade accepts, in ``grey``'s pixels; windows run in Python).

    Windows are 2 px apart, 1 px once the image is scaled down by more than
    ``fine_above`` (OpenCV: 2). The first ``vector_stages`` stages run on every window
    of a scale at once (:class:`_Grid`, on the 2 px grid only; the scales at most half
    as wide as ``grey`` all in one grid, :func:`_mosaic`); the windows that pass them
    run the rest in Python, at most ``max_windows`` of them: scales are visited from the
    largest faces down, so the bound drops the smallest faces first."""
    model = cascade()
    win_w, win_h = model.window
    found: list[Box] = []
    evaluated = 0
    # Only stages of at most 8 stumps run on the grid (one bit each in an L image).
    first = min(vector_stages, len(_tables()))
    factors = list(reversed(_scales(grey.size, model.window, scale_step)))
    packed = list(
        takewhile(
            lambda f: first and f <= fine_above and round(grey.width / f) * 2 <= grey.width,
            factors,
        )
    )
    check_deadline()
    small = _levels(grey, packed)
    packed_found = _mosaic([level for _, level in small], grey.width, model, first) if small else []
    for index, factor in enumerate(factors):
        if index % CHECK_EVERY == 0:
            check_deadline()
        step = 1 if factor > fine_above else 2
        start = first if step == 2 else 0
        if index < len(small):  # packed: its grid has run
            scaled, candidates = small[index][1], packed_found[index]
        else:
            ((_, scaled),) = _levels(grey, [factor])
            if start:
                candidates = _banded(scaled, model, start)
            else:
                candidates = [
                    (x, y)
                    for y in range(0, scaled.height - win_h + 1, step)
                    for x in range(0, scaled.width - win_w + 1, step)
                ]
        if not candidates:
            continue
        ii = memoryview(_integral(scaled))
        stride = scaled.width + 1
        corners = _corners(model, stride)
        for x, y in candidates:
            evaluated += 1
            if evaluated > max_windows:
                return found, evaluated - 1
            if _passes(ii[y * stride + x :], model, corners, start):
                found.append(
                    (
                        round(x * factor),
                        round(y * factor),
                        round(win_w * factor),
                        round(win_h * factor),
                    )
                )
    return found, evaluated


def _similar(a: Box, b: Box, eps: float) -> bool:
    delta = eps * (min(a[2], b[2]) + min(a[3], b[3])) * 0.5
    return (
        abs(a[0] - b[0]) <= delta
        and abs(a[1] - b[1]) <= delta
        and abs(a[0] + a[2] - b[0] - b[2]) <= delta
        and abs(a[1] + a[3] - b[1] - b[3]) <= delta
    )


def group(
    boxes: list[Box], min_neighbours: int = MIN_NEIGHBOURS, eps: float = GROUP_EPS
) -> list[Box]:
    """OpenCV's ``groupRectangles(boxes, min_neighbours - 1, eps)``: the faces."""
    # Partition into classes of (transitively) similar boxes: union-find.
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(boxes)):
        for j in range(i):
            if _similar(boxes[i], boxes[j], eps):
                parent[root(i)] = root(j)
    classes: dict[int, list[Box]] = {}
    for i, box in enumerate(boxes):
        classes.setdefault(root(i), []).append(box)
    threshold = min_neighbours - 1
    mean = [
        (
            tuple(round(sum(b[k] for b in members) / len(members)) for k in range(4)),
            len(members),
        )
        for members in classes.values()
    ]
    faces: list[Box] = []
    for r1, n1 in mean:
        if n1 <= threshold:
            continue
        inside = False
        for r2, n2 in mean:
            if r2 is r1 or n2 <= threshold:
                continue
            dx, dy = round(r2[2] * eps), round(r2[3] * eps)
            if (
                r1[0] >= r2[0] - dx
                and r1[1] >= r2[1] - dy
                and r1[0] + r1[2] <= r2[0] + r2[2] + dx
                and r1[1] + r1[3] <= r2[1] + r2[3] + dy
                and (n2 > max(3, n1) or n1 < 3)
            ):
                inside = True
                break
        if not inside:
            faces.append((r1[0], r1[1], r1[2], r1[3]))
    return faces


def detect(image: Image.Image, check_deadline: DeadlineCheck = no_deadline) -> list[Box]:
    """The faces in ``image`` (any mode), as boxes in its pixels."""
    grey = image.convert("L") if image.mode != "L" else image
    found, _ = hits(grey, check_deadline)
    return group(found)


def faces(image: Image.Image, check_deadline: DeadlineCheck = no_deadline) -> list[Fractions]:
    """The faces in ``image`` as (left, top, right, bottom) fractions of its size."""
    width, height = image.size
    return [
        (x / width, y / height, (x + w) / width, (y + h) / height)
        for x, y, w, h in detect(image, check_deadline)
    ]


Fractions = tuple[float, float, float, float]


def focus(
    found: list[Fractions], scaled: tuple[int, int], crop: tuple[int, int]
) -> tuple[float, float] | None:
    """A cover crop's focal point from the faces: the centre of the box holding every
    face when it fits ``crop`` (on the axis that is cut), else the largest face's
    centre; None without a face or when nothing is cut."""
    if not found:
        return None
    if crop[0] < scaled[0]:
        axis, full, cut = 0, scaled[0], crop[0]
    elif crop[1] < scaled[1]:
        axis, full, cut = 1, scaled[1], crop[1]
    else:
        return None
    low = min(face[axis] for face in found)
    high = max(face[axis + 2] for face in found)
    if (high - low) * full > cut:
        largest = max(found, key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
        low, high = largest[axis], largest[axis + 2]
    centre = (low + high) / 2
    return (centre, 0.5) if axis == 0 else (0.5, centre)
