"""The demo's HTML gallery, built from the manifests (``manifests/<source key>.json``).

What a web page does with resizer's output, shown on every image:

- the ``fit`` renditions of a source make one responsive ``<picture>``: an AVIF, then a
  WebP ``<source>`` (where the config writes those formats, whatever their order in
  it) and the ``<img>`` fallback in a format every browser shows (JPEG, PNG or GIF;
  WebP when the config writes no other), each with a ``srcset`` of every size
  (``<key> <width>w``) and ``sizes``, so the browser picks the smallest format it
  supports and the size it needs;
- a ``format=auto`` rendition's manifest lists its outputs smallest first, fallback
  last, and keeps a further format only when smaller than every one after it: its
  AVIF (when kept) before its WebP, so the ``<source>``s above are in its manifest's
  order and the browser takes the smallest file it supports (tests/integration/
  test_gallery_auto.py checks it in Chromium on real format=auto sets);
- each ``cover`` rendition (a crop, another aspect ratio) is a ``<picture>`` of its own;
- every ``<img>`` has ``width``/``height`` attributes from the manifest, so the page
  lays out before any image arrives (no layout shift), and the placeholder (the
  BlurHash decoded into a tiny PNG over the dominant colour) as its background while
  it loads.

The page refers to the renditions by the keys their manifest lists (never built
here), relative to the gallery folder, grouped by the entries' ``content_type``,
``width`` and ``fit``: the files must be there (the demo downloads them).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["picture", "placeholder_style", "write_gallery"]

#: The box the responsive picture is shown in (CSS px), never above its own size.
_DISPLAY = 640
#: Formats offered as ``<source>``s, in the order browsers should try them (smallest
#: files first); a browser takes the first ``<source>`` whose type it supports.
_MODERN = ("image/avif", "image/webp")
_PLACEHOLDER_PX = 32

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin: 0 0 .3em; overflow-wrap: anywhere; }
section { margin: 0 0 2.5em; }
.pictures { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }
figure { margin: 0; }
figcaption, .meta { color: #555; font-size: 12px; }
img { display: block; height: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 12px; margin-top: .6em; }
td, th { padding: 1px 8px; text-align: left; border-bottom: 1px solid #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _href(key: str) -> str:
    return html.escape(quote(key), quote=True)


def placeholder_style(manifest: Mapping[str, Any]) -> str:
    """CSS background for an ``<img>`` while it loads: BlurHash over the dominant colour."""
    found = manifest.get("placeholder") or {}
    layers = []
    if found.get("blurhash"):
        layers.append(f"url(data:image/png;base64,{_decoded(str(found['blurhash']), manifest)})")
    color = str(found.get("color") or "")
    css = f"background: {html.escape(color)} " if color else "background: "
    if layers:
        css += f"{layers[0]} center / cover no-repeat"
    return css.strip()


def _decoded(blurhash_text: str, manifest: Mapping[str, Any]) -> str:
    """The BlurHash as a small PNG (base64) of the source's aspect ratio."""
    import blurhash  # type: ignore[import-untyped]  # noqa: PLC0415 (the demo only)
    from PIL import Image  # noqa: PLC0415

    width, height = int(manifest["source"]["width"]), int(manifest["source"]["height"])
    scale = _PLACEHOLDER_PX / max(width, height, 1)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    rows = blurhash.decode(blurhash_text, w, h)
    image = Image.new("RGB", (w, h))
    image.putdata([tuple(int(c) for c in pixel[:3]) for row in rows for pixel in row])
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def picture(
    manifest: Mapping[str, Any],
    renditions: Sequence[Mapping[str, Any]],
    *,
    responsive: bool = False,
    lazy: bool = True,
) -> str:
    """A ``<picture>`` of ``renditions`` (one aspect ratio): a ``<source>`` per modern
    format (AVIF, then WebP) and the ``<img>`` fallback (:func:`_fallback_type`).

    ``responsive``: every size in each ``srcset`` (``<key> <width>w``), shown to fit a
    :data:`_DISPLAY` px square (never above the largest rendition's size), and ``sizes``
    saying so, so the browser fetches the smallest file that covers it. Otherwise one
    file per format, shown at its size. The placeholder is the ``<img>``'s background
    until it is decoded (then removed: transparent images show the page, not the blur).
    """
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for rendition in renditions:
        by_type.setdefault(str(rendition["content_type"]), []).append(rendition)
    fallback_type = _fallback_type(list(by_type))
    fallback = by_type[fallback_type]
    largest = max(fallback, key=lambda r: int(r["width"]))
    width, height = int(largest["width"]), int(largest["height"])
    shown = min(width, _DISPLAY, round(_DISPLAY * width / max(height, 1)))

    def srcset(items: Sequence[Mapping[str, Any]]) -> str:
        if not responsive:
            return _href(str(items[0]["key"]))
        ordered = sorted(items, key=lambda r: int(r["width"]))
        return ", ".join(f"{_href(str(r['key']))} {int(r['width'])}w" for r in ordered)

    sizes = f"(max-width: {shown + 48}px) calc(100vw - 48px), {shown}px"
    size_attr = f' sizes="{sizes}"' if responsive else ""
    box = f"width: {shown}px; " if responsive else ""
    sources = "".join(
        f'<source type="{kind}" srcset="{srcset(by_type[kind])}"{size_attr}>'
        for kind in _MODERN
        if kind in by_type and kind != fallback_type
    )
    alt = html.escape(str(manifest["source"]["key"]), quote=True)
    loading = ' loading="lazy"' if lazy else ""
    return (
        f"<picture>{sources}"
        f'<img src="{_href(str(largest["key"]))}" srcset="{srcset(fallback)}"{size_attr} '
        f'width="{width}" height="{height}" alt="{alt}"{loading} decoding="async" '
        f'style="{box}{placeholder_style(manifest)}" '
        # Once decoded, not merely loaded: an async decode would otherwise leave a blank.
        "onload=\"this.decode().then(() => { this.style.background = 'none'; }, () => {})\">"
        "</picture>"
    )


def _fallback_type(types: list[str]) -> str:
    """The ``<img>``'s format: the first listed that every browser shows (not AVIF or
    WebP: JPEG, PNG, GIF); with only modern ones, the most widely supported (WebP)."""
    legacy = [kind for kind in types if kind not in _MODERN]
    if legacy:
        return legacy[0]
    return max(types, key=_MODERN.index)


def _section(manifest: Mapping[str, Any], first: bool) -> str:
    source = manifest["source"]
    renditions: list[Mapping[str, Any]] = list(manifest.get("renditions") or [])
    fitted = [r for r in renditions if r.get("fit", "fit") == "fit"]
    crops: dict[str, list[Mapping[str, Any]]] = {}
    for rendition in renditions:
        if rendition.get("fit") == "cover":
            crops.setdefault(str(rendition["name"]), []).append(rendition)
    figures = []
    if fitted:
        names = sorted({str(r["name"]) for r in fitted})
        figures.append(
            '<figure class="responsive">'
            + picture(manifest, fitted, responsive=True, lazy=not first)
            + f"<figcaption>fit: {html.escape(', '.join(names))} (srcset; the browser "
            "picks the size and format)</figcaption></figure>"
        )
    for name, items in sorted(crops.items()):
        box = f"{int(items[0]['width'])}&times;{int(items[0]['height'])}"
        figures.append(
            f'<figure class="crop">{picture(manifest, items, lazy=not first)}'
            f"<figcaption>{html.escape(name)}: cover {box}</figcaption></figure>"
        )
    rows = "".join(
        f"<tr><td>{html.escape(str(r['name']))}</td><td>{html.escape(str(r['format']))}</td>"
        f"<td>{html.escape(str(r.get('fit', 'fit')))}</td>"
        f"<td class=n>{int(r['width'])}&times;{int(r['height'])}</td>"
        f"<td class=n>{html.escape(str(r.get('quality', '')))}</td>"
        f"<td class=n>{html.escape(str(r.get('score', '')))}</td>"
        f'<td class=n>{int(r["bytes"]):,}</td><td><a href="{_href(str(r["key"]))}">'
        f"{html.escape(str(r['key']))}</a></td></tr>"
        for r in sorted(renditions, key=lambda r: (str(r["name"]), -int(r["bytes"])))
    )
    placeholder = manifest.get("placeholder") or {}
    return (
        f"<section><h2>{html.escape(str(source['key']))}</h2>"
        f'<p class="meta">source {int(source["width"])}&times;{int(source["height"])} '
        f"{html.escape(str(source.get('format', '')))}, {int(source.get('bytes', 0)):,} bytes; "
        f"config {html.escape(str(manifest.get('config', '')))}; placeholder "
        f"{html.escape(str(placeholder.get('color', '')))} "
        f"{html.escape(str(placeholder.get('blurhash', '')))}</p>"
        f'<div class="pictures">{"".join(figures)}</div>'
        "<table><tr><th>rendition</th><th>format</th><th>fit</th><th>size</th>"
        "<th>quality</th><th>score</th>"
        f"<th>bytes</th><th>key</th></tr>{rows}</table></section>"
    )


def write_gallery(folder: Path, manifests: Sequence[Mapping[str, Any]], title: str) -> Path:
    """Write ``folder/index.html`` from ``manifests`` (renditions already under ``folder``)."""
    ordered = sorted(manifests, key=lambda m: str(m["source"]["key"]))
    body = "\n".join(_section(m, index == 0) for index, m in enumerate(ordered))
    page = (
        "<!doctype html>\n<html lang=en><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        "<p>Built from the manifests the function wrote (<code>manifests/&lt;source "
        "key&gt;.json</code>): each source's fitted renditions as one responsive "
        "<code>&lt;picture&gt;</code> (AVIF and WebP <code>&lt;source&gt;</code>s, "
        "<code>srcset</code>, <code>width</code>/<code>height</code>), its crops beside "
        "it, the placeholder (BlurHash over the dominant colour) behind each image while "
        "it loads, and every file the manifest lists.</p>\n"
        f"{body}\n</html>\n"
    )
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    (folder / "manifests.json").write_text(json.dumps(list(ordered), indent=1), encoding="utf-8")
    return index
