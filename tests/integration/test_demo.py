"""``resizer demo`` end to end, on the derived demo images (EXIF rotation, transparency)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from e2e import ROOT, TEMPLATE
from PIL import Image
from rich.console import Console

from resizer_tools.local.demo import default_photos, run_demo

pytestmark = pytest.mark.integration

DEMO = ROOT / "examples" / "demo"


def test_bundled_photos_include_the_rotated_and_transparent_ones() -> None:
    photos = {path.name for path in default_photos(ROOT)}
    assert {"friends_exif_orientation_6.jpg", "wine_transparent.png"} <= photos
    assert len(photos) >= 9


def test_demo_renders_a_table_and_a_gallery(tmp_path: Path) -> None:
    out = tmp_path / "gallery"
    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    photos = [DEMO / "friends_exif_orientation_6.jpg", DEMO / "wine_transparent.png"]
    assert run_demo(console, template=TEMPLATE, out=out, photos=photos) == 0
    text = buffer.getvalue()
    assert "all renditions made" in text
    assert "upload-to-rendition latency: p50" in text
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ("thumbnails", "medium", "large"):
        assert f"{name}/wine_transparent.png" in index
        assert (out / name / "friends_exif_orientation_6.jpg").is_file()
    # Stored sideways with Orientation=6: the renditions come out upright (portrait).
    with Image.open(out / "medium" / "friends_exif_orientation_6.jpg") as image:
        assert image.height > image.width
    with Image.open(out / "thumbnails" / "wine_transparent.png") as image:
        assert image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
