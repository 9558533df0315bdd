"""The demo's HTML gallery: each original beside its renditions, all files local."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = ["GalleryImage", "GalleryRow", "write_gallery"]


@dataclass(frozen=True)
class GalleryImage:
    label: str
    path: str  # relative to the gallery folder
    width: int
    height: int
    size: int
    latency_ms: float | None = None


@dataclass(frozen=True)
class GalleryRow:
    original: GalleryImage
    renditions: Sequence[GalleryImage]


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; }
.row { display: flex; gap: 1.5em; align-items: flex-end; margin: 0 0 2.5em; flex-wrap: wrap; }
figure { margin: 0; }
figcaption { color: #555; font-size: 12px; }
/* A checkerboard shows transparency for what it is. */
img { display: block; max-width: 420px; max-height: 420px;
  background: repeating-conic-gradient(#ddd 0% 25%, #fff 0% 50%) 50% / 16px 16px; }
.original img { max-width: 320px; max-height: 320px; outline: 1px solid #bbb; }
"""


def _figure(image: GalleryImage, css_class: str = "") -> str:
    latency = f", {image.latency_ms:.0f} ms after upload" if image.latency_ms is not None else ""
    src = quote(image.path)
    return (
        f'<figure class="{css_class}"><a href="{src}"><img src="{src}" '
        f'alt="{html.escape(image.label)}" loading="lazy"></a>'
        f"<figcaption><b>{html.escape(image.label)}</b><br>"
        f"{image.width}&times;{image.height}, {image.size:,} bytes{latency}</figcaption></figure>"
    )


def write_gallery(folder: Path, rows: Sequence[GalleryRow], title: str) -> Path:
    """Write ``folder/index.html`` (the images must already be under ``folder``)."""
    body = "\n".join(
        '<div class="row">'
        + _figure(row.original, "original")
        + "".join(_figure(r) for r in row.renditions)
        + "</div>"
        for row in rows
    )
    page = (
        "<!doctype html>\n<html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        "<p>Each original (left) beside the renditions the handler wrote to the "
        "destination bucket; large images are scaled down on screen, click one for its "
        "real size. Sizes are as displayed (EXIF orientation applied).</p>\n"
        f"{body}\n</html>\n"
    )
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
