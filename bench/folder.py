"""Whole processes on a folder of photos: resizer against textbook Pillow and libvips.

    python bench/folder.py [FOLDER] [--rounds 5] [--formats jpeg,png,webp] [--passes 1]

Each contestant is a fresh process doing the same work on every photo of the folder
(the default renditions 150/800/1600), as a user would run it:

  textbook          open + thumbnail() + save per size, one file after another, with
                    Pillow's defaults (baseline JPEG q85, PNG level 6, WebP q80)
  pyvips-cascade    libvips: thumbnail to 1600 once, then 800 and 150 from it, writing
                    what resizer writes (JPEG q85 with optimised Huffman tables,
                    progressive from JPEG_PROGRESSIVE_MIN_SIDE, no metadata; PNG at
                    PNG_COMPRESS_LEVEL; WebP q80 effort 4); libvips uses its own threads
  resizer resize    the CLI (WORKERS files at once, threads; its imports of typer,
                    rich and boto3 cost about 0.5 s of CPU per process); JPEGs decode
                    through simplejpeg's N/8 scaled decode when it is installed
  render            resizer.imaging.render alone, WORKERS at once: the function's work
  render-pillow     the same with Pillow's decoder only (1/2, 1/4, 1/8): what the
                    Lambda zip runs, which does not ship simplejpeg

With ``--passes N`` every contestant goes over the folder N times in its one process
and the figures are divided by N: a warm process, as a Lambda container that renders
image after image, pays its imports and its first touches of memory once.

Rounds are interleaved (the order rotates each round) and the medians are printed:
wall seconds, CPU seconds (user + system of the child, every thread, from wait4: what
Lambda bills), the ratio of each to every peer, and the child's peak RSS (ru_maxrss;
this parent stays small, because Linux carries the parent's high-water mark across
execve). After the rounds, the outputs of the last round are compared with a
full-quality reference (full decode, one LANCZOS resize): SSIM and PSNR, min and mean.
PNG and WebP sources are the folder's JPEGs re-encoded with Pillow's defaults.
A benchmark, never a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resizer.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = Settings()
SIZES = [(r.name, r.width) for r in SETTINGS.renditions]  # largest first

TEXTBOOK = """
import sys
from pathlib import Path
from PIL import Image
out, sizes = Path(sys.argv[1]), eval(sys.argv[2])
for name in sys.argv[3:]:
    for rendition, size in sizes:
        with Image.open(name) as image:
            image.thumbnail((size, size))
            image.save(out / rendition / Path(name).name, quality=85)
"""

PYVIPS = """
import sys
from pathlib import Path
import pyvips
out, sizes = Path(sys.argv[1]), eval(sys.argv[2])
progressive_from, png_level = int(sys.argv[3]), int(sys.argv[4])

def save(image, rendition, name):
    suffix = Path(name).suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        interlace = max(image.width, image.height) >= progressive_from
        options = f"[Q=85,strip,optimize_coding,interlace={str(interlace).lower()}]"
    elif suffix == ".png":
        options = f"[compression={png_level},strip]"
    else:
        options = "[Q=80,effort=4,strip]"
    image.write_to_file(str(out / rendition / Path(name).name) + options)

for name in sys.argv[5:]:
    (first, size), *rest = sizes
    image = pyvips.Image.thumbnail(name, size, height=size, size="down").copy_memory()
    save(image, first, name)
    for rendition, size in rest:
        save(image.thumbnail_image(size, height=size, size="down"), rendition, name)
"""

# The engine alone, as the function runs it (WORKERS renders at once, in threads),
# without the CLI's imports (typer, rich, boto3: about 0.5 s of CPU per process).
# "pillow" switches the optional decoder off: the Lambda zip has no simplejpeg.
RENDER = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import resizer.imaging._decode as decode
from resizer.config import Settings
from resizer.imaging import render, tune_allocator
tune_allocator()  # as the handler's init does
if sys.argv[2] == "pillow":
    decode.turbo = lambda: None
out, settings = Path(sys.argv[1]), Settings.from_env()

def one(name):
    for image in render(Path(name).read_bytes(), settings):
        (out / image.rendition.name / Path(name).name).write_bytes(image.data)

with ThreadPoolExecutor(settings.workers) as pool:
    list(pool.map(one, sys.argv[3:]))
"""


def contestants(files: list[str], out: Path) -> dict[str, list[str]]:
    sizes = repr(SIZES)
    resize = ["resize", *files, "--out", str(out)]
    return {
        "textbook": [sys.executable, "-c", TEXTBOOK, str(out), sizes, *files],
        "pyvips-cascade": [
            sys.executable,
            "-c",
            PYVIPS,
            str(out),
            sizes,
            str(SETTINGS.jpeg_progressive_min_side),
            str(SETTINGS.png_compress_level),
            *files,
        ],
        "resizer resize": [str(Path(sys.executable).parent / "resizer"), *resize],
        "render": [sys.executable, "-c", RENDER, str(out), "turbo", *files],
        "render-pillow": [sys.executable, "-c", RENDER, str(out), "pillow", *files],
    }


def run(command: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        assert child.stderr is not None
        raise RuntimeError(f"{command[:3]} failed: {child.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


CONVERT = """
import sys
from pathlib import Path
from PIL import Image
fmt, made = sys.argv[1], Path(sys.argv[2])
for name in sys.argv[3:]:
    with Image.open(name) as image:
        image.convert("RGB").save(made / f"{Path(name).stem}.{fmt}")
"""


def sources(folder: Path, fmt: str, tmp: Path) -> list[str]:
    jpegs = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    if fmt == "jpeg":
        return jpegs
    made = tmp / f"sources-{fmt}"
    made.mkdir()
    # In a child, like the quality step: this process's peak RSS must stay small.
    subprocess.run([sys.executable, "-c", CONVERT, fmt, str(made), *jpegs], check=True)
    return sorted(str(p) for p in made.iterdir())


def bench(
    files: list[str], tmp: Path, rounds: int, passes: int = 1
) -> tuple[dict[str, list[tuple]], Path]:
    results: dict[str, list[tuple[float, float, float]]] = {}
    outs = {name: tmp / name for name in contestants(files, tmp)}
    names = list(outs)
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            out = outs[name]
            shutil.rmtree(out, ignore_errors=True)
            for rendition, _ in SIZES:
                (out / rendition).mkdir(parents=True)
            wall, cpu, rss = run(contestants(files * passes, out)[name])
            results.setdefault(name, []).append((wall / passes, cpu / passes, rss))
    return results, tmp


def quality(files: list[str], tmp: Path) -> dict[str, tuple[float, float, float, float]]:
    """{contestant: (SSIM min, SSIM mean, PSNR min, PSNR mean)} over every output."""
    import numpy as np
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    references = {}
    for name in files:
        with Image.open(name) as image:
            references[Path(name).stem] = image.convert("RGB")
    scores: dict[str, tuple[float, float, float, float]] = {}
    for contestant in contestants(files, tmp):
        pairs = []
        for path in outputs(tmp, contestant):
            with Image.open(path) as output:
                got = np.asarray(output.convert("RGB"))
                size = output.size
            expected = np.asarray(references[path.stem].resize(size, Image.Resampling.LANCZOS))
            ssim = structural_similarity(expected, got, channel_axis=2, data_range=255)
            psnr = (
                math.inf
                if np.array_equal(expected, got)
                else peak_signal_noise_ratio(expected, got, data_range=255)
            )
            pairs.append((float(ssim), float(psnr)))
        ssims, psnrs = [s for s, _ in pairs], [p for _, p in pairs]
        finite = [p for p in psnrs if math.isfinite(p)] or [math.inf]  # identical: inf
        scores[contestant] = (
            min(ssims),
            statistics.fmean(ssims),
            min(psnrs),
            statistics.fmean(finite),
        )
    return scores


def outputs(tmp: Path, contestant: str) -> list[Path]:
    """The contestant's renditions (the CLI also writes manifests/, not compared)."""
    return sorted(p for rendition, _ in SIZES for p in (tmp / contestant / rendition).iterdir())


def output_bytes(tmp: Path, contestant: str) -> int:
    return sum(p.stat().st_size for p in outputs(tmp, contestant))


def report(fmt: str, files: list[str], results: dict[str, list[tuple]], tmp: Path) -> None:
    wall = {n: statistics.median(r[0] for r in runs) for n, runs in results.items()}
    cpu = {n: statistics.median(r[1] for r in runs) for n, runs in results.items()}
    rss = {n: max(r[2] for r in runs) for n, runs in results.items()}
    names = list(results)
    print(f"\n{fmt.upper()}: {len(files)} files, median of {len(next(iter(results.values())))}")
    header = f"{'contestant':16}{'wall s':>8}{'CPU s':>8}{'peak MB':>9}{'out KB':>8}"
    ratios = "".join(f"  {'vs ' + n[:12]:>16}" for n in names)
    print(header + ratios + "   (ratio: peer's seconds / this one's, wall | CPU)")
    for name in names:
        row = (
            f"{name:16}{wall[name]:8.2f}{cpu[name]:8.2f}{rss[name]:9.1f}"
            f"{output_bytes(tmp, name) / 1024:8.0f}"
        )
        row += "".join(f"  {wall[p] / wall[name]:7.2f}|{cpu[p] / cpu[name]:5.2f}x" for p in names)
        print(row)
    print(f"quality of the outputs against full decode + LANCZOS ({fmt})")
    # In a child: numpy, scikit-image and the decoded references would raise this
    # process's high-water mark, which Linux hands on to the next contestants.
    subprocess.run([sys.executable, __file__, "--quality-of", str(tmp), *files], check=True)


def print_quality(tmp: Path, files: list[str]) -> None:
    for name, (ssim_min, ssim_mean, psnr_min, psnr_mean) in quality(files, tmp).items():
        print(
            f"  {name:16} SSIM min {ssim_min:.4f} mean {ssim_mean:.4f}   "
            f"PSNR min {psnr_min:5.1f} mean of the finite {psnr_mean:5.1f} dB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "examples" / "photos")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--formats", default="jpeg")
    parser.add_argument("--passes", type=int, default=1, help="times over the folder per process")
    parser.add_argument("--quality-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quality_of:
        print_quality(args.quality_of, [str(args.folder), *args.files])
        return
    print(f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()}")
    for fmt in args.formats.split(","):
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            files = sources(args.folder, fmt, tmp)
            results, _ = bench(files, tmp, args.rounds, args.passes)
            report(fmt, files, results, tmp)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
