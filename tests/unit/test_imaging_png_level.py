"""PNG_COMPRESS_LEVEL trades encoding time for size; the pixels stay the same."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageChops

from resizer.config import Settings
from resizer.imaging import render

PHOTO = Path(__file__).parents[2] / "examples" / "photos" / "Picture_1A_by_freespace.jpg"


def _photo_png() -> bytes:
    with Image.open(PHOTO) as photo:
        image = photo.resize((600, 472))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_png_compress_level_changes_size_not_pixels() -> None:
    data = _photo_png()
    fast = render(data, Settings.from_env({"PNG_COMPRESS_LEVEL": "1"}))
    small = render(data, Settings.from_env({"PNG_COMPRESS_LEVEL": "9"}))
    for a, b in zip(fast, small, strict=True):
        assert a.content_type == b.content_type == "image/png"
        assert len(a.data) > len(b.data)
        with Image.open(io.BytesIO(a.data)) as left, Image.open(io.BytesIO(b.data)) as right:
            assert (
                ImageChops.difference(left.convert("RGB"), right.convert("RGB")).getbbox() is None
            )
