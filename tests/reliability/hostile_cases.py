"""What each hostile input is and what must happen to it (:class:`Case`), and the
cases for inputs that are not images, damaged, header bombs, extreme shapes, colour
modes and many frames. The whole corpus is :data:`hostile.CASES`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hostile_inputs import (
    committed,
    flipped,
    gif_frames_bomb,
    gif_screen_bomb,
    gif_transparent,
    heic,
    jpeg_with_dimensions,
    multipage_tiff,
    png_header_bomb,
    png_palette_trns,
    png_rgb16,
    png_rgba,
    random_bytes,
    truncated,
)
from images import (
    animated,
    encode,
    jpeg,
    jpeg_scan_bomb,
    picture,
    png,
)
from PIL import Image

INVALID = "InvalidImageError"
UNSUPPORTED = "UnsupportedFormatError"
CORRUPT = "CorruptImageError"
TOO_LARGE = "ImageTooLargeError"


@dataclass(frozen=True)
class Case:
    kind: str  # the class of input, for the memory table and the docs
    key: str
    build: Callable[[], bytes]
    size: tuple[int, int] | None = None  # upright source size when it must render
    content_type: str = ""
    frames: int = 1
    fails: frozenset[str] = frozenset()
    either: bool = False
    icc: bytes | None = None  # the profile every rendition must carry
    check: Callable[[Image.Image], None] | None = field(default=None, compare=False)

    @property
    def renders(self) -> bool:
        return self.size is not None


def refused(kind: str, key: str, build: Callable[[], bytes], *errors: str) -> Case:
    """A case that must be dead-lettered with one of ``errors`` as its ErrorType."""
    return Case(kind, key, build, fails=frozenset(errors))


def decoding_cases() -> list[Case]:
    """Not images, truncated and damaged, bombs, shapes, colour modes, many frames."""
    J, P, G, W = "image/jpeg", "image/png", "image/gif", "image/webp"
    big_jpeg = jpeg(1600, 1200)
    return [
        # Not images at all.
        refused("empty", "empty/zero bytes.jpg", lambda: b"", INVALID),
        refused("text", "text/notes.jpg", lambda: b"Dear diary,\nnot a photo.\n" * 20, INVALID),
        refused(
            "text", "text/page.png", lambda: b"<!doctype html><html><body>hi</body></html>", INVALID
        ),
        refused(
            "text", "text/bm-words.bmp", lambda: b"BMW is a car maker, not a bitmap" * 4, INVALID
        ),
        refused("random", "random/noise.jpg", lambda: random_bytes(5000), INVALID),
        refused("random", "random/zip.jpg", lambda: b"PK\x03\x04" + random_bytes(300), INVALID),
        refused("unsupported", "svg/logo.svg", committed("logo.svg"), UNSUPPORTED),
        refused(
            "unsupported",
            "svg/prolog.jpg",
            lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
            UNSUPPORTED,
        ),
        refused("unsupported", "pdf/doc.pdf", committed("tiny.pdf"), UNSUPPORTED),
        refused(
            "unsupported", "ico/favicon.ico", lambda: encode(picture(32, 32), "ICO"), UNSUPPORTED
        ),
        refused("unsupported", "psd/layers.psd", lambda: b"8BPS\x00\x01" + bytes(200), UNSUPPORTED),
        refused(
            "unsupported",
            "video/clip.mp4",
            lambda: b"\x00\x00\x00\x18ftypisom" + bytes(300),
            UNSUPPORTED,
        ),
        refused(
            "unsupported", "jxl/photo.jxl", lambda: b"\xff\x0a" + random_bytes(100), UNSUPPORTED
        ),
        refused(
            "unsupported",
            "jp2/photo.jp2",
            lambda: b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(100),
            UNSUPPORTED,
        ),
        # Truncated and damaged.
        refused("truncated", "truncated/magic-only.jpg", lambda: b"\xff\xd8\xff", CORRUPT),
        refused("truncated", "truncated/half.jpg", lambda: truncated(big_jpeg), CORRUPT),
        refused(
            "truncated",
            "truncated/progressive.jpg",
            lambda: truncated(jpeg(1200, 900, progressive=True), 0.3),
            CORRUPT,
        ),
        refused("truncated", "truncated/half.png", lambda: truncated(png(800, 600)), CORRUPT),
        refused("truncated", "truncated/header.png", lambda: png(800, 600)[:40], CORRUPT),
        refused(
            "truncated",
            "truncated/half.gif",
            lambda: truncated(encode(picture(400, 300).convert("P"), "GIF")),
            CORRUPT,
        ),
        refused(
            "truncated",
            "truncated/half.webp",
            lambda: truncated(encode(picture(600, 400), "WEBP")),
            CORRUPT,
        ),
        refused(
            "truncated",
            "truncated/half.tif",
            lambda: truncated(encode(picture(300, 200), "TIFF")),
            CORRUPT,
        ),
        refused("truncated", "truncated/half.heic", lambda: truncated(heic()), CORRUPT),
        refused(
            "truncated",
            "truncated/half.avif",
            lambda: truncated(encode(picture(400, 300), "AVIF")),
            CORRUPT,
        ),
        refused(
            "truncated",
            "truncated/animation.gif",
            lambda: truncated(animated("GIF", 40), 0.6),
            CORRUPT,
        ),
        Case(
            "damaged",
            "damaged/bitflips-1.jpg",
            lambda: flipped(big_jpeg, 1),
            (1600, 1200),
            J,
            either=True,
        ),
        refused("damaged", "damaged/bitflips-2.png", lambda: flipped(png(400, 300), 2), CORRUPT),
        Case(
            "damaged",
            "damaged/bitflips-3.webp",
            lambda: flipped(encode(picture(400, 300), "WEBP"), 3),
            (400, 300),
            W,
            either=True,
        ),
        # Bombs: huge dimensions in a tiny file, refused from the header alone.
        refused(
            "bomb",
            "bomb/png-100000x100000.png",
            lambda: png_header_bomb(100_000, 100_000),
            TOO_LARGE,
        ),
        refused(
            "bomb",
            "bomb/jpeg-65000x65000.jpg",
            lambda: jpeg_with_dimensions(65_000, 65_000),
            TOO_LARGE,
        ),
        refused("bomb", "bomb/gif-screen-65535.gif", gif_screen_bomb, TOO_LARGE),
        refused(
            "bomb",
            "bomb/png-over-limit-10001x10000.png",
            lambda: encode(Image.new("1", (10_001, 10_000), 1), "PNG"),
            TOO_LARGE,
        ),
        refused("bomb", "bomb/gif-frames-over-limit.gif", gif_frames_bomb, TOO_LARGE),
        refused("bomb", "bomb/jpeg-10000-scans-4000x4000.jpg", jpeg_scan_bomb, TOO_LARGE),
        # Within the limit, tiny on disk, 100 MP once decoded: must render.
        Case(
            "bomb-at-limit",
            "bomb/png-at-limit-10000x10000.png",
            lambda: encode(Image.new("1", (10_000, 10_000), 1), "PNG"),
            (10_000, 10_000),
            P,
        ),
        Case(
            "bomb-at-limit",
            "bomb/jpeg-at-limit-10000x10000.jpg",
            lambda: encode(Image.new("RGB", (10_000, 10_000), (90, 20, 30)), "JPEG", quality=40),
            (10_000, 10_000),
            J,
        ),
        # Extreme shapes.
        Case("strip", "strip/1x10000.png", lambda: png(1, 10_000), (1, 10_000), P),
        Case("strip", "strip/10000x1.jpg", lambda: jpeg(10_000, 1), (10_000, 1), J),
        Case("strip", "strip/3x60000.png", lambda: png(3, 60_000, "L"), (3, 60_000), P),
        Case("tiny", "tiny/1x1.jpg", lambda: jpeg(1, 1), (1, 1), J),
        Case(
            "tiny",
            "tiny/1x1.png",
            lambda: encode(Image.new("RGBA", (1, 1), (0, 0, 0, 0)), "PNG"),
            (1, 1),
            P,
        ),
        Case("tiny", "tiny/1x1.gif", lambda: encode(Image.new("P", (1, 1)), "GIF"), (1, 1), G),
        Case("tiny", "tiny/2x3.webp", lambda: encode(picture(2, 3), "WEBP"), (2, 3), W),
        # Colour modes.
        Case(
            "cmyk",
            "cmyk/photo.jpg",
            lambda: encode(picture(900, 600, "CMYK"), "JPEG"),
            (900, 600),
            J,
        ),
        Case(
            "cmyk",
            "cmyk/scan.tif",
            lambda: encode(picture(700, 500, "CMYK"), "TIFF", compression="tiff_adobe_deflate"),
            (700, 500),
            J,
        ),
        Case(
            "16-bit",
            "16bit/grey.png",
            lambda: encode(picture(600, 400, "L").convert("I;16"), "PNG"),
            (600, 400),
            P,
        ),
        Case("16-bit", "16bit/rgb48.png", png_rgb16, (300, 200), P),
        Case(
            "16-bit",
            "16bit/grey.tif",
            lambda: encode(
                picture(500, 300, "L").convert("I;16"), "TIFF", compression="tiff_adobe_deflate"
            ),
            (500, 300),
            J,
        ),
        Case(
            "float",
            "float/depth.tif",
            lambda: encode(
                picture(400, 300, "L").convert("F"), "TIFF", compression="tiff_adobe_deflate"
            ),
            (400, 300),
            J,
        ),
        Case("palette", "palette/trns.png", png_palette_trns, (400, 300), P),
        Case("palette", "palette/transparent.gif", gif_transparent, (300, 200), G),
        Case(
            "palette",
            "palette/1bit.png",
            lambda: encode(picture(900, 700, "1"), "PNG"),
            (900, 700),
            P,
        ),
        Case(
            "palette",
            "palette/grey-alpha.png",
            lambda: encode(picture(500, 500, "LA"), "PNG"),
            (500, 500),
            P,
        ),
        Case("alpha", "alpha/gradient.png", lambda: png_rgba(opaque=False), (500, 400), P),
        Case("alpha", "alpha/opaque-rgba.png", lambda: png_rgba(opaque=True), (500, 400), P),
        Case(
            "alpha", "alpha/grey.jpg", lambda: encode(picture(640, 480, "L"), "JPEG"), (640, 480), J
        ),
        Case("bmp", "bmp/photo.bmp", lambda: encode(picture(300, 200), "BMP"), (300, 200), J),
        # Many frames.
        Case(
            "animation",
            "animation/300-frames.gif",
            lambda: animated("GIF", 300),
            (64, 64),
            G,
            frames=300,
        ),
        Case(
            "animation",
            "animation/loop.webp",
            lambda: animated("WEBP", 24, size=400, loop=0),
            (400, 400),
            W,
            frames=24,
        ),
        Case(
            "animation",
            "animation/apng.png",
            lambda: animated("PNG", 12, size=300),
            (300, 300),
            P,
            frames=12,
        ),
        Case("multipage", "multipage/three-pages.tif", multipage_tiff, (500, 300), J),
    ]
