"""The placeholder's BlurHash encoder (``_placeholder.encode``, issue 21) writes what the
``blurhash`` package's reference encoder writes, for the same pixels: on the photos'
placeholder copies, on random pixels of every size up to the copy's, and for every
component count BlurHash allows at the corners (1x1 to 9x9)."""

from __future__ import annotations

import random
from pathlib import Path

import blurhash
import pytest
from PIL import Image

from resizer.imaging import _placeholder

PHOTOS = sorted((Path(__file__).resolve().parents[2] / "examples" / "photos").glob("*.jpg"))


def _reference(image: Image.Image, x: int, y: int) -> str:
    data, width = image.tobytes(), image.width
    rows = [
        [tuple(data[(row * width + col) * 3 : (row * width + col) * 3 + 3]) for col in range(width)]
        for row in range(image.height)
    ]
    return str(blurhash.encode(rows, x, y))


def _noise(size: tuple[int, int], seed: int) -> Image.Image:
    chance = random.Random(seed)
    return Image.frombytes(
        "RGB", size, bytes(chance.randrange(256) for _ in range(size[0] * size[1] * 3))
    )


@pytest.mark.parametrize("path", PHOTOS, ids=lambda path: path.stem)
def test_a_photos_placeholder_copy_hashes_as_the_reference_does(path: Path) -> None:
    image = Image.open(path).convert("RGB")
    image.thumbnail((_placeholder.HASH_SIZE, _placeholder.HASH_SIZE), Image.Resampling.BOX)
    for x, y in (_placeholder.COMPONENTS, _placeholder.COMPONENTS[::-1]):
        assert _placeholder.encode(image, x, y) == _reference(image, x, y)


def test_random_pixels_of_every_size_hash_as_the_reference_does() -> None:
    side = _placeholder.HASH_SIZE
    for seed, size in enumerate([(1, 1), (1, side), (side, 1), (side, side), (7, 13)]):
        image = _noise(size, seed)
        for x, y in ((1, 1), (4, 3), (3, 4), (9, 1), (1, 9), (9, 9)):
            assert _placeholder.encode(image, x, y) == _reference(image, x, y), (size, x, y)
    chance = random.Random(21)
    for seed in range(60):
        image = _noise((chance.randint(1, side), chance.randint(1, side)), 100 + seed)
        assert _placeholder.encode(image, 4, 3) == _reference(image, 4, 3), image.size


def test_flat_and_extreme_images_hash_as_the_reference_does() -> None:
    for colour in ((0, 0, 0), (255, 255, 255), (128, 64, 32)):
        image = Image.new("RGB", (20, 13), colour)
        assert _placeholder.encode(image, 4, 3) == _reference(image, 4, 3), colour
