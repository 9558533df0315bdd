"""PNG_COMPRESS_LEVEL trades encoding time for size; the pixels stay the same."""

from __future__ import annotations

import io

from PIL import Image, ImageChops

from resizer.config import Settings
from resizer.imaging import render


def _noisy_png() -> bytes:
    image = Image.effect_noise((600, 400), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_png_compress_level_changes_size_not_pixels() -> None:
    data = _noisy_png()
    fast = render(data, Settings.from_env({"PNG_COMPRESS_LEVEL": "1"}))
    small = render(data, Settings.from_env({"PNG_COMPRESS_LEVEL": "9"}))
    for a, b in zip(fast, small, strict=True):
        assert a.content_type == b.content_type == "image/png"
        assert len(a.data) > len(b.data)
        with Image.open(io.BytesIO(a.data)) as left, Image.open(io.BytesIO(b.data)) as right:
            assert (
                ImageChops.difference(left.convert("RGB"), right.convert("RGB")).getbbox() is None
            )
