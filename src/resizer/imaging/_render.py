"""bytes -> renditions: decode once, shrink on load, cascade from the largest down."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from resizer.config import Rendition, Settings
from resizer.imaging import _colour, _output
from resizer.imaging._geometry import TRANSPOSE, fit, swaps_axes
from resizer.imaging._memory import MemoryBudget, estimate_bytes
from resizer.imaging._source import Opened, decoding, open_image

# Speed/quality knobs, each measured by bench/renditions.py on examples/photos and
# guarded by tests/unit/test_imaging_quality.py (SSIM >= 0.99, PSNR >= 40 dB against
# a full decode resized once with LANCZOS). See docs/performance.md.
#
# JPEG shrink-on-load: libjpeg decodes at 1/2, 1/4 or 1/8 scale (Image.draft), the
# smallest scale that still leaves at least DRAFT_GAP x the largest rendition, so
# the resampler always works from real pixels, never upscales. 1.0 instead of
# Pillow's thumbnail() default of 2.0: 25 % less resampling work, and a 100 MP JPEG
# decodes at 1/4 instead of 1/2 (19 MB instead of 75 MB of pixels).
DRAFT_GAP = 1.0
# resize(reducing_gap=...): box-reduce() by an integer factor first while the image
# stays at least REDUCING_GAP x the target, then filter the rest. 1.0 (box only)
# measured SSIM 0.976 on thumbnails; 2.0 (Pillow's default) 0.9986; 3.0 0.9992 at
# +15 % time.
REDUCING_GAP = 2.0
# The first step (decoded image -> largest rendition, a ratio below 2 after
# shrink-on-load) is the most expensive: BICUBIC (antialiased like every Pillow
# downscale filter, support 2 instead of LANCZOS' 3) cuts the whole render by ~10 %
# at SSIM 0.9958 / PSNR 44 dB (LANCZOS: 0.9961 / 51.6). The cascade steps, cheap
# since their sources are small, keep LANCZOS, the sharpest.
FIRST_FILTER = Image.Resampling.BICUBIC
FILTER = Image.Resampling.LANCZOS


@dataclass(frozen=True)
class RenderedImage:
    """One encoded rendition, ready to upload."""

    rendition: Rendition
    data: bytes
    content_type: str  # "image/jpeg", "image/png", "image/webp" or "image/gif"
    width: int
    height: int
    format: str  # Pillow's encoder name: "JPEG", "PNG", "WEBP" or "GIF"
    extension: str  # ".jpg", ".png", ".webp" or ".gif"
    converted: bool  # the source's family is not kept (TIFF, BMP, HEIC, AVIF)


def _orientation(image: Image.Image) -> int:
    # Read from the parsed EXIF only (no pixels are decoded for JPEG, TIFF, WebP).
    # Out-of-range values (0, 9, garbage) mean "as stored".
    value = image.getexif().get(0x0112, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _stored(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """An upright size expressed in the stored (pre-orientation) pixel grid."""
    return (size[1], size[0]) if swaps_axes(orientation) else size


def _shrink_on_load(
    image: Image.Image, largest: tuple[int, int]
) -> tuple[float, float, float, float] | None:
    """Ask libjpeg for a reduced decode; the box of the original in the reduced grid."""
    if image.format not in ("JPEG", "MPO") or largest == image.size:
        return None
    wanted = (math.ceil(largest[0] * DRAFT_GAP), math.ceil(largest[1] * DRAFT_GAP))
    # Pillow quirk: draft(mode=None) keeps the colour mode; the reduced image is
    # rounded *up* to whole pixels, so the original's area is the returned box
    # (fractional), which resize(box=...) must use to stay exactly aligned.
    drafted = image.draft(None, wanted)
    return None if drafted is None else drafted[1]


def _cascade(
    base: Image.Image,
    box: tuple[float, float, float, float] | None,
    orientation: int,
    targets: Sequence[tuple[int, int]],
) -> list[Image.Image]:
    """Resize ``base`` (stored orientation) to every upright target size.

    Largest first; each smaller rendition is resized from the smallest rendition made
    so far that covers it, not from the full image. Orientation is applied to the
    first, resized result (transposing 1600 px is cheaper than transposing 24 MP).
    """
    results: list[Image.Image | None] = [None] * len(targets)
    made: list[Image.Image] = []
    for index in sorted(range(len(targets)), key=lambda i: -targets[i][0] * targets[i][1]):
        width, height = targets[index]
        covering = [im for im in made if im.width >= width and im.height >= height]
        if covering:
            source = min(covering, key=lambda im: im.width * im.height)
            result = (
                source
                if source.size == (width, height)
                else source.resize((width, height), FILTER, reducing_gap=REDUCING_GAP)
            )
        else:
            stored = _stored((width, height), orientation)
            result = base
            if stored != base.size or box is not None:
                result = base.resize(stored, FIRST_FILTER, box=box, reducing_gap=REDUCING_GAP)
            if orientation != 1:
                result = result.transpose(TRANSPOSE[orientation])
        made.append(result)
        results[index] = result
    return [im for im in results if im is not None]


def _plan(data: bytes, settings: Settings) -> tuple[Opened, int, list[tuple[int, int]]]:
    """Open and check the source; (opened, EXIF orientation, upright target sizes)."""
    opened = open_image(data, settings.max_input_pixels, settings.max_input_bytes)
    with decoding(f"{opened.format} metadata"):
        if opened.format == "TIFF":
            # Pillow quirk: its TIFF plugin reports the *oriented* size and applies
            # the Orientation tag itself while loading (then deletes the tag). Load
            # first (TIFF has no shrink-on-load to lose), so a tag that survives is
            # one Pillow did not apply, and nothing is rotated twice.
            opened.image.load()
        orientation = _orientation(opened.image)
    upright = _stored(opened.image.size, orientation)
    return opened, orientation, [fit(upright, r.box) for r in settings.renditions]


def render(
    data: bytes, settings: Settings, budget: MemoryBudget | None = None
) -> list[RenderedImage]:
    """Render every rendition of ``settings.renditions`` (same order) from ``data``.

    Raises InvalidImageError (not an image), UnsupportedFormatError, CorruptImageError
    or ImageTooLargeError, each with a readable reason; nothing else for bad input.
    With a ``budget``, the decode waits until the memory it needs is free.
    """
    opened, orientation, targets = _plan(data, settings)
    if budget is None:
        return _render_opened(opened, orientation, targets, settings)
    with budget.reserve(estimate_bytes(opened, len(data))):
        return _render_opened(opened, orientation, targets, settings)


def _render_opened(
    opened: Opened, orientation: int, targets: Sequence[tuple[int, int]], settings: Settings
) -> list[RenderedImage]:
    if opened.frames > 1:
        icc = opened.image.info.get("icc_profile") or None
        encoding = _output.Encoding(
            settings.jpeg_quality, settings.webp_quality, icc, settings.png_compress_level
        )
        return _render_animation(opened, orientation, targets, settings, encoding)

    images, icc = _resample_still(opened, orientation, targets)
    opaque = _colour.is_opaque(max(images, key=lambda im: im.width * im.height))
    output, converted = _output.choose(opened.format, opaque)
    encoding = _output.Encoding(
        settings.jpeg_quality, settings.webp_quality, icc, settings.png_compress_level
    )
    return [
        RenderedImage(
            rendition,
            _output.encode(im, output, encoding),
            output.content_type,
            im.width,
            im.height,
            output.format,
            output.extension,
            converted,
        )
        for rendition, im in zip(settings.renditions, images, strict=True)
    ]


def _resample_still(
    opened: Opened, orientation: int, targets: Sequence[tuple[int, int]]
) -> tuple[list[Image.Image], bytes | None]:
    """Decode once (shrunk on load) and cascade: (upright images, ICC to embed)."""
    image = opened.image
    largest = max(targets, key=lambda size: size[0] * size[1])
    with decoding(f"{opened.format} image"):
        box = _shrink_on_load(image, _stored(largest, orientation))
        image.load()
        work = _colour.working(image, image.info.get("icc_profile") or None)
    return _cascade(work.image, box, orientation, targets), work.icc_profile


def resample(data: bytes, settings: Settings) -> list[Image.Image]:
    """The pixels render() would encode, for still images (quality tests, benchmarks)."""
    opened, orientation, targets = _plan(data, settings)
    images, _ = _resample_still(opened, orientation, targets)
    return [_colour.straight(im) for im in images]


def _render_animation(
    opened: Opened,
    orientation: int,
    targets: Sequence[tuple[int, int]],
    settings: Settings,
    encoding: _output.Encoding,
) -> list[RenderedImage]:
    """Animated GIF, WebP and APNG keep every frame and its duration."""
    image = opened.image
    frames: list[list[Image.Image]] = [[] for _ in targets]
    durations: list[int] = []
    with decoding(f"{opened.format} animation"):
        loop = image.info.get("loop")
        for index in range(opened.frames):
            image.seek(index)
            # Pillow quirk: GIF frames after the first arrive as RGB/RGBA, the first
            # as P; normalise every frame to premultiplied RGBA, then resample.
            frame = image.convert("RGBA").convert("RGBa")
            durations.append(int(image.info.get("duration", 100)))
            for rendition_frames, im in zip(
                frames, _cascade(frame, None, orientation, targets), strict=True
            ):
                rendition_frames.append(im)
    output, converted = _output.choose(opened.format, opaque=False)
    return [
        RenderedImage(
            rendition,
            _output.encode_animation(rendition_frames, durations, loop, output, encoding),
            output.content_type,
            rendition_frames[0].width,
            rendition_frames[0].height,
            output.format,
            output.extension,
            converted,
        )
        for rendition, rendition_frames in zip(settings.renditions, frames, strict=True)
    ]
