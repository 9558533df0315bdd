"""``quality=auto`` and ``format=auto``: the smallest bytes at a perceptual target.

``quality=auto`` (:func:`search`): for one rendition in one lossy format, the encoder
quality whose output's SSIMULACRA2 score, against the rendition's own pixels before
encoding (the same-size resize of the upright source, cover crop included), reaches
QUALITY_TARGET as closely as it can, never more than :data:`FLOOR` below it:

1. a first guess from :data:`MODEL` (the median score per quality on examples/photos);
2. a secant search over the quality on a reduced proxy (:func:`proxy`: tiles of the
   rendition at full scale, so the artefacts are the ones the full size shows),
   :data:`MAX_PROBES` encodes at most, aiming :data:`AIM` below the target;
3. one full-size encode and measurement at the quality found, and steps (as many as
   :data:`MAX_STEPS`, bracketed) while it lands more than :data:`FLOOR` from the
   target; the closest to the target that holds the floor is kept.

A rendition small enough to be its own proxy is searched at full size (step 3 is then
the search's own last measurement).

``format=auto`` (:func:`choose`): the candidates are AVIF, WebP and a fallback: JPEG
for an opaque rendition, PNG for one with alpha. A flat graphic (:func:`is_graphic`)
also tries lossless WebP (the smaller WebP is the candidate) and PNG (for an opaque one
the smaller of PNG and JPEG is the fallback). An animation (``animated``) has no AVIF
candidate. :func:`keep_smaller` keeps a candidate only when it is strictly smaller
than every one kept after it, the fallback always: the result is smallest first,
fallback last (the manifest's order). Changing any of these rules (or :data:`MODEL`)
means bumping ``resizer.config.AUTO_RULES_VERSION``.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from PIL import Image, ImageChops

from resizer.errors import no_deadline
from resizer.imaging import _output
from resizer.imaging._frames import DeadlineCheck
from resizer.imaging._output import Encoding, Output

#: A candidate's score against a reference fixed beforehand.
Score = Callable[[Image.Image], float]
#: A reference image -> its :data:`Score` (the reference's side computed once).
Scorer = Callable[[Image.Image], Score]

#: The contract: an output's score is never more than this below QUALITY_TARGET.
FLOOR = 2.0
#: The proxy search aims this far below the target: the quality chosen is the lowest
#: probed whose proxy score reaches ``target - AIM`` (see docs/quality.md, measured).
AIM = 0.5
#: Proxy encodes per format at most (the first guess included).
MAX_PROBES = 3
#: Full-size steps at most after the confirmation (then quality 100 if none holds).
MAX_STEPS = 4
#: The proxy: up to PROXY_GRID x PROXY_GRID tiles of PROXY_TILE px, cut at the centres
#: of a grid over the rendition; a rendition under PROXY_MIN_RATIO times that area is
#: its own proxy.
PROXY_TILE = 96
PROXY_GRID = 3
PROXY_MIN_RATIO = 2
QUALITIES = range(5, 101)

#: The model of quality vs score: per Pillow encoder, (quality, median SSIMULACRA2 of
#: examples/photos' 800 px renditions at that quality, measured by _ssimulacra2 at
#: the encoder settings' other options, AVIF at 4:4:4 as the search encodes it),
#: quality ascending. Fitted by
#: ``bench/quality.py --fit`` (it prints this table); the first guess interpolates the
#: target in it, and its slope starts the secant.
MODEL: dict[str, tuple[tuple[int, float], ...]] = {
    "JPEG": ((20, 33.1), (40, 58.2), (60, 68.4), (75, 79.4), (85, 84.5), (92, 88.6), (100, 94.1)),
    "WEBP": ((20, 41.9), (40, 55.1), (60, 64.4), (75, 69.7), (85, 78.7), (92, 85.9), (100, 90.1)),
    "AVIF": ((20, 30.1), (40, 61.3), (60, 78.8), (75, 85.0), (85, 87.9), (92, 91.2), (100, 95.0)),
}

#: Chroma (measured by bench/quality.py on examples/photos at 800 px, target 85): 4:2:0
#: caps a detailed photo's score (its AVIF needed quality 100 and 381 KB for 85.7, at
#: 4:4:4 quality 78 and 100 KB for 84.1), and AVIF at 4:4:4 was as small or smaller on
#: every photo (462 KB in all against 767 KB): quality=auto encodes AVIF at 4:4:4. JPEG
#: at 4:4:4 is smaller only where 4:2:0 needs a high quality (Picture_1A: 143 KB
#: against 391 KB) and larger elsewhere (umang: 17.7 KB against 11.7 KB): a JPEG whose
#: 4:2:0 search ends at JPEG_FULL_CHROMA_FROM or above is searched at 4:4:4 too, and
#: the smaller kept. WebP's lossy mode has 4:2:0 only.
JPEG_FULL_CHROMA_FROM = 90
#: How much lower 4:4:4's first full-size try starts than 4:2:0's quality: what 4:4:4
#: needed less on the three photos concerned (6, 4 and 16 at target 85).
JPEG_FULL_CHROMA_STEP = 6

#: The graphics test: a rendition is a flat graphic when it has at most
#: GRAPHIC_MAX_COLOURS distinct colours and at least GRAPHIC_FLAT_SHARE of its pixels
#: equal their right-hand neighbour exactly. Measured (bench/quality.py --graphics) on
#: examples/photos' 1600, 800 and 150 px cover renditions and on generated charts,
#: screenshots and logos (tests/support/images.py ``graphic``) at 300-1600 px:
#: photos have 14,673 colours or more and a flat share of 0.35 or less (0.64 for one
#: very smooth photo at 1600 px, but with 139,684 colours); graphics 1,569
#: colours or fewer and a flat share of 0.50 or more (docs/quality.md).
GRAPHIC_MAX_COLOURS = 4096
GRAPHIC_FLAT_SHARE = 0.4


@dataclass(frozen=True)
class Choice:
    """One encoded output: its bytes, the encoder quality (None: lossless) and its
    measured score (None: not measured, a fixed quality)."""

    output: Output
    data: bytes
    quality: int | None
    score: float | None


def ssimulacra2(reference: Image.Image) -> Score:
    """The metric the Lambda runs (resizer.imaging._ssimulacra2)."""
    from resizer.imaging import _ssimulacra2  # noqa: PLC0415 (loaded only when measuring)

    return _ssimulacra2.Reference(reference).score


def guess(output: Output, target: float) -> int:
    """The model's quality for ``target`` (:data:`MODEL`, interpolated)."""
    points = MODEL[output.format]
    for (q0, s0), (q1, s1) in itertools.pairwise(points):
        if target <= s1:
            return _clamp(q0 + (q1 - q0) * (target - s0) / (s1 - s0))
    return QUALITIES[-1]


def _slope(output: Output, quality: int) -> float:
    """The model's quality per score point near ``quality``."""
    points = MODEL[output.format]
    for (q0, s0), (q1, s1) in itertools.pairwise(points):
        if quality <= q1:
            return (q1 - q0) / max(s1 - s0, 0.1)
    return 2.0


def _clamp(quality: float) -> int:
    return min(max(round(quality), QUALITIES[0]), QUALITIES[-1])


def proxy(image: Image.Image) -> Image.Image:
    """The reduced image the search encodes: tiles at full scale (module docstring)."""
    width, height = image.size
    cols, rows = min(PROXY_GRID, width // PROXY_TILE), min(PROXY_GRID, height // PROXY_TILE)
    area = cols * rows * PROXY_TILE * PROXY_TILE
    if not area or width * height < PROXY_MIN_RATIO * area:
        return image
    mosaic = Image.new(image.mode, (cols * PROXY_TILE, rows * PROXY_TILE))
    for row in range(rows):
        top = round((row + 0.5) * height / rows - PROXY_TILE / 2)
        for col in range(cols):
            left = round((col + 0.5) * width / cols - PROXY_TILE / 2)
            tile = image.crop((left, top, left + PROXY_TILE, top + PROXY_TILE))
            mosaic.paste(tile, (col * PROXY_TILE, row * PROXY_TILE))
    return mosaic


def _scored_mode(image: Image.Image) -> str:
    return "RGBA" if "A" in image.getbands() else "RGB"


def decoded(data: bytes, mode: str) -> Image.Image:
    """An encoded output's pixels, in ``mode`` (the reference's)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert(mode)


class _Measured:
    """Encodes one image at a quality and scores it with ``score`` (memoised)."""

    def __init__(
        self,
        image: Image.Image,
        score: Score,
        output: Output,
        encoding: Encoding,
        check_deadline: DeadlineCheck,
        *,
        full_chroma: bool = False,
    ) -> None:
        self.image, self.output, self.encoding = image, output, encoding
        self.full_chroma = full_chroma
        self.mode = _scored_mode(image)
        self._score = score
        self._check_deadline = check_deadline
        self.done: dict[int, tuple[bytes, float]] = {}

    def __call__(self, quality: int) -> float:
        if quality not in self.done:
            self._check_deadline()
            encoding = self.encoding.with_quality(quality)
            data = _output.encode(self.image, self.output, encoding, full_chroma=self.full_chroma)
            self.done[quality] = (data, self._score(decoded(data, self.mode)))
        return self.done[quality][1]


class References:
    """One rendition's references, shared by every format searched for it: the pixels
    each encoder receives (the same for all but JPEG of an image with alpha, which is
    flattened), their proxy, and the metric's reference side of both, each computed
    once."""

    def __init__(
        self,
        image: Image.Image,
        scorer: Scorer | None = None,
        check_deadline: DeadlineCheck = no_deadline,
    ) -> None:
        self.image = image
        self._scorer = scorer or ssimulacra2
        self._check_deadline = check_deadline
        self._made: dict[str, tuple[Image.Image, Score, Image.Image, Score]] = {}

    def measures(
        self, output: Output, encoding: Encoding, full_chroma: bool = False
    ) -> tuple[_Measured, _Measured]:
        """(on the proxy, at full size) for ``output`` (``full_chroma``: 4:4:4); one
        object when the rendition is its own proxy."""
        reference = _output.prepared(self.image, output)
        mode = _scored_mode(reference)
        if mode not in self._made:
            self._check_deadline()
            full = self._scorer(reference.convert(mode))
            small = proxy(reference)
            reduced = full if small is reference else self._scorer(small.convert(mode))
            self._made[mode] = (reference, full, small, reduced)
        reference, full, small, reduced = self._made[mode]
        check = self._check_deadline
        whole = _Measured(reference, full, output, encoding, check, full_chroma=full_chroma)
        if small is reference:
            return whole, whole
        small_one = _Measured(small, reduced, output, encoding, check, full_chroma=full_chroma)
        return small_one, whole


def _secant(probes: dict[int, float], aim: float, last: int, slope: float) -> float:
    """The next quality: through the two probes nearest the aim, else along ``slope``
    (quality per score point) from ``last``."""
    nearest = sorted(probes, key=lambda q: abs(probes[q] - aim))[:2]
    if len(nearest) == 2:
        (qa, sa), (qb, sb) = ((q, probes[q]) for q in nearest)
        if sb != sa and (qb - qa) / (sb - sa) > 0:
            return qa + (aim - sa) * (qb - qa) / (sb - sa)
    return last + (aim - probes[last]) * slope


def _measured_slope(probes: dict[int, float], output: Output, quality: int) -> float:
    """Quality per score point near ``quality``: the probes' secant, else the model's."""
    nearest = sorted(probes, key=lambda q: abs(q - quality))[:2]
    if len(nearest) == 2:
        (qa, sa), (qb, sb) = ((q, probes[q]) for q in nearest)
        if sb != sa and 0 < (qb - qa) / (sb - sa) < 10:
            return (qb - qa) / (sb - sa)
    return _slope(output, quality)


def _searched(measure: _Measured, target: float) -> int:
    """The lowest quality probed whose score reaches ``target - AIM`` (else the highest
    probed): a secant search from the model's guess, bracketed."""
    aim = target - AIM
    quality = guess(measure.output, aim)
    probes: dict[int, float] = {}
    for _ in range(MAX_PROBES):
        probes[quality] = measure(quality)
        low = max((q for q, s in probes.items() if s < aim), default=QUALITIES[0] - 1)
        high = min((q for q, s in probes.items() if s >= aim), default=QUALITIES[-1] + 1)
        if high - low <= 1:
            break
        slope = _slope(measure.output, quality)
        following = _clamp(_secant(probes, aim, quality, slope))
        following = min(max(following, low + 1), high - 1)
        if following in probes:
            break
        quality = following
    reaching = [q for q, s in probes.items() if s >= aim]
    return min(reaching) if reaching else max(probes)


def search(  # noqa: PLR0917 (the scorer and the deadline are the optional ones)
    image: Image.Image,
    output: Output,
    encoding: Encoding,
    target: float,
    scorer: Scorer | None = None,
    check_deadline: DeadlineCheck = no_deadline,
    *,
    references: References | None = None,
) -> Choice:
    """``image`` (as the encoders receive it) in lossy ``output`` at the quality the
    module docstring's search finds for ``target`` (``scorer``: :func:`ssimulacra2`;
    ``references``: ``image``'s, shared with its other formats' searches)."""
    references = references or References(image, scorer, check_deadline)
    found = _search_at(references, output, encoding, target, full_chroma=output is _output.AVIF)
    if output is _output.JPEG and (found.quality or 0) >= JPEG_FULL_CHROMA_FROM:
        # At full size only, from JPEG_FULL_CHROMA_STEP below 4:2:0's quality.
        start = _clamp((found.quality or 0) - JPEG_FULL_CHROMA_STEP)
        full = _search_at(references, output, encoding, target, full_chroma=True, start=start)
        found = min(found, full, key=lambda c: ((c.score or 0) < target - FLOOR, len(c.data)))
    return found


def _search_at(
    references: References,
    output: Output,
    encoding: Encoding,
    target: float,
    *,
    full_chroma: bool,
    start: int | None = None,
) -> Choice:
    """:func:`search`'s steps for one chroma resolution (``start``: no proxy search,
    the full-size confirmation from that quality)."""
    searched, full = references.measures(output, encoding, full_chroma)
    if start is not None:
        return _confirmed(full, start, target, _slope(output, start))
    quality = _searched(searched, target)
    slope = _measured_slope({q: v for q, (_, v) in searched.done.items()}, output, quality)
    return _confirmed(full, quality, target, slope)


def _confirmed(full: _Measured, quality: int, target: float, slope: float) -> Choice:
    """The full-size measurement at ``quality``, then steps (at most :data:`MAX_STEPS`:
    secants, from ``slope`` (quality per score point) while one point is known; within
    the bracket the steps before found, else halving it) while it lands more than
    :data:`FLOOR` from the target: the score closest to the target that holds the
    floor (or quality 100, when none does)."""
    low, high = QUALITIES[0] - 1, QUALITIES[-1] + 1  # below the floor / above the band
    for _ in range(MAX_STEPS):
        score = full(quality)
        if score < target - FLOOR:
            low = max(low, quality)
        elif score > target + FLOOR:
            high = min(high, quality)
        else:
            break
        probes = {q: v for q, (_, v) in full.done.items()}
        if low in probes and high in probes:  # bracketed: interpolate between its ends
            bracket = {low: probes[low], high: probes[high]}
            following = _clamp(_secant(bracket, target - AIM, quality, slope))
        else:
            following = _clamp(_secant(probes, target - AIM, quality, slope))
        following = min(max(following, low + 1), high - 1)
        if following in full.done or not low < following < high:
            following = (low + high) // 2
        if following in full.done or not low < following < high:
            break
        quality = following
    full(quality)
    holding = [q for q, (_, s) in full.done.items() if s >= target - FLOOR]
    if not holding:
        holding = [QUALITIES[-1]]
        full(QUALITIES[-1])
    best = min(holding, key=lambda q: (abs(full.done[q][1] - target), q))
    data, score = full.done[best]
    return Choice(full.output, data, best, score)


def fixed(image: Image.Image, output: Output, encoding: Encoding) -> Choice:
    """``image`` in ``output`` at the encoder settings' quality, unmeasured."""
    return Choice(
        output, _output.encode(image, output, encoding), quality_of(output, encoding), None
    )


def quality_of(output: Output, encoding: Encoding) -> int | None:
    """The quality ``encoding`` gives ``output`` (None for a lossless one)."""
    return {
        "JPEG": encoding.jpeg_quality,
        "WEBP": encoding.webp_quality,
        "AVIF": encoding.avif_quality,
    }.get(output.format)


def lossless(image: Image.Image, output: Output, encoding: Encoding, measured: bool) -> Choice:
    """``image`` in PNG or lossless WebP (score 100 when ``measured``: it is the
    reference itself)."""
    data = _output.encode(image, output, encoding, lossless=True)
    return Choice(output, data, None, 100.0 if measured else None)


def is_graphic(image: Image.Image) -> bool:
    """Whether ``image`` is a flat graphic (a screenshot, a chart, a logo): at most
    :data:`GRAPHIC_MAX_COLOURS` colours, and at least :data:`GRAPHIC_FLAT_SHARE` of its
    pixels equal to their right-hand neighbour."""
    return (
        image.getcolors(GRAPHIC_MAX_COLOURS) is not None and flat_share(image) >= GRAPHIC_FLAT_SHARE
    )


def flat_share(image: Image.Image) -> float:
    """The share of ``image``'s pixels equal to their right-hand neighbour."""
    width, height = image.size
    if width < 2:
        return 0.0
    left = image.crop((0, 0, width - 1, height))
    right = image.crop((1, 0, width, height))
    difference = ImageChops.difference(left, right)
    bands = difference.split()
    largest = bands[0]
    for band in bands[1:]:
        largest = ImageChops.lighter(largest, band)
    return largest.histogram()[0] / ((width - 1) * height)


class _Encoded(Protocol):
    @property
    def data(self) -> bytes: ...


_E = TypeVar("_E", bound=_Encoded)


def keep_smaller(candidates: Sequence[_E]) -> list[_E]:
    """Each candidate kept only when strictly smaller than every one kept after it; the
    last (the fallback) always. Smallest first, fallback last. (Choices of a still,
    or an animation's rendered outputs.)"""
    kept = [candidates[-1]]
    for candidate in reversed(candidates[:-1]):
        if len(candidate.data) < len(kept[0].data):
            kept.insert(0, candidate)
    return kept


def choose(
    image: Image.Image,
    *,
    opaque: bool,
    encoding: Encoding,
    target: float | None,
    scorer: Scorer | None = None,
    check_deadline: DeadlineCheck = no_deadline,
) -> list[Choice]:
    """``format=auto`` for one still rendition (module docstring); ``target`` None: the
    lossy candidates at the encoder settings' qualities, unmeasured."""

    references = References(image, scorer, check_deadline)

    def lossy(output: Output) -> Choice:
        check_deadline()
        if target is None:
            return fixed(image, output, encoding)
        return search(image, output, encoding, target, references=references)

    graphic = is_graphic(image)
    measured = target is not None
    webp = lossy(_output.WEBP)
    if graphic:
        check_deadline()
        flat = lossless(image, _output.WEBP, encoding, measured)
        webp = min(webp, flat, key=lambda c: len(c.data))
    if not opaque:
        check_deadline()
        fallback = lossless(image, _output.PNG, encoding, measured)
    else:
        fallback = lossy(_output.JPEG)
        if graphic:
            check_deadline()
            png = lossless(image, _output.PNG, encoding, measured)
            fallback = min(png, fallback, key=lambda c: len(c.data))
    return keep_smaller([lossy(_output.AVIF), webp, fallback])
