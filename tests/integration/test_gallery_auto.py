"""The gallery on real ``format=auto:quality=auto`` sets in headless Chromium (issue 19):
each rendition's ``<source>``s are its manifest's outputs in manifest order (the
fallback, listed last, is the ``<img>``), and the browser loads the first: the
smallest file it supports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import images
import pytest
from browser import Browser, chromium_or_skip, load_images

from resizer.config import Settings
from resizer.imaging import render_set
from resizer_tools.local.gallery import write_gallery
from resizer_tools.ops.offline import write_set

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RENDITIONS = "t=320x240:cover:format=auto:quality=auto"


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """``resizer resize``'s files and manifests (the function's engine) for two photos, a
    chart and a logo with alpha, and the gallery of those manifests, loaded in Chromium."""
    import json

    folder = tmp_path_factory.mktemp("auto")
    inputs = tmp_path_factory.mktemp("inputs")
    sources = [
        ROOT / "examples" / "photos" / "friends_by_Aitzol_Berasategi.jpg",
        ROOT / "examples" / "photos" / "seeding_by_Clements_Engelhardt.jpg",
    ]
    for kind in ("chart", "logo"):
        path = inputs / f"{kind}.png"
        path.write_bytes(images.encode(images.graphic(kind), "PNG"))
        sources.append(path)
    settings = Settings.from_env({"RENDITIONS": RENDITIONS})
    manifests = []
    for source in sources:
        rendered = render_set(source.read_bytes(), settings)
        write_set(folder, Path(source.name), source, rendered, settings)
        path = folder / "manifests" / f"{source.name}.json"
        manifests.append(json.loads(path.read_text(encoding="utf-8")))
    write_gallery(folder, manifests, "format=auto")
    return folder, manifests


def test_sources_follow_the_manifest_and_the_browser_takes_the_smallest(
    gallery: tuple[Path, list[dict[str, Any]]],
) -> None:
    folder, manifests = gallery
    with Browser(chromium_or_skip(), width=1000, height=700) as browser:
        report = load_images(browser, (folder / "index.html").as_uri())
    shown = {image["alt"]: image for image in report["images"]}
    assert set(shown) == {m["source"]["key"] for m in manifests}
    offered = set()
    for manifest in manifests:
        entries = manifest["renditions"]
        image = shown[manifest["source"]["key"]]
        assert image["complete"]
        assert image["sources"] == [e["content_type"] for e in entries[:-1]]
        offered.update(image["sources"])
        # Chromium supports AVIF and WebP: it loads the first entry, the smallest.
        assert image["currentSrc"].endswith(entries[0]["key"]), image["currentSrc"]
        page = (folder / "index.html").read_text(encoding="utf-8")
        img = page.split(f'alt="{manifest["source"]["key"]}"')[0].rsplit("<img ", 1)[1]
        assert entries[-1]["key"] in img  # the fallback is the <img>
    assert offered  # some smaller format was kept and offered
