"""The admission estimate counts the encodes (issue 22, item 4): every rendition held
until the last is encoded, plus the largest single encode, by encoder and alpha."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from resizer.config import Settings, parse_renditions
from resizer.errors import ImageTooLargeError
from resizer.imaging import render
from resizer.imaging._admission import estimate, open_within_limits
from resizer.imaging._memory import (
    ENCODER_BYTES_PER_PIXEL,
    FACE_DETECTION_BYTES,
    HELD_BYTES_PER_PIXEL,
    MB,
    MemoryBudget,
    encode_bytes,
)


def _png(size: tuple[int, int], mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 20, 30, 128)[: len(mode)]).save(buffer, "PNG")
    return buffer.getvalue()


def _estimate(data: bytes, renditions: str) -> int:
    settings = Settings(renditions=parse_renditions(renditions))
    return estimate(open_within_limits(data, settings), len(data), settings)


def test_every_rendition_is_held_and_the_largest_encode_counts_once() -> None:
    renditions = [
        ((100, 50), [("JPEG", (100, 50)), ("AVIF", (100, 50))]),
        ((40, 20), [("WEBP", (40, 20))]),
    ]
    held = (100 * 50 + 40 * 20) * HELD_BYTES_PER_PIXEL
    avif_opaque, avif_alpha = ENCODER_BYTES_PER_PIXEL["AVIF"]
    assert encode_bytes(renditions, alpha=False) == held + avif_opaque * 100 * 50
    assert encode_bytes(renditions, alpha=True) == held + avif_alpha * 100 * 50
    assert encode_bytes([], alpha=True) == 0


def test_an_avif_rendition_reserves_its_encoder_buffers() -> None:
    data = _png((2000, 1000), "RGB")
    jpeg = _estimate(data, "big=2000x:format=jpeg")
    avif = _estimate(data, "big=2000x:format=avif")
    expected = ENCODER_BYTES_PER_PIXEL["AVIF"][0] - ENCODER_BYTES_PER_PIXEL["JPEG"][0]
    assert avif - jpeg == expected * 2000 * 1000


def test_a_source_with_alpha_reserves_the_alpha_encoders() -> None:
    opaque = _estimate(_png((2000, 1000), "RGB"), "big=2000x:format=avif")
    alpha = _estimate(_png((2000, 1000), "RGBA"), "big=2000x:format=avif")
    low, high = ENCODER_BYTES_PER_PIXEL["AVIF"]
    # RGBA also decodes bigger (4 bytes a pixel, twice, against RGB's 4): counted apart.
    assert alpha - opaque >= (high - low) * 2000 * 1000


def test_original_counts_both_encoders_it_may_resolve_to() -> None:
    # A TIFF becomes JPEG (opaque) or PNG (alpha): unknown before decoding, so the
    # larger of the two is reserved.
    buffer = io.BytesIO()
    Image.new("RGBA", (1000, 1000)).save(buffer, "TIFF")
    data = buffer.getvalue()
    original = _estimate(data, "big=1000x")
    png_only = _estimate(data, "big=1000x:format=png")
    jpeg, png = (ENCODER_BYTES_PER_PIXEL[name][1] for name in ("JPEG", "PNG"))
    assert original - png_only == (max(jpeg, png) - png) * 1000 * 1000


def test_a_cover_rendition_encodes_its_crop_not_the_scaled_image() -> None:
    data = _png((4000, 1000), "RGB")
    cover = _estimate(data, "sq=1000x1000:cover:format=avif")
    # Held: scaled to cover 1000x1000 = 4000x1000; encoded: the 1000x1000 crop (and
    # the face detector's memory, reserved for a cover crop: test_imaging_faces.py).
    fitted = _estimate(data, "sq=4000x1000:format=avif")  # held and encoded 4000x1000
    assert fitted - (cover - FACE_DETECTION_BYTES) == (
        ENCODER_BYTES_PER_PIXEL["AVIF"][0] * (4000 - 1000) * 1000
    )


def test_the_issues_avif_rendition_is_refused_with_a_reason_instead_of_running_out() -> None:
    """Issue 22: a 6000 px AVIF rendition was admitted under ~150 MB of a 384 MB budget
    (a 512 MB function) and used ~525 MB. Now it is refused before anything is decoded:
    a permanent error that says what to change, not an out-of-memory kill."""
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 3375), (90, 120, 150)).save(buffer, "JPEG", quality=80)
    settings = Settings(renditions=parse_renditions("big=6000x:format=avif"))
    budget = MemoryBudget(384 * MB)
    with pytest.raises(ImageTooLargeError, match=r"needs about [0-9,]+ MB, more than the 384 MB"):
        render(buffer.getvalue(), settings, budget)
    # The same source as a 1600 px AVIF fits.
    small = Settings(renditions=parse_renditions("big=1600x:format=avif"))
    assert estimate(open_within_limits(buffer.getvalue(), small), 0, small) < 384 * MB
