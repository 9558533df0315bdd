"""The hostile corpus's inputs: builders of bad and unusual bytes (generic images
come from the one image factory, tests/support/images.py), the ICC profiles, and the
checks a rendered case runs on its output. The cases are in :mod:`hostile`."""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pillow_heif
from images import (
    animated,
    encode,
    jpeg,
    orientation_exif,
    picture,
    png,
    png_chunk,
    raw_png,
    stored_for,
)
from PIL import Image

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


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


def png_oriented(orientation: int) -> bytes:
    return encode(stored_for(orientation), "PNG", exif=orientation_exif(orientation))
