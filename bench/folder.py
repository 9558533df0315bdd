"""Whole-process wall time for a folder of photos: `resizer resize` vs the other two.

    python bench/folder.py [FOLDER] [--rounds 5]

Each contestant is a fresh process doing the same work on every JPEG of the folder
(the default renditions 150/800/1600, quality 85), as a user would run it: the
textbook script (open + thumbnail() + save per size, one file after another; baseline
JPEGs, as tutorials write), a pyvips script (a decode-once cascade per file, writing
progressive optimised JPEGs as resizer does; libvips uses every core itself) and
`resizer resize` (WORKERS files at once). Rounds are interleaved, medians printed.
A benchmark, never a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

TEXTBOOK = """
import sys
from pathlib import Path
from PIL import Image
out = Path(sys.argv[1])
for name in sys.argv[2:]:
    for size in (1600, 800, 150):
        with Image.open(name) as image:
            image.thumbnail((size, size))
            image.save(out / f"{size}-{Path(name).name}", quality=85)
"""

PYVIPS = """
import sys
from pathlib import Path
import pyvips
out = Path(sys.argv[1])
options = "[Q=85,strip,interlace,optimize_coding]"  # progressive, optimised, no metadata
for name in sys.argv[2:]:
    large = pyvips.Image.thumbnail(name, 1600, height=1600).copy_memory()
    large.write_to_file(str(out / f"1600-{Path(name).name}{options}"))
    for size in (800, 150):
        small = large.thumbnail_image(size, height=size)
        small.write_to_file(str(out / f"{size}-{Path(name).name}{options}"))
"""


def contestants(files: list[str], out: Path) -> dict[str, list[str]]:
    return {
        "textbook": [sys.executable, "-c", TEXTBOOK, str(out), *files],
        "pyvips-cascade": [sys.executable, "-c", PYVIPS, str(out), *files],
        "resizer resize": [str(BIN / "resizer"), "resize", *files, "--out", str(out)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "examples" / "photos")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    files = sorted(str(p) for p in args.folder.glob("*.jpg"))
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        names = list(contestants(files, out))
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                shutil.rmtree(out)
                out.mkdir()
                command = contestants(files, out)[name]
                started = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                times.setdefault(name, []).append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{len(files)} JPEGs from {args.folder}, {args.rounds} rounds, median wall seconds")
    for name, seconds in median.items():
        print(
            f"  {name:16} {seconds:6.2f} s   vs textbook {median['textbook'] / seconds:4.2f}x"
            f"   vs pyvips-cascade {median['pyvips-cascade'] / seconds:4.2f}x"
        )


if __name__ == "__main__":
    main()
