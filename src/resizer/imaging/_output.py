"""Output formats and encoding: what each source becomes, and the encoder settings."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from resizer.config import Encoders
from resizer.imaging import _colour, _metadata


@dataclass(frozen=True)
class Output:
    format: str  # Pillow's encoder name
    content_type: str
    extension: str


JPEG = Output("JPEG", "image/jpeg", ".jpg")
PNG = Output("PNG", "image/png", ".png")
WEBP = Output("WEBP", "image/webp", ".webp")
GIF = Output("GIF", "image/gif", ".gif")
AVIF = Output("AVIF", "image/avif", ".avif")

# Formats browsers show: the output keeps the family. MPO is a JPEG with extras.
_KEPT = {"JPEG": JPEG, "MPO": JPEG, "PNG": PNG, "WEBP": WEBP, "GIF": GIF}

# Everything else (TIFF, BMP, HEIF, AVIF) is converted: JPEG, or PNG to keep alpha.
# AVIF is converted too, although current browsers show it: Pillow's AVIF encoder
# at its default speed took 1.95 s of CPU for a 1600 px rendition that JPEG encodes
# in 0.065 s (30x; at speed=10, 0.15 s, like WebP, with a lower quality per byte),
# and this way every rendition is one of four content types every browser, CDN and
# image tool knows. Keeping AVIF would be a one-line change here (plus speed=).


def choose(source_format: str, opaque: bool) -> tuple[Output, bool]:
    """(output, converted) for a source format and whether its pixels are opaque."""
    kept = _KEPT.get(source_format)
    if kept is not None:
        return kept, False
    return (JPEG if opaque else PNG), True


#: RENDITIONS' ``format=`` names, other than ``original`` (the rule of :func:`choose`).
NAMED = {"jpeg": JPEG, "png": PNG, "webp": WEBP, "avif": AVIF}
#: Outputs that hold an animation; an animation written to another keeps its first frame
#: (animated AVIF is left out: libavif encodes every frame as a still, far too slow).
ANIMATED = frozenset({GIF, PNG, WEBP})


#: ``format=auto``'s further outputs (resizer.imaging._auto), each kept only when smaller
#: than every output kept after it; its fallback (JPEG or PNG) goes where a first format goes.
AUTO_FURTHER = (AVIF, WEBP)
#: Every output ``format=auto`` may write, the fallback included.
AUTO_OUTPUTS = (AVIF, WEBP, JPEG, PNG)


def extensions(name: str) -> tuple[str, ...]:
    """Every extension a RENDITIONS format name may be written with (``auto``: those of
    its further outputs; its fallback is written without one, at the first format's key)."""
    if name == "auto":
        return tuple(output.extension for output in AUTO_FURTHER)
    if name == "original":
        return tuple(sorted({output.extension for output in (*_KEPT.values(), JPEG, PNG)}))
    return (NAMED[name].extension,)


def resolve(name: str, source_format: str, opaque: bool) -> tuple[Output, bool]:
    """(output, converted) for a RENDITIONS format name."""
    if name == "original":
        return choose(source_format, opaque)
    output = NAMED[name]
    return output, is_converted(source_format, output)


def is_converted(source_format: str, output: Output) -> bool:
    """Whether ``output``'s family is not the source's."""
    return _KEPT.get(source_format) is not output


@dataclass(frozen=True)
class Encoding(Encoders):
    """What the encoders receive: the encoder settings (resizer.config.Encoders, which
    the fingerprint covers) and what the source brings, its ICC profile and the
    metadata METADATA keeps of it. No other knob reaches them."""

    icc_profile: bytes | None = None
    # The source's EXIF/XMP this output keeps (METADATA; resizer.imaging._metadata).
    metadata: _metadata.Kept = field(default=_metadata.NOTHING, kw_only=True)


#: Lossless WebP's effort (libwebp's ``quality`` when lossless; cwebp's default).
LOSSLESS_WEBP_EFFORT = 75


def _options(
    output: Output,
    encoding: Encoding,
    size: tuple[int, int],
    *,
    lossless: bool = False,
    full_chroma: bool = False,
) -> dict[str, Any]:
    # Metadata is never copied from the source as is: the images handed to save()
    # carry an empty .info (see encode()), because some encoders fall back to
    # image.info (PNG reads icc_profile from it, GIF the comment and extensions). The
    # ICC profile is written back on purpose, and what METADATA keeps (_metadata).
    options: dict[str, Any] = _metadata.save_options(encoding.metadata, output.format)
    if encoding.icc_profile:
        options["icc_profile"] = encoding.icc_profile
    if output is JPEG:
        # optimize: optimal Huffman tables (2-4 % smaller, cheap at rendition sizes).
        # progressive: a preview while loading, and about 4 % smaller from 400 px up,
        # but 2-3x the encoding CPU, and larger files below ~250 px (measured on
        # examples/photos, docs/performance.md): only from JPEG_PROGRESSIVE_MIN_SIDE.
        progressive = max(size) >= encoding.jpeg_progressive_min_side
        options.update(quality=encoding.jpeg_quality, optimize=True, progressive=progressive)
        if full_chroma:  # quality=auto's choice (resizer.imaging._auto); else 4:2:0
            options["subsampling"] = 0
    elif output is WEBP and lossless:
        # format=auto's candidate for flat graphics (resizer.imaging._auto).
        options.update(lossless=True, quality=LOSSLESS_WEBP_EFFORT, method=encoding.webp_method)
    elif output is WEBP:
        options.update(quality=encoding.webp_quality, method=encoding.webp_method)
    elif output is AVIF:
        # speed: measured, see config.AVIF_SPEED; libavif's default (6) costs ~4x more.
        options.update(quality=encoding.avif_quality, speed=encoding.avif_speed)
        if full_chroma:  # quality=auto's choice (resizer.imaging._auto); else 4:2:0
            options["subsampling"] = "4:4:4"
    elif output is PNG:
        # zlib level (PNG_COMPRESS_LEVEL, 4 by default: half the CPU of Pillow's 6 for
        # files 1.2 % larger on photo renditions; 3 is 7 % larger). optimize=True
        # would try level 9, slow.
        options.update(compress_level=encoding.png_compress_level)
    return options


def prepared(image: Image.Image, output: Output) -> Image.Image:
    """``image`` as ``output``'s encoder receives it: straight alpha (flattened for
    JPEG), with an empty ``.info``."""
    image = _colour.straight(image)
    if output is JPEG:
        image = _colour.flatten(image)
    # Pillow quirk: resize() and convert() copy .info (EXIF, XMP, comments, GIF
    # extensions, transparency index) from the source; clear it so nothing leaks.
    image.info = {}
    return image


def encode(
    image: Image.Image,
    output: Output,
    encoding: Encoding,
    *,
    lossless: bool = False,
    full_chroma: bool = False,
) -> bytes:
    """``image`` encoded (``lossless``: WebP's lossless mode, PNG always is;
    ``full_chroma``: JPEG's and AVIF's chroma at full resolution, 4:4:4)."""
    buffer = io.BytesIO()
    options = _options(output, encoding, image.size, lossless=lossless, full_chroma=full_chroma)
    prepared(image, output).save(buffer, output.format, **options)
    return buffer.getvalue()


def encode_animation(
    frames: Sequence[Image.Image],
    durations: Sequence[int],
    loop: int | None,
    output: Output,
    encoding: Encoding,
) -> bytes:
    ready = [prepared(frame, output) for frame in frames]
    options = _options(output, encoding, frames[0].size)
    options.update(save_all=True, append_images=ready[1:], duration=list(durations))
    if loop is not None:
        options["loop"] = loop
    if output is GIF:
        # Frames are whole, composited pictures; disposal 2 clears each before the
        # next, so transparent areas never show the previous frame through.
        options["disposal"] = 2
    buffer = io.BytesIO()
    ready[0].save(buffer, output.format, **options)
    return buffer.getvalue()
