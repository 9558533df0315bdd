"""Image-generating fixtures: every test image is made here, in memory, from scratch."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

# Corner colours of the "upright" test picture; far apart so JPEG cannot confuse them.
RED = (230, 20, 20)
GREEN = (20, 200, 40)
BLUE = (20, 40, 230)
YELLOW = (240, 230, 20)
CORNERS = {"TL": RED, "TR": GREEN, "BL": BLUE, "BR": YELLOW}

# For each EXIF orientation, which *stored* corner a viewer shows at each visual
# corner - written out from the EXIF 2.3 definitions ("the 0th row is the visual
# right-hand side, the 0th column is the visual top" for 6, etc.), not from Pillow.
STORED_CORNER_SHOWN_AT = {
    1: {"TL": "TL", "TR": "TR", "BL": "BL", "BR": "BR"},
    2: {"TL": "TR", "TR": "TL", "BL": "BR", "BR": "BL"},
    3: {"TL": "BR", "TR": "BL", "BL": "TR", "BR": "TL"},
    4: {"TL": "BL", "TR": "BR", "BL": "TL", "BR": "TR"},
    5: {"TL": "TL", "TR": "BL", "BL": "TR", "BR": "BR"},
    6: {"TL": "BL", "TR": "TL", "BL": "BR", "BR": "TR"},
    7: {"TL": "BR", "TR": "TR", "BL": "BL", "BR": "TL"},
    8: {"TL": "TR", "TR": "BR", "BL": "TL", "BR": "BL"},
}


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def quadrants(size: tuple[int, int], colours: dict[str, tuple[int, int, int]]) -> Image.Image:
    """An RGB picture whose four quadrants have the given corner colours."""
    width, height = size
    image = Image.new("RGB", size)
    half_w, half_h = width // 2, height // 2
    image.paste(colours["TL"], (0, 0, half_w, half_h))
    image.paste(colours["TR"], (half_w, 0, width, half_h))
    image.paste(colours["BL"], (0, half_h, half_w, height))
    image.paste(colours["BR"], (half_w, half_h, width, height))
    return image


def oriented_jpeg(orientation: int, upright: tuple[int, int] = (400, 200)) -> bytes:
    """A JPEG that a viewer honouring ``orientation`` shows as the upright quadrants."""
    width, height = upright
    stored_size = (height, width) if orientation >= 5 else (width, height)
    shown_at = STORED_CORNER_SHOWN_AT[orientation]
    stored_colours = {stored: CORNERS[visual] for visual, stored in shown_at.items()}
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(quadrants(stored_size, stored_colours), "JPEG", quality=95, exif=exif)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def raw_png(width: int, height: int, depth: int, colour_type: int, rows: list[bytes]) -> bytes:
    """A PNG written by hand (Pillow cannot write 48-bit RGB, nor lie in IHDR)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    idat = zlib.compress(b"".join(b"\x00" + row for row in rows))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def bmp_with_alpha(image: Image.Image) -> bytes:
    """A 32-bit BMP with a V4 header and an alpha mask (Pillow writes alpha-less BMPs)."""
    rgba = image.convert("RGBA")
    width, height = rgba.size
    b, g, r, a = (rgba.getchannel(band) for band in "BGRA")
    pixels = Image.merge("RGBA", (b, g, r, a)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    body = pixels.tobytes()
    header = struct.pack(
        "<IiiHHIIiiII4I",
        108,  # BITMAPV4HEADER
        width,
        height,
        1,
        32,
        3,  # BI_BITFIELDS
        len(body),
        2835,
        2835,
        0,
        0,
        0x00FF0000,
        0x0000FF00,
        0x000000FF,
        0xFF000000,
    )
    header += b"BGRs" + b"\x00" * 48  # colour space type, endpoints, gamma
    offset = 14 + len(header)
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + header + body


@pytest.fixture
def make_oriented_jpeg() -> Callable[..., bytes]:
    return oriented_jpeg


@pytest.fixture
def photo_like() -> Image.Image:
    """A 640x480 RGB image with smooth gradients and edges (compresses like a photo)."""
    gradient = Image.linear_gradient("L").resize((640, 480))
    image = Image.merge("RGB", (gradient, gradient.rotate(90), gradient.transpose(3)))
    image.paste((250, 250, 250), (200, 150, 440, 330))
    return image


@pytest.fixture
def rgb48_png() -> bytes:
    """A 48-bit (16 bits per channel) RGB PNG: left half mid-grey, right half white."""
    width, height = 64, 32
    left = struct.pack(">HHH", 0x8080, 0x8080, 0x8080) * (width // 2)
    right = struct.pack(">HHH", 0xFFFF, 0xFFFF, 0xFFFF) * (width // 2)
    return raw_png(width, height, 16, 2, [left + right] * height)


@pytest.fixture
def grey16_png() -> bytes:
    """A 16-bit greyscale PNG at half intensity (32768)."""
    return raw_png(64, 32, 16, 0, [struct.pack(">H", 32768) * 64] * 32)


@pytest.fixture
def bomb_png() -> bytes:
    """A ~100-byte PNG whose header claims 100,000 x 100,000 pixels (10 gigapixels)."""
    return raw_png(100_000, 100_000, 1, 0, [b"\x00"])


@pytest.fixture
def animated_gif() -> bytes:
    """Three 300x200 frames (red, green, blue) lasting 100, 200 and 300 ms, looping."""
    frames = [Image.new("RGB", (300, 200), colour) for colour in (RED, GREEN, BLUE)]
    for index, frame in enumerate(frames):
        frame.paste((255, 255, 255), (index * 50, 50, index * 50 + 60, 110))
    return encode(
        frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0
    )


@pytest.fixture
def transparent_palette_png() -> bytes:
    """A P-mode PNG: left half transparent black (index 0), right half opaque white."""
    image = Image.new("P", (200, 100), 0)
    image.putpalette([0, 0, 0, 255, 255, 255] + [0, 0, 0] * 254)
    image.paste(1, (100, 0, 200, 100))
    return encode(image, "PNG", transparency=0)


@pytest.fixture
def corners() -> dict[str, tuple[int, int, int]]:
    return CORNERS


@pytest.fixture(name="encode")
def encode_fixture() -> Callable[..., bytes]:
    return encode


@pytest.fixture(name="quadrants")
def quadrants_fixture() -> Callable[..., Image.Image]:
    return quadrants


@pytest.fixture(name="bmp_with_alpha")
def bmp_with_alpha_fixture() -> Callable[[Image.Image], bytes]:
    return bmp_with_alpha
