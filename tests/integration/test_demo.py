"""``resizer demo`` end to end: crops, formats, manifests, events and the gallery.

On the derived demo images (EXIF rotation, transparency), with the demo's RENDITIONS
(a square cover crop, WebP and AVIF beside the original format); the gallery it
writes is then opened in headless Chromium.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from browser import Browser, chromium_or_skip, load_images
from e2e import ROOT, TEMPLATE
from PIL import Image
from rich.console import Console

from resizer_tools.local.demo import default_photos, run_demo

pytestmark = pytest.mark.integration

DEMO = ROOT / "examples" / "demo"
ROTATED, TRANSPARENT = "friends_exif_orientation_6.jpg", "wine_transparent.png"
#: A face near the left edge of a wide photo whose right end is busier (SOURCES.md there).
PORTRAIT, FACE = "portrait_at_the_edge.jpg", (119, 392, 216, 495)


def test_bundled_photos_include_the_rotated_and_transparent_ones() -> None:
    photos = {path.name for path in default_photos(ROOT)}
    assert {ROTATED, TRANSPARENT, PORTRAIT} <= photos
    assert len(photos) >= 9


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "gallery"
    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    photos = [DEMO / ROTATED, DEMO / TRANSPARENT, DEMO / PORTRAIT]
    assert run_demo(console, template=TEMPLATE, out=out, photos=photos) == 0, buffer.getvalue()
    return out, buffer.getvalue()


def _manifest(out: Path, name: str) -> dict[str, object]:
    return dict(json.loads((out / "manifests" / f"{name}.json").read_text(encoding="utf-8")))


def test_demo_writes_crops_and_formats_listed_by_the_manifests(demo: tuple[Path, str]) -> None:
    out, text = demo
    assert "every image has its renditions and manifest" in text
    assert "upload-to-manifest latency" in text
    rotated = _manifest(out, ROTATED)
    entries = {(r["name"], r["format"]): r for r in rotated["renditions"]}  # type: ignore[attr-defined]
    assert {("thumbnails", "JPEG"), ("thumbnails", "WEBP")} <= set(entries)
    assert {("large", "JPEG"), ("large", "WEBP"), ("large", "AVIF")} <= set(entries)
    for entry in entries.values():
        with Image.open(out / entry["key"]) as image:
            assert image.size == (entry["width"], entry["height"])
            assert image.format == entry["format"]
    # The crop is exactly its box; the fitted ones keep the upright (portrait) shape.
    assert (entries["thumbnails", "JPEG"]["width"], entries["thumbnails", "JPEG"]["height"]) == (
        150,
        150,
    )
    assert entries["large", "JPEG"]["height"] > entries["large", "JPEG"]["width"]
    with Image.open(out / entries["large", "WEBP"]["key"]) as image:
        assert image.height > image.width
    transparent = _manifest(out, TRANSPARENT)
    (png,) = [
        r
        for r in transparent["renditions"]  # type: ignore[attr-defined]
        if r["name"] == "medium" and r["format"] == "PNG"
    ]
    with Image.open(out / png["key"]) as image:
        assert image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    # small=480x480:format=auto:quality=auto (issue 19): smallest first, the fallback
    # (JPEG; PNG with alpha) last, each at QUALITY_TARGET (80) within 2.
    for manifest, fallback in ((rotated, "JPEG"), (transparent, "PNG")):
        small = [r for r in manifest["renditions"] if r["name"] == "small"]  # type: ignore[attr-defined]
        assert [r["bytes"] for r in small] == sorted({r["bytes"] for r in small})
        assert small[-1]["format"] == fallback
        assert small[-1]["key"].startswith("small/")
        for entry in small:
            assert abs(entry["score"] - 80) <= 2 or entry.get("quality") is None


def test_demo_crops_the_portrait_around_the_face(demo: tuple[Path, str]) -> None:
    """The square thumbnail of a face near the edge of a wide photo keeps the face
    (FACE_DETECTION, on by default), where edge energy alone would show the brushes."""
    from images import cover_window, holds

    out, _ = demo
    entries = {(r["name"], r["format"]): r for r in _manifest(out, PORTRAIT)["renditions"]}  # type: ignore[attr-defined]
    with Image.open(DEMO / PORTRAIT) as opened:
        scene = opened.convert("RGB")
    crop = (out / entries["thumbnails", "JPEG"]["key"]).read_bytes()
    assert holds(cover_window(scene, crop), FACE)


def test_demo_saw_the_ready_events(demo: tuple[Path, str]) -> None:
    _, text = demo
    assert "3 'Renditions Ready' event(s)" in text


def test_demo_gallery_loads_in_a_browser_without_layout_shift(demo: tuple[Path, str]) -> None:
    out, _ = demo
    with Browser(chromium_or_skip(), width=1000, height=700) as browser:
        report = load_images(browser, (out / "index.html").as_uri())
        browser.screenshot(out / "gallery.png")
    images = report["images"]
    assert len(images) == 6  # per image: the responsive picture and the crop
    for image in images:
        assert image["complete"]
        assert image["pixels"][0] > 0
        assert image["backgroundImage"] == "none"  # the placeholder went with the load
    responsive = [i for i in images if "image/avif" in i["sources"]]
    assert len(responsive) == 3
    assert all(i["currentSrc"].endswith(".avif") for i in responsive)
    crops = [i for i in images if i["sources"] == ["image/webp"]]
    assert all(i["currentSrc"].endswith(".webp") for i in crops)
    assert sum(report["shifts"]) == 0
    for early in report["early"]:
        if not early["complete"]:
            assert early["backgroundImage"].startswith('url("data:image/png;base64,')
    for before, after in zip(report["early"], images, strict=True):
        assert abs(before["h"] - after["box"]["h"]) < 1  # sizes are whole pixels


def test_demo_watermarks_the_largest_rendition_only(demo: tuple[Path, str]) -> None:
    """The demo's WATERMARK (a dark label) sits bottom-right on `large`, nowhere else:
    against the same rendition made without a mark, only that corner differs."""
    from PIL import ImageChops, ImageStat

    from resizer.config import Settings
    from resizer.imaging import render

    out, _ = demo
    entries = {(r["name"], r["format"]): r for r in _manifest(out, ROTATED)["renditions"]}  # type: ignore[attr-defined]
    plain = {
        image.rendition.name: image
        for image in render(
            (DEMO / ROTATED).read_bytes(),
            Settings.from_env({"RENDITIONS": "large=1600x1600,medium=800x800"}),
        )
    }
    for name, marked in (("large", True), ("medium", False)):
        with (
            Image.open(out / entries[name, "JPEG"]["key"]) as got,
            Image.open(io.BytesIO(plain[name].data)) as want,
        ):
            diff = ImageChops.difference(got.convert("RGB"), want.convert("RGB"))
            width, height = diff.size
            corner = (int(width * 0.75), int(height - width * 0.08), width, height)
            mean = sum(ImageStat.Stat(diff.crop(corner)).mean) / 3
            rest = sum(ImageStat.Stat(diff.crop((0, 0, width // 2, height // 2))).mean) / 3
            assert rest < 3, name
            assert (mean > 15) == marked, (name, mean)
