"""WEBP_METHOD trades libwebp's effort for size, at the same quality setting."""

from __future__ import annotations

import io
from pathlib import Path

import images
from PIL import Image

from resizer.config import Settings
from resizer.imaging import render

PHOTO = Path(__file__).parents[2] / "examples" / "photos" / "Picture_1A_by_freespace.jpg"


def test_a_lower_webp_method_writes_larger_files_of_the_same_size() -> None:
    with Image.open(PHOTO) as photo:
        data = images.encode(photo.resize((900, 708)), "WEBP")
    env = {"RENDITIONS": "m=600x600"}
    (fast,) = render(data, Settings.from_env({**env, "WEBP_METHOD": "0"}))
    (small,) = render(data, Settings.from_env({**env, "WEBP_METHOD": "6"}))
    assert fast.content_type == small.content_type == "image/webp"
    assert len(fast.data) > len(small.data)
    with Image.open(io.BytesIO(fast.data)) as left, Image.open(io.BytesIO(small.data)) as right:
        assert left.size == right.size == (600, 472)
