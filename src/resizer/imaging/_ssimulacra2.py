"""SSIMULACRA2, the perceptual metric of libjxl's tools/ssimulacra2.cc, in Pillow alone.

The Lambda zip has no room for numpy (issue 19), so every per-pixel step is a Pillow
operation on 32-bit float ("F") planes, each a loop in C: lookup tables (``point``),
``ImageMath`` arithmetic, ``reduce``, crops, and a box resize to one pixel for a mean.
It follows the reference Python package ``ssimulacra2`` 0.3.0 (numpy + scipy; a dev
dependency that the tests compare against): the same constants, opsin/XYB transform,
MakePositiveXYB, 2x2 downscaling in linear RGB over six scales (a scale narrower or
shorter than 8 pixels ends the pyramid), SSIM and edge-difference maps, 108 weights
and final transform. Two departures, both measured by tests/unit/test_ssimulacra2.py
and bench/ssimulacra2.py:

- The Gaussian blur (sigma 1.5; zero rows above and below the image, mirrored
  columns at its sides, as the reference pads it) is six passes of a 3x3 kernel on a
  fixed-point ("I", 22 fractional bits) copy, the only blur Pillow runs on more than
  8 bits: 6 x [a, 1-2a, a] per axis, ``a`` fitted to the reference's 11-tap kernel
  (RMS difference 6e-4 of a kernel whose centre tap is 0.27).
- Alpha: the reference package converts both images to RGB, which drops alpha (its
  blending code is never reached), so colours under transparent pixels, which
  encoders are free to change, would count. This follows libjxl instead: when the
  reference has alpha (any pixel not opaque), both images are composited in sRGB on
  a dark (0.1) and a light (0.9) grey and the lower score counts; an opaque
  reference composites a distorted image that has alpha on 0.5 grey.

Images smaller than 8 pixels either way have no scale and score 100, as in the
reference. Thread-safe: no shared mutable state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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

# The blur: _PASSES passes of a separable 3x3 kernel [a, 1-2a, a] x [a, 1-2a, a] on a
# fixed-point copy (Pillow filters "I" images, accumulating in float32: values stay
# below 2**24 / _FIXED, and every XYB value and product of two is below 1.0).
_TAP = 0.1859411298297345
_PASSES = 6
_FIXED = float(1 << 30)
_ROW = (_TAP, 1.0 - 2.0 * _TAP, _TAP)
_KERNEL = ImageFilter.Kernel((3, 3), [v * h for v in _ROW for h in _ROW], scale=1.0)
# Pillow copies a filter's outermost pixels unfiltered: after _PASSES passes, the
# _PASSES outermost rows/columns are wrong, so every plane is padded by that much
# (zero rows above and below, mirrored columns at the sides, like the reference).
_PAD = _PASSES

# Backgrounds of a composited image with alpha (libjxl: dark and light, the worse
# counts); 0.5 for a distorted image with alpha against an opaque reference.
_DARK_LIGHT = (0.1, 0.9)
_GREY = 0.5


def _srgb_to_linear(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


_LINEAR = [_srgb_to_linear(i / 255.0) for i in range(256)]
_UNIT = [i / 255.0 for i in range(256)]


Planes = tuple[Image.Image, Image.Image, Image.Image]


def _op(expression: str, **planes: Image.Image | float) -> Image.Image:
    # Every step is one expression over whole planes (ImageMath: a C loop per operator).
    result = ImageMath.unsafe_eval(expression, **planes)
    assert isinstance(result, Image.Image)
    return result


def _mean(plane: Image.Image) -> float:
    mean = plane.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(mean, float)
    return mean


def _rgb_and_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    if image.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    if image.mode == "RGB":
        return image, None
    alpha = image.getchannel("A")
    # An alpha that is opaque everywhere changes nothing: scored as RGB.
    return image.convert("RGB"), None if alpha.getextrema() == (255, 255) else alpha


def _linear(rgb: Image.Image, alpha: Image.Image | None, background: float) -> Planes:
    """Linear-light R, G, B planes; with alpha, composited on ``background`` in sRGB."""
    bands = rgb.split()
    if alpha is None:
        r, g, b = (band.point(_LINEAR, "F") for band in bands)
        return r, g, b
    a = alpha.point(_UNIT, "F")
    linear = []
    for band in bands:
        v = _op("(v - bg) * a + bg", v=band.point(_UNIT, "F"), a=a, bg=background)
        linear.append(
            _op(
                "hi + (v * (1.0 / 12.92) - hi) * (v <= 0.04045)",
                v=v,
                hi=_op("((v + 0.055) * (1.0 / 1.055)) ** 2.4", v=v),
            )
        )
    return linear[0], linear[1], linear[2]


def _xyb(linear: Planes) -> Planes:
    """MakePositiveXYB(XYB(linear RGB)): the planes the maps compare."""
    r, g, b = linear
    cubes = [
        _op(
            "(r * m0 + g * m1 + b * m2 + bias) ** (1.0 / 3.0)",
            r=r,
            g=g,
            b=b,
            m0=m[0],
            m1=m[1],
            m2=m[2],
            bias=_BIAS,
        )
        for m in _OPSIN
    ]
    c0, c1, c2 = cubes
    x = _op("(c0 - c1) * 7.0 + 0.42", c0=c0, c1=c1)
    y = _op("(c0 + c1) * 0.5 + k", c0=c0, c1=c1, k=0.01 - _CBRT_BIAS)
    blue = _op("c2 - (c0 + c1) * 0.5 + 0.55", c0=c0, c1=c1, c2=c2)
    return x, y, blue


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


def _interior(plane: Image.Image) -> Image.Image:
    width, height = plane.size
    return plane.crop((_PAD, _PAD, width - _PAD, height - _PAD))


def _blur(plane: Image.Image) -> Image.Image:
    fixed = plane.point(lambda v: v * _FIXED).convert("I")
    for _ in range(_PASSES):
        fixed = fixed.filter(_KERNEL)
    return fixed.convert("F").point(lambda v: v * (1.0 / _FIXED))


def _norms(plane: Image.Image) -> tuple[float, float]:
    """The 1-norm (mean) and the 4-norm of a non-negative map."""
    squared = _op("d * d", d=plane)
    return _mean(plane), max(_mean(_op("s * s", s=squared)), 0.0) ** 0.25


@dataclass(frozen=True)
class _ReferencePlane:
    """One channel of one scale of the reference, padded: what every score reuses."""

    plane: Image.Image
    mu: Image.Image
    variance: Image.Image  # blur(plane²) - mu²
    edge: Image.Image  # 1 + |plane - mu|


def _reference_planes(xyb: Planes) -> tuple[_ReferencePlane, ...]:
    planes = []
    for channel in xyb:
        padded = _pad(channel)
        mu = _blur(padded)
        sigma = _blur(_op("p * p", p=padded))
        planes.append(
            _ReferencePlane(
                plane=padded,
                mu=mu,
                variance=_op("s - mu * mu", s=sigma, mu=mu),
                edge=_op("abs(p - mu) + 1.0", p=padded, mu=mu),
            )
        )
    return tuple(planes)


def _compare(ref: _ReferencePlane, channel: Image.Image) -> tuple[float, ...]:
    """(SSIM 1-norm, 4-norm, ringing 1-norm, 4-norm, blurring 1-norm, 4-norm)."""
    padded = _pad(channel)
    mu = _blur(padded)
    sigma = _blur(_op("p * p", p=padded))
    cross = _blur(_op("p1 * p2", p1=ref.plane, p2=padded))
    ssim = _op(
        "max(1.0 - (1.0 - (mu1 - mu2) * (mu1 - mu2)) * (2.0 * (s12 - mu1 * mu2) + c2)"
        " / (v1 + (s22 - mu2 * mu2) + c2), 0.0)",
        mu1=ref.mu,
        mu2=mu,
        s12=cross,
        s22=sigma,
        v1=ref.variance,
        c2=_C2,
    )
    ratio = _interior(_op("(abs(p - mu) + 1.0) / e1 - 1.0", p=padded, mu=mu, e1=ref.edge))
    artifact = _op("max(d, 0.0)", d=ratio)
    detail_lost = _op("max(-d, 0.0)", d=ratio)
    return (
        *_norms(_interior(ssim)),
        *_norms(artifact),
        *_norms(detail_lost),
    )


def _pyramid(rgb: Image.Image, alpha: Image.Image | None, background: float) -> list[Planes]:
    """MakePositiveXYB planes per scale (2x2 box means of linear RGB between scales)."""
    linear = _linear(rgb, alpha, background)
    scales: list[Planes] = []
    for scale in range(NUM_SCALES):
        width, height = linear[0].size
        if width < MIN_SIZE or height < MIN_SIZE:
            break
        scales.append(_xyb(linear))
        if scale < NUM_SCALES - 1:
            r, g, b = (plane.reduce(2) for plane in linear)
            linear = (r, g, b)
    return scales


def _final(scales: Sequence[Sequence[tuple[float, ...]]]) -> float:
    """The weighted sum over (channel, scale, norm) and the final transform."""
    total = 0.0
    i = 0
    for c in range(3):
        for per_channel in scales:
            ssim1, ssim4, ring1, ring4, blur1, blur4 = per_channel[c]
            for ssim_n, ring_n, blur_n in ((ssim1, ring1, blur1), (ssim4, ring4, blur4)):
                total += _WEIGHTS[i] * abs(ssim_n)
                total += _WEIGHTS[i + 1] * abs(ring_n)
                total += _WEIGHTS[i + 2] * abs(blur_n)
                i += 3
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
        self._backgrounds = (_GREY,) if alpha is None else _DARK_LIGHT
        self._scales = {
            background: [_reference_planes(xyb) for xyb in _pyramid(rgb, alpha, background)]
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
            reference = self._scales[background]
            pyramid = _pyramid(rgb, alpha, background)
            scales = [
                [_compare(ref, channel) for ref, channel in zip(refs, xyb, strict=True)]
                for refs, xyb in zip(reference, pyramid, strict=True)
            ]
            scores.append(_final(scales))
        return min(scores)


def score(reference: Image.Image, distorted: Image.Image) -> float:
    """SSIMULACRA2 of ``distorted`` against ``reference`` (same size; RGB or RGBA, 8-bit sRGB)."""
    return Reference(reference).score(distorted)
