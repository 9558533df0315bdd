"""The hostile corpus: bad and unusual inputs, generated (plus a few committed files).

Each :class:`Case` is an S3 key, the bytes uploaded there, and what must happen:
``renders`` (the upright size of the source, the output Content-Type, frames) or
``fails`` (the DLQ ErrorType(s) acceptable). ``either`` cases (bit-flipped data) may
end either way, but never as a crash or a transient failure.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pillow_heif
from images import (
    animated,
    encode,
    jpeg,
    jpeg_scan_bomb,
    orientation_exif,
    oriented_jpeg,
    picture,
    png,
    png_chunk,
    raw_png,
    stored_for,
)
from PIL import Image

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

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


# ------------------------------------------------------------------ builders
# Generic builders come from the one image factory (tests/support/images.py).
def png_rgb16(width: int = 300, height: int = 200) -> bytes:
    rows = [
        b"".join(
            struct.pack(">HHH", x * 65535 // width, y * 65535 // height, 30000)
            for x in range(width)
        )
        for y in range(height)
    ]
    return raw_png(width, height, 16, 2, rows)


def png_header_bomb(width: int, height: int) -> bytes:
    # Only the first rows exist: the header alone must be enough to refuse it.
    return raw_png(width, height, 8, 0, [bytes(width)] * 2)


def jpeg_with_dimensions(width: int, height: int) -> bytes:
    """A real JPEG whose SOF header is patched to claim another size."""
    data = bytearray(jpeg(64, 48))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def gif_screen_bomb() -> bytes:
    data = bytearray(encode(picture(16, 16).convert("P"), "GIF"))
    struct.pack_into("<HH", data, 6, 65535, 65535)  # logical screen
    return bytes(data)


def gif_frames_bomb(
    frames: int = 150, width: int = 1000, height: int = 700, centiseconds: int = 10
) -> bytes:
    """Hundreds of 1-pixel frames on a big logical screen: Pillow counts each frame
    at the screen's size, so this tiny file claims frames x width x height pixels."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = (
        b"\x21\xf9\x04\x00"
        + struct.pack("<H", centiseconds)
        + b"\x00\x00"  # graphic control
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02\x44\x01\x00"  # LZW data of one pixel
    )
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return b"GIF89a" + screen + loop + frame * frames + b"\x3b"


def exif_orientation_text() -> bytes:
    # An IFD whose Orientation entry is ASCII "six" instead of a SHORT.
    ifd = struct.pack("<H", 1) + struct.pack("<HHI", 0x0112, 2, 4) + b"six\x00" + bytes(4)
    return jpeg_with_app1(b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd)


def multipage_tiff() -> bytes:
    pages = [picture(500, 300), picture(200, 800), picture(64, 64)]
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")


def gif_transparent() -> bytes:
    image = picture(300, 200).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return encode(image, "GIF", transparency=0)


def png_palette_trns() -> bytes:
    image = picture(400, 300).convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    return encode(image, "PNG", transparency=bytes([0, 128] + [255] * 30))


def png_rgba(opaque: bool) -> bytes:
    image = picture(500, 400).convert("RGBA")
    if not opaque:
        image.putalpha(Image.linear_gradient("L").resize((500, 400)))
    return encode(image, "PNG")


def heic(alpha: bool = False) -> bytes:
    image = picture(640, 360, "RGBA" if alpha else "RGB")
    if alpha:
        image.putalpha(Image.linear_gradient("L").resize((640, 360)))
    out = io.BytesIO()
    pillow_heif.from_pillow(image).save(out, format="HEIF", quality=60)
    return out.getvalue()


def red_top_left(image: Image.Image) -> None:
    r, g, b = image.convert("RGB").getpixel((image.width // 8, image.height // 8))[:3]
    assert r > 200, f"top-left is {(r, g, b)}: orientation not applied"
    assert b < 60, f"top-left is {(r, g, b)}: orientation not applied"


def jpeg_with_app1(payload: bytes) -> bytes:
    data = jpeg(320, 240)
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def corrupt_exif() -> bytes:
    # A TIFF header whose first IFD offset points far outside the segment.
    return jpeg_with_app1(b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + bytes(range(256)) * 2)


def icc_profile(
    description: str, primaries: tuple[tuple[float, ...], ...], gamma: float, padding: int = 0
) -> bytes:
    """A v2 RGB matrix/TRC display profile (what Display P3 and Adobe RGB are);
    ``padding`` bytes of a private tag make it as big as a LUT profile."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(values: tuple[float, ...]) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + b"".join(s15(v) for v in values)

    text = description.encode("ascii") + b"\x00"
    desc = b"desc\x00\x00\x00\x00" + struct.pack(">I", len(text)) + text + bytes(12) + bytes(67)
    curve = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"
    tags = [
        (b"desc", desc),
        (b"cprt", b"text\x00\x00\x00\x00No copyright, test profile\x00"),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(primaries[0])),
        (b"gXYZ", xyz(primaries[1])),
        (b"bXYZ", xyz(primaries[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    if padding:
        tags.append((b"zzzz", b"zzzz\x00\x00\x00\x00" + bytes(padding)))
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        padded = data + b"\x00" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(padded))
        body += padded
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + b"\x02\x10\x00\x00"
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(24)
        + bytes(4)  # rendering intent
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


DISPLAY_P3 = icc_profile(
    "Display P3 (test)",
    (
        (0.515121, 0.241196, -0.001053),
        (0.291977, 0.692245, 0.041885),
        (0.157104, 0.066574, 0.784073),
    ),
    2.2,
)
ADOBE_RGB = icc_profile(
    "Adobe RGB (1998) (test)",
    ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446)),
    563 / 256,
)


# ------------------------------------------- animation, metadata and header bombs
def gif_identical_frames(frames: int, size: int = 16, centiseconds: int = 10) -> bytes:
    """``frames`` identical 1-pixel frames on a ``size`` x ``size`` screen: Pillow's GIF
    writer merges them and overflowed the 16-bit duration of the sum (issue 12)."""
    return gif_frames_bomb(frames, size, size, centiseconds)


def shows_for(milliseconds: int) -> Callable[[Image.Image], None]:
    def check(image: Image.Image) -> None:
        assert image.info.get("duration") == milliseconds, image.info

    return check


def apng_tiny_frames(frames: int, size: int = 2) -> bytes:
    """An APNG of ``frames`` tiny distinct frames (acTL names the count)."""
    return animated("PNG", frames, size=size)


def webp_canvas_bomb(width: int, height: int, frames: int = 2) -> bytes:
    """An animated WebP of 16-pixel frames whose VP8X canvas claims ``width`` x ``height``:
    libwebp allocates two canvases of that size the moment Pillow opens it."""
    data = bytearray(animated("WEBP", frames, size=16))
    assert data[12:16] == b"VP8X"
    data[24:27] = (width - 1).to_bytes(3, "little")
    data[27:30] = (height - 1).to_bytes(3, "little")
    return bytes(data)


def ispe_bomb(data: bytes, width: int, height: int) -> bytes:
    """A HEIC or AVIF whose every ``ispe`` box (image spatial extents) claims another size."""
    out = bytearray(data)
    position = out.find(b"ispe")
    assert position > 0
    while position > 0:
        struct.pack_into(">II", out, position + 8, width, height)  # after version/flags
        position = out.find(b"ispe", position + 4)
    return bytes(out)


def tiff_second_page_bomb() -> bytes:
    """A two-page TIFF: a 64x48 first page, and a second whose IFD claims 100,000 x 100,000."""
    data = bytearray(
        encode(picture(64, 48), "TIFF", save_all=True, append_images=[picture(32, 32)])
    )
    assert data[:4] == b"II*\x00"
    first = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, first)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * count)[0]
    count = struct.unpack_from("<H", data, second)[0]
    for n in range(count):
        entry = second + 2 + 12 * n
        tag, kind = struct.unpack_from("<HH", data, entry)
        if tag in (256, 257):  # ImageWidth, ImageLength
            if kind == 3:  # SHORT: make it a LONG
                struct.pack_into("<HHI", data, entry, tag, 4, 1)
            struct.pack_into("<I", data, entry + 8, 100_000)
    return bytes(data)


def png_with_chunk(kind: bytes, body: bytes) -> bytes:
    """A small real PNG with one more chunk before its pixels."""
    data = png(320, 240)
    end = 8 + 25  # signature + IHDR
    return data[:end] + png_chunk(kind, body) + data[end:]


def zlib_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, compressed (about 1,000:1)."""
    squeeze = zlib.compressobj(9)
    block = bytes(1024 * 1024)
    return b"".join(squeeze.compress(block) for _ in range(megabytes)) + squeeze.flush()


def png_text_bombs() -> dict[str, bytes]:
    """zTXt, compressed iTXt and iCCP chunks that inflate to 100 MB."""
    bomb = zlib_bomb(100)
    return {
        "ztxt": png_with_chunk(b"zTXt", b"Comment\x00\x00" + bomb),
        "itxt": png_with_chunk(b"iTXt", b"Comment\x00\x01\x00en\x00Comment\x00" + bomb),
        "iccp": png_with_chunk(b"iCCP", b"bomb\x00\x00" + bomb),
    }


def exif_megabyte() -> bytes:
    """An EXIF block of 1 MB: an IFD whose MakerNote (UNDEFINED) holds a megabyte."""
    size = 1024 * 1024
    entries = struct.pack("<H", 2)
    entries += struct.pack("<HHII", 0x0112, 3, 1, 1)  # Orientation 1
    entries += struct.pack("<HHII", 0x927C, 7, size, 8 + 2 + 24 + 4)  # MakerNote
    note = bytes(range(256)) * (size // 256)
    return b"II*\x00" + struct.pack("<I", 8) + entries + bytes(4) + note


def big_exif(fmt: str) -> bytes:
    return encode(picture(400, 300), fmt, exif=exif_megabyte())


#: A valid Display P3 profile padded to 2 MB (as big as a printer's LUT profile).
HUGE_PROFILE = icc_profile(
    "Display P3 padded (test)",
    (
        (0.515121, 0.241196, -0.001053),
        (0.291977, 0.692245, 0.041885),
        (0.157104, 0.066574, 0.784073),
    ),
    2.2,
    padding=2 * 1024 * 1024,
)


def no_profile(image: Image.Image) -> None:
    assert "icc_profile" not in image.info, "a huge profile was copied into a rendition"


def truncated(data: bytes, fraction: float = 0.5) -> bytes:
    return data[: int(len(data) * fraction)]


def flipped(data: bytes, seed: int, count: int = 20) -> bytes:
    """Bit flips in the entropy-coded middle (header intact)."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        position = rng.randrange(len(out) // 3, len(out) - 4)
        out[position] ^= 1 << rng.randrange(8)
    return bytes(out)


def random_bytes(n: int, seed: int = 6) -> bytes:
    return random.Random(seed).randbytes(n)


def committed(name: str) -> Callable[[], bytes]:
    return (CORPUS / name).read_bytes


# --------------------------------------------------------------------- cases
def _cases() -> list[Case]:
    J, P, G, W = "image/jpeg", "image/png", "image/gif", "image/webp"
    big_jpeg = jpeg(1600, 1200)
    cases = [
        # Not images at all.
        Case("empty", "empty/zero bytes.jpg", lambda: b"", fails=frozenset({INVALID})),
        Case(
            "text",
            "text/notes.jpg",
            lambda: b"Dear diary,\nnot a photo.\n" * 20,
            fails=frozenset({INVALID}),
        ),
        Case(
            "text",
            "text/page.png",
            lambda: b"<!doctype html><html><body>hi</body></html>",
            fails=frozenset({INVALID}),
        ),
        Case(
            "text",
            "text/bm-words.bmp",
            lambda: b"BMW is a car maker, not a bitmap" * 4,
            fails=frozenset({INVALID}),
        ),
        Case("random", "random/noise.jpg", lambda: random_bytes(5000), fails=frozenset({INVALID})),
        Case(
            "random",
            "random/zip.jpg",
            lambda: b"PK\x03\x04" + random_bytes(300),
            fails=frozenset({INVALID}),
        ),
        Case("unsupported", "svg/logo.svg", committed("logo.svg"), fails=frozenset({UNSUPPORTED})),
        Case(
            "unsupported",
            "svg/prolog.jpg",
            lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
            fails=frozenset({UNSUPPORTED}),
        ),
        Case("unsupported", "pdf/doc.pdf", committed("tiny.pdf"), fails=frozenset({UNSUPPORTED})),
        Case(
            "unsupported",
            "ico/favicon.ico",
            lambda: encode(picture(32, 32), "ICO"),
            fails=frozenset({UNSUPPORTED}),
        ),
        Case(
            "unsupported",
            "psd/layers.psd",
            lambda: b"8BPS\x00\x01" + bytes(200),
            fails=frozenset({UNSUPPORTED}),
        ),
        Case(
            "unsupported",
            "video/clip.mp4",
            lambda: b"\x00\x00\x00\x18ftypisom" + bytes(300),
            fails=frozenset({UNSUPPORTED}),
        ),
        Case(
            "unsupported",
            "jxl/photo.jxl",
            lambda: b"\xff\x0a" + random_bytes(100),
            fails=frozenset({UNSUPPORTED}),
        ),
        Case(
            "unsupported",
            "jp2/photo.jp2",
            lambda: b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(100),
            fails=frozenset({UNSUPPORTED}),
        ),
        # Truncated and damaged.
        Case(
            "truncated",
            "truncated/magic-only.jpg",
            lambda: b"\xff\xd8\xff",
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/half.jpg",
            lambda: truncated(big_jpeg),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/progressive.jpg",
            lambda: truncated(jpeg(1200, 900, progressive=True), 0.3),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/half.png",
            lambda: truncated(png(800, 600)),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/header.png",
            lambda: png(800, 600)[:40],
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/half.gif",
            lambda: truncated(encode(picture(400, 300).convert("P"), "GIF")),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/half.webp",
            lambda: truncated(encode(picture(600, 400), "WEBP")),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/half.tif",
            lambda: truncated(encode(picture(300, 200), "TIFF")),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/half.heic",
            lambda: truncated(heic()),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/half.avif",
            lambda: truncated(encode(picture(400, 300), "AVIF")),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "truncated",
            "truncated/animation.gif",
            lambda: truncated(animated("GIF", 40), 0.6),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "damaged",
            "damaged/bitflips-1.jpg",
            lambda: flipped(big_jpeg, 1),
            either=True,
            size=(1600, 1200),
            content_type=J,
        ),
        Case(
            "damaged",
            "damaged/bitflips-2.png",
            lambda: flipped(png(400, 300), 2),
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "damaged",
            "damaged/bitflips-3.webp",
            lambda: flipped(encode(picture(400, 300), "WEBP"), 3),
            either=True,
            size=(400, 300),
            content_type=W,
        ),
        # Bombs: huge dimensions in a tiny file, refused from the header alone.
        Case(
            "bomb",
            "bomb/png-100000x100000.png",
            lambda: png_header_bomb(100_000, 100_000),
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "bomb",
            "bomb/jpeg-65000x65000.jpg",
            lambda: jpeg_with_dimensions(65_000, 65_000),
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "bomb",
            "bomb/gif-screen-65535.gif",
            gif_screen_bomb,
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "bomb",
            "bomb/png-over-limit-10001x10000.png",
            lambda: encode(Image.new("1", (10_001, 10_000), 1), "PNG"),
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "bomb", "bomb/gif-frames-over-limit.gif", gif_frames_bomb, fails=frozenset({TOO_LARGE})
        ),
        Case(
            "bomb",
            "bomb/jpeg-10000-scans-4000x4000.jpg",
            jpeg_scan_bomb,
            fails=frozenset({TOO_LARGE}),
        ),
        # Within the limit, tiny on disk, 100 MP once decoded: must render.
        Case(
            "bomb-at-limit",
            "bomb/png-at-limit-10000x10000.png",
            lambda: encode(Image.new("1", (10_000, 10_000), 1), "PNG"),
            size=(10_000, 10_000),
            content_type=P,
        ),
        Case(
            "bomb-at-limit",
            "bomb/jpeg-at-limit-10000x10000.jpg",
            lambda: encode(Image.new("RGB", (10_000, 10_000), (90, 20, 30)), "JPEG", quality=40),
            size=(10_000, 10_000),
            content_type=J,
        ),
        # Extreme shapes.
        Case(
            "strip", "strip/1x10000.png", lambda: png(1, 10_000), size=(1, 10_000), content_type=P
        ),
        Case(
            "strip", "strip/10000x1.jpg", lambda: jpeg(10_000, 1), size=(10_000, 1), content_type=J
        ),
        Case(
            "strip",
            "strip/3x60000.png",
            lambda: png(3, 60_000, "L"),
            size=(3, 60_000),
            content_type=P,
        ),
        Case("tiny", "tiny/1x1.jpg", lambda: jpeg(1, 1), size=(1, 1), content_type=J),
        Case(
            "tiny",
            "tiny/1x1.png",
            lambda: encode(Image.new("RGBA", (1, 1), (0, 0, 0, 0)), "PNG"),
            size=(1, 1),
            content_type=P,
        ),
        Case(
            "tiny",
            "tiny/1x1.gif",
            lambda: encode(Image.new("P", (1, 1)), "GIF"),
            size=(1, 1),
            content_type=G,
        ),
        Case(
            "tiny",
            "tiny/2x3.webp",
            lambda: encode(picture(2, 3), "WEBP"),
            size=(2, 3),
            content_type=W,
        ),
        # Colour modes.
        Case(
            "cmyk",
            "cmyk/photo.jpg",
            lambda: encode(picture(900, 600, "CMYK"), "JPEG"),
            size=(900, 600),
            content_type=J,
        ),
        Case(
            "cmyk",
            "cmyk/scan.tif",
            lambda: encode(picture(700, 500, "CMYK"), "TIFF", compression="tiff_adobe_deflate"),
            size=(700, 500),
            content_type=J,
        ),
        Case(
            "16-bit",
            "16bit/grey.png",
            lambda: encode(picture(600, 400, "L").convert("I;16"), "PNG"),
            size=(600, 400),
            content_type=P,
        ),
        Case("16-bit", "16bit/rgb48.png", png_rgb16, size=(300, 200), content_type=P),
        Case(
            "16-bit",
            "16bit/grey.tif",
            lambda: encode(
                picture(500, 300, "L").convert("I;16"), "TIFF", compression="tiff_adobe_deflate"
            ),
            size=(500, 300),
            content_type=J,
        ),
        Case(
            "float",
            "float/depth.tif",
            lambda: encode(
                picture(400, 300, "L").convert("F"), "TIFF", compression="tiff_adobe_deflate"
            ),
            size=(400, 300),
            content_type=J,
        ),
        Case("palette", "palette/trns.png", png_palette_trns, size=(400, 300), content_type=P),
        Case(
            "palette", "palette/transparent.gif", gif_transparent, size=(300, 200), content_type=G
        ),
        Case(
            "palette",
            "palette/1bit.png",
            lambda: encode(picture(900, 700, "1"), "PNG"),
            size=(900, 700),
            content_type=P,
        ),
        Case(
            "palette",
            "palette/grey-alpha.png",
            lambda: encode(picture(500, 500, "LA"), "PNG"),
            size=(500, 500),
            content_type=P,
        ),
        Case(
            "alpha",
            "alpha/gradient.png",
            lambda: png_rgba(opaque=False),
            size=(500, 400),
            content_type=P,
        ),
        Case(
            "alpha",
            "alpha/opaque-rgba.png",
            lambda: png_rgba(opaque=True),
            size=(500, 400),
            content_type=P,
        ),
        Case(
            "alpha",
            "alpha/grey.jpg",
            lambda: encode(picture(640, 480, "L"), "JPEG"),
            size=(640, 480),
            content_type=J,
        ),
        Case(
            "bmp",
            "bmp/photo.bmp",
            lambda: encode(picture(300, 200), "BMP"),
            size=(300, 200),
            content_type=J,
        ),
        # Many frames.
        Case(
            "animation",
            "animation/300-frames.gif",
            lambda: animated("GIF", 300),
            size=(64, 64),
            content_type=G,
            frames=300,
        ),
        Case(
            "animation",
            "animation/loop.webp",
            lambda: animated("WEBP", 24, size=400, loop=0),
            size=(400, 400),
            content_type=W,
            frames=24,
        ),
        Case(
            "animation",
            "animation/apng.png",
            lambda: animated("PNG", 12, size=300),
            size=(300, 300),
            content_type=P,
            frames=12,
        ),
        Case(
            "multipage",
            "multipage/three-pages.tif",
            multipage_tiff,
            size=(500, 300),
            content_type=J,
        ),
        # Issue 12: animations, metadata and headers that still hurt.
        Case(
            "animation-bomb",
            "animation-bomb/10000-one-pixel-frames.gif",
            lambda: gif_frames_bomb(10_000, 32, 32),  # 230 KB: took 9.7 s, then OverflowError
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "animation-bomb",
            "animation-bomb/20000-identical-frames.gif",
            lambda: gif_identical_frames(20_000),
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "animation-bomb",
            "animation-bomb/10000-tiny-frames.png",
            lambda: apng_tiny_frames(10_000),
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "animation-bomb",
            "animation-bomb/webp-canvas-16383.webp",
            lambda: webp_canvas_bomb(16_383, 16_383),
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "tiny-frames",
            "tiny-frames/1000-frames-2x2.gif",
            lambda: animated("GIF", 1_000, size=2),
            size=(2, 2),
            content_type=G,
            frames=1_000,
        ),
        Case(
            "tiny-frames",
            "tiny-frames/1000-frames-2x2.png",
            lambda: apng_tiny_frames(1_000),
            size=(2, 2),
            content_type=P,
            frames=1_000,
        ),
        Case(
            "tiny-frames",
            "tiny-frames/900-identical-frames.gif",
            lambda: gif_identical_frames(900),  # one frame showing for 90 s
            size=(16, 16),
            content_type=G,
            check=shows_for(90_000),
        ),
        Case(
            "tiny-frames",
            "tiny-frames/1000-identical-10s-frames.gif",
            lambda: gif_identical_frames(1_000, centiseconds=1_000),  # 10,000 s: clamped
            size=(16, 16),
            content_type=G,
            check=shows_for(655_350),
        ),
        Case(
            "header-dimensions",
            "header-dimensions/heic-ispe-100000.heic",
            lambda: ispe_bomb(heic(), 100_000, 100_000),
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "header-dimensions",
            "header-dimensions/avif-ispe-12000.avif",
            lambda: ispe_bomb(encode(picture(400, 300), "AVIF", quality=50), 12_000, 12_000),
            fails=frozenset({TOO_LARGE}),
        ),
        Case(
            "header-dimensions",
            # Over libavif's own limit (16384 x 16384): it refuses to parse the header.
            "header-dimensions/avif-ispe-100000.avif",
            lambda: ispe_bomb(encode(picture(400, 300), "AVIF", quality=50), 100_000, 100_000),
            fails=frozenset({TOO_LARGE, CORRUPT}),
        ),
        Case(
            "header-dimensions",
            "header-dimensions/tiff-second-page-100000.tif",
            tiff_second_page_bomb,
            size=(64, 48),
            content_type=J,
        ),
        Case(
            "metadata-bomb",
            "metadata-bomb/ztxt-100mb.png",
            lambda: png_text_bombs()["ztxt"],
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "metadata-bomb",
            "metadata-bomb/itxt-100mb.png",
            lambda: png_text_bombs()["itxt"],
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "metadata-bomb",
            "metadata-bomb/iccp-100mb.png",
            lambda: png_text_bombs()["iccp"],
            fails=frozenset({CORRUPT}),
        ),
        Case(
            "metadata-bomb",
            "metadata-bomb/exif-1mb.png",
            lambda: big_exif("PNG"),
            size=(400, 300),
            content_type=P,
        ),
        Case(
            "metadata-bomb",
            "metadata-bomb/exif-1mb.webp",
            lambda: big_exif("WEBP"),
            size=(400, 300),
            content_type=W,
        ),
        Case(
            "icc-huge",
            "icc-huge/2mb-profile.jpg",
            lambda: encode(picture(1800, 1200), "JPEG", icc_profile=HUGE_PROFILE),
            size=(1800, 1200),
            content_type=J,
            check=no_profile,
        ),
        Case(
            "icc-huge",
            "icc-huge/2mb-garbage-profile.jpg",
            lambda: encode(picture(1800, 1200), "JPEG", icc_profile=bytes(2 * 1024 * 1024)),
            size=(1800, 1200),
            content_type=J,
            check=no_profile,
        ),
        # ICC profiles: kept on every rendition.
        Case(
            "icc",
            "icc/display-p3.jpg",
            lambda: encode(picture(1800, 1200), "JPEG", icc_profile=DISPLAY_P3),
            size=(1800, 1200),
            content_type=J,
            icc=DISPLAY_P3,
        ),
        Case(
            "icc",
            "icc/adobe-rgb.jpg",
            lambda: encode(picture(1000, 800), "JPEG", icc_profile=ADOBE_RGB),
            size=(1000, 800),
            content_type=J,
            icc=ADOBE_RGB,
        ),
        Case(
            "icc",
            "icc/display-p3.png",
            lambda: encode(picture(900, 600), "PNG", icc_profile=DISPLAY_P3),
            size=(900, 600),
            content_type=P,
            icc=DISPLAY_P3,
        ),
        Case(
            "icc",
            "icc/garbage-profile.jpg",
            lambda: encode(picture(500, 400), "JPEG", icc_profile=b"not a profile" * 10),
            size=(500, 400),
            content_type=J,
        ),
        Case(
            "icc",
            "icc/cmyk-garbage-profile.jpg",
            lambda: encode(picture(500, 400, "CMYK"), "JPEG", icc_profile=b"junk" * 40),
            size=(500, 400),
            content_type=J,
        ),
        # Modern formats.
        Case("heic", "heic/photo.heic", heic, size=(640, 360), content_type=J),
        Case("heic", "heic/alpha.heic", lambda: heic(alpha=True), size=(640, 360), content_type=P),
        Case(
            "avif",
            "avif/photo.avif",
            lambda: encode(picture(800, 450), "AVIF", quality=50),
            size=(800, 450),
            content_type=J,
        ),
        # Wrong extension: the bytes decide.
        Case(
            "wrong-extension",
            "misnamed/really-a-png.jpg",
            lambda: png(700, 500),
            size=(700, 500),
            content_type=P,
        ),
        Case(
            "wrong-extension",
            "misnamed/really-a-jpeg.gif",
            lambda: jpeg(700, 500),
            size=(700, 500),
            content_type=J,
        ),
        Case(
            "wrong-extension",
            "misnamed/really-a-webp.png",
            lambda: encode(picture(700, 500), "WEBP"),
            size=(700, 500),
            content_type=W,
        ),
        Case(
            "wrong-extension",
            "misnamed/no-extension",
            lambda: jpeg(300, 300),
            size=(300, 300),
            content_type=J,
        ),
        # EXIF.
        Case(
            "exif",
            "exif/gps-and-orientation-6.jpg",
            lambda: oriented_jpeg(6, gps=True),
            size=(400, 200),
            content_type=J,
            check=red_top_left,
        ),
        Case("exif", "exif/corrupt-exif.jpg", corrupt_exif, size=(320, 240), content_type=J),
        Case(
            "exif",
            "exif/orientation-is-text.jpg",
            exif_orientation_text,
            size=(320, 240),
            content_type=J,
        ),
        Case(
            "exif",
            "exif/orientation-9.jpg",
            lambda: oriented_jpeg(9),
            size=(400, 200),
            content_type=J,
            check=red_top_left,
        ),
        Case(
            "exif",
            "exif/orientation-0.jpg",
            lambda: oriented_jpeg(0),
            size=(400, 200),
            content_type=J,
            check=red_top_left,
        ),
        Case(
            "exif",
            "exif/png-exif-orientation-8.png",
            lambda: png_oriented(8),
            size=(400, 200),
            content_type=P,
            check=red_top_left,
        ),
    ]
    for orientation in range(1, 9):
        cases.append(
            Case(
                "exif-orientation",
                f"exif/orientation-{orientation}.jpg",
                lambda o=orientation: oriented_jpeg(o),  # type: ignore[misc]
                size=(400, 200),  # upright; stored 200x400 for 5-8
                content_type=J,
                check=red_top_left,
            )
        )
    keys = [
        "keys/with spaces in it.jpg",
        "keys/café-nfc.jpg".replace("é", "\u00e9"),
        "keys/cafe\u0301-nfd.jpg",
        "keys/emoji-\U0001f4f7-\u65e5\u672c.jpg",
        "keys/100%-sure %20 %zz.jpg",
        "keys/one+one=two.jpg",
        "keys/hash#tag.jpg",
        "keys/question?.jpg",
        "keys/amp&semi;quote'\"<>.jpg",
        "keys//double//slashes/.jpg",
        "keys/tab\tand~tilde.jpg",
        "keys/" + "long-" * 198 + "x.jpg",  # 1,000 characters
    ]
    assert len(keys[-1]) == 1000
    small = jpeg(320, 200)
    cases += [Case("keys", key, lambda: small, size=(320, 200), content_type=J) for key in keys]
    return cases


def png_oriented(orientation: int) -> bytes:
    return encode(stored_for(orientation), "PNG", exif=orientation_exif(orientation))


CASES = _cases()
