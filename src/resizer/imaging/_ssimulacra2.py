"""SSIMULACRA2, the perceptual metric of libjxl's tools/ssimulacra2.cc, in Pillow alone.

The Lambda zip has no room for numpy (issue 19), so every per-pixel step is a Pillow
operation on 32-bit float ("F") planes, each a loop in C: lookup tables (``point``),
``ImageMath`` arithmetic, ``reduce``, pastes and crops, a box resize to one pixel for
a mean. It follows the reference Python package ``ssimulacra2`` 0.3.0 (numpy + scipy;
a dev dependency the tests compare against): the same constants, opsin/XYB transform,
MakePositiveXYB, 2x2 box means of linear RGB between six scales (a scale under 8
pixels either way ends the pyramid), SSIM and edge-difference maps, 108 weights and
final transform. Where it departs (docs/quality.md, "The metric"; measured by
tests/unit/test_ssimulacra2.py and bench/ssimulacra2.py: within 0.1 point):

- The Gaussian blur (sigma 1.5) is six passes of a separable 3x3 kernel
  ``[a, 1-2a, a]``, ``a`` fitted to the reference's 11-tap kernel, on a fixed-point
  ("I") copy: Pillow filters no float image. The padding is the reference's: zero
  columns left and right of the image, mirrored rows above and below (its arrays are
  transposed, so its "vertical" zeros fall at the sides).
- Terms whose weight is under NEGLIGIBLE_WEIGHT are not computed.
- Alpha: the reference package drops alpha (it converts to RGB before it looks), so
  colours under transparent pixels, which encoders are free to change, would count.
  This follows libjxl instead: when the reference has alpha (a pixel not opaque), both
  images are composited in sRGB on a dark (0.1) and a light (0.9) grey and the lower
  score counts; a distorted image with alpha against an opaque reference is composited
  on 0.5 grey, one without alpha against a reference with alpha compared as it is.

Images under 8 pixels either way have no scale and score 100, as in the reference.
Thread-safe (no shared mutable state); Pillow's ImageMath does not release the GIL
while it computes, so scores in parallel threads overlap only partly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from PIL import Image, ImageFilter, ImageMath

#: Scales of the pyramid; a scale smaller than MIN_SIZE either way ends it.
NUM_SCALES = 6
MIN_SIZE = 8
_C2 = 0.0009

# Opsin absorbance (libjxl lib/jxl/opsin_params.h).
_M02 = 0.078
_M00 = 0.30
_M01 = 1.0 - _M02 - _M00
_M12 = 0.078
_M10 = 0.23
_M11 = 1.0 - _M12 - _M10
_M20 = 0.24342268924547819
_M21 = 0.20476744424496821
_M22 = 1.0 - _M20 - _M21
_OPSIN = ((_M00, _M01, _M02), (_M10, _M11, _M12), (_M20, _M21, _M22))
_BIAS = 0.0037930732552754493
_CBRT_BIAS = _BIAS ** (1.0 / 3.0)

# The 108 weights: per channel (X, Y, B), per scale, per norm (1, 4): SSIM, ringing
# (artifacts), blurring (detail lost).
_WEIGHTS = (
    0.0,
    0.0007376606707406586,
    0.0,
    0.0,
    0.0007793481682867309,
    0.0,
    0.0,
    0.0004371155730107379,
    0.0,
    1.1041726426657346,
    0.00066284834129271,
    0.00015231632783718752,
    0.0,
    0.0016406437456599754,
    0.0,
    1.8422455520539298,
    11.441172603757666,
    0.0,
    0.0007989109436015163,
    0.000176816438078653,
    0.0,
    1.8787594979546387,
    10.94906990605142,
    0.0,
    0.0007289346991508072,
    0.9677937080626833,
    0.0,
    0.00014003424285435884,
    0.9981766977854967,
    0.00031949755934435053,
    0.0004550992113792063,
    0.0,
    0.0,
    0.0013648766163243398,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    7.466890328078848,
    0.0,
    17.445833984131262,
    0.0006235601634041466,
    0.0,
    0.0,
    6.683678146179332,
    0.00037724407979611296,
    1.027889937768264,
    225.20515300849274,
    0.0,
    0.0,
    19.213238186143016,
    0.0011401524586618361,
    0.001237755635509985,
    176.39317598450694,
    0.0,
    0.0,
    24.43300999870476,
    0.28520802612117757,
    0.0004485436923833408,
    0.0,
    0.0,
    0.0,
    34.77906344483772,
    44.835625328877896,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0008680556573291698,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0005313191874358747,
    0.0,
    0.00016533814161379112,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0004179171803251336,
    0.0017290828234722833,
    0.0,
    0.0020827005846636437,
    0.0,
    0.0,
    8.826982764996862,
    23.19243343998926,
    0.0,
    95.1080498811086,
    0.9863978034400682,
    0.9834382792465353,
    0.0012286405048278493,
    171.2667255897307,
    0.9807858872435379,
    0.0,
    0.0,
    0.0,
    0.0005130064588990679,
    0.0,
    0.00010854057858411537,
)

#: Terms whose weight is below this are not computed: 83 of the 108 weights (56 are 0,
#: the other 27 under 0.003; the smallest kept is 0.29), together under 0.002 points
#: on the photos of bench/ssimulacra2.py at 200-800 px (the reference package with
#: them zeroed; tests/unit/test_ssimulacra2.py checks 0.01).
#: At 6 scales the first scale then needs the Y channel alone, the last nothing.
NEGLIGIBLE_WEIGHT = 0.1

# The blur: _PASSES passes of a separable 3x3 kernel [a, 1-2a, a] x [a, 1-2a, a] on a
# fixed-point copy (Pillow filters "I" images, accumulating in float32; 30 fractional
# bits keep float32's precision: every XYB value, and every product of two, is below
# 1.0, so below 2**31 once scaled).
_TAP = 0.1859411298297345
_PASSES = 6
_FIXED = float(1 << 30)
_ROW = (_TAP, 1.0 - 2.0 * _TAP, _TAP)
_KERNEL = ImageFilter.Kernel((3, 3), [v * h for v in _ROW for h in _ROW], scale=1.0)
# Pillow copies a filter's outermost pixels unfiltered: after _PASSES passes, the
# _PASSES outermost rows/columns are wrong, so every plane is padded by that much.
_PAD = _PASSES

# Backgrounds of a composited image with alpha (libjxl: dark and light, the worse
# counts); 0.5 for a distorted image with alpha against an opaque reference.
_DARK_LIGHT = (0.1, 0.9)
_GREY = 0.5


def _srgb_to_linear(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


_LINEAR = [_srgb_to_linear(i / 255.0) for i in range(256)]
_UNIT = [i / 255.0 for i in range(256)]
# Per opsin row i and input channel j: byte -> M[i][j] * linear(byte), the bias in j=0.
_MIX_LUTS = tuple(
    tuple([m * v + (_BIAS if j == 0 else 0.0) for v in _LINEAR] for j, m in enumerate(row))
    for row in _OPSIN
)
# The opsin rows each XYB channel needs: X and Y mix rows 0 and 1, B all three.
_ROWS_OF = ((0, 1), (0, 1), (0, 1, 2))

Planes = tuple[Image.Image, Image.Image, Image.Image]
Math = Callable[[dict[str, Any]], Any]
Box = tuple[int, int, int, int]


def _math(expression: Math, **operands: Image.Image) -> Image.Image:
    """One ImageMath expression over whole planes (a C loop per operator)."""
    result = ImageMath.lambda_eval(expression, **operands)
    assert isinstance(result, Image.Image)
    return result


def _mean(plane: Image.Image, box: Box) -> float:
    mean = plane.resize((1, 1), Image.Resampling.BOX, box=box).getpixel((0, 0))
    assert isinstance(mean, float)
    return mean


@dataclass(frozen=True)
class _Terms:
    """The weights of one channel at one scale: of the SSIM map's, the ringing's and
    the blurring's 1-norm and 4-norm (0.0: negligible, not computed)."""

    ssim: tuple[float, float]
    ring: tuple[float, float]
    blur: tuple[float, float]

    @property
    def structure(self) -> bool:
        return any(self.ssim)

    @property
    def edges(self) -> bool:
        return any(self.ring) or any(self.blur)

    @property
    def any(self) -> bool:
        return self.structure or self.edges


def _scale_count(size: tuple[int, int]) -> int:
    width, height = size
    count = 0
    while count < NUM_SCALES and width >= MIN_SIZE and height >= MIN_SIZE:
        count += 1
        width, height = (width + 1) // 2, (height + 1) // 2
    return count


@cache
def _terms(scales: int, negligible: float) -> tuple[tuple[_Terms, _Terms, _Terms], ...]:
    """Per scale, per channel: the weights that count. The reference walks the weights
    channel by channel, scale by scale, norm by norm (SSIM, ringing, blurring), over
    the scales the image has: with fewer than six, weights shift to other terms."""

    def weight(c: int, scale: int, n: int, k: int) -> float:
        w = _WEIGHTS[((c * scales + scale) * 2 + n) * 3 + k]
        return w if w >= negligible else 0.0

    def terms(c: int, scale: int) -> _Terms:
        ssim, ring, blur = ((weight(c, scale, 0, k), weight(c, scale, 1, k)) for k in range(3))
        return _Terms(ssim=ssim, ring=ring, blur=blur)

    return tuple((terms(0, scale), terms(1, scale), terms(2, scale)) for scale in range(scales))


def _rgb_and_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    if image.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    if image.mode == "RGB":
        return image, None
    alpha = image.getchannel("A")
    # An alpha that is opaque everywhere changes nothing: scored as RGB.
    return image.convert("RGB"), None if alpha.getextrema() == (255, 255) else alpha


def _composited(rgb: Image.Image, alpha: Image.Image, background: float) -> Planes:
    """Linear-light R, G, B planes of ``rgb`` over ``background``, blended in sRGB."""
    a = alpha.point(_UNIT, "F")
    linear = []
    for band in rgb.split():
        v = _math(
            lambda e: (e["v"] - background) * e["a"] + background,
            v=band.point(_UNIT, "F"),
            a=a,
        )
        hi = _math(lambda e: ((e["v"] + 0.055) * (1.0 / 1.055)) ** 2.4, v=v)
        linear.append(
            _math(
                lambda e: e["hi"] + (e["v"] * (1.0 / 12.92) - e["hi"]) * (e["v"] <= 0.04045),
                v=v,
                hi=hi,
            )
        )
    return linear[0], linear[1], linear[2]


def _xyb(bands: Planes, lookup: bool, wanted: tuple[bool, bool, bool]) -> list[Image.Image | None]:
    """The MakePositiveXYB planes of the ``wanted`` channels. ``bands``: 8-bit sRGB
    (``lookup``: the opsin mix through tables) or linear-light float planes."""
    rows = sorted({row for c, want in enumerate(wanted) if want for row in _ROWS_OF[c]})
    cubes: dict[int, Image.Image] = {}
    for row in rows:
        if lookup:
            parts = [band.point(_MIX_LUTS[row][j], "F") for j, band in enumerate(bands)]
        else:
            parts = [
                band.point(lambda v, m=m, o=(_BIAS if j == 0 else 0.0): v * m + o)
                for j, (band, m) in enumerate(zip(bands, _OPSIN[row], strict=True))
            ]
        cubes[row] = _math(
            lambda e: (e["p0"] + e["p1"] + e["p2"]) ** (1.0 / 3.0),
            p0=parts[0],
            p1=parts[1],
            p2=parts[2],
        )
    planes: list[Image.Image | None] = [None, None, None]
    if wanted[0]:
        planes[0] = _math(lambda e: e["c0"] - e["c1"], c0=cubes[0], c1=cubes[1]).point(
            lambda v: v * 7.0 + 0.42
        )
    if wanted[1] or wanted[2]:
        both = _math(lambda e: e["c0"] + e["c1"], c0=cubes[0], c1=cubes[1])
        if wanted[1]:
            planes[1] = both.point(lambda v: v * 0.5 + (0.01 - _CBRT_BIAS))
        if wanted[2]:
            half = both.point(lambda v: v * 0.5 - 0.55)
            planes[2] = _math(lambda e: e["c2"] - e["h"], c2=cubes[2], h=half)
    return planes


def _pyramid(
    rgb: Image.Image,
    alpha: Image.Image | None,
    background: float,
    terms: Sequence[tuple[_Terms, ...]],
) -> Iterator[list[Image.Image | None]]:
    """Per scale, the MakePositiveXYB planes of the channels with ``terms`` (2x2 box
    means of linear RGB between scales); stops after the last scale that counts."""
    last = max((scale for scale, per in enumerate(terms) if any(t.any for t in per)), default=-1)
    if last < 0:
        return
    if alpha is None:
        r, g, b = rgb.split()
        yield _xyb((r, g, b), True, tuple(t.any for t in terms[0]))  # type: ignore[arg-type]
        if last == 0:
            return
        linear = (r.point(_LINEAR, "F"), g.point(_LINEAR, "F"), b.point(_LINEAR, "F"))
        first = 1
    else:
        linear = _composited(rgb, alpha, background)
        first = 0
    for scale in range(first, last + 1):
        if scale:
            r, g, b = (plane.reduce(2) for plane in linear)
            linear = (r, g, b)
        yield _xyb(linear, False, tuple(t.any for t in terms[scale]))  # type: ignore[arg-type]


def _pad(plane: Image.Image) -> Image.Image:
    # The reference's arrays are transposed (its XYB conversion returns x-major
    # planes), so its zero padding falls left and right of the image, its reflection
    # above and below.
    width, height = plane.size
    padded = Image.new("F", (width + 2 * _PAD, height + 2 * _PAD), 0.0)
    padded.paste(plane, (_PAD, _PAD))
    top = plane.crop((0, 0, width, _PAD)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    bottom = plane.crop((0, height - _PAD, width, height)).transpose(
        Image.Transpose.FLIP_TOP_BOTTOM
    )
    padded.paste(top, (_PAD, 0))
    padded.paste(bottom, (_PAD, height + _PAD))
    return padded


def _blur(fixed: Image.Image) -> Image.Image:
    """The blur of a padded plane given in fixed-point units (x _FIXED), unscaled."""
    blurred = fixed.convert("I")
    for _ in range(_PASSES):
        blurred = blurred.filter(_KERNEL)
    return blurred.convert("F").point(lambda v: v * (1.0 / _FIXED))


def _norms(plane: Image.Image, weights: tuple[float, float], box: Box) -> float:
    """The weighted 1-norm (mean) and 4-norm of a non-negative map over ``box``."""
    total = 0.0
    if weights[0]:
        total += weights[0] * _mean(plane, box)
    if weights[1]:
        squared = _math(lambda e: e["d"] * e["d"], d=plane)
        fourth = _math(lambda e: e["s"] * e["s"], s=squared)
        del squared
        total += weights[1] * max(_mean(fourth, box), 0.0) ** 0.25
    return total


@dataclass(frozen=True)
class _Prepared:
    """One channel of one scale of the reference, padded: what every score reuses."""

    terms: _Terms
    mu: Image.Image
    fixed: Image.Image | None  # the plane x _FIXED (for the cross term)
    variance: Image.Image | None  # blur(plane²) - mu² + C2
    edge: Image.Image | None  # 1 + |plane - mu|


def _moments(
    plane: Image.Image, structure: bool
) -> tuple[Image.Image, Image.Image, Image.Image, Image.Image | None]:
    """What each side of a comparison computes of its plane: (the plane padded, the
    same x _FIXED, its blurred mean, and with ``structure`` the blurred square)."""
    padded = _pad(plane)
    fixed = padded.point(lambda v: v * _FIXED)
    mu = _blur(fixed)
    sigma = _blur(_math(lambda e: e["f"] * e["p"], f=fixed, p=padded)) if structure else None
    return padded, fixed, mu, sigma


def _edge(padded: Image.Image, mu: Image.Image) -> Image.Image:
    """1 + |plane - mu|: the edge map the ringing and blurring terms compare."""
    return _math(lambda e: abs(e["p"] - e["mu"]), p=padded, mu=mu).point(lambda v: v + 1.0)


def _prepare(plane: Image.Image, terms: _Terms) -> _Prepared:
    padded, fixed, mu, sigma = _moments(plane, terms.structure)
    variance = None
    if sigma is not None:
        variance = _math(lambda e: e["s"] - e["mu"] * e["mu"], s=sigma, mu=mu).point(
            lambda v: v + _C2
        )
    edge = _edge(padded, mu) if terms.edges else None
    return _Prepared(
        terms=terms,
        mu=mu,
        fixed=fixed if terms.structure else None,
        variance=variance,
        edge=edge,
    )


def _ssim_map(
    ref: _Prepared, mu: Image.Image, sigma: Image.Image, cross: Image.Image
) -> Image.Image:
    """max(1 - (1 - (mu1 - mu2)²) (2 cov12 + C2) / (var1 + var2 + C2), 0), the
    numerator added up like the denominator (var1 + C2 is prepared): identical images
    give exactly 0, so score exactly 100. Each temporary is dropped once used."""
    assert ref.variance is not None
    cov = _math(lambda e: e["s12"] - e["mu1"] * e["mu2"], s12=cross, mu1=ref.mu, mu2=mu)
    numerator = _math(lambda e: e["c"] + e["c2"], c=cov, c2=cov.point(lambda v: v + _C2))
    del cov
    denominator = _math(
        lambda e: e["s22"] - e["mu2"] * e["mu2"] + e["v1"], s22=sigma, mu2=mu, v1=ref.variance
    )
    apart = _math(lambda e: e["mu1"] - e["mu2"], mu1=ref.mu, mu2=mu)
    means = _math(lambda e: e["d"] * e["d"], d=apart)
    del apart
    ratio = _math(
        lambda e: e["m"] * e["n"] / e["d"],
        m=means.point(lambda v: 1.0 - v),
        n=numerator,
        d=denominator,
    )
    del means, numerator, denominator
    return _math(lambda e: e["max"](e["d"], 0.0), d=ratio.point(lambda v: 1.0 - v))


def _edge_terms(ref: _Prepared, padded: Image.Image, mu: Image.Image, box: Box) -> float:
    """The ringing and blurring terms: (1 + |p2 - mu2|) / (1 + |p1 - mu1|) above 1 is
    ringing (edges the reference lacks), below 1 blurring (detail lost)."""
    assert ref.edge is not None
    terms = ref.terms
    ratio = _math(lambda e: e["d"] / e["e1"], d=_edge(padded, mu), e1=ref.edge)
    total = 0.0
    if any(terms.ring):
        ring = _math(lambda e: e["max"](e["q"], 1.0), q=ratio).point(lambda v: v - 1.0)
        total += _norms(ring, terms.ring, box)
        del ring
    if any(terms.blur):
        lost = _math(lambda e: e["min"](e["q"], 1.0), q=ratio).point(lambda v: 1.0 - v)
        total += _norms(lost, terms.blur, box)
    return total


def _compare(ref: _Prepared, plane: Image.Image) -> float:
    """The weighted sum of one channel's terms at one scale."""
    terms = ref.terms
    width, height = plane.size
    box = (_PAD, _PAD, _PAD + width, _PAD + height)
    padded, fixed, mu, sigma = _moments(plane, terms.structure)
    del fixed
    total = _edge_terms(ref, padded, mu, box) if terms.edges else 0.0
    if sigma is not None:
        assert ref.fixed is not None
        cross = _blur(_math(lambda e: e["f"] * e["p"], f=ref.fixed, p=padded))
        del padded
        total += _norms(_ssim_map(ref, mu, sigma, cross), terms.ssim, box)
    return total


def _final(total: float) -> float:
    """The final transform of the weighted sum."""
    total *= 0.9562382616834844
    total = (
        2.326765642916932 * total
        - 0.020884521182843837 * total * total
        + 6.248496625763138e-05 * total * total * total
    )
    if total > 0:
        return float(100.0 - 10.0 * total**0.6276336467831387)
    return 100.0


class Reference:
    """A reference image prepared once (its XYB pyramid, blurred means and variances)
    for scoring any number of distorted images of the same size against it."""

    def __init__(self, reference: Image.Image) -> None:
        rgb, alpha = _rgb_and_alpha(reference)
        self.size: tuple[int, int] = rgb.size
        self._terms = _terms(_scale_count(self.size), NEGLIGIBLE_WEIGHT)
        self._backgrounds = (_GREY,) if alpha is None else _DARK_LIGHT
        self._prepared = {
            background: [
                [
                    _prepare(plane, terms) if plane is not None else None
                    for plane, terms in zip(planes, per_scale, strict=True)
                ]
                for planes, per_scale in zip(
                    _pyramid(rgb, alpha, background, self._terms), self._terms, strict=False
                )
            ]
            for background in self._backgrounds
        }

    def score(self, distorted: Image.Image) -> float:
        """SSIMULACRA2 of ``distorted`` against this reference (100: identical)."""
        if distorted.size != self.size:
            raise ValueError(
                f"SSIMULACRA2 compares images of one size: the reference is "
                f"{self.size[0]}x{self.size[1]}, the distorted image "
                f"{distorted.size[0]}x{distorted.size[1]}"
            )
        rgb, alpha = _rgb_and_alpha(distorted)
        scores = []
        for background in self._backgrounds:
            total = 0.0
            prepared = self._prepared[background]
            for refs, planes in zip(
                prepared, _pyramid(rgb, alpha, background, self._terms), strict=True
            ):
                for ref, plane in zip(refs, planes, strict=True):
                    if ref is not None and plane is not None:
                        total += _compare(ref, plane)
            scores.append(_final(total))
        return min(scores)


def score(reference: Image.Image, distorted: Image.Image) -> float:
    """SSIMULACRA2 of ``distorted`` against ``reference`` (same size; RGB or RGBA, 8-bit sRGB)."""
    return Reference(reference).score(distorted)
