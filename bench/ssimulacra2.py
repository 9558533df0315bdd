"""SSIMULACRA2 in Pillow alone (resizer.imaging._ssimulacra2) vs the reference package.

    python bench/ssimulacra2.py [FOLDER ...] [--size 800] [--rounds 3] [--no-memory]

A benchmark, never a test: it prints figures, it asserts nothing. Every photo of the
folders (default examples/photos) is reduced to --size px (LANCZOS) and encoded as
JPEG, WebP and AVIF at qualities 30..95; for each candidate it reports:

* CPU per score (process time, the median of --rounds): ``score()`` from scratch, a
  prepared ``Reference(ref).score(candidate)``, the preparation itself, and the
  reference package ``ssimulacra2`` 0.3.0 (numpy + scipy, once: it is slow);
* the error against the reference package: median and max |ours - reference|, and the
  share within 2 points (issue 19's contract: at least 90 %);
* the half-size proxy: the score of the same encoder setting on the image at half
  the size (both sides LANCZOS-halved), minus the full-size score (ours on both):
  how far a search on the proxy lands from the full-size measurement;
* memory per pixel (VmRSS/VmHWM of a fresh subprocess, see _RSS_TAIL): the peak of
  preparing a reference, what it holds, and the peak of scores against it (reference
  held included), opaque and with alpha.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from resizer.imaging._ssimulacra2 import Reference, score

# This file's name is the reference package's: run as a script, its folder comes first
# on sys.path and `import ssimulacra2` would import this file again.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import images  # noqa: E402  (the test suite's image factory: photo reduction)
from ssimulacra2 import compute_ssimulacra2  # noqa: E402

FORMATS = ("JPEG", "WEBP", "AVIF")
QUALITIES = (30, 50, 70, 85, 95)


def cpu(function: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.process_time()
        function()
        times.append(time.process_time() - started)
    return statistics.median(times)


def decoded(image: Image.Image, fmt: str, quality: int) -> Image.Image:
    data = images.encode(image, fmt, quality=quality)
    with Image.open(io.BytesIO(data)) as opened:
        return opened.convert("RGB")


def reference_package(reference: Image.Image, distorted: Image.Image) -> float:
    return float(
        compute_ssimulacra2(
            io.BytesIO(images.encode(reference, "PNG")), io.BytesIO(images.encode(distorted, "PNG"))
        )
    )


def halved(image: Image.Image) -> Image.Image:
    width, height = image.size
    return image.resize((max(1, width // 2), max(1, height // 2)), Image.Resampling.LANCZOS)


def bench_photo(path: Path, size: int, rounds: int) -> dict[str, list[float]]:
    image = images.photo(path, size)
    proxy = halved(image)
    prepared = Reference(image)
    prepared_proxy = Reference(proxy)
    rows: dict[str, list[float]] = {
        k: [] for k in ("ours", "prepared", "reference", "diff", "proxy", "prepare", "score")
    }
    rows["prepare"].append(cpu(lambda: Reference(image), rounds))
    for fmt in FORMATS:
        for quality in QUALITIES:
            candidate = decoded(image, fmt, quality)
            rows["ours"].append(cpu(lambda c=candidate: score(image, c), rounds))  # type: ignore[misc]
            rows["prepared"].append(cpu(lambda c=candidate: prepared.score(c), rounds))  # type: ignore[misc]
            started = time.process_time()
            theirs = reference_package(image, candidate)
            rows["reference"].append(time.process_time() - started)
            ours = prepared.score(candidate)
            rows["score"].append(ours)
            rows["diff"].append(ours - theirs)
            rows["proxy"].append(prepared_proxy.score(decoded(proxy, fmt, quality)) - ours)
    print(
        f"{path.name[:34]:34} {image.size[0]:>4}x{image.size[1]:<4} "
        f"prepare {rows['prepare'][0] * 1000:5.0f} ms  "
        f"score {statistics.median(rows['ours']) * 1000:5.0f} ms  "
        f"prepared {statistics.median(rows['prepared']) * 1000:5.0f} ms  "
        f"package {statistics.median(rows['reference']) * 1000:5.0f} ms  "
        f"|diff| med {statistics.median(abs(d) for d in rows['diff']):.3f} "
        f"max {max(abs(d) for d in rows['diff']):.3f}  "
        f"proxy-full med {statistics.median(rows['proxy']):+.2f} "
        f"max |{max(abs(d) for d in rows['proxy']):.2f}|",
        flush=True,
    )
    return rows


# Linux quirk (bench/renditions.py): a forked child's ru_maxrss includes its parent's
# peak; /proc/self/status VmHWM is the child's own. Pillow allocates outside Python's
# allocator, so tracemalloc would not see it.
_RSS_TAIL = """
import io, re, sys
from PIL import Image
from resizer.imaging._ssimulacra2 import Reference
sys.path.insert(0, {support!r})
import images

def status(key):
    text = open('/proc/self/status').read()
    return int(re.search(key + r':\\s+(\\d+) kB', text).group(1)) * 1024

image = images.photo({path!r}, {size})
if {alpha}:
    image = images.cutout(image)
data = images.encode(image, 'WEBP', quality=60)
candidate = Image.open(io.BytesIO(data)); candidate.load()
pixels = image.size[0] * image.size[1]
def reset():  # VmHWM := VmRSS (Linux >= 4.0), so a peak is this step's alone
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
reset()
base = status('VmRSS')
prepared = Reference(image)
preparing, held = status('VmHWM') - base, status('VmRSS') - base
reset()
prepared.score(candidate)
prepared.score(candidate)
print(pixels, preparing / pixels, held / pixels, (status('VmHWM') - base) / pixels)
"""


def bench_memory(path: Path) -> None:
    for size in (800, 1600):
        for alpha in (False, True):
            code = _RSS_TAIL.format(
                support=str(ROOT / "tests" / "support"), path=str(path), size=size, alpha=alpha
            )
            out = subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            ).stdout.split()
            pixels, preparing, held, peak = int(out[0]), *map(float, out[1:])
            print(
                f"memory at {size} px ({pixels / 1e6:.2f} MP{', alpha' if alpha else ''}): "
                f"preparing the reference peaks at {preparing:.0f} B/px and holds "
                f"{held:.0f} B/px; with scores against it, the peak is {peak:.0f} B/px"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[images.PHOTOS])
    parser.add_argument("--size", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args(argv)
    photos = sorted(p for folder in args.folders for p in folder.glob("*.jpg"))
    print(
        f"{len(photos)} photos at {args.size} px, {len(FORMATS) * len(QUALITIES)} candidates "
        f"each ({', '.join(FORMATS)} at q{', q'.join(map(str, QUALITIES))}); CPU per score, "
        f"median of {args.rounds}"
    )
    totals: dict[str, list[float]] = {}
    for path in photos:
        for key, values in bench_photo(path, args.size, args.rounds).items():
            totals.setdefault(key, []).extend(values)
    diffs = [abs(d) for d in totals["diff"]]
    proxy = totals["proxy"]
    print(
        f"\nall {len(diffs)} candidates: CPU per score "
        f"{statistics.median(totals['ours']) * 1000:.0f} ms from scratch, "
        f"{statistics.median(totals['prepared']) * 1000:.0f} ms against a"
        f" prepared reference (preparing: {statistics.median(totals['prepare']) * 1000:.0f} ms),"
        f" the package {statistics.median(totals['reference']) * 1000:.0f} ms\n"
        f"|ours - package|: median {statistics.median(diffs):.3f}, max {max(diffs):.3f}, "
        f"within 2 points: {sum(d <= 2 for d in diffs) / len(diffs):.0%}\n"
        f"half-size proxy - full size: median {statistics.median(proxy):+.2f}, "
        f"mean |.| {statistics.fmean(abs(p) for p in proxy):.2f}, max |.| "
        f"{max(abs(p) for p in proxy):.2f}; scores spanned {min(totals['score']):.1f}.."
        f"{max(totals['score']):.1f}"
    )
    if not args.no_memory:
        bench_memory(photos[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
