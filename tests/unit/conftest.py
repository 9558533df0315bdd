"""Fixtures for the unit tests: images built by the one image factory
(tests/support/images.py), and the pipeline on InMemoryStorage (tests/unit/pipeline_cases.py)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from images import (
    BLUE,
    CORNERS,
    GREEN,
    RED,
    bmp_with_alpha,
    encode,
    oriented_jpeg,
    quadrants,
    raw_png,
)
from PIL import Image
from pipeline_cases import SETTINGS, VERSIONS

from resizer.memory_storage import InMemoryStorage
from resizer.pipeline import Pipeline


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


# ---------------------------------------------------------------- the pipeline on the fake


@pytest.fixture
def versions() -> list[bytes]:
    return list(VERSIONS)


@pytest.fixture
def storage() -> InMemoryStorage:
    return InMemoryStorage(SETTINGS)


@pytest.fixture
def pipeline(storage: InMemoryStorage) -> Pipeline:
    return Pipeline(storage.settings, storage)
