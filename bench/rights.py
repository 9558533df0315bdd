"""Issue 20's metadata and watermark: what they cost per image, and what they add.

    .venv/bin/python bench/rights.py [--rounds 5] [PHOTO ...]   # default: examples/photos

Each photo is first given camera-like metadata (re-saved at quality 95 with an EXIF of
the usual camera tags, GPS, serials and a 4 KB maker note, and a 3 KB XMP packet with
rights, description and GPS), then rendered with the default renditions, contestants
interleaved round by round in this process: METADATA none / copyright / all, and
copyright with the 1600 px rendition watermarked (with the demo's mark). The figure is
the median over rounds of the render's CPU (time.process_time, Pillow's threads
included) per photo, its difference to "none", and the bytes of every rendition
together.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image, TiffImagePlugin

from resizer.config import DEFAULT_RENDITIONS, Settings, WatermarkImage, parse_renditions
from resizer.imaging import render_set
from resizer_tools.local.demo import watermark_png

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = sorted((ROOT / "examples" / "photos").glob("*.jpg"))

XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" '
    'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmpRights:Marked="True" '
    'exif:GPSLatitude="52,31.2N" exif:GPSLongitude="13,24.1E" aux:SerialNumber="4711" '
    'photoshop:City="Berlin">'
    "<dc:creator><rdf:Seq><rdf:li>A. Photographer</rdf:li></rdf:Seq></dc:creator>"
    '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) 2026 A. Photographer</rdf:li>'
    "</rdf:Alt></dc:rights>"
    '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">'
    + "A description of the picture. "
    * 80
    + "</rdf:li></rdf:Alt></dc:description>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
    '<?xpacket end="w"?>'
).encode()


def camera_exif() -> bytes:
    exif = Image.Exif()
    exif.update(
        {
            0x010F: "Camera Maker",
            0x0110: "Model X",
            0x0131: "Firmware 1.2",
            0x0132: "2026:12:07 08:00:00",
            0x013B: "A. Photographer",
            0x8298: "(c) 2026 A. Photographer",
        }
    )
    rational = TiffImagePlugin.IFDRational
    exif.get_ifd(0x8769).update(
        {
            0x829A: rational(1, 250),
            0x829D: rational(28, 10),
            0x8827: 400,
            0x9003: "2026:12:07 08:00:00",
            0x920A: rational(50, 1),
            0xA431: "BODY-4711",
            0xA435: "LENS-0815",
            0x927C: bytes(range(256)) * 16,  # a 4 KB maker note
        }
    )
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 5.0)})
    return exif.tobytes()


def tagged(path: Path) -> bytes:
    out = io.BytesIO()
    with Image.open(path) as image:
        image.save(out, "JPEG", quality=95, exif=camera_exif(), xmp=XMP)
    return out.getvalue()


def contestants() -> dict[str, Settings]:
    base = Settings()
    marked = parse_renditions(DEFAULT_RENDITIONS.replace("1600x1600", "1600x1600:watermark"))
    return {
        "none": replace(base, metadata="none"),
        "copyright": replace(base, metadata="copyright"),
        "all": replace(base, metadata="all"),
        "copyright+watermark": replace(
            base,
            renditions=marked,
            watermark="bench",
            watermark_image=WatermarkImage(watermark_png(), "bench"),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("photos", nargs="*", type=Path, default=PHOTOS)
    arguments = parser.parse_args()
    sources = {path.name: tagged(path) for path in arguments.photos}
    settings = contestants()
    for data in sources.values():  # warm up: imports, the mark's decode
        for config in settings.values():
            render_set(data, config)
    cpu: dict[tuple[str, str], list[float]] = {}
    sizes: dict[tuple[str, str], int] = {}
    for _ in range(arguments.rounds):
        for name, data in sources.items():
            for label, config in settings.items():
                start = time.process_time()
                result = render_set(data, config)
                cpu.setdefault((label, name), []).append(time.process_time() - start)
                sizes[(label, name)] = sum(len(image.data) for image in result.images)
    print(f"{'contestant':<22}{'CPU ms/photo':>14}{'vs none':>10}{'bytes/set':>12}{'vs none':>10}")
    for label in settings:
        ms = statistics.median(statistics.median(cpu[(label, name)]) * 1000 for name in sources)
        base_ms = statistics.median(statistics.median(cpu[("none", n)]) * 1000 for n in sources)
        size = statistics.median(sizes[(label, name)] for name in sources)
        base_size = statistics.median(sizes[("none", name)] for name in sources)
        print(
            f"{label:<22}{ms:>14.1f}{ms - base_ms:>+10.1f}{size:>12,.0f}{size - base_size:>+10,.0f}"
        )
    print(f"{len(sources)} photos, {arguments.rounds} rounds, medians")


if __name__ == "__main__":
    main()
