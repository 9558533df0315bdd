"""Untrusted bytes -> an opened (not yet decoded) Pillow image, or a readable error.

Everything here happens before a single pixel is decoded: sniff the bytes, let
Pillow parse the header, check the pixel budget. Decoding errors are classified by
:func:`decoding`, the one boundary where Pillow's many exception types (OSError,
SyntaxError, ValueError, struct.error, EOFError, ...) become resizer errors.
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageFile, UnidentifiedImageError

from resizer.errors import (
    CorruptImageError,
    EncodingError,
    ImageTooLargeError,
    InvalidImageError,
    ResizerError,
    UnsupportedFormatError,
)
from resizer.imaging import _frames, _jpeg

# Pillow's own bomb guard stays on, at the configured MAX_INPUT_PIXELS (set by
# open_image): it also runs where resizer's checks cannot, inside Pillow (a GIF frame
# growing the canvas at seek, a TIFF tile at load). Above the limit it warns
# (DecompressionBombWarning), above twice the limit it raises; decoding() turns both
# into ImageTooLargeError. No warnings.catch_warnings() (not thread-safe): where
# warnings are only printed (Lambda), resizer's own check refuses the image anyway.
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)

# Pillow plugin names tried, in this order, by Image.open (never every plugin Pillow
# has: fewer parsers exposed to untrusted bytes). "JPEG" also yields "MPO" images
# (phone JPEGs with a multi-picture index); "HEIF" exists once pillow-heif registered.
# AVIF comes before HEIF: Pillow's AVIF plugin accepts the shared "mif1" brand and
# hands the file on (SyntaxError) when it is not AVIF.
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "AVIF")
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
ANIMATED = frozenset({"GIF", "WEBP", "PNG"})
SUPPORTED_NAMES = "JPEG, PNG, WebP, GIF, TIFF, BMP, AVIF or HEIC"

_heif_lock = threading.Lock()
_heif_registered = False


@dataclass(frozen=True)
class OpenedImage:
    image: ImageFile.ImageFile
    format: str  # Pillow's name: "JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", "BMP", ...
    frames: int  # > 1 only for animations resizer keeps (GIF, WebP, APNG)
    jpeg: _jpeg.JpegInfo | None = None  # JPEG and MPO: frame header and scan count


def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF, once, and only when a HEIF file shows up (import cost)."""
    global _heif_registered  # noqa: PLW0603 - a once-only, lock-guarded switch
    with _heif_lock:
        if not _heif_registered:
            from pillow_heif import register_heif_opener  # noqa: PLC0415 - lazy, costly

            # Thumbnails, depth maps and auxiliary images are never rendered: skip them.
            register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
            _heif_registered = True


# Magic numbers at offset 0, supported formats first, then ones resizer names in its
# refusal so the uploader learns what they sent.
_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"%PDF", "PDF"),
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "PostScript/EPS"),
    (b"8BPS", "Photoshop PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x02\x00", "CUR"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)
# "BM" alone is too weak (a text file may start with it): the DIB header size must fit.
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def _brand(brand: bytes) -> str:
    if brand in (b"avif", b"avis"):
        return "AVIF"
    if brand in _HEIF_BRANDS:
        return "HEIF"
    return f"ISO media with brand {brand.decode('latin-1')!r} (a video, or not an image)"


def _sniff(data: bytes) -> str | None:
    """Name a format from its magic bytes (supported or not), or None."""
    head = data[:64]
    for prefix, name in _PREFIXES:
        if head.startswith(prefix):
            return name
    found = None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found = "WebP"
    elif head[4:8] == b"ftyp":
        found = _brand(head[8:12])
    elif (
        head.startswith(b"BM")
        and len(head) >= 18
        and struct.unpack_from("<I", head, 14)[0] in _BMP_HEADER_SIZES
    ):
        found = "BMP"
    else:
        text = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if text.startswith(b"<svg") or (text.startswith((b"<?xml", b"<!--")) and b"<svg" in text):
            found = "SVG"
    return found


_SUPPORTED_SNIFFED = frozenset({"JPEG", "PNG", "GIF", "WebP", "TIFF", "BMP", "AVIF", "HEIF"})


@contextmanager
def decoding(what: str) -> Iterator[None]:
    """Turn whatever Pillow raises on bad data into CorruptImageError, with a sentence."""
    try:
        yield
    except ResizerError:
        raise
    except _BOMB as error:
        raise ImageTooLargeError(
            f"the {what} is over the limit of {Image.MAX_IMAGE_PIXELS or 0:,} pixels "
            f"(MAX_INPUT_PIXELS); upload a smaller image (Pillow: {error})"
        ) from None
    except MemoryError:
        raise ImageTooLargeError(
            f"the {what} needs more memory than is available; lower MAX_INPUT_PIXELS "
            "or give the function more memory"
        ) from None
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        IndexError,
        KeyError,
        TypeError,
        ZeroDivisionError,
        struct.error,
        zlib.error,
        # Codec failures (libavif raises RuntimeError: "Failed to decode frame 0").
        RuntimeError,
        # Pillow *warns* about some damage ("Corrupt EXIF data", "Truncated File
        # Read"); where warnings are errors (pytest -W error) they arrive here.
        Warning,
    ) as error:
        raise CorruptImageError(
            f"the {what} is damaged or truncated and cannot be decoded ({error}); "
            "upload the file again"
        ) from None


@contextmanager
def encoding_failures(what: str) -> Iterator[None]:
    """An encoder refusing decoded pixels fails the same way on every retry: permanent."""
    try:
        yield
    except MemoryError:
        raise ImageTooLargeError(
            f"the {what} needs more memory than is available to encode; "
            "give the function more memory"
        ) from None
    except (OSError, ValueError, OverflowError, struct.error, TypeError) as error:
        raise EncodingError(
            f"the {what} cannot be written ({type(error).__name__}: {error})"
        ) from None


def open_image(
    data: bytes, max_pixels: int, max_bytes: int, max_frames: int, max_scans: int
) -> OpenedImage:
    """Identify ``data`` by its bytes and check its size, without decoding pixels.

    A JPEG with more than ``max_scans`` scans is refused (ImageTooLargeError) from
    its markers alone: each scan of a progressive JPEG walks the whole image again.
    """
    sniffed = _identify(data, max_bytes)
    container = _frames.scan(data, sniffed, max_frames)
    if container is not None:
        _frames.check(sniffed or "", container, max_pixels, max_frames)
    Image.MAX_IMAGE_PIXELS = max_pixels
    image = _parse_header(data, sniffed)
    fmt = image.format or sniffed or "unknown"
    frames = _checked_frames(image, fmt, container, max_pixels, max_frames)
    jpeg = _jpeg.checked(data, max_scans) if fmt in ("JPEG", "MPO") else None
    return OpenedImage(image, fmt, frames, jpeg)


def _identify(data: bytes, max_bytes: int) -> str | None:
    """The format ``data``'s magic bytes name (None: none known); a file over
    ``max_bytes``, empty, or of a format resizer does not render is refused."""
    if len(data) > max_bytes:
        raise ImageTooLargeError(
            f"the file is {len(data)} bytes, over the limit of {max_bytes} bytes (MAX_INPUT_BYTES)"
        )
    if not data:
        raise InvalidImageError("the file is empty (0 bytes), so it is not an image")
    sniffed = _sniff(data)
    if sniffed is not None and sniffed not in _SUPPORTED_SNIFFED:
        raise UnsupportedFormatError(
            f"the file is {sniffed}, which resizer does not render; "
            f"upload {SUPPORTED_NAMES} instead"
        )
    return sniffed


def _parse_header(data: bytes, sniffed: str | None) -> ImageFile.ImageFile:
    """Pillow's parse of the header (:data:`_FORMATS`' plugins only, HEIF's when the
    bytes are HEIF); a header no plugin accepts is not an image, or a damaged one."""
    formats: tuple[str, ...] = _FORMATS
    if sniffed == "HEIF":
        _register_heif()
        formats = (*_FORMATS, "HEIF")
    if sniffed is None:
        # No magic number we know: whatever a lenient plugin (BMP accepts any "BM")
        # raises about these bytes, the answer is "not an image".
        with decoding("image header"):
            try:
                return Image.open(io.BytesIO(data), formats=formats)
            except _BOMB:
                raise
            except Exception:
                raise _unidentified(None) from None
    with decoding(f"{sniffed} header"):
        try:
            return Image.open(io.BytesIO(data), formats=formats)
        except UnidentifiedImageError:
            raise _unidentified(sniffed) from None


def _checked_frames(
    image: ImageFile.ImageFile,
    fmt: str,
    container: _frames.Container | None,
    max_pixels: int,
    max_frames: int,
) -> int:
    """The frames resizer renders of ``image``, its canvas (the larger of the header's
    and the container's) and frames checked against the pixel and frame budgets."""
    with decoding(f"{fmt} image"):
        # Only animations (GIF, WebP, APNG) are rendered frame by frame, so only their
        # frames count. Other multi-image files (MPO depth maps and previews, TIFF
        # pages, HEIF bursts, AVIF sequences) render their first picture only.
        frames = int(getattr(image, "n_frames", 1)) if fmt in ANIMATED else 1
    width, height = image.size
    if container is not None:
        width, height = max(width, container.width), max(height, container.height)
    if width < 1 or height < 1:
        raise CorruptImageError(f"the {fmt} header claims {width}x{height} pixels")
    _frames.check(fmt, _frames.Container(width, height, frames), max_pixels, max_frames)
    return frames


def _unidentified(sniffed: str | None) -> InvalidImageError:
    if sniffed is None:
        return InvalidImageError(
            f"the file is not an image resizer can read (expected {SUPPORTED_NAMES})"
        )
    return CorruptImageError(
        f"the file starts like {sniffed} but its header is damaged or truncated; "
        "upload the file again"
    )
