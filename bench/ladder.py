"""The web ladder against libvips: the function's engine, warm, one thread, per photo.

    python bench/ladder.py [PHOTO_OR_FOLDER...] [--renditions SPEC] [--rounds 3] [--profile]

Issue 21's goal "the engine, warm, one thread: >= 1.25x pyvips on the web ladder". One
process renders the ladder (``--renditions``, default :data:`WEB_LADDER`) of every
photo with three contestants:

  resizer          ``resizer.imaging.render_set`` with ``FACE_DETECTION=off`` (like for
                   like: libvips' smartcrop has no face detector), the rest of the
                   settings their defaults, as bench/revisions.py's ENGINE builds them
  resizer-faces    the same with ``FACE_DETECTION=on`` (the default): the feature's
                   cost per image, reported apart
  resizer-zip      ``resizer`` with Pillow's JPEG decoder instead of simplejpeg: the
                   Lambda zip does not ship simplejpeg (--no-zip skips it)
  pyvips           what a competent libvips user writes: one ``thumbnail_buffer``
                   (shrink-on-load) to the largest size any rendition needs, then
                   ``thumbnail_image`` down from the smallest uncropped image that still
                   covers each rendition (a cascade, as bench/renditions.py's
                   pyvips-cascade); cover crops with ``crop="attention"`` (smartcrop);
                   every output at resizer's own encoder settings (resizer.config's
                   ``Encoders``), metadata stripped (``keep="none"``)

libvips runs on one thread (``VIPS_CONCURRENCY=1`` before the import, no operation
cache). Both AV1 encoders are libaom: Pillow's through libavif (``speed``), libvips'
through libheif, which receives ``speed = 9 - effort`` (libvips' heifsave.c): so
``effort = 9 - AVIF_SPEED`` asks libaom for the same ``cpu-used``; chroma 4:2:0 on both
below quality 90. Each encoder keeps its own threads (libavif: one per CPU; libheif's
aom: its own default): CPU time counts every thread, so compare CPU, not wall.

Timing: one warm-up pass per contestant (discarded: imports, first touches of memory),
then ``--rounds`` passes, interleaved (the order rotates each round); each photo's CPU
(``time.process_time``) and wall are recorded per pass, medians reported. Ratio =
pyvips / resizer (above 1.00x: resizer is faster). Bytes: each output's size, summed
over the photos. ``--profile`` adds a cProfile (CPU time) of one resizer pass. A
benchmark, never a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import os

os.environ["VIPS_CONCURRENCY"] = "1"  # before pyvips loads libvips

import argparse
import cProfile
import io
import math
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from revisions import WEB_LADDER

from resizer.config import Encoders, Rendition, Settings
from resizer.imaging import _decode, render_set

try:
    import pyvips
except ImportError:  # optional: `pip install 'resizer[bench]'`
    pyvips = None

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "examples" / "photos"
UNBOUNDED = 10_000_000  # libvips' thumbnail: a side that does not constrain
EXT = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif", "png": ".png"}

Outputs = list[tuple[str, bytes]]  # ("card.avif", bytes) per output
Contestant = Callable[[bytes], Outputs]


# --- resizer ----------------------------------------------------------------------


def _no_turbo() -> None:
    return None


def resizer_contestant(spec: str, faces: str, pillow_decoder: bool = False) -> Contestant:
    """render_set with FACE_DETECTION=``faces``; ``pillow_decoder``: without simplejpeg
    (the Lambda zip does not ship it: Pillow's libjpeg decodes, as in the function)."""
    settings = Settings.from_env({"RENDITIONS": spec, "FACE_DETECTION": faces})

    def run(data: bytes) -> Outputs:
        if pillow_decoder:
            turbo = _decode.turbo
            _decode.turbo = _no_turbo  # type: ignore[assignment]
            try:
                rendered = render_set(data, settings)
            finally:
                _decode.turbo = turbo  # type: ignore[method-assign]
        else:
            rendered = render_set(data, settings)
        return [(f"{i.rendition.name}{i.extension}", i.data) for i in rendered.images]

    return run


# --- pyvips -----------------------------------------------------------------------


def _upright_size(data: bytes) -> tuple[int, int]:
    """The source's size as displayed (EXIF orientation applied): a header read."""
    header = pyvips.Image.new_from_buffer(data, "")
    orientation = header.get("orientation") if header.get_typeof("orientation") else 1
    if orientation in (5, 6, 7, 8):
        return header.height, header.width
    return header.width, header.height


def _scale(rendition: Rendition, width: int, height: int) -> float:
    """The scale the rendition needs from the upright source (never above 1)."""
    sides = [
        target / side
        for target, side in ((rendition.width, width), (rendition.height, height))
        if target
    ]
    scale = max(sides) if rendition.fit == "cover" else min(sides)
    return min(scale, 1.0)


def _save(image: pyvips.Image, fmt: str, quality: int, encoders: Encoders) -> bytes:
    if fmt == "jpeg":
        interlace = max(image.width, image.height) >= encoders.jpeg_progressive_min_side
        return bytes(
            image.write_to_buffer(
                ".jpg", Q=quality, optimize_coding=True, interlace=interlace, keep="none"
            )
        )
    if fmt == "webp":
        return bytes(
            image.write_to_buffer(".webp", Q=quality, effort=encoders.webp_method, keep="none")
        )
    if fmt == "avif":
        # libvips passes libheif speed = 9 - effort; libheif's aom and libavif both hand
        # that speed to libaom as cpu-used (0..9), so this is resizer's AVIF_SPEED.
        effort = 9 - min(max(encoders.avif_speed, 0), 9)
        return bytes(
            image.heifsave_buffer(
                Q=quality, compression="av1", effort=effort, bitdepth=8, keep="none"
            )
        )
    return bytes(
        image.write_to_buffer(".png", compression=encoders.png_compress_level, keep="none")
    )


def _quality(rendition: Rendition, fmt: str, encoders: Encoders) -> int:
    if isinstance(rendition.quality, int):
        return rendition.quality
    return {
        "jpeg": encoders.jpeg_quality,
        "webp": encoders.webp_quality,
        "avif": encoders.avif_quality,
        "png": 0,
    }[fmt]


def vips_contestant(spec: str, stages: dict[str, float] | None = None) -> Contestant:
    """The pyvips cascade; with ``stages``, the CPU seconds of each step are added to it
    (``decode+shrink``, ``crop <name>``, ``resize <name>``, ``encode <format>``)."""
    settings = Settings.from_env({"RENDITIONS": spec})
    encoders = Encoders.of(settings)
    renditions = settings.renditions
    for rendition in renditions:
        if rendition.auto_format or rendition.auto_quality or rendition.watermark:
            raise SystemExit(f"{rendition}: auto and watermark have no pyvips contestant")

    def clock(stage: str, started: float) -> float:
        now = time.process_time()
        if stages is not None:
            stages[stage] = stages.get(stage, 0.0) + now - started
        return now

    def run(data: bytes) -> Outputs:
        started = time.process_time()
        width, height = _upright_size(data)
        needs = [_scale(r, width, height) for r in renditions]
        # One shrink-on-load decode to the largest size any rendition needs,
        # materialised once: every rendition below reads it.
        base = pyvips.Image.thumbnail_buffer(
            data, max(1, round(width * max(needs))), height=UNBOUNDED, size="down"
        ).copy_memory()
        started = clock("decode+shrink", started)
        uncropped = [base]  # the cascade's steps, largest first
        outputs: Outputs = []
        for rendition, need in zip(renditions, needs, strict=True):
            # The smallest uncropped step that still covers what this one needs.
            step = min(
                (im for im in uncropped if im.width >= math.floor(width * need)),
                key=lambda im: im.width,
            )
            if rendition.fit == "fit" and step.width <= max(1, round(width * need)):
                image = step  # already this size (e.g. the largest rendition)
            elif rendition.fit == "cover":
                image = step.thumbnail_image(
                    rendition.width or UNBOUNDED,
                    height=rendition.height or UNBOUNDED,
                    size="down",
                    crop="attention",
                ).copy_memory()
                started = clock(f"crop {rendition.name}", started)
            else:
                image = step.thumbnail_image(
                    rendition.width or UNBOUNDED,
                    height=rendition.height or UNBOUNDED,
                    size="down",
                ).copy_memory()
                started = clock(f"resize {rendition.name}", started)
                uncropped.append(image)
            for named in rendition.formats:
                fmt = "jpeg" if named == "original" else named  # the photos are JPEGs
                quality = _quality(rendition, fmt, encoders)
                outputs.append(
                    (f"{rendition.name}{EXT[fmt]}", _save(image, fmt, quality, encoders))
                )
                started = clock(f"encode {fmt}", started)
        return outputs

    return run


# --- timing -----------------------------------------------------------------------


def measure(
    contestants: dict[str, Contestant], photos: list[tuple[str, bytes]], rounds: int
) -> tuple[dict[str, dict[str, list[tuple[float, float]]]], dict[str, dict[str, int]]]:
    """({contestant: {photo: [(cpu, wall) per round]}}, {contestant: {output: bytes}})."""
    sizes: dict[str, dict[str, int]] = {}
    for name, run in contestants.items():  # the discarded first pass; bytes from it
        totals = sizes.setdefault(name, {})
        for _, data in photos:
            for label, encoded in run(data):
                totals[label] = totals.get(label, 0) + len(encoded)
    times: dict[str, dict[str, list[tuple[float, float]]]] = {
        name: {photo: [] for photo, _ in photos} for name in contestants
    }
    names = list(contestants)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            run = contestants[name]
            for photo, data in photos:
                cpu, wall = time.process_time(), time.perf_counter()
                run(data)
                times[name][photo].append((time.process_time() - cpu, time.perf_counter() - wall))
        print(f"  round {round_index + 1}/{rounds} done, load average {os.getloadavg()[0]:.2f}")
    return times, sizes


# --- report -----------------------------------------------------------------------


def report(
    times: dict[str, dict[str, list[tuple[float, float]]]],
    sizes: dict[str, dict[str, int]],
    photos: list[tuple[str, bytes]],
) -> None:
    names = list(times)
    cpu = {n: {p: statistics.median(c for c, _ in v) for p, v in times[n].items()} for n in names}
    wall = {n: {p: statistics.median(w for _, w in v) for p, v in times[n].items()} for n in names}
    vips = "pyvips" in names
    print("\nper photo, median CPU seconds (ratio: pyvips / resizer, above 1.00x resizer wins)")
    print(f"{'photo':<44}" + "".join(f"{n:>16}" for n in names) + ("   ratio" if vips else ""))
    for photo, _ in photos:
        ratio = f"{cpu['pyvips'][photo] / cpu['resizer'][photo]:7.2f}x" if vips else ""
        print(f"{photo[:43]:<44}" + "".join(f"{cpu[n][photo]:16.3f}" for n in names) + ratio)
    count = len(photos)
    total_cpu = {n: sum(cpu[n].values()) for n in names}
    total_wall = {n: sum(wall[n].values()) for n in names}
    print(f"\n{len(photos)} photos, sums of the per-photo medians")
    print(f"{'contestant':<16}{'CPU s':>9}{'CPU/img':>9}{'wall s':>9}{'CPU x':>8}{'wall x':>8}")
    for name in names:
        ratios = ""
        if vips:
            ratios = (
                f"{total_cpu['pyvips'] / total_cpu[name]:7.2f}x"
                f"{total_wall['pyvips'] / total_wall[name]:7.2f}x"
            )
        print(
            f"{name:<16}{total_cpu[name]:9.3f}{total_cpu[name] / count:9.3f}"
            f"{total_wall[name]:9.3f}{ratios}"
        )
    if "resizer-faces" in names:
        extra = (total_cpu["resizer-faces"] - total_cpu["resizer"]) / count
        print(f"FACE_DETECTION=on costs {extra * 1000:+.1f} ms of CPU per image")
    labels = sorted({label for per in sizes.values() for label in per})
    print("\nbytes per output, summed over the photos (KB)")
    print(
        f"{'output':<16}"
        + "".join(f"{n:>16}" for n in names)
        + ("  pyvips/resizer" if vips else "")
    )
    for label in labels:
        row = "".join(f"{sizes[n].get(label, 0) / 1000:16.1f}" for n in names)
        if vips and sizes["resizer"].get(label):
            row += f"{sizes['pyvips'].get(label, 0) / sizes['resizer'][label]:16.2f}"
        print(f"{label:<16}{row}")


def profile(run: Contestant, photos: list[tuple[str, bytes]], top: int) -> None:
    """cProfile of one pass of ``run``, CPU time, the ``top`` functions by own time."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _, data in photos:
        run(data)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print("\ncProfile of one resizer pass (FACE_DETECTION=off), CPU time, by own time")
    print(out.getvalue())


def load(paths: list[Path]) -> list[tuple[str, bytes]]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
        else:
            files.append(path)
    return [(f"{p.parent.name}/{p.name}", p.read_bytes()) for p in files]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="*", type=Path, default=[PHOTOS])
    parser.add_argument("--renditions", default=WEB_LADDER)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-faces", action="store_true", help="skip FACE_DETECTION=on")
    parser.add_argument(
        "--no-zip", action="store_true", help="skip resizer with Pillow's decoder (the zip)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one resizer pass")
    parser.add_argument("--top", type=int, default=30, help="functions the profile lists")
    args = parser.parse_args()

    photos = load(args.photos)
    contestants: dict[str, Contestant] = {"resizer": resizer_contestant(args.renditions, "off")}
    if not args.no_zip:
        contestants["resizer-zip"] = resizer_contestant(args.renditions, "off", pillow_decoder=True)
    if not args.no_faces:
        contestants["resizer-faces"] = resizer_contestant(args.renditions, "on")
    if pyvips is not None:
        pyvips.cache_set_max(0)  # no operation cache: every round does the real work
        pyvips.concurrency_set(1)
        contestants["pyvips"] = vips_contestant(args.renditions)
        print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}")
    else:
        print("pyvips not installed: `pip install 'resizer[bench]'` to compare with libvips")
    print(f"{len(photos)} photos, renditions {args.renditions}, {args.rounds} rounds")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"Python {sys.version.split()[0]}"
    )
    times, sizes = measure(contestants, photos, args.rounds)
    report(times, sizes, photos)
    if args.profile:
        profile(contestants["resizer"], photos, args.top)
        if pyvips is not None:
            stages: dict[str, float] = {}
            run = vips_contestant(args.renditions, stages)
            for _, data in photos:
                run(data)
            print("pyvips, one pass, CPU seconds by step")
            for stage, seconds in sorted(stages.items(), key=lambda item: -item[1]):
                print(f"  {stage:<20}{seconds:8.3f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
