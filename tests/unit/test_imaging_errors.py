"""Bad input: every failure is one of resizer's permanent image errors, with a reason."""

from __future__ import annotations

import collections
import io
import random
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image

from resizer.config import Settings, parse_renditions
from resizer.errors import (
    CorruptImageError,
    ImageTooLargeError,
    InvalidImageError,
    UnsupportedFormatError,
)
from resizer.imaging import render

SETTINGS = Settings(renditions=parse_renditions("a=100x100,b=20x20"))


def test_decompression_bomb_is_refused_before_decoding(bomb_png: bytes) -> None:
    assert len(bomb_png) < 200
    with pytest.raises(ImageTooLargeError) as caught:
        render(bomb_png, SETTINGS)
    assert caught.value.permanent
    assert "100000x100000 = 10,000,000,000 pixels" in caught.value.reason
    assert "MAX_INPUT_PIXELS" in caught.value.reason


def test_pixel_limit_is_configurable(encode: Callable[..., bytes]) -> None:
    data = encode(Image.new("RGB", (300, 200)), "PNG")
    with pytest.raises(ImageTooLargeError, match=r"300x200 = 60,000 pixels"):
        render(data, Settings(max_input_pixels=59_999))
    assert render(data, Settings(max_input_pixels=60_000))


def test_byte_limit(encode: Callable[..., bytes]) -> None:
    data = encode(Image.new("RGB", (300, 200)), "PNG")
    with pytest.raises(ImageTooLargeError, match="MAX_INPUT_BYTES"):
        render(data, Settings(max_input_bytes=len(data) - 1))


def test_pillow_bomb_warning_never_leaks() -> None:
    # 10000 x 9500 = 95 MP: under resizer's 100 MP default but over Pillow's own
    # warning threshold (~89 MP). pytest turns warnings into errors, so a leaked
    # DecompressionBombWarning would fail this test instead of the truncation error.
    header = struct.pack(">IIBBBBB", 10000, 9500, 8, 0, 0, 0, 0)
    ihdr = (
        struct.pack(">I", 13) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    )
    idat_body = zlib.compress(b"\x00" * 100)
    idat = (
        struct.pack(">I", len(idat_body))
        + b"IDAT"
        + idat_body
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat_body))
    )
    data = b"\x89PNG\r\n\x1a\n" + ihdr + idat
    with pytest.raises(CorruptImageError, match="damaged or truncated"):
        render(data, SETTINGS)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF"])
def test_truncated_files_are_corrupt(
    fmt: str, encode: Callable[..., bytes], photo_like: Image.Image
) -> None:
    data = encode(photo_like, fmt)
    with pytest.raises(CorruptImageError) as caught:
        render(data[: len(data) // 2], SETTINGS)
    assert "truncated" in caught.value.reason
    assert caught.value.permanent


def test_truncated_progressive_jpeg_is_corrupt(
    encode: Callable[..., bytes], photo_like: Image.Image
) -> None:
    data = encode(photo_like, "JPEG", progressive=True)
    with pytest.raises(CorruptImageError):
        render(data[: len(data) * 2 // 3], SETTINGS)


def test_header_only_jpeg_is_corrupt(encode: Callable[..., bytes], photo_like: Image.Image) -> None:
    with pytest.raises(CorruptImageError, match="starts like JPEG"):
        render(encode(photo_like, "JPEG")[:20], SETTINGS)


def test_damaged_png_crc_is_corrupt(encode: Callable[..., bytes], photo_like: Image.Image) -> None:
    data = bytearray(encode(photo_like, "PNG"))
    data[40:60] = b"\xff" * 20  # inside IDAT: fails the CRC / zlib stream
    with pytest.raises(CorruptImageError):
        render(bytes(data), SETTINGS)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, I am a text file\n", b"BM but not a bitmap at all", bytes(range(256)) * 4],
    ids=["empty", "text", "text-starting-BM", "noise"],
)
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(InvalidImageError) as caught:
        render(data, SETTINGS)
    assert type(caught.value) is InvalidImageError
    assert caught.value.reason.startswith("the file is")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"8BPS\x00\x01" + b"\x00" * 40, "Photoshop PSD"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "ISO media"),
    ],
)
def test_unsupported_formats_are_named(data: bytes, name: str) -> None:
    with pytest.raises(UnsupportedFormatError) as caught:
        render(data, SETTINGS)
    assert name in caught.value.reason
    assert "JPEG, PNG, WebP" in caught.value.reason


def test_icon_file_is_unsupported(encode: Callable[..., bytes]) -> None:
    with pytest.raises(UnsupportedFormatError, match="ICO"):
        render(encode(Image.new("RGB", (32, 32)), "ICO"), SETTINGS)


def test_animated_gif_truncated_mid_frames_is_corrupt(animated_gif: bytes) -> None:
    with pytest.raises(CorruptImageError):
        render(animated_gif[: len(animated_gif) - 40], SETTINGS)


def test_errors_come_from_one_boundary(photo_like: Image.Image) -> None:
    # Flip bytes all over a JPEG: whatever libjpeg or Pillow raise, render() only
    # ever raises resizer's image errors (or succeeds on a still-decodable file).
    buffer = io.BytesIO()
    photo_like.save(buffer, "JPEG")
    original = buffer.getvalue()
    outcomes = set()
    reasons = []
    for position in range(2, len(original), max(1, len(original) // 150)):
        damaged = bytearray(original)
        damaged[position] ^= 0xFF
        try:
            render(bytes(damaged), SETTINGS)
            outcomes.add("ok")
        except InvalidImageError as error:
            outcomes.add(type(error).__name__)
            reasons.append(error.reason)
    assert "CorruptImageError" in outcomes
    assert all(reason.startswith("the ") for reason in reasons)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF"])
def test_random_damage_raises_only_resizer_errors(
    fmt: str, encode: Callable[..., bytes], photo_like: Image.Image
) -> None:
    # Seeded, so a failure reproduces. Found, and now covered: libavif's RuntimeError,
    # TIFF's "Corrupt EXIF data" warning (an exception under -W error), BMP's OSError.
    original = encode(photo_like.resize((160, 120)), fmt)
    rng = random.Random(fmt)
    outcomes = collections.Counter()
    for _ in range(60):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged))]
        try:
            render(bytes(damaged), SETTINGS)
        except (InvalidImageError, ImageTooLargeError) as error:
            outcomes[type(error).__name__] += 1
        else:
            outcomes["ok"] += 1
    assert outcomes["CorruptImageError"] > 0, outcomes


def test_gif_frame_larger_than_its_screen_is_counted(encode: Callable[..., bytes]) -> None:
    # Pillow grows a GIF's canvas when a later frame extends past the logical screen
    # (and allocates buffers that size); the pixel check must see that canvas first.
    single = encode(Image.new("P", (10, 10)), "GIF")
    flags = single[10]
    start = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    assert single[start] == 0x2C
    frame = single[start:-1]
    huge = frame[:5] + struct.pack("<HH", 30000, 30000) + frame[9:]
    with pytest.raises(ImageTooLargeError, match="30000x30000"):
        render(single[:start] + frame + huge + b";", SETTINGS)
