"""Faces in cover crops (resizer.imaging._faces): the detector on the labelled set
(tests/corpus/faces, composed into wide scenes with distractors by images.face_scene),
the crop rule, and the settings around it."""

from __future__ import annotations

import images
import pytest
from PIL import Image, ImageChops, ImageStat

from resizer.config import Settings, fingerprint, parse_renditions
from resizer.imaging import render

SQUARE = "sq=500x500:cover"


def settings(renditions: str = SQUARE, **values: object) -> Settings:
    return Settings(renditions=parse_renditions(renditions), **values)  # type: ignore[arg-type]


def jpeg(image: Image.Image) -> bytes:
    return images.encode(image, "JPEG", quality=90)


def cut(scene: Image.Image, rendered: bytes) -> tuple[int, int, int, int]:
    """Where a cover rendition was cut from ``scene`` (left, top, right, bottom in the
    scene's pixels), found from the pixels alone: the rendition compared with every
    position of the scene scaled to cover it, at a fifth of the size (about 5 px)."""
    with Image.open(images.io.BytesIO(rendered)) as opened:
        crop = opened.convert("L")
    scale = max(crop.width / scene.width, crop.height / scene.height)
    covered = scene.convert("L").resize(
        (round(scene.width * scale), round(scene.height * scale)), Image.Resampling.BOX
    )
    small_crop = crop.resize((crop.width // 5, crop.height // 5), Image.Resampling.BOX)
    small = covered.resize((covered.width // 5, covered.height // 5), Image.Resampling.BOX)
    shifts = [
        (dx, dy)
        for dx in range(small.width - small_crop.width + 1)
        for dy in range(small.height - small_crop.height + 1)
    ]

    def distance(shift: tuple[int, int]) -> float:
        window = small.crop((*shift, shift[0] + small_crop.width, shift[1] + small_crop.height))
        return float(ImageStat.Stat(ImageChops.difference(window, small_crop)).mean[0])

    dx, dy = min(shifts, key=distance)
    left, top = dx * 5 / scale, dy * 5 / scale
    return (
        round(left),
        round(top),
        round(left + crop.width / scale),
        round(top + crop.height / scale),
    )


def contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    slack = 12  # the position is found to about 5 px of the 500 px crop: 8 of the scene
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def test_a_portrait_near_the_edge_of_a_wide_photo_stays_in_the_square_crop() -> None:
    """The issue's case: a face near the left edge of a wide photo whose other end is
    busier (paint brushes); edge energy alone cuts the person out."""
    scene, (face,) = images.face_scene("astronaut_left_brushes")
    (rendered,) = render(jpeg(scene), settings())
    assert (rendered.width, rendered.height) == (500, 500)
    box = cut(scene, rendered.data)
    assert contains(box, face), f"crop {box} cuts the face {face} out"
