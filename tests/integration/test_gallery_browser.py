"""The manifest-driven gallery in a real browser (headless Chromium, DevTools protocol).

Real renditions (JPEG, WebP, AVIF made by Pillow at the sizes a manifest lists) and
manifests shaped as the issue specifies; the page is loaded by Chromium and the
rendered DOM is asserted on: every image loads, the browser picks AVIF where there
is an AVIF source, the sizes it decodes are the manifest's, the layout does not move
when the images arrive, and the placeholder is the image's background meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, chromium_or_skip, load_images
from PIL import Image

from resizer_tools.local.gallery import write_gallery

pytestmark = pytest.mark.integration

_EXT = {"JPEG": ".jpg", "WEBP": ".webp", "AVIF": ".avif", "PNG": ".png"}
_TYPE = {"JPEG": "image/jpeg", "WEBP": "image/webp", "AVIF": "image/avif", "PNG": "image/png"}


def _rendition(
    folder: Path, source_key: str, name: str, fmt: str, size: tuple[int, int], fit: str, first: bool
) -> dict[str, Any]:
    key = f"{name}/{source_key}" + ("" if first else _EXT[fmt])
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    # A gradient, so that every encoder has real work and the sizes differ by format.
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.save(path, fmt)
    return {
        "name": name,
        "key": key,
        "format": fmt,
        "content_type": _TYPE[fmt],
        "width": size[0],
        "height": size[1],
        "bytes": path.stat().st_size,
        "fit": fit,
    }


def _manifest(
    folder: Path,
    key: str,
    size: tuple[int, int],
    items: list[tuple[str, str, tuple[int, int], str]],
) -> dict[str, Any]:
    renditions = []
    seen: set[str] = set()
    for name, fmt, box, fit in items:
        renditions.append(_rendition(folder, key, name, fmt, box, fit, name not in seen))
        seen.add(name)
    return {
        "version": 1,
        "source": {
            "bucket": "src",
            "key": key,
            "etag": "0123",
            "width": size[0],
            "height": size[1],
            "format": "JPEG",
            "bytes": 2_811_933,
        },
        "config": "f1e2d3c4b5a6",
        "renditions": renditions,
        "placeholder": {"blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "color": "#7a5c3e"},
    }


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("gallery")
    manifests = [
        _manifest(
            folder,
            "photos/a b+c.jpg",  # a space and a plus: the page must quote keys
            (4032, 3024),
            [
                ("large", "JPEG", (1600, 1200), "fit"),
                ("large", "WEBP", (1600, 1200), "fit"),
                ("large", "AVIF", (1600, 1200), "fit"),
                ("medium", "JPEG", (800, 600), "fit"),
                ("medium", "WEBP", (800, 600), "fit"),
                ("medium", "AVIF", (800, 600), "fit"),
                ("thumbnails", "JPEG", (150, 150), "cover"),
                ("thumbnails", "WEBP", (150, 150), "cover"),
            ],
        ),
        _manifest(
            folder,
            "portrait.jpg",
            (1200, 1800),
            [("large", "JPEG", (1067, 1600), "fit"), ("medium", "JPEG", (533, 800), "fit")],
        ),
    ]
    write_gallery(folder, manifests, "gallery test")
    return folder, manifests


@pytest.fixture(scope="module")
def rendered(gallery: tuple[Path, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    folder, _ = gallery
    with Browser(chromium_or_skip(), width=1000, height=700) as browser:
        report = load_images(browser, (folder / "index.html").as_uri())
        browser.screenshot(folder / "gallery.png")
        yield {**report, "folder": folder}


def _by_key(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for m in manifests for r in m["renditions"]}


def test_every_image_loads_at_the_size_its_manifest_gives(
    gallery: tuple[Path, list[dict[str, Any]]], rendered: dict[str, Any]
) -> None:
    folder, manifests = gallery
    renditions = _by_key(manifests)
    images = rendered["images"]
    assert len(images) == 3  # the photo's responsive picture and crop, the portrait's picture
    for image in images:
        assert image["complete"]
        chosen = image["currentSrc"].split(str(folder) + "/", 1)[1]
        assert chosen in renditions, chosen
        assert image["naturalWidth"] > 0
        assert image["pixels"] == [renditions[chosen]["width"], renditions[chosen]["height"]]


def test_the_browser_picks_avif_then_webp_and_the_fallback_otherwise(
    rendered: dict[str, Any],
) -> None:
    responsive, crop, portrait = (
        rendered["images"][0],
        rendered["images"][1],
        rendered["images"][2],
    )
    assert responsive["sources"] == ["image/avif", "image/webp"]
    assert responsive["currentSrc"].endswith("photos/a b+c.jpg.avif")
    # 640 CSS px at DPR 1: the 800 w candidate is the smallest that covers it.
    assert "/medium/" in responsive["currentSrc"]
    assert crop["sources"] == ["image/webp"]
    assert crop["currentSrc"].endswith("thumbnails/photos/a b+c.jpg.webp")
    assert portrait["sources"] == []
    # Shown 427 CSS px wide (a 640 px square box): the 533 w file covers it.
    assert portrait["currentSrc"].endswith("medium/portrait.jpg")
    assert round(portrait["box"]["w"]) == 427


def test_boxes_are_laid_out_before_the_images_arrive_and_never_move(
    rendered: dict[str, Any],
) -> None:
    images, early = rendered["images"], rendered["early"]
    assert len(early) == len(images)
    # Under a pixel: each size is rounded to whole pixels, so a 533x800 file shown in
    # a box laid out from 1067x1600 differs by a fraction of a pixel.
    for before, after in zip(early, images, strict=True):
        assert before["h"] > 0
        assert before["w"] > 0
        assert abs(before["w"] - after["box"]["w"]) < 1
        assert abs(before["h"] - after["box"]["h"]) < 1
        assert abs(before["y"] - after["box"]["y"]) < 1
        # The box has the rendition's aspect ratio, from the width/height attributes.
        ratio = int(after["width"]) / int(after["height"])
        assert abs(after["box"]["w"] / after["box"]["h"] - ratio) < 0.02
    assert sum(rendered["shifts"]) == 0


def test_the_placeholder_is_the_background_while_loading_and_only_then(
    rendered: dict[str, Any],
) -> None:
    waiting = [image for image in rendered["early"] if not image["complete"]]
    assert waiting  # the lazy ones at least had not arrived when the DOM was ready
    for image in waiting:
        assert image["background"] == "rgb(122, 92, 62)"  # #7a5c3e
        assert image["backgroundImage"].startswith('url("data:image/png;base64,')
    for image in rendered["images"]:  # loaded: the blur is gone (transparency shows the page)
        assert image["backgroundImage"] == "none"


def test_the_page_names_what_the_manifests_list(
    gallery: tuple[Path, list[dict[str, Any]]], rendered: dict[str, Any]
) -> None:
    folder, manifests = gallery
    page = (folder / "index.html").read_text(encoding="utf-8")
    for rendition in _by_key(manifests).values():
        assert rendition["key"] in page
    assert json.loads((folder / "manifests.json").read_text(encoding="utf-8")) == sorted(
        manifests, key=lambda m: m["source"]["key"]
    )
    assert (rendered["folder"] / "gallery.png").stat().st_size > 10_000


# Issue 22 item 10: whatever order the config lists formats in, the browser is offered
# AVIF, then WebP, then the fallback in the <img>. The keys here are deliberately not
# the function's layout: the gallery must take every key from the manifest.
_ORDERS = {
    # format=webp+jpeg: the first format (the one at <name>/<key>) is WebP.
    "webp-first.jpg": ["WEBP", "JPEG"],
    # format=avif+webp+jpeg: an AVIF-first config.
    "avif-first.jpg": ["AVIF", "WEBP", "JPEG"],
    # format=jpeg+webp+avif: the fallback first.
    "jpeg-first.jpg": ["JPEG", "WEBP", "AVIF"],
    # format=webp+avif: no legacy format at all; WebP is the <img>.
    "modern-only.jpg": ["WEBP", "AVIF"],
}


@pytest.fixture(scope="module")
def format_orders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("orders")
    manifests = []
    for source_key, formats in _ORDERS.items():
        renditions = []
        for name, box in (("large", (1600, 1200)), ("medium", (800, 600))):
            for fmt in formats:
                entry = _rendition(folder, source_key, name, fmt, box, "fit", first=True)
                # Move the file to a key of another shape, and list that key.
                key = f"files/{fmt.lower()}/{name}-{source_key.replace('.jpg', '')}"
                (folder / key).parent.mkdir(parents=True, exist_ok=True)
                (folder / entry["key"]).replace(folder / key)
                renditions.append({**entry, "key": key})
        manifests.append(
            {
                "version": 1,
                "source": {
                    "bucket": "src",
                    "key": source_key,
                    "etag": "0123",
                    "width": 4032,
                    "height": 3024,
                    "format": "JPEG",
                    "bytes": 1,
                },
                "config": "f1e2d3c4b5a6",
                "renditions": renditions,
                "placeholder": {"blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "color": "#7a5c3e"},
            }
        )
    write_gallery(folder, manifests, "format order")
    with Browser(chromium_or_skip(), width=1000, height=700) as browser:
        report = load_images(browser, (folder / "index.html").as_uri())
    return {**report, "folder": folder}


@pytest.mark.parametrize(
    ("source_key", "sources", "loaded", "fallback"),
    [
        ("avif-first.jpg", ["image/avif", "image/webp"], "avif", "jpeg"),
        ("jpeg-first.jpg", ["image/avif", "image/webp"], "avif", "jpeg"),
        ("webp-first.jpg", ["image/webp"], "webp", "jpeg"),
        ("modern-only.jpg", ["image/avif"], "avif", "webp"),
    ],
)
def test_the_browser_is_offered_avif_then_webp_then_the_fallback_whatever_the_config_order(
    format_orders: dict[str, Any], source_key: str, sources: list[str], loaded: str, fallback: str
) -> None:
    images = {image["alt"]: image for image in format_orders["images"]}
    image = images[source_key]
    assert image["sources"] == sources
    # Chromium supports AVIF and WebP: the first <source> is the file it loads.
    stem = source_key.replace(".jpg", "")
    assert image["currentSrc"].endswith(f"files/{loaded}/medium-{stem}"), image["currentSrc"]
    page = (format_orders["folder"] / "index.html").read_text(encoding="utf-8")
    img = page.split(f'alt="{source_key}"')[0].rsplit("<img ", 1)[1]
    assert f"files/{fallback}/large-{stem}" in img  # the <img> holds the fallback format
