"""What each optional feature of the engine costs per image, off and on (issue 21).

    .venv/bin/python bench/features.py [--rounds 5] [PHOTO ...]   # default: examples/photos

The function's engine (``render_set``) warm in this process, one thread, the default
renditions; contestants interleaved photo by photo within each round (the order rotates
each round), after one warm-up pass. The reference is everything optional switched
off: ``HDR=drop``, ``METADATA=none``, no rendition marked, no cover crop. Each other
contestant switches one feature on:

  hdr=keep         the Ultra HDR gain-map search (on a source without a map: the check
                   alone; bench/hdr.py measures sources with one)
  metadata=...     the rights metadata kept (``copyright``, the default, and ``all``)
  watermark        the 1600 px rendition marked (the demo's mark)
  cover            every rendition a ``:cover`` crop (the focal point from edge energy)
  defaults         the shipped settings (hdr=keep, metadata=copyright)

and two parts every render has, timed alone on the same renders: the placeholder
(BlurHash + dominant colour from the 32 px copy) and the manifest (``manifest.build`` +
``manifest.encode``). Figures: the render's CPU (``time.process_time``), median over
rounds per photo, then the mean over photos of the difference to the reference, in
milliseconds per image (and its range over photos). A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from resizer import manifest
from resizer.config import DEFAULT_RENDITIONS, Settings, WatermarkImage, parse_renditions
from resizer.imaging import _placeholder, render_set
from resizer.imaging._render import resample
from resizer_tools.local.demo import watermark_png

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = sorted((ROOT / "examples" / "photos").glob("*.jpg"))


def contestants() -> dict[str, Settings]:
    off = replace(Settings(), hdr="drop", metadata="none")
    marked = DEFAULT_RENDITIONS.replace("1600x1600", "1600x1600:watermark")
    covered = ",".join(f"{item}:cover" for item in DEFAULT_RENDITIONS.split(","))
    return {
        "off": off,
        "hdr=keep": replace(off, hdr="keep"),
        "metadata=copyright": replace(off, metadata="copyright"),
        "metadata=all": replace(off, metadata="all"),
        "watermark": replace(
            off,
            renditions=parse_renditions(marked),
            watermark="bench",
            watermark_image=WatermarkImage(watermark_png(), "bench"),
        ),
        "cover": replace(off, renditions=parse_renditions(covered)),
        "defaults": Settings(),
    }


def cpu(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def parts(data: bytes, settings: Settings) -> tuple[float, float]:
    """CPU seconds of the placeholder and of the manifest, for one photo."""
    rendered = render_set(data, settings)
    small = resample(data, replace(settings, renditions=parse_renditions("p=32x32")))[0]
    placeholder = min(cpu(lambda: _placeholder.placeholder(small)) for _ in range(5))
    built = min(
        cpu(lambda: manifest.encode(manifest.build("b", "k.jpg", "e", rendered, settings)))
        for _ in range(5)
    )
    return placeholder, built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("photos", nargs="*", type=Path, default=PHOTOS)
    args = parser.parse_args()
    photos = {path.stem[:24]: path.read_bytes() for path in args.photos}
    settings = contestants()
    names = list(settings)
    print(f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()}")
    for data in photos.values():  # warm-up: imports, first touches of memory
        for name in names:
            render_set(data, settings[name])
    times: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for photo, data in photos.items():
            for name in order:
                spent = cpu(lambda data=data, name=name: render_set(data, settings[name]))
                times.setdefault((photo, name), []).append(spent)
    median = {key: statistics.median(values) for key, values in times.items()}
    print(f"\n{'contestant':20}{'ms/image':>10}{'vs off, ms (range)':>26}{'vs off':>8}")
    for name in names:
        per = [median[(photo, name)] for photo in photos]
        extra = [median[(photo, name)] - median[(photo, "off")] for photo in photos]
        low, high = 1000 * min(extra), 1000 * max(extra)
        spread = f"{1000 * statistics.mean(extra):+7.1f} ({low:+.1f}..{high:+.1f})"
        ratio = sum(per) / sum(median[(photo, "off")] for photo in photos)
        print(f"{name:20}{1000 * statistics.mean(per):10.1f}{spread:>26}{ratio:7.3f}x")
    found = [parts(data, settings["defaults"]) for data in photos.values()]
    for label, values in (
        ("placeholder", [f[0] for f in found]),
        ("manifest", [f[1] for f in found]),
    ):
        print(
            f"{label:20}{1000 * statistics.mean(values):10.2f} ms/image "
            f"({1000 * min(values):.2f}..{1000 * max(values):.2f}), in every render"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
