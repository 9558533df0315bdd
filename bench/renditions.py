"""Rendition throughput and quality: textbook Pillow vs pyvips vs resizer, in one run.

    python bench/renditions.py [FOLDER] [--rounds 5] [--jobs 1] [--formats jpeg,png,webp]

A benchmark, never a test: it prints figures, it asserts nothing. Every approach
renders the same renditions (default 150/800/1600) of the same photos; rounds are
interleaved (the order rotates each round) and the median round is reported, so a
noisy neighbour slows every approach alike. Quality (SSIM against a full-quality
reference: full decode, one LANCZOS resize) is computed outside the timed part.

Approaches:
  textbook         for each size: Image.open + thumbnail() + save (q85)
  pyvips           for each size: thumbnail_buffer + write_to_buffer
  pyvips-cascade   thumbnail_buffer to the largest, then thumbnail_image down
  resizer          resizer.imaging.render (shrink-on-load, decode once, cascade)
  floor            decode at the shrink-on-load scale + encode the three outputs
                   (no resampling at all: what no resizer can beat)

--jobs N renders N images at once in threads, for every approach alike (Lambda gives
up to 6 vCPUs). With --jobs 1 libvips is also held to one thread (per-core figures);
otherwise it keeps its own thread pool on top.
Peak RSS of a generated 100-megapixel JPEG goes through each approach in a fresh
subprocess (VmHWM, see _RSS_TAIL); --no-rss skips it.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from resizer.config import Settings, parse_renditions
from resizer.imaging import _output, _render, render
from resizer.imaging._render import resample

try:
    import pyvips
except ImportError:  # optional: `pip install 'resizer[bench]'`
    pyvips = None

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "examples" / "photos"
EXT = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}
PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


@dataclass
class Source:
    name: str
    data: bytes
    fmt: str  # jpeg | png | webp
    pixels: int


# --- the approaches ---------------------------------------------------------------


def textbook(source: Source, settings: Settings) -> list[bytes]:
    """What most tutorials write: open, thumbnail(), save, once per size."""
    outputs = []
    for rendition in settings.renditions:
        image = Image.open(io.BytesIO(source.data))
        image.thumbnail((rendition.width, rendition.height))
        buffer = io.BytesIO()
        if source.fmt == "jpeg":
            image.save(buffer, "JPEG", quality=settings.jpeg_quality)
        else:
            image.save(buffer, PIL_FORMAT[source.fmt])
        outputs.append(buffer.getvalue())
    return outputs


def textbook_pixels(source: Source, settings: Settings) -> list[Image.Image]:
    images = []
    for rendition in settings.renditions:
        image = Image.open(io.BytesIO(source.data))
        image.thumbnail((rendition.width, rendition.height))
        images.append(image.convert("RGB"))
    return images


def _vips_save(image: pyvips.Image, source: Source, settings: Settings) -> bytes:
    # The same output settings as resizer: optimised Huffman tables, progressive from
    # JPEG_PROGRESSIVE_MIN_SIDE, PNG at PNG_COMPRESS_LEVEL, no metadata.
    if source.fmt == "jpeg":
        interlace = max(image.width, image.height) >= settings.jpeg_progressive_min_side
        return bytes(
            image.write_to_buffer(
                ".jpg",
                Q=settings.jpeg_quality,
                optimize_coding=True,
                interlace=interlace,
                keep="none",
            )
        )
    if source.fmt == "webp":
        return bytes(image.write_to_buffer(".webp", Q=settings.webp_quality, keep="none"))
    return bytes(
        image.write_to_buffer(".png", compression=settings.png_compress_level, keep="none")
    )


def vips_per_size(source: Source, settings: Settings) -> list[bytes]:
    return [
        _vips_save(
            pyvips.Image.thumbnail_buffer(source.data, r.width, height=r.height, size="down"),
            source,
            settings,
        )
        for r in settings.renditions
    ]


def _vips_cascade_images(source: Source, settings: Settings) -> list[pyvips.Image]:
    first, *rest = settings.renditions
    # copy_memory(): thumbnail_buffer is a lazy, sequential pipeline; the cascade
    # reads the largest rendition several times, so it must be materialised once.
    large = pyvips.Image.thumbnail_buffer(
        source.data, first.width, height=first.height, size="down"
    ).copy_memory()
    images = [large]
    for rendition in rest:
        images.append(
            images[-1].thumbnail_image(rendition.width, height=rendition.height, size="down")
        )
    return images


def vips_cascade(source: Source, settings: Settings) -> list[bytes]:
    return [_vips_save(image, source, settings) for image in _vips_cascade_images(source, settings)]


def _vips_array(image: pyvips.Image) -> Image.Image:
    array = np.ndarray(
        buffer=image.write_to_memory(),
        dtype=np.uint8,
        shape=(image.height, image.width, image.bands),
    )
    return Image.fromarray(array[:, :, :3])


def resizer(source: Source, settings: Settings) -> list[bytes]:
    return [rendered.data for rendered in render(source.data, settings)]


def floor_prepare(source: Source, settings: Settings) -> list[Image.Image]:
    return resample(source.data, settings)


def floor(source: Source, settings: Settings, outputs: list[Image.Image]) -> None:
    """Decode at the shrink-on-load scale + encode the finished outputs."""
    image = Image.open(io.BytesIO(source.data))
    largest = max(outputs, key=lambda im: im.width * im.height)
    if image.format == "JPEG":
        image.draft(None, largest.size)
    image.load()
    output = {"jpeg": _output.JPEG, "png": _output.PNG, "webp": _output.WEBP}[source.fmt]
    encoding = _render._encoding(settings, None)
    for im in outputs:
        _output.encode(im, output, encoding)


# --- corpus -----------------------------------------------------------------------


def load_corpus(folder: Path, formats: list[str], limit: int | None) -> list[Source]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    paths = paths[:limit] if limit else paths
    corpus = []
    for path in paths:
        data = path.read_bytes()
        image = Image.open(io.BytesIO(data))
        pixels = image.width * image.height
        if "jpeg" in formats:
            corpus.append(Source(path.stem, data, "jpeg", pixels))
        for fmt in ("png", "webp"):
            if fmt in formats:
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, PIL_FORMAT[fmt])
                corpus.append(Source(path.stem, buffer.getvalue(), fmt, pixels))
    return corpus


# --- timing -----------------------------------------------------------------------


def timed_round(
    work: Callable[[Source], object], corpus: list[Source], jobs: int
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process, every thread included)."""
    start, cpu = time.perf_counter(), time.process_time()
    if jobs == 1:
        for source in corpus:
            work(source)
    else:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(work, corpus))
    return time.perf_counter() - start, time.process_time() - cpu


def bench_speed(
    corpus: list[Source], settings: Settings, rounds: int, jobs: int
) -> dict[str, list[tuple[float, float]]]:
    approaches: dict[str, Callable[[Source], object]] = {
        "textbook": lambda s: textbook(s, settings),
        "resizer": lambda s: resizer(s, settings),
    }
    if pyvips is not None:
        approaches["pyvips"] = lambda s: vips_per_size(s, settings)
        approaches["pyvips-cascade"] = lambda s: vips_cascade(s, settings)
    prepared = {id(s): floor_prepare(s, settings) for s in corpus}
    approaches["floor"] = lambda s: floor(s, settings, prepared[id(s)])
    names = list(approaches)
    for name in names:  # warm-up: imports, plugin init, libvips start-up
        timed_round(approaches[name], corpus[:1], 1)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_index in range(rounds):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            times[name].append(timed_round(approaches[name], corpus, jobs))
    return times


# --- quality ----------------------------------------------------------------------


def _scores(reference: Image.Image, actual: Image.Image) -> tuple[float, float]:
    expected = np.asarray(reference.resize(actual.size, Image.Resampling.LANCZOS))
    got = np.asarray(actual.convert("RGB"))
    ssim = structural_similarity(expected, got, channel_axis=2, data_range=255)
    psnr = (
        math.inf
        if np.array_equal(expected, got)
        else peak_signal_noise_ratio(expected, got, data_range=255)
    )
    return float(ssim), float(psnr)


def bench_quality(
    corpus: list[Source], settings: Settings
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """{approach: {"pixels"|"encoded": [(ssim, psnr), ...]}} over every rendition."""
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}

    def add(name: str, kind: str, reference: Image.Image, images: list[Image.Image]) -> None:
        bucket = results.setdefault(name, {}).setdefault(kind, [])
        bucket.extend(_scores(reference, image) for image in images)

    def decoded(outputs: list[bytes]) -> list[Image.Image]:
        return [Image.open(io.BytesIO(data)) for data in outputs]

    for source in corpus:
        reference = Image.open(io.BytesIO(source.data)).convert("RGB")
        add("textbook", "pixels", reference, textbook_pixels(source, settings))
        add("textbook", "encoded", reference, decoded(textbook(source, settings)))
        add("resizer", "pixels", reference, resample(source.data, settings))
        add("resizer", "encoded", reference, decoded(resizer(source, settings)))
        if pyvips is not None:
            per_size = [
                _vips_array(
                    pyvips.Image.thumbnail_buffer(
                        source.data, r.width, height=r.height, size="down"
                    )
                )
                for r in settings.renditions
            ]
            add("pyvips", "pixels", reference, per_size)
            add("pyvips", "encoded", reference, decoded(vips_per_size(source, settings)))
            cascade = [_vips_array(im) for im in _vips_cascade_images(source, settings)]
            add("pyvips-cascade", "pixels", reference, cascade)
            add("pyvips-cascade", "encoded", reference, decoded(vips_cascade(source, settings)))
    return results


# --- peak memory ------------------------------------------------------------------


def make_big_jpeg(path: Path, megapixels: int, progressive: bool) -> None:
    """A realistic (photo-content) JPEG of about ``megapixels`` MP, made in a child."""
    photo = Image.open(PHOTOS / "seeding_by_Clements_Engelhardt.jpg")
    scale = math.sqrt(megapixels * 1e6 / (photo.width * photo.height))
    size = (int(photo.width * scale), int(photo.height * scale))
    photo.resize(size, Image.Resampling.BILINEAR).save(
        path, "JPEG", quality=90, progressive=progressive
    )


# Each child imports only what its approach needs (not numpy, skimage or this file),
# so "idle" is the interpreter + Pillow + the input bytes, and the rest is the work.
_RSS_CHILD = {
    "idle": "from PIL import Image\ndata = open(path, 'rb').read()",
    "textbook": """
import io
from PIL import Image
data = open(path, 'rb').read()
for size in sizes:
    image = Image.open(io.BytesIO(data))
    image.thumbnail(size)
    image.save(io.BytesIO(), 'JPEG', quality=85)
""",
    "resizer": """
from resizer.config import Settings, parse_renditions
from resizer.imaging import render
data = open(path, 'rb').read()
render(data, Settings(renditions=parse_renditions(spec)))
""",
    "resizer-pillow": """
import resizer.imaging._decode as decode
decode.turbo = lambda: None
from resizer.config import Settings, parse_renditions
from resizer.imaging import render
data = open(path, 'rb').read()
render(data, Settings(renditions=parse_renditions(spec)))
""",
    "pyvips-cascade": """
import pyvips
pyvips.cache_set_max(0)
data = open(path, 'rb').read()
(w, h), *rest = sizes
image = pyvips.Image.thumbnail_buffer(data, w, height=h, size='down').copy_memory()
image.write_to_buffer('.jpg', Q=85, optimize_coding=True, interlace=True, keep='none')
for w, h in rest:
    image = image.thumbnail_image(w, height=h, size='down')
    image.write_to_buffer('.jpg', Q=85, optimize_coding=True, interlace=True, keep='none')
""",
}
# Linux quirk: ru_maxrss survives execve (the kernel folds the old address space's
# high-water mark into the process's), so a child forked from this 100+ MB process
# would report at least that. /proc/self/status VmHWM is the peak of the child's own
# address space; ru_maxrss is only the fallback where /proc is missing.
_RSS_TAIL = """
import re, resource
try:
    status = open('/proc/self/status').read()
    print(int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) / 1024)
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # Linux: KiB
"""


def bench_rss(settings: Settings, megapixels: int) -> list[tuple[str, str, float]]:
    spec = ",".join(str(r) for r in settings.renditions)
    sizes = [(r.width, r.height) for r in settings.renditions]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for progressive in (False, True):
            kind = "progressive" if progressive else "baseline"
            path = Path(tmp) / f"big-{kind}.jpg"
            flag = ["--progressive"] if progressive else []
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--make-big",
                    str(path),
                    "--megapixels",
                    str(megapixels),
                    *flag,
                ],
                check=True,
            )
            approaches = ["idle", "textbook", "resizer", "resizer-pillow"]
            if pyvips is not None:
                approaches.append("pyvips-cascade")
            for approach in approaches:
                prelude = f"path = {str(path)!r}\nspec = {spec!r}\nsizes = {sizes!r}\n"
                out = subprocess.run(
                    [sys.executable, "-c", prelude + _RSS_CHILD[approach] + _RSS_TAIL],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                image = Image.open(path)
                label = f"{image.width}x{image.height} {kind}, {path.stat().st_size / 1e6:.0f} MB"
                rows.append((label, approach, float(out.stdout.split()[-1])))
    return rows


# --- report -----------------------------------------------------------------------


def report_speed(
    corpus: list[Source], times: dict[str, list[tuple[float, float]]], jobs: int
) -> None:
    fmt = corpus[0].fmt.upper()
    images = len(corpus)
    megapixels = sum(s.pixels for s in corpus) / 1e6
    wall = {name: statistics.median(w for w, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in times.items()}
    rounds = len(next(iter(times.values())))
    print(f"\n{fmt}: {images} images, {megapixels:.1f} MP; median of {rounds} rounds, jobs={jobs}")
    print(
        f"{'approach':<16}{'wall s':>8}{'img/s':>8}{'MP/s':>7}{'vs textbook':>12}"
        f"{'vs pyvips-c':>12}{'CPU s':>8}{'CPU vs tb':>10}{'CPU vs pv-c':>12}"
    )
    for name, seconds in wall.items():
        vs_vips = f"{wall['pyvips-cascade'] / seconds:11.2f}x" if "pyvips-cascade" in wall else ""
        cpu_vips = f"{cpu['pyvips-cascade'] / cpu[name]:11.2f}x" if "pyvips-cascade" in cpu else ""
        print(
            f"{name:<16}{seconds:8.3f}{images / seconds:8.2f}{megapixels / seconds:7.1f}"
            f"{wall['textbook'] / seconds:11.2f}x{vs_vips}"
            f"{cpu[name]:8.3f}{cpu['textbook'] / cpu[name]:9.2f}x{cpu_vips}"
        )
    print(
        f"resizer reaches {wall['floor'] / wall['resizer']:.0%} of the floor's speed "
        "(decode at shrink-on-load scale + encode, no resampling)"
    )


def report_quality(quality: dict[str, dict[str, list[tuple[float, float]]]]) -> None:
    print("\nquality vs full-decode + LANCZOS reference, over every rendition")
    print(f"{'approach':<16}{'kind':<9}{'SSIM min':>10}{'SSIM mean':>11}{'PSNR min':>10}")
    for name, kinds in quality.items():
        for kind, scores in kinds.items():
            ssims = [s for s, _ in scores]
            psnrs = [p for _, p in scores]
            print(
                f"{name:<16}{kind:<9}{min(ssims):10.4f}{statistics.fmean(ssims):11.4f}"
                f"{min(psnrs):10.1f}"
            )
    print("pixels: before encoding (the resampling itself); encoded: decoded output files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=PHOTOS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--renditions", default="thumbnails=150x150,medium=800x800,large=1600x1600")
    parser.add_argument("--formats", default="jpeg,png,webp")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--no-rss", action="store_true")
    parser.add_argument("--megapixels", type=int, default=100)
    parser.add_argument("--make-big", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--progressive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.make_big:
        make_big_jpeg(args.make_big, args.megapixels, args.progressive)
        return

    settings = Settings(renditions=parse_renditions(args.renditions))
    if pyvips is not None:
        pyvips.cache_set_max(0)  # no operation cache: every round does the real work
        if args.jobs == 1:
            pyvips.concurrency_set(1)
    else:
        print("pyvips not installed: `pip install 'resizer[bench]'` to compare with libvips")
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    corpus = load_corpus(args.folder, formats, args.limit)
    print(f"{len(corpus)} sources from {args.folder}, renditions {args.renditions}")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"Python {sys.version.split()[0]}"
    )

    for fmt in formats:
        subset = [s for s in corpus if s.fmt == fmt]
        if subset:
            report_speed(subset, bench_speed(subset, settings, args.rounds, args.jobs), args.jobs)
    if not args.no_quality:
        report_quality(bench_quality([s for s in corpus if s.fmt == "jpeg"], settings))
    if not args.no_rss:
        print(f"\npeak RSS, one {args.megapixels} MP JPEG in a fresh process (MB)")
        for label, approach, megabytes in bench_rss(settings, args.megapixels):
            print(f"{label:<36}{approach:<16}{megabytes:8.1f}")


if __name__ == "__main__":
    main()
